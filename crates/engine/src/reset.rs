//! Usage resets (spec §7, seed 000): one config through a durable Reset operation, and the
//! reseller-wide background job that resets every config and restarts the quota baseline.

use crate::job_runner::{self, Lease};
use crate::ops::{self, OpKind, Outcome};
use crate::{enforcement, Ctx, EngineError, EngineResult};
use db::audit::{Actor, NewAudit, Origin};
use domain::status::{
    AuditAction, AuditTarget, ConfigEventKind, ConfigStatus, JobKind, JobStatus, OpStatus,
};
use futures::StreamExt;
use serde_json::json;

pub const JOB_KIND: JobKind = JobKind::ResellerUsageReset;
/// Resets driven at once by the job; the panel handle's rate limit spaces the actual calls.
const JOB_PARALLEL: usize = 4;

fn now_ts() -> i64 {
    chrono::Utc::now().timestamp()
}

/// What a per-config reset left behind.
#[derive(Debug)]
pub struct ConfigReset {
    pub operation_id: i64,
    pub outcome: Outcome,
}

/// Whether a Reset operation of this config is still waiting for the panel ("reset pending").
pub async fn reset_pending(conn: &mut db::Conn, config_id: i64) -> EngineResult<bool> {
    let n: i64 = db::q::scalar(
        &mut *conn,
        "SELECT COUNT(*) FROM operations WHERE config_id = $1 AND kind = $2 AND status = $3",
        (
            config_id,
            OpKind::Reset.as_str(),
            OpStatus::Pending.as_str(),
        ),
    )
    .await?;
    Ok(n > 0)
}

/// Resets one config's usage on its panel: queues the Reset operation (which observes before
/// and after, so accounting needs no special case) and waits for it, bounded. Callers check
/// ownership; a deleted config cannot be reset.
pub async fn reset_config(
    ctx: &Ctx,
    config_id: i64,
    actor: &Actor,
    origin: &Origin,
) -> EngineResult<ConfigReset> {
    let now = now_ts();
    let mut tx = ctx.db.begin_write().await?;
    let c = db::configs::get(&mut tx, config_id)
        .await?
        .ok_or(db::DbError::NotFound)?;
    if c.status == ConfigStatus::Deleted {
        return Err(EngineError::Invalid(
            "a deleted config cannot be reset".into(),
        ));
    }
    let op = ops::enqueue_for(&mut tx, c.panel_id, c.id, OpKind::Reset, now).await?;
    let audit_meta = json!({
        "reseller_id": c.reseller_id,
        "operation_id": op,
        "before": {"usage_bytes": c.usage_bytes, "settled_usage_bytes": c.settled_usage_bytes(),
                   "lifetime_usage_bytes": c.lifetime_usage_bytes},
    });
    let audit_row = NewAudit::about(
        actor,
        origin,
        AuditAction::ConfigUsageReset,
        (AuditTarget::Config, c.id),
        audit_meta,
    );
    db::audit::record(&mut tx, audit_row).await?;
    tx.commit().await?;
    ctx.wake.notify_one();
    let outcome = ops::run_now(ctx, op, ctx.settings.wait_for_panel).await?;
    let mut conn = ctx.db.acquire().await?;
    let after = db::configs::get(&mut conn, c.id).await?;
    let (ok, error) = match &outcome {
        Outcome::Done => (Some(true), None),
        Outcome::Pending { error } => (Some(false), error.clone()),
    };
    db::configs::add_event(
        &mut conn,
        c.id,
        ConfigEventKind::UsageReset,
        &actor.name,
        ok,
        error.as_deref(),
        json!({
            "operation_id": op,
            "pending": outcome != Outcome::Done,
            "usage_bytes_before": c.usage_bytes,
            "usage_bytes_after": after.as_ref().map(|a| a.usage_bytes),
            "settled_usage_bytes_after": after.as_ref().map(|a| a.settled_usage_bytes()),
        }),
    )
    .await?;
    Ok(ConfigReset {
        operation_id: op,
        outcome,
    })
}

