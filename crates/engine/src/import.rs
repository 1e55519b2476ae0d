//! Bringing users already on a panel in (issue 15): the users no config of ours claims
//! ("unmanaged"), and the job that makes a selection of them a reseller's configs.
//!
//! An imported config starts at the panel's counter as its baseline, with no lifetime usage:
//! traffic before the import is never metered, counted against a quota or billed; traffic after
//! it is, exactly, from the next sync on. It keeps its panel username, limit and expiry. Each
//! user is claimed in the same transaction as its event, its audit row and the job's progress,
//! so a crash redoes at most the chunk in flight, and the unique (panel, username) index
//! refuses a second claim of the same user by anyone.

use crate::access::{ActionError, CONFIG_LIMIT_REACHED};
use crate::job_runner::{self, Lease};
use crate::{Ctx, EngineError, EngineResult};
use db::audit::{Actor, NewAudit, Origin};
use domain::status::{
    AuditAction, AuditTarget, ConfigEventKind, ConfigStatus, DisabledReason, JobKind, JobStatus,
};
use panels::RemoteUser;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;

pub const JOB_KIND: JobKind = JobKind::PanelImport;
/// Users claimed per transaction (and per progress step).
const CHUNK: usize = 200;

fn now_ts() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Which unmanaged users to import, as the API and the page give it.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Selection {
    /// These users (each must be owned by `owner` when one is named).
    pub usernames: Option<Vec<String>>,
    /// Only users this panel admin owns; alone, all of them.
    pub owner: Option<String>,
    /// Every unmanaged user matching `q` (and `owner`).
    pub all_matching: bool,
    pub q: Option<String>,
}

/// Whether a user matches a search (`q`: part of the name, any case) and an owner.
pub fn matches(u: &RemoteUser, q: Option<&str>, owner: Option<&str>) -> bool {
    let q_ok = q.is_none_or(|q| u.username.to_lowercase().contains(&q.to_lowercase()));
    let owner_ok = owner.is_none_or(|o| u.owner.as_deref() == Some(o));
    q_ok && owner_ok
}

/// The panel's users that no config of ours holds, by name; a failing panel is an error,
/// never an empty list.
pub async fn unmanaged(ctx: &Ctx, panel_id: i64) -> EngineResult<Vec<RemoteUser>> {
    let handle = ctx.registry.handle(panel_id).await?;
    let users = handle.client.list_users().await?;
    let claimed = {
        let mut conn = ctx.db.acquire().await?;
        db::configs::claimed_usernames(&mut conn, panel_id).await?
    };
    let mut out: Vec<RemoteUser> = users
        .into_iter()
        .filter(|u| !claimed.contains(&u.username.to_lowercase()))
        .collect();
    out.sort_by_cached_key(|u| natural_key(&u.username));
    Ok(out)
}

/// One run of a name: its letters as text, its digits as a number.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Part {
    Number(u128),
    Text(String),
}

/// A name as people order it: `shop_2` before `shop_10` (runs of digits compare as numbers).
fn natural_key(name: &str) -> Vec<Part> {
    let mut parts = Vec::new();
    let mut rest = name;
    while let Some(c) = rest.chars().next() {
        let digit = c.is_ascii_digit();
        let end = rest
            .find(|ch: char| ch.is_ascii_digit() != digit)
            .unwrap_or(rest.len());
        let (run, tail) = rest.split_at(end);
        parts.push(match run.parse() {
            Ok(n) if digit => Part::Number(n),
            _ => Part::Text(run.to_lowercase()),
        });
        rest = tail;
    }
    parts
}

/// What an import would do, said before it starts.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Plan {
    /// The users it would import.
    pub usernames: Vec<String>,
    /// Named users that are not there to import: already claimed, absent, or another admin's.
    pub refused: BTreeMap<String, Refusal>,
    /// How many of `usernames` would go beyond the reseller's config limit (0: they fit).
    pub over_limit: i64,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// A config of ours holds it already.
    Claimed,
    /// The panel has no such user (any more).
    NotFound,
    /// Owned by another panel admin than the one the import names.
    NotOwned,
}

