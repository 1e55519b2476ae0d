//! Reseller accounts as the admin manages them: create (with its login), edit, suspend, activate,
//! add traffic, extend the window; each one transaction with an audit row, then enforcement.

use crate::access::{ActionError, Fields};
use crate::ops::{self, OpKind};
use crate::Ctx;
use chrono::{DateTime, Utc};
use db::audit::{Actor, NewAudit, Origin};
use db::resellers::Reseller;
use domain::status::{
    AuditAction, AuditTarget, ConfigEventKind, ConfigStatus, DisabledReason, LedgerKind,
    ResellerKind, ResellerStatus, Role, SuspendedBy,
};
use std::collections::BTreeMap;

type Result<T> = std::result::Result<T, ActionError>;

/// What a reseller's terms amount to right now; pages and API show the same numbers.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    pub configs_count: i64,
    pub lifetime_total: i64,
    /// Quota used = Σ lifetime − baseline (spec §8).
    pub used_bytes: i64,
    pub remaining_bytes: i64,
    pub grace_bytes: i64,
    pub price_per_gb: i64,
    pub suspension_threshold: i64,
    pub login: Option<String>,
}

impl Summary {
    /// Used share of the quota in percent (0–100), for usage bars.
    pub fn used_percent(&self, quota: i64) -> i64 {
        if quota <= 0 {
            return 0;
        }
        ((i128::from(self.used_bytes) * 100 / i128::from(quota)).clamp(0, 100)) as i64
    }
}

/// A price per GB outside 0 ..= [`domain::units::MAX_PRICE_PER_GB`].
fn bad_price(p: i64) -> bool {
    !(0..=domain::units::MAX_PRICE_PER_GB).contains(&p)
}

/// The price per GB a wallet reseller pays: its override, else the setting, else the environment.
pub async fn price_and_threshold(
    ctx: &Ctx,
    conn: &mut db::Conn,
    r: &Reseller,
) -> Result<(i64, i64)> {
    let price = match r.wallet_price_per_gb {
        Some(p) => p,
        None => db::settings::get_i64(conn, "wallet_price_per_gb")
            .await?
            .unwrap_or(ctx.settings.wallet_price_per_gb),
    };
    let threshold = db::settings::get_i64(conn, "wallet_suspension_threshold")
        .await?
        .unwrap_or(ctx.settings.wallet_suspension_threshold);
    Ok((price, threshold))
}

pub async fn summary(ctx: &Ctx, conn: &mut db::Conn, r: &Reseller) -> Result<Summary> {
    let mut all = summaries(ctx, conn, std::slice::from_ref(r)).await?;
    Ok(all.remove(0))
}

/// The summaries of a list of resellers, in the same order, in a fixed number of statements
/// (configs' totals, logins, and the settings once) whatever the list's length.
pub async fn summaries(ctx: &Ctx, conn: &mut db::Conn, rows: &[Reseller]) -> Result<Vec<Summary>> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let totals = db::resellers::config_totals(conn, &ids).await?;
    let mut logins = db::users::logins_of(conn, &ids).await?;
    let grace = crate::enforcement::grace_settings(conn).await?;
    let default_price = db::settings::get_i64(conn, "wallet_price_per_gb")
        .await?
        .unwrap_or(ctx.settings.wallet_price_per_gb);
    let threshold = db::settings::get_i64(conn, "wallet_suspension_threshold")
        .await?
        .unwrap_or(ctx.settings.wallet_suspension_threshold);
    Ok(rows
        .iter()
        .map(|r| {
            let (lifetime_total, configs_count) = totals.get(&r.id).copied().unwrap_or((0, 0));
            let used = domain::enforcement::quota_used(lifetime_total, r.quota_baseline_bytes);
            Summary {
                configs_count,
                lifetime_total,
                used_bytes: used,
                remaining_bytes: (r.traffic_quota_bytes - used).max(0),
                grace_bytes: domain::enforcement::grace_bytes(r.traffic_quota_bytes, grace),
                price_per_gb: r.wallet_price_per_gb.unwrap_or(default_price),
                suspension_threshold: threshold,
                login: logins.remove(&r.id),
            }
        })
        .collect())
}

