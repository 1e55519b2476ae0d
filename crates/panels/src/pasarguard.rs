//! PasarGuard adapter (a Marzban fork): users under `/api/user`, placed in groups (which carry the
//! inbounds), expiry as an ISO datetime, create 201 and delete 204. v3.1 switches users with
//! `PUT /api/user/{u} {"status"}`; from v5 the panel also takes an API key and has
//! `PUT /api/user/{u}/disabled`, used when `/api/system` reports a version 5 or later.

use std::sync::OnceLock;

use async_trait::async_trait;
use reqwest::Method;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::convert::{from_unix_secs, lenient_i64, parse_datetime};
use crate::fastapi::{by_status, BearerApi, KindFields, Users};
use crate::{
    Choice, Choices, ConnectionInfo, NewUser, PanelClient, PanelConfig, PanelError, PanelKind,
    PanelSettings, RemoteState, RemoteUser, UserLimits,
};

/// Users per `GET /api/users` page (offset/limit, like Marzban).
const PAGE_SIZE: usize = 100;

pub(crate) struct PasarGuard {
    users: Users<Fields>,
    settings: PanelSettings,
    /// The major version `/api/system` reported, read once on the first switch.
    major: OnceLock<u32>,
}

/// PasarGuard's own fields of a user answer: the stored status (as Marzban's) and the expiry.
#[derive(Deserialize)]
pub(crate) struct Fields {
    status: String,
    /// `"2027-01-01T00:00:00Z"` or null; unix seconds are accepted too.
    #[serde(default)]
    expire: Value,
}

impl KindFields for Fields {
    fn read(&self) -> (bool, RemoteState, Option<chrono::DateTime<chrono::Utc>>) {
        by_status(&self.status, expiry(&self.expire))
    }
}

#[derive(Deserialize)]
struct Group {
    id: i64,
    name: Option<String>,
    #[serde(default)]
    is_disabled: bool,
}

#[derive(Deserialize)]
struct Groups {
    groups: Vec<Group>,
}

#[derive(Deserialize)]
struct System {
    version: Option<String>,
}

/// `"5.2.1"` → 5; anything unreadable counts as 0 (the v3 routes, which v5 still has).
fn major_of(version: Option<&str>) -> u32 {
    version
        .and_then(|v| v.trim().trim_start_matches('v').split('.').next())
        .and_then(|m| m.parse().ok())
        .unwrap_or(0)
}

fn expiry(v: &Value) -> Option<chrono::DateTime<chrono::Utc>> {
    match v {
        Value::String(s) => parse_datetime(s),
        other => lenient_i64(other).and_then(from_unix_secs),
    }
}

