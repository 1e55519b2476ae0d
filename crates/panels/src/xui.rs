//! 3x-ui adapter: a "user" is one client (keyed by email) inside an inbound's settings JSON.
//! 2.x legacy inbound API, checked against the simulator; 3.x clients API, detected and thin.
//!
//! Facts that shape this module (panels.md §4):
//! * every answer is HTTP 200 `{"success","msg","obj"}`; `success:false` is a refusal;
//! * a lost session shows as 404 (2.8.4+), 401 or a redirect to the login page, so all three
//!   cost one fresh login; redirects are never followed;
//! * `updateClient` replaces the whole client, so every write sends the client as read, changed;
//! * the subscription server is a separate listener, hence `sub_base_url` is required for URLs.
//!
//! 3.x (clients API, legacy client routes removed) is detected once, after the first login, by
//! `GET panel/api/clients/list/paged` answering success. Its code paths follow the 3.x source as
//! summarised in panels.md and have never run against a panel or the simulator.

use std::collections::HashSet;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use async_trait::async_trait;
use base64::Engine;
use chrono::{DateTime, Utc};
use reqwest::header::{HeaderValue, SET_COOKIE};
use reqwest::Method;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::convert::{from_unix_ms, unix_ms};
use crate::http::{sub_base, Http, Reply, Session};
use crate::{
    Choice, Choices, ConnectionInfo, NewUser, PanelClient, PanelConfig, PanelError, PanelKind,
    PanelSettings, RemoteState, RemoteUser, UserLimits,
};

/// 3.x `clients/list/paged` accepts at most 200 per page.
const V3_PAGE_SIZE: usize = 200;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Api {
    /// `/panel/api/inbounds/...` client routes (2.x, the most deployed).
    V2,
    /// `/panel/api/clients/...` (3.x).
    V3,
}

/// What authenticates a request: a session cookie (plus a CSRF token on 3.x) or a 3.x API token.
struct Cred {
    cookie: Option<String>,
    csrf: Option<String>,
    bearer: Option<String>,
}

pub(crate) struct Xui {
    http: Http,
    session: Session<Cred>,
    login: Option<(String, String)>,
    api_token: Option<String>,
    settings: PanelSettings,
    sub_base: Option<String>,
    api: OnceLock<Api>,
}

#[derive(Deserialize)]
struct Envelope {
    success: bool,
    #[serde(default)]
    msg: Option<String>,
    #[serde(default)]
    obj: Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Inbound {
    id: i64,
    #[serde(default)]
    protocol: String,
    #[serde(default)]
    remark: String,
    #[serde(default)]
    port: i64,
    /// A JSON document inside a string (2.x); tolerate an object too.
    #[serde(default)]
    settings: Value,
    #[serde(default)]
    client_stats: Option<Vec<Stat>>,
}

/// `xray.ClientTraffic`, the per-email counters.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Stat {
    #[serde(default)]
    email: String,
    #[serde(default)]
    up: i64,
    #[serde(default)]
    down: i64,
    /// Newer 2.x: counts across resets.
    all_time: Option<i64>,
    /// False once the traffic job cut the client off (depleted or expired).
    #[serde(default = "yes")]
    enable: bool,
}

fn yes() -> bool {
    true
}

/// One client as stored, with where it lives and its counters.
struct Found {
    inbound_id: i64,
    protocol: String,
    /// The raw client object: writes send it back whole, so unknown fields survive.
    client: Map<String, Value>,
    stat: Option<Stat>,
}

impl Found {
    fn email(&self) -> &str {
        str_field(&self.client, "email")
    }
}

fn str_field<'a>(m: &'a Map<String, Value>, key: &str) -> &'a str {
    m.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn int_field(m: &Map<String, Value>, key: &str) -> i64 {
    m.get(key).and_then(Value::as_i64).unwrap_or_default()
}

/// The field 3x-ui finds a client by in `updateClient/{key}` and `delClient/{key}`.
fn client_key_field(protocol: &str) -> &'static str {
    match protocol {
        "trojan" => "password",
        "shadowsocks" => "email",
        "hysteria" | "hysteria2" => "auth",
        _ => "id",
    }
}

fn random_hex(len: usize) -> String {
    let mut s = String::new();
    while s.len() < len {
        s.push_str(&uuid::Uuid::new_v4().simple().to_string());
    }
    s.truncate(len);
    s
}

