//! Marzneshin adapter: users under `/api/users`, placed by service ids, expiry as a strategy plus
//! a naive UTC date. No status string: the state is derived from the booleans it reports.

use std::collections::HashSet;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::convert::{naive_iso, parse_datetime};
use crate::fastapi::{BearerApi, KindFields, User, Users};
use crate::{
    Choice, Choices, ConnectionInfo, NewUser, PanelClient, PanelConfig, PanelError, PanelKind,
    PanelSettings, RemoteState, RemoteUser, UserLimits,
};

/// fastapi-pagination's maximum `size` on Marzneshin (`size=101` is a 422).
const PAGE_SIZE: usize = 100;

pub(crate) struct Marzneshin {
    users: Users<Fields>,
    settings: PanelSettings,
}

/// Marzneshin's own fields of a user answer: no status string, booleans instead, and the
/// expiry as a strategy plus a naive UTC date.
#[derive(Deserialize)]
pub(crate) struct Fields {
    expire_strategy: Option<String>,
    expire_date: Option<String>,
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default)]
    expired: bool,
    #[serde(default)]
    data_limit_reached: bool,
}

impl KindFields for Fields {
    /// The state from the booleans, in this order.
    fn read(&self) -> (bool, RemoteState, Option<DateTime<Utc>>) {
        let expires_at = self.expire_date.as_deref().and_then(parse_datetime);
        let state = if !self.enabled {
            RemoteState::Disabled
        } else if self.expired {
            RemoteState::Expired
        } else if self.data_limit_reached {
            RemoteState::Limited
        } else if self.expire_strategy.as_deref() == Some("start_on_first_use")
            && expires_at.is_none()
        {
            RemoteState::OnHold
        } else {
            RemoteState::Active
        };
        (self.enabled, state, expires_at)
    }
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
        let api = BearerApi::new(&config, &["api", "admins", "token"])?;
        Ok(Marzneshin {
            users: Users::new(&config, api, &["api", "users"])?,
            settings: config.settings,
        })
    }

    /// Every item of a fastapi-pagination listing, one request per page of `PAGE_SIZE`.
    async fn all_pages<T: DeserializeOwned>(&self, path: &[&str]) -> Result<Vec<T>, PanelError> {
        let mut out = Vec::new();
        let mut page = 1;
        loop {
            let query = [("page", page.to_string()), ("size", PAGE_SIZE.to_string())];
            let p: Page<T> = self.users.api.read(path, &query, &path.join("/")).await?;
            let n = p.items.len();
            out.extend(p.items);
            let last = p.pages.map_or(n < PAGE_SIZE, |pages| page >= pages);
            if last || n == 0 {
                return Ok(out);
            }
            page += 1;
        }
    }

    /// Enable and disable answer 409 when the user is already in that state.
    async fn switch(&self, username: &str, action: &str) -> Result<(), PanelError> {
        let reply = self
            .users
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
        // Marzneshin publishes no version over its API; this read only proves the token works.
        let path = ["api", "system", "stats", "users"];
        self.users
            .api
            .probe(&path, "system stats", |_: Value| None)
            .await
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
        self.users.create(&Value::Object(body)).await
    }

    async fn get_user(&self, username: &str) -> Result<Option<RemoteUser>, PanelError> {
        // A non-sudo admin gets 403 (not 404) for a missing user; that stays an Auth error.
        self.users.get(username).await
    }

    async fn list_users(&self) -> Result<Vec<RemoteUser>, PanelError> {
        let users: Vec<User<Fields>> = self.all_pages(&["api", "users"]).await?;
        let mut names = HashSet::new();
        Ok(users
            .into_iter()
            .filter(|u| names.insert(u.username.clone()))
            .map(|u| self.users.remote(u))
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
        self.users.put(username, None, &Value::Object(body)).await
    }

    async fn enable_user(&self, username: &str) -> Result<(), PanelError> {
        self.switch(username, "enable").await
    }

    async fn disable_user(&self, username: &str) -> Result<(), PanelError> {
        self.switch(username, "disable").await
    }

    async fn reset_usage(&self, username: &str) -> Result<(), PanelError> {
        self.users.reset(username).await
    }

    async fn delete_user(&self, username: &str) -> Result<(), PanelError> {
        let reply = self
            .users
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
        self.users.subscription_url(username).await
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

    fn user(extra: Value) -> User<Fields> {
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
        let s = |extra| a.users.remote(user(extra)).state;
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
        let r = adapter()
            .users
            .remote(user(json!({"expire_date": "2027-01-01T00:00:00"})));
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