fn select(
    sel: &Selection,
    listing: &[RemoteUser],
    claimed: &std::collections::HashSet<String>,
) -> Result<(Vec<String>, BTreeMap<String, Refusal>), ActionError> {
    let owner = sel.owner.as_deref();
    let mut refused = BTreeMap::new();
    let mut chosen = Vec::new();
    match &sel.usernames {
        Some(names) => {
            for name in names {
                let u = listing
                    .iter()
                    .find(|u| u.username.eq_ignore_ascii_case(name));
                let verdict = match u {
                    _ if claimed.contains(&name.to_lowercase()) => Some(Refusal::Claimed),
                    None => Some(Refusal::NotFound),
                    Some(u) if !matches(u, None, owner) => Some(Refusal::NotOwned),
                    Some(_) => None,
                };
                match (verdict, u) {
                    (Some(r), _) => {
                        refused.insert(name.clone(), r);
                    }
                    (None, Some(u)) if !chosen.contains(&u.username) => {
                        chosen.push(u.username.clone())
                    }
                    (None, _) => {}
                }
            }
        }
        None if sel.all_matching || owner.is_some() => {
            chosen = listing
                .iter()
                .filter(|u| !claimed.contains(&u.username.to_lowercase()))
                .filter(|u| matches(u, sel.q.as_deref(), owner))
                .map(|u| u.username.clone())
                .collect();
        }
        None => return Err(ActionError::field("usernames", "err.import_nothing_chosen")),
    }
    Ok((chosen, refused))
}

/// Which users `sel` names on the panel now, and which of the named ones it must refuse; for an
/// import into a reseller made in the same step, before that reseller exists.
pub async fn preview(
    ctx: &Ctx,
    panel_id: i64,
    sel: &Selection,
) -> Result<(Vec<String>, BTreeMap<String, Refusal>), ActionError> {
    let listing = ctx
        .registry
        .handle(panel_id)
        .await?
        .client
        .list_users()
        .await
        .map_err(EngineError::from)?;
    let mut conn = ctx.db.acquire().await?;
    let claimed = db::configs::claimed_usernames(&mut conn, panel_id).await?;
    select(sel, &listing, &claimed)
}

async fn target_reseller(
    conn: &mut db::Conn,
    backend: db::Backend,
    panel_id: i64,
    reseller_id: i64,
) -> Result<db::resellers::Reseller, ActionError> {
    let r = db::resellers::get_for_update(conn, backend, reseller_id)
        .await?
        .ok_or_else(|| ActionError::field("reseller_id", "err.import_no_reseller"))?;
    if r.panel_id != panel_id {
        return Err(ActionError::field("reseller_id", "err.import_other_panel"));
    }
    Ok(r)
}

/// Says what importing `sel` into the reseller would do, from a fresh listing.
pub async fn plan(
    ctx: &Ctx,
    panel_id: i64,
    reseller_id: i64,
    sel: &Selection,
) -> Result<Plan, ActionError> {
    let (usernames, refused) = preview(ctx, panel_id, sel).await?;
    let mut conn = ctx.db.acquire().await?;
    let reseller = target_reseller(&mut conn, ctx.db.backend(), panel_id, reseller_id).await?;
    let over_limit = match reseller.config_limit.filter(|l| *l > 0) {
        Some(limit) => {
            let live = db::resellers::live_config_count(&mut conn, reseller_id).await?;
            (live + usernames.len() as i64 - limit).max(0)
        }
        None => 0,
    };
    Ok(Plan {
        usernames,
        refused,
        over_limit,
    })
}

/// Starts an import job of `sel` into the reseller. Refused when it would import nobody, and
/// when it would pass the reseller's config limit unless `exceed_limit` says the admin agreed.
pub async fn start(
    ctx: &Ctx,
    panel_id: i64,
    reseller_id: i64,
    sel: &Selection,
    exceed_limit: bool,
    actor: &Actor,
    origin: &Origin,
) -> Result<(i64, Plan), ActionError> {
    let plan = plan(ctx, panel_id, reseller_id, sel).await?;
    if plan.usernames.is_empty() {
        return Err(ActionError::Conflict {
            code: "nothing_to_import",
            message: format!(
                "no user to import ({} named users refused)",
                plan.refused.len()
            ),
        });
    }
    if plan.over_limit > 0 && !exceed_limit {
        return Err(ActionError::Conflict {
            code: CONFIG_LIMIT_REACHED,
            message: format!(
                "{} of these {} users would go beyond the reseller's config limit; \
                 send exceed_limit: true to import them anyway",
                plan.over_limit,
                plan.usernames.len()
            ),
        });
    }
    let now = now_ts();
    let mut tx = ctx.db.begin_write().await?;
    let job = db::jobs::create(&mut tx, JOB_KIND, Some(panel_id), actor.id, now).await?;
    let state = json!({
        "actor": actor,
        "origin": origin,
        "reseller_id": reseller_id,
        "owner": sel.owner,
        "usernames": plan.usernames,
        "results": plan.refused,
    });
    db::jobs::progress(&mut tx, job, 0, &state).await?;
    tx.commit().await?;
    spawn_job(ctx, job);
    Ok((job, plan))
}