fn random_bytes(len: usize) -> Vec<u8> {
    let mut v = Vec::new();
    while v.len() < len {
        v.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    }
    v.truncate(len);
    v
}

/// The secret a new client needs on this protocol, as the 3x-ui UI would generate it.
fn client_secret(
    protocol: &str,
    inbound_settings: &Value,
) -> Result<(&'static str, String), PanelError> {
    Ok(match protocol {
        "vless" | "vmess" => ("id", uuid::Uuid::new_v4().to_string()),
        "trojan" => ("password", random_hex(16)),
        "shadowsocks" => {
            // 2022 ciphers want a base64 key of the cipher's size; older ones take any string.
            let method = inbound_settings
                .get("method")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let len = if method.contains("aes-128") { 16 } else { 32 };
            let key = base64::engine::general_purpose::STANDARD.encode(random_bytes(len));
            ("password", key)
        }
        "hysteria" | "hysteria2" => ("auth", random_hex(16)),
        other => {
            return Err(PanelError::Config(format!(
                "inbound protocol {other:?} holds no clients; pick a vless, vmess, trojan, shadowsocks or hysteria inbound"
            )))
        }
    })
}

/// An inbound's `settings`, which 2.x ships as a JSON string.
fn inbound_settings(v: &Value) -> Value {
    match v {
        Value::String(s) => serde_json::from_str(s).unwrap_or(Value::Null),
        other => other.clone(),
    }
}

fn is_not_found(e: &PanelError) -> bool {
    matches!(e, PanelError::Rejected { message, .. } if message.to_ascii_lowercase().contains("not found"))
}

impl Xui {
    pub fn new(config: PanelConfig) -> Result<Xui, PanelError> {
        let login = match (&config.username, &config.password) {
            (Some(u), Some(p)) => Some((u.clone(), p.clone())),
            _ => None,
        };
        let api_token = config.api_key.clone().filter(|k| !k.trim().is_empty());
        if login.is_none() && api_token.is_none() {
            return Err(PanelError::Config(
                "3x-ui needs an admin username and password (or a 3.x API token)".into(),
            ));
        }
        Ok(Xui {
            http: Http::new(&config)?,
            session: Session::default(),
            login,
            api_token,
            sub_base: sub_base(&config)?,
            settings: config.settings,
            api: OnceLock::new(),
        })
    }

    fn request(&self, method: Method, segments: &[&str], cred: &Cred) -> reqwest::RequestBuilder {
        let mut req = self
            .http
            .request(method.clone(), segments)
            // Makes older versions answer a lost session with 401 JSON instead of a redirect.
            .header("X-Requested-With", "XMLHttpRequest")
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(c) = &cred.cookie {
            req = req.header(reqwest::header::COOKIE, c);
        }
        if let Some(t) = &cred.bearer {
            req = req.bearer_auth(t);
        }
        if let (Some(t), false) = (&cred.csrf, method == Method::GET) {
            req = req.header("X-CSRF-Token", t);
        }
        req
    }

    async fn login(&self) -> Result<Cred, PanelError> {
        let mut cred = match (&self.api_token, &self.login) {
            (Some(token), _) => Cred {
                cookie: None,
                csrf: None,
                bearer: Some(token.clone()),
            },
            (None, Some((user, pass))) => Cred {
                cookie: Some(self.cookie_login(user, pass).await?),
                csrf: None,
                bearer: None,
            },
            (None, None) => unreachable!("checked in new()"),
        };
        if self.detect(&cred).await? == Api::V3 && cred.cookie.is_some() {
            cred.csrf = self.csrf_token(&cred).await?;
        }
        Ok(cred)
    }

