//! Quota and window enforcement for traffic resellers (spec §8): one predicate decides both the
//! suspension and the recovery, so a reseller never flips back and forth.

use crate::ops::{self, OpKind};
use crate::{Ctx, EngineResult};
use db::audit::{Actor, NewAudit, Origin};
use domain::enforcement::{evaluate_traffic, grace_bytes, quota_used, GraceSettings};
use domain::status::{
    AuditAction, AuditTarget, ConfigEventKind, ConfigStatus, DisabledReason, ResellerKind,
    ResellerStatus, SuspendedBy,
};
use serde_json::json;

/// Reasons this module sets; only configs disabled for one of these are enabled again here.
const QUOTA_REASONS: [DisabledReason; 2] = [
    DisabledReason::ResellerQuota,
    DisabledReason::ResellerWindow,
];

/// The admin's grace settings (`grace_percent`, `grace_min_bytes`), defaults 2 % and 50 MiB.
pub async fn grace_settings(conn: &mut db::Conn) -> EngineResult<GraceSettings> {
    let d = GraceSettings::default();
    Ok(GraceSettings {
        percent: db::settings::get_i64(conn, "grace_percent")
            .await?
            .filter(|p| *p >= 0)
            .unwrap_or(d.percent),
        min_bytes: db::settings::get_i64(conn, "grace_min_bytes")
            .await?
            .filter(|b| *b >= 0)
            .unwrap_or(d.min_bytes),
    })
}

/// A traffic reseller's quota figures as the predicate sees them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct QuotaFigures {
    pub quota_bytes: i64,
    pub used_bytes: i64,
    pub grace_bytes: i64,
    pub lifetime_bytes: i64,
    pub baseline_bytes: i64,
}

pub async fn quota_figures(
    conn: &mut db::Conn,
    r: &db::resellers::Reseller,
) -> EngineResult<QuotaFigures> {
    let lifetime = db::resellers::lifetime_total(conn, r.id).await?;
    let grace = grace_bytes(r.traffic_quota_bytes, grace_settings(conn).await?);
    Ok(QuotaFigures {
        quota_bytes: r.traffic_quota_bytes,
        used_bytes: quota_used(lifetime, r.quota_baseline_bytes),
        grace_bytes: grace,
        lifetime_bytes: lifetime,
        baseline_bytes: r.quota_baseline_bytes,
    })
}

/// Evaluates the one predicate for a reseller and suspends/recovers it (and its configs).
/// Called after every sync and right after any admin change to the reseller.
pub async fn enforce_reseller(
    ctx: &Ctx,
    reseller_id: i64,
    now: chrono::DateTime<chrono::Utc>,
    origin: &Origin,
) -> EngineResult<()> {
    let system = Actor::system();
    let mut tx = ctx.db.begin_write().await?;
    let Some(r) = db::resellers::get_for_update(&mut tx, ctx.db.backend(), reseller_id).await?
    else {
        return Ok(());
    };
    // Wallet resellers are billed, not metered against a quota (issue 6).
    if r.kind != ResellerKind::Traffic {
        return Ok(());
    }
    let fig = quota_figures(&mut tx, &r).await?;
    let verdict = evaluate_traffic(
        fig.used_bytes,
        fig.quota_bytes,
        fig.grace_bytes,
        r.window_ends_at.map(db::time::from_ts),
        now,
    );
    let ts = now.timestamp();
    let mut queued = 0;
    if let Some(reason) = verdict.disabled_reason() {
        if r.status == ResellerStatus::Active {
            db::resellers::set_status(
                &mut tx,
                r.id,
                ResellerStatus::Suspended,
                Some(SuspendedBy::System),
            )
            .await?;
            let audit_meta = json!({
                "before": {"status": r.status, "suspended_by": r.suspended_by},
                "after": {"status": ResellerStatus::Suspended, "suspended_by": SuspendedBy::System},
                "quota": fig,
            });
            let audit_row = NewAudit::about(
                &system,
                origin,
                AuditAction::ResellerSuspended,
                (AuditTarget::Reseller, r.id),
                audit_meta,
            )
            .because(reason.as_str());
            db::audit::record(&mut tx, audit_row).await?;
        }
        // Whoever suspended the reseller, none of its configs may keep running past the terms.
        for c in db::configs::of_reseller_with_status(&mut tx, r.id, ConfigStatus::Active).await? {
            db::configs::set_status(&mut tx, c.id, ConfigStatus::Disabled, Some(reason)).await?;
            let op = ops::enqueue_for(&mut tx, c.panel_id, c.id, OpKind::Disable, ts).await?;
            db::configs::add_event(
                &mut tx,
                c.id,
                ConfigEventKind::AutoDisabled,
                &system.name,
                None,
                None,
                json!({"reason": reason, "operation_id": op}),
            )
            .await?;
            config_audit(
                &mut tx,
                origin,
                AuditAction::ConfigAutoDisabled,
                &c,
                ConfigStatus::Disabled,
                Some(reason),
            )
            .await?;
            queued += 1;
        }
    } else {
        let recovering =
            r.status == ResellerStatus::Suspended && r.suspended_by == Some(SuspendedBy::System);
        if recovering {
            db::resellers::set_status(&mut tx, r.id, ResellerStatus::Active, None).await?;
            let audit_row = NewAudit::about(
                &system,
                origin,
                AuditAction::ResellerReactivated,
                (AuditTarget::Reseller, r.id),
                json!({
                    "before": {"status": r.status, "suspended_by": r.suspended_by},
                    "after": {"status": ResellerStatus::Active, "suspended_by": null},
                    "quota": fig,
                }),
            )
            .because("within_terms");
            db::audit::record(&mut tx, audit_row).await?;
        }
        if recovering || r.status == ResellerStatus::Active {
            for c in
                db::configs::of_reseller_with_status(&mut tx, r.id, ConfigStatus::Disabled).await?
            {
                // Disabled by hand or by an admin: never the system's to undo.
                if !c
                    .disabled_reason
                    .is_some_and(|r| QUOTA_REASONS.contains(&r))
                {
                    continue;
                }
                db::configs::set_status(&mut tx, c.id, ConfigStatus::Active, None).await?;
                let op = ops::enqueue_for(&mut tx, c.panel_id, c.id, OpKind::Enable, ts).await?;
                db::configs::add_event(
                    &mut tx,
                    c.id,
                    ConfigEventKind::AutoEnabled,
                    &system.name,
                    None,
                    None,
                    json!({"previous_reason": c.disabled_reason, "operation_id": op}),
                )
                .await?;
                config_audit(
                    &mut tx,
                    origin,
                    AuditAction::ConfigAutoEnabled,
                    &c,
                    ConfigStatus::Active,
                    None,
                )
                .await?;
                queued += 1;
            }
        }
    }
    tx.commit().await?;
    if queued > 0 {
        ctx.wake.notify_one();
    }
    Ok(())
}

async fn config_audit(
    conn: &mut db::Conn,
    origin: &Origin,
    action: AuditAction,
    c: &db::configs::Config,
    status: ConfigStatus,
    reason: Option<DisabledReason>,
) -> EngineResult<()> {
    let system = Actor::system();
    let audit_row = NewAudit::about(
        &system,
        origin,
        action,
        (AuditTarget::Config, c.id),
        json!({
            "reseller_id": c.reseller_id,
            "before": {"status": c.status, "disabled_reason": c.disabled_reason},
            "after": {"status": status, "disabled_reason": reason},
        }),
    )
    .because(reason.map(|r| r.as_str()));
    db::audit::record(conn, audit_row).await?;
    Ok(())
}
