//! Marzneshin adapter: users under `/api/users`, placed by service ids, expiry as a strategy plus
//! a naive UTC date. No status string: the state is derived from the booleans it reports.

use std::collections::HashSet;
use std::time::Instant;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::convert::{naive_iso, parse_datetime};
use crate::fastapi::BearerApi;
use crate::http::{absolute_url, sub_base};
use crate::{
    Choice, Choices, ConnectionInfo, NewUser, PanelClient, PanelConfig, PanelError, PanelKind,
    PanelSettings, RemoteState, RemoteUser, UserLimits,
};

/// fastapi-pagination's maximum `size` on Marzneshin (`size=101` is a 422).
const PAGE_SIZE: usize = 100;

pub(crate) struct Marzneshin {
    api: BearerApi,
    settings: PanelSettings,
    sub_base: String,
}

#[derive(Deserialize)]
struct UserResponse {
    username: String,
    #[serde(default)]
    used_traffic: i64,
    lifetime_used_traffic: Option<i64>,
    data_limit: Option<i64>,
    expire_strategy: Option<String>,
    expire_date: Option<String>,
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default)]
    expired: bool,
    #[serde(default)]
    data_limit_reached: bool,
    subscription_url: Option<String>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
struct Page<T> {
    items: Vec<T>,
    pages: Option<usize>,
}

#[derive(Deserialize)]
struct Named {
    id: i64,
    #[serde(alias = "tag")]
    name: Option<String>,
}

/// The expiry fields of a create or modify body.
fn expiry_fields(body: &mut Map<String, Value>, expires_at: Option<DateTime<Utc>>) {
    match expires_at {
        Some(t) => {
            body.insert("expire_strategy".into(), json!("fixed_date"));
            body.insert("expire_date".into(), json!(naive_iso(t)));
        }
        None => {
            body.insert("expire_strategy".into(), json!("never"));
            body.insert("expire_date".into(), Value::Null);
        }
    }
}

impl Marzneshin {
    pub fn new(config: PanelConfig) -> Result<Marzneshin, PanelError> {
        let sub_base = sub_base(&config)?.unwrap_or_else(|| config.base_url.clone());
        Ok(Marzneshin {
            api: BearerApi::new(&config, &["api", "admins", "token"])?,
            settings: config.settings,
            sub_base,
        })
    }

    fn remote(&self, u: UserResponse) -> RemoteUser {
        let expires_at = u.expire_date.as_deref().and_then(parse_datetime);
        let state = if !u.enabled {
            RemoteState::Disabled
        } else if u.expired {
            RemoteState::Expired
        } else if u.data_limit_reached {
            RemoteState::Limited
        } else if u.expire_strategy.as_deref() == Some("start_on_first_use") && expires_at.is_none()
        {
            RemoteState::OnHold
        } else {
            RemoteState::Active
        };
        RemoteUser {
            used_bytes: u.used_traffic,
            lifetime_used_bytes: u.lifetime_used_traffic,
            limit_bytes: u.data_limit.filter(|l| *l > 0),
            expires_at,
            enabled: u.enabled,
            state,
            subscription_url: u
                .subscription_url
                .filter(|s| !s.trim().is_empty())
                .and_then(|s| absolute_url(&self.sub_base, &s).ok()),
            username: u.username,
        }
    }

    /// Every item of a fastapi-pagination listing, one request per page of `PAGE_SIZE`.
    async fn all_pages<T: DeserializeOwned>(&self, path: &[&str]) -> Result<Vec<T>, PanelError> {
        let mut out = Vec::new();
        let mut page = 1;
        loop {
            let query = [("page", page.to_string()), ("size", PAGE_SIZE.to_string())];
            let p: Page<T> = self
                .api
                .call(Method::GET, path, &query, None)
                .await?
                .ok_json(&path.join("/"))?;
            let n = p.items.len();
            out.extend(p.items);
            let last = p.pages.map_or(n < PAGE_SIZE, |pages| page >= pages);
            if last || n == 0 {
                return Ok(out);
            }
            page += 1;
        }
    }

