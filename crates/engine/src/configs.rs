//! A reseller's configs: create, edit, disable, enable and delete, each one transaction with the
//! config change, its durable panel operation, a config event and an audit row.

use crate::access::{self, ActionError, Area, Fields};
use crate::ops::{self, OpKind, Outcome};
use crate::Ctx;
use chrono::{DateTime, Utc};
use db::audit::{Actor, NewAudit, Origin};
use db::configs::Config;
use domain::status::{AuditAction, AuditTarget, ConfigEventKind, ConfigStatus, DisabledReason};

type Result<T> = std::result::Result<T, ActionError>;

/// round(0.1 × 2^30): the smallest traffic limit a config may have.
pub const MIN_LIMIT_BYTES: i64 = 107_374_182;
/// 1 PiB: anything above is a typo, not a sale.
pub const MAX_LIMIT_BYTES: i64 = 1 << 50;
pub const MAX_DAYS: i64 = 3650;
pub const MAX_COMMENT_CHARS: usize = 200;

/// Who acts: a reseller on its own configs (the access matrix applies), or an admin on any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Reseller(i64),
    Admin,
}

/// What a reseller asks for; ids empty = the panel's defaults.
#[derive(Clone, Debug, Default)]
pub struct NewConfig {
    pub traffic_limit_bytes: i64,
    pub expires_in_days: i64,
    pub comment: Option<String>,
    pub prefix: Option<String>,
    pub custom_name: Option<String>,
    pub service_ids: Vec<i64>,
    pub node_ids: Vec<i64>,
    pub inbound_ids: Vec<i64>,
    pub max_clients: Option<i64>,
}

/// An edit; None leaves the value as it is.
#[derive(Clone, Debug, Default)]
pub struct ConfigPatch {
    pub traffic_limit_bytes: Option<i64>,
    pub expires_at: Option<DateTime<Utc>>,
    pub expires_in_days: Option<i64>,
    pub max_clients: Option<i64>,
}

/// A config after an action, with whether the panel confirmed it within the wait.
pub struct Done {
    pub config: Config,
    pub outcome: Outcome,
}

async fn reseller_of(conn: &mut db::Conn, id: i64) -> Result<db::resellers::Reseller> {
    db::resellers::get(conn, id)
        .await?
        .ok_or(ActionError::NotFound)
}

/// The config if `scope` may see it; another reseller's config is absent (404), never "forbidden".
pub async fn load(conn: &mut db::Conn, scope: Scope, id: i64) -> Result<Config> {
    let found = match scope {
        Scope::Reseller(r) => db::configs::get_owned(conn, r, id).await?,
        Scope::Admin => db::configs::get(conn, id).await?,
    };
    found.ok_or(ActionError::NotFound)
}

/// Loads the config and, for a reseller, applies the matrix's Configs column.
async fn load_for_change(ctx: &Ctx, scope: Scope, id: i64) -> Result<Config> {
    let mut conn = ctx.db.acquire().await?;
    let c = load(&mut conn, scope, id).await?;
    if let Scope::Reseller(_) = scope {
        access::require(&reseller_of(&mut conn, c.reseller_id).await?, Area::Configs)?;
    }
    Ok(c)
}

/// Starts the write transaction of a change to one config: the owning reseller's row is locked
/// (PostgreSQL; SQLite's IMMEDIATE transaction holds the write lock), so two changes of the same
/// reseller's configs queue, and the matrix is checked again inside the transaction.
async fn begin_change(ctx: &Ctx, scope: Scope, id: i64) -> Result<(db::Tx, Config)> {
    let c = load_for_change(ctx, scope, id).await?;
    let mut tx = ctx.db.begin_write().await?;
    let r = db::resellers::get_for_update(&mut tx, ctx.db.backend(), c.reseller_id)
        .await?
        .ok_or(ActionError::NotFound)?;
    if let Scope::Reseller(_) = scope {
        access::require(&r, Area::Configs)?;
    }
    let before = load(&mut tx, scope, id).await?;
    Ok((tx, before))
}

