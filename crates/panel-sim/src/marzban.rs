//! Marzban v0.8.4: OAuth2 bearer API under /api, users keyed by username, counters in bytes.
//! Keeps the quirks adapters trip on, above all: a create without `inbounds` joins no inbound.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::hash::{Hash, Hasher};

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use crate::auth::{bearer, oauth_token};
use crate::faults::SimOp;
use crate::http::{
    body_or_422, detail, field_errors, given, int, new_uuid, ok, ok_raw, page, parse_json_object,
    random_string, subscription_text, Ctx, Pass,
};
use crate::jsonw::{self, Obj};
use crate::state::{limit_from, Flag, UserRec};
use crate::Sim;

/// (protocol, tag, network, port) of the inbounds in the simulated xray config.
const INBOUNDS: &[(&str, &str, &str, u16)] = &[
    ("vless", "VLESS TCP", "tcp", 443),
    ("vless", "VLESS WS", "ws", 2083),
    ("vmess", "VMess WS", "ws", 8080),
    ("trojan", "Trojan TCP", "tcp", 8443),
];

/// Marzban's ProxyTypes. Shadowsocks is valid but has no inbound here, so it is "disabled".
const PROXY_TYPES: &[&str] = &["vmess", "vless", "trojan", "shadowsocks"];

const STATUSES: &[&str] = &["active", "disabled", "limited", "expired", "on_hold"];

pub(crate) fn router() -> Router<Sim> {
    Router::new()
        .route(
            "/api/admin/token",
            post(|ctx: Ctx, body: Bytes| oauth_token(ctx, body, false)),
        )
        .route("/api/admin", get(current_admin))
        .route("/api/system", get(system))
        .route("/api/inbounds", get(inbounds))
        .route("/api/user", post(create))
        .route(
            "/api/user/{username}",
            get(get_user).put(modify).delete(delete_user),
        )
        .route("/api/user/{username}/reset", post(reset))
        .route("/api/users", get(list))
        .route("/sub/{token}", get(sub))
        .route("/sub/{token}/info", get(sub_info))
}

/// What `seed_users` and re-creation give a user: vless in every vless inbound.
pub(crate) fn seed_defaults(rec: &mut UserRec) {
    rec.proxies = Map::new();
    rec.proxies.insert("vless".into(), json!({}));
    rec.inbound_tags = BTreeMap::from([("vless".to_string(), tags_of("vless"))]);
    fresh_secrets(rec);
}

/// New proxy ids and passwords, as a re-created user gets.
pub(crate) fn fresh_secrets(rec: &mut UserRec) {
    let protos: Vec<String> = rec.proxies.keys().cloned().collect();
    for proto in protos {
        rec.proxies
            .insert(proto.clone(), complete_proxy(&proto, &Map::new()));
    }
    rec.sub_id = rec.username.clone();
}

fn tags_of(proto: &str) -> Vec<String> {
    INBOUNDS
        .iter()
        .filter(|i| i.0 == proto)
        .map(|i| i.1.to_string())
        .collect()
}

fn not_found() -> Response {
    detail(StatusCode::NOT_FOUND, "User not found")
}

/// Marzban stores the status: `disabled` is the admin switch, `limited` and `expired` are what
/// the review job (or a modify) decided, so traffic past the limit reads `active` until then.
pub(crate) fn status(rec: &UserRec) -> &'static str {
    if !rec.enabled {
        "disabled"
    } else if let Some(flag) = rec.flag {
        match flag {
            Flag::Limited => "limited",
            Flag::Expired => "expired",
        }
    } else if rec.on_hold() {
        "on_hold"
    } else {
        "active"
    }
}

/// `crud.update_user` after a new data limit: not expired or disabled, the status follows the
/// counter at once (over the limit: `limited`, else `active` unless on hold).
pub(crate) fn limit_changed(rec: &mut UserRec) {
    if !rec.enabled || rec.flag == Some(Flag::Expired) {
        return;
    }
    if rec.limited() {
        rec.flag = Some(Flag::Limited);
    } else if !rec.on_hold() {
        rec.flag = None;
    }
}

/// `crud.update_user` after a new expiry: an `active` or `expired` user follows the date at once.
pub(crate) fn expiry_changed(rec: &mut UserRec, now: DateTime<Utc>) {
    let active_or_expired =
        rec.enabled && !rec.on_hold() && matches!(rec.flag, None | Some(Flag::Expired));
    if active_or_expired {
        rec.flag = rec.expired(now).then_some(Flag::Expired);
    }
}

