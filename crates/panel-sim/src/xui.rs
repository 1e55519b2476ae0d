//! 3x-ui 2.x legacy API under a web base path: cookie login, clients inside inbounds, keyed by email.
//! Quirks kept: signed-out API calls get a bare 404, failures are HTTP 200 `success:false`, and
//! updateClient replaces the whole client, so omitted fields fall back to Go zero values.

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use crate::auth::{cookie, session_id};
use crate::faults::SimOp;
use crate::http::{int, new_uuid, ok_raw, random_string, Ctx, Pass};
use crate::jsonw::{self, Obj};
use crate::state::{limit_from, UserRec};
use crate::Sim;

/// Where real installs hide the panel; part of `Sim::base_url()`.
pub(crate) const BASE_PATH: &str = "/xpanel";
const COOKIE: &str = "3x-ui";
const XRAY_VERSION: &str = "25.9.11";

/// (id, protocol, port, remark, network).
const INBOUNDS: &[(i64, &str, u16, &str, &str)] = &[
    (1, "vless", 443, "VLESS TCP", "tcp"),
    (2, "vmess", 8080, "VMess WS", "ws"),
    (3, "trojan", 8443, "Trojan TCP", "tcp"),
];

/// Routes under the web base path.
pub(crate) fn router() -> Router<Sim> {
    Router::new()
        .route("/login", post(login))
        .route("/panel/api/inbounds/list", get(list))
        .route("/panel/api/inbounds/get/{id}", get(get_inbound))
        .route("/panel/api/inbounds/addClient", post(add_client))
        .route(
            "/panel/api/inbounds/getClientTraffics/{email}",
            get(client_traffics),
        )
        .route(
            "/panel/api/inbounds/getClientTrafficsById/{id}",
            get(client_traffics_by_id),
        )
        .route("/panel/api/inbounds/updateClient/{id}", post(update_client))
        .route(
            "/panel/api/inbounds/{inbound}/resetClientTraffic/{email}",
            post(reset_client),
        )
        .route(
            "/panel/api/inbounds/{inbound}/delClient/{id}",
            post(del_client),
        )
        .route(
            "/panel/api/inbounds/{inbound}/delClientByEmail/{email}",
            post(del_client_by_email),
        )
        .route("/panel/api/inbounds/onlines", post(onlines))
        .route("/panel/api/server/status", get(status).post(status))
}

/// The subscription server, which on a real install is a separate listener (port 2096).
pub(crate) fn sub_router() -> Router<Sim> {
    Router::new().route("/sub/{sub_id}", get(sub))
}

pub(crate) fn seed_defaults(rec: &mut UserRec) {
    rec.inbound_ids = vec![1];
    fresh_secrets(rec);
}

/// A re-created client gets a new client id (or trojan password) and a new subId.
pub(crate) fn fresh_secrets(rec: &mut UserRec) {
    let proto = rec
        .inbound_ids
        .first()
        .and_then(|id| protocol(*id))
        .unwrap_or("vless");
    rec.secret = if proto == "trojan" {
        random_string(10)
    } else {
        new_uuid()
    };
    rec.sub_id = random_string(16).to_lowercase();
}

fn protocol(inbound: i64) -> Option<&'static str> {
    INBOUNDS.iter().find(|i| i.0 == inbound).map(|i| i.1)
}

/// HTTP 200 whatever happened; callers must read `success`.
fn envelope(success: bool, msg: &str, obj: Value) -> Response {
    (
        StatusCode::OK,
        axum::Json(json!({ "success": success, "msg": msg, "obj": obj })),
    )
        .into_response()
}

fn fail(msg: impl AsRef<str>) -> Response {
    envelope(false, msg.as_ref(), Value::Null)
}

/// v2.8.4+ hides the API from anyone without a session: a bare 404, no JSON.
fn signed_in(ctx: &Ctx) -> Result<(), Response> {
    match cookie(ctx, COOKIE) {
        Some(sid) if ctx.sim.token_valid(sid) => Ok(()),
        _ => Err(StatusCode::NOT_FOUND.into_response()),
    }
}

