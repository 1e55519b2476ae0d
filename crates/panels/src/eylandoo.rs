//! Eylandoo adapter: static `X-API-KEY`, limits sent as GiB floats, expiry as a Tehran date.
//! No public server source exists; shapes come from a client's code, so every read is defensive.
//!
//! Reads accept several shapes (`{"data":{...}}`, `{"userInfo":{...}}`, `{"user":{...}}`, a bare
//! object) and take usage as the largest of the counters a shape may carry. The toggle route
//! flips the state, so enable/disable read first, toggle only when needed, and read again.

use std::collections::HashSet;
use std::time::Instant;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reqwest::Method;
use serde_json::{json, Map, Value};

use crate::convert::{
    bytes_to_gib_2dp, from_unix_ms, from_unix_secs, gib_to_bytes, lenient_bool, lenient_f64,
    lenient_i64, parse_datetime, tehran_date, tehran_midnight, GIB,
};
use crate::http::{absolute_url, sub_base, Http, Reply};
use crate::{
    Choice, Choices, ConnectionInfo, NewUser, PanelClient, PanelConfig, PanelError, PanelKind,
    PanelSettings, RemoteState, RemoteUser, UserLimits,
};

/// "Never expires" cannot be sent; the PHP original sends +10 years. Reading back, anything
/// further out than `NEVER_AFTER_YEARS` is taken as never, so a round trip gives None again.
const NEVER_YEARS: i32 = 10;
const NEVER_AFTER_YEARS: i64 = 9;

pub(crate) struct Eylandoo {
    http: Http,
    api_key: String,
    settings: PanelSettings,
    /// Relative sub URLs are joined to `sub_base_url`, else to the panel URL.
    sub_base: String,
}

/// The user object inside whichever wrapper the answer uses.
fn user_object(v: &Value) -> Option<&Map<String, Value>> {
    let candidates = [
        v.get("data").and_then(|d| d.get("user")),
        v.get("data"),
        v.get("userInfo"),
        v.get("user"),
        Some(v),
    ];
    candidates
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .find(|m| m.contains_key("username"))
}

/// The users array of a `list_all` answer.
fn user_list(v: &Value) -> Option<&Vec<Value>> {
    [
        v.get("data").and_then(|d| d.get("users")),
        v.get("users"),
        v.get("data"),
        Some(v),
    ]
    .into_iter()
    .flatten()
    .find_map(Value::as_array)
}

fn first_i64(m: &Map<String, Value>, keys: &[&str]) -> Option<i64> {
    keys.iter().find_map(|k| m.get(*k).and_then(lenient_i64))
}

/// The largest of every usage counter the shape may carry; they all mean "bytes used".
fn usage(m: &Map<String, Value>) -> i64 {
    let single = [
        "total_traffic_bytes",
        "used_traffic",
        "data_used",
        "traffic_used",
        "used_bytes",
        "usage_bytes",
        "total_used",
    ]
    .iter()
    .filter_map(|k| m.get(*k).and_then(lenient_i64));
    let pairs = [
        ("upload_bytes", "download_bytes"),
        ("upload", "download"),
        ("up", "down"),
    ]
    .iter()
    .filter_map(|(a, b)| {
        let a = m.get(*a).and_then(lenient_i64);
        let b = m.get(*b).and_then(lenient_i64);
        (a.is_some() || b.is_some()).then(|| a.unwrap_or(0) + b.unwrap_or(0))
    });
    single.chain(pairs).max().unwrap_or(0).max(0)
}

/// The limit in bytes; None = unlimited. Byte fields win; `data_limit` is converted by its unit
/// when one is given, and otherwise read as GB when it is too small to be bytes (< 1 MiB)
/// or fractional, as the "production" shape sends GB there.
fn limit(m: &Map<String, Value>) -> Option<i64> {
    if let Some(b) = first_i64(
        m,
        &["data_limit_bytes", "total_bytes", "traffic_limit_bytes"],
    ) {
        return (b > 0).then_some(b);
    }
    let amount = m.get("data_limit").and_then(lenient_f64)?;
    let unit = m
        .get("data_limit_unit")
        .and_then(Value::as_str)
        .map(str::to_ascii_uppercase);
    let bytes = match unit.as_deref() {
        Some("GB") => gib_to_bytes(amount),
        Some("MB") => (amount * (GIB / 1024) as f64).round() as i64,
        Some("TB") => gib_to_bytes(amount * 1024.0),
        Some("B") | Some("BYTES") => amount.round() as i64,
        _ if amount.fract() != 0.0 || amount < 1_048_576.0 => gib_to_bytes(amount),
        _ => amount.round() as i64,
    };
    (bytes > 0).then_some(bytes)
}