/// `{XRAY_SUBSCRIPTION_URL_PREFIX}/sub/{token}`: base64url("username,ts") plus a 10-char
/// signature, regenerated on every response just like Marzban does.
fn sub_token(sim: &Sim, username: &str, now: DateTime<Utc>) -> String {
    signed_token(sim, &format!("{username},{}", now.timestamp()))
}

/// base64url(payload) and a 10-character signature: the Marzban family's subscription tokens
/// (PasarGuard's payload is `v3,<id>,<ts>`).
pub(crate) fn signed_token(sim: &Sim, payload: &str) -> String {
    let b64 = URL_SAFE_NO_PAD.encode(payload);
    let sig = sub_signature(sim, &b64);
    format!("{b64}{sig}")
}

fn sub_signature(sim: &Sim, b64: &str) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (b64, sim.sub_secret()).hash(&mut h);
    URL_SAFE_NO_PAD.encode(h.finish().to_be_bytes())[..10].to_string()
}

/// The payload of a token `signed_token` made; None when forged or malformed.
pub(crate) fn token_payload(sim: &Sim, token: &str) -> Option<String> {
    if token.len() <= 10 || !token.is_ascii() {
        return None;
    }
    let (b64, sig) = token.split_at(token.len() - 10);
    if sub_signature(sim, b64) != sig {
        return None;
    }
    String::from_utf8(URL_SAFE_NO_PAD.decode(b64).ok()?).ok()
}

fn username_from_token(sim: &Sim, token: &str) -> Option<String> {
    let raw = token_payload(sim, token)?;
    raw.rsplit_once(',').map(|(u, _)| u.to_string())
}

fn links(sim: &Sim, rec: &UserRec) -> Vec<String> {
    let host = sim.local_addr().ip();
    let mut out = Vec::new();
    for (proto, tags) in &rec.inbound_tags {
        let cred = rec
            .proxies
            .get(proto)
            .and_then(|p| p.get("id").or_else(|| p.get("password")))
            .and_then(Value::as_str)
            .unwrap_or_default();
        for tag in tags {
            let Some(&(_, _, net, port)) = INBOUNDS.iter().find(|i| i.1 == tag) else {
                continue;
            };
            // Marzban usernames have no spaces, so only the tag needs encoding.
            let name = format!("{}%20({})", tag.replace(' ', "%20"), rec.username);
            out.push(if proto == "vmess" {
                let cfg = json!({"v":"2","ps":name,"add":host.to_string(),"port":port,"id":cred,"net":net});
                format!("vmess://{}", STANDARD.encode(cfg.to_string()))
            } else {
                format!("{proto}://{cred}@{host}:{port}?type={net}#{name}")
            });
        }
    }
    out
}

/// Marzban's UserResponse, written by hand because bulk lists carry thousands of them.
fn write_user(out: &mut String, sim: &Sim, rec: &UserRec, now: DateTime<Utc>) {
    // Per protocol the user has, the inbound tags it is not in.
    let excluded = |o: &mut String| {
        let protos = rec.proxies.keys().map(|p| (p.as_str(), p));
        jsonw::map(o, protos, |o, proto| {
            let mine = rec.inbound_tags.get(proto);
            let ex = INBOUNDS
                .iter()
                .filter(|i| i.0 == proto && !mine.is_some_and(|m| m.iter().any(|t| t == i.1)));
            jsonw::array(o, ex, |o, i| jsonw::string(o, i.1));
        });
    };
    let sub = format!(
        "{}/sub/{}",
        sim.base_url(),
        sub_token(sim, &rec.username, now)
    );
    Obj::new(out)
        .str("username", &rec.username)
        .str("status", status(rec))
        .int("used_traffic", rec.used)
        .int("lifetime_used_traffic", rec.lifetime)
        .str("created_at", &jsonw::naive_iso(rec.created_at))
        .opt_int("expire", rec.expires_at.map(|t| t.timestamp()))
        .opt_int("data_limit", rec.limit)
        .str("data_limit_reset_strategy", &rec.reset_strategy)
        .with("proxies", |o| {
            let proxies = rec.proxies.iter().map(|(p, s)| (p.as_str(), s));
            jsonw::map(o, proxies, |o, settings| {
                let _ = write!(o, "{settings}");
            });
        })
        // Only the protocols the user has, as Marzban validates it (not the tags' protocols).
        .with("inbounds", |o| {
            let tags = rec.inbound_tags.iter().map(|(p, t)| (p.as_str(), t));
            jsonw::map(o, tags, |o, t| {
                jsonw::array(o, t, |o, t| jsonw::string(o, t))
            });
        })
        .with("excluded_inbounds", excluded)
        .strs("links", &links(sim, rec))
        .str("subscription_url", &sub)
        .str("note", &rec.note)
        .null("sub_updated_at")
        .null("sub_last_user_agent")
        .null("online_at")
        .opt_int(
            "on_hold_expire_duration",
            rec.first_use_ms.map(|ms| ms / 1000),
        )
        .null("on_hold_timeout")
        .null("auto_delete_in_days")
        .null("next_plan")
        .with("admin", |o| {
            Obj::new(o)
                .str("username", rec.owner_name(sim.admin_username()))
                .bool("is_sudo", rec.owner.is_none())
                .null("telegram_id")
                .null("discord_webhook")
                .end()
        })
        .end();
}