async fn login(ctx: Ctx, body: Bytes) -> Response {
    gate!(ctx, SimOp::Auth);
    let m = ctx.body_any(&body).unwrap_or_default();
    let user = m
        .get("username")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let pass = m
        .get("password")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !ctx.sim.check_admin(user, pass) {
        return fail("Invalid username or password.");
    }
    let sid = session_id();
    ctx.sim.issue_token(sid.clone());
    let ttl = ctx.sim.token_ttl().as_secs();
    let max_age = if ttl > 0 {
        format!("; Max-Age={ttl}")
    } else {
        String::new()
    };
    let cookie = format!("{COOKIE}={sid}; Path={BASE_PATH}/{max_age}; HttpOnly; SameSite=Lax");
    let mut resp = envelope(true, "Logged in successfully", Value::Null);
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

/// 2.x `model.Client`, decoded the way Go's encoding/json would: missing fields are zero values
/// and a wrong JSON type is an error.
#[derive(Clone, Debug, Default)]
struct Client {
    id: String,
    password: String,
    email: String,
    limit_ip: i64,
    total_gb: i64,
    expiry_time: i64,
    enable: bool,
    tg_id: i64,
    sub_id: String,
    comment: String,
    reset: i64,
    flow: String,
}

fn go_type_err(v: &Value, field: &str, ty: &str) -> String {
    let got = match v {
        Value::String(_) => "string",
        Value::Number(_) => "number",
        Value::Bool(_) => "bool",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
        Value::Null => "null",
    };
    format!("json: cannot unmarshal {got} into Go struct field Client.{field} of type {ty}")
}

fn go_string(m: &Map<String, Value>, k: &str) -> Result<String, String> {
    match m.get(k) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(v) => Err(go_type_err(v, k, "string")),
    }
}

fn go_int(m: &Map<String, Value>, k: &str) -> Result<i64, String> {
    match m.get(k) {
        None | Some(Value::Null) => Ok(0),
        Some(Value::Number(n)) if n.is_i64() => Ok(n.as_i64().unwrap_or_default()),
        Some(v) => Err(go_type_err(v, k, "int64")),
    }
}

fn go_bool(m: &Map<String, Value>, k: &str) -> Result<bool, String> {
    match m.get(k) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(v) => Err(go_type_err(v, k, "bool")),
    }
}

fn parse_client(v: &Value) -> Result<Client, String> {
    let m = v
        .as_object()
        .ok_or_else(|| go_type_err(v, "clients", "model.Client"))?;
    Ok(Client {
        id: go_string(m, "id")?,
        password: go_string(m, "password")?,
        email: go_string(m, "email")?,
        limit_ip: go_int(m, "limitIp")?,
        total_gb: go_int(m, "totalGB")?,
        expiry_time: go_int(m, "expiryTime")?,
        enable: go_bool(m, "enable")?,
        tg_id: go_int(m, "tgId")?,
        sub_id: go_string(m, "subId")?,
        comment: go_string(m, "comment")?,
        reset: go_int(m, "reset")?,
        flow: go_string(m, "flow")?,
    })
}

/// `{"id": inboundId, "settings": "{\"clients\":[...]}"}` from a form or JSON body.
fn parse_clients_body(ctx: &Ctx, body: &[u8]) -> Result<(i64, Vec<Client>), String> {
    let m = ctx.body_any(body)?;
    let inbound = m.get("id").and_then(int).unwrap_or(0);
    let settings = match m.get("settings") {
        Some(Value::String(s)) => s.clone(),
        Some(v) if !v.is_null() => {
            return Err(go_type_err(v, "settings", "string").replace("Client.", "Inbound."))
        }
        _ => return Err("unexpected end of JSON input".into()),
    };
    let parsed: Value =
        serde_json::from_str(&settings).map_err(|e| format!("invalid settings: {e}"))?;
    let clients = parsed
        .get("clients")
        .and_then(Value::as_array)
        .ok_or_else(|| "no clients in settings".to_string())?
        .iter()
        .map(parse_client)
        .collect::<Result<Vec<_>, _>>()?;
    Ok((inbound, clients))
}

