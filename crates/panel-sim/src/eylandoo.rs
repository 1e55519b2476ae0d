//! Eylandoo: static X-API-KEY API under /api/v1 with limits sent in GB and dates as YYYY-MM-DD.
//! Shapes follow the PHP original's fixtures; the toggle route flips state rather than setting it.

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{json, Map, Value};

use crate::faults::SimOp;
use crate::http::{
    float, given, int, int_list, json as reply, ok_raw, parse_json_object, random_string,
    subscription_text, Ctx, Pass,
};
use crate::jsonw::{self, Obj};
use crate::state::UserRec;
use crate::Sim;

/// (id, name, ip).
const NODES: &[(i64, &str, &str)] = &[(1, "node-de-1", "10.0.0.1"), (2, "node-nl-1", "10.0.0.2")];

/// The PHP original converts with GiB.
const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

pub(crate) fn router() -> Router<Sim> {
    Router::new()
        .route("/api/v1/nodes", get(nodes))
        .route("/api/v1/users", post(create))
        .route("/api/v1/users/list_all", get(list_all))
        .route(
            "/api/v1/users/{username}",
            get(get_user).put(modify).delete(delete_user),
        )
        .route("/api/v1/users/{username}/toggle", post(toggle))
        .route("/api/v1/users/{username}/reset_traffic", post(reset))
        .route("/api/v1/users/{username}/sub", get(sub_url))
        .route("/sub/{username}", get(sub))
}

pub(crate) fn seed_defaults(rec: &mut UserRec) {
    rec.node_ids = vec![1];
    fresh_secrets(rec);
}

pub(crate) fn fresh_secrets(rec: &mut UserRec) {
    rec.secret = random_string(12);
    rec.sub_id = rec.username.clone();
}

fn error(status: StatusCode, msg: &str) -> Response {
    reply(status, json!({ "status": "error", "message": msg }))
}

fn success(data: Value) -> Response {
    reply(StatusCode::OK, json!({ "status": "success", "data": data }))
}

fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "User not found")
}

/// A static key, never expiring; `expire_tokens()` does not touch it.
fn api_key(ctx: &Ctx) -> Result<(), Response> {
    match ctx.header("x-api-key") {
        Some(k) if k == ctx.sim.api_key() => Ok(()),
        _ => Err(error(
            StatusCode::UNAUTHORIZED,
            "Invalid or missing API key",
        )),
    }
}

fn sub_path(username: &str) -> String {
    format!("/sub/{username}")
}

fn date_str(t: Option<DateTime<Utc>>) -> Value {
    t.map(|t| json!(t.format("%Y-%m-%d").to_string()))
        .unwrap_or(Value::Null)
}

fn status_str(rec: &UserRec) -> &'static str {
    if rec.enabled {
        "active"
    } else {
        "disabled"
    }
}

fn write_user(out: &mut String, rec: &UserRec) {
    let expiry = rec.expires_at.map(|t| t.format("%Y-%m-%d").to_string());
    Obj::new(out)
        .int("id", rec.id)
        .str("username", &rec.username)
        .str("status", status_str(rec))
        .opt_int("max_clients", rec.max_clients)
        // Bytes on the way out although creation takes GB.
        .opt_int("data_limit", rec.limit)
        .int("data_used", rec.used)
        .opt_str("expiry_date", expiry.as_deref())
        .str("activation_type", "fixed_date")
        .bool("online", false)
        .ints("nodes", &rec.node_ids)
        .opt_str("sub_admin", rec.owner.as_deref())
        .end();
}

/// `{"status":"success", <extra fields>, "data": <user>}`.
fn user_response(rec: &UserRec, message: Option<&str>) -> Response {
    let mut out = String::with_capacity(512);
    let mut o = Obj::new(&mut out);
    o.str("status", "success");
    if let Some(m) = message {
        o.str("message", m);
    }
    o.with("data", |o| write_user(o, rec)).end();
    ok_raw(out)
}

/// `data_limit` in `data_limit_unit` (GB by default) to bytes; null or 0 = unlimited.
fn parse_limit(m: &Map<String, Value>) -> Result<Option<i64>, String> {
    let Some(v) = given(m, "data_limit") else {
        return Ok(None);
    };
    let amount = float(v).ok_or("data_limit must be a number")?;
    if amount < 0.0 {
        return Err("data_limit must not be negative".into());
    }
    let unit = match m
        .get("data_limit_unit")
        .and_then(Value::as_str)
        .unwrap_or("GB")
    {
        u if u.eq_ignore_ascii_case("GB") => GIB,
        u if u.eq_ignore_ascii_case("MB") => GIB / 1024.0,
        u if u.eq_ignore_ascii_case("TB") => GIB * 1024.0,
        u => return Err(format!("Unsupported data_limit_unit: {u}")),
    };
    let bytes = (amount * unit).round() as i64;
    Ok((bytes > 0).then_some(bytes))
}

