//! What a user can do, shared by the pages and the API: each function checks access, validates,
//! calls the engine and maps its errors, and returns rows or views. Pages and API are two thin
//! front ends over this module and `views`; neither imports the other.

pub mod audit;
pub mod bulk;
pub mod configs;
pub mod import;
pub mod jobs;
pub mod operations;
pub mod panels;
pub mod quarantine;
pub mod resellers;
pub mod tokens;
pub mod usage;
pub mod wallet;
