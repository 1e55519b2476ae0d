//! Marzneshin control server: bearer API under /api with services instead of inbounds.
//! Quirks kept: 409 on repeated enable/disable, `size` > 100 is 422, PUT must repeat `username`.

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use crate::auth::{bearer, oauth_token};
use crate::faults::SimOp;
use crate::http::{
    body_or_422, boolean, detail, field_error, field_errors, given, int, int_list, naive_iso, ok,
    ok_raw, parse_datetime, parse_json_object, subscription_text, Ctx, Pass,
};
use crate::jsonw::{self, Obj};
use crate::state::{limit_from, UserRec};
use crate::Sim;

/// (id, tag, protocol) of the inbounds the default `local` node reports.
const INBOUNDS: &[(i64, &str, &str)] = &[
    (1, "VLESS TCP", "vless"),
    (2, "VMess WS", "vmess"),
    (3, "Trojan TCP", "trojan"),
];

/// (id, name, inbound ids).
const SERVICES: &[(i64, &str, &[i64])] = &[(1, "default", &[1, 2]), (2, "premium", &[1, 2, 3])];

const MAX_PAGE_SIZE: usize = 100;

pub(crate) fn router() -> Router<Sim> {
    Router::new()
        .route(
            "/api/admins/token",
            post(|ctx: Ctx, body: Bytes| oauth_token(ctx, body, true)),
        )
        .route("/api/admins/current", get(current_admin))
        .route("/api/services", get(services))
        .route("/api/inbounds", get(inbounds))
        .route("/api/nodes", get(nodes))
        .route("/api/system/stats/users", get(user_stats))
        .route("/api/users", get(list).post(create))
        .route(
            "/api/users/{username}",
            get(get_user).put(modify).delete(delete_user),
        )
        .route("/api/users/{username}/enable", post(enable))
        .route("/api/users/{username}/disable", post(disable))
        .route("/api/users/{username}/reset", post(reset))
        .route("/sub/{username}/{key}", get(sub))
        .route("/sub/{username}/{key}/info", get(sub_info))
}

pub(crate) fn seed_defaults(rec: &mut UserRec) {
    rec.service_ids = vec![1];
    fresh_secrets(rec);
}

/// A re-created user gets a new subscription key, hence a new URL.
pub(crate) fn fresh_secrets(rec: &mut UserRec) {
    rec.secret = uuid::Uuid::new_v4().simple().to_string();
    rec.sub_id = rec.secret.clone();
}

fn not_found() -> Response {
    detail(StatusCode::NOT_FOUND, "User not found")
}

/// Python's `\w{3,32}` on the username.
fn valid_username(u: &str) -> bool {
    (3..=32).contains(&u.chars().count()) && u.chars().all(|c| c.is_alphanumeric() || c == '_')
}

fn strategy(rec: &UserRec) -> &'static str {
    if rec.on_hold() {
        "start_on_first_use"
    } else if rec.expires_at.is_some() {
        "fixed_date"
    } else {
        "never"
    }
}

/// Marzneshin's UserResponse, written by hand because listings carry many of them.
fn write_user(out: &mut String, sim: &Sim, rec: &UserRec, now: DateTime<Utc>) {
    let expired = rec.expired(now);
    let reached = rec.limited();
    let is_active = rec.enabled && !expired && !reached;
    let sub = format!("{}/sub/{}/{}", sim.base_url(), rec.username, rec.secret);
    Obj::new(out)
        .int("id", rec.id)
        .str("username", &rec.username)
        .str("key", &rec.secret)
        .str("expire_strategy", strategy(rec))
        .opt_str("expire_date", rec.expires_at.map(naive_iso).as_deref())
        .opt_int(
            "usage_duration",
            rec.first_use_ms
                .filter(|_| rec.on_hold())
                .map(|ms| ms / 1000),
        )
        .null("activation_deadline")
        .opt_int("data_limit", rec.limit)
        .str("data_limit_reset_strategy", &rec.reset_strategy)
        .str("note", &rec.note)
        .null("sub_updated_at")
        .null("sub_last_user_agent")
        .null("online_at")
        // Stored: enable, reset and modify set it at once, only the review job clears it late.
        .bool("activated", rec.activated)
        .bool("is_active", is_active)
        .bool("expired", expired)
        .bool("data_limit_reached", reached)
        .bool("enabled", rec.enabled)
        .int("used_traffic", rec.used)
        .int("lifetime_used_traffic", rec.lifetime)
        .null("sub_revoked_at")
        .str("created_at", &naive_iso(rec.created_at))
        .ints("service_ids", &rec.service_ids)
        .str("subscription_url", &sub)
        .str("owner_username", rec.owner_name(sim.admin_username()))
        .opt_str(
            "traffic_reset_at",
            rec.traffic_reset_at.map(naive_iso).as_deref(),
        )
        .end();
}

