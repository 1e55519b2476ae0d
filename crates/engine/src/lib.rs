//! The engine: scheduled jobs (sync, billing, enforcement) and the durable remote-operations
//! worker. Each job exposes `run_once(ctx, now)` so tests drive it with a fixed clock.

pub mod secrets;