    async fn user_call(
        &self,
        method: Method,
        username: &str,
        action: Option<&str>,
        body: Option<&Value>,
    ) -> Result<UserResponse, PanelError> {
        self.api
            .user_call(method, &["api", "users"], username, action, body)
            .await
    }

    /// Enable and disable answer 409 when the user is already in that state.
    async fn switch(&self, username: &str, action: &str) -> Result<(), PanelError> {
        let reply = self
            .api
            .call(Method::POST, &["api", "users", username, action], &[], None)
            .await?;
        match reply.status.as_u16() {
            200..=299 => reply.value().map(drop),
            409 => Ok(()),
            _ => Err(reply.error(&format!("user {username}"))),
        }
    }
}

#[async_trait]
impl PanelClient for Marzneshin {
    fn kind(&self) -> PanelKind {
        PanelKind::Marzneshin
    }

    fn page_size(&self) -> usize {
        PAGE_SIZE
    }

    async fn test_connection(&self) -> Result<ConnectionInfo, PanelError> {
        self.api.authenticate().await?;
        let started = Instant::now();
        // Marzneshin publishes no version over its API; this read only proves the token works.
        self.api
            .call(Method::GET, &["api", "system", "stats", "users"], &[], None)
            .await?
            .ok_json::<Value>("system stats")?;
        Ok(ConnectionInfo {
            version: None,
            latency_ms: started.elapsed().as_millis() as u64,
        })
    }

    async fn list_choices(&self) -> Result<Choices, PanelError> {
        let choices = |items: Vec<Named>| {
            items
                .into_iter()
                .map(|n| Choice {
                    id: n.id.to_string(),
                    label: n.name.unwrap_or_else(|| format!("#{}", n.id)),
                })
                .collect()
        };
        Ok(Choices {
            services: choices(self.all_pages(&["api", "services"]).await?),
            inbounds: choices(self.all_pages(&["api", "inbounds"]).await?),
            nodes: choices(self.all_pages(&["api", "nodes"]).await?),
        })
    }

    async fn create_user(&self, user: &NewUser) -> Result<RemoteUser, PanelError> {
        let services = if user.service_ids.is_empty() {
            &self.settings.service_ids
        } else {
            &user.service_ids
        };
        if services.is_empty() {
            // Marzneshin accepts it, but the user would have no inbounds and no working config.
            return Err(PanelError::Config(
                "no Marzneshin service ids for the new user: set them in the panel settings".into(),
            ));
        }
        let mut body = Map::new();
        body.insert("username".into(), json!(user.username));
        expiry_fields(&mut body, user.expires_at);
        body.insert("data_limit".into(), json!(user.limit_bytes.max(0)));
        body.insert("data_limit_reset_strategy".into(), json!("no_reset"));
        body.insert("service_ids".into(), json!(services));
        if let Some(note) = &user.note {
            body.insert("note".into(), json!(note));
        }
        let created: UserResponse = self
            .api
            .call(
                Method::POST,
                &["api", "users"],
                &[],
                Some(&Value::Object(body)),
            )
            .await?
            .ok_json("create user")?;
        Ok(self.remote(created))
    }

    async fn get_user(&self, username: &str) -> Result<Option<RemoteUser>, PanelError> {
        // A non-sudo admin gets 403 (not 404) for a missing user; that stays an Auth error.
        let user = crate::fastapi::found(self.user_call(Method::GET, username, None, None).await)?;
        Ok(user.map(|u| self.remote(u)))
    }

    async fn list_users(&self) -> Result<Vec<RemoteUser>, PanelError> {
        let users: Vec<UserResponse> = self.all_pages(&["api", "users"]).await?;
        let mut names = HashSet::new();
        Ok(users
            .into_iter()
            .filter(|u| names.insert(u.username.clone()))
            .map(|u| self.remote(u))
            .collect())
    }

