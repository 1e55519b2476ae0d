//! One action over many configs (issue 15): create N with the same terms, extend, add traffic,
//! set the limit, disable, enable, reset usage or delete. The whole batch is checked before
//! anything happens (every config visible to the caller, the access matrix, the config limit
//! for a create); then one background job does each config through the same engine action a
//! single click uses (so each is audited and goes through the durable operations and the
//! panel's rate limit), and a failure of one does not stop the rest.
//!
//! A job resumed after a crash never does a config twice in a way that shows: extend and add
//! traffic are turned into absolute targets when the job starts, so doing one again sets the
//! same value; a create is recognised by its numbered name among the reseller's configs made
//! since the job started.

use crate::access::{self, ActionError, Area, CONFIG_LIMIT_REACHED};
use crate::configs::{ConfigPatch, NewConfig, Scope, MAX_DAYS, MIN_LIMIT_BYTES};
use crate::job_runner::{self, Lease};
use crate::{Ctx, EngineError, EngineResult};
use db::audit::{Actor, Origin};
use domain::status::{BulkAction, ConfigStatus, JobKind, JobStatus};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;

pub const JOB_KIND: JobKind = JobKind::ConfigBulk;
/// Configs driven at once; the panel handle's rate limit spaces the actual calls.
const PARALLEL: usize = 4;
/// The most configs one batch may hold.
pub const MAX_BATCH: usize = 1000;
/// The most configs one create batch may make.
pub const MAX_CREATE: i64 = 500;

/// The terms every config of a create batch gets.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Template {
    pub traffic_limit_bytes: i64,
    pub expires_in_days: i64,
    /// The configs are named `{name} 1` … `{name} N` (their comment).
    pub name: String,
}

/// A batch as asked, its configs already resolved to ids.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Batch {
    pub ids: Vec<i64>,
    pub count: i64,
    pub template: Option<Template>,
    pub days: Option<i64>,
    pub add_bytes: Option<i64>,
    pub limit_bytes: Option<i64>,
}

fn field(name: &str, key: &str) -> ActionError {
    ActionError::field(name, key)
}

/// What the job will set, per config: the same value however often it is applied.
#[derive(Clone, Debug, Serialize, Deserialize)]
enum Target {
    /// An expiry (unix seconds) or a limit (bytes).
    Expiry(i64),
    Limit(i64),
    None,
}

/// Checks the batch as a whole and starts its job; returns the job id and how many configs it
/// will do. Nothing is done when any part is refused.
pub async fn start(
    ctx: &Ctx,
    scope: Scope,
    reseller_id: i64,
    action: BulkAction,
    batch: Batch,
    actor: &Actor,
    origin: &Origin,
) -> Result<(i64, usize), ActionError> {
    let now = chrono::Utc::now();
    let mut tx = ctx.db.begin_write().await?;
    let reseller = db::resellers::get_for_update(&mut tx, ctx.db.backend(), reseller_id)
        .await?
        .ok_or(ActionError::NotFound)?;
    if let Scope::Reseller(own) = scope {
        if own != reseller_id {
            return Err(ActionError::NotFound);
        }
        access::require(&reseller, Area::Configs)?;
    }
    let mut targets: BTreeMap<i64, Target> = BTreeMap::new();
    let size = if action == BulkAction::Create {
        let t = batch
            .template
            .as_ref()
            .ok_or_else(|| field("template", "bulk.err.template"))?;
        if !(1..=MAX_CREATE).contains(&batch.count) {
            return Err(field("count", "bulk.err.count"));
        }
        if t.traffic_limit_bytes < MIN_LIMIT_BYTES {
            return Err(field("template", "configs.err.limit_min"));
        }
        if !(1..=MAX_DAYS).contains(&t.expires_in_days) {
            return Err(field("template", "configs.err.days"));
        }
        if t.name.trim().is_empty() || t.name.chars().count() > 50 {
            return Err(field("template", "bulk.err.name"));
        }
        // All or nothing: the whole batch must fit the config limit.
        if let Some(limit) = reseller.config_limit.filter(|l| *l > 0) {
            let live = db::resellers::live_config_count(&mut tx, reseller_id).await?;
            if live + batch.count > limit {
                return Err(ActionError::Conflict {
                    code: CONFIG_LIMIT_REACHED,
                    message: format!(
                        "{} configs would pass the config limit of {limit} ({live} exist); nothing was created",
                        batch.count
                    ),
                });
            }
        }
        batch.count as usize
    } else {
        if batch.ids.is_empty() {
            return Err(field("ids", "bulk.err.none"));
        }
        if batch.ids.len() > MAX_BATCH {
            return Err(field("ids", "bulk.err.too_many"));
        }
        match action {
            BulkAction::Extend if !batch.days.is_some_and(|d| (1..=MAX_DAYS).contains(&d)) => {
                return Err(field("days", "configs.err.days"))
            }
            BulkAction::AddTraffic if batch.add_bytes.is_none_or(|b| b <= 0) => {
                return Err(field("add_bytes", "bulk.err.bytes"))
            }
            BulkAction::SetLimit if batch.limit_bytes.is_none_or(|b| b < MIN_LIMIT_BYTES) => {
                return Err(field("limit_bytes", "configs.err.limit_min"))
            }
            _ => {}
        }
        for &id in &batch.ids {
            let c = crate::configs::load(&mut tx, scope, id).await?;
            if c.reseller_id != reseller_id {
                return Err(ActionError::NotFound);
            }
            let target = match action {
                BulkAction::Extend => {
                    let base = c.expires_at.unwrap_or(0).max(now.timestamp());
                    Target::Expiry(base + batch.days.unwrap_or(0) * 86_400)
                }
                BulkAction::AddTraffic => Target::Limit(
                    c.traffic_limit_bytes
                        .saturating_add(batch.add_bytes.unwrap_or(0)),
                ),
                BulkAction::SetLimit => Target::Limit(batch.limit_bytes.unwrap_or(0)),
                _ => Target::None,
            };
            targets.insert(id, target);
        }
        targets.len()
    };
    let job = db::jobs::create(
        &mut tx,
        JOB_KIND,
        Some(reseller_id),
        actor.id,
        now.timestamp(),
    )
    .await?;
    let state = json!({
        "actor": actor,
        "origin": origin,
        "action": action,
        "scope": match scope { Scope::Admin => None, Scope::Reseller(r) => Some(r) },
        "batch": batch,
        "targets": targets,
        "results": {},
    });
    db::jobs::progress(&mut tx, job, 0, &state).await?;
    tx.commit().await?;
    spawn_job(ctx, job);
    Ok((job, size))
}