fn user_response(sim: &Sim, rec: &UserRec, now: DateTime<Utc>) -> Response {
    let mut out = String::with_capacity(1024);
    write_user(&mut out, sim, rec, now);
    ok_raw(out)
}

/// Marzban's USERNAME_REGEXP in spirit: 3..32 of `[a-zA-Z0-9_@.-]`.
fn valid_username(u: &str) -> bool {
    (3..=32).contains(&u.len())
        && u.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_@.-".contains(c))
}

/// Fills in what `{}` leaves out, as Marzban generates ids and passwords for empty settings.
fn complete_proxy(proto: &str, given: &Map<String, Value>) -> Value {
    let mut p = given.clone();
    let has = |p: &Map<String, Value>, k: &str| {
        p.get(k)
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty())
    };
    match proto {
        "vless" | "vmess" => {
            if !has(&p, "id") {
                p.insert("id".into(), json!(new_uuid()));
            }
            if proto == "vless" {
                p.entry("flow").or_insert(json!(""));
            }
        }
        "trojan" => {
            if !has(&p, "password") {
                p.insert("password".into(), json!(random_string(22)));
            }
            p.entry("flow").or_insert(json!(""));
        }
        _ => {
            if !has(&p, "password") {
                p.insert("password".into(), json!(random_string(22)));
            }
            p.entry("method").or_insert(json!("chacha20-ietf-poly1305"));
        }
    }
    Value::Object(p)
}

/// Validates `proxies` into protocol -> settings.
fn parse_proxies(v: Option<&Value>) -> Result<Map<String, Value>, String> {
    let Some(v) = v else {
        return Err("Field required".into());
    };
    let Some(obj) = v.as_object() else {
        return Err("Input should be a valid dictionary".into());
    };
    if obj.is_empty() {
        return Err("Value error, Each user needs at least one proxy".into());
    }
    let mut out = Map::new();
    for (proto, settings) in obj {
        if !PROXY_TYPES.contains(&proto.as_str()) {
            return Err("Input should be 'vmess', 'vless', 'trojan' or 'shadowsocks'".to_string());
        }
        let settings = match settings {
            Value::Null => Map::new(),
            Value::Object(m) => m.clone(),
            _ => return Err("Input should be a valid dictionary".into()),
        };
        out.insert(proto.clone(), complete_proxy(proto, &settings));
    }
    Ok(out)
}

/// Marzban's `validate_inbounds`: drop protocols without a proxy, check tags exist (anywhere in
/// the config, not necessarily under that protocol), and give a protocol left out all its tags.
/// It only runs when `inbounds` is sent; omitted, the user ends up in no inbound at all.
fn resolve_inbounds(
    proxies: &Map<String, Value>,
    inbounds: Option<&Value>,
) -> Result<BTreeMap<String, Vec<String>>, String> {
    let Some(v) = inbounds else {
        return Ok(BTreeMap::new());
    };
    let Some(given) = v.as_object() else {
        return Err("Input should be a valid dictionary".into());
    };
    let mut out = BTreeMap::new();
    for proto in proxies.keys() {
        let tags: Vec<String> = given
            .get(proto)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|t| t.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        if tags.is_empty() {
            out.insert(proto.clone(), tags_of(proto));
            continue;
        }
        for t in &tags {
            if !INBOUNDS.iter().any(|i| i.1 == t) {
                return Err(format!("Value error, Inbound {t} doesn't exist"));
            }
        }
        out.insert(proto.clone(), tags);
    }
    Ok(out)
}