/// Creates the reseller-wide reset job and starts it in the background. Returns the job id.
pub async fn start_reseller_reset(
    ctx: &Ctx,
    reseller_id: i64,
    actor: &Actor,
    origin: &Origin,
) -> EngineResult<i64> {
    let now = now_ts();
    let mut tx = ctx.db.begin_write().await?;
    db::resellers::get_for_update(&mut tx, ctx.db.backend(), reseller_id)
        .await?
        .ok_or(db::DbError::NotFound)?;
    let job = db::jobs::create(&mut tx, JOB_KIND, Some(reseller_id), actor.id, now).await?;
    // Who asked is kept with the job, so a job resumed after a crash still audits them.
    db::jobs::progress(&mut tx, job, 0, &json!({"actor": actor, "origin": origin})).await?;
    tx.commit().await?;
    spawn_job(ctx, job);
    Ok(job)
}

fn spawn_job(ctx: &Ctx, job_id: i64) {
    job_runner::spawn(ctx, job_id, "reseller usage reset", |ctx, id| async move {
        run_reseller_reset(&ctx, id).await.map(|r| r.map(|_| ()))
    });
}

/// Restarts queued or running jobs after a restart (call once at start).
pub async fn resume_jobs(ctx: &Ctx) -> EngineResult<usize> {
    job_runner::resume(ctx, JOB_KIND, spawn_job).await
}

/// Counts a reseller-wide reset reports.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ResetCounts {
    pub configs: i64,
    pub remote_successes: i64,
    pub remote_failures: i64,
    pub bytes_settled: i64,
}

/// Runs (or resumes) a reseller-wide reset job to its end; None when another runner holds it.
/// Safe to call twice: a lease (owned by this call, not just this process) keeps a second runner
/// out, and Reset operations already queued for the job are driven, not queued again.
pub async fn run_reseller_reset(ctx: &Ctx, job_id: i64) -> EngineResult<Option<ResetCounts>> {
    job_runner::run_leased(ctx, job_id, |lease| async move {
        let r = run_job_locked(ctx, job_id, &lease).await;
        (lease, r)
    })
    .await
}

