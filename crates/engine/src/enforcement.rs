//! Quota and window enforcement for traffic resellers (spec §8): one predicate decides both the
//! suspension and the recovery, so a reseller never flips back and forth.

use crate::ops::{self, OpKind};
use crate::{Ctx, EngineResult};
use db::audit::{Actor, NewAudit, Origin};
use domain::enforcement::{evaluate_traffic, grace_bytes, quota_used, GraceSettings};
use serde_json::json;

/// Reasons the system itself sets; only configs disabled for one of these are enabled again.
const SYSTEM_REASONS: [&str; 2] = ["reseller_quota", "reseller_window"];

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
    if r.kind != "traffic" {
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
        let reason = reason.as_str();
        if r.status == "active" {
            db::resellers::set_status(&mut tx, r.id, "suspended", Some("system")).await?;
            db::audit::record(
                &mut tx,
                NewAudit {
                    actor: &system,
                    origin,
                    action: "reseller_suspended",
                    target_type: Some("reseller"),
                    target_id: Some(r.id),
                    reason: Some(reason),
                    meta: json!({
                        "before": {"status": r.status, "suspended_by": r.suspended_by},
                        "after": {"status": "suspended", "suspended_by": "system"},
                        "quota": fig,
                    }),
                },
            )
            .await?;
        }
        // Whoever suspended the reseller, none of its configs may keep running past the terms.
        for c in db::configs::of_reseller_with_status(&mut tx, r.id, "active").await? {
            db::configs::set_status(&mut tx, c.id, "disabled", Some(reason)).await?;
            let op = ops::enqueue(
                &mut tx,
                c.panel_id,
                c.id,
                None,
                OpKind::Disable,
                json!({}),
                ts,
            )
            .await?;
            db::configs::add_event(
                &mut tx,
                c.id,
                "auto_disabled",
                "system",
                None,
                None,
                json!({"reason": reason, "operation_id": op}),
            )
            .await?;
            config_audit(
                &mut tx,
                origin,
                "config_auto_disabled",
                &c,
                "disabled",
                Some(reason),
            )
            .await?;
            queued += 1;
        }
    } else {
        let recovering = r.status == "suspended" && r.suspended_by.as_deref() == Some("system");
        if recovering {
            db::resellers::set_status(&mut tx, r.id, "active", None).await?;
            db::audit::record(
                &mut tx,
                NewAudit {
                    actor: &system,
                    origin,
                    action: "reseller_reactivated",
                    target_type: Some("reseller"),
                    target_id: Some(r.id),
                    reason: Some("within_terms"),
                    meta: json!({
                        "before": {"status": r.status, "suspended_by": r.suspended_by},
                        "after": {"status": "active", "suspended_by": null},
                        "quota": fig,
                    }),
                },
            )
            .await?;
        }
        if recovering || r.status == "active" {
            for c in db::configs::of_reseller_with_status(&mut tx, r.id, "disabled").await? {
                // Disabled by hand or by an admin: never the system's to undo.
                if !SYSTEM_REASONS.contains(&c.disabled_reason.as_deref().unwrap_or("")) {
                    continue;
                }
                db::configs::set_status(&mut tx, c.id, "active", None).await?;
                let op = ops::enqueue(
                    &mut tx,
                    c.panel_id,
                    c.id,
                    None,
                    OpKind::Enable,
                    json!({}),
                    ts,
                )
                .await?;
                db::configs::add_event(
                    &mut tx,
                    c.id,
                    "auto_enabled",
                    "system",
                    None,
                    None,
                    json!({"previous_reason": c.disabled_reason, "operation_id": op}),
                )
                .await?;
                config_audit(&mut tx, origin, "config_auto_enabled", &c, "active", None).await?;
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
    action: &str,
    c: &db::configs::Config,
    status: &str,
    reason: Option<&str>,
) -> EngineResult<()> {
    db::audit::record(
        conn,
        NewAudit {
            actor: &Actor::system(),
            origin,
            action,
            target_type: Some("config"),
            target_id: Some(c.id),
            reason,
            meta: json!({
                "reseller_id": c.reseller_id,
                "before": {"status": c.status, "disabled_reason": c.disabled_reason},
                "after": {"status": status, "disabled_reason": reason},
            }),
        },
    )
    .await?;
    Ok(())
}