/// The key 3x-ui finds a client by: `password` on trojan, `id` otherwise.
fn client_key<'a>(c: &'a Client, proto: &str) -> &'a str {
    if proto == "trojan" {
        &c.password
    } else {
        &c.id
    }
}

fn validate(c: &Client, proto: &str) -> Result<(), String> {
    if c.email.trim().is_empty() {
        return Err("client email is required".into());
    }
    if client_key(c, proto).is_empty() {
        return Err("empty client ID".into());
    }
    Ok(())
}

fn apply_client(rec: &mut UserRec, c: &Client, inbound: i64, proto: &str) {
    rec.secret = client_key(c, proto).to_string();
    rec.inbound_ids = vec![inbound];
    rec.limit = limit_from(c.total_gb);
    match c.expiry_time {
        0 => {
            rec.expires_at = None;
            rec.first_use_ms = None;
        }
        t if t > 0 => {
            rec.expires_at = DateTime::from_timestamp_millis(t);
            rec.first_use_ms = None;
        }
        t => {
            rec.expires_at = None;
            rec.first_use_ms = Some(-t);
        }
    }
    rec.enabled = c.enable;
    rec.max_clients = (c.limit_ip > 0).then_some(c.limit_ip);
    rec.sub_id = c.sub_id.clone();
    rec.note = c.comment.clone();
    rec.tg_id = json!(c.tg_id);
    rec.reset_days = c.reset;
    rec.flow = c.flow.clone();
}

fn expiry_ms(rec: &UserRec) -> i64 {
    match (rec.expires_at, rec.first_use_ms) {
        (Some(t), _) => t.timestamp_millis(),
        (None, Some(ms)) => -ms,
        (None, None) => 0,
    }
}

fn write_client(out: &mut String, rec: &UserRec, proto: &str) {
    let mut o = Obj::new(out);
    if proto == "trojan" {
        o.str("password", &rec.secret);
    } else {
        o.str("id", &rec.secret);
    }
    if proto != "vmess" {
        o.str("flow", &rec.flow);
    }
    o.str("email", &rec.username)
        .int("limitIp", rec.max_clients.unwrap_or(0))
        .int("totalGB", rec.limit.unwrap_or(0))
        .int("expiryTime", expiry_ms(rec))
        .bool("enable", rec.enabled)
        .value("tgId", &rec.tg_id)
        .str("subId", &rec.sub_id)
        .str("comment", &rec.note)
        .int("reset", rec.reset_days)
        .end();
}

/// Upload is a third of the usage, download the rest; resets zero both, `allTime` keeps going.
fn write_traffic(out: &mut String, rec: &UserRec, now: DateTime<Utc>) {
    let up = rec.used / 3;
    Obj::new(out)
        .int("id", rec.id)
        .int("inboundId", rec.inbound_ids.first().copied().unwrap_or(0))
        // The traffic job turns a depleted or expired client off here, not in settings.
        .bool("enable", rec.usable(now))
        .str("email", &rec.username)
        .str("uuid", &rec.secret)
        .str("subId", &rec.sub_id)
        .int("up", up)
        .int("down", rec.used - up)
        .int("allTime", rec.lifetime)
        .int("expiryTime", expiry_ms(rec))
        .int("total", rec.limit.unwrap_or(0))
        .int("reset", rec.reset_days)
        .int("lastOnline", 0)
        .end();
}

fn traffic_json(rec: &UserRec, now: DateTime<Utc>) -> Value {
    let mut out = String::with_capacity(256);
    write_traffic(&mut out, rec, now);
    serde_json::from_str(&out).unwrap_or(Value::Null)
}