/// A new reseller as the admin entered it. The password arrives hashed (web::password).
#[derive(Clone, Debug, Default)]
pub struct NewReseller {
    pub username: String,
    pub password_hash: String,
    pub display_name: Option<String>,
    pub kind: String,
    pub panel_id: i64,
    pub config_limit: Option<i64>,
    pub username_prefix: Option<String>,
    pub allow_custom_names: bool,
    pub traffic_quota_bytes: Option<i64>,
    /// Window from today for `window_days` days, or explicit dates (normalised to 00:00 Tehran).
    pub window_days: Option<i64>,
    pub window_starts_at: Option<DateTime<Utc>>,
    pub window_ends_at: Option<DateTime<Utc>>,
    pub wallet_balance: Option<i64>,
    pub wallet_price_per_gb: Option<i64>,
    pub service_whitelist: Vec<i64>,
    pub node_whitelist: Vec<i64>,
}

fn json_of(r: &Reseller) -> serde_json::Value {
    serde_json::to_value(r).unwrap_or_default()
}

async fn audit(
    conn: &mut db::Conn,
    actor: &Actor,
    origin: &Origin,
    action: AuditAction,
    id: i64,
    meta: serde_json::Value,
) -> Result<()> {
    let audit_row = NewAudit::about(actor, origin, action, (AuditTarget::Reseller, id), meta);
    db::audit::record(conn, audit_row).await?;
    Ok(())
}

/// Checks whitelist ids against the panel's own lists (a remote read, so outside any transaction).
async fn check_whitelists(
    ctx: &Ctx,
    panel_id: i64,
    services: &[i64],
    nodes: &[i64],
    f: &mut Fields,
) -> Result<()> {
    if services.is_empty() && nodes.is_empty() {
        return Ok(());
    }
    let handle = ctx.registry.handle(panel_id).await?;
    let choices = handle
        .client
        .list_choices()
        .await
        .map_err(crate::EngineError::from)?;
    let known = |list: &[panels::Choice], id: i64| list.iter().any(|c| c.id == id.to_string());
    if services.iter().any(|id| !known(&choices.services, *id)) {
        f.add("service_whitelist", "resellers.err.unknown_service");
    }
    if nodes.iter().any(|id| !known(&choices.nodes, *id)) {
        f.add("node_whitelist", "resellers.err.unknown_node");
    }
    Ok(())
}

/// The longest display name, in characters (the pages show it in headings and lists).
pub const MAX_DISPLAY_NAME_CHARS: usize = 100;

fn check_prefix(prefix: Option<&str>, f: &mut Fields) {
    if let Some(p) = prefix.filter(|p| !p.is_empty()) {
        if domain::username::validate_prefix(p).is_err() {
            f.add("username_prefix", "resellers.err.prefix");
        }
    }
}

/// Window bounds: `days` from today, else the given dates, each normalised to 00:00 Tehran.
fn window(
    now: DateTime<Utc>,
    days: Option<i64>,
    starts: Option<DateTime<Utc>>,
    ends: Option<DateTime<Utc>>,
    f: &mut Fields,
) -> (Option<i64>, Option<i64>) {
    use domain::tehran::{days_from_today, normalize_day_end};
    if let Some(d) = days {
        if !(1..=3650).contains(&d) {
            f.add("window_days", "resellers.err.window_days");
            return (None, None);
        }
        return (
            Some(normalize_day_end(now).timestamp()),
            Some(days_from_today(now, d).timestamp()),
        );
    }
    let s = starts.map(|s| normalize_day_end(s).timestamp());
    let e = ends.map(|e| normalize_day_end(e).timestamp());
    if let (Some(s), Some(e)) = (s, e) {
        if e <= s {
            f.add("window_ends_at", "resellers.err.window_order");
        }
    }
    (s.or(e.map(|_| normalize_day_end(now).timestamp())), e)
}