/// PasarGuard's expire: an RFC 3339 instant in UTC, or 0 for "never".
fn expire_value(t: Option<chrono::DateTime<chrono::Utc>>) -> Value {
    match t {
        Some(t) => json!(t.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
        None => json!(0),
    }
}

impl PasarGuard {
    pub fn new(config: PanelConfig) -> Result<PasarGuard, PanelError> {
        let api = BearerApi::with_key_or_login(&config, &["api", "admin", "token"])?;
        Ok(PasarGuard {
            users: Users::new(&config, api, &["api", "user"])?,
            settings: config.settings,
            major: OnceLock::new(),
        })
    }

    /// Keeps the major version of a `/api/system` answer for the switch route.
    fn version_of(&self, system: System) -> Option<String> {
        let _ = self.major.set(major_of(system.version.as_deref()));
        system.version
    }

    async fn major(&self) -> Result<u32, PanelError> {
        if let Some(m) = self.major.get() {
            return Ok(*m);
        }
        let system: System = self
            .users
            .api
            .read(&["api", "system"], &[], "system")
            .await?;
        self.version_of(system);
        Ok(self.major.get().copied().unwrap_or(0))
    }

    /// The admin switch: v5's `/disabled` route, or the status every version takes. Setting
    /// the state a user already has is a 200 on both.
    async fn switch(&self, username: &str, enabled: bool) -> Result<(), PanelError> {
        if self.major().await? >= 5 {
            let body = json!({ "disabled": !enabled });
            return self.users.put(username, Some("disabled"), &body).await;
        }
        let body = json!({ "status": if enabled { "active" } else { "disabled" } });
        self.users.put(username, None, &body).await
    }
}

#[async_trait]
impl PanelClient for PasarGuard {
    fn kind(&self) -> PanelKind {
        PanelKind::PasarGuard
    }

    fn page_size(&self) -> usize {
        PAGE_SIZE
    }

    async fn test_connection(&self) -> Result<ConnectionInfo, PanelError> {
        self.users
            .api
            .probe(&["api", "system"], "system", |s| self.version_of(s))
            .await
    }

    async fn list_choices(&self) -> Result<Choices, PanelError> {
        let groups: Groups = self
            .users
            .api
            .read(&["api", "groups"], &[], "groups")
            .await?;
        let tags: Vec<String> = self
            .users
            .api
            .read(&["api", "inbounds"], &[], "inbounds")
            .await?;
        Ok(Choices {
            // Groups are where users go: the product's "services" of this kind.
            services: groups
                .groups
                .into_iter()
                .filter(|g| !g.is_disabled)
                .map(|g| Choice {
                    label: g.name.unwrap_or_else(|| format!("#{}", g.id)),
                    id: g.id.to_string(),
                })
                .collect(),
            inbounds: tags
                .into_iter()
                .map(|t| Choice {
                    id: t.clone(),
                    label: t,
                })
                .collect(),
            nodes: Vec::new(),
        })
    }

    async fn create_user(&self, user: &NewUser) -> Result<RemoteUser, PanelError> {
        let groups = if user.service_ids.is_empty() {
            &self.settings.service_ids
        } else {
            &user.service_ids
        };
        if groups.is_empty() {
            // The panel answers 422 "you must select at least one group".
            return Err(PanelError::Config(
                "no PasarGuard group ids for the new user: set them in the panel settings".into(),
            ));
        }
        let mut body = Map::new();
        body.insert("username".into(), json!(user.username));
        body.insert("group_ids".into(), json!(groups));
        if let Some(t) = user.expires_at {
            body.insert("expire".into(), expire_value(Some(t)));
        }
        body.insert("data_limit".into(), json!(user.limit_bytes.max(0)));
        body.insert("data_limit_reset_strategy".into(), json!("no_reset"));
        body.insert("status".into(), json!("active"));
        // Empty: the panel generates every protocol's ids and passwords.
        body.insert("proxy_settings".into(), json!({}));
        if let Some(note) = &user.note {
            body.insert("note".into(), json!(note));
        }
        let reply = self
            .users
            .api
            .call(
                Method::POST,
                &["api", "user"],
                &[],
                Some(&Value::Object(body)),
            )
            .await?;
        if reply.status.as_u16() == 404 {
            // "Group not found": a configured group is gone from the panel.
            return Err(PanelError::Config(format!(
                "PasarGuard has no group among {groups:?}: {}",
                reply.message()
            )));
        }
        Ok(self.users.remote(reply.ok_json("create user")?))
    }

    async fn get_user(&self, username: &str) -> Result<Option<RemoteUser>, PanelError> {
        self.users.get(username).await
    }

    async fn list_users(&self) -> Result<Vec<RemoteUser>, PanelError> {
        self.users
            .list_by_offset(&["api", "users"], PAGE_SIZE)
            .await
    }

    async fn update_user(&self, username: &str, limits: &UserLimits) -> Result<(), PanelError> {
        // v3.1 has no per-user device limit; max_clients is ignored here.
        let mut body = Map::new();
        if let Some(l) = limits.limit_bytes {
            body.insert("data_limit".into(), json!(l.max(0)));
        }
        if let Some(e) = limits.expires_at {
            body.insert("expire".into(), expire_value(e));
        }
        if body.is_empty() {
            return Ok(());
        }
        self.users.put(username, None, &Value::Object(body)).await
    }

    async fn enable_user(&self, username: &str) -> Result<(), PanelError> {
        self.switch(username, true).await
    }

    async fn disable_user(&self, username: &str) -> Result<(), PanelError> {
        self.switch(username, false).await
    }

    async fn reset_usage(&self, username: &str) -> Result<(), PanelError> {
        self.users.reset(username).await
    }

    async fn delete_user(&self, username: &str) -> Result<(), PanelError> {
        let reply = self
            .users
            .api
            .call(Method::DELETE, &["api", "user", username], &[], None)
            .await?;
        match reply.status.as_u16() {
            // 204 with no body.
            200..=299 | 404 => Ok(()),
            _ => Err(reply.error("delete user")),
        }
    }

    async fn subscription_url(&self, username: &str) -> Result<String, PanelError> {
        self.users.subscription_url(username).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adapter() -> PasarGuard {
        let config =
            PanelConfig::new(PanelKind::PasarGuard, "http://pg.example:8000").with_login("a", "b");
        PasarGuard::new(config).unwrap()
    }

    #[test]
    fn versions_and_expiry_shapes() {
        assert_eq!(major_of(Some("3.1.0")), 3);
        assert_eq!(major_of(Some("v5.2.1")), 5);
        assert_eq!(major_of(None), 0);
        assert_eq!(
            expire_value(parse_datetime("2027-01-01T00:00:00Z")),
            json!("2027-01-01T00:00:00Z")
        );
        assert_eq!(expire_value(None), json!(0));
        let u = serde_json::from_value(json!({
            "username": "u1", "status": "limited", "used_traffic": 5,
            "lifetime_used_traffic": 9, "expire": "2027-01-01T00:00:00Z", "data_limit": null,
            "subscription_url": "/sub/abc"
        }))
        .unwrap();
        let r = adapter().users.remote(u);
        assert_eq!(r.state, RemoteState::Limited);
        assert!(r.enabled);
        assert_eq!(r.limit_bytes, None);
        assert_eq!(r.expires_at, parse_datetime("2027-01-01T00:00:00Z"));
        assert_eq!(
            r.subscription_url.as_deref(),
            Some("http://pg.example:8000/sub/abc")
        );
    }

    #[test]
    fn an_api_key_needs_no_login() {
        let config = PanelConfig::new(PanelKind::PasarGuard, "http://h").with_api_key("pg_key_x");
        assert!(PasarGuard::new(config).is_ok());
        let config = PanelConfig::new(PanelKind::PasarGuard, "http://h");
        assert!(matches!(
            PasarGuard::new(config),
            Err(PanelError::Config(_))
        ));
    }
}
