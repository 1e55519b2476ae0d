//! Sync benchmark (placeholder until written).
//! Run with cargo bench -p engine --bench sync.
fn main() {}