fn user_response(sim: &Sim, rec: &UserRec, now: DateTime<Utc>) -> Response {
    let mut out = String::with_capacity(1024);
    write_user(&mut out, sim, rec, now);
    ok_raw(out)
}

/// fastapi-pagination's Page with `links`; `items` is an already written JSON array.
fn page_json(items: &str, total: usize, page: usize, size: usize, path: &str) -> String {
    let pages = total.div_ceil(size);
    let link = |p: usize| format!("{path}?page={p}&size={size}");
    let mut out = String::with_capacity(items.len() + 512);
    Obj::new(&mut out)
        .with("items", |o| o.push_str(items))
        .int("total", total as i64)
        .int("page", page as i64)
        .int("size", size as i64)
        .int("pages", pages as i64)
        .with("links", |o| {
            Obj::new(o)
                .str("first", &link(1))
                .str("last", &link(pages.max(1)))
                .str("self", &link(page))
                .opt_str("next", (page < pages).then(|| link(page + 1)).as_deref())
                .opt_str("prev", (page > 1).then(|| link(page - 1)).as_deref())
                .end()
        })
        .end();
    out
}

/// `page` >= 1 and 1 <= `size` <= 100, with FastAPI's 422 otherwise.
fn page_params(ctx: &Ctx) -> Result<(usize, usize), Response> {
    let parse = |key: &str, default: usize| -> Result<usize, Response> {
        match ctx.query_one(key) {
            None => Ok(default),
            Some(v) => v
                .parse::<i64>()
                .map_err(|_| {
                    field_error(
                        key,
                        "Input should be a valid integer, unable to parse string as an integer",
                    )
                })
                .and_then(|n| {
                    if n < 1 {
                        Err(field_error(
                            key,
                            "Input should be greater than or equal to 1",
                        ))
                    } else {
                        Ok(n as usize)
                    }
                }),
        }
    };
    let page = parse("page", 1)?;
    let size = parse("size", 50)?;
    if size > MAX_PAGE_SIZE {
        return Err(field_error(
            "size",
            "Input should be less than or equal to 100",
        ));
    }
    Ok((page, size))
}

fn paged(ctx: &Ctx, all: Vec<Value>, path: &str) -> Response {
    let (page, size) = check!(page_params(ctx));
    let total = all.len();
    let items: Vec<Value> = all.into_iter().skip((page - 1) * size).take(size).collect();
    ok_raw(page_json(
        &Value::from(items).to_string(),
        total,
        page,
        size,
        path,
    ))
}

async fn current_admin(ctx: Ctx) -> Response {
    gate!(ctx, SimOp::Choices);
    check!(bearer(&ctx));
    let usage: i64 = ctx.sim.store().iter().map(|r| r.lifetime).sum();
    ok(json!({
        "id": 1,
        "username": ctx.sim.admin_username(),
        "is_sudo": true,
        "enabled": true,
        "all_services_access": true,
        "modify_users_access": true,
        "service_ids": [],
        "subscription_url_prefix": "",
        "users_data_usage": usage,
    }))
}

async fn services(ctx: Ctx) -> Response {
    gate!(ctx, SimOp::Choices);
    check!(bearer(&ctx));
    let items: Vec<Value> = {
        let store = ctx.sim.store();
        SERVICES
            .iter()
            .map(|(id, name, inbounds)| {
                let users: Vec<i64> = store
                    .iter()
                    .filter(|r| r.service_ids.contains(id))
                    .map(|r| r.id)
                    .collect();
                json!({ "id": id, "name": name, "inbound_ids": inbounds, "user_ids": users })
            })
            .collect()
    };
    paged(&ctx, items, "/api/services")
}

