//! Marzban v0.8.x adapter: users keyed by username under `/api/user`, bytes and unix seconds.
//! Every create names its inbounds explicitly, because Marzban puts a user without them in none.

use std::collections::{BTreeMap, HashSet};

use async_trait::async_trait;
use reqwest::Method;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::convert::{from_unix_secs, unix_secs};
use crate::fastapi::{by_status, BearerApi, KindFields, Users};
use crate::{
    Choice, Choices, ConnectionInfo, NewUser, PanelClient, PanelConfig, PanelError, PanelKind,
    PanelSettings, RemoteState, RemoteUser, UserLimits,
};

/// Users per `GET /api/users` page. Each user carries ~1.3 KB of generated share links, so 100
/// users is ~130 KB and took 0.15 s on a live panel; bigger pages mostly cost panel CPU.
const PAGE_SIZE: usize = 100;

pub(crate) struct Marzban {
    users: Users<Fields>,
    settings: PanelSettings,
}

/// Marzban's own fields of a user answer: the stored status and the expiry in unix seconds.
#[derive(Deserialize)]
pub(crate) struct Fields {
    status: String,
    expire: Option<i64>,
}

impl KindFields for Fields {
    fn read(&self) -> (bool, RemoteState, Option<chrono::DateTime<chrono::Utc>>) {
        by_status(&self.status, from_unix_secs(self.expire.unwrap_or(0)))
    }
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

impl Marzban {
    pub fn new(config: PanelConfig) -> Result<Marzban, PanelError> {
        let api = BearerApi::new(&config, &["api", "admin", "token"])?;
        Ok(Marzban {
            users: Users::new(&config, api, &["api", "user"])?,
            settings: config.settings,
        })
    }

    async fn inbounds(&self) -> Result<BTreeMap<String, Vec<Inbound>>, PanelError> {
        let path = ["api", "inbounds"];
        self.users.api.read(&path, &[], "inbounds").await
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
        self.users
            .api
            .probe(&["api", "system"], "system", |s: System| s.version)
            .await
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
        self.users.create(&body).await
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
        self.users.put(username, None, &Value::Object(body)).await
    }

    // The admin switch is the stored status (a second disable is a 200 too).
    async fn enable_user(&self, username: &str) -> Result<(), PanelError> {
        let body = json!({ "status": "active" });
        self.users.put(username, None, &body).await
    }

    async fn disable_user(&self, username: &str) -> Result<(), PanelError> {
        let body = json!({ "status": "disabled" });
        self.users.put(username, None, &body).await
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
        self.users.subscription_url(username).await
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
        let u = serde_json::from_value(json!({
            "username": "u1", "status": "on_hold", "used_traffic": 5,
            "lifetime_used_traffic": 9, "expire": 0, "data_limit": 0,
            "subscription_url": "/sub/abc"
        }))
        .unwrap();
        let r = adapter().users.remote(u);
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