/// Every rule a new reseller must meet, each broken one added to `f` (so a form names them all);
/// returns the window bounds for a traffic reseller.
async fn check_new(
    ctx: &Ctx,
    input: &NewReseller,
    now: DateTime<Utc>,
    f: &mut Fields,
) -> Result<(Option<i64>, Option<i64>)> {
    // The login's normal form (lower case, NFKC) in a restricted character set, so no
    // look-alike of an existing login (case, width, zero-width, bidi, NUL) can be created.
    let username = match domain::login::validate_new(&input.username) {
        Ok(u) => Some(u),
        Err(_) => {
            f.add("username", "resellers.err.username");
            None
        }
    };
    let parsed_kind = input.kind.parse::<ResellerKind>();
    if parsed_kind.is_err() {
        f.add("kind", "resellers.err.kind");
    }
    // Only used once the fields are valid (`f.finish()` below returns on a bad kind).
    let kind = parsed_kind.unwrap_or(ResellerKind::Traffic);
    if input.config_limit.is_some_and(|l| l < 0) {
        f.add("config_limit", "resellers.err.config_limit");
    }
    check_prefix(input.username_prefix.as_deref(), f);
    if input
        .display_name
        .as_deref()
        .is_some_and(|n| n.chars().count() > MAX_DISPLAY_NAME_CHARS)
    {
        f.add("display_name", "resellers.err.display_name");
    }
    let quota = input.traffic_quota_bytes.unwrap_or(0);
    if kind == ResellerKind::Traffic && quota <= 0 {
        f.add("traffic_quota_bytes", "resellers.err.quota");
    }
    if input.wallet_price_per_gb.is_some_and(bad_price) {
        f.add("wallet_price_per_gb", "resellers.err.price");
    }
    if input
        .wallet_balance
        .is_some_and(|b| b.unsigned_abs() > domain::units::MAX_TOMAN.unsigned_abs())
    {
        f.add("wallet_balance", "resellers.err.balance");
    }
    let (ws, we) = if kind == ResellerKind::Traffic {
        window(
            now,
            input.window_days,
            input.window_starts_at,
            input.window_ends_at,
            f,
        )
    } else {
        (None, None)
    };
    {
        let mut conn = ctx.db.acquire().await?;
        if db::panels::get(&mut conn, input.panel_id).await?.is_none() {
            f.add("panel_id", "resellers.err.panel");
            return Ok((ws, we));
        }
        if let Some(username) = &username {
            if db::users::by_username(&mut conn, username).await?.is_some() {
                f.add("username", "resellers.err.username_taken");
            }
        }
    }
    check_whitelists(
        ctx,
        input.panel_id,
        &input.service_whitelist,
        &input.node_whitelist,
        f,
    )
    .await?;
    Ok((ws, we))
}

/// The field errors `create` would answer with, without creating anything: a form whose other
/// fields did not even parse still reports these at the same time.
pub async fn validate_new(
    ctx: &Ctx,
    input: &NewReseller,
    now: DateTime<Utc>,
) -> Result<BTreeMap<String, String>> {
    let mut f = Fields::default();
    check_new(ctx, input, now, &mut f).await?;
    Ok(f.0)
}

