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

        // What `db` decodes a TEXT column through (`#[sqlx(try_from = "String")]`), so an
        // unknown stored value is an error naming the enum, never a silent default.
        impl TryFrom<String> for $name {
            type Error = ParseStatusError;

            fn try_from(s: String) -> Result<Self, Self::Error> {
                s.parse()
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.as_str().to_string()
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
        /// PasarGuard (a Marzban fork with groups); `Pasarguard` so serde spells it as the table.
        Pasarguard => "pasarguard",
    }
}

impl PanelKind {
    /// Whether the panel limits how many devices a user may connect at once.
    pub fn has_max_clients(self) -> bool {
        matches!(self, PanelKind::Eylandoo | PanelKind::Xui)
    }
}

string_enum! {
    /// Who suspended a reseller: the system (quota, window, wallet) may undo its own
    /// suspension; an admin's only an admin lifts.
    SuspendedBy, "suspended by" {
        System => "system",
        Admin => "admin",
    }
}

string_enum! {
    /// What the panel last reported for a user, beside our own status (spec §6).
    RemoteState, "remote state" {
        Active => "active",
        Disabled => "disabled",
        Limited => "limited",
        Expired => "expired",
        /// Expiry starts on first use and has not started yet.
        OnHold => "on_hold",
    }
}

string_enum! {
    /// What a durable remote operation asks the panel to do (spec §4).
    OpKind, "operation kind" {
        Create => "create",
        Update => "update",
        Enable => "enable",
        Disable => "disable",
        Reset => "reset",
        Delete => "delete",
    }
}

impl OpKind {
    /// Kinds a new operation of this kind makes pointless while they are still pending.
    pub fn supersedes(self) -> &'static [OpKind] {
        match self {
            OpKind::Enable | OpKind::Disable => &[OpKind::Enable, OpKind::Disable],
            OpKind::Update => &[OpKind::Update],
            OpKind::Delete => &[
                OpKind::Enable,
                OpKind::Disable,
                OpKind::Update,
                OpKind::Reset,
            ],
            OpKind::Create | OpKind::Reset => &[],
        }
    }
}

string_enum! {
    OpStatus, "operation status" {
        /// Waiting for its next attempt (or being attempted under a lease).
        Pending => "pending",
        /// The panel confirmed it.
        Done => "done",
        /// Gave up after its attempts; an admin may retry it.
        Failed => "failed",
        /// Superseded by a later operation or cancelled by an admin.
        Cancelled => "cancelled",
    }
}

string_enum! {
    /// Background jobs an admin starts.
    JobKind, "job kind" {
        ResellerUsageReset => "reseller_usage_reset",
        /// Users already on a panel imported as a reseller's configs.
        PanelImport => "panel_import",
        /// One action over many configs (issue 15).
        ConfigBulk => "config_bulk",
    }
}

string_enum! {
    /// What a bulk job does to each of its configs (issue 15).
    BulkAction, "bulk action" {
        Create => "create",
        Extend => "extend",
        AddTraffic => "add_traffic",
        SetLimit => "set_limit",
        Disable => "disable",
        Enable => "enable",
        ResetUsage => "reset_usage",
        Delete => "delete",
    }
}

string_enum! {
    JobStatus, "job status" {
        Queued => "queued",
        Running => "running",
        Done => "done",
        Failed => "failed",
    }
}

impl JobStatus {
    /// Still queued or running: a second job of the same kind and target must wait.
    pub fn is_open(self) -> bool {
        matches!(self, JobStatus::Queued | JobStatus::Running)
    }
}

string_enum! {
    TopupStatus, "top-up status" {
        Pending => "pending",
        Approved => "approved",
        Rejected => "rejected",
    }
}

string_enum! {
    /// A held-back panel reading: waiting for the admin, or accepted (counted) or discarded.
    QuarantineStatus, "quarantine status" {
        Pending => "pending",
        Accepted => "accepted",
        Discarded => "discarded",
    }
}

string_enum! {
    /// Why a wallet balance changed (spec §9); every change is one ledger row.
    LedgerKind, "ledger kind" {
        UsageCharge => "usage_charge",
        Topup => "topup",
        AdminAdjustment => "admin_adjustment",
        /// What an admin gave a new wallet reseller to start with.
        OpeningBalance => "opening_balance",
    }
}

string_enum! {
    /// What a ledger row points at.
    LedgerRef, "ledger reference" {
        Topup => "topup",
        UsageSnapshot => "usage_snapshot",
    }
}

string_enum! {
    /// The entries of a config's timeline (spec §6).
    ConfigEventKind, "config event kind" {
        Created => "created",
        Edited => "edited",
        ManualDisabled => "manual_disabled",
        ManualEnabled => "manual_enabled",
        AutoDisabled => "auto_disabled",
        AutoEnabled => "auto_enabled",
        UsageReset => "usage_reset",
        Deleted => "deleted",
        /// The panel confirmed an operation that had failed before.
        PanelConfirmed => "panel_confirmed",
        OperationRetried => "operation_retried",
        OperationCancelled => "operation_cancelled",
        /// The panel differed from what we want and was brought back in line (spec §11).
        DriftCorrected => "drift_corrected",
        /// The panel's limit or expiry differs from ours and the admin setting says report only.
        DriftReported => "drift_reported",
        /// The user is gone from the panel (deleted there by hand); not re-created silently.
        MissingOnPanel => "missing_on_panel",
        /// An admin had a user missing on the panel created again.
        Recreated => "recreated",
        /// A user already on the panel became this config (issue 15); its traffic before the
        /// import is the baseline, never counted.
        ImportedFromPanel => "imported_from_panel",
    }
}