fn check_ids(f: &mut Fields, field: &str, given: &[i64], allowed: &[i64]) {
    if given.iter().any(|id| !allowed.contains(id)) {
        f.add(field, "configs.err.not_in_whitelist");
    }
}

/// Where a reseller may place a config: its service (Marzneshin services, PasarGuard groups) and
/// node whitelists, and where one is empty every service or node the panel lists: an empty
/// whitelist means no restriction.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Placement {
    pub services: Vec<panels::Choice>,
    pub nodes: Vec<panels::Choice>,
}

fn whitelisted(ids: Vec<i64>) -> Vec<panels::Choice> {
    ids.into_iter()
        .map(|id| panels::Choice {
            id: id.to_string(),
            label: format!("#{id}"),
        })
        .collect()
}

fn numeric(choices: Vec<panels::Choice>) -> Vec<panels::Choice> {
    // Only numeric ids can be asked for (3x-ui and Marzban list inbound tags here, not services).
    choices
        .into_iter()
        .filter(|c| c.id.parse::<i64>().is_ok())
        .collect()
}

/// The reseller's `Placement`; reads the panel's lists (a remote call, so outside any transaction)
/// only when a whitelist is empty.
pub async fn placement(ctx: &Ctx, reseller: &db::resellers::Reseller) -> Result<Placement> {
    let (services, nodes) = (reseller.service_ids(), reseller.node_ids());
    let panel = if services.is_empty() || nodes.is_empty() {
        let handle = ctx.registry.handle(reseller.panel_id).await?;
        handle
            .client
            .list_choices()
            .await
            .map_err(crate::EngineError::from)?
    } else {
        panels::Choices::default()
    };
    Ok(Placement {
        services: if services.is_empty() {
            numeric(panel.services)
        } else {
            whitelisted(services)
        },
        nodes: if nodes.is_empty() {
            numeric(panel.nodes)
        } else {
            whitelisted(nodes)
        },
    })
}

/// Service and node ids asked for: within the whitelist, or with no whitelist, on the panel.
async fn check_placement(
    ctx: &Ctx,
    f: &mut Fields,
    reseller: &db::resellers::Reseller,
    given_services: &[i64],
    given_nodes: &[i64],
) -> Result<()> {
    let (services, nodes) = (reseller.service_ids(), reseller.node_ids());
    let open = |given: &[i64], list: &[i64]| !given.is_empty() && list.is_empty();
    if !open(given_services, &services) && !open(given_nodes, &nodes) {
        check_ids(f, "service_ids", given_services, &services);
        check_ids(f, "node_ids", given_nodes, &nodes);
        return Ok(());
    }
    let placement = placement(ctx, reseller).await?;
    let known = |given: &[i64], list: &[panels::Choice]| {
        given
            .iter()
            .all(|id| list.iter().any(|c| c.id == id.to_string()))
    };
    for (field, given, whitelist, list) in [
        (
            "service_ids",
            given_services,
            &services,
            &placement.services,
        ),
        ("node_ids", given_nodes, &nodes, &placement.nodes),
    ] {
        if !known(given, list) {
            let key = if whitelist.is_empty() {
                "configs.err.not_on_panel"
            } else {
                "configs.err.not_in_whitelist"
            };
            f.add(field, key);
        }
    }
    Ok(())
}

/// The config's event and the audit row of one change, with the same meta, in the caller's
/// transaction: what a person's action on a config leaves behind.
pub(crate) async fn record(
    conn: &mut db::Conn,
    actor: &Actor,
    origin: &Origin,
    config_id: i64,
    event: ConfigEventKind,
    action: AuditAction,
    meta: serde_json::Value,
) -> Result<()> {
    db::configs::add_event(
        conn,
        config_id,
        event,
        &actor.name,
        None,
        None,
        meta.clone(),
    )
    .await?;
    let audit_row = NewAudit::about(
        actor,
        origin,
        action,
        (AuditTarget::Config, config_id),
        meta,
    );
    db::audit::record(conn, audit_row).await?;
    Ok(())
}

