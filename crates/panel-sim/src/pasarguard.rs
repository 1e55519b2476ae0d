//! PasarGuard v3.1.0 (a Marzban fork) as run by `../shared/real-panels/start.sh`: users in
//! groups (which carry the inbound tags), expiry as an ISO datetime, create 201, delete 204,
//! switches by `PUT /api/user/{u} {"status"}`. With a reported version of 5 or more
//! (`Sim::set_version("5.2.1")`) it also takes the API key (`X-Api-Key`) and
//! `PUT /api/user/{u}/disabled`, which v3.1 does not have (404).

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use crate::auth::{bearer, oauth_token};
use crate::faults::SimOp;
use crate::http::{
    body_or_422, boolean, detail, field_errors, given, int, int_list, new_uuid, ok, page,
    parse_datetime, parse_json_object, random_string, Ctx, Pass,
};
use crate::marzban::{
    classify_modify, expiry_changed, limit_changed, signed_token, status, subscription,
    token_payload,
};
use crate::state::{limit_from, Flag, UserRec};
use crate::Sim;

/// (id, name, inbound tags): the real panel's `default` group (start.sh) and a second one, so a
/// placement that ignored the settings would show.
const GROUPS: &[(i64, &str, &[&str])] = &[
    (1, "default", &["Shadowsocks TCP"]),
    (2, "vip", &["VLESS TCP", "Shadowsocks TCP"]),
];

const INBOUNDS: &[&str] = &["Shadowsocks TCP", "VLESS TCP"];

pub(crate) fn router() -> Router<Sim> {
    Router::new()
        .route(
            "/api/admin/token",
            post(|ctx: Ctx, body: Bytes| oauth_token(ctx, body, false)),
        )
        .route("/api/system", get(system))
        .route("/api/inbounds", get(inbounds))
        .route("/api/groups", get(groups))
        .route("/api/user", post(create))
        .route(
            "/api/user/{username}",
            get(get_user).put(modify).delete(delete_user),
        )
        .route("/api/user/{username}/disabled", put(set_disabled))
        .route("/api/user/{username}/reset", post(reset))
        .route("/api/users", get(list))
        .route("/sub/{token}", get(sub))
        .route("/sub/{token}/info", get(sub_info))
}

/// What `seed_users` and re-creation give a user: the `default` group.
pub(crate) fn seed_defaults(rec: &mut UserRec) {
    rec.service_ids = vec![GROUPS[0].0];
    fresh_secrets(rec);
}

/// New ids and passwords for every protocol, as the panel generates for `proxy_settings: {}`.
pub(crate) fn fresh_secrets(rec: &mut UserRec) {
    let mut p = Map::new();
    p.insert("vless".into(), json!({"id": new_uuid(), "flow": ""}));
    p.insert(
        "shadowsocks".into(),
        json!({"password": random_string(32), "method": "chacha20-ietf-poly1305"}),
    );
    rec.proxies = p;
    // Subscription tokens name the user id, so a re-created user (new id) gets a new URL.
    rec.sub_id = format!("v3,{}", rec.id);
}

fn v5(sim: &Sim) -> bool {
    let v = sim.version();
    v.trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|m| m.parse::<u32>().ok())
        .is_some_and(|m| m >= 5)
}

/// A bearer token, or from v5 on the API key (`X-Api-Key` or `Authorization: ApiKey`).
fn auth(ctx: &Ctx) -> Result<(), Response> {
    if v5(&ctx.sim) {
        let key = ctx
            .header("x-api-key")
            .or_else(|| {
                ctx.header("authorization")
                    .and_then(|h| h.strip_prefix("ApiKey "))
            })
            .map(str::trim);
        if key.is_some_and(|k| k == ctx.sim.api_key()) {
            return Ok(());
        }
    }
    bearer(ctx)
}

fn not_found() -> Response {
    detail(StatusCode::NOT_FOUND, "User not found")
}

fn group_not_found() -> Response {
    detail(StatusCode::NOT_FOUND, "Group not found")
}