fn spawn_job(ctx: &Ctx, job_id: i64) {
    job_runner::spawn(ctx, job_id, "panel import", |ctx, id| async move {
        run(&ctx, id).await
    });
}

/// Restarts unfinished import jobs after a restart (call once at start).
pub async fn resume_jobs(ctx: &Ctx) -> EngineResult<usize> {
    job_runner::resume(ctx, JOB_KIND, spawn_job).await
}

/// Runs (or resumes) an import job to its end; None when another runner holds it.
pub async fn run(ctx: &Ctx, job_id: i64) -> EngineResult<Option<()>> {
    job_runner::run_leased(ctx, job_id, |lease| async move {
        let r = run_locked(ctx, job_id, &lease).await;
        (lease, r)
    })
    .await
}

/// The config an unmanaged user becomes: as it is on the panel, its counter the baseline.
fn imported<'a>(
    reseller_id: i64,
    panel_id: i64,
    u: &'a RemoteUser,
) -> db::configs::ImportedConfig<'a> {
    let (status, reason) = if u.enabled {
        (ConfigStatus::Active, None)
    } else {
        // Someone switched it off on the panel: a person's decision, never undone by the system.
        (ConfigStatus::Disabled, Some(DisabledReason::Admin))
    };
    db::configs::ImportedConfig {
        reseller_id,
        panel_id,
        username: &u.username,
        traffic_limit_bytes: u.limit_bytes.unwrap_or(0),
        expires_at: u.expires_at.map(|t| t.timestamp()),
        usage_bytes: u.used_bytes.max(0),
        status,
        disabled_reason: reason,
        remote_state: crate::observe::remote_state(u),
        subscription_url: u.subscription_url.as_deref(),
    }
}