/// An inbound as `inbounds/list` shows it: `settings` (with the clients) is a JSON *string*.
fn write_inbound(
    out: &mut String,
    inbound: &(i64, &str, u16, &str, &str),
    recs: &[&UserRec],
    now: DateTime<Utc>,
) {
    let (id, proto, port, remark, net) = *inbound;
    let mut settings = String::with_capacity(64 + recs.len() * 256);
    {
        let mut o = Obj::new(&mut settings);
        o.with("clients", |o| {
            jsonw::array(o, recs, |o, r| write_client(o, r, proto))
        });
        if proto == "vless" {
            o.str("decryption", "none");
        }
        if proto != "vmess" {
            o.with("fallbacks", |o| o.push_str("[]"));
        }
        o.end();
    }
    let used: i64 = recs.iter().map(|r| r.used).sum();
    let all: i64 = recs.iter().map(|r| r.lifetime).sum();
    Obj::new(out)
        .int("id", id)
        .int("up", used / 3)
        .int("down", used - used / 3)
        .int("total", 0)
        .int("allTime", all)
        .str("remark", remark)
        .bool("enable", true)
        .int("expiryTime", 0)
        .str("trafficReset", "never")
        .int("lastTrafficResetTime", 0)
        .with("clientStats", |o| {
            jsonw::array(o, recs, |o, r| write_traffic(o, r, now))
        })
        .str("listen", "")
        .int("port", port.into())
        .str("protocol", proto)
        .str("settings", &settings)
        .str(
            "streamSettings",
            &json!({ "network": net, "security": "none" }).to_string(),
        )
        .str("tag", &format!("inbound-{port}"))
        .str(
            "sniffing",
            &json!({ "enabled": false, "destOverride": ["http", "tls"] }).to_string(),
        )
        .end();
}

/// The success envelope around an already written `obj`.
fn envelope_raw(obj: &str) -> Response {
    let mut out = String::with_capacity(obj.len() + 40);
    out.push_str("{\"success\":true,\"msg\":\"\",\"obj\":");
    out.push_str(obj);
    out.push('}');
    ok_raw(out)
}

async fn list(ctx: Ctx) -> Response {
    gate!(ctx, SimOp::List);
    check!(signed_in(&ctx));
    let now = Utc::now();
    let store = ctx.sim.store();
    let mut by_inbound: Vec<Vec<&UserRec>> = vec![Vec::new(); INBOUNDS.len()];
    for rec in store.iter() {
        let Some(&ib) = rec.inbound_ids.first() else {
            continue;
        };
        if let Some(i) = INBOUNDS.iter().position(|x| x.0 == ib) {
            by_inbound[i].push(rec);
        }
    }
    let mut obj = String::with_capacity(store.len() * 700 + 4096);
    jsonw::array(
        &mut obj,
        INBOUNDS.iter().zip(&by_inbound),
        |o, (ib, recs)| write_inbound(o, ib, recs, now),
    );
    drop(by_inbound);
    drop(store);
    envelope_raw(&obj)
}

async fn get_inbound(ctx: Ctx, Path(id): Path<String>) -> Response {
    gate!(ctx, SimOp::Choices);
    check!(signed_in(&ctx));
    let Some(ib) = id
        .parse::<i64>()
        .ok()
        .and_then(|id| INBOUNDS.iter().find(|i| i.0 == id))
    else {
        return fail("record not found");
    };
    let store = ctx.sim.store();
    let recs: Vec<&UserRec> = store
        .iter()
        .filter(|r| r.inbound_ids.first() == Some(&ib.0))
        .collect();
    let mut obj = String::new();
    write_inbound(&mut obj, ib, &recs, Utc::now());
    drop(recs);
    drop(store);
    envelope_raw(&obj)
}

async fn add_client(ctx: Ctx, body: Bytes) -> Response {
    gate!(ctx, SimOp::Create);
    check!(signed_in(&ctx));
    let (inbound, clients) = match parse_clients_body(&ctx, &body) {
        Ok(x) => x,
        Err(e) => return fail(e),
    };
    let Some(proto) = protocol(inbound) else {
        return fail("record not found");
    };
    for c in &clients {
        if let Err(e) = validate(c, proto) {
            return fail(e);
        }
    }
    let now = Utc::now();
    let mut store = ctx.sim.store();
    // Emails are unique across the whole panel, checked for the batch before anything is added.
    for (i, c) in clients.iter().enumerate() {
        if store.contains(&c.email) || clients[..i].iter().any(|o| o.email == c.email) {
            return fail(format!("Duplicate email: {}", c.email));
        }
    }
    for c in &clients {
        let id = store.next_id();
        let mut rec = UserRec::new(id, &c.email, now);
        apply_client(&mut rec, c, inbound, proto);
        store.insert(rec);
    }
    envelope(true, "Inbound client(s) have been added.", Value::Null)
}