fn iso(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The real v3.1 UserResponse (no `hwid_limit`; the list leaves `subscription_url` empty unless
/// `load_sub=true`).
fn user_json(sim: &Sim, rec: &UserRec, now: DateTime<Utc>, with_sub: bool) -> Value {
    let sub = if with_sub {
        format!(
            "/sub/{}",
            signed_token(sim, &format!("v3,{},{}", rec.id, now.timestamp()))
        )
    } else {
        String::new()
    };
    json!({
        "proxy_settings": rec.proxies,
        "expire": rec.expires_at.map(iso),
        "data_limit": rec.limit,
        "data_limit_reset_strategy": rec.reset_strategy,
        "note": (!rec.note.is_empty()).then_some(&rec.note),
        "on_hold_expire_duration": rec.first_use_ms.map(|ms| ms / 1000),
        "on_hold_timeout": null,
        "group_ids": rec.service_ids,
        "auto_delete_in_days": null,
        "next_plan": null,
        "id": rec.id,
        "username": rec.username,
        "status": status(rec),
        "used_traffic": rec.used,
        "lifetime_used_traffic": rec.lifetime,
        "created_at": format!("{}Z", crate::jsonw::naive_iso(rec.created_at)),
        "edit_at": null,
        "online_at": null,
        "subscription_url": sub,
        "admin": {"username": rec.owner_name(sim.admin_username())},
    })
}

fn user_response(sim: &Sim, rec: &UserRec, now: DateTime<Utc>) -> Response {
    ok(user_json(sim, rec, now, true))
}

/// 3..128 of `[a-zA-Z0-9-_@.]` without two specials in a row; case is kept and matters.
fn username_error(u: &str) -> Option<&'static str> {
    let special = |c: char| "-_@.".contains(c);
    if !(3..=128).contains(&u.chars().count()) {
        Some("Value error, Username only can be 3 to 128 characters.")
    } else if !u.chars().all(|c| c.is_ascii_alphanumeric() || special(c)) {
        Some("Value error, Username can only contain alphanumeric characters, -, _, @, and .")
    } else if u
        .chars()
        .zip(u.chars().skip(1))
        .any(|(a, b)| special(a) && special(b))
    {
        Some("Value error, Username cannot have consecutive special characters")
    } else {
        None
    }
}

/// What create and modify share: limit, expiry (ISO, unix seconds, 0 = never), status, groups.
#[derive(Default)]
struct Fields {
    data_limit: Option<Option<i64>>,
    expire: Option<Option<DateTime<Utc>>>,
    status: Option<String>,
    on_hold_secs: Option<i64>,
    /// Non-empty when sent; empty on modify means "unchanged".
    group_ids: Vec<i64>,
}

fn parse_fields(
    m: &Map<String, Value>,
    create: bool,
    errors: &mut Vec<(String, String)>,
) -> Fields {
    let mut f = Fields::default();
    let mut err = |k: &str, v: &str| errors.push((k.to_string(), v.to_string()));
    if let Some(v) = given(m, "data_limit") {
        match int(v) {
            Some(b) if b >= 0 => f.data_limit = Some(limit_from(b)),
            Some(_) => err("data_limit", "Input should be greater than or equal to 0"),
            None => err("data_limit", "Input should be a valid integer"),
        }
    }
    if let Some(v) = given(m, "expire") {
        match (int(v), parse_datetime(v)) {
            (Some(0), _) => f.expire = Some(None),
            (_, Some(t)) => f.expire = Some(Some(t)),
            _ => err("expire", "Input should be a valid datetime"),
        }
    }
    if let Some(v) = given(m, "status") {
        let allowed: &[&str] = if create {
            &["active", "on_hold"]
        } else {
            &["active", "disabled", "on_hold"]
        };
        match v.as_str() {
            Some(s) if allowed.contains(&s) => f.status = Some(s.to_string()),
            _ => err("status", "Value error, ('status must be in', …)"),
        }
    }
    if let Some(v) = given(m, "on_hold_expire_duration") {
        match int(v) {
            Some(s) if s > 0 => f.on_hold_secs = Some(s),
            _ => err("on_hold_expire_duration", "Input should be a valid integer"),
        }
    }
    if f.status.as_deref() == Some("on_hold") && f.on_hold_secs.is_none() {
        err(
            "status",
            "Value error, User cannot be on hold without a valid on_hold_expire_duration.",
        );
    }
    match given(m, "group_ids").map(int_list) {
        Some(Some(ids)) => f.group_ids = ids,
        Some(None) => err("group_ids", "Input should be a valid list"),
        None => {}
    }
    if create && f.group_ids.is_empty() {
        err(
            "group_ids",
            "Value error, you must select at least one group",
        );
    }
    f
}

fn groups_exist(ids: &[i64]) -> bool {
    ids.iter().all(|id| GROUPS.iter().any(|g| g.0 == *id))
}

async fn system(ctx: Ctx) -> Response {
    gate!(ctx, SimOp::Choices);
    check!(auth(&ctx));
    let (total, active) = {
        let store = ctx.sim.store();
        let active = store.iter().filter(|r| status(r) == "active").count();
        (store.len(), active)
    };
    ok(json!({
        "version": ctx.sim.version(),
        "uptime_seconds": 1000,
        "cpu_cores": 2,
        "cpu_usage": 0.0,
        "total_user": total,
        "online_users": 0,
        "active_users": active,
        "incoming_bandwidth": 0,
        "outgoing_bandwidth": 0,
    }))
}

async fn inbounds(ctx: Ctx) -> Response {
    gate!(ctx, SimOp::Choices);
    check!(auth(&ctx));
    ok(json!(INBOUNDS))
}

async fn groups(ctx: Ctx) -> Response {
    gate!(ctx, SimOp::Choices);
    check!(auth(&ctx));
    let counts = {
        let store = ctx.sim.store();
        GROUPS
            .iter()
            .map(|g| {
                store
                    .iter()
                    .filter(|r| r.service_ids.contains(&g.0))
                    .count()
            })
            .collect::<Vec<_>>()
    };
    let groups: Vec<Value> = GROUPS
        .iter()
        .zip(counts)
        .map(|((id, name, tags), n)| {
            json!({"name": name, "inbound_tags": tags, "is_disabled": false, "id": id,
                "total_users": n})
        })
        .collect();
    ok(json!({ "groups": groups, "total": GROUPS.len() }))
}

async fn create(ctx: Ctx, body: Bytes) -> Response {
    gate!(ctx, SimOp::Create);
    check!(auth(&ctx));
    let m = check!(body_or_422(parse_json_object(&body)));
    let mut errors = Vec::new();
    let username = m
        .get("username")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if m.get("username").is_none() {
        errors.push(("username".into(), "Field required".into()));
    } else if let Some(e) = username_error(username) {
        errors.push(("username".into(), e.into()));
    }
    let f = parse_fields(&m, true, &mut errors);
    if !errors.is_empty() {
        return field_errors(&errors);
    }
    if !groups_exist(&f.group_ids) {
        return group_not_found();
    }
    let now = Utc::now();
    let mut store = ctx.sim.store();
    if store.contains(username) {
        return detail(StatusCode::CONFLICT, "User already exists");
    }
    let mut rec = UserRec::new(store.next_id(), username, now);
    rec.service_ids = f.group_ids;
    rec.limit = f.data_limit.flatten();
    rec.expires_at = f.expire.flatten();
    if f.status.as_deref() == Some("on_hold") {
        rec.first_use_ms = f.on_hold_secs.map(|s| s * 1000);
        rec.expires_at = None;
    }
    if let Some(n) = m.get("note").and_then(Value::as_str) {
        rec.note = n.to_string();
    }
    fresh_secrets(&mut rec);
    let mut resp = user_response(&ctx.sim, &rec, now);
    store.insert(rec);
    *resp.status_mut() = StatusCode::CREATED;
    resp
}

async fn get_user(ctx: Ctx, Path(username): Path<String>) -> Response {
    gate!(ctx, SimOp::Get);
    check!(auth(&ctx));
    let store = ctx.sim.store();
    let now = Utc::now();
    store
        .get(&username)
        .map_or_else(not_found, |rec| user_response(&ctx.sim, rec, now))
}

/// `crud.modify_user`'s order: the status, then the expiry, then the limit, each of which may
/// move the status again (as Marzban's).
async fn modify(ctx: Ctx, Path(username): Path<String>, body: Bytes) -> Response {
    let parsed = parse_json_object(&body);
    let op = parsed
        .as_ref()
        .map(classify_modify)
        .unwrap_or(SimOp::Update);
    gate!(ctx, op);
    check!(auth(&ctx));
    let m = check!(body_or_422(parsed));
    let mut errors = Vec::new();
    let f = parse_fields(&m, false, &mut errors);
    if !errors.is_empty() {
        return field_errors(&errors);
    }
    let now = Utc::now();
    let mut store = ctx.sim.store();
    let Some(rec) = store.get_mut(&username) else {
        return not_found();
    };
    if !groups_exist(&f.group_ids) {
        return group_not_found();
    }
    match f.status.as_deref() {
        Some("disabled") => switch(rec, false),
        // Accepted over the limit or past the expiry: `active` until the review job.
        Some("active") => switch(rec, true),
        Some("on_hold") => {
            rec.enabled = true;
            rec.flag = None;
            rec.expires_at = None;
            rec.first_use_ms = f.on_hold_secs.map(|s| s * 1000);
        }
        _ => {}
    }
    if let Some(e) = f.expire {
        rec.expires_at = e;
        expiry_changed(rec, now);
    }
    if let Some(l) = f.data_limit {
        rec.limit = l;
        limit_changed(rec);
    }
    if !f.group_ids.is_empty() {
        rec.service_ids = f.group_ids;
    }
    if let Some(n) = m.get("note").and_then(Value::as_str) {
        rec.note = n.to_string();
    }
    let rec = rec.clone();
    drop(store);
    user_response(&ctx.sim, &rec, now)
}

fn switch(rec: &mut UserRec, enabled: bool) {
    rec.enabled = enabled;
    rec.flag = None;
}

/// v5's `PUT /api/user/{u}/disabled {"disabled": bool}`; v3.1 has no such route.
async fn set_disabled(ctx: Ctx, Path(username): Path<String>, body: Bytes) -> Response {
    let disabled = parse_json_object(&body)
        .ok()
        .and_then(|m| m.get("disabled").and_then(boolean));
    gate!(
        ctx,
        if disabled == Some(false) {
            SimOp::Enable
        } else {
            SimOp::Disable
        }
    );
    if !v5(&ctx.sim) {
        return detail(StatusCode::NOT_FOUND, "Not Found");
    }
    check!(auth(&ctx));
    let Some(disabled) = disabled else {
        return crate::http::field_error("disabled", "Field required");
    };
    let mut store = ctx.sim.store();
    let Some(rec) = store.get_mut(&username) else {
        return not_found();
    };
    switch(rec, !disabled);
    let rec = rec.clone();
    drop(store);
    user_response(&ctx.sim, &rec, Utc::now())
}

/// `reset_user_data_usage`: a disabled or expired user keeps its status, a limited or on-hold
/// one comes back `active` (the on-hold one then never expires).
async fn reset(ctx: Ctx, Path(username): Path<String>) -> Response {
    let pass = gate!(ctx, SimOp::Reset);
    check!(auth(&ctx));
    let now = Utc::now();
    let mut store = ctx.sim.store();
    if pass == Pass::Normal && store.reset(&username, now) {
        if let Some(rec) = store.get_mut(&username) {
            if rec.enabled && rec.flag != Some(Flag::Expired) {
                rec.flag = None;
                if rec.on_hold() {
                    rec.first_use_ms = None;
                }
            }
        }
    }
    store
        .get(&username)
        .map_or_else(not_found, |rec| user_response(&ctx.sim, rec, now))
}

async fn delete_user(ctx: Ctx, Path(username): Path<String>) -> Response {
    gate!(ctx, SimOp::Delete);
    check!(auth(&ctx));
    let removed = ctx.sim.store().remove(&username);
    removed.map_or_else(not_found, |_| StatusCode::NO_CONTENT.into_response())
}

/// `offset`/`limit` (0 = all) over users by id, `username` repeatable, `load_sub=true` for the
/// subscription URLs.
async fn list(ctx: Ctx) -> Response {
    gate!(ctx, SimOp::List);
    check!(auth(&ctx));
    let offset = ctx
        .query_one("offset")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    let limit = ctx
        .query_one("limit")
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|l| *l > 0);
    let names = ctx.query_all("username");
    let with_sub = ctx.query_one("load_sub") == Some("true");
    let now = Utc::now();
    let store = ctx.sim.store();
    let recs: Vec<&UserRec> = store
        .iter()
        .filter(|r| names.is_empty() || names.contains(&r.username.as_str()))
        .collect();
    let total = recs.len();
    let users: Vec<Value> = page(recs.into_iter(), offset, limit)
        .into_iter()
        .map(|r| user_json(&ctx.sim, r, now, with_sub))
        .collect();
    drop(store);
    ok(json!({ "users": users, "total": total }))
}