string_enum! {
    /// How a panel differed from a config's desired state (spec §13), counted by the metrics.
    DriftKind, "drift kind" {
        /// Enabled on the panel while we want it disabled.
        EnabledOnPanel => "enabled_on_panel",
        /// Disabled by the panel's admin switch while we want it active.
        DisabledOnPanel => "disabled_on_panel",
        LimitChanged => "limit_changed",
        ExpiryChanged => "expiry_changed",
        MissingOnPanel => "missing_on_panel",
    }
}

string_enum! {
    /// What the product did about a drift.
    DriftAction, "drift action" {
        /// A corrective operation was queued (or run, right after a reset).
        Corrected => "corrected",
        /// Shown to the admin only, as the setting asks (or a missing user, never re-created).
        Reported => "reported",
    }
}

string_enum! {
    /// Who an audit row names as actor (spec §10).
    ActorType, "actor type" {
        Admin => "admin",
        Reseller => "reseller",
        System => "system",
        /// A failed sign-in: nobody is signed in yet.
        Anonymous => "anonymous",
    }
}

impl From<Role> for ActorType {
    fn from(r: Role) -> ActorType {
        match r {
            Role::Admin => ActorType::Admin,
            Role::Reseller => ActorType::Reseller,
        }
    }
}

string_enum! {
    /// What an API token may do.
    TokenScope, "token scope" {
        /// Everything its owner may do.
        Full => "full",
        /// Reading only: GET and HEAD; anything else is refused with 403 `token_read_only`.
        ReadOnly => "read_only",
    }
}

string_enum! {
    /// What an audit row is about.
    AuditTarget, "audit target" {
        Config => "config",
        Reseller => "reseller",
        Panel => "panel",
        Topup => "topup",
        ApiToken => "api_token",
        Operation => "operation",
        User => "user",
        Settings => "settings",
    }
}

string_enum! {
    /// Every audited action (spec §10), one name per kind of change.
    AuditAction, "audit action" {
        ApiTokenCreated => "api_token_created",
        ApiTokenRevoked => "api_token_revoked",
        SessionEnded => "session_ended",
        /// A user turned on two-factor sign-in (a first code confirmed the authenticator).
        TwoFactorEnabled => "two_factor_enabled",
        /// A user turned off their own second factor.
        TwoFactorDisabled => "two_factor_disabled",
        /// An admin removed a reseller's second factor (a lost phone).
        TwoFactorRemoved => "two_factor_removed",
        /// A sign-in used a one-time recovery code instead of the authenticator.
        RecoveryCodeUsed => "recovery_code_used",
        /// A user replaced their recovery codes with ten new ones.
        RecoveryCodesRenewed => "recovery_codes_renewed",
        LoginFailed => "login_failed",
        AdminCreated => "admin_created",
        /// A user changed their own password (issue 14).
        PasswordChanged => "password_changed",
        /// An admin (or the command line) set another user's password.
        PasswordReset => "password_reset",
        AdminDisabled => "admin_disabled",
        /// A disabled admin was let in again.
        AdminEnabled => "admin_enabled",
        SettingsUpdated => "settings_updated",
        PanelCreated => "panel_created",
        PanelUpdated => "panel_updated",
        PanelTested => "panel_tested",
        /// One panel user became a reseller's config (import).
        PanelConfigAttached => "panel_config_attached",
        /// An import finished: how many users were attached, refused and why.
        PanelImported => "panel_imported",
        ResellerCreated => "reseller_created",
        ResellerUpdated => "reseller_updated",
        ResellerSuspended => "reseller_suspended",
        ResellerSuspendedWallet => "reseller_suspended_wallet",
        ResellerActivated => "reseller_activated",
        ResellerReactivated => "reseller_reactivated",
        ResellerTrafficAdded => "reseller_traffic_added",
        ResellerWindowExtended => "reseller_window_extended",
        ResellerUsageReset => "reseller_usage_reset",
        ConfigCreated => "config_created",
        ConfigEdited => "config_edited",
        ConfigDeleted => "config_deleted",
        ConfigManualDisabled => "config_manual_disabled",
        ConfigManualEnabled => "config_manual_enabled",
        ConfigAutoDisabled => "config_auto_disabled",
        ConfigAutoEnabled => "config_auto_enabled",
        ConfigUsageReset => "config_usage_reset",
        ConfigDriftCorrected => "config_drift_corrected",
        ConfigDriftReported => "config_drift_reported",
        ConfigMissingOnPanel => "config_missing_on_panel",
        ConfigRecreated => "config_recreated",
        OperationRetried => "operation_retried",
        OperationCancelled => "operation_cancelled",
        WalletAdjusted => "wallet_adjusted",
        WalletBillingRun => "wallet_billing_run",
        WalletTopupSubmitted => "wallet_topup_submitted",
        WalletTopupApproved => "wallet_topup_approved",
        WalletTopupRejected => "wallet_topup_rejected",
        /// A panel reading too large to believe was held back (issue 11).
        UsageReadingQuarantined => "usage_reading_quarantined",
        UsageReadingAccepted => "usage_reading_accepted",
        UsageReadingDiscarded => "usage_reading_discarded",
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
            &["marzban", "marzneshin", "xui", "eylandoo", "pasarguard"],
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