fn spawn_job(ctx: &Ctx, job_id: i64) {
    job_runner::spawn(
        ctx,
        job_id,
        "bulk",
        |ctx, id| async move { run(&ctx, id).await },
    );
}

/// Restarts unfinished bulk jobs after a restart (call once at start).
pub async fn resume_jobs(ctx: &Ctx) -> EngineResult<usize> {
    job_runner::resume(ctx, JOB_KIND, spawn_job).await
}

/// Runs (or resumes) a bulk job to its end; None when another runner holds it.
pub async fn run(ctx: &Ctx, job_id: i64) -> EngineResult<Option<()>> {
    job_runner::run_leased(ctx, job_id, |lease| async move {
        let r = run_locked(ctx, job_id, &lease).await;
        (lease, r)
    })
    .await
}

/// One config's result as the job reports it: `ok`, or what refused it.
fn verdict(r: Result<(), ActionError>) -> String {
    match r {
        Ok(()) => "ok".into(),
        Err(ActionError::Conflict { message, .. }) => message,
        Err(ActionError::Invalid(f)) => format!(
            "invalid: {}",
            f.into_iter()
                .map(|(k, v)| format!("{k} ({v})"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Err(ActionError::Blocked { code }) => code.to_string(),
        Err(ActionError::NotFound) => "not found".into(),
        Err(ActionError::Engine(e)) => e.to_string(),
    }
}

async fn run_locked(ctx: &Ctx, job_id: i64, lease: &Lease) -> EngineResult<()> {
    let Some((job, mut state)) = job_runner::open_job(ctx, job_id).await? else {
        return Ok(());
    };
    let reseller_id = job
        .target_id
        .ok_or_else(|| EngineError::Invalid("bulk job without a reseller".into()))?;
    let action: BulkAction = serde_json::from_value(state["action"].clone())
        .map_err(|e| EngineError::Invalid(format!("bulk job action: {e}")))?;
    let batch: Batch = serde_json::from_value(state["batch"].clone()).unwrap_or_default();
    let targets: BTreeMap<i64, Target> =
        serde_json::from_value(state["targets"].clone()).unwrap_or_default();
    let scope = match state["scope"].as_i64() {
        Some(r) => Scope::Reseller(r),
        None => Scope::Admin,
    };
    let (actor, origin) = job_runner::actor_and_origin(&state);
    let mut results: BTreeMap<String, String> =
        serde_json::from_value(state["results"].clone()).unwrap_or_default();
    // The items: config ids, or the numbers 1..=N of a create.
    let items: Vec<i64> = if action == BulkAction::Create {
        (1..=batch.count).collect()
    } else {
        batch.ids.clone()
    };
    {
        let mut conn = ctx.db.acquire().await?;
        db::jobs::start(
            &mut conn,
            job_id,
            items.len() as i64,
            chrono::Utc::now().timestamp(),
        )
        .await?;
    }
    let template = batch.template.clone().unwrap_or_default();
    let name_of = |i: i64| format!("{} {i}", template.name.trim());
    if action == BulkAction::Create {
        // Configs an earlier run made before it could record them.
        let mut conn = ctx.db.acquire().await?;
        for i in &items {
            if results.contains_key(&i.to_string()) {
                continue;
            }
            let made: i64 = db::q::scalar(
                &mut conn,
                "SELECT COUNT(*) FROM configs WHERE reseller_id = $1 AND comment = $2 AND created_at >= $3",
                (reseller_id, name_of(*i), job.created_at),
            )
            .await?;
            if made > 0 {
                results.insert(i.to_string(), "ok".into());
            }
        }
    }
    let pending: Vec<i64> = items
        .iter()
        .copied()
        .filter(|i| !results.contains_key(&i.to_string()))
        .collect();
    let shared = std::sync::Arc::new((actor, origin, template.clone(), targets));
    // Each config runs as its own task: an action holds a write transaction across awaits, and
    // a future the loop below is not polling (while it writes the progress) would keep that
    // lock until the database gave up on us.
    let one = |item: i64| {
        let (ctx, shared, name) = (ctx.clone(), shared.clone(), name_of(item));
        tokio::spawn(async move {
            let (actor, origin, template, targets) = (&shared.0, &shared.1, &shared.2, &shared.3);
            let ctx = &ctx;
            let now = chrono::Utc::now();
            let r: Result<(), ActionError> = match action {
                BulkAction::Create => crate::configs::create(
                    ctx,
                    actor,
                    origin,
                    reseller_id,
                    NewConfig {
                        traffic_limit_bytes: template.traffic_limit_bytes,
                        expires_in_days: template.expires_in_days,
                        comment: Some(name),
                        ..Default::default()
                    },
                    now,
                )
                .await
                .map(|_| ()),
                BulkAction::Extend | BulkAction::AddTraffic | BulkAction::SetLimit => {
                    let patch = match targets.get(&item) {
                        Some(Target::Expiry(at)) => ConfigPatch {
                            expires_at: db::time::from_ts(*at).into(),
                            ..Default::default()
                        },
                        Some(Target::Limit(l)) => ConfigPatch {
                            traffic_limit_bytes: Some(*l),
                            ..Default::default()
                        },
                        _ => ConfigPatch::default(),
                    };
                    crate::configs::edit(ctx, actor, origin, scope, item, patch, now)
                        .await
                        .map(|_| ())
                }
                BulkAction::Disable => {
                    crate::configs::disable(ctx, actor, origin, scope, item, now)
                        .await
                        .map(|_| ())
                }
                BulkAction::Enable => crate::configs::enable(ctx, actor, origin, scope, item, now)
                    .await
                    .map(|_| ()),
                BulkAction::Delete => crate::configs::delete(ctx, actor, origin, scope, item, now)
                    .await
                    .map(|_| ()),
                BulkAction::ResetUsage => crate::reset::reset_config(ctx, item, actor, origin)
                    .await
                    .map(|_| ())
                    .map_err(ActionError::Engine),
            };
            (item, verdict(r))
        })
    };
    let mut running = futures::stream::iter(pending)
        .map(one)
        .buffer_unordered(PARALLEL);
    while let Some(done) = running.next().await {
        let (item, verdict) =
            done.map_err(|e| EngineError::Invalid(format!("a bulk task stopped: {e}")))?;
        results.insert(item.to_string(), verdict);
        state["results"] = json!(results);
        let mut conn = ctx.db.acquire().await?;
        db::jobs::progress(&mut conn, job_id, results.len() as i64, &state).await?;
        drop(conn);
        lease.renew(ctx).await?;
    }
    drop(running);
    let ok = results.values().filter(|v| v.as_str() == "ok").count();
    let mut result = json!({
        "action": action,
        "counts": {"ok": ok, "failed": results.len() - ok},
        "results": results,
    });
    result["actor"] = state["actor"].clone();
    let mut conn = ctx.db.acquire().await?;
    db::jobs::finish(
        &mut conn,
        job_id,
        JobStatus::Done,
        &result,
        chrono::Utc::now().timestamp(),
    )
    .await?;
    Ok(())
}

/// About how long a batch of `configs` takes on the reseller's panel at its rate limit: one
/// panel call per config, two for a create (it reads the new user back; measured: 100 creates
/// at 40 calls/s took 5.0 s on the simulator).
pub async fn expected_seconds(
    ctx: &Ctx,
    panel_id: i64,
    action: BulkAction,
    configs: usize,
) -> EngineResult<u64> {
    let rate = ctx.registry.handle(panel_id).await?.rate_per_sec.max(1) as u64;
    let calls = configs as u64 * if action == BulkAction::Create { 2 } else { 1 };
    Ok(calls.div_ceil(rate))
}

/// The ids of a reseller's configs matching a list filter (the "all matching" of the page),
/// at most [`MAX_BATCH`] + 1 so a caller can tell a batch that is too large.
pub async fn ids_matching(
    conn: &mut db::Conn,
    reseller_id: i64,
    status: Option<ConfigStatus>,
    q: Option<String>,
) -> EngineResult<Vec<i64>> {
    let filter = db::configs::ConfigFilter { status, q };
    let (rows, _) =
        db::configs::list_for_reseller(conn, reseller_id, &filter, MAX_BATCH as i64 + 1, 0).await?;
    Ok(rows.into_iter().map(|c| c.id).collect())
}