/// `expiry_date_str` as midnight UTC of that day.
fn parse_expiry(v: &Value) -> Result<Option<DateTime<Utc>>, String> {
    let s = v.as_str().ok_or("expiry_date_str must be a string")?;
    if s.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| Some(t.and_utc()))
        .ok_or_else(|| "Invalid expiry_date_str, expected YYYY-MM-DD".to_string())
}

fn parse_nodes(v: &Value) -> Result<Vec<i64>, String> {
    let ids = int_list(v).ok_or("nodes must be a list of node ids")?;
    match ids.iter().find(|id| !NODES.iter().any(|n| n.0 == **id)) {
        Some(bad) => Err(format!("Node {bad} not found")),
        None => Ok(ids),
    }
}

/// A field of a partial update where `null` clears: absent is None, `null` is `Some(None)`,
/// anything else what `parse` makes of it.
fn nullable<T>(
    m: &Map<String, Value>,
    key: &str,
    parse: impl Fn(&Value) -> Result<Option<T>, String>,
) -> Result<Option<Option<T>>, String> {
    match m.get(key) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(v) => parse(v).map(Some),
    }
}

fn parse_max_clients(v: &Value) -> Result<Option<i64>, String> {
    match int(v) {
        Some(n) if n >= 0 => Ok((n > 0).then_some(n)),
        _ => Err("max_clients must be a non-negative integer".into()),
    }
}

async fn nodes(ctx: Ctx) -> Response {
    gate!(ctx, SimOp::Choices);
    check!(api_key(&ctx));
    let nodes: Vec<Value> = NODES
        .iter()
        .map(|(id, name, ip)| json!({ "id": id, "name": name, "ip_address": ip, "status": "online" }))
        .collect();
    success(json!({ "nodes": nodes }))
}

async fn create(ctx: Ctx, body: Bytes) -> Response {
    gate!(ctx, SimOp::Create);
    check!(api_key(&ctx));
    let m = match parse_json_object(&body) {
        Ok(m) => m,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e),
    };
    let username = m
        .get("username")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .trim()
        .to_string();
    if username.is_empty() || username.contains(['/', ' ', '?', '#']) {
        return error(StatusCode::BAD_REQUEST, "A valid username is required");
    }
    let limit = match parse_limit(&m) {
        Ok(l) => l,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e),
    };
    let expires = match given(&m, "expiry_date_str").map(parse_expiry) {
        None => None,
        Some(Ok(t)) => t,
        Some(Err(e)) => return error(StatusCode::BAD_REQUEST, &e),
    };
    let nodes = match given(&m, "nodes").map(parse_nodes) {
        None => NODES.iter().map(|n| n.0).collect(),
        Some(Ok(n)) => n,
        Some(Err(e)) => return error(StatusCode::BAD_REQUEST, &e),
    };
    let max_clients = match given(&m, "max_clients").map(parse_max_clients) {
        None => None,
        Some(Ok(n)) => n,
        Some(Err(e)) => return error(StatusCode::BAD_REQUEST, &e),
    };
    let now = Utc::now();
    let mut store = ctx.sim.store();
    if store.contains(&username) {
        return error(StatusCode::CONFLICT, "User already exists");
    }
    let id = store.next_id();
    let mut rec = UserRec::new(id, &username, now);
    fresh_secrets(&mut rec);
    rec.limit = limit;
    rec.expires_at = expires;
    rec.node_ids = nodes;
    rec.max_clients = max_clients;
    let created = json!({
        "username": rec.username,
        "password": rec.secret,
        "config_url": sub_path(&rec.username),
        "expiry_date": date_str(rec.expires_at),
    });
    store.insert(rec);
    drop(store);
    reply(
        StatusCode::CREATED,
        json!({ "status": "success", "data": { "users": [created] } }),
    )
}

async fn get_user(ctx: Ctx, Path(username): Path<String>) -> Response {
    gate!(ctx, SimOp::Get);
    check!(api_key(&ctx));
    let store = ctx.sim.store();
    match store.get(&username) {
        Some(rec) => user_response(rec, None),
        None => not_found(),
    }
}

async fn list_all(ctx: Ctx) -> Response {
    gate!(ctx, SimOp::List);
    check!(api_key(&ctx));
    let store = ctx.sim.store();
    let mut out = String::with_capacity(64 + store.len() * 256);
    out.push_str("{\"status\":\"success\",\"data\":{\"users\":");
    jsonw::array(&mut out, store.iter(), write_user);
    drop(store);
    out.push_str("}}");
    ok_raw(out)
}

