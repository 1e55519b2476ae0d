//! The desired state held on the panel (spec §13). Each sync compares what every config should be
//! on its panel (there, enabled or disabled, its data limit and expiry) with the panel's listing.
//! A difference on a config with no operation in flight is corrected through the durable
//! operations (never a call inside a transaction) or, for a limit or expiry when the admin's
//! setting says so, only reported; each is a config event and a `system` audit row. A user
//! missing on the panel is shown to the admin and re-created only when the admin asks.

use crate::access::{self, ActionError};
use crate::ops::{self, OpKind, Outcome};
use crate::{Ctx, EngineResult};
use db::audit::{Actor, NewAudit, Origin};
use domain::status::{
    ActorType, AuditAction, AuditTarget, ConfigEventKind, ConfigStatus, DriftAction, DriftKind,
    PanelKind,
};
use serde_json::{json, Value};

/// The admin setting: "1" restores a limit or expiry changed on the panel, "0" only reports it.
pub const SETTING_RESTORE: &str = "drift_restore_limits";

/// Whether a limit or expiry changed on the panel is put back (default: yes).
pub async fn restores_limits(conn: &mut db::Conn) -> EngineResult<bool> {
    Ok(db::settings::get_i64(conn, SETTING_RESTORE)
        .await?
        .is_none_or(|v| v != 0))
}