/// Runs the queued operation now, bounded by the configured wait, then rereads the config.
async fn finish(ctx: &Ctx, config_id: i64, op_id: i64) -> Result<Done> {
    ctx.wake.notify_one();
    let outcome = ops::run_now(ctx, op_id, ctx.settings.wait_for_panel).await?;
    let mut conn = ctx.db.acquire().await?;
    let config = db::configs::get(&mut conn, config_id)
        .await?
        .ok_or(ActionError::NotFound)?;
    Ok(Done { config, outcome })
}

fn snapshot(c: &Config) -> serde_json::Value {
    serde_json::json!({
        "status": c.status, "disabled_reason": c.disabled_reason,
        "traffic_limit_bytes": c.traffic_limit_bytes, "expires_at": c.expires_at,
        "max_clients": c.max_clients,
    })
}

pub async fn create(
    ctx: &Ctx,
    actor: &Actor,
    origin: &Origin,
    reseller_id: i64,
    input: NewConfig,
    now: DateTime<Utc>,
) -> Result<Done> {
    let (reseller, panel) = {
        let mut conn = ctx.db.acquire().await?;
        let r = reseller_of(&mut conn, reseller_id).await?;
        let p = db::panels::get(&mut conn, r.panel_id)
            .await?
            .ok_or(ActionError::NotFound)?;
        (r, p)
    };
    access::require(&reseller, Area::Configs)?;

    let mut f = Fields::default();
    if input.traffic_limit_bytes < MIN_LIMIT_BYTES {
        f.add("traffic_limit_bytes", "configs.err.limit_min");
    } else if input.traffic_limit_bytes > MAX_LIMIT_BYTES {
        f.add("traffic_limit_bytes", "configs.err.limit_max");
    }
    if !(1..=MAX_DAYS).contains(&input.expires_in_days) {
        f.add("expires_in_days", "configs.err.days");
    }
    let comment = input
        .comment
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_string);
    if comment
        .as_deref()
        .is_some_and(|c| c.chars().count() > MAX_COMMENT_CHARS)
    {
        f.add("comment", "configs.err.comment");
    }
    let prefix = input.prefix.filter(|p| !p.is_empty());
    let custom = input.custom_name.filter(|p| !p.is_empty());
    if !reseller.allow_custom_names {
        if prefix.is_some() {
            f.add("prefix", "configs.err.names_not_allowed");
        }
        if custom.is_some() {
            f.add("custom_name", "configs.err.names_not_allowed");
        }
    } else {
        if prefix
            .as_deref()
            .is_some_and(|p| domain::username::validate_prefix(p).is_err())
        {
            f.add("prefix", "configs.err.prefix");
        }
        if custom
            .as_deref()
            .is_some_and(|n| domain::username::validate_username(n).is_err())
        {
            f.add("custom_name", "configs.err.custom_name");
        }
    }
    check_placement(ctx, &mut f, &reseller, &input.service_ids, &input.node_ids).await?;
    let panel_inbounds = serde_json::from_str::<panels::PanelSettings>(&panel.settings)
        .map(|s| s.inbound_ids)
        .unwrap_or_default();
    check_ids(&mut f, "inbound_ids", &input.inbound_ids, &panel_inbounds);
    if let Some(m) = input.max_clients {
        if !panel.kind.has_max_clients() {
            f.add("max_clients", "configs.err.max_clients_kind");
        } else if !(1..=1000).contains(&m) {
            f.add("max_clients", "configs.err.max_clients");
        }
    }
    if let Some(name) = custom
        .as_deref()
        .filter(|_| !f.0.contains_key("custom_name"))
    {
        let mut conn = ctx.db.acquire().await?;
        if db::configs::username_taken(&mut conn, panel.id, name).await? {
            f.add("custom_name", "configs.err.name_taken");
        }
        drop(conn);
        // A user made on the panel by hand would make our create fail forever: ask first
        // (a remote read, so before the transaction).
        if !f.0.contains_key("custom_name") {
            let handle = ctx.registry.handle(panel.id).await?;
            if handle
                .client
                .get_user(name)
                .await
                .map_err(crate::EngineError::from)?
                .is_some()
            {
                f.add("custom_name", "configs.err.name_taken");
            }
        }
    }
    f.finish()?;

    let default_prefix = match prefix.clone().or(reseller.username_prefix.clone()) {
        Some(p) => p,
        None => {
            let mut conn = ctx.db.acquire().await?;
            db::settings::get(&mut conn, "username_prefix")
                .await?
                .filter(|p| domain::username::validate_prefix(p).is_ok())
                .unwrap_or_else(|| domain::username::DEFAULT_PREFIX.to_string())
        }
    };
    let expires_at = domain::tehran::days_from_today(now, input.expires_in_days).timestamp();
    let ts = now.timestamp();

    let mut tx = ctx.db.begin_write().await?;
    // Locked, so two creates cannot both pass the limit check (SQLite: the write lock).
    let reseller = db::resellers::get_for_update(&mut tx, ctx.db.backend(), reseller_id)
        .await?
        .ok_or(ActionError::NotFound)?;
    access::require(&reseller, Area::Configs)?;
    if let Some(limit) = reseller.config_limit.filter(|l| *l > 0) {
        if db::resellers::live_config_count(&mut tx, reseller_id).await? >= limit {
            return Err(ActionError::Conflict {
                code: access::CONFIG_LIMIT_REACHED,
                message: format!("the config limit of {limit} is reached"),
            });
        }
    }
    let inserted = db::configs::create(
        &mut tx,
        db::configs::NewConfig {
            reseller_id,
            panel_id: panel.id,
            username: custom.as_deref(),
            comment: comment.as_deref(),
            traffic_limit_bytes: input.traffic_limit_bytes,
            expires_at: Some(expires_at),
            max_clients: input.max_clients,
            service_ids: &input.service_ids,
            node_ids: &input.node_ids,
            inbound_ids: &input.inbound_ids,
        },
        |id| domain::username::default_username(&default_prefix, reseller_id, id),
        ts,
    )
    .await;
    let id = match inserted {
        Ok(id) => id,
        // The unique (panel, username) index lost a race for a custom name.
        Err(_) if custom.is_some() => {
            return Err(ActionError::field("custom_name", "configs.err.name_taken"))
        }
        Err(e) => return Err(e.into()),
    };
    let config = db::configs::get(&mut tx, id)
        .await?
        .ok_or(ActionError::NotFound)?;
    if domain::username::validate_username(&config.username).is_err() {
        return Err(ActionError::field("prefix", "configs.err.prefix"));
    }
    let after = serde_json::to_value(&config).unwrap_or_default();
    let recorded = (ConfigEventKind::Created, AuditAction::ConfigCreated);
    queue_and_finish(
        ctx,
        tx,
        (panel.id, id),
        OpKind::Create,
        recorded,
        actor,
        origin,
        ts,
        |op| serde_json::json!({ "after": after, "operation_id": op }),
    )
    .await
}