fn node_json() -> Value {
    json!({
        "id": 1, "name": "local", "address": "127.0.0.1", "port": 53042,
        "connection_backend": "grpclib", "usage_coefficient": 1.0,
        "xray_version": "1.8.24", "status": "healthy", "message": null,
    })
}

async fn inbounds(ctx: Ctx) -> Response {
    gate!(ctx, SimOp::Choices);
    check!(bearer(&ctx));
    let items = INBOUNDS
        .iter()
        .map(|(id, tag, proto)| {
            let services: Vec<i64> = SERVICES
                .iter()
                .filter(|s| s.2.contains(id))
                .map(|s| s.0)
                .collect();
            json!({ "id": id, "tag": tag, "protocol": proto, "config": "{}", "node": node_json(), "service_ids": services })
        })
        .collect();
    paged(&ctx, items, "/api/inbounds")
}

async fn nodes(ctx: Ctx) -> Response {
    gate!(ctx, SimOp::Choices);
    check!(bearer(&ctx));
    paged(&ctx, vec![node_json()], "/api/nodes")
}

async fn user_stats(ctx: Ctx) -> Response {
    gate!(ctx, SimOp::Choices);
    check!(bearer(&ctx));
    let now = Utc::now();
    let store = ctx.sim.store();
    let count = |f: &dyn Fn(&UserRec) -> bool| store.iter().filter(|r| f(r)).count();
    ok(json!({
        "total": store.len(),
        "active": count(&|r| r.usable(now)),
        "on_hold": count(&|r| r.on_hold()),
        "expired": count(&|r| r.expired(now)),
        "limited": count(&|r| r.limited()),
        "online": 0,
    }))
}

/// Expiry fields shared by create and modify: `Some(expires, first_use_ms)` when they change.
type Expiry = (Option<DateTime<Utc>>, Option<i64>);

fn parse_expiry(
    m: &Map<String, Value>,
    required: bool,
) -> Result<Option<Expiry>, (String, String)> {
    let date = given(m, "expire_date");
    let strategy = match given(m, "expire_strategy") {
        Some(v) => v.as_str().map(str::to_string).ok_or_else(|| {
            (
                "expire_strategy".to_string(),
                "Input should be 'never', 'fixed_date' or 'start_on_first_use'".to_string(),
            )
        })?,
        // Modify may move only the date; it implies a fixed date.
        None if !required && date.is_some() => "fixed_date".to_string(),
        None if !required => return Ok(None),
        None => return Err(("expire_strategy".into(), "Field required".into())),
    };
    match strategy.as_str() {
        "never" => Ok(Some((None, None))),
        "fixed_date" => {
            let d = date.ok_or_else(|| {
                (
                    "expire_date".to_string(),
                    "Value error, expire_date is required for fixed_date expire strategy"
                        .to_string(),
                )
            })?;
            let t = parse_datetime(d).ok_or_else(|| {
                (
                    "expire_date".to_string(),
                    "Input should be a valid datetime".to_string(),
                )
            })?;
            Ok(Some((Some(t), None)))
        }
        "start_on_first_use" => {
            let secs = given(m, "usage_duration").and_then(int).filter(|s| *s > 0).ok_or_else(|| {
                ("usage_duration".to_string(), "Value error, usage_duration is required for start_on_first_use expire strategy".to_string())
            })?;
            Ok(Some((None, Some(secs * 1000))))
        }
        _ => Err((
            "expire_strategy".into(),
            "Input should be 'never', 'fixed_date' or 'start_on_first_use'".into(),
        )),
    }
}

fn parse_data_limit(m: &Map<String, Value>) -> Result<Option<Option<i64>>, (String, String)> {
    match given(m, "data_limit") {
        None => Ok(None),
        Some(v) => match int(v) {
            Some(b) if b >= 0 => Ok(Some(limit_from(b))),
            Some(_) => Err((
                "data_limit".into(),
                "Input should be greater than or equal to 0".into(),
            )),
            None => Err((
                "data_limit".into(),
                "Input should be a valid integer".into(),
            )),
        },
    }
}

