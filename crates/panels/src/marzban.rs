//! Marzban v0.8.x adapter: users keyed by username under `/api/user`, bytes and unix seconds.
//! Every create names its inbounds explicitly, because Marzban puts a user without them in none.

use std::collections::{BTreeMap, HashSet};
use std::time::Instant;

use async_trait::async_trait;
use reqwest::Method;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::convert::{from_unix_secs, unix_secs};
use crate::fastapi::BearerApi;
use crate::http::{absolute_url, sub_base};
use crate::{
    Choice, Choices, ConnectionInfo, NewUser, PanelClient, PanelConfig, PanelError, PanelKind,
    PanelSettings, RemoteState, RemoteUser, UserLimits,
};

/// Users per `GET /api/users` page. Each user carries ~1.3 KB of generated share links, so 100
/// users is ~130 KB and took 0.15 s on a live panel; bigger pages mostly cost panel CPU.
const PAGE_SIZE: usize = 100;

pub(crate) struct Marzban {
    api: BearerApi,
    settings: PanelSettings,
    /// Where relative subscription URLs (empty `XRAY_SUBSCRIPTION_URL_PREFIX`) are joined.
    sub_base: String,
}

#[derive(Deserialize)]
struct UserResponse {
    username: String,
    status: String,
    #[serde(default)]
    used_traffic: i64,
    lifetime_used_traffic: Option<i64>,
    expire: Option<i64>,
    data_limit: Option<i64>,
    subscription_url: Option<String>,
}

#[derive(Deserialize)]
struct Inbound {
    tag: String,
    protocol: Option<String>,
}

#[derive(Deserialize)]
struct System {
    version: Option<String>,
}

/// The stored status of the Marzban family (Marzban, PasarGuard).
pub(crate) fn status_state(status: &str) -> RemoteState {
    match status {
        "disabled" => RemoteState::Disabled,
        "limited" => RemoteState::Limited,
        "expired" => RemoteState::Expired,
        "on_hold" => RemoteState::OnHold,
        "active" => RemoteState::Active,
        other => {
            tracing::warn!(status = other, "unknown user status");
            RemoteState::Active
        }
    }
}

impl Marzban {
    pub fn new(config: PanelConfig) -> Result<Marzban, PanelError> {
        let sub_base = sub_base(&config)?.unwrap_or_else(|| config.base_url.clone());
        Ok(Marzban {
            api: BearerApi::new(&config, &["api", "admin", "token"])?,
            settings: config.settings,
            sub_base,
        })
    }

    fn remote(&self, u: UserResponse) -> RemoteUser {
        let state = status_state(&u.status);
        RemoteUser {
            enabled: state != RemoteState::Disabled,
            state,
            used_bytes: u.used_traffic,
            lifetime_used_bytes: u.lifetime_used_traffic,
            limit_bytes: u.data_limit.filter(|l| *l > 0),
            expires_at: from_unix_secs(u.expire.unwrap_or(0)),
            subscription_url: u
                .subscription_url
                .filter(|s| !s.trim().is_empty())
                .and_then(|s| absolute_url(&self.sub_base, &s).ok()),
            username: u.username,
        }
    }

    async fn inbounds(&self) -> Result<BTreeMap<String, Vec<Inbound>>, PanelError> {
        self.api
            .call(Method::GET, &["api", "inbounds"], &[], None)
            .await?
            .ok_json("inbounds")
    }

    /// `proxies` and `inbounds` for a new user: every inbound, or the configured tag subset, and
    /// an empty (auto-generated) proxy for each protocol that has one of them.
    async fn placement(&self) -> Result<(Map<String, Value>, Map<String, Value>), PanelError> {
        let wanted = &self.settings.inbound_tags;
        let mut proxies = Map::new();
        let mut inbounds = Map::new();
        let mut seen = HashSet::new();
        for (proto, list) in self.inbounds().await? {
            let tags: Vec<String> = list
                .into_iter()
                .filter(|i| i.protocol.as_deref().is_none_or(|p| p == proto))
                .map(|i| i.tag)
                .filter(|t| wanted.is_empty() || wanted.contains(t))
                .collect();
            seen.extend(tags.iter().cloned());
            if !tags.is_empty() {
                proxies.insert(proto.clone(), json!({}));
                inbounds.insert(proto, json!(tags));
            }
        }
        let missing: Vec<&String> = wanted.iter().filter(|t| !seen.contains(*t)).collect();
        if inbounds.is_empty() {
            return Err(PanelError::Config(if wanted.is_empty() {
                "the panel lists no inbounds".to_string()
            } else {
                format!("none of the configured inbound tags {wanted:?} exist on the panel")
            }));
        }
        if !missing.is_empty() {
            tracing::warn!(
                ?missing,
                "configured Marzban inbound tags are gone from the panel"
            );
        }
        Ok((proxies, inbounds))
    }

    async fn user_call(
        &self,
        method: Method,
        username: &str,
        action: Option<&str>,
        body: Option<&Value>,
    ) -> Result<UserResponse, PanelError> {
        self.api
            .user_call(method, &["api", "user"], username, action, body)
            .await
    }
}

#[async_trait]
impl PanelClient for Marzban {
    fn kind(&self) -> PanelKind {
        PanelKind::Marzban
    }

    fn page_size(&self) -> usize {
        PAGE_SIZE
    }