fn expiry(m: &Map<String, Value>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let raw = [
        "expiry_date",
        "expiry_date_str",
        "expire_date",
        "expires_at",
        "expire",
    ]
    .iter()
    .find_map(|k| m.get(*k).filter(|v| !v.is_null()))?;
    let t = match raw {
        Value::String(s) if s.trim().is_empty() => None,
        Value::String(s) => parse_datetime(s),
        Value::Number(n) => n.as_i64().and_then(|x| {
            if x > 100_000_000_000 {
                from_unix_ms(x)
            } else {
                from_unix_secs(x)
            }
        }),
        _ => None,
    }?;
    (t < now + chrono::Duration::days(365 * NEVER_AFTER_YEARS)).then_some(t)
}

/// The admin switch and what the panel says about the user.
fn switch_and_state(m: &Map<String, Value>) -> (bool, Option<RemoteState>) {
    if let Some(status) = m.get("status").and_then(Value::as_str) {
        return match status.to_ascii_lowercase().as_str() {
            "active" | "enabled" => (true, Some(RemoteState::Active)),
            "disabled" | "inactive" | "deactive" | "suspended" => {
                (false, Some(RemoteState::Disabled))
            }
            "expired" => (true, Some(RemoteState::Expired)),
            "limited" => (true, Some(RemoteState::Limited)),
            "on_hold" => (true, Some(RemoteState::OnHold)),
            _ => (true, None),
        };
    }
    let enabled = ["is_active", "enabled", "active"]
        .iter()
        .find_map(|k| m.get(*k).and_then(lenient_bool))
        .unwrap_or(true);
    (enabled, None)
}

/// The first URL-ish field of a subscription, create or user answer.
fn sub_path(v: &Value) -> Option<String> {
    let spots = [
        v.get("subResponse").and_then(|s| s.get("sub_url")),
        v.get("data").and_then(|d| d.get("subscription_url")),
        v.get("data").and_then(|d| d.get("sub_url")),
        v.get("data")
            .and_then(|d| d.get("users"))
            .and_then(|u| u.get(0))
            .and_then(|u| u.get("config_url")),
        v.get("data").and_then(|d| d.get("config_url")),
        v.get("subscription_url"),
        v.get("sub_url"),
        v.get("config_url"),
    ];
    spots
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .find(|s| !s.trim().is_empty())
        .map(str::to_string)
}

/// `status:"error"` or `success:false` inside a 2xx.
fn refusal(v: &Value) -> Option<String> {
    let failed = v.get("status").and_then(Value::as_str) == Some("error")
        || v.get("success").and_then(Value::as_bool) == Some(false)
        || v.get("subResponse")
            .and_then(|s| s.get("success"))
            .and_then(Value::as_bool)
            == Some(false);
    failed.then(|| {
        ["message", "msg", "detail", "error"]
            .iter()
            .find_map(|k| v.get(*k).and_then(Value::as_str))
            .unwrap_or("the panel answered with an error status")
            .to_string()
    })
}

/// The date sent as `expiry_date_str`: the Tehran date of the instant (our expiries are
/// normalised to 00:00 Tehran, so this is the day the user stops working).
fn expiry_date_str(expires_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    let t = expires_at.unwrap_or_else(|| {
        now.checked_add_months(chrono::Months::new(12 * NEVER_YEARS as u32))
            .unwrap_or(now)
    });
    tehran_date(t).format("%Y-%m-%d").to_string()
}

impl Eylandoo {
    pub fn new(config: PanelConfig) -> Result<Eylandoo, PanelError> {
        let Some(api_key) = config.api_key.clone().filter(|k| !k.trim().is_empty()) else {
            return Err(PanelError::Config("Eylandoo needs an API key".into()));
        };
        let sub_base = sub_base(&config)?.unwrap_or_else(|| config.base_url.clone());
        Ok(Eylandoo {
            http: Http::new(&config)?,
            api_key,
            settings: config.settings,
            sub_base,
        })
    }

    async fn send(
        &self,
        method: Method,
        segments: &[&str],
        body: Option<&Value>,
    ) -> Result<Reply, PanelError> {
        let mut req = self
            .http
            .request(method, segments)
            .header("X-API-KEY", &self.api_key)
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(b) = body {
            req = req.json(b);
        }
        self.http.send(req).await
    }