/// Saves the setting with a `settings_updated` audit row (before and after).
pub async fn set_restores_limits(
    ctx: &Ctx,
    actor: &Actor,
    origin: &Origin,
    restore: bool,
) -> EngineResult<()> {
    let mut tx = ctx.db.begin_write().await?;
    let before = restores_limits(&mut tx).await?;
    db::settings::set(
        &mut tx,
        ctx.db.backend(),
        SETTING_RESTORE,
        if restore { "1" } else { "0" },
    )
    .await?;
    db::audit::record(
        &mut tx,
        NewAudit {
            actor,
            origin,
            action: AuditAction::SettingsUpdated,
            target_type: Some(AuditTarget::Settings),
            target_id: None,
            reason: None,
            meta: json!({"before": {SETTING_RESTORE: before}, "after": {SETTING_RESTORE: restore}}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// What a config should be on its panel, as the sync read it before the listing.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Desired {
    pub id: i64,
    pub username: String,
    #[sqlx(try_from = "String")]
    pub status: ConfigStatus,
    pub traffic_limit_bytes: i64,
    pub expires_at: Option<i64>,
    pub missing_on_panel_at: Option<i64>,
    pub panel_drift: Option<String>,
}

/// How far a panel's stored value may be from ours and still be ours: Eylandoo keeps limits in
/// GiB with two decimals and expiry as a date; the others keep bytes and seconds.
#[derive(Clone, Copy, Debug)]
pub struct Tolerance {
    pub limit_bytes: i64,
    pub expiry_secs: i64,
}

pub fn tolerance(kind: PanelKind) -> Tolerance {
    match kind {
        PanelKind::Eylandoo => Tolerance {
            limit_bytes: (1 << 30) / 100 + 1,
            expiry_secs: 86_400,
        },
        PanelKind::Marzban | PanelKind::Marzneshin | PanelKind::Xui | PanelKind::Pasarguard => {
            Tolerance {
                limit_bytes: 0,
                expiry_secs: 1,
            }
        }
    }
}

/// One difference: what the panel shows and what we want.
#[derive(Clone, Debug, PartialEq)]
pub struct Found {
    pub kind: DriftKind,
    pub panel: Value,
    pub ours: Value,
}

/// The differences between a config's desired state and the panel's user (None = not listed).
/// The panel's own enforcement is not drift: a user the panel marks limited or expired keeps its
/// admin switch on, and only the switch is compared. A deleted config and one whose status the
/// panel does not hold (expired) are compared for nothing but presence.
pub fn compare(d: &Desired, u: Option<&panels::RemoteUser>, tol: Tolerance) -> Vec<Found> {
    let mut out = Vec::new();
    if d.status == ConfigStatus::Deleted {
        return out;
    }
    let Some(u) = u else {
        out.push(Found {
            kind: DriftKind::MissingOnPanel,
            panel: Value::Null,
            ours: json!(d.username),
        });
        return out;
    };
    match d.status {
        ConfigStatus::Active if !u.enabled => out.push(Found {
            kind: DriftKind::DisabledOnPanel,
            panel: json!(false),
            ours: json!(true),
        }),
        ConfigStatus::Disabled if u.enabled => out.push(Found {
            kind: DriftKind::EnabledOnPanel,
            panel: json!(true),
            ours: json!(false),
        }),
        _ => {}
    }
    let ours_limit = Some(d.traffic_limit_bytes).filter(|l| *l > 0);
    let limit_differs = match (ours_limit, u.limit_bytes) {
        (Some(a), Some(b)) => (a - b).abs() > tol.limit_bytes,
        (None, None) => false,
        _ => true,
    };
    if limit_differs {
        out.push(Found {
            kind: DriftKind::LimitChanged,
            panel: json!(u.limit_bytes),
            ours: json!(ours_limit),
        });
    }
    let theirs = u.expires_at.map(|t| t.timestamp());
    let expiry_differs = match (d.expires_at, theirs) {
        (Some(a), Some(b)) => (a - b).abs() > tol.expiry_secs,
        (None, None) => false,
        _ => true,
    };
    if expiry_differs {
        out.push(Found {
            kind: DriftKind::ExpiryChanged,
            panel: json!(theirs),
            ours: json!(d.expires_at),
        });
    }
    out
}

/// What one sync found and did, for its report.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct DriftCounts {
    pub corrected: i64,
    pub reported: i64,
    pub missing: i64,
}

impl DriftCounts {
    pub fn add(&mut self, o: &DriftCounts) {
        self.corrected += o.corrected;
        self.reported += o.reported;
        self.missing += o.missing;
    }
}

fn meta(f: &Found, action: DriftAction, operation_id: Option<i64>) -> Value {
    json!({
        "drift": f.kind,
        "action": action,
        "on_panel": f.panel,
        "wanted": f.ours,
        "operation_id": operation_id,
    })
}

async fn record(
    conn: &mut db::Conn,
    config_id: i64,
    event: ConfigEventKind,
    action: AuditAction,
    kind: DriftKind,
    meta: Value,
) -> EngineResult<()> {
    db::configs::add_event(
        conn,
        config_id,
        event,
        ActorType::System.as_str(),
        None,
        None,
        meta.clone(),
    )
    .await?;
    let system = Actor::system();
    let origin = Origin::default();
    let audit_row = NewAudit::about(
        &system,
        &origin,
        action,
        (AuditTarget::Config, config_id),
        meta,
    )
    // The kind, so the metrics can count drift by kind from the audit log.
    .because(kind.as_str());
    db::audit::record(conn, audit_row).await?;
    Ok(())
}

/// Acts on the differences of one config found by a sync (the caller made sure no operation of
/// it was in flight): one write transaction; operations are queued, never called from here.
pub async fn apply(
    ctx: &Ctx,
    panel_id: i64,
    d: &Desired,
    present: bool,
    found: &[Found],
    restore: bool,
    now: i64,
) -> EngineResult<DriftCounts> {
    let mut counts = DriftCounts::default();
    let limits: Vec<&Found> = found
        .iter()
        .filter(|f| matches!(f.kind, DriftKind::LimitChanged | DriftKind::ExpiryChanged))
        .collect();
    let reported_now = (!restore && !limits.is_empty()).then(|| {
        let m: serde_json::Map<String, Value> = limits
            .iter()
            .map(|f| {
                (
                    f.kind.as_str().to_string(),
                    json!({"on_panel": f.panel, "wanted": f.ours}),
                )
            })
            .collect();
        Value::Object(m).to_string()
    });
    // Known missing and still missing, or in line and nothing recorded to clear.
    let nothing_to_do = if present {
        found.is_empty() && d.panel_drift.is_none() && d.missing_on_panel_at.is_none()
    } else {
        d.missing_on_panel_at.is_some()
    };
    if nothing_to_do || d.status == ConfigStatus::Deleted {
        return Ok(counts);
    }
    let mut tx = ctx.db.begin_write().await?;
    // The row as it is now: a change made since the sync read it has its own operation, and the
    // caller has checked there is none; this guards the status the corrections are made for.
    let Some(current) = db::configs::get(&mut tx, d.id).await? else {
        return Ok(counts);
    };
    if current.status != d.status
        || current.traffic_limit_bytes != d.traffic_limit_bytes
        || current.expires_at != d.expires_at
    {
        return Ok(counts);
    }
    if present && d.missing_on_panel_at.is_some() {
        db::configs::set_missing_on_panel(&mut tx, d.id, None).await?;
    }
    let mut corrected = 0;
    for f in found {
        match f.kind {
            DriftKind::MissingOnPanel => {
                if d.missing_on_panel_at.is_none() {
                    db::configs::set_missing_on_panel(&mut tx, d.id, Some(now)).await?;
                    record(
                        &mut tx,
                        d.id,
                        ConfigEventKind::MissingOnPanel,
                        AuditAction::ConfigMissingOnPanel,
                        f.kind,
                        meta(f, DriftAction::Reported, None),
                    )
                    .await?;
                    counts.missing += 1;
                }
            }
            DriftKind::EnabledOnPanel => {
                corrected += correct(&mut tx, panel_id, d.id, OpKind::Disable, &[f], now).await?;
            }
            DriftKind::DisabledOnPanel => {
                corrected += correct(&mut tx, panel_id, d.id, OpKind::Enable, &[f], now).await?;
            }
            DriftKind::LimitChanged | DriftKind::ExpiryChanged => {}
        }
    }
    if restore && !limits.is_empty() {
        corrected += correct(&mut tx, panel_id, d.id, OpKind::Update, &limits, now).await?;
    }
    counts.corrected += corrected;
    if reported_now != d.panel_drift {
        db::configs::set_panel_drift(&mut tx, d.id, reported_now.as_deref()).await?;
        // Reported once per new difference, not at every sync that sees it again.
        if reported_now.is_some() {
            for f in &limits {
                record(
                    &mut tx,
                    d.id,
                    ConfigEventKind::DriftReported,
                    AuditAction::ConfigDriftReported,
                    f.kind,
                    meta(f, DriftAction::Reported, None),
                )
                .await?;
                counts.reported += 1;
            }
        }
    }
    tx.commit().await?;
    if corrected > 0 {
        ctx.wake.notify_one();
    }
    Ok(counts)
}

/// Queues the operation that puts `found` right on the panel, with a `drift_corrected` event and
/// audit row for each difference; returns how many it corrects.
async fn correct(
    tx: &mut db::Conn,
    panel_id: i64,
    config_id: i64,
    kind: OpKind,
    found: &[&Found],
    now: i64,
) -> EngineResult<i64> {
    let op = ops::enqueue_for(tx, panel_id, config_id, kind, now).await?;
    db::configs::set_confirmed(tx, config_id, false).await?;
    for f in found {
        record(
            tx,
            config_id,
            ConfigEventKind::DriftCorrected,
            AuditAction::ConfigDriftCorrected,
            f.kind,
            meta(f, DriftAction::Corrected, Some(op)),
        )
        .await?;
    }
    Ok(found.len() as i64)
}

/// An admin has a config whose user went missing on the panel created there again (the
/// durable Create operation, audited), then waits for it, bounded. Usage counted so far stays:
/// the new user's counter starts at zero and the accounting takes it as a reset.
pub async fn recreate(
    ctx: &Ctx,
    actor: &Actor,
    origin: &Origin,
    config_id: i64,
) -> Result<Outcome, ActionError> {
    let now = chrono::Utc::now().timestamp();
    let mut tx = ctx.db.begin_write().await?;
    let c = db::configs::get(&mut tx, config_id)
        .await?
        .ok_or(ActionError::NotFound)?;
    if c.status == ConfigStatus::Deleted {
        return Err(ActionError::Conflict {
            code: access::CONFIG_DELETED,
            message: "the config is deleted".into(),
        });
    }
    let Some(since) = c.missing_on_panel_at else {
        return Err(ActionError::Conflict {
            code: access::CONFIG_NOT_MISSING,
            message: "the config is on its panel".into(),
        });
    };
    db::configs::set_missing_on_panel(&mut tx, c.id, None).await?;
    db::configs::set_confirmed(&mut tx, c.id, false).await?;
    let op = ops::enqueue_for(&mut tx, c.panel_id, c.id, OpKind::Create, now).await?;
    let meta = json!({
        "operation_id": op,
        "missing_since": since,
        "lifetime_usage_bytes": c.lifetime_usage_bytes,
    });
    let (event, action) = (ConfigEventKind::Recreated, AuditAction::ConfigRecreated);
    crate::configs::record(&mut tx, actor, origin, c.id, event, action, meta).await?;
    tx.commit().await?;
    ctx.wake.notify_one();
    Ok(ops::run_now(ctx, op, ctx.settings.wait_for_panel).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desired(status: ConfigStatus) -> Desired {
        Desired {
            id: 1,
            username: "u".into(),
            status,
            traffic_limit_bytes: 10 << 30,
            expires_at: Some(1_900_000_000),
            missing_on_panel_at: None,
            panel_drift: None,
        }
    }

    fn user(enabled: bool, state: panels::RemoteState) -> panels::RemoteUser {
        panels::RemoteUser {
            username: "u".into(),
            used_bytes: 11 << 30,
            lifetime_used_bytes: None,
            limit_bytes: Some(10 << 30),
            expires_at: chrono::DateTime::from_timestamp(1_900_000_000, 0),
            enabled,
            state,
            subscription_url: None,
            owner: None,
        }
    }

    #[test]
    fn the_panels_own_limited_or_expired_is_not_drift() {
        let tol = tolerance(PanelKind::Marzban);
        for state in [panels::RemoteState::Limited, panels::RemoteState::Expired] {
            let u = user(true, state);
            assert!(compare(&desired(ConfigStatus::Active), Some(&u), tol).is_empty());
        }
        let off = user(false, panels::RemoteState::Disabled);
        let f = compare(&desired(ConfigStatus::Active), Some(&off), tol);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].kind, DriftKind::DisabledOnPanel);
        let on = user(true, panels::RemoteState::Active);
        let f = compare(&desired(ConfigStatus::Disabled), Some(&on), tol);
        assert_eq!(f[0].kind, DriftKind::EnabledOnPanel);
    }

    #[test]
    fn limits_are_compared_within_what_the_panel_can_store() {
        let mut u = user(true, panels::RemoteState::Active);
        u.limit_bytes = Some((10 << 30) + 1000);
        assert_eq!(
            compare(
                &desired(ConfigStatus::Active),
                Some(&u),
                tolerance(PanelKind::Marzban)
            )[0]
            .kind,
            DriftKind::LimitChanged
        );
        assert!(compare(
            &desired(ConfigStatus::Active),
            Some(&u),
            tolerance(PanelKind::Eylandoo)
        )
        .is_empty());
        u.expires_at = None;
        let f = compare(
            &desired(ConfigStatus::Active),
            Some(&u),
            tolerance(PanelKind::Eylandoo),
        );
        assert_eq!(f[0].kind, DriftKind::ExpiryChanged);
        assert!(compare(
            &desired(ConfigStatus::Deleted),
            None,
            tolerance(PanelKind::Xui)
        )
        .is_empty());
        assert_eq!(
            compare(
                &desired(ConfigStatus::Disabled),
                None,
                tolerance(PanelKind::Xui)
            )[0]
            .kind,
            DriftKind::MissingOnPanel
        );
    }
}