pub async fn edit(
    ctx: &Ctx,
    actor: &Actor,
    origin: &Origin,
    scope: Scope,
    id: i64,
    p: ConfigPatch,
    now: DateTime<Utc>,
) -> Result<Done> {
    let (mut tx, before) = begin_change(ctx, scope, id).await?;
    refuse_deleted(&before, "the config is deleted")?;
    let mut f = Fields::default();
    let limit = p.traffic_limit_bytes.unwrap_or(before.traffic_limit_bytes);
    if let Some(l) = p.traffic_limit_bytes {
        if l < MIN_LIMIT_BYTES {
            f.add("traffic_limit_bytes", "configs.err.limit_min");
        } else if l > MAX_LIMIT_BYTES {
            f.add("traffic_limit_bytes", "configs.err.limit_max");
        } else if l < before.usage_bytes {
            f.add("traffic_limit_bytes", "configs.err.limit_below_usage");
        }
    }
    let tomorrow = domain::tehran::days_from_today(now, 1);
    let expires_at = match (p.expires_in_days, p.expires_at) {
        (Some(d), _) => {
            if !(1..=MAX_DAYS).contains(&d) {
                f.add("expires_in_days", "configs.err.days");
            }
            Some(domain::tehran::days_from_today(now, d.clamp(1, MAX_DAYS)).timestamp())
        }
        (None, Some(at)) => {
            let at = domain::tehran::normalize_day_end(at);
            // The same 3,650-day cap as `expires_in_days`, so a date cannot get round it.
            if at < tomorrow || at > domain::tehran::days_from_today(now, MAX_DAYS) {
                f.add("expires_at", "configs.err.expires_at");
            }
            Some(at.timestamp())
        }
        (None, None) => before.expires_at,
    };
    if let Some(m) = p.max_clients {
        if !(1..=1000).contains(&m) {
            f.add("max_clients", "configs.err.max_clients");
        }
    }
    f.finish()?;
    let max_clients = p.max_clients.or(before.max_clients);
    db::configs::set_limits(&mut tx, id, limit, expires_at, max_clients).await?;
    let after = db::configs::get(&mut tx, id)
        .await?
        .ok_or(ActionError::NotFound)?;
    let recorded = (ConfigEventKind::Edited, AuditAction::ConfigEdited);
    let target = (before.panel_id, id);
    queue_and_finish(ctx, tx, target, OpKind::Update, recorded, actor, origin, now.timestamp(), |op| {
        serde_json::json!({ "before": snapshot(&before), "after": snapshot(&after), "operation_id": op })
    })
    .await
}