fn disabled_protocol(proxies: &Map<String, Value>) -> Option<Response> {
    let proto = proxies.keys().find(|p| tags_of(p).is_empty())?;
    let mut name = proto.clone();
    name[..1].make_ascii_uppercase();
    Some(detail(
        StatusCode::BAD_REQUEST,
        &format!("Protocol ProxyTypes.{name} is disabled on your server"),
    ))
}

/// Shared field checks of create and modify; appends to `errors`.
struct Limits {
    data_limit: Option<Option<i64>>,
    expire: Option<Option<DateTime<Utc>>>,
    status: Option<String>,
    on_hold_secs: Option<i64>,
}

fn parse_limits(
    m: &Map<String, Value>,
    errors: &mut Vec<(String, String)>,
    create: bool,
) -> Limits {
    let mut l = Limits {
        data_limit: None,
        expire: None,
        status: None,
        on_hold_secs: None,
    };
    if let Some(v) = given(m, "data_limit") {
        match int(v) {
            Some(b) if b >= 0 => l.data_limit = Some(limit_from(b)),
            Some(_) => errors.push((
                "data_limit".into(),
                "Input should be greater than or equal to 0".into(),
            )),
            None => errors.push((
                "data_limit".into(),
                "Input should be a valid integer".into(),
            )),
        }
    }
    if let Some(v) = given(m, "expire") {
        match int(v) {
            Some(0) => l.expire = Some(None),
            Some(s) if s > 0 => l.expire = Some(DateTime::from_timestamp(s, 0)),
            _ => errors.push(("expire".into(), "Input should be a valid integer".into())),
        }
    }
    if let Some(v) = given(m, "status") {
        let allowed: &[&str] = if create {
            &["active", "on_hold"]
        } else {
            &["active", "disabled", "on_hold"]
        };
        match v.as_str() {
            Some(s) if allowed.contains(&s) => l.status = Some(s.to_string()),
            _ => errors.push((
                "status".into(),
                if create {
                    "Input should be 'active' or 'on_hold'".into()
                } else {
                    "Input should be 'active', 'disabled' or 'on_hold'".into()
                },
            )),
        }
    }
    if let Some(v) = given(m, "on_hold_expire_duration") {
        match int(v) {
            Some(s) if s > 0 => l.on_hold_secs = Some(s),
            _ => errors.push((
                "on_hold_expire_duration".into(),
                "Input should be a valid integer".into(),
            )),
        }
    }
    if let Some(v) = given(m, "data_limit_reset_strategy") {
        if !matches!(
            v.as_str(),
            Some("no_reset" | "day" | "week" | "month" | "year")
        ) {
            errors.push((
                "data_limit_reset_strategy".into(),
                "Input should be 'no_reset', 'day', 'week', 'month' or 'year'".into(),
            ));
        }
    }
    l
}

async fn current_admin(ctx: Ctx) -> Response {
    gate!(ctx, SimOp::Choices);
    check!(bearer(&ctx));
    let usage: i64 = ctx.sim.store().iter().map(|r| r.lifetime).sum();
    ok(json!({
        "username": ctx.sim.admin_username(),
        "is_sudo": true,
        "telegram_id": null,
        "discord_webhook": null,
        "users_usage": usage,
    }))
}

async fn system(ctx: Ctx) -> Response {
    gate!(ctx, SimOp::Choices);
    check!(bearer(&ctx));
    let (total, active, traffic) = {
        let store = ctx.sim.store();
        let active = store.iter().filter(|r| status(r) == "active").count();
        let traffic: i64 = store.iter().map(|r| r.lifetime).sum();
        (store.len(), active, traffic)
    };
    ok(json!({
        "version": ctx.sim.version(),
        "mem_total": 8_589_934_592_i64,
        "mem_used": 2_147_483_648_i64,
        "cpu_cores": 4,
        "cpu_usage": 3.5,
        "total_user": total,
        "online_users": 0,
        "users_active": active,
        "users_on_hold": 0,
        "users_disabled": 0,
        "users_expired": 0,
        "users_limited": 0,
        "incoming_bandwidth": traffic / 3,
        "outgoing_bandwidth": traffic - traffic / 3,
        "incoming_bandwidth_speed": 0,
        "outgoing_bandwidth_speed": 0,
    }))
}

