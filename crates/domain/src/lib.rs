//! Pure business rules of VpnMarket: units, calendar, usage accounting, enforcement and billing.
//! No I/O lives here, so every rule can be tested exhaustively without a database or a panel.

pub mod billing;
pub mod enforcement;
pub mod jalali;
pub mod login;
pub mod status;
pub mod tehran;
pub mod units;
pub mod usage;
pub mod username;