/// Unknown service ids are dropped silently, as the SQL `IN` lookup does.
fn known_services(ids: Vec<i64>) -> Vec<i64> {
    ids.into_iter()
        .filter(|id| SERVICES.iter().any(|s| s.0 == *id))
        .collect()
}

/// What create and modify read alike; None where the body leaves a field out.
struct Fields {
    expiry: Option<Expiry>,
    limit: Option<Option<i64>>,
    services: Option<Vec<i64>>,
}

/// The expiry (required on create), limit and service ids of a body; a bad one adds its error
/// (in this order) and reads as left out.
fn parse_fields(
    m: &Map<String, Value>,
    create: bool,
    errors: &mut Vec<(String, String)>,
) -> Fields {
    let expiry = parse_expiry(m, create).unwrap_or_else(|e| {
        errors.push(e);
        None
    });
    let limit = parse_data_limit(m).unwrap_or_else(|e| {
        errors.push(e);
        None
    });
    let services = given(m, "service_ids").and_then(|v| {
        int_list(v).or_else(|| {
            errors.push(("service_ids".into(), "Input should be a valid list".into()));
            None
        })
    });
    Fields {
        expiry,
        limit,
        services,
    }
}

async fn create(ctx: Ctx, body: Bytes) -> Response {
    gate!(ctx, SimOp::Create);
    check!(bearer(&ctx));
    let m = check!(body_or_422(parse_json_object(&body)));
    let mut errors: Vec<(String, String)> = Vec::new();
    let raw_name = m
        .get("username")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if m.get("username").is_none() {
        errors.push(("username".into(), "Field required".into()));
    } else if !valid_username(raw_name) {
        errors.push((
            "username".into(),
            "String should match pattern '^\\w{3,32}$'".into(),
        ));
    }
    let Fields {
        expiry,
        limit,
        services,
    } = parse_fields(&m, true, &mut errors);
    if !errors.is_empty() {
        return field_errors(&errors);
    }
    // Marzneshin lower-cases usernames on the way in.
    let username = raw_name.to_lowercase();
    let now = Utc::now();
    let mut store = ctx.sim.store();
    if store.contains(&username) {
        return detail(StatusCode::CONFLICT, "User already exists");
    }
    let id = store.next_id();
    let mut rec = UserRec::new(id, &username, now);
    fresh_secrets(&mut rec);
    rec.limit = limit.flatten();
    if let Some((expires, first_use)) = expiry {
        rec.expires_at = expires;
        rec.first_use_ms = first_use;
    }
    rec.service_ids = known_services(services.unwrap_or_default());
    rec.set_note_and_reset_strategy(&m);
    let resp = user_response(&ctx.sim, &rec, now);
    store.insert(rec);
    resp
}

async fn get_user(ctx: Ctx, Path(username): Path<String>) -> Response {
    gate!(ctx, SimOp::Get);
    check!(bearer(&ctx));
    let store = ctx.sim.store();
    let now = Utc::now();
    store
        .get(&username)
        .map_or_else(not_found, |rec| user_response(&ctx.sim, rec, now))
}