async fn inbounds(ctx: Ctx) -> Response {
    gate!(ctx, SimOp::Choices);
    check!(bearer(&ctx));
    let mut out: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for (proto, tag, net, port) in INBOUNDS {
        out.entry(proto).or_default().push(json!({
            "tag": tag, "protocol": proto, "network": net, "tls": "none", "port": port,
        }));
    }
    ok(json!(out))
}

async fn create(ctx: Ctx, body: Bytes) -> Response {
    gate!(ctx, SimOp::Create);
    check!(bearer(&ctx));
    let m = check!(body_or_422(parse_json_object(&body)));
    let now = Utc::now();
    let mut errors: Vec<(String, String)> = Vec::new();
    let username = m
        .get("username")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if m.get("username").is_none() {
        errors.push(("username".into(), "Field required".into()));
    } else if !valid_username(username) {
        errors.push((
            "username".into(),
            "Value error, Username only can be 3 to 32 characters and contain a-z, 0-9, and underscores in between.".into(),
        ));
    }
    let proxies = parse_proxies(given(&m, "proxies")).unwrap_or_else(|e| {
        errors.push(("proxies".into(), e));
        Map::new()
    });
    let tags = resolve_inbounds(&proxies, given(&m, "inbounds")).unwrap_or_else(|e| {
        errors.push(("inbounds".into(), e));
        BTreeMap::new()
    });
    let limits = parse_limits(&m, &mut errors, true);
    let on_hold = limits.status.as_deref() == Some("on_hold");
    if on_hold && limits.on_hold_secs.is_none() {
        errors.push((
            "on_hold_expire_duration".into(),
            "Value error, User cannot be on hold without a valid on_hold_expire_duration.".into(),
        ));
    }
    if on_hold && matches!(limits.expire, Some(Some(_))) {
        errors.push((
            "expire".into(),
            "Value error, User cannot be on hold with specified expire.".into(),
        ));
    }
    if !errors.is_empty() {
        return field_errors(&errors);
    }
    if let Some(r) = disabled_protocol(&proxies) {
        return r;
    }
    let mut store = ctx.sim.store();
    if store.contains(username) {
        return detail(StatusCode::CONFLICT, "User already exists");
    }
    let id = store.next_id();
    let mut rec = UserRec::new(id, username, now);
    rec.proxies = proxies;
    rec.inbound_tags = tags;
    rec.limit = limits.data_limit.flatten();
    rec.expires_at = limits.expire.flatten();
    if on_hold {
        rec.first_use_ms = limits.on_hold_secs.map(|s| s * 1000);
    }
    rec.sub_id = rec.username.clone();
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

/// A body that only sets `status` is an enable/disable; anything else is an update.
pub(crate) fn classify_modify(m: &Map<String, Value>) -> SimOp {
    let others = m.iter().any(|(k, v)| k != "status" && !v.is_null());
    match (others, m.get("status").and_then(Value::as_str)) {
        (false, Some("active")) => SimOp::Enable,
        (false, Some("disabled")) => SimOp::Disable,
        _ => SimOp::Update,
    }
}

async fn modify(ctx: Ctx, Path(username): Path<String>, body: Bytes) -> Response {
    let parsed = parse_json_object(&body);
    let op = parsed
        .as_ref()
        .map(classify_modify)
        .unwrap_or(SimOp::Update);
    gate!(ctx, op);
    check!(bearer(&ctx));
    let m = check!(body_or_422(parsed));
    let mut errors = Vec::new();
    let limits = parse_limits(&m, &mut errors, false);
    let new_proxies = match given(&m, "proxies") {
        Some(v) => match parse_proxies(Some(v)) {
            Ok(p) => Some(p),
            Err(e) => {
                errors.push(("proxies".into(), e));
                None
            }
        },
        None => None,
    };
    if !errors.is_empty() {
        return field_errors(&errors);
    }
    if let Some(r) = new_proxies.as_ref().and_then(disabled_protocol) {
        return r;
    }
    let now = Utc::now();
    let mut store = ctx.sim.store();
    let Some(rec) = store.get_mut(&username) else {
        return not_found();
    };
    if let Some(mut proxies) = new_proxies {
        // `{}` for a protocol the user already has keeps its secrets, as Marzban does.
        let raw = given(&m, "proxies").and_then(Value::as_object);
        for (proto, settings) in proxies.iter_mut() {
            let sent_empty = raw
                .and_then(|r| r.get(proto))
                .is_none_or(|v| v.is_null() || v.as_object().is_some_and(Map::is_empty));
            if let (true, Some(old)) = (sent_empty, rec.proxies.get(proto)) {
                *settings = old.clone();
            }
        }
        rec.inbound_tags.retain(|p, _| proxies.contains_key(p));
        for proto in proxies.keys() {
            rec.inbound_tags
                .entry(proto.clone())
                .or_insert_with(|| tags_of(proto));
        }
        rec.proxies = proxies;
    }
    if let Some(v) = given(&m, "inbounds") {
        match resolve_inbounds(&rec.proxies, Some(v)) {
            Ok(tags) => rec.inbound_tags = tags,
            Err(e) => return field_errors(&[("inbounds".into(), e)]),
        }
    }
    if let Some(s) = limits.on_hold_secs {
        rec.first_use_ms = Some(s * 1000);
    }
    // Marzban's order: the status first, then the limit and the expiry, each of which may
    // move the status again.
    match limits.status.as_deref() {
        Some("disabled") => {
            rec.enabled = false;
            rec.flag = None;
        }
        // Accepted even over the limit: `active` until the review job flips it back.
        Some("active") => {
            rec.enabled = true;
            rec.flag = None;
        }
        Some("on_hold") => {
            rec.enabled = true;
            rec.flag = None;
            rec.expires_at = None;
            if rec.first_use_ms.is_none() {
                rec.first_use_ms = Some(30 * 86_400_000);
            }
        }
        _ => {}
    }
    if let Some(l) = limits.data_limit {
        rec.limit = l;
        limit_changed(rec);
    }
    if let Some(e) = limits.expire {
        rec.expires_at = e;
        expiry_changed(rec, now);
    }
    rec.set_note_and_reset_strategy(&m);
    let rec = rec.clone();
    drop(store);
    user_response(&ctx.sim, &rec, now)
}

async fn reset(ctx: Ctx, Path(username): Path<String>) -> Response {
    let pass = gate!(ctx, SimOp::Reset);
    check!(bearer(&ctx));
    let now = Utc::now();
    let mut store = ctx.sim.store();
    if pass == Pass::Normal && store.reset(&username, now) {
        if let Some(rec) = store.get_mut(&username) {
            reset_status(rec);
        }
    }
    store
        .get(&username)
        .map_or_else(not_found, |rec| user_response(&ctx.sim, rec, now))
}

/// v0.8.4's reset tests `status not in (UserStatus.expired or UserStatus.disabled)`, which is a
/// substring test against "expired": a disabled, limited or on-hold user comes back `active`
/// (spec/panels.md §9). An on-hold user loses its pending start and never expires.
fn reset_status(rec: &mut UserRec) {
    if rec.enabled && rec.flag == Some(Flag::Expired) {
        return;
    }
    rec.enabled = true;
    rec.flag = None;
    if rec.on_hold() {
        rec.first_use_ms = None;
    }
}

async fn delete_user(ctx: Ctx, Path(username): Path<String>) -> Response {
    gate!(ctx, SimOp::Delete);
    check!(bearer(&ctx));
    let removed = ctx.sim.store().remove(&username);
    removed.map_or_else(not_found, |_| {
        ok(json!({ "detail": "User successfully deleted" }))
    })
}

async fn list(ctx: Ctx) -> Response {
    gate!(ctx, SimOp::List);
    check!(bearer(&ctx));
    let offset = ctx
        .query_one("offset")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    // `limit=0` and `limit=-1` return everything, as no limit does.
    let limit = ctx
        .query_one("limit")
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|l| *l > 0);
    let names = ctx.query_all("username");
    let search = ctx.query_one("search").map(str::to_lowercase);
    let status_filter = ctx.query_one("status");
    if let Some(s) = status_filter {
        if !STATUSES.contains(&s) {
            return crate::http::field_error(
                "status",
                "Input should be 'active', 'disabled', 'limited', 'expired' or 'on_hold'",
            );
        }
    }
    let sort: Vec<(String, bool)> = ctx
        .query_one("sort")
        .map(|s| {
            s.split(',')
                .filter(|k| !k.is_empty())
                .map(|k| match k.strip_prefix('-') {
                    Some(k) => (k.to_string(), true),
                    None => (k.to_string(), false),
                })
                .collect()
        })
        .unwrap_or_default();
    let now = Utc::now();
    let sim = &ctx.sim;
    let store = sim.store();
    let filtered = names.is_empty() && search.is_none() && status_filter.is_none();
    // The common bulk-sync path pages straight off the store without materialising 25k users.
    let (total, recs): (usize, Vec<&UserRec>) = if filtered && sort.is_empty() {
        (store.len(), store.page(offset, limit).collect())
    } else {
        let mut recs: Vec<&UserRec> = store
            .iter()
            .filter(|r| names.is_empty() || names.contains(&r.username.as_str()))
            .filter(|r| {
                search.as_ref().is_none_or(|s| {
                    r.username.to_lowercase().contains(s) || r.note.to_lowercase().contains(s)
                })
            })
            .filter(|r| status_filter.is_none_or(|s| status(r) == s))
            .collect();
        for (key, desc) in sort.iter().rev() {
            recs.sort_by(|a, b| {
                let o = a.sort_key(key, "expire").cmp(&b.sort_key(key, "expire"));
                if *desc {
                    o.reverse()
                } else {
                    o
                }
            });
        }
        (recs.len(), page(recs.into_iter(), offset, limit))
    };
    let mut out = String::with_capacity(64 + recs.len() * 1024);
    out.push_str("{\"users\":");
    jsonw::array(&mut out, recs, |o, r| write_user(o, sim, r, now));
    let _ = write!(out, ",\"total\":{total}}}");
    drop(store);
    ok_raw(out)
}

