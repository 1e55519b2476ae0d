//! Durable remote operations (spec §4). A change is written as an operation row in the same
//! transaction as the change itself; the worker brings the panel in line with the config's desired
//! state, retries on a schedule, and marks it done only when the panel said so.

use crate::{observe, Ctx, EngineResult};
use db::operations::Operation;
pub use domain::status::OpKind;
use domain::status::{
    ActorType, AuditAction, AuditTarget, ConfigEventKind, ConfigStatus, DriftAction, DriftKind,
    OpStatus,
};
use panels::{NewUser, PanelError, RemoteUser, UserLimits};
use std::time::Duration;

/// Delay before the next attempt after `failures` failed ones: +1 s, +3 s, then 10 s doubling,
/// capped at one hour.
pub fn backoff(failures: i64) -> i64 {
    match failures {
        ..=1 => 1,
        2 => 3,
        n => (10i64 << (n - 3).min(20)).min(3600),
    }
}

/// Queues an operation for a config inside the caller's transaction (so the change and its
/// operation commit together). Pending operations it supersedes are cancelled.
pub async fn enqueue(
    conn: &mut db::Conn,
    panel_id: i64,
    config_id: i64,
    job_id: Option<i64>,
    kind: OpKind,
    payload: serde_json::Value,
    now: i64,
) -> EngineResult<i64> {
    for old in kind.supersedes() {
        db::operations::cancel_superseded(conn, config_id, *old, now).await?;
    }
    Ok(
        db::operations::insert(conn, panel_id, Some(config_id), job_id, kind, &payload, now)
            .await?,
    )
}

/// [`enqueue`] for what nearly every change queues: a config's operation of no job and with an
/// empty payload (the worker reads the desired state from the config row, not the payload).
pub async fn enqueue_for(
    conn: &mut db::Conn,
    panel_id: i64,
    config_id: i64,
    kind: OpKind,
    now: i64,
) -> EngineResult<i64> {
    let payload = serde_json::json!({});
    enqueue(conn, panel_id, config_id, None, kind, payload, now).await
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Done,
    Pending { error: Option<String> },
}

const LEASE_SECS: i64 = 120;

fn now_ts() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Runs one operation at once (the reseller is waiting), bounded by `wait`. When another
/// worker holds it, waits for that one. What does not finish in time stays pending.
pub async fn run_now(ctx: &Ctx, op_id: i64, wait: Duration) -> EngineResult<Outcome> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let mut conn = ctx.db.acquire().await?;
        let Some(op) = db::operations::get(&mut conn, op_id).await? else {
            return Ok(Outcome::Pending {
                error: Some("operation not found".into()),
            });
        };
        match op.status {
            OpStatus::Done => return Ok(Outcome::Done),
            OpStatus::Pending => {}
            other => {
                return Ok(Outcome::Pending {
                    error: op.last_error.or(Some(other.to_string())),
                })
            }
        }
        // Strictly in order per config: an older pending operation goes first. When that one
        // has already failed, waiting for it would only hold the caller to the time limit.
        let (blocked, blocked_failing) =
            db::operations::earlier_pending(&mut conn, op.config_id, op.id).await?;
        if blocked_failing > 0 {
            return Ok(Outcome::Pending {
                error: Some(
                    "queued behind an earlier change the panel has not accepted yet".into(),
                ),
            });
        }
        if blocked == 0
            && db::operations::claim(&mut conn, op.id, &ctx.instance_id, now_ts(), LEASE_SECS)
                .await?
        {
            drop(conn);
            let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
            // The attempt runs in its own task: when the caller stops waiting, it still finishes
            // (its transactions commit or roll back properly) and records its result.
            let task_ctx = ctx.clone();
            let attempt = tokio::spawn(async move { execute(&task_ctx, op).await });
            return match tokio::time::timeout(remaining, attempt).await {
                Ok(Ok(r)) => r,
                Ok(Err(panicked)) => Err(crate::EngineError::Invalid(format!(
                    "operation attempt failed: {panicked}"
                ))),
                Err(_) => Ok(Outcome::Pending {
                    error: Some("the panel did not answer in time".into()),
                }),
            };
        }
        drop(conn);
        if tokio::time::Instant::now() >= deadline {
            return Ok(Outcome::Pending { error: None });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One pass of the worker: claims due operations (the oldest pending one per config) and runs
/// them concurrently; per-panel limits are applied inside `execute`.
pub async fn run_due(ctx: &Ctx, now: i64) -> EngineResult<usize> {
    let mut conn = ctx.db.acquire().await?;
    let due = db::operations::due(&mut conn, now, 200).await?;
    let mut claimed = Vec::new();
    for op in due {
        if db::operations::claim(&mut conn, op.id, &ctx.instance_id, now, LEASE_SECS).await? {
            claimed.push(op);
        }
    }
    drop(conn);
    let n = claimed.len();
    let results = futures::future::join_all(claimed.into_iter().map(|op| execute(ctx, op))).await;
    for r in results {
        if let Err(e) = r {
            tracing::error!(error = %e, "operation bookkeeping failed");
        }
    }
    Ok(n)
}

/// The worker: runs due operations until the process stops. Woken early by new operations.
pub fn spawn_worker(ctx: Ctx) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match run_due(&ctx, now_ts()).await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "operations worker pass failed"),
            }
            tokio::select! {
                _ = ctx.wake.notified() => {},
                _ = tokio::time::sleep(ctx.settings.worker_tick) => {},
            }
        }
    })
}