pub async fn create(
    ctx: &Ctx,
    actor: &Actor,
    origin: &Origin,
    input: NewReseller,
    now: DateTime<Utc>,
) -> Result<Reseller> {
    let mut f = Fields::default();
    let (ws, we) = check_new(ctx, &input, now, &mut f).await?;
    f.finish()?;
    let username = domain::login::validate_new(&input.username)
        .unwrap_or_else(|_| input.username.trim().to_string());
    // A bad kind was refused by `check_new`.
    let kind = input
        .kind
        .parse::<ResellerKind>()
        .unwrap_or(ResellerKind::Traffic);
    let quota = input.traffic_quota_bytes.unwrap_or(0);

    let display_name = input
        .display_name
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or(&username)
        .to_string();
    let prefix = input.username_prefix.filter(|p| !p.is_empty());
    let mut tx = ctx.db.begin_write().await?;
    let id = db::resellers::create(
        &mut tx,
        db::resellers::NewReseller {
            display_name: &display_name,
            kind,
            panel_id: input.panel_id,
            username_prefix: prefix.as_deref(),
            allow_custom_names: input.allow_custom_names,
            config_limit: input.config_limit,
            service_whitelist: &input.service_whitelist,
            node_whitelist: &input.node_whitelist,
            traffic_quota_bytes: if kind == ResellerKind::Traffic {
                quota
            } else {
                0
            },
            window_starts_at: ws,
            window_ends_at: we,
            wallet_price_per_gb: if kind == ResellerKind::Wallet {
                input.wallet_price_per_gb
            } else {
                None
            },
        },
        now.timestamp(),
    )
    .await?;
    let user_id = match db::users::create(
        &mut tx,
        &username,
        &input.password_hash,
        Role::Reseller,
        Some(id),
    )
    .await
    {
        Ok(uid) => uid,
        // Two admins racing for one login name: the unique index decides.
        Err(_) => {
            return Err(ActionError::field(
                "username",
                "resellers.err.username_taken",
            ))
        }
    };
    if kind == ResellerKind::Wallet {
        if let Some(balance) = input.wallet_balance.filter(|b| *b != 0) {
            crate::wallet::post_entry(
                &mut tx,
                id,
                LedgerKind::OpeningBalance,
                balance,
                &format!("opening:{id}"),
                Some("opening balance"),
                None,
                actor.id,
            )
            .await?;
        }
    }
    let row = db::resellers::get(&mut tx, id)
        .await?
        .ok_or(ActionError::NotFound)?;
    audit(
        &mut tx,
        actor,
        origin,
        AuditAction::ResellerCreated,
        id,
        serde_json::json!({ "after": json_of(&row), "login": username, "user_id": user_id,
                            "opening_balance": input.wallet_balance }),
    )
    .await?;
    tx.commit().await?;
    crate::enforcement::enforce_reseller(ctx, id, now, origin).await?;
    reload(ctx, id).await
}

async fn reload(ctx: &Ctx, id: i64) -> Result<Reseller> {
    let mut conn = ctx.db.acquire().await?;
    db::resellers::get(&mut conn, id)
        .await?
        .ok_or(ActionError::NotFound)
}

/// PATCH: only the fields given change.
#[derive(Clone, Debug, Default)]
pub struct ResellerPatch {
    pub display_name: Option<String>,
    pub config_limit: Option<i64>,
    pub username_prefix: Option<String>,
    pub allow_custom_names: Option<bool>,
    pub traffic_quota_bytes: Option<i64>,
    pub window_starts_at: Option<DateTime<Utc>>,
    pub window_ends_at: Option<DateTime<Utc>>,
    pub wallet_price_per_gb: Option<i64>,
    pub service_whitelist: Option<Vec<i64>>,
    pub node_whitelist: Option<Vec<i64>>,
}