async fn modify(ctx: Ctx, Path(username): Path<String>, body: Bytes) -> Response {
    gate!(ctx, SimOp::Update);
    check!(bearer(&ctx));
    let m = check!(body_or_422(parse_json_object(&body)));
    let mut errors: Vec<(String, String)> = Vec::new();
    // The trap the PHP original fell into: UserModify declares `username` as required.
    match m.get("username") {
        None => errors.push(("username".into(), "Field required".into())),
        Some(Value::String(u)) if valid_username(u) => {}
        Some(Value::String(_)) => errors.push((
            "username".into(),
            "String should match pattern '^\\w{3,32}$'".into(),
        )),
        Some(_) => errors.push(("username".into(), "Input should be a valid string".into())),
    }
    let Fields {
        expiry,
        limit,
        services,
    } = parse_fields(&m, false, &mut errors);
    if !errors.is_empty() {
        return field_errors(&errors);
    }
    let now = Utc::now();
    let mut store = ctx.sim.store();
    let Some(rec) = store.get_mut(&username) else {
        return not_found();
    };
    // `usage_duration` defaults to the tuple `(None,)` in the model; only a given expire
    // strategy (whose validator clears it) or an explicit value keeps it out of the UPDATE,
    // which otherwise fails in the database driver.
    if given(&m, "expire_strategy").is_none() && !m.contains_key("usage_duration") {
        return internal_error();
    }
    let active_before = rec.usable(now);
    if let Some(l) = limit {
        rec.limit = l;
    }
    if let Some((expires, first_use)) = expiry {
        rec.expires_at = expires;
        rec.first_use_ms = first_use;
    }
    if let Some(s) = services {
        rec.service_ids = known_services(s);
    }
    rec.set_note_and_reset_strategy(&m);
    if rec.usable(now) != active_before {
        rec.activated = rec.usable(now);
    }
    let rec = rec.clone();
    drop(store);
    user_response(&ctx.sim, &rec, now)
}

/// Starlette's answer to an exception in a route: a plain-text 500.
fn internal_error() -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "Internal Server Error",
    )
        .into_response()
}

/// Not idempotent on purpose: a second enable or disable is a 409.
async fn set_enabled(ctx: Ctx, username: String, enable: bool) -> Response {
    gate!(
        ctx,
        if enable {
            SimOp::Enable
        } else {
            SimOp::Disable
        }
    );
    check!(bearer(&ctx));
    let mut store = ctx.sim.store();
    let Some(rec) = store.get_mut(&username) else {
        return not_found();
    };
    if rec.enabled == enable {
        let msg = if enable {
            "User is already enabled"
        } else {
            "User is not enabled"
        };
        return detail(StatusCode::CONFLICT, msg);
    }
    let now = Utc::now();
    rec.enabled = enable;
    // Enable pushes an active user to the nodes at once; disable always pulls it.
    rec.activated = enable && (rec.activated || rec.usable(now));
    let rec = rec.clone();
    drop(store);
    user_response(&ctx.sim, &rec, now)
}

async fn enable(ctx: Ctx, Path(username): Path<String>) -> Response {
    set_enabled(ctx, username, true).await
}

async fn disable(ctx: Ctx, Path(username): Path<String>) -> Response {
    set_enabled(ctx, username, false).await
}

async fn reset(ctx: Ctx, Path(username): Path<String>) -> Response {
    let pass = gate!(ctx, SimOp::Reset);
    check!(bearer(&ctx));
    let now = Utc::now();
    let mut store = ctx.sim.store();
    let was_active = store.get(&username).is_some_and(|r| r.usable(now));
    // The switch stays as it is: a disabled user stays disabled (spec/panels.md §9); one that
    // becomes active again is pushed to the nodes at once.
    if pass == Pass::Normal && store.reset(&username, now) {
        if let Some(rec) = store.get_mut(&username) {
            if rec.usable(now) && !was_active {
                rec.activated = true;
            }
        }
    }
    store
        .get(&username)
        .map_or_else(not_found, |rec| user_response(&ctx.sim, rec, now))
}

async fn delete_user(ctx: Ctx, Path(username): Path<String>) -> Response {
    gate!(ctx, SimOp::Delete);
    check!(bearer(&ctx));
    // A soft delete on the real panel (the row stays with its username nulled), which the API
    // cannot tell from a hard one: the user is gone everywhere and the name is free again.
    let removed = ctx.sim.store().remove(&username);
    removed.map_or_else(not_found, |_| ok(json!({})))
}