/// Performs a claimed operation and records the result. Returns Done or Pending with the error.
async fn execute(ctx: &Ctx, op: Operation) -> EngineResult<Outcome> {
    // Set again once the panel's rate and concurrency limits let the attempt start, so the
    // attempts' times show the limits at work.
    let mut started = now_ts();
    let result = attempt(ctx, &op, &mut started).await;
    let finished = now_ts();
    let mut conn = ctx.db.acquire().await?;
    match result {
        Ok(()) => {
            db::operations::record_attempt(&mut conn, op.id, started, finished, None).await?;
            if db::operations::complete(&mut conn, op.id, &ctx.instance_id, finished).await? {
                if let Some(cid) = op.config_id {
                    db::configs::add_event(&mut conn, cid, ConfigEventKind::PanelConfirmed, ActorType::System.as_str(), Some(true), None, serde_json::json!({ "operation": op.kind, "operation_id": op.id, "attempts": op.attempts + 1 })).await?;
                }
            }
            db::panels::record_success(&mut conn, op.panel_id, finished).await?;
            Ok(Outcome::Done)
        }
        Err(failure) => {
            let message = failure.message();
            db::operations::record_attempt(&mut conn, op.id, started, finished, Some(&message))
                .await?;
            let next = finished + backoff(op.attempts + 1);
            db::operations::reschedule(
                &mut conn,
                op.id,
                &ctx.instance_id,
                &message,
                next,
                finished,
            )
            .await?;
            if failure.is_panel_fault() {
                db::panels::record_failure(&mut conn, op.panel_id, &message).await?;
            }
            tracing::warn!(op = op.id, kind = %op.kind, attempts = op.attempts + 1, error = %message, "remote operation failed; will retry");
            Ok(Outcome::Pending {
                error: Some(message),
            })
        }
    }
}

enum Failure {
    Panel(PanelError),
    Unconfirmed(String),
    Local(crate::EngineError),
}

impl Failure {
    fn message(&self) -> String {
        match self {
            Failure::Panel(e) => e.to_string(),
            Failure::Unconfirmed(m) => m.clone(),
            Failure::Local(e) => e.to_string(),
        }
    }

    fn is_panel_fault(&self) -> bool {
        matches!(self, Failure::Panel(_))
    }
}

impl From<PanelError> for Failure {
    fn from(e: PanelError) -> Self {
        Failure::Panel(e)
    }
}