pub async fn update(
    ctx: &Ctx,
    actor: &Actor,
    origin: &Origin,
    id: i64,
    p: ResellerPatch,
    now: DateTime<Utc>,
) -> Result<Reseller> {
    let before = reload(ctx, id).await?;
    let mut f = Fields::default();
    if p.display_name
        .as_deref()
        .is_some_and(|n| n.trim().is_empty() || n.chars().count() > MAX_DISPLAY_NAME_CHARS)
    {
        f.add("display_name", "resellers.err.display_name");
    }
    if p.config_limit.is_some_and(|l| l < 0) {
        f.add("config_limit", "resellers.err.config_limit");
    }
    check_prefix(p.username_prefix.as_deref(), &mut f);
    if p.traffic_quota_bytes.is_some_and(|q| q < 0) {
        f.add("traffic_quota_bytes", "resellers.err.quota");
    }
    if p.wallet_price_per_gb.is_some_and(bad_price) {
        f.add("wallet_price_per_gb", "resellers.err.price");
    }
    let norm = |t: DateTime<Utc>| domain::tehran::normalize_day_end(t).timestamp();
    let ws = p.window_starts_at.map(norm).or(before.window_starts_at);
    let we = p.window_ends_at.map(norm).or(before.window_ends_at);
    if let (Some(s), Some(e)) = (ws, we) {
        if e <= s && (p.window_starts_at.is_some() || p.window_ends_at.is_some()) {
            f.add("window_ends_at", "resellers.err.window_order");
        }
    }
    check_whitelists(
        ctx,
        before.panel_id,
        p.service_whitelist.as_deref().unwrap_or(&[]),
        p.node_whitelist.as_deref().unwrap_or(&[]),
        &mut f,
    )
    .await?;
    f.finish()?;

    let mut ints: Vec<(&str, Option<i64>)> = Vec::new();
    let mut texts: Vec<(&str, Option<String>)> = Vec::new();
    if let Some(n) = &p.display_name {
        texts.push(("display_name", Some(n.trim().to_string())));
    }
    if let Some(l) = p.config_limit {
        ints.push(("config_limit", Some(l)));
    }
    if let Some(px) = &p.username_prefix {
        texts.push((
            "username_prefix",
            Some(px.clone()).filter(|s| !s.is_empty()),
        ));
    }
    if let Some(a) = p.allow_custom_names {
        ints.push(("allow_custom_names", Some(a as i64)));
    }
    if let Some(q) = p.traffic_quota_bytes {
        ints.push(("traffic_quota_bytes", Some(q)));
    }
    if p.window_starts_at.is_some() || p.window_ends_at.is_some() {
        ints.push(("window_starts_at", ws));
        ints.push(("window_ends_at", we));
    }
    if let Some(pr) = p.wallet_price_per_gb {
        ints.push(("wallet_price_per_gb", Some(pr)));
    }
    if let Some(s) = &p.service_whitelist {
        texts.push((
            "service_whitelist",
            Some(serde_json::to_string(s).unwrap_or_default()),
        ));
    }
    if let Some(n) = &p.node_whitelist {
        texts.push((
            "node_whitelist",
            Some(serde_json::to_string(n).unwrap_or_default()),
        ));
    }
    let mut tx = ctx.db.begin_write().await?;
    let before = db::resellers::get_for_update(&mut tx, ctx.db.backend(), id)
        .await?
        .ok_or(ActionError::NotFound)?;
    db::resellers::update_columns(&mut tx, id, &ints, &texts).await?;
    let after = db::resellers::get(&mut tx, id)
        .await?
        .ok_or(ActionError::NotFound)?;
    audit(
        &mut tx,
        actor,
        origin,
        AuditAction::ResellerUpdated,
        id,
        serde_json::json!({ "before": json_of(&before), "after": json_of(&after) }),
    )
    .await?;
    tx.commit().await?;
    crate::enforcement::enforce_reseller(ctx, id, now, origin).await?;
    reload(ctx, id).await
}

