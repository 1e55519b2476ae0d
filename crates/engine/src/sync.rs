//! Usage sync (spec §7): every active panel in parallel, one bulk listing each, one observation
//! per tracked config written in batched conditional updates, then enforcement (spec §8).

use crate::{enforcement, Ctx, EngineResult};
use db::audit::Origin;
use domain::status::{ConfigStatus, RemoteState, ResellerKind};
use domain::usage::{observe, UsageCounters};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;

pub const LEASE: &str = "usage_sync";
/// A sync takes seconds; a crashed holder blocks the others for at most this long.
const LEASE_SECS: i64 = 180;
/// Rows per multi-row conditional UPDATE (6 parameters each; far below both databases' limits).
const BATCH: usize = 500;
/// Rows per write transaction, so other writers are never blocked for long.
const TX_ROWS: usize = 5_000;

#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct SyncReport {
    /// True when another instance held the sync lease, so this one did nothing.
    pub skipped_lease_held: bool,
    pub panels_ok: i64,
    pub panels_failed: i64,
    pub configs_updated: i64,
    pub users_seen: i64,
    pub unknown_users: i64,
    pub missing_configs: i64,
    /// Observations dropped because a concurrent writer (a reset) changed the config meanwhile;
    /// the next sync reads them again, so nothing is lost or doubled.
    pub raced: i64,
    pub bytes_added: i64,
    /// Readings too large to believe, held back for the admin (`quarantine`).
    pub quarantined: i64,
    pub resellers_enforced: i64,
    /// Differences between the panels and what we want (spec §13): corrected, reported, missing.
    pub drift: crate::drift::DriftCounts,
}

#[derive(Default)]
struct PanelResult {
    drift: crate::drift::DriftCounts,
    ok: bool,
    users_seen: i64,
    configs_updated: i64,
    unknown_users: i64,
    missing_configs: i64,
    raced: i64,
    bytes_added: i64,
    quarantined: i64,
}

/// How long [`run_now`] waits for another instance's sync to finish before giving up.
const WAIT_FOR_OTHER: std::time::Duration = std::time::Duration::from_secs(30);

/// Runs one sync of every active panel, unless another instance holds the lease (the scheduler's
/// entry: the other instance's sync does the work). A sync already running in this process is
/// waited for first, so two never interleave.
pub async fn run_once(ctx: &Ctx, now: chrono::DateTime<chrono::Utc>) -> EngineResult<SyncReport> {
    let _gate = ctx.sync_gate.lock().await;
    match try_run(ctx, now).await? {
        Some(report) => Ok(report),
        None => Ok(SyncReport {
            skipped_lease_held: true,
            ..Default::default()
        }),
    }
}

