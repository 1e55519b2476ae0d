//! The shared enumerations of the spec, with the exact snake_case strings stored in the database,
//! sent in the API and written in audit rows; one definition so the three can never disagree.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A string that is not one of an enumeration's values.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown {kind} {value:?}")]
pub struct ParseStatusError {
    pub kind: &'static str,
    pub value: String,
}

// One table per enum gives as_str, FromStr, Display and ALL from the same strings, so a value
// added later cannot be forgotten in one of them; the tests check serde's snake_case against it.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident, $kind:literal { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(&self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl FromStr for $name {
            type Err = ParseStatusError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(ParseStatusError { kind: $kind, value: s.to_string() }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum! {
    /// How a reseller pays: a traffic quota (with optional window) or a prepaid wallet.
    ResellerKind, "reseller kind" {
        Traffic => "traffic",
        Wallet => "wallet",
    }
}

string_enum! {
    ResellerStatus, "reseller status" {
        Active => "active",
        /// Over quota, window ended, or suspended by an admin.
        Suspended => "suspended",
        /// Wallet at or below the threshold; only a credit lifts it.
        SuspendedWallet => "suspended_wallet",
    }
}

string_enum! {
    ConfigStatus, "config status" {
        Active => "active",
        Disabled => "disabled",
        Expired => "expired",
        Deleted => "deleted",
    }
}

string_enum! {
    /// Why a config is disabled; decides whether the system may enable it again.
    DisabledReason, "disabled reason" {
        Manual => "manual",
        ResellerQuota => "reseller_quota",
        ResellerWindow => "reseller_window",
        Wallet => "wallet",
        Admin => "admin",
    }
}

impl DisabledReason {
    /// Disabled by the system, so the system re-enables it when the cause is gone. A config a
    /// person disabled (reseller or admin) is never enabled behind their back.
    pub fn is_system(&self) -> bool {
        matches!(
            self,
            DisabledReason::ResellerQuota | DisabledReason::ResellerWindow | DisabledReason::Wallet
        )
    }
}

string_enum! {
    Role, "role" {
        Admin => "admin",
        Reseller => "reseller",
    }
}

string_enum! {
    PanelKind, "panel kind" {
        Marzban => "marzban",
        Marzneshin => "marzneshin",
        /// 3x-ui.
        Xui => "xui",
        Eylandoo => "eylandoo",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_all<T>(all: &[T], expected: &[&str])
    where
        T: Copy + fmt::Debug + PartialEq + FromStr<Err = ParseStatusError> + fmt::Display,
        T: Serialize + for<'de> Deserialize<'de>,
    {
        let strings: Vec<String> = all.iter().map(|v| v.to_string()).collect();
        assert_eq!(strings, expected);
        for v in all {
            let s = v.to_string();
            assert_eq!(s.parse::<T>().unwrap(), *v);
            // serde must agree with as_str, or the API and the database would spell it differently.
            assert_eq!(serde_json::to_string(v).unwrap(), format!("\"{s}\""));
            assert_eq!(serde_json::from_str::<T>(&format!("\"{s}\"")).unwrap(), *v);
        }
    }

    #[test]
    fn spellings_match_the_spec() {
        check_all(ResellerKind::ALL, &["traffic", "wallet"]);
        check_all(
            ResellerStatus::ALL,
            &["active", "suspended", "suspended_wallet"],
        );
        check_all(
            ConfigStatus::ALL,
            &["active", "disabled", "expired", "deleted"],
        );
        check_all(
            DisabledReason::ALL,
            &[
                "manual",
                "reseller_quota",
                "reseller_window",
                "wallet",
                "admin",
            ],
        );
        check_all(Role::ALL, &["admin", "reseller"]);
        check_all(
            PanelKind::ALL,
            &["marzban", "marzneshin", "xui", "eylandoo"],
        );
    }

    #[test]
    fn unknown_strings_are_refused() {
        assert_eq!(
            "Active".parse::<ResellerStatus>(),
            Err(ParseStatusError {
                kind: "reseller status",
                value: "Active".into()
            })
        );
        assert!("plan".parse::<ResellerKind>().is_err());
        assert!("3x-ui".parse::<PanelKind>().is_err());
        assert!("".parse::<ConfigStatus>().is_err());
        assert_eq!(
            "suspendedwallet"
                .parse::<ResellerStatus>()
                .unwrap_err()
                .to_string(),
            "unknown reseller status \"suspendedwallet\""
        );
    }

    #[test]
    fn only_system_reasons_are_undone_by_the_system() {
        let system: Vec<_> = DisabledReason::ALL
            .iter()
            .filter(|r| r.is_system())
            .copied()
            .collect();
        assert_eq!(
            system,
            [
                DisabledReason::ResellerQuota,
                DisabledReason::ResellerWindow,
                DisabledReason::Wallet
            ]
        );
    }
}