impl From<crate::EngineError> for Failure {
    fn from(e: crate::EngineError) -> Self {
        match e {
            crate::EngineError::Panel(p) => Failure::Panel(p),
            other => Failure::Local(other),
        }
    }
}

impl From<db::DbError> for Failure {
    fn from(e: db::DbError) -> Self {
        Failure::Local(e.into())
    }
}

/// Reads the panel's counter for a config and records it; None when the user is absent.
async fn read_and_record(
    ctx: &Ctx,
    client: &dyn panels::PanelClient,
    config_id: i64,
    username: &str,
) -> Result<Option<RemoteUser>, Failure> {
    // Our counters first, then the panel: the reading is stored only if nobody stored a
    // (possibly newer) one in between, so a stale reading can never look like a reset.
    let mut conn = ctx.db.acquire().await?;
    let before = db::configs::get(&mut conn, config_id)
        .await?
        .ok_or(db::DbError::NotFound)?;
    drop(conn);
    let user = client.get_user(username).await?;
    if let Some(u) = &user {
        observe::record_checked(
            ctx,
            &before,
            u.used_bytes,
            Some(observe::remote_state(u)),
            now_ts(),
        )
        .await?;
    }
    Ok(user)
}

async fn attempt(ctx: &Ctx, op: &Operation, started: &mut i64) -> Result<(), Failure> {
    let kind = op.kind;
    let config_id = op
        .config_id
        .ok_or_else(|| Failure::Unconfirmed("operation without a config".into()))?;
    let mut conn = ctx.db.acquire().await?;
    let config = db::configs::get(&mut conn, config_id)
        .await?
        .ok_or(db::DbError::NotFound)?;
    drop(conn);
    let handle = ctx.registry.handle(op.panel_id).await?;
    let _permit = handle.acquire().await;
    *started = now_ts();
    let client = handle.client.as_ref();
    let username = config.username.as_str();
    match kind {
        OpKind::Create => {
            // A create whose earlier outcome is unknown may have happened: look first, so a
            // retry never makes a second user.
            let existing = if op.attempts > 0 {
                client.get_user(username).await?
            } else {
                None
            };
            let user = match existing {
                Some(u) => u,
                None => client.create_user(&new_user(&config)).await?,
            };
            let url = match user.subscription_url.clone() {
                Some(u) if u.starts_with("http") => Some(u),
                _ => client.subscription_url(username).await.ok(),
            };
            let mut conn = ctx.db.acquire().await?;
            if let Some(url) = url {
                db::configs::set_subscription_url(&mut conn, config_id, &url).await?;
            }
            db::configs::set_confirmed(&mut conn, config_id, true).await?;
            // A config disabled while its create was pending must end disabled on the panel too.
            if config.status == ConfigStatus::Disabled {
                drop(conn);
                client.disable_user(username).await?;
            }
        }
        OpKind::Update => {
            let limits = UserLimits {
                limit_bytes: Some(config.traffic_limit_bytes),
                expires_at: Some(config.expires_at.map(db::time::from_ts)),
                max_clients: config.max_clients,
            };
            client.update_user(username, &limits).await?;
            mark_confirmed(ctx, config_id).await?;
        }
        OpKind::Enable => {
            client.enable_user(username).await?;
            mark_confirmed(ctx, config_id).await?;
        }
        OpKind::Disable => {
            client.disable_user(username).await?;
            mark_confirmed(ctx, config_id).await?;
        }
        OpKind::Reset => {
            // Count every byte up to the reset, reset, then read again: confirmed only when the
            // panel said yes and the counter dropped (spec §7).
            let before = read_and_record(ctx, client, config_id, username).await?;
            let Some(before) = before else {
                return Err(Failure::Unconfirmed(format!(
                    "{username} is not on the panel"
                )));
            };
            client.reset_usage(username).await?;
            let after = read_and_record(ctx, client, config_id, username).await?;
            let after_used = after.as_ref().map(|u| u.used_bytes).unwrap_or(i64::MAX);
            if before.used_bytes > 0 && after_used >= before.used_bytes {
                return Err(Failure::Unconfirmed(format!(
                    "reset not confirmed: the panel answered success but the counter did not drop ({} → {})",
                    before.used_bytes, after_used
                )));
            }
            if let Some(after) = &after {
                reassert_disabled(ctx, client, config_id, after).await?;
            }
            mark_confirmed(ctx, config_id).await?;
        }
        OpKind::Delete => {
            // Read usage one last time, so a deleted config's traffic keeps counting.
            read_and_record(ctx, client, config_id, username).await?;
            client.delete_user(username).await?;
            mark_confirmed(ctx, config_id).await?;
        }
    }
    Ok(())
}