/// A sync asked for now (the admin's button, `POST /jobs/usage-sync`): waits for a sync running
/// in this process or in another instance, then runs its own, so the caller sees fresh figures.
/// `skipped_lease_held` only when another instance held the lease for longer than 30 s.
pub async fn run_now(ctx: &Ctx) -> EngineResult<SyncReport> {
    let _gate = ctx.sync_gate.lock().await;
    let deadline = std::time::Instant::now() + WAIT_FOR_OTHER;
    loop {
        if let Some(report) = try_run(ctx, chrono::Utc::now()).await? {
            return Ok(report);
        }
        if std::time::Instant::now() >= deadline {
            return Ok(SyncReport {
                skipped_lease_held: true,
                ..Default::default()
            });
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Takes the lease for this run only (the owner names the run, not just the process, so nothing
/// re-enters a lease it does not hold) and runs; None when another run holds it.
async fn try_run(
    ctx: &Ctx,
    now: chrono::DateTime<chrono::Utc>,
) -> EngineResult<Option<SyncReport>> {
    let ts = now.timestamp();
    let owner = format!(
        "{}:{}",
        ctx.instance_id,
        &crate::secrets::random_token()[..12]
    );
    {
        let mut conn = ctx.db.acquire().await?;
        if !db::leases::try_acquire(&mut conn, LEASE, &owner, ts, LEASE_SECS).await? {
            return Ok(None);
        }
    }
    let result = run_locked(ctx, now).await;
    let mut conn = ctx.db.acquire().await?;
    db::leases::release(&mut conn, LEASE, &owner).await?;
    result.map(Some)
}

async fn run_locked(ctx: &Ctx, now: chrono::DateTime<chrono::Utc>) -> EngineResult<SyncReport> {
    let panels = {
        let mut conn = ctx.db.acquire().await?;
        db::panels::list_active(&mut conn).await?
    };
    let results =
        futures::future::join_all(panels.iter().map(|p| sync_panel(ctx, p.id, p.kind, now))).await;
    let mut report = SyncReport::default();
    for r in results {
        let r = r?;
        if r.ok {
            report.panels_ok += 1;
        } else {
            report.panels_failed += 1;
        }
        report.users_seen += r.users_seen;
        report.configs_updated += r.configs_updated;
        report.unknown_users += r.unknown_users;
        report.missing_configs += r.missing_configs;
        report.raced += r.raced;
        report.bytes_added = report.bytes_added.saturating_add(r.bytes_added);
        report.quarantined += r.quarantined;
        report.drift.add(&r.drift);
    }
    // Every traffic reseller: usage may have grown, and a window may have ended with no traffic.
    let resellers = {
        let mut conn = ctx.db.acquire().await?;
        db::resellers::all_ids_of_kind(&mut conn, ResellerKind::Traffic).await?
    };
    let origin = Origin::default();
    for id in resellers {
        enforcement::enforce_reseller(ctx, id, now, &origin).await?;
        report.resellers_enforced += 1;
    }
    Ok(report)
}

#[derive(sqlx::FromRow)]
struct Tracked {
    id: i64,
    reseller_id: i64,
    username: String,
    #[sqlx(try_from = "String")]
    status: ConfigStatus,
    usage_bytes: i64,
    lifetime_usage_bytes: i64,
    #[sqlx(try_from = "db::decode::MaybeText")]
    remote_state: Option<RemoteState>,
    traffic_limit_bytes: i64,
    last_observed_at: Option<i64>,
    created_at: i64,
    #[sqlx(flatten)]
    desired: crate::drift::Desired,
}

/// One observation to write: the counters read before the listing and the ones to store.
struct Change {
    id: i64,
    reseller_id: i64,
    prev: UsageCounters,
    next: UsageCounters,
    /// A fixed enum name (never panel text: it is written into SQL).
    state: RemoteState,
}

async fn sync_panel(
    ctx: &Ctx,
    panel_id: i64,
    kind: domain::status::PanelKind,
    now: chrono::DateTime<chrono::Utc>,
) -> EngineResult<PanelResult> {
    let started = std::time::Instant::now();
    let ts = now.timestamp();
    // Our counters are read BEFORE the listing: any write after this read (a reset's
    // observations) makes the conditional update below miss, so a listing taken before a reset
    // can never be applied on top of it.
    let tracked: Vec<Tracked> = {
        let mut conn = ctx.db.acquire().await?;
        db::q::all(
            &mut conn,
            "SELECT id, reseller_id, username, status, usage_bytes, lifetime_usage_bytes, remote_state, \
             traffic_limit_bytes, last_observed_at, created_at, expires_at, missing_on_panel_at, panel_drift FROM configs \
             WHERE panel_id = $1 AND NOT (status = $2 AND remote_confirmed = 1)",
            (panel_id, ConfigStatus::Deleted.as_str()),
        )
        .await?
    };
    // Which configs have an operation in flight, read with the desired state (before the
    // listing) and again after it: those are never compared, since the listing may predate
    // what their operation did or is doing.
    let (busy_before, newest_op) = {
        let mut conn = ctx.db.acquire().await?;
        db::operations::unfinished_on_panel(&mut conn, panel_id).await?
    };
    let listing = match ctx.registry.handle(panel_id).await {
        Ok(h) => h.client.list_users().await.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    let users = match listing {
        Ok(u) => u,
        Err(error) => {
            // A failing panel changes nothing: no reading is ever taken as zero.
            tracing::warn!(panel = panel_id, %error, "usage sync: panel failed");
            let mut conn = ctx.db.acquire().await?;
            db::panels::record_failure(&mut conn, panel_id, &error).await?;
            record_run(&mut conn, panel_id, ts, started, None, Some(&error)).await?;
            return Ok(PanelResult::default());
        }
    };
    let mut result = PanelResult {
        ok: true,
        users_seen: users.len() as i64,
        ..Default::default()
    };
    let by_name: HashMap<&str, &panels::RemoteUser> =
        users.iter().map(|u| (u.username.as_str(), u)).collect();
    let mut known: BTreeSet<&str> = BTreeSet::new();
    let mut changes = Vec::new();
    let mut suspects = Vec::new();
    let mut listed: HashMap<i64, &panels::RemoteUser> = HashMap::new();
    for c in &tracked {
        // Marzneshin lower-cases usernames; ours are lower-case by default, custom ones may not be.
        let lower = c.username.to_lowercase();
        let Some(u) = by_name
            .get(c.username.as_str())
            .or_else(|| by_name.get(lower.as_str()))
        else {
            if c.status != ConfigStatus::Deleted {
                result.missing_configs += 1;
            }
            continue;
        };
        known.insert(u.username.as_str());
        listed.insert(c.id, u);
        let prev = UsageCounters {
            usage_bytes: c.usage_bytes,
            lifetime_usage_bytes: c.lifetime_usage_bytes,
        };
        // A negative reading is garbage and changes nothing (`observe`); clamped to zero it would
        // look like a reset and the next genuine reading would count everything again.
        let mut next = observe(prev, u.used_bytes);
        let elapsed = ts - c.last_observed_at.unwrap_or(c.created_at);
        let ceiling = &ctx.settings.quarantine;
        if let Some(delta) = ceiling.implausible(prev, next, elapsed, c.traffic_limit_bytes) {
            // Held back: our counters stay as they are, so nothing of it is metered or billed.
            suspects.push(crate::quarantine::Suspect {
                config_id: c.id,
                reseller_id: c.reseller_id,
                panel_id,
                reading: u.used_bytes,
                prev,
                delta,
                ceiling: ceiling.max_delta(elapsed, c.traffic_limit_bytes),
            });
            next = prev;
        }
        if let Some(panel_lifetime) = u.lifetime_used_bytes {
            // The panel's own monotonic counter is a cross-check only; ours stays the record.
            if next.lifetime_usage_bytes > panel_lifetime {
                tracing::warn!(
                    panel = panel_id,
                    config = c.id,
                    ours = next.lifetime_usage_bytes,
                    panel = panel_lifetime,
                    "usage sync: our lifetime usage exceeds the panel's lifetime counter"
                );
            }
        }
        let state = crate::observe::remote_state(u);
        if next != prev || c.remote_state != Some(state) {
            changes.push(Change {
                id: c.id,
                reseller_id: c.reseller_id,
                prev,
                next,
                state,
            });
        }
    }
    result.unknown_users = users
        .iter()
        .filter(|u| !known.contains(u.username.as_str()))
        .count() as i64;
    for chunk in changes.chunks(TX_ROWS) {
        let (updated, raced, added) = write_changes(ctx, chunk, ts).await?;
        result.configs_updated += updated;
        result.raced += raced;
        result.bytes_added = result.bytes_added.saturating_add(added);
    }
    if !suspects.is_empty() {
        let mut tx = ctx.db.begin_write().await?;
        for s in &suspects {
            crate::quarantine::hold(&mut tx, s, ts).await?;
        }
        tx.commit().await?;
        result.quarantined = suspects.len() as i64;
    }
    result.drift = hold_desired_state(
        ctx,
        panel_id,
        kind,
        &tracked,
        &listed,
        busy_before,
        newest_op,
    )
    .await?;
    let mut conn = ctx.db.acquire().await?;
    db::panels::record_success(&mut conn, panel_id, ts).await?;
    db::panels::record_sync(&mut conn, panel_id, ts).await?;
    record_run(&mut conn, panel_id, ts, started, Some(&result), None).await?;
    Ok(result)
}

/// Compares each tracked config with the listing (spec §13) and acts on the differences of
/// those with no operation in flight. A user absent from the listing is looked up once more
/// by name before it is called missing (a listing paged over a changing table can skip one).
async fn hold_desired_state(
    ctx: &Ctx,
    panel_id: i64,
    kind: domain::status::PanelKind,
    tracked: &[Tracked],
    listed: &HashMap<i64, &panels::RemoteUser>,
    busy_before: std::collections::HashSet<i64>,
    newest_op: i64,
) -> EngineResult<crate::drift::DriftCounts> {
    let (busy_after, newer, restore) = {
        let mut conn = ctx.db.acquire().await?;
        let (after, _) = db::operations::unfinished_on_panel(&mut conn, panel_id).await?;
        let newer = db::operations::configs_with_newer(&mut conn, panel_id, newest_op).await?;
        (
            after,
            newer,
            crate::drift::restores_limits(&mut conn).await?,
        )
    };
    let tol = crate::drift::tolerance(kind);
    let mut counts = crate::drift::DriftCounts::default();
    let now = chrono::Utc::now().timestamp();
    for c in tracked {
        if busy_before.contains(&c.id) || busy_after.contains(&c.id) || newer.contains(&c.id) {
            continue;
        }
        let d = &c.desired;
        let mut looked_up = None;
        let mut user = listed.get(&c.id).copied();
        if user.is_none() && d.status != ConfigStatus::Deleted && d.missing_on_panel_at.is_none() {
            let Ok(handle) = ctx.registry.handle(panel_id).await else {
                continue;
            };
            match handle.client.get_user(&d.username).await {
                Ok(Some(u)) => looked_up = Some(u),
                Ok(None) => {}
                // Not sure it is gone: the next sync asks again.
                Err(_) => continue,
            }
            user = looked_up.as_ref();
        }
        let found = crate::drift::compare(d, user, tol);
        let r = crate::drift::apply(ctx, panel_id, d, user.is_some(), &found, restore, now).await?;
        counts.add(&r);
    }
    Ok(counts)
}

/// Writes observations in one transaction with multi-row conditional updates, and the hourly
/// totals of the rows that really changed. Returns (updated, raced, bytes added).
async fn write_changes(ctx: &Ctx, rows: &[Change], ts: i64) -> EngineResult<(i64, i64, i64)> {
    let mut tx = ctx.db.begin_write().await?;
    let mut updated = 0i64;
    let mut raced = 0i64;
    let mut hourly: BTreeMap<i64, i64> = BTreeMap::new();
    for batch in rows.chunks(BATCH) {
        // Integers and the fixed state names are written into the statement as literals: no
        // user text is involved, and thousands of bound parameters cost more than the update.
        let mut sql = String::with_capacity(64 + batch.len() * 120);
        sql.push_str(
            "UPDATE configs SET usage_bytes = v.column2, lifetime_usage_bytes = v.column3, \
             remote_state = v.column4, last_observed_at = $1 FROM (VALUES ",
        );
        for (i, c) in batch.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            // The first row's casts give PostgreSQL the column types.
            if i == 0 {
                write!(
                    sql,
                    "(CAST({} AS BIGINT), CAST({} AS BIGINT), CAST({} AS BIGINT), CAST('{}' AS TEXT), CAST({} AS BIGINT), CAST({} AS BIGINT))",
                    c.id, c.next.usage_bytes, c.next.lifetime_usage_bytes, c.state.as_str(), c.prev.usage_bytes, c.prev.lifetime_usage_bytes
                )
            } else {
                write!(
                    sql,
                    "({}, {}, {}, '{}', {}, {})",
                    c.id, c.next.usage_bytes, c.next.lifetime_usage_bytes, c.state.as_str(), c.prev.usage_bytes, c.prev.lifetime_usage_bytes
                )
            }
            .expect("writing to a String");
        }
        // RETURNING names exactly the rows this statement changed: a row another writer (a
        // reset, or a sync that raced us) changed first holds other counters and is not ours.
        sql.push_str(
            ") AS v WHERE configs.id = v.column1 AND configs.usage_bytes = v.column5 \
             AND configs.lifetime_usage_bytes = v.column6 RETURNING configs.id",
        );
        let q = sqlx::query_scalar::<_, i64>(&sql)
            .bind(ts)
            .persistent(false);
        let done: BTreeSet<i64> = q.fetch_all(&mut *tx).await?.into_iter().collect();
        let applied: Vec<&Change> = batch.iter().filter(|c| done.contains(&c.id)).collect();
        raced += (batch.len() - applied.len()) as i64;
        for c in applied {
            updated += 1;
            let added = c.next.lifetime_usage_bytes - c.prev.lifetime_usage_bytes;
            if added > 0 {
                let sum = hourly.entry(c.reseller_id).or_default();
                *sum = sum.checked_add(added).ok_or_else(|| {
                    crate::EngineError::Invalid(format!(
                        "reseller {}: usage overflow",
                        c.reseller_id
                    ))
                })?;
            }
        }
    }
    let hour = domain::tehran::hour_start(db::time::from_ts(ts)).timestamp();
    let mut added_total = 0;
    for (reseller_id, bytes) in hourly {
        db::usage_hourly::add(&mut tx, reseller_id, hour, bytes).await?;
        added_total = i64::saturating_add(added_total, bytes);
    }
    tx.commit().await?;
    Ok((updated, raced, added_total))
}

async fn record_run(
    conn: &mut db::Conn,
    panel_id: i64,
    ts: i64,
    started: std::time::Instant,
    r: Option<&PanelResult>,
    error: Option<&str>,
) -> EngineResult<()> {
    let d = PanelResult::default();
    let r = r.unwrap_or(&d);
    db::q::execute(
        &mut *conn,
        "INSERT INTO sync_runs (panel_id, started_at, duration_ms, ok, users_seen, configs_updated, unknown_users, missing_configs, error) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        (
            panel_id,
            ts,
            started.elapsed().as_millis() as i64,
            error.is_none() as i64,
            r.users_seen,
            r.configs_updated,
            r.unknown_users,
            r.missing_configs,
            error.map(|e| e.chars().take(500).collect::<String>()),
        ),
    )
    .await?;
    Ok(())
}

/// A row of `sync_runs`, for the admin's sync page.
#[derive(Clone, Debug, sqlx::FromRow, serde::Serialize)]
pub struct SyncRun {
    pub id: i64,
    pub panel_id: i64,
    pub started_at: i64,
    pub duration_ms: i64,
    #[sqlx(try_from = "db::decode::Flag")]
    pub ok: bool,
    pub users_seen: i64,
    pub configs_updated: i64,
    pub unknown_users: i64,
    pub missing_configs: i64,
    pub error: Option<String>,
}

/// The last `limit` runs of every panel, newest first, in one statement whatever the number of
/// panels (the sync page lists them all).
pub async fn recent_runs_of_every_panel(
    conn: &mut db::Conn,
    limit: i64,
) -> EngineResult<std::collections::HashMap<i64, Vec<SyncRun>>> {
    let rows: Vec<SyncRun> = db::q::all(
        &mut *conn,
        "SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY panel_id ORDER BY id DESC) AS nth \
         FROM sync_runs) AS ranked WHERE nth <= $1 ORDER BY panel_id, id DESC",
        (limit,),
    )
    .await?;
    let mut by_panel = std::collections::HashMap::<i64, Vec<SyncRun>>::new();
    for run in rows {
        by_panel.entry(run.panel_id).or_default().push(run);
    }
    Ok(by_panel)
}

/// Verifies the usage aggregates against the configs they come from (`vpnmarket check`):
/// every config's lifetime ≥ its current usage, the hourly totals of each reseller add up to its
/// lifetime total, and no quota baseline exceeds the lifetime total. Empty = consistent.
pub async fn check_aggregates(ctx: &Ctx) -> EngineResult<Vec<String>> {
    let mut conn = ctx.db.acquire().await?;
    let mut out = Vec::new();
    let bad: Vec<(i64, i64, i64)> = db::q::all(
        &mut conn,
        "SELECT id, usage_bytes, lifetime_usage_bytes FROM configs WHERE lifetime_usage_bytes < usage_bytes OR usage_bytes < 0 ORDER BY id",
        (),
    )
    .await?;
    for (id, u, l) in bad {
        out.push(format!(
            "config {id}: lifetime usage {l} is below its current usage {u}"
        ));
    }
    let rows: Vec<(i64, i64, i64, i64)> = db::q::all(
        &mut conn,
        "SELECT r.id, r.quota_baseline_bytes, \
         COALESCE((SELECT CAST(SUM(c.lifetime_usage_bytes) AS BIGINT) FROM configs c WHERE c.reseller_id = r.id), 0), \
         COALESCE((SELECT CAST(SUM(h.bytes) AS BIGINT) FROM reseller_usage_hourly h WHERE h.reseller_id = r.id), 0) \
         FROM resellers r ORDER BY r.id",
        (),
    )
    .await?;
    for (id, baseline, lifetime, hourly) in rows {
        if hourly != lifetime {
            out.push(format!(
                "reseller {id}: hourly usage totals {hourly} differ from the configs' lifetime total {lifetime}"
            ));
        }
        if baseline > lifetime {
            out.push(format!(
                "reseller {id}: quota baseline {baseline} exceeds its lifetime total {lifetime}"
            ));
        }
    }
    Ok(out)
}