/// An unknown email is `success:true, obj:null`, exactly as 2.x answers.
async fn client_traffics(ctx: Ctx, Path(email): Path<String>) -> Response {
    gate!(ctx, SimOp::Get);
    check!(signed_in(&ctx));
    let store = ctx.sim.store();
    let obj = store
        .get(&email)
        .map(|r| traffic_json(r, Utc::now()))
        .unwrap_or(Value::Null);
    envelope(true, "", obj)
}

async fn client_traffics_by_id(ctx: Ctx, Path(id): Path<String>) -> Response {
    gate!(ctx, SimOp::Get);
    check!(signed_in(&ctx));
    let now = Utc::now();
    let store = ctx.sim.store();
    let rows: Vec<Value> = store
        .iter()
        .filter(|r| r.secret == id)
        .map(|r| traffic_json(r, now))
        .collect();
    envelope(true, "", json!(rows))
}

/// Enable/Disable when the body flips `enable`, Update otherwise (decided before the gate).
fn classify_update(
    sim: &Sim,
    client_id: &str,
    parsed: &Result<(i64, Vec<Client>), String>,
) -> SimOp {
    let Ok((inbound, clients)) = parsed else {
        return SimOp::Update;
    };
    let Some(new) = clients.first() else {
        return SimOp::Update;
    };
    let store = sim.store();
    match store.find(|r| r.secret == client_id && r.inbound_ids.first() == Some(inbound)) {
        Some(old) if old.enabled != new.enable => {
            if new.enable {
                SimOp::Enable
            } else {
                SimOp::Disable
            }
        }
        _ => SimOp::Update,
    }
}

async fn update_client(ctx: Ctx, Path(client_id): Path<String>, body: Bytes) -> Response {
    let parsed = parse_clients_body(&ctx, &body);
    let op = classify_update(&ctx.sim, &client_id, &parsed);
    gate!(ctx, op);
    check!(signed_in(&ctx));
    let (inbound, clients) = match parsed {
        Ok(x) => x,
        Err(e) => return fail(e),
    };
    let Some(proto) = protocol(inbound) else {
        return fail("record not found");
    };
    let Some(new) = clients.first() else {
        return fail("no client to update");
    };
    if let Err(e) = validate(new, proto) {
        return fail(e);
    }
    let mut store = ctx.sim.store();
    let Some(old_email) = store
        .find(|r| r.secret == client_id && r.inbound_ids.first() == Some(&inbound))
        .map(|r| r.username.clone())
    else {
        return fail(format!("Client Not Found In Inbound For ID: {client_id}"));
    };
    if new.email != old_email && !store.rename(&old_email, &new.email) {
        return fail(format!("Duplicate email: {}", new.email));
    }
    if let Some(rec) = store.get_mut(&new.email) {
        // Full replace: whatever the body left out is now zero, false or empty.
        apply_client(rec, new, inbound, proto);
    }
    envelope(true, "Inbound client has been updated.", Value::Null)
}

async fn reset_client(ctx: Ctx, Path((inbound, email)): Path<(String, String)>) -> Response {
    let pass = gate!(ctx, SimOp::Reset);
    check!(signed_in(&ctx));
    let _ = inbound;
    let mut store = ctx.sim.store();
    if !store.contains(&email) {
        return fail("record not found");
    }
    if pass == Pass::Normal {
        store.reset(&email, Utc::now());
    }
    envelope(true, "Traffic has been reset.", Value::Null)
}

fn delete_where(ctx: &Ctx, inbound: &str, pred: impl Fn(&UserRec) -> bool, what: &str) -> Response {
    let Some(inbound) = inbound
        .parse::<i64>()
        .ok()
        .filter(|id| protocol(*id).is_some())
    else {
        return fail("record not found");
    };
    let mut store = ctx.sim.store();
    let Some(name) = store
        .find(|r| r.inbound_ids.first() == Some(&inbound) && pred(r))
        .map(|r| r.username.clone())
    else {
        return fail(format!("Client Not Found In Inbound For ID: {what}"));
    };
    store.remove(&name);
    envelope(true, "Inbound client has been deleted.", Value::Null)
}