/// Marzban's reset turns a disabled user back on (spec/panels.md §9). Right after a confirmed
/// reset, a config we want disabled that the panel shows enabled is disabled again in the same
/// operation, so the window is one operation long and not one sync. A failure here fails the
/// attempt: the retry resets nothing new (the counter is already down) and disables again.
async fn reassert_disabled(
    ctx: &Ctx,
    client: &dyn panels::PanelClient,
    config_id: i64,
    after: &RemoteUser,
) -> Result<(), Failure> {
    // The desired state now, not at the start of the attempt: an enable queued meanwhile runs
    // next and must not be undone first.
    let mut conn = ctx.db.acquire().await?;
    let config = db::configs::get(&mut conn, config_id)
        .await?
        .ok_or(db::DbError::NotFound)?;
    drop(conn);
    let wanted_active = config.status == ConfigStatus::Active;
    if wanted_active || !after.enabled {
        return Ok(());
    }
    client.disable_user(&config.username).await?;
    let mut tx = ctx.db.begin_write().await?;
    let meta = serde_json::json!({
        "drift": DriftKind::EnabledOnPanel,
        "action": DriftAction::Corrected,
        "on_panel": true,
        "wanted": false,
        "cause": OpKind::Reset,
        "config_status": config.status,
    });
    db::configs::add_event(
        &mut tx,
        config_id,
        ConfigEventKind::DriftCorrected,
        ActorType::System.as_str(),
        Some(true),
        None,
        meta.clone(),
    )
    .await?;
    db::audit::record(
        &mut tx,
        db::audit::NewAudit::about(
            &db::audit::Actor::system(),
            &db::audit::Origin::default(),
            AuditAction::ConfigDriftCorrected,
            (AuditTarget::Config, config_id),
            meta,
        )
        .because(DriftKind::EnabledOnPanel.as_str()),
    )
    .await?;
    tx.commit().await.map_err(db::DbError::from)?;
    Ok(())
}

async fn mark_confirmed(ctx: &Ctx, config_id: i64) -> Result<(), Failure> {
    let mut conn = ctx.db.acquire().await?;
    db::configs::set_confirmed(&mut conn, config_id, true).await?;
    Ok(())
}

fn new_user(c: &db::configs::Config) -> NewUser {
    NewUser {
        username: c.username.clone(),
        limit_bytes: c.traffic_limit_bytes,
        expires_at: c.expires_at.map(db::time::from_ts),
        service_ids: db::configs::Config::ids(&c.service_ids),
        inbound_ids: db::configs::Config::ids(&c.inbound_ids),
        node_ids: db::configs::Config::ids(&c.node_ids),
        max_clients: c.max_clients,
        note: c.comment.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::backoff;

    #[test]
    fn retries_start_quick_then_back_off_to_an_hour() {
        let delays: Vec<i64> = (1..=12).map(backoff).collect();
        assert_eq!(&delays[..5], &[1, 3, 10, 20, 40]);
        assert!(delays.windows(2).all(|w| w[1] >= w[0]));
        assert_eq!(backoff(12), 3600);
        assert_eq!(backoff(1000), 3600);
    }
}