    async fn update_user(&self, username: &str, limits: &UserLimits) -> Result<(), PanelError> {
        // Marzneshin's API has no connection limit; max_clients is ignored here.
        if limits.limit_bytes.is_none() && limits.expires_at.is_none() {
            return Ok(());
        }
        let mut body = Map::new();
        if let Some(l) = limits.limit_bytes {
            body.insert("data_limit".into(), json!(l.max(0)));
        }
        match limits.expires_at {
            Some(e) => expiry_fields(&mut body, e),
            // Without an expire strategy the model's default `usage_duration` (a tuple) reaches
            // the database and the panel answers 500; an explicit null means "unchanged".
            None => {
                body.insert("usage_duration".into(), Value::Null);
            }
        }
        // UserModify declares `username` required: without it every modify is a 422.
        body.insert("username".into(), json!(username));
        self.user_call(Method::PUT, username, None, Some(&Value::Object(body)))
            .await
            .map(drop)
    }

    async fn enable_user(&self, username: &str) -> Result<(), PanelError> {
        self.switch(username, "enable").await
    }

    async fn disable_user(&self, username: &str) -> Result<(), PanelError> {
        self.switch(username, "disable").await
    }

    async fn reset_usage(&self, username: &str) -> Result<(), PanelError> {
        self.user_call(Method::POST, username, Some("reset"), None)
            .await
            .map(drop)
    }

    async fn delete_user(&self, username: &str) -> Result<(), PanelError> {
        let reply = self
            .api
            .call(Method::DELETE, &["api", "users", username], &[], None)
            .await?;
        match reply.status.as_u16() {
            200..=299 => reply.value().map(drop),
            404 => Ok(()),
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

    fn adapter() -> Marzneshin {
        let config =
            PanelConfig::new(PanelKind::Marzneshin, "http://m.example").with_login("a", "b");
        Marzneshin::new(config).unwrap()
    }

    fn user(extra: Value) -> UserResponse {
        let mut v = json!({"username": "u1", "used_traffic": 1, "enabled": true,
            "expired": false, "data_limit_reached": false, "data_limit": null,
            "expire_strategy": "never", "expire_date": null,
            "subscription_url": "/sub/u1/abc"});
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn state_comes_from_the_booleans_in_order() {
        let a = adapter();
        let s = |extra| a.remote(user(extra)).state;
        assert_eq!(s(json!({})), RemoteState::Active);
        assert_eq!(
            s(json!({"enabled": false, "expired": true})),
            RemoteState::Disabled
        );
        assert_eq!(
            s(json!({"expired": true, "data_limit_reached": true})),
            RemoteState::Expired
        );
        assert_eq!(s(json!({"data_limit_reached": true})), RemoteState::Limited);
        assert_eq!(
            s(json!({"expire_strategy": "start_on_first_use"})),
            RemoteState::OnHold
        );
    }

    #[test]
    fn naive_dates_are_utc_and_sub_urls_absolute() {
        let r = adapter().remote(user(json!({"expire_date": "2027-01-01T00:00:00"})));
        assert_eq!(
            r.expires_at.unwrap().to_rfc3339(),
            "2027-01-01T00:00:00+00:00"
        );
        assert_eq!(
            r.subscription_url.as_deref(),
            Some("http://m.example/sub/u1/abc")
        );
    }

    #[test]
    fn expiry_body_shapes() {
        let mut m = Map::new();
        expiry_fields(&mut m, None);
        assert_eq!(
            Value::Object(m),
            json!({"expire_strategy": "never", "expire_date": null})
        );
        let mut m = Map::new();
        let t = parse_datetime("2027-02-01T00:00:00Z").unwrap();
        expiry_fields(&mut m, Some(t));
        assert_eq!(
            Value::Object(m),
            json!({"expire_strategy": "fixed_date", "expire_date": "2027-02-01T00:00:00"})
        );
    }
}