/// Disable by hand (`manual` by a reseller, `admin` by an admin): only a person enables it
/// again, never the system, and what an admin disabled only an admin.
pub async fn disable(
    ctx: &Ctx,
    actor: &Actor,
    origin: &Origin,
    scope: Scope,
    id: i64,
    now: DateTime<Utc>,
) -> Result<Done> {
    let (mut tx, before) = begin_change(ctx, scope, id).await?;
    if before.status != ConfigStatus::Active {
        return Err(ActionError::Conflict {
            code: access::CONFIG_NOT_ACTIVE,
            message: format!("the config is {}", before.status),
        });
    }
    // An admin's disable is the admin's to undo (spec §14); a reseller's the reseller's.
    let reason = match scope {
        Scope::Admin => DisabledReason::Admin,
        Scope::Reseller(_) => DisabledReason::Manual,
    };
    db::configs::set_status(&mut tx, id, ConfigStatus::Disabled, Some(reason)).await?;
    commit_change(
        ctx,
        tx,
        &before,
        OpKind::Disable,
        (
            ConfigEventKind::ManualDisabled,
            AuditAction::ConfigManualDisabled,
        ),
        actor,
        origin,
        now,
    )
    .await
}

/// Enable what was disabled by hand. What the system disabled (quota, window, wallet) comes back
/// when the cause is gone, and what an admin disabled only by an admin.
pub async fn enable(
    ctx: &Ctx,
    actor: &Actor,
    origin: &Origin,
    scope: Scope,
    id: i64,
    now: DateTime<Utc>,
) -> Result<Done> {
    let (mut tx, before) = begin_change(ctx, scope, id).await?;
    let allowed = before.status == ConfigStatus::Disabled
        && match scope {
            Scope::Reseller(_) => before.disabled_reason == Some(DisabledReason::Manual),
            Scope::Admin => true,
        };
    if !allowed {
        return Err(ActionError::Conflict {
            code: access::CONFIG_NOT_ENABLEABLE,
            message: match before.disabled_reason {
                Some(r) if before.status == ConfigStatus::Disabled => {
                    format!("the config was disabled for {r}; it cannot be enabled by hand")
                }
                _ => format!("the config is {}", before.status),
            },
        });
    }
    db::configs::set_status(&mut tx, id, ConfigStatus::Active, None).await?;
    commit_change(
        ctx,
        tx,
        &before,
        OpKind::Enable,
        (
            ConfigEventKind::ManualEnabled,
            AuditAction::ConfigManualEnabled,
        ),
        actor,
        origin,
        now,
    )
    .await
}