    /// A 2xx JSON answer that is not an error envelope.
    async fn call(
        &self,
        method: Method,
        segments: &[&str],
        body: Option<&Value>,
        what: &str,
    ) -> Result<Value, PanelError> {
        let reply = self.send(method, segments, body).await?;
        let v: Value = reply.ok_json(what)?;
        match refusal(&v) {
            Some(message) => Err(PanelError::Rejected {
                status: reply.status.as_u16(),
                message,
            }),
            None => Ok(v),
        }
    }

    fn user_path<'a>(username: &'a str, action: Option<&'a str>) -> Vec<&'a str> {
        let mut path = vec!["api", "v1", "users", username];
        path.extend(action);
        path
    }

    fn remote(
        &self,
        m: &Map<String, Value>,
        fallback_name: &str,
        now: DateTime<Utc>,
    ) -> RemoteUser {
        let used = usage(m);
        let limit = limit(m);
        let expires_at = expiry(m, now);
        let (enabled, said) = switch_and_state(m);
        let derived = RemoteState::derive(enabled, used, limit, expires_at, now);
        // The panel's own word wins unless it only says "active" while counters say otherwise.
        let state = match said {
            Some(RemoteState::Active) | None => derived,
            Some(s) => s,
        };
        RemoteUser {
            owner: m
                .get("sub_admin")
                .and_then(|a| {
                    a.as_str().map(str::to_string).or_else(|| {
                        a.get("username")
                            .and_then(Value::as_str)
                            .map(str::to_string)
                    })
                })
                .filter(|o| !o.trim().is_empty()),
            username: m
                .get("username")
                .and_then(Value::as_str)
                .unwrap_or(fallback_name)
                .to_string(),
            used_bytes: used,
            lifetime_used_bytes: None,
            limit_bytes: limit,
            expires_at,
            enabled,
            state,
            subscription_url: sub_path(&Value::Object(m.clone()))
                .and_then(|p| absolute_url(&self.sub_base, &p).ok()),
        }
    }

    /// Enable/disable through the flip-flop toggle: read, toggle if needed, read again.
    async fn set_enabled(&self, username: &str, enable: bool) -> Result<(), PanelError> {
        let before = self
            .get_user(username)
            .await?
            .ok_or_else(|| PanelError::NotFound(format!("user {username}")))?;
        if before.enabled == enable {
            return Ok(());
        }
        self.call(
            Method::POST,
            &Self::user_path(username, Some("toggle")),
            None,
            "toggle",
        )
        .await?;
        let after = self
            .get_user(username)
            .await?
            .ok_or_else(|| PanelError::NotFound(format!("user {username}")))?;
        if after.enabled == enable {
            Ok(())
        } else {
            // Someone else toggled at the same time; the next attempt reads and fixes it.
            Err(PanelError::BadResponse(format!(
                "toggle left user {username} {}",
                if after.enabled { "enabled" } else { "disabled" }
            )))
        }
    }
}

#[async_trait]
impl PanelClient for Eylandoo {
    fn kind(&self) -> PanelKind {
        PanelKind::Eylandoo
    }

    /// `list_all` has no known pagination: one call returns everyone.
    fn page_size(&self) -> usize {
        usize::MAX
    }

    async fn test_connection(&self) -> Result<ConnectionInfo, PanelError> {
        let started = Instant::now();
        self.call(Method::GET, &["api", "v1", "nodes"], None, "nodes")
            .await?;
        Ok(ConnectionInfo {
            version: None,
            latency_ms: started.elapsed().as_millis() as u64,
        })
    }

    async fn list_choices(&self) -> Result<Choices, PanelError> {
        let v = self
            .call(Method::GET, &["api", "v1", "nodes"], None, "nodes")
            .await?;
        let nodes = [
            v.get("data").and_then(|d| d.get("nodes")),
            v.get("nodes"),
            v.get("data"),
        ]
        .into_iter()
        .flatten()
        .find_map(Value::as_array)
        .cloned()
        .unwrap_or_default();
        let nodes = nodes
            .iter()
            .filter_map(|n| {
                let id = n.get("id").and_then(lenient_i64)?;
                let name = n.get("name").and_then(Value::as_str).unwrap_or("node");
                let label = match n.get("ip_address").and_then(Value::as_str) {
                    Some(ip) => format!("{name} ({ip})"),
                    None => name.to_string(),
                };
                Some(Choice {
                    id: id.to_string(),
                    label,
                })
            })
            .collect();
        Ok(Choices {
            nodes,
            ..Choices::default()
        })
    }