async fn list(ctx: Ctx) -> Response {
    gate!(ctx, SimOp::List);
    check!(bearer(&ctx));
    let (page, size) = check!(page_params(&ctx));
    let names: Vec<String> = ctx
        .query_all("username")
        .iter()
        .map(|s| s.to_lowercase())
        .collect();
    let mut flags: Vec<(&str, bool)> = Vec::new();
    for key in [
        "enabled",
        "is_active",
        "expired",
        "data_limit_reached",
        "activated",
    ] {
        if let Some(v) = ctx.query_one(key) {
            match boolean(&Value::String(v.to_string())) {
                Some(b) => flags.push((key, b)),
                None => {
                    return field_error(
                        key,
                        "Input should be a valid boolean, unable to interpret input",
                    )
                }
            }
        }
    }
    let order_by = ctx.query_one("order_by").map(str::to_string);
    let descending = ctx
        .query_one("descending")
        .and_then(|v| boolean(&Value::String(v.to_string())))
        .unwrap_or(false);
    let now = Utc::now();
    let sim = &ctx.sim;
    let store = sim.store();
    let flag_of = |r: &UserRec, key: &str| match key {
        "enabled" => r.enabled,
        "expired" => r.expired(now),
        "data_limit_reached" => r.limited(),
        "activated" => r.activated,
        _ => r.usable(now),
    };
    let (total, recs): (usize, Vec<&UserRec>) =
        if names.is_empty() && flags.is_empty() && order_by.is_none() && !descending {
            let recs = store.page((page - 1) * size, Some(size)).collect();
            (store.len(), recs)
        } else {
            let mut recs: Vec<&UserRec> = store
                .iter()
                .filter(|r| match names.len() {
                    0 => true,
                    // One value is an ILIKE substring match, several an exact IN: a real quirk.
                    1 => r.username.to_lowercase().contains(&names[0]),
                    _ => names.contains(&r.username),
                })
                .filter(|r| flags.iter().all(|(k, b)| flag_of(r, k) == *b))
                .collect();
            let key = order_by.as_deref().unwrap_or("id");
            recs.sort_by_key(|r| r.sort_key(key, "expire_date"));
            if descending {
                recs.reverse();
            }
            let total = recs.len();
            (
                total,
                recs.into_iter()
                    .skip((page - 1) * size)
                    .take(size)
                    .collect(),
            )
        };
    let mut items = String::with_capacity(recs.len() * 1024);
    jsonw::array(&mut items, recs, |o, r| write_user(o, sim, r, now));
    drop(store);
    ok_raw(page_json(&items, total, page, size, "/api/users"))
}

fn find_by_key(ctx: &Ctx, username: &str, key: &str) -> Option<UserRec> {
    ctx.sim
        .store()
        .get(username)
        .filter(|r| r.secret == key)
        .cloned()
}

async fn sub(ctx: Ctx, Path((username, key)): Path<(String, String)>) -> Response {
    gate!(ctx, SimOp::Subscription);
    let Some(rec) = find_by_key(&ctx, &username, &key) else {
        return detail(StatusCode::NOT_FOUND, "Not Found");
    };
    let host = ctx.sim.local_addr().ip();
    let links: Vec<String> = INBOUNDS
        .iter()
        .filter(|(id, _, _)| {
            rec.service_ids
                .iter()
                .any(|s| SERVICES.iter().any(|x| x.0 == *s && x.2.contains(id)))
        })
        .map(|(_, tag, proto)| {
            format!(
                "{proto}://{}@{host}:443#{}",
                rec.secret,
                tag.replace(' ', "%20")
            )
        })
        .collect();
    subscription_text(&links, &rec)
}

async fn sub_info(ctx: Ctx, Path((username, key)): Path<(String, String)>) -> Response {
    gate!(ctx, SimOp::Subscription);
    match find_by_key(&ctx, &username, &key) {
        Some(rec) => user_response(&ctx.sim, &rec, Utc::now()),
        None => detail(StatusCode::NOT_FOUND, "Not Found"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn username_pattern() {
        assert!(valid_username("user_001"));
        assert!(!valid_username("us"));
        assert!(!valid_username("user-001"));
        assert!(!valid_username("a.b.c"));
    }

    #[test]
    fn page_links() {
        let p: Value = serde_json::from_str(&page_json("[]", 3, 1, 2, "/api/users")).unwrap();
        assert_eq!(p["pages"], 2);
        assert_eq!(p["links"]["next"], "/api/users?page=2&size=2");
        assert!(p["links"]["prev"].is_null());
    }
}