/// Sets configs' status in the caller's transaction with an operation, an event and an audit
/// row each; returns how many changed.
#[allow(clippy::too_many_arguments)]
async fn switch_configs(
    tx: &mut db::Conn,
    actor: &Actor,
    origin: &Origin,
    configs: Vec<db::configs::Config>,
    enable: bool,
    reason: Option<DisabledReason>,
    now: i64,
) -> Result<usize> {
    // An admin's suspension marks what it disables, so that the activation gives back exactly that.
    let held = !enable && reason == Some(DisabledReason::Admin);
    let n = configs.len();
    for c in configs {
        let (status, kind, event, action) = if enable {
            (
                ConfigStatus::Active,
                OpKind::Enable,
                ConfigEventKind::AutoEnabled,
                AuditAction::ConfigAutoEnabled,
            )
        } else {
            (
                ConfigStatus::Disabled,
                OpKind::Disable,
                ConfigEventKind::AutoDisabled,
                AuditAction::ConfigAutoDisabled,
            )
        };
        if held {
            db::configs::hold_by_suspension(tx, c.id).await?;
        } else {
            db::configs::set_status(tx, c.id, status, reason).await?;
        }
        ops::enqueue_for(tx, c.panel_id, c.id, kind, now).await?;
        let meta = serde_json::json!({ "before": {"status": c.status, "disabled_reason": c.disabled_reason},
                                       "after": {"status": status, "disabled_reason": reason} });
        db::configs::add_event(tx, c.id, event, &actor.name, None, None, meta.clone()).await?;
        let audit_row = NewAudit::about(actor, origin, action, (AuditTarget::Config, c.id), meta)
            .because(if enable {
                AuditAction::ResellerActivated.as_str()
            } else {
                AuditAction::ResellerSuspended.as_str()
            });
        db::audit::record(tx, audit_row).await?;
    }
    Ok(n)
}

/// The common end of an admin's suspension and activation once the status and the configs are
/// changed: the audit row (status before and after, how many configs were switched), commit,
/// then the worker woken for the queued operations. Returns the reseller as it is now.
async fn commit_status(
    ctx: &Ctx,
    mut tx: db::Tx,
    actor: &Actor,
    origin: &Origin,
    action: AuditAction,
    before: &Reseller,
    (switched_key, switched): (&str, usize),
) -> Result<Reseller> {
    let after = db::resellers::get(&mut tx, before.id)
        .await?
        .ok_or(ActionError::NotFound)?;
    let meta = serde_json::json!({
        "before": {"status": before.status, "suspended_by": before.suspended_by},
        "after": {"status": after.status, "suspended_by": after.suspended_by},
        switched_key: switched,
    });
    audit(&mut tx, actor, origin, action, before.id, meta).await?;
    tx.commit().await?;
    ctx.wake.notify_one();
    Ok(after)
}

/// Admin suspension: status `suspended` by `admin` (never lifted by the system); every active
/// config is disabled on the panel with reason `admin`.
pub async fn suspend(
    ctx: &Ctx,
    actor: &Actor,
    origin: &Origin,
    id: i64,
    now: DateTime<Utc>,
) -> Result<Reseller> {
    let mut tx = ctx.db.begin_write().await?;
    let before = db::resellers::get_for_update(&mut tx, ctx.db.backend(), id)
        .await?
        .ok_or(ActionError::NotFound)?;
    db::resellers::set_status(
        &mut tx,
        id,
        ResellerStatus::Suspended,
        Some(SuspendedBy::Admin),
    )
    .await?;
    let active = db::configs::of_reseller_with_status(&mut tx, id, ConfigStatus::Active).await?;
    let (reason, ts) = (Some(DisabledReason::Admin), now.timestamp());
    let n = switch_configs(&mut tx, actor, origin, active, false, reason, ts).await?;
    let (action, switched) = (AuditAction::ResellerSuspended, ("configs_disabled", n));
    commit_status(ctx, tx, actor, origin, action, &before, switched).await
}

/// Admin activation: back to `active`; the configs the suspension disabled and those the system
/// disabled are enabled again (never `manual` ones, nor those an admin disabled one by one), then
/// enforcement re-checks quota and window.
pub async fn activate(
    ctx: &Ctx,
    actor: &Actor,
    origin: &Origin,
    id: i64,
    now: DateTime<Utc>,
) -> Result<Reseller> {
    let mut tx = ctx.db.begin_write().await?;
    let before = db::resellers::get_for_update(&mut tx, ctx.db.backend(), id)
        .await?
        .ok_or(ActionError::NotFound)?;
    db::resellers::set_status(&mut tx, id, ResellerStatus::Active, None).await?;
    let disabled: Vec<_> =
        db::configs::of_reseller_with_status(&mut tx, id, ConfigStatus::Disabled)
            .await?
            .into_iter()
            .filter(|c| c.held_by_suspension || c.disabled_reason.is_some_and(|r| r.is_system()))
            .collect();
    let ts = now.timestamp();
    let n = switch_configs(&mut tx, actor, origin, disabled, true, None, ts).await?;
    let (action, switched) = (AuditAction::ResellerActivated, ("configs_enabled", n));
    commit_status(ctx, tx, actor, origin, action, &before, switched).await?;
    crate::enforcement::enforce_reseller(ctx, id, now, origin).await?;
    reload(ctx, id).await
}