    async fn create_user(&self, user: &NewUser) -> Result<RemoteUser, PanelError> {
        let now = Utc::now();
        let nodes = if user.node_ids.is_empty() {
            &self.settings.node_ids
        } else {
            &user.node_ids
        };
        let date = expiry_date_str(user.expires_at, now);
        let mut body = json!({
            "username": user.username,
            "activation_type": "fixed_date",
            "data_limit": if user.limit_bytes > 0 { json!(bytes_to_gib_2dp(user.limit_bytes)) } else { Value::Null },
            "data_limit_unit": "GB",
            "expiry_date_str": date,
        });
        if let Some(n) = user.max_clients {
            body["max_clients"] = json!(n);
        }
        // Omitted = the panel's default nodes.
        if !nodes.is_empty() {
            body["nodes"] = json!(nodes);
        }
        let v = self
            .call(
                Method::POST,
                &["api", "v1", "users"],
                Some(&body),
                "create user",
            )
            .await?;
        let created = v.get("success").and_then(Value::as_bool) == Some(true)
            || v.get("status").and_then(Value::as_str) == Some("success")
            || [
                v.get("created_users"),
                v.get("data").and_then(|d| d.get("created_users")),
            ]
            .into_iter()
            .flatten()
            .filter_map(Value::as_array)
            .flatten()
            .any(|u| u.as_str() == Some(&user.username));
        if !created {
            return Err(PanelError::BadResponse(format!(
                "create answered without a success marker: {}",
                v.to_string().chars().take(200).collect::<String>()
            )));
        }
        let limit = Some(user.limit_bytes).filter(|l| *l > 0);
        // What the panel now holds: the date we sent, as 00:00 Tehran.
        let expires_at = user.expires_at.map(|t| tehran_midnight(tehran_date(t)));
        Ok(RemoteUser {
            username: user.username.clone(),
            used_bytes: 0,
            lifetime_used_bytes: None,
            limit_bytes: limit,
            expires_at,
            enabled: true,
            state: RemoteState::derive(true, 0, limit, expires_at, now),
            subscription_url: sub_path(&v).and_then(|p| absolute_url(&self.sub_base, &p).ok()),
            owner: None,
        })
    }

    async fn get_user(&self, username: &str) -> Result<Option<RemoteUser>, PanelError> {
        let v = match self
            .call(Method::GET, &Self::user_path(username, None), None, "user")
            .await
        {
            Ok(v) => v,
            Err(PanelError::NotFound(_)) => return Ok(None),
            Err(PanelError::Rejected { message, .. })
                if message.to_ascii_lowercase().contains("not found") =>
            {
                return Ok(None)
            }
            Err(e) => return Err(e),
        };
        let m = user_object(&v).ok_or_else(|| {
            PanelError::BadResponse(format!("no user object in the answer for {username}"))
        })?;
        Ok(Some(self.remote(m, username, Utc::now())))
    }

    async fn list_users(&self) -> Result<Vec<RemoteUser>, PanelError> {
        let v = self
            .call(
                Method::GET,
                &["api", "v1", "users", "list_all"],
                None,
                "users",
            )
            .await?;
        let list = user_list(&v)
            .ok_or_else(|| PanelError::BadResponse("no users array in list_all".into()))?;
        let now = Utc::now();
        let mut names = HashSet::new();
        Ok(list
            .iter()
            .filter_map(Value::as_object)
            .filter(|m| m.get("username").and_then(Value::as_str).is_some())
            .map(|m| self.remote(m, "", now))
            .filter(|u| names.insert(u.username.clone()))
            .collect())
    }

    async fn update_user(&self, username: &str, limits: &UserLimits) -> Result<(), PanelError> {
        let mut body = Map::new();
        if let Some(l) = limits.limit_bytes {
            let amount = if l > 0 {
                json!(bytes_to_gib_2dp(l))
            } else {
                Value::Null
            };
            body.insert("data_limit".into(), amount);
            body.insert("data_limit_unit".into(), json!("GB"));
        }
        if let Some(e) = limits.expires_at {
            body.insert("activation_type".into(), json!("fixed_date"));
            body.insert(
                "expiry_date_str".into(),
                json!(expiry_date_str(e, Utc::now())),
            );
        }
        if let Some(n) = limits.max_clients {
            body.insert("max_clients".into(), json!(n.max(0)));
        }
        if body.is_empty() {
            return Ok(());
        }
        self.call(
            Method::PUT,
            &Self::user_path(username, None),
            Some(&Value::Object(body)),
            &format!("user {username}"),
        )
        .await
        .map(drop)
    }

    async fn enable_user(&self, username: &str) -> Result<(), PanelError> {
        self.set_enabled(username, true).await
    }