async fn del_client(ctx: Ctx, Path((inbound, id)): Path<(String, String)>) -> Response {
    gate!(ctx, SimOp::Delete);
    check!(signed_in(&ctx));
    delete_where(&ctx, &inbound, |r| r.secret == id, &id)
}

async fn del_client_by_email(ctx: Ctx, Path((inbound, email)): Path<(String, String)>) -> Response {
    gate!(ctx, SimOp::Delete);
    check!(signed_in(&ctx));
    delete_where(&ctx, &inbound, |r| r.username == email, &email)
}

async fn onlines(ctx: Ctx) -> Response {
    gate!(ctx, SimOp::Get);
    check!(signed_in(&ctx));
    envelope(true, "", json!([]))
}

async fn status(ctx: Ctx) -> Response {
    gate!(ctx, SimOp::Choices);
    check!(signed_in(&ctx));
    envelope(
        true,
        "",
        json!({
            "cpu": 3.5,
            "cpuCores": 4,
            "mem": { "current": 2_147_483_648_i64, "total": 8_589_934_592_i64 },
            "xray": { "state": "running", "errorMsg": "", "version": XRAY_VERSION },
            "xrayVersion": XRAY_VERSION,
            // Not a field of real 3x-ui; lets tests see `Sim::set_version`.
            "appVersion": ctx.sim.version(),
            "uptime": 3600,
            "tcpCount": 0,
            "udpCount": 0,
        }),
    )
}

async fn sub(ctx: Ctx, Path(sub_id): Path<String>) -> Response {
    gate!(ctx, SimOp::Subscription);
    let host = ctx.sim.local_addr().ip();
    let store = ctx.sim.store();
    let recs: Vec<&UserRec> = store
        .iter()
        .filter(|r| !sub_id.is_empty() && r.sub_id == sub_id)
        .collect();
    if recs.is_empty() {
        return (StatusCode::BAD_REQUEST, "Error!").into_response();
    }
    let mut links = Vec::new();
    let (mut used, mut total, mut expire) = (0i64, 0i64, 0i64);
    for r in &recs {
        let ib = r
            .inbound_ids
            .first()
            .and_then(|id| INBOUNDS.iter().find(|i| i.0 == *id));
        if let Some((_, proto, port, remark, net)) = ib {
            links.push(format!(
                "{proto}://{}@{host}:{port}?type={net}#{}-{}",
                r.secret,
                remark.replace(' ', "%20"),
                r.username
            ));
        }
        used += r.used;
        total += r.limit.unwrap_or(0);
        expire = expire.max(r.expires_at.map_or(0, |t| t.timestamp()));
    }
    let up = used / 3;
    let info = format!(
        "upload={up}; download={}; total={total}; expire={expire}",
        used - up
    );
    drop(recs);
    drop(store);
    let mut resp = STANDARD.encode(links.join("\n")).into_response();
    if let Ok(v) = HeaderValue::from_str(&info) {
        resp.headers_mut().insert("subscription-userinfo", v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_decoding_zero_values_and_type_errors() {
        let c = parse_client(&json!({"id": "x", "email": "a"})).unwrap();
        assert_eq!(c.total_gb, 0);
        assert!(!c.enable);
        let e = parse_client(&json!({"email": "a", "totalGB": "10"})).unwrap_err();
        assert!(e.contains("Client.totalGB of type int64"), "{e}");
        assert!(parse_client(&json!({"email": "a", "totalGB": 1.5})).is_err());
    }

    #[test]
    fn traffic_split_and_expiry() {
        let now = Utc::now();
        let mut rec = UserRec::new(1, "a", now);
        rec.used = 300;
        rec.lifetime = 900;
        rec.first_use_ms = Some(5000);
        let t = traffic_json(&rec, now);
        assert_eq!(
            (t["up"].as_i64(), t["down"].as_i64()),
            (Some(100), Some(200))
        );
        assert_eq!(t["allTime"], 900);
        assert_eq!(t["expiryTime"], -5000);
    }
}