async fn run_job_locked(ctx: &Ctx, job_id: i64, lease: &Lease) -> EngineResult<ResetCounts> {
    let now = now_ts();
    let mut tx = ctx.db.begin_write().await?;
    let job = db::jobs::get(&mut tx, job_id)
        .await?
        .ok_or(db::DbError::NotFound)?;
    let mut state: serde_json::Value = serde_json::from_str(&job.result).unwrap_or(json!({}));
    if !job.status.is_open() {
        return Ok(serde_json::from_value(state).unwrap_or_default());
    }
    let reseller_id = job
        .target_id
        .ok_or_else(|| EngineError::Invalid("job without a reseller".into()))?;
    // Queue the Reset operations once, with the job; a resumed job finds them by job_id.
    let mut queued: Vec<(i64, i64)> = db::q::all(
        &mut tx,
        "SELECT id, config_id FROM operations WHERE job_id = $1 ORDER BY id",
        (job_id,),
    )
    .await?;
    if queued.is_empty() {
        let configs = db::configs::all_of_reseller(&mut tx, reseller_id).await?;
        let live: Vec<_> = configs
            .iter()
            .filter(|c| c.status != ConfigStatus::Deleted)
            .collect();
        state["settled_before"] = json!(live.iter().map(|c| c.settled_usage_bytes()).sum::<i64>());
        for c in live {
            let op = ops::enqueue(
                &mut tx,
                c.panel_id,
                c.id,
                Some(job_id),
                OpKind::Reset,
                json!({}),
                now,
            )
            .await?;
            queued.push((op, c.id));
        }
    }
    db::jobs::start(&mut tx, job_id, queued.len() as i64, now).await?;
    db::jobs::progress(&mut tx, job_id, job.done, &state).await?;
    tx.commit().await?;
    ctx.wake.notify_one();

    // Drive the resets; the worker may take some of them, run_now then waits for it.
    let wait = ctx.settings.wait_for_panel;
    let mut results = futures::stream::iter(queued.iter().copied())
        .map(|(op, config_id)| async move { (op, config_id, ops::run_now(ctx, op, wait).await) })
        .buffer_unordered(JOB_PARALLEL);
    let mut outcomes: Vec<(i64, i64, Outcome)> = Vec::new();
    while let Some((op, config_id, r)) = results.next().await {
        let outcome = r.unwrap_or_else(|e| Outcome::Pending {
            error: Some(e.to_string()),
        });
        outcomes.push((op, config_id, outcome));
        let mut conn = ctx.db.acquire().await?;
        db::jobs::progress(&mut conn, job_id, outcomes.len() as i64, &state).await?;
        drop(conn);
        lease.renew(ctx).await?;
    }
    drop(results);

    // Restart the quota counter at the lifetime total, audit once, one event per config.
    let (actor, origin) = job_runner::actor_and_origin(&state);
    let now = now_ts();
    let mut tx = ctx.db.begin_write().await?;
    let r = db::resellers::get_for_update(&mut tx, ctx.db.backend(), reseller_id)
        .await?
        .ok_or(db::DbError::NotFound)?;
    let lifetime = db::resellers::lifetime_total(&mut tx, reseller_id).await?;
    let configs = db::configs::all_of_reseller(&mut tx, reseller_id).await?;
    let settled_after: i64 = outcomes
        .iter()
        .filter_map(|(_, cid, _)| configs.iter().find(|c| c.id == *cid))
        .map(|c| c.settled_usage_bytes())
        .sum();
    let counts = ResetCounts {
        configs: outcomes.len() as i64,
        remote_successes: outcomes
            .iter()
            .filter(|(_, _, o)| *o == Outcome::Done)
            .count() as i64,
        remote_failures: outcomes
            .iter()
            .filter(|(_, _, o)| *o != Outcome::Done)
            .count() as i64,
        bytes_settled: (settled_after - state["settled_before"].as_i64().unwrap_or(0)).max(0),
    };
    db::resellers::update_columns(
        &mut tx,
        reseller_id,
        &[("quota_baseline_bytes", Some(lifetime))],
        &[],
    )
    .await?;
    for (op, cid, o) in &outcomes {
        let c = configs.iter().find(|c| c.id == *cid);
        let error = match o {
            Outcome::Done => None,
            Outcome::Pending { error } => error.clone(),
        };
        db::configs::add_event(
            &mut tx,
            *cid,
            ConfigEventKind::UsageReset,
            &actor.name,
            Some(*o == Outcome::Done),
            error.as_deref(),
            json!({
                "job_id": job_id, "operation_id": op, "pending": *o != Outcome::Done,
                "usage_bytes_after": c.map(|c| c.usage_bytes),
                "settled_usage_bytes_after": c.map(|c| c.settled_usage_bytes()),
            }),
        )
        .await?;
    }
    let audit_row = NewAudit::about(
        &actor,
        &origin,
        AuditAction::ResellerUsageReset,
        (AuditTarget::Reseller, reseller_id),
        json!({
            "job_id": job_id,
            "counts": counts,
            "before": {"quota_baseline_bytes": r.quota_baseline_bytes},
            "after": {"quota_baseline_bytes": lifetime},
        }),
    );
    db::audit::record(&mut tx, audit_row).await?;
    let mut result = serde_json::to_value(&counts).expect("counts serialize");
    result["actor"] = state["actor"].clone();
    db::jobs::finish(&mut tx, job_id, JobStatus::Done, &result, now).await?;
    tx.commit().await?;
    // The reset is done and recorded; a failing enforcement must not turn it into a failed job.
    // The next sync enforces again.
    if let Err(e) =
        enforcement::enforce_reseller(ctx, reseller_id, chrono::Utc::now(), &origin).await
    {
        tracing::warn!(job = job_id, reseller = reseller_id, error = %e, "enforcement after a usage reset failed; the next sync retries it");
    }
    Ok(counts)
}
