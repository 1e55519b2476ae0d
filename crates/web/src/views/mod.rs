//! What pages and the API show of the stored rows: one place that turns rows into views, so a
//! page and its API route can never disagree on a state, a label or a total.

pub mod labels;

pub use labels::{Badge, Label};
