//! The access matrix of spec §3 (reseller kind × status × area) as one function, and the
//! refusals the reseller and config actions answer with, shared by pages and API.

use std::collections::BTreeMap;

use domain::status::{ResellerKind, ResellerStatus, SuspendedBy};

/// The parts of the reseller panel the matrix speaks about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Area {
    Dashboard,
    Configs,
    Wallet,
}

/// What a reseller may do in an area.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Allowed,
    /// `reseller_suspended` or `wallet_suspended` (the API's 403 code).
    Blocked {
        code: &'static str,
    },
    /// A wallet reseller below its threshold lands on the wallet page to top up.
    RedirectToWallet,
}

// API error codes (spec/api.md), not audit actions, though one is spelled alike.
pub const RESELLER_SUSPENDED: &str = "reseller_suspended"; // an error code, not a state
pub const WALLET_SUSPENDED: &str = "wallet_suspended";
pub const CONFIG_LIMIT_REACHED: &str = "config_limit_reached";
pub const CONFIG_DELETED: &str = "config_deleted"; // an error code, not a state
pub const CONFIG_NOT_ACTIVE: &str = "config_not_active";
pub const CONFIG_NOT_ENABLEABLE: &str = "config_not_enableable";
pub const CONFIG_NOT_MISSING: &str = "config_not_missing";

/// The one matrix. `suspended_by` is `admin` when a person suspended the reseller: then even the
/// dashboard is blocked, but a wallet reseller can still reach its wallet.
pub fn check(
    kind: ResellerKind,
    status: ResellerStatus,
    suspended_by: Option<SuspendedBy>,
    area: Area,
) -> Access {
    let by_admin = suspended_by == Some(SuspendedBy::Admin);
    match (status, area) {
        (ResellerStatus::Active, _) => Access::Allowed,
        (ResellerStatus::SuspendedWallet, Area::Wallet) if !by_admin => Access::Allowed,
        (ResellerStatus::SuspendedWallet, Area::Dashboard) if !by_admin => Access::RedirectToWallet,
        (ResellerStatus::SuspendedWallet, Area::Configs) if !by_admin => Access::Blocked {
            code: WALLET_SUSPENDED,
        },
        // Suspended (quota, window or an admin): the wallet stays open to a wallet reseller so
        // it can still pay; everything else says why it is blocked.
        (_, Area::Wallet) if kind == ResellerKind::Wallet => Access::Allowed,
        _ => Access::Blocked {
            code: RESELLER_SUSPENDED,
        },
    }
}

/// The matrix for a stored reseller row.
pub fn check_row(r: &db::resellers::Reseller, area: Area) -> Access {
    check(r.kind, r.status, r.suspended_by, area)
}

/// Why a reseller or config action was refused. Field errors carry message keys of the web
/// translations (`configs.err.*`, `resellers.err.*`), so pages and API name the same field.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error("not found")]
    NotFound,
    #[error("blocked: {code}")]
    Blocked { code: &'static str },
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("invalid input: {0:?}")]
    Invalid(BTreeMap<String, String>),
    #[error(transparent)]
    Engine(#[from] crate::EngineError),
}

impl ActionError {
    pub fn field(field: &str, key: &str) -> ActionError {
        let mut m = BTreeMap::new();
        m.insert(field.to_string(), key.to_string());
        ActionError::Invalid(m)
    }
}

impl From<db::DbError> for ActionError {
    fn from(e: db::DbError) -> Self {
        match e {
            db::DbError::NotFound => ActionError::NotFound,
            other => ActionError::Engine(other.into()),
        }
    }
}

impl From<sqlx::Error> for ActionError {
    fn from(e: sqlx::Error) -> Self {
        ActionError::Engine(e.into())
    }
}

/// Collects field errors so a form reports every bad field at once.
#[derive(Default)]
pub struct Fields(pub BTreeMap<String, String>);

impl Fields {
    pub fn add(&mut self, field: &str, key: &str) {
        self.0
            .entry(field.to_string())
            .or_insert_with(|| key.to_string());
    }

    pub fn finish(self) -> Result<(), ActionError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ActionError::Invalid(self.0))
        }
    }
}

/// Fails with the matrix's refusal unless the reseller may act in `area`.
pub fn require(r: &db::resellers::Reseller, area: Area) -> Result<(), ActionError> {
    match check_row(r, area) {
        Access::Allowed => Ok(()),
        Access::Blocked { code } => Err(ActionError::Blocked { code }),
        Access::RedirectToWallet => Err(ActionError::Blocked {
            code: WALLET_SUSPENDED,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ResellerKind::*;
    use ResellerStatus::*;

    #[test]
    fn the_matrix_of_the_spec() {
        let blocked = Access::Blocked {
            code: RESELLER_SUSPENDED,
        };
        for area in [Area::Dashboard, Area::Configs, Area::Wallet] {
            assert_eq!(check(Traffic, Active, None, area), Access::Allowed);
            assert_eq!(check(Wallet, Active, None, area), Access::Allowed);
            assert_eq!(
                check(Traffic, Suspended, Some(SuspendedBy::System), area),
                blocked
            );
        }
        assert_eq!(
            check(
                Wallet,
                SuspendedWallet,
                Some(SuspendedBy::System),
                Area::Dashboard
            ),
            Access::RedirectToWallet
        );
        assert_eq!(
            check(
                Wallet,
                SuspendedWallet,
                Some(SuspendedBy::System),
                Area::Configs
            ),
            Access::Blocked {
                code: WALLET_SUSPENDED
            }
        );
        assert_eq!(
            check(
                Wallet,
                SuspendedWallet,
                Some(SuspendedBy::System),
                Area::Wallet
            ),
            Access::Allowed
        );
        // Suspended by an admin: blocked with a reason, but a wallet reseller may still pay.
        assert_eq!(
            check(Wallet, Suspended, Some(SuspendedBy::Admin), Area::Dashboard),
            blocked
        );
        assert_eq!(
            check(Wallet, Suspended, Some(SuspendedBy::Admin), Area::Configs),
            blocked
        );
        assert_eq!(
            check(Wallet, Suspended, Some(SuspendedBy::Admin), Area::Wallet),
            Access::Allowed
        );
        assert_eq!(
            check(Traffic, Suspended, Some(SuspendedBy::Admin), Area::Wallet),
            blocked
        );
    }
}