async fn run_locked(ctx: &Ctx, job_id: i64, lease: &Lease) -> EngineResult<()> {
    let Some((job, mut state)) = job_runner::open_job(ctx, job_id).await? else {
        return Ok(());
    };
    let panel_id = job
        .target_id
        .ok_or_else(|| EngineError::Invalid("import job without a panel".into()))?;
    let reseller_id = state["reseller_id"]
        .as_i64()
        .ok_or_else(|| EngineError::Invalid("import job without a reseller".into()))?;
    let names: Vec<String> = serde_json::from_value(state["usernames"].clone()).unwrap_or_default();
    let (actor, origin) = job_runner::actor_and_origin(&state);
    {
        let mut conn = ctx.db.acquire().await?;
        db::jobs::start(&mut conn, job_id, names.len() as i64, now_ts()).await?;
    }
    // One fresh listing: each user's counter at the import is its baseline. A listing that fails
    // for a moment (Marzban answers 500 while another user is half deleted) is asked again.
    let client = ctx.registry.handle(panel_id).await?.client;
    let mut tries = 0;
    let listing = loop {
        match client.list_users().await {
            Ok(users) => break users,
            Err(e) if e.is_retryable() && tries < 3 => {
                tries += 1;
                tracing::warn!(job = job_id, error = %e, "import: listing failed; asking again");
                tokio::time::sleep(std::time::Duration::from_secs(tries)).await;
            }
            Err(e) => return Err(e.into()),
        }
    };
    let by_name: std::collections::HashMap<String, &RemoteUser> = listing
        .iter()
        .map(|u| (u.username.to_lowercase(), u))
        .collect();
    let mut results: BTreeMap<String, String> =
        serde_json::from_value(state["results"].clone()).unwrap_or_default();
    // A resumed job skips what an earlier run already decided.
    let pending: Vec<&String> = names
        .iter()
        .filter(|n| !results.contains_key(n.as_str()))
        .collect();
    let mut done = names.len() - pending.len();
    for chunk in pending.chunks(CHUNK) {
        let now = now_ts();
        let mut tx = ctx.db.begin_write().await?;
        let claimed = db::configs::claimed_usernames(&mut tx, panel_id).await?;
        for name in chunk {
            let verdict = match by_name.get(&name.to_lowercase()) {
                _ if claimed.contains(&name.to_lowercase()) => "claimed",
                None => "not_found",
                Some(u) => {
                    let inserted = db::configs::insert_imported(
                        &mut tx,
                        &imported(reseller_id, panel_id, u),
                        now,
                    )
                    .await?;
                    // Another import took it since this chunk read the claims.
                    let Some(id) = inserted else {
                        results.insert((*name).clone(), "claimed".to_string());
                        continue;
                    };
                    let meta = json!({
                        "job_id": job_id,
                        "owner": u.owner,
                        "baseline_bytes": u.used_bytes.max(0),
                        "limit_bytes": u.limit_bytes,
                        "expires_at": u.expires_at.map(|t| t.timestamp()),
                    });
                    db::configs::add_event(
                        &mut tx,
                        id,
                        ConfigEventKind::ImportedFromPanel,
                        &actor.name,
                        Some(true),
                        None,
                        meta.clone(),
                    )
                    .await?;
                    db::audit::record(
                        &mut tx,
                        NewAudit::about(
                            &actor,
                            &origin,
                            AuditAction::PanelConfigAttached,
                            (AuditTarget::Config, id),
                            json!({"username": u.username, "reseller_id": reseller_id, "panel_id": panel_id, "after": meta}),
                        ),
                    )
                    .await?;
                    "imported"
                }
            };
            results.insert((*name).clone(), verdict.to_string());
        }
        done += chunk.len();
        state["results"] = json!(results);
        db::jobs::progress(&mut tx, job_id, done as i64, &state).await?;
        tx.commit().await?;
        lease.renew(ctx).await?;
    }
    let count = |v: &str| results.values().filter(|r| r.as_str() == v).count();
    let summary = json!({
        "imported": count("imported"),
        "claimed": count("claimed"),
        "not_found": count("not_found"),
        "not_owned": count("not_owned"),
    });
    let mut tx = ctx.db.begin_write().await?;
    db::audit::record(
        &mut tx,
        NewAudit::about(
            &actor,
            &origin,
            AuditAction::PanelImported,
            (AuditTarget::Panel, panel_id),
            json!({"job_id": job_id, "reseller_id": reseller_id, "owner": state["owner"], "counts": summary}),
        ),
    )
    .await?;
    let mut result = json!({"counts": summary, "results": results, "reseller_id": reseller_id});
    result["actor"] = state["actor"].clone();
    db::jobs::finish(&mut tx, job_id, JobStatus::Done, &result, now_ts()).await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str, owner: Option<&str>) -> RemoteUser {
        RemoteUser {
            username: name.into(),
            used_bytes: 5,
            lifetime_used_bytes: None,
            limit_bytes: None,
            expires_at: None,
            enabled: true,
            state: panels::RemoteState::Active,
            subscription_url: None,
            owner: owner.map(str::to_string),
        }
    }

    #[test]
    fn names_sort_as_people_count() {
        let mut names = vec!["mina_10", "mina_2", "Mina_1", "reza_0", "mina_2a", "mina"];
        names.sort_by_cached_key(|n| natural_key(n));
        assert_eq!(
            names,
            ["mina", "Mina_1", "mina_2", "mina_2a", "mina_10", "reza_0"]
        );
    }

    #[test]
    fn a_selection_names_owns_and_refuses() {
        let listing = vec![
            user("a1", Some("alice")),
            user("a2", Some("alice")),
            user("b1", Some("bob")),
            user("taken", Some("alice")),
        ];
        let claimed = ["taken".to_string()].into_iter().collect();
        let by_owner = Selection {
            owner: Some("alice".into()),
            ..Default::default()
        };
        let (chosen, refused) = select(&by_owner, &listing, &claimed).unwrap();
        assert_eq!(chosen, ["a1", "a2"]);
        assert!(refused.is_empty());

        let named = Selection {
            usernames: Some(vec![
                "A1".into(),
                "b1".into(),
                "taken".into(),
                "gone".into(),
            ]),
            owner: Some("alice".into()),
            ..Default::default()
        };
        let (chosen, refused) = select(&named, &listing, &claimed).unwrap();
        assert_eq!(chosen, ["a1"]);
        assert_eq!(refused["b1"], Refusal::NotOwned);
        assert_eq!(refused["taken"], Refusal::Claimed);
        assert_eq!(refused["gone"], Refusal::NotFound);

        let searched = Selection {
            all_matching: true,
            q: Some("1".into()),
            ..Default::default()
        };
        let (chosen, _) = select(&searched, &listing, &claimed).unwrap();
        assert_eq!(chosen, ["a1", "b1"]);
        assert!(select(&Selection::default(), &listing, &claimed).is_err());
    }
}