    async fn cookie_login(&self, user: &str, pass: &str) -> Result<String, PanelError> {
        let req = self
            .http
            .request(Method::POST, &["login"])
            .header("X-Requested-With", "XMLHttpRequest")
            .form(&[("username", user), ("password", pass)]);
        let reply = self.http.send(req).await?;
        if reply.status.as_u16() == 404 {
            return Err(PanelError::Config(
                "no login page at the panel URL; it must include the web base path".into(),
            ));
        }
        if !reply.is_success() {
            return Err(reply.error("login"));
        }
        let env: Envelope = reply.json()?;
        if !env.success {
            return Err(PanelError::Auth(format!(
                "login refused: {}",
                env.msg.unwrap_or_default()
            )));
        }
        let cookie = reply
            .headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v: &HeaderValue| v.to_str().ok())
            .filter_map(|v| v.split(';').next())
            .map(str::trim)
            .filter(|kv| kv.contains('='))
            .collect::<Vec<_>>()
            .join("; ");
        if cookie.is_empty() {
            return Err(PanelError::BadResponse(
                "login succeeded but set no session cookie".into(),
            ));
        }
        Ok(cookie)
    }

    /// Which client API the panel speaks; asked once, right after the first fresh login, so a
    /// 404 can only mean "no such route".
    async fn detect(&self, cred: &Cred) -> Result<Api, PanelError> {
        if let Some(api) = self.api.get() {
            return Ok(*api);
        }
        let req = self
            .request(
                Method::GET,
                &["panel", "api", "clients", "list", "paged"],
                cred,
            )
            .query(&[("page", "1"), ("pageSize", "1")]);
        let reply = self.http.send(req).await?;
        let v3 = reply.is_success() && reply.json::<Envelope>().map(|e| e.success).unwrap_or(false);
        let api = if v3 { Api::V3 } else { Api::V2 };
        tracing::debug!(?api, "3x-ui client API detected");
        Ok(*self.api.get_or_init(|| api))
    }

    /// 3.x cookie sessions need a CSRF token on unsafe requests. The answer's shape is not known
    /// for sure, so take a string from `obj`, `token` or `csrfToken`.
    async fn csrf_token(&self, cred: &Cred) -> Result<Option<String>, PanelError> {
        let reply = self
            .http
            .send(self.request(Method::GET, &["csrf-token"], cred))
            .await?;
        if !reply.is_success() {
            return Ok(None);
        }
        let v = reply.value().unwrap_or(Value::Null);
        Ok(["obj", "token", "csrfToken"]
            .iter()
            .find_map(|k| v.get(k).and_then(Value::as_str))
            .map(str::to_string))
    }

    /// The detected API; before the first login, V2.
    fn api(&self) -> Api {
        self.api.get().copied().unwrap_or(Api::V2)
    }

    /// The API to shape requests for, logging in first so it has been detected.
    async fn ready(&self) -> Result<Api, PanelError> {
        self.session.get(|| self.login()).await?;
        Ok(self.api())
    }

    /// An authenticated call; `obj` of a successful envelope. 401/403/404/redirect cost one
    /// fresh login and one retry.
    async fn call(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Value, PanelError> {
        let cred = self.session.get(|| self.login()).await?;
        let mut reply = self.send(&method, segments, query, body, &cred).await?;
        if session_lost(&reply) {
            tracing::debug!("3x-ui session lost; logging in again");
            let cred = self.session.renew(&cred, || self.login()).await?;
            reply = self.send(&method, segments, query, body, &cred).await?;
        }
        open_envelope(&reply)
    }

    /// `call` of a POST with a JSON body and no query.
    async fn post(&self, segments: &[&str], body: &Value) -> Result<Value, PanelError> {
        self.call(Method::POST, segments, &[], Some(body)).await
    }

    /// `call` of a GET without query or body.
    async fn get(&self, segments: &[&str]) -> Result<Value, PanelError> {
        self.call(Method::GET, segments, &[], None).await
    }

    async fn send(
        &self,
        method: &Method,
        segments: &[&str],
        query: &[(&str, String)],
        body: Option<&Value>,
        cred: &Arc<Cred>,
    ) -> Result<Reply, PanelError> {
        let mut req = self.request(method.clone(), segments, cred);
        if !query.is_empty() {
            req = req.query(query);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        self.http.send(req).await
    }

    async fn inbounds(&self) -> Result<Vec<Inbound>, PanelError> {
        let obj = self.get(&["panel", "api", "inbounds", "list"]).await?;
        if obj.is_null() {
            return Ok(Vec::new());
        }
        serde_json::from_value(obj)
            .map_err(|e| PanelError::BadResponse(format!("inbounds/list: {e}")))
    }

    /// Every client of every inbound (2.x): one `inbounds/list` call.
    async fn scan(&self) -> Result<Vec<Found>, PanelError> {
        let mut out = Vec::new();
        for inbound in self.inbounds().await? {
            let settings = inbound_settings(&inbound.settings);
            let stats = inbound.client_stats.unwrap_or_default();
            let clients = settings
                .get("clients")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for client in clients {
                let Value::Object(client) = client else {
                    continue;
                };
                let email = str_field(&client, "email");
                if email.is_empty() {
                    continue;
                }
                let stat = stats.iter().find(|s| s.email == email).cloned();
                out.push(Found {
                    inbound_id: inbound.id,
                    protocol: inbound.protocol.clone(),
                    client,
                    stat,
                });
            }
        }
        Ok(out)
    }

    /// The client with this email, wherever it lives.
    async fn find(&self, email: &str) -> Result<Option<Found>, PanelError> {
        match self.ready().await? {
            Api::V2 => Ok(self.scan().await?.into_iter().find(|f| f.email() == email)),
            Api::V3 => {
                let client = match self.get(&["panel", "api", "clients", "get", email]).await {
                    Ok(Value::Object(m)) => m,
                    Ok(_) => return Ok(None),
                    Err(e) if is_not_found(&e) => return Ok(None),
                    Err(e) => return Err(e),
                };
                let traffic = self
                    .get(&["panel", "api", "clients", "traffic", email])
                    .await?;
                Ok(Some(v3_found(client, Some(traffic))))
            }
        }
    }

    async fn find_required(&self, email: &str) -> Result<Found, PanelError> {
        self.find(email)
            .await?
            .ok_or_else(|| PanelError::NotFound(format!("client {email}")))
    }

    fn sub_url(&self, sub_id: &str) -> Option<String> {
        let base = self.sub_base.as_ref()?;
        (!sub_id.is_empty()).then(|| format!("{base}/sub/{sub_id}"))
    }

    fn remote(&self, f: &Found, now: DateTime<Utc>) -> RemoteUser {
        let c = &f.client;
        let limit = Some(int_field(c, "totalGB")).filter(|l| *l > 0);
        let expiry_ms = int_field(c, "expiryTime");
        let expires_at = from_unix_ms(expiry_ms);
        let enabled = c.get("enable").and_then(Value::as_bool).unwrap_or(false);
        let used = f.stat.as_ref().map_or(0, |s| s.up + s.down);
        let mut state = RemoteState::derive(enabled, used, limit, expires_at, now);
        if state == RemoteState::Active {
            if expiry_ms < 0 {
                state = RemoteState::OnHold;
            } else if f.stat.as_ref().is_some_and(|s| !s.enable) {
                // The traffic job cut it off before our counters show why: depleted.
                state = RemoteState::Limited;
            }
        }
        RemoteUser {
            username: f.email().to_string(),
            used_bytes: used,
            lifetime_used_bytes: f.stat.as_ref().and_then(|s| s.all_time),
            limit_bytes: limit,
            expires_at,
            enabled,
            state,
            subscription_url: self.sub_url(str_field(c, "subId")),
            owner: Some(format!("inbound {}", f.inbound_id)),
        }
    }

    /// Reads the client, lets `change` edit it, and writes it back whole when it changed.
    async fn modify(
        &self,
        email: &str,
        change: impl FnOnce(&mut Map<String, Value>),
    ) -> Result<(), PanelError> {
        let found = self.find_required(email).await?;
        let mut client = found.client.clone();
        change(&mut client);
        if client == found.client {
            return Ok(());
        }
        match self.ready().await? {
            Api::V2 => {
                let key = str_field(&found.client, client_key_field(&found.protocol)).to_string();
                if key.is_empty() {
                    return Err(PanelError::BadResponse(format!(
                        "client {email} has no {}",
                        client_key_field(&found.protocol)
                    )));
                }
                let body = json!({
                    "id": found.inbound_id,
                    "settings": json!({ "clients": [client] }).to_string(),
                });
                self.post(&["panel", "api", "inbounds", "updateClient", &key], &body)
                    .await
                    .map(drop)
            }
            Api::V3 => {
                let inbound_ids = client.remove("inboundIds").unwrap_or(json!([]));
                let body = json!({ "client": client, "inboundIds": inbound_ids });
                self.post(&["panel", "api", "clients", "update", email], &body)
                    .await
                    .map(drop)
            }
        }
    }

    async fn set_enabled(&self, email: &str, enable: bool) -> Result<(), PanelError> {
        self.modify(email, |c| {
            c.insert("enable".into(), json!(enable));
        })
        .await
    }

    async fn list_v3(&self) -> Result<Vec<Found>, PanelError> {
        let mut out = Vec::new();
        let mut page = 1;
        loop {
            let query = [
                ("page", page.to_string()),
                ("pageSize", V3_PAGE_SIZE.to_string()),
            ];
            let obj = self
                .call(
                    Method::GET,
                    &["panel", "api", "clients", "list", "paged"],
                    &query,
                    None,
                )
                .await?;
            let items = obj
                .get("items")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let total = obj.get("total").and_then(Value::as_u64).unwrap_or(0) as usize;
            let n = items.len();
            out.extend(items.into_iter().filter_map(|item| match item {
                Value::Object(mut m) => {
                    let traffic = m.remove("traffic");
                    Some(v3_found(m, traffic))
                }
                _ => None,
            }));
            if n < V3_PAGE_SIZE || out.len() >= total {
                return Ok(out);
            }
            page += 1;
        }
    }
}

/// A 3.x client object plus its `traffic` row, in the 2.x shape the rest of the module reads.
fn v3_found(client: Map<String, Value>, traffic: Option<Value>) -> Found {
    let email = str_field(&client, "email").to_string();
    let stat = traffic
        .and_then(|t| serde_json::from_value::<Stat>(t).ok())
        .map(|mut s| {
            s.email = email;
            s
        });
    Found {
        inbound_id: client
            .get("inboundIds")
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .and_then(Value::as_i64)
            .unwrap_or_default(),
        protocol: String::new(),
        client,
        stat,
    }
}

/// 2.8.4+ hides the API behind 404, older versions answer 401 or redirect to the login page.
fn session_lost(reply: &Reply) -> bool {
    matches!(reply.status.as_u16(), 401 | 403 | 404 | 300..=399)
}

fn open_envelope(reply: &Reply) -> Result<Value, PanelError> {
    if !reply.is_success() {
        let status = reply.status.as_u16();
        return Err(match status {
            401 | 403 => PanelError::Auth(format!(
                "HTTP {status} even after a fresh login: {}",
                reply.message()
            )),
            404 | 300..=399 => PanelError::Config(format!(
                "HTTP {status} even after a fresh login: check the web base path, and whether \
                 the panel version has this route (3.x removed the 2.x client routes)"
            )),
            _ => reply.error("3x-ui"),
        });
    }
    let env: Envelope = reply.json()?;
    if env.success {
        Ok(env.obj)
    } else {
        Err(PanelError::Rejected {
            status: reply.status.as_u16(),
            message: env.msg.unwrap_or_else(|| "success: false".into()),
        })
    }
}

#[async_trait]
impl PanelClient for Xui {
    fn kind(&self) -> PanelKind {
        PanelKind::Xui
    }

    /// 2.x lists everything in one call; 3.x pages by 200 (known after the first login).
    fn page_size(&self) -> usize {
        match self.api() {
            Api::V2 => usize::MAX,
            Api::V3 => V3_PAGE_SIZE,
        }
    }

    async fn test_connection(&self) -> Result<ConnectionInfo, PanelError> {
        self.ready().await?;
        let started = Instant::now();
        let status = self.get(&["panel", "api", "server", "status"]).await?;
        // 3x-ui reports xray's version, not its own; only a field naming the panel counts.
        let version = status
            .get("appVersion")
            .and_then(Value::as_str)
            .map(str::to_string);
        Ok(ConnectionInfo {
            version,
            latency_ms: started.elapsed().as_millis() as u64,
        })
    }

    async fn list_choices(&self) -> Result<Choices, PanelError> {
        let inbounds = self
            .inbounds()
            .await?
            .into_iter()
            .map(|i| Choice {
                id: i.id.to_string(),
                label: format!("{} ({}:{})", i.remark, i.protocol, i.port),
            })
            .collect();
        Ok(Choices {
            inbounds,
            ..Choices::default()
        })
    }

    async fn create_user(&self, user: &NewUser) -> Result<RemoteUser, PanelError> {
        let ids = if user.inbound_ids.is_empty() {
            &self.settings.inbound_ids
        } else {
            &user.inbound_ids
        };
        let Some(&first) = ids.first() else {
            return Err(PanelError::Config(
                "no 3x-ui inbound ids for the new client: set them in the panel settings".into(),
            ));
        };
        let api = self.ready().await?;
        let sub_id = random_hex(16);
        let mut client = json!({
            "email": user.username,
            "limitIp": user.max_clients.unwrap_or(0).max(0),
            "totalGB": user.limit_bytes.max(0),
            "expiryTime": unix_ms(user.expires_at),
            "enable": true,
            "tgId": 0,
            "subId": sub_id,
            "comment": user.note.clone().unwrap_or_default(),
            "reset": 0,
        });
        match api {
            Api::V2 => {
                if ids.len() > 1 {
                    // 2.x keeps emails unique across the panel: one inbound per client.
                    tracing::warn!(
                        inbound = first,
                        "3x-ui 2.x: client goes into the first inbound only"
                    );
                }
                let obj = self
                    .get(&["panel", "api", "inbounds", "get", &first.to_string()])
                    .await
                    .map_err(|e| {
                        if is_not_found(&e) {
                            PanelError::Config(format!(
                                "inbound {first} does not exist on the panel"
                            ))
                        } else {
                            e
                        }
                    })?;
                let inbound: Inbound = serde_json::from_value(obj)
                    .map_err(|e| PanelError::BadResponse(format!("inbounds/get: {e}")))?;
                let (field, secret) =
                    client_secret(&inbound.protocol, &inbound_settings(&inbound.settings))?;
                client[field] = json!(secret);
                client["flow"] = json!("");
                let body = json!({
                    "id": first,
                    "settings": json!({ "clients": [client] }).to_string(),
                });
                self.post(&["panel", "api", "inbounds", "addClient"], &body)
                    .await?;
            }
            Api::V3 => {
                // 3.x generates the secrets and can hold one email in several inbounds.
                let body = json!({ "client": client, "inboundIds": ids });
                self.post(&["panel", "api", "clients", "add"], &body)
                    .await?;
            }
        }
        // addClient answers with no object, so the user is what we asked for.
        let limit = Some(user.limit_bytes).filter(|l| *l > 0);
        Ok(RemoteUser {
            username: user.username.clone(),
            used_bytes: 0,
            lifetime_used_bytes: None,
            limit_bytes: limit,
            expires_at: user.expires_at,
            enabled: true,
            state: RemoteState::derive(true, 0, limit, user.expires_at, Utc::now()),
            subscription_url: self.sub_url(&sub_id),
            owner: None,
        })
    }

    async fn get_user(&self, username: &str) -> Result<Option<RemoteUser>, PanelError> {
        Ok(self
            .find(username)
            .await?
            .map(|f| self.remote(&f, Utc::now())))
    }

    async fn list_users(&self) -> Result<Vec<RemoteUser>, PanelError> {
        let found = match self.ready().await? {
            Api::V2 => self.scan().await?,
            Api::V3 => self.list_v3().await?,
        };
        let now = Utc::now();
        let mut emails = HashSet::new();
        Ok(found
            .iter()
            .filter(|f| emails.insert(f.email().to_string()))
            .map(|f| self.remote(f, now))
            .collect())
    }

    async fn update_user(&self, username: &str, limits: &UserLimits) -> Result<(), PanelError> {
        self.modify(username, |c| {
            if let Some(l) = limits.limit_bytes {
                c.insert("totalGB".into(), json!(l.max(0)));
            }
            if let Some(e) = limits.expires_at {
                c.insert("expiryTime".into(), json!(unix_ms(e)));
            }
            if let Some(n) = limits.max_clients {
                c.insert("limitIp".into(), json!(n.max(0)));
            }
        })
        .await
    }

    async fn enable_user(&self, username: &str) -> Result<(), PanelError> {
        self.set_enabled(username, true).await
    }

    async fn disable_user(&self, username: &str) -> Result<(), PanelError> {
        self.set_enabled(username, false).await
    }

    async fn reset_usage(&self, username: &str) -> Result<(), PanelError> {
        let found = self.find_required(username).await?;
        let path = match self.ready().await? {
            Api::V2 => vec![
                "panel".to_string(),
                "api".into(),
                "inbounds".into(),
                found.inbound_id.to_string(),
                "resetClientTraffic".into(),
                username.into(),
            ],
            Api::V3 => vec![
                "panel".to_string(),
                "api".into(),
                "clients".into(),
                "resetTraffic".into(),
                username.into(),
            ],
        };
        let path: Vec<&str> = path.iter().map(String::as_str).collect();
        self.call(Method::POST, &path, &[], None).await.map(drop)
    }

    async fn delete_user(&self, username: &str) -> Result<(), PanelError> {
        let Some(found) = self.find(username).await? else {
            return Ok(());
        };
        let result = match self.ready().await? {
            Api::V2 => {
                let field = client_key_field(&found.protocol);
                let key = str_field(&found.client, field);
                if key.is_empty() {
                    return Err(PanelError::BadResponse(format!(
                        "client {username} has no {field}"
                    )));
                }
                let inbound = found.inbound_id.to_string();
                self.call(
                    Method::POST,
                    &["panel", "api", "inbounds", &inbound, "delClient", key],
                    &[],
                    None,
                )
                .await
            }
            Api::V3 => {
                self.call(
                    Method::POST,
                    &["panel", "api", "clients", "del", username],
                    &[],
                    None,
                )
                .await
            }
        };
        match result {
            // Someone removed it between our read and our delete.
            Err(e) if is_not_found(&e) => Ok(()),
            other => other.map(drop),
        }
    }

    async fn subscription_url(&self, username: &str) -> Result<String, PanelError> {
        if self.sub_base.is_none() {
            return Err(PanelError::Config(
                "3x-ui serves subscriptions on a separate listener: set the panel's subscription base URL"
                    .into(),
            ));
        }
        let found = self.find_required(username).await?;
        self.sub_url(str_field(&found.client, "subId"))
            .ok_or_else(|| {
                PanelError::Config(format!(
                    "client {username} has no subId; give it one in the panel"
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adapter(sub: Option<&str>) -> Xui {
        let mut config =
            PanelConfig::new(PanelKind::Xui, "https://x.example:2053/path").with_login("a", "b");
        config.settings.sub_base_url = sub.map(str::to_string);
        Xui::new(config).unwrap()
    }

    fn found(client: Value, stat: Option<Value>) -> Found {
        Found {
            inbound_id: 1,
            protocol: "vless".into(),
            client: client.as_object().unwrap().clone(),
            stat: stat.map(|s| serde_json::from_value(s).unwrap()),
        }
    }

    #[test]
    fn bytes_ms_and_usage_from_up_plus_down() {
        let x = adapter(Some("https://sub.example:2096/"));
        let f = found(
            json!({"email": "u1", "totalGB": 1000, "expiryTime": 1_801_440_000_000_i64,
                   "enable": true, "subId": "abc"}),
            Some(json!({"email": "u1", "up": 100, "down": 200, "allTime": 900, "enable": true})),
        );
        let r = x.remote(&f, Utc::now());
        assert_eq!(r.used_bytes, 300);
        assert_eq!(r.lifetime_used_bytes, Some(900));
        assert_eq!(r.limit_bytes, Some(1000));
        assert_eq!(r.expires_at.unwrap().timestamp(), 1_801_440_000);
        assert_eq!(r.state, RemoteState::Active);
        assert_eq!(
            r.subscription_url.as_deref(),
            Some("https://sub.example:2096/sub/abc")
        );
    }

    #[test]
    fn negative_expiry_is_on_hold_and_a_cut_off_client_is_limited() {
        let x = adapter(None);
        let f = found(
            json!({"email": "u", "expiryTime": -86_400_000, "enable": true}),
            None,
        );
        assert_eq!(x.remote(&f, Utc::now()).state, RemoteState::OnHold);
        let f = found(
            json!({"email": "u", "enable": true}),
            Some(json!({"email": "u", "up": 0, "down": 0, "enable": false})),
        );
        assert_eq!(x.remote(&f, Utc::now()).state, RemoteState::Limited);
        assert_eq!(x.remote(&f, Utc::now()).subscription_url, None);
    }

    #[test]
    fn secrets_follow_the_protocol() {
        assert_eq!(client_secret("vless", &Value::Null).unwrap().0, "id");
        assert_eq!(client_secret("trojan", &Value::Null).unwrap().0, "password");
        let (_, key) =
            client_secret("shadowsocks", &json!({"method": "2022-blake3-aes-128-gcm"})).unwrap();
        assert_eq!(
            base64::engine::general_purpose::STANDARD
                .decode(key)
                .unwrap()
                .len(),
            16
        );
        assert!(matches!(
            client_secret("wireguard", &Value::Null),
            Err(PanelError::Config(_))
        ));
        assert_eq!(client_key_field("shadowsocks"), "email");
    }

    #[test]
    fn success_false_is_a_refusal() {
        let reply = Reply {
            status: reqwest::StatusCode::OK,
            headers: Default::default(),
            body: br#"{"success":false,"msg":"Duplicate email: u1","obj":null}"#.to_vec(),
        };
        match open_envelope(&reply) {
            Err(PanelError::Rejected { message, .. }) => assert!(message.contains("Duplicate")),
            other => panic!("{other:?}"),
        }
    }
}