/// Delete: the row stays (status `deleted`) so its lifetime usage keeps counting for the reseller.
pub async fn delete(
    ctx: &Ctx,
    actor: &Actor,
    origin: &Origin,
    scope: Scope,
    id: i64,
    now: DateTime<Utc>,
) -> Result<Done> {
    let (mut tx, before) = begin_change(ctx, scope, id).await?;
    refuse_deleted(&before, "the config is already deleted")?;
    db::configs::mark_deleted(&mut tx, id, now.timestamp()).await?;
    commit_change(
        ctx,
        tx,
        &before,
        OpKind::Delete,
        (ConfigEventKind::Deleted, AuditAction::ConfigDeleted),
        actor,
        origin,
        now,
    )
    .await
}

/// A deleted config takes no more changes (its row stays only so its usage keeps counting).
fn refuse_deleted(c: &Config, message: &str) -> Result<()> {
    if c.status == ConfigStatus::Deleted {
        return Err(ActionError::Conflict {
            code: access::CONFIG_DELETED,
            message: message.into(),
        });
    }
    Ok(())
}

/// The common end of disable, enable and delete once the new status is stored: queue the panel
/// operation, write the config event and the audit row (before/after, lifetime usage), commit,
/// then wait (bounded) for the panel.
#[allow(clippy::too_many_arguments)]
async fn commit_change(
    ctx: &Ctx,
    mut tx: db::Tx,
    before: &Config,
    kind: OpKind,
    (event, action): (ConfigEventKind, AuditAction),
    actor: &Actor,
    origin: &Origin,
    now: DateTime<Utc>,
) -> Result<Done> {
    let id = before.id;
    let after = db::configs::get(&mut tx, id)
        .await?
        .ok_or(ActionError::NotFound)?;
    let target = (before.panel_id, id);
    queue_and_finish(
        ctx,
        tx,
        target,
        kind,
        (event, action),
        actor,
        origin,
        now.timestamp(),
        |op| {
            serde_json::json!({ "before": snapshot(before), "after": snapshot(&after),
            "lifetime_usage_bytes": before.lifetime_usage_bytes, "operation_id": op })
        },
    )
    .await
}

/// The end every config action shares once its row is changed: the panel operation queued, the
/// event and the audit row written (`meta` is given the operation's id), one commit for all of
/// it, then a bounded wait for the panel.
#[allow(clippy::too_many_arguments)]
async fn queue_and_finish(
    ctx: &Ctx,
    mut tx: db::Tx,
    (panel_id, id): (i64, i64),
    kind: OpKind,
    (event, action): (ConfigEventKind, AuditAction),
    actor: &Actor,
    origin: &Origin,
    ts: i64,
    meta: impl FnOnce(i64) -> serde_json::Value,
) -> Result<Done> {
    let op = ops::enqueue_for(&mut tx, panel_id, id, kind, ts).await?;
    record(&mut tx, actor, origin, id, event, action, meta(op)).await?;
    tx.commit().await?;
    finish(ctx, id, op).await
}
