//! How a state, kind or reason is shown: its translation key and its badge, one exhaustive
//! match per enum, so a value added to `domain::status` does not compile until it has both.

use domain::status::{
    ConfigStatus, DisabledReason, JobStatus, OpKind, OpStatus, PanelKind, ResellerKind,
    ResellerStatus, TopupStatus,
};

/// The translation key of a value (`shell.t(status.key())`).
pub trait Label {
    fn key(&self) -> &'static str;
}

/// The badge class of a state.
pub trait Badge {
    fn badge(&self) -> &'static str;
}

impl Label for ConfigStatus {
    fn key(&self) -> &'static str {
        match self {
            ConfigStatus::Active => "configs.status_active",
            ConfigStatus::Disabled => "configs.status_disabled",
            ConfigStatus::Expired => "configs.status_expired",
            ConfigStatus::Deleted => "configs.status_deleted",
        }
    }
}

impl Badge for ConfigStatus {
    fn badge(&self) -> &'static str {
        match self {
            ConfigStatus::Active => "badge-ok",
            ConfigStatus::Disabled | ConfigStatus::Expired => "badge-warn",
            ConfigStatus::Deleted => "badge-muted",
        }
    }
}

impl Label for DisabledReason {
    fn key(&self) -> &'static str {
        match self {
            DisabledReason::Manual => "configs.reason.manual",
            DisabledReason::ResellerQuota => "configs.reason.reseller_quota",
            DisabledReason::ResellerWindow => "configs.reason.reseller_window",
            DisabledReason::Wallet => "configs.reason.wallet",
            DisabledReason::Admin => "configs.reason.admin",
        }
    }
}

impl Label for ResellerStatus {
    fn key(&self) -> &'static str {
        match self {
            ResellerStatus::Active => "resellers.status_active",
            ResellerStatus::Suspended => "resellers.status_suspended",
            ResellerStatus::SuspendedWallet => "resellers.status_suspended_wallet",
        }
    }
}

impl Label for ResellerKind {
    fn key(&self) -> &'static str {
        match self {
            ResellerKind::Traffic => "resellers.kind_traffic",
            ResellerKind::Wallet => "resellers.kind_wallet",
        }
    }
}

impl Label for OpStatus {
    fn key(&self) -> &'static str {
        match self {
            OpStatus::Pending => "operations.status.pending",
            OpStatus::Done => "operations.status.done",
            OpStatus::Failed => "operations.status.failed",
            OpStatus::Cancelled => "operations.status.cancelled",
        }
    }
}

impl Badge for OpStatus {
    fn badge(&self) -> &'static str {
        match self {
            OpStatus::Done => "badge-ok",
            OpStatus::Pending => "badge-warn",
            OpStatus::Failed => "badge-danger",
            OpStatus::Cancelled => "badge-muted",
        }
    }
}

impl Label for OpKind {
    fn key(&self) -> &'static str {
        match self {
            OpKind::Create => "operations.kinds.create",
            OpKind::Update => "operations.kinds.update",
            OpKind::Enable => "operations.kinds.enable",
            OpKind::Disable => "operations.kinds.disable",
            OpKind::Reset => "operations.kinds.reset",
            OpKind::Delete => "operations.kinds.delete",
        }
    }
}

impl Label for PanelKind {
    fn key(&self) -> &'static str {
        match self {
            PanelKind::Marzban => "panels.kinds.marzban",
            PanelKind::Marzneshin => "panels.kinds.marzneshin",
            PanelKind::Xui => "panels.kinds.xui",
            PanelKind::Eylandoo => "panels.kinds.eylandoo",
            PanelKind::Pasarguard => "panels.kinds.pasarguard",
        }
    }
}

impl Label for JobStatus {
    fn key(&self) -> &'static str {
        match self {
            JobStatus::Queued => "usage.job_queued",
            JobStatus::Running => "usage.job_running",
            JobStatus::Done => "usage.job_done",
            JobStatus::Failed => "usage.job_failed",
        }
    }
}

impl Label for TopupStatus {
    fn key(&self) -> &'static str {
        match self {
            TopupStatus::Pending => "wallet.topup_pending",
            TopupStatus::Approved => "wallet.topup_approved",
            TopupStatus::Rejected => "wallet.topup_rejected",
        }
    }
}
