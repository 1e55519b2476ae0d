//! What every background job shares: a lease so that one runner at a time drives a job (across
//! processes and instances), a background task that keeps trying until the job is closed, and
//! the actor and origin a job keeps so that a job resumed after a crash still audits them.

use crate::{Ctx, EngineResult};
use db::audit::{Actor, Origin};
use std::future::Future;

/// Renewed as a job progresses, so a crashed runner blocks its job for two minutes at most.
pub(crate) const JOB_LEASE_SECS: i64 = 120;

fn now_ts() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A job's lease, owned by one call of its runner (not just this process).
pub(crate) struct Lease {
    name: String,
    owner: String,
}

impl Lease {
    pub(crate) fn new(ctx: &Ctx, job_id: i64) -> Lease {
        Lease {
            name: format!("job:{job_id}"),
            owner: format!(
                "{}:{}",
                ctx.instance_id,
                &crate::secrets::random_token()[..8]
            ),
        }
    }

    /// Takes or keeps the lease; false while another runner holds it.
    pub(crate) async fn renew(&self, ctx: &Ctx) -> EngineResult<bool> {
        let mut conn = ctx.db.acquire().await?;
        Ok(
            db::leases::try_acquire(&mut conn, &self.name, &self.owner, now_ts(), JOB_LEASE_SECS)
                .await?,
        )
    }

    pub(crate) async fn release(&self, ctx: &Ctx) -> EngineResult<()> {
        let mut conn = ctx.db.acquire().await?;
        db::leases::release(&mut conn, &self.name, &self.owner).await?;
        Ok(())
    }
}

/// Runs `run` under the job's lease; None when another runner holds it.
pub(crate) async fn run_leased<T, F, Fut>(ctx: &Ctx, job_id: i64, run: F) -> EngineResult<Option<T>>
where
    F: FnOnce(Lease) -> Fut,
    Fut: Future<Output = (Lease, EngineResult<T>)>,
{
    let lease = Lease::new(ctx, job_id);
    if !lease.renew(ctx).await? {
        return Ok(None);
    }
    let (lease, r) = run(lease).await;
    lease.release(ctx).await?;
    r.map(Some)
}

/// Drives a job in the background until it is closed: `run` returns None while another runner
/// holds the lease (then this looks again later), and an error fails the job for good.
pub(crate) fn spawn<F, Fut>(ctx: &Ctx, job_id: i64, what: &'static str, run: F)
where
    F: Fn(Ctx, i64) -> Fut + Send + 'static,
    Fut: Future<Output = EngineResult<Option<()>>> + Send,
{
    let ctx = ctx.clone();
    tokio::spawn(async move {
        loop {
            match run(ctx.clone(), job_id).await {
                Ok(Some(())) => return,
                Ok(None) => {
                    tokio::time::sleep(std::time::Duration::from_secs(JOB_LEASE_SECS as u64 / 4))
                        .await;
                    let Ok(mut conn) = ctx.db.acquire().await else {
                        continue;
                    };
                    match db::jobs::get(&mut conn, job_id).await {
                        Ok(Some(j)) if j.status.is_open() => continue,
                        _ => return,
                    }
                }
                Err(e) => {
                    tracing::error!(job = job_id, error = %e, "{what} job failed");
                    if let Ok(mut conn) = ctx.db.acquire().await {
                        let _ = db::jobs::fail_unless_done(
                            &mut conn,
                            job_id,
                            &serde_json::json!({"error": e.to_string()}),
                            now_ts(),
                        )
                        .await;
                    }
                    return;
                }
            }
        }
    });
}

/// Starts again every queued or running job of a kind after a restart; how many.
pub(crate) async fn resume(
    ctx: &Ctx,
    kind: domain::status::JobKind,
    spawn: fn(&Ctx, i64),
) -> EngineResult<usize> {
    let jobs = {
        let mut conn = ctx.db.acquire().await?;
        db::jobs::queued(&mut conn).await?
    };
    let mut n = 0;
    for j in jobs.into_iter().filter(|j| j.kind == kind) {
        spawn(ctx, j.id);
        n += 1;
    }
    Ok(n)
}

/// A job still to be done, with the state it keeps (who asked, what, results so far); None
/// when it is closed already (a second runner came after the first finished).
pub(crate) async fn open_job(
    ctx: &Ctx,
    job_id: i64,
) -> EngineResult<Option<(db::jobs::Job, serde_json::Value)>> {
    let mut conn = ctx.db.acquire().await?;
    let job = db::jobs::get(&mut conn, job_id)
        .await?
        .ok_or(db::DbError::NotFound)?;
    if !job.status.is_open() {
        return Ok(None);
    }
    let state = serde_json::from_str(&job.result).unwrap_or(serde_json::json!({}));
    Ok(Some((job, state)))
}

/// Who started a job, as stored in its state (`{"actor": .., "origin": ..}`); the system when
/// the state has none.
pub(crate) fn actor_and_origin(state: &serde_json::Value) -> (Actor, Origin) {
    let actor = state
        .get("actor")
        .and_then(|a| {
            Some(Actor {
                kind: a.get("kind")?.as_str()?.parse().ok()?,
                id: a.get("id").and_then(|i| i.as_i64()),
                name: a.get("name")?.as_str()?.to_string(),
            })
        })
        .unwrap_or_else(Actor::system);
    let origin = Origin {
        request_id: state["origin"]["request_id"].as_str().map(str::to_string),
        ip: state["origin"]["ip"].as_str().map(str::to_string),
        user_agent: state["origin"]["user_agent"].as_str().map(str::to_string),
    };
    (actor, origin)
}