    async fn disable_user(&self, username: &str) -> Result<(), PanelError> {
        self.set_enabled(username, false).await
    }

    async fn reset_usage(&self, username: &str) -> Result<(), PanelError> {
        self.call(
            Method::POST,
            &Self::user_path(username, Some("reset_traffic")),
            None,
            &format!("user {username}"),
        )
        .await
        .map(drop)
    }

    async fn delete_user(&self, username: &str) -> Result<(), PanelError> {
        match self
            .call(
                Method::DELETE,
                &Self::user_path(username, None),
                None,
                "user",
            )
            .await
        {
            Ok(_) | Err(PanelError::NotFound(_)) => Ok(()),
            Err(PanelError::Rejected { message, .. })
                if message.to_ascii_lowercase().contains("not found") =>
            {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    async fn subscription_url(&self, username: &str) -> Result<String, PanelError> {
        let v = self
            .call(
                Method::GET,
                &Self::user_path(username, Some("sub")),
                None,
                &format!("user {username}"),
            )
            .await?;
        let path = sub_path(&v).ok_or_else(|| {
            PanelError::BadResponse(format!("no subscription URL in the answer for {username}"))
        })?;
        absolute_url(&self.sub_base, &path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn usage_is_the_largest_counter_of_any_shape() {
        assert_eq!(usage(&obj(json!({"data_used": 5}))), 5);
        assert_eq!(
            usage(&obj(
                json!({"total_traffic_bytes": 10, "upload_bytes": 7, "download_bytes": 8})
            )),
            15
        );
        assert_eq!(usage(&obj(json!({"used_traffic": "12"}))), 12);
        assert_eq!(usage(&obj(json!({}))), 0);
    }

    #[test]
    fn limits_in_bytes_or_gb() {
        assert_eq!(
            limit(&obj(json!({"data_limit": 10737418240_i64}))),
            Some(10 * GIB)
        );
        assert_eq!(limit(&obj(json!({"data_limit": 10}))), Some(10 * GIB));
        assert_eq!(
            limit(&obj(json!({"data_limit": 2.5}))),
            Some(2 * GIB + GIB / 2)
        );
        assert_eq!(
            limit(&obj(json!({"data_limit": 512, "data_limit_unit": "MB"}))),
            Some(GIB / 2)
        );
        assert_eq!(limit(&obj(json!({"data_limit": null}))), None);
        assert_eq!(limit(&obj(json!({"data_limit": 0}))), None);
    }

    #[test]
    fn shapes_and_dates() {
        let now = Utc::now();
        let fixture = json!({"status":"success","data":{"username":"u","status":"disabled",
            "data_limit": 1073741824_i64, "data_used": 3, "expiry_date": "2027-01-31"}});
        let m = user_object(&fixture).unwrap();
        let (enabled, state) = switch_and_state(m);
        assert!(!enabled);
        assert_eq!(state, Some(RemoteState::Disabled));
        assert_eq!(
            expiry(m, now).unwrap().to_rfc3339(),
            "2027-01-30T20:30:00+00:00"
        );
        let production = json!({"userInfo":{"username":"u","is_active":true,
            "upload_bytes": 1, "download_bytes": 2}});
        let m = user_object(&production).unwrap();
        assert_eq!(switch_and_state(m), (true, None));
        assert_eq!(usage(m), 3);
        // +10 years is how "never" was sent; it reads back as never.
        let far = obj(json!({"expiry_date": expiry_date_str(None, now)}));
        assert_eq!(expiry(&far, now), None);
    }

    #[test]
    fn expiry_date_is_the_tehran_date() {
        let end = parse_datetime("2026-05-09T20:30:00Z").unwrap();
        assert_eq!(expiry_date_str(Some(end), Utc::now()), "2026-05-10");
        let evening = parse_datetime("2026-05-09T20:29:59Z").unwrap();
        assert_eq!(expiry_date_str(Some(evening), Utc::now()), "2026-05-09");
    }

    #[test]
    fn error_envelopes_and_sub_paths() {
        assert_eq!(
            refusal(&json!({"status": "error", "message": "User already exists"})).as_deref(),
            Some("User already exists")
        );
        assert_eq!(refusal(&json!({"status": "success"})), None);
        assert_eq!(
            sub_path(&json!({"subResponse": {"sub_url": "/sub/u", "success": true}})).as_deref(),
            Some("/sub/u")
        );
        assert_eq!(
            sub_path(&json!({"status":"success","data":{"users":[{"config_url":"/sub/x"}]}}))
                .as_deref(),
            Some("/sub/x")
        );
    }
}