pub async fn add_traffic(
    ctx: &Ctx,
    actor: &Actor,
    origin: &Origin,
    id: i64,
    add_bytes: i64,
    now: DateTime<Utc>,
) -> Result<Reseller> {
    if add_bytes <= 0 {
        return Err(ActionError::field("add_bytes", "resellers.err.add_bytes"));
    }
    let mut tx = ctx.db.begin_write().await?;
    let before = db::resellers::get_for_update(&mut tx, ctx.db.backend(), id)
        .await?
        .ok_or(ActionError::NotFound)?;
    if before.kind != ResellerKind::Traffic {
        return Err(ActionError::Conflict {
            code: "not_traffic_reseller",
            message: "only a traffic reseller has a quota".into(),
        });
    }
    let quota = before.traffic_quota_bytes.saturating_add(add_bytes);
    db::resellers::update_columns(&mut tx, id, &[("traffic_quota_bytes", Some(quota))], &[])
        .await?;
    audit(&mut tx, actor, origin, AuditAction::ResellerTrafficAdded, id,
        serde_json::json!({ "add_bytes": add_bytes, "before": {"traffic_quota_bytes": before.traffic_quota_bytes},
                            "after": {"traffic_quota_bytes": quota} })).await?;
    tx.commit().await?;
    crate::enforcement::enforce_reseller(ctx, id, now, origin).await?;
    reload(ctx, id).await
}

/// Moves the window end by `extend_days`: from the current end while it lies ahead, from today
/// once it has passed (so extending an ended window gives the days from now).
pub async fn extend_window(
    ctx: &Ctx,
    actor: &Actor,
    origin: &Origin,
    id: i64,
    extend_days: i64,
    now: DateTime<Utc>,
) -> Result<Reseller> {
    if !(1..=3650).contains(&extend_days) {
        return Err(ActionError::field(
            "extend_days",
            "resellers.err.extend_days",
        ));
    }
    let mut tx = ctx.db.begin_write().await?;
    let before = db::resellers::get_for_update(&mut tx, ctx.db.backend(), id)
        .await?
        .ok_or(ActionError::NotFound)?;
    if before.kind != ResellerKind::Traffic {
        return Err(ActionError::Conflict {
            code: "not_traffic_reseller",
            message: "only a traffic reseller has a window".into(),
        });
    }
    let Some(end) = before.window_ends_at else {
        return Err(ActionError::Conflict {
            code: "no_window",
            message: "this reseller has no time window to extend".into(),
        });
    };
    let end_at = db::time::from_ts(end);
    let new_end = if domain::tehran::has_ended(end_at, now) {
        domain::tehran::days_from_today(now, extend_days)
    } else {
        domain::tehran::days_from_today(end_at, extend_days)
    };
    db::resellers::update_columns(
        &mut tx,
        id,
        &[("window_ends_at", Some(new_end.timestamp()))],
        &[],
    )
    .await?;
    audit(&mut tx, actor, origin, AuditAction::ResellerWindowExtended, id,
        serde_json::json!({ "extend_days": extend_days, "before": {"window_ends_at": before.window_ends_at},
                            "after": {"window_ends_at": new_end.timestamp()} })).await?;
    tx.commit().await?;
    crate::enforcement::enforce_reseller(ctx, id, now, origin).await?;
    reload(ctx, id).await
}