fn find_by_token(ctx: &Ctx, token: &str) -> Option<UserRec> {
    let name = username_from_token(&ctx.sim, token)?;
    ctx.sim.store().get(&name).cloned()
}

async fn sub(ctx: Ctx, Path(token): Path<String>) -> Response {
    gate!(ctx, SimOp::Subscription);
    let Some(rec) = find_by_token(&ctx, &token) else {
        return detail(StatusCode::NOT_FOUND, "Not Found");
    };
    subscription(&links(&ctx.sim, &rec), &rec)
}

/// The Marzban family's subscription answer: base64 links and the usage headers.
pub(crate) fn subscription(links: &[String], rec: &UserRec) -> Response {
    let mut resp = subscription_text(links, rec);
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&STANDARD.encode(&rec.username)) {
        h.insert("profile-title", v);
    }
    h.insert("profile-update-interval", HeaderValue::from_static("12"));
    resp
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
    fn inbounds_omitted_means_none_and_partial_means_defaults() {
        let proxies = parse_proxies(Some(&json!({"vless": {}, "vmess": {}}))).unwrap();
        assert!(resolve_inbounds(&proxies, None).unwrap().is_empty());
        let t = resolve_inbounds(
            &proxies,
            Some(&json!({"vmess": ["VMess WS"], "trojan": ["Trojan TCP"]})),
        )
        .unwrap();
        assert_eq!(t["vless"], vec!["VLESS TCP", "VLESS WS"]);
        assert_eq!(t["vmess"], vec!["VMess WS"]);
        assert!(!t.contains_key("trojan"));
        assert!(resolve_inbounds(&proxies, Some(&json!({"vless": ["Nope"]}))).is_err());
    }

    #[test]
    fn classify_status_only_bodies() {
        assert_eq!(
            classify_modify(&json!({"status":"disabled"}).as_object().unwrap().clone()),
            SimOp::Disable
        );
        assert_eq!(
            classify_modify(
                &json!({"status":"active","expire":null})
                    .as_object()
                    .unwrap()
                    .clone()
            ),
            SimOp::Enable
        );
        assert_eq!(
            classify_modify(
                &json!({"status":"active","data_limit":5})
                    .as_object()
                    .unwrap()
                    .clone()
            ),
            SimOp::Update
        );
    }
}