fn find_by_token(ctx: &Ctx, token: &str) -> Option<UserRec> {
    let payload = token_payload(&ctx.sim, token)?;
    let id: i64 = payload.split(',').nth(1)?.parse().ok()?;
    ctx.sim.store().iter().find(|r| r.id == id).cloned()
}

fn links(sim: &Sim, rec: &UserRec) -> Vec<String> {
    let host = sim.local_addr().ip();
    let cred = |proto: &str, key: &str| {
        rec.proxies
            .get(proto)
            .and_then(|p| p.get(key))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let mut out = Vec::new();
    for (_, _, tags) in GROUPS.iter().filter(|g| rec.service_ids.contains(&g.0)) {
        for tag in *tags {
            let name = format!("{}%20({})", tag.replace(' ', "%20"), rec.username);
            out.push(if tag.starts_with("VLESS") {
                format!("vless://{}@{host}:443?type=tcp#{name}", cred("vless", "id"))
            } else {
                format!(
                    "ss://{}@{host}:1080#{name}",
                    cred("shadowsocks", "password")
                )
            });
        }
    }
    out
}

async fn sub(ctx: Ctx, Path(token): Path<String>) -> Response {
    gate!(ctx, SimOp::Subscription);
    match find_by_token(&ctx, &token) {
        Some(rec) => subscription(&links(&ctx.sim, &rec), &rec),
        None => detail(StatusCode::NOT_FOUND, "Not Found"),
    }
}

async fn sub_info(ctx: Ctx, Path(token): Path<String>) -> Response {
    gate!(ctx, SimOp::Subscription);
    match find_by_token(&ctx, &token) {
        Some(rec) => user_response(&ctx.sim, &rec, Utc::now()),
        None => detail(StatusCode::NOT_FOUND, "Not Found"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_as_the_real_validator() {
        assert_eq!(username_error("Probe_A1"), None);
        assert_eq!(username_error("a-b@c.d"), None);
        assert!(username_error("ab").is_some());
        assert!(username_error("a__b").is_some());
        assert!(username_error("a b c").is_some());
    }

    #[test]
    fn groups_are_required_on_create_only() {
        let mut errors = Vec::new();
        parse_fields(&Map::new(), true, &mut errors);
        assert_eq!(errors[0].0, "group_ids");
        let mut errors = Vec::new();
        let f = parse_fields(
            json!({"expire": "2027-01-01T00:00:00+03:30", "data_limit": 0})
                .as_object()
                .unwrap(),
            false,
            &mut errors,
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(f.data_limit, Some(None));
        assert_eq!(
            f.expire.flatten().map(iso).as_deref(),
            Some("2026-12-31T20:30:00Z")
        );
    }
}