/// Partial: absent = unchanged, but an explicit `data_limit: null` means unlimited.
async fn modify(ctx: Ctx, Path(username): Path<String>, body: Bytes) -> Response {
    gate!(ctx, SimOp::Update);
    check!(api_key(&ctx));
    let m = match parse_json_object(&body) {
        Ok(m) => m,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e),
    };
    // Each field: None when absent (unchanged), else what it parses to; the first bad one is
    // the answer.
    let parsed = (|| -> Result<_, String> {
        Ok((
            m.contains_key("data_limit")
                .then(|| parse_limit(&m))
                .transpose()?,
            nullable(&m, "expiry_date_str", parse_expiry)?,
            given(&m, "nodes").map(parse_nodes).transpose()?,
            nullable(&m, "max_clients", parse_max_clients)?,
        ))
    })();
    let (limit, expires, nodes, max_clients) = match parsed {
        Ok(fields) => fields,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e),
    };
    let mut store = ctx.sim.store();
    let Some(rec) = store.get_mut(&username) else {
        return not_found();
    };
    if let Some(l) = limit {
        rec.limit = l;
    }
    if let Some(e) = expires {
        rec.expires_at = e;
    }
    if let Some(n) = nodes {
        rec.node_ids = n;
    }
    if let Some(c) = max_clients {
        rec.max_clients = c;
    }
    user_response(rec, Some("User updated successfully"))
}

async fn delete_user(ctx: Ctx, Path(username): Path<String>) -> Response {
    gate!(ctx, SimOp::Delete);
    check!(api_key(&ctx));
    match ctx.sim.store().remove(&username) {
        Some(_) => reply(
            StatusCode::OK,
            json!({ "status": "success", "message": "User deleted successfully" }),
        ),
        None => not_found(),
    }
}

/// Flips, so the op is Enable or Disable by the state it leads to (peeked before the gate).
async fn toggle(ctx: Ctx, Path(username): Path<String>) -> Response {
    let currently = ctx.sim.store().get(&username).map(|r| r.enabled);
    gate!(
        ctx,
        if currently == Some(false) {
            SimOp::Enable
        } else {
            SimOp::Disable
        }
    );
    check!(api_key(&ctx));
    let mut store = ctx.sim.store();
    let Some(rec) = store.get_mut(&username) else {
        return not_found();
    };
    rec.enabled = !rec.enabled;
    let data = json!({ "username": rec.username, "new_status": status_str(rec) });
    drop(store);
    success(data)
}

async fn reset(ctx: Ctx, Path(username): Path<String>) -> Response {
    let pass = gate!(ctx, SimOp::Reset);
    check!(api_key(&ctx));
    let mut store = ctx.sim.store();
    if !store.contains(&username) {
        return not_found();
    }
    if pass == Pass::Normal {
        store.reset(&username, Utc::now());
    }
    reply(
        StatusCode::OK,
        json!({ "status": "success", "message": "Traffic reset successfully", "data": { "username": username } }),
    )
}

/// The URL comes back relative; clients prefix it with a node hostname or the panel URL.
async fn sub_url(ctx: Ctx, Path(username): Path<String>) -> Response {
    gate!(ctx, SimOp::Subscription);
    check!(api_key(&ctx));
    if !ctx.sim.store().contains(&username) {
        return not_found();
    }
    reply(
        StatusCode::OK,
        json!({ "subResponse": { "sub_url": sub_path(&username), "success": true } }),
    )
}

async fn sub(ctx: Ctx, Path(username): Path<String>) -> Response {
    gate!(ctx, SimOp::Subscription);
    let Some(rec) = ctx.sim.store().get(&username).cloned() else {
        return (StatusCode::NOT_FOUND, "Not Found").into_response();
    };
    let host = ctx.sim.local_addr().ip();
    let links: Vec<String> = rec
        .node_ids
        .iter()
        .filter_map(|id| NODES.iter().find(|n| n.0 == *id))
        .map(|(_, name, _)| format!("vless://{}@{host}:443#{name}-{}", rec.secret, rec.username))
        .collect();
    subscription_text(&links, &rec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gb_floats_to_bytes() {
        let m = json!({"data_limit": 10.0, "data_limit_unit": "GB"});
        assert_eq!(
            parse_limit(m.as_object().unwrap()),
            Ok(Some(10 * 1024 * 1024 * 1024))
        );
        let m = json!({"data_limit": 0.5});
        assert_eq!(
            parse_limit(m.as_object().unwrap()),
            Ok(Some(512 * 1024 * 1024))
        );
        let m = json!({"data_limit": null});
        assert_eq!(parse_limit(m.as_object().unwrap()), Ok(None));
    }

    #[test]
    fn dates() {
        let t = parse_expiry(&json!("2027-01-31")).unwrap().unwrap();
        assert_eq!(date_str(Some(t)), json!("2027-01-31"));
        assert!(parse_expiry(&json!("31/01/2027")).is_err());
    }
}