    async fn test_connection(&self) -> Result<ConnectionInfo, PanelError> {
        self.api.authenticate().await?;
        let started = Instant::now();
        let system: System = self
            .api
            .call(Method::GET, &["api", "system"], &[], None)
            .await?
            .ok_json("system")?;
        Ok(ConnectionInfo {
            version: system.version,
            latency_ms: started.elapsed().as_millis() as u64,
        })
    }

    async fn list_choices(&self) -> Result<Choices, PanelError> {
        let inbounds = self
            .inbounds()
            .await?
            .into_iter()
            .flat_map(|(proto, list)| {
                list.into_iter().map(move |i| Choice {
                    label: format!("{} ({proto})", i.tag),
                    id: i.tag,
                })
            })
            .collect();
        Ok(Choices {
            inbounds,
            ..Choices::default()
        })
    }

    async fn create_user(&self, user: &NewUser) -> Result<RemoteUser, PanelError> {
        let (proxies, inbounds) = self.placement().await?;
        let mut body = json!({
            "username": user.username,
            "proxies": proxies,
            "inbounds": inbounds,
            "expire": unix_secs(user.expires_at),
            "data_limit": user.limit_bytes.max(0),
            "data_limit_reset_strategy": "no_reset",
            "status": "active",
        });
        if let Some(note) = &user.note {
            body["note"] = json!(note);
        }
        let created: UserResponse = self
            .api
            .call(Method::POST, &["api", "user"], &[], Some(&body))
            .await?
            .ok_json("create user")?;
        Ok(self.remote(created))
    }

    async fn get_user(&self, username: &str) -> Result<Option<RemoteUser>, PanelError> {
        let user = crate::fastapi::found(self.user_call(Method::GET, username, None, None).await)?;
        Ok(user.map(|u| self.remote(u)))
    }

    async fn list_users(&self) -> Result<Vec<RemoteUser>, PanelError> {
        let users: Vec<UserResponse> = self
            .api
            .offset_pages(&["api", "users"], PAGE_SIZE, |u: &UserResponse| &u.username)
            .await?;
        Ok(users.into_iter().map(|u| self.remote(u)).collect())
    }

    async fn update_user(&self, username: &str, limits: &UserLimits) -> Result<(), PanelError> {
        // Marzban has no per-user connection limit; max_clients is ignored here.
        let mut body = Map::new();
        if let Some(l) = limits.limit_bytes {
            body.insert("data_limit".into(), json!(l.max(0)));
        }
        if let Some(e) = limits.expires_at {
            body.insert("expire".into(), json!(unix_secs(e)));
        }
        if body.is_empty() {
            return Ok(());
        }
        self.user_call(Method::PUT, username, None, Some(&Value::Object(body)))
            .await
            .map(drop)
    }

    async fn enable_user(&self, username: &str) -> Result<(), PanelError> {
        let body = json!({ "status": "active" });
        self.user_call(Method::PUT, username, None, Some(&body))
            .await
            .map(drop)
    }

    async fn disable_user(&self, username: &str) -> Result<(), PanelError> {
        let body = json!({ "status": "disabled" });
        self.user_call(Method::PUT, username, None, Some(&body))
            .await
            .map(drop)
    }

    async fn reset_usage(&self, username: &str) -> Result<(), PanelError> {
        self.user_call(Method::POST, username, Some("reset"), None)
            .await
            .map(drop)
    }

    async fn delete_user(&self, username: &str) -> Result<(), PanelError> {
        let reply = self
            .api
            .call(Method::DELETE, &["api", "user", username], &[], None)
            .await?;
        match reply.status.as_u16() {
            200..=299 => reply.value().map(drop),
            404 => Ok(()),
            // Marzban deletes a user created by the env sudo admin and then fails building the
            // answer with a 500. Look before reporting a failure.
            500..=599 => match self.get_user(username).await {
                Ok(None) => Ok(()),
                _ => Err(reply.error("delete user")),
            },
            _ => Err(reply.error("delete user")),
        }
    }

    async fn subscription_url(&self, username: &str) -> Result<String, PanelError> {
        let user = self.user_call(Method::GET, username, None, None).await?;
        self.remote(user).subscription_url.ok_or_else(|| {
            PanelError::BadResponse(format!("user {username} has no subscription_url"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adapter() -> Marzban {
        let config = PanelConfig::new(PanelKind::Marzban, "https://panel.example:8000/")
            .with_login("a", "b");
        Marzban::new(config).unwrap()
    }

    #[test]
    fn relative_sub_urls_and_zero_limits() {
        let u: UserResponse = serde_json::from_value(json!({
            "username": "u1", "status": "on_hold", "used_traffic": 5,
            "lifetime_used_traffic": 9, "expire": 0, "data_limit": 0,
            "subscription_url": "/sub/abc"
        }))
        .unwrap();
        let r = adapter().remote(u);
        assert_eq!(r.state, RemoteState::OnHold);
        assert!(r.enabled);
        assert_eq!((r.limit_bytes, r.expires_at), (None, None));
        assert_eq!(r.lifetime_used_bytes, Some(9));
        assert_eq!(
            r.subscription_url.as_deref(),
            Some("https://panel.example:8000/sub/abc")
        );
    }

    #[test]
    fn needs_credentials() {
        let config = PanelConfig::new(PanelKind::Marzban, "http://h");
        assert!(matches!(Marzban::new(config), Err(PanelError::Config(_))));
    }
}
