//! The Marzban family's shared client: OAuth2 password-form login, a cached JWT sent as Bearer,
//! one fresh login when the panel answers 401 (token expired, password reset, panel restarted);
//! or, where the panel has them (PasarGuard v5.1+), a static API key sent as `X-Api-Key`.
//! Also what the family's adapters (Marzban, Marzneshin, PasarGuard) read and call alike: the
//! common fields of a user answer and the per-user routes (`Users`).

use std::collections::HashSet;
use std::marker::PhantomData;
use std::time::Instant;

use chrono::{DateTime, Utc};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

use crate::http::{absolute_url, sub_base, Http, Reply, Session};
use crate::{ConnectionInfo, PanelConfig, PanelError, RemoteState, RemoteUser};

pub(crate) struct BearerApi {
    pub http: Http,
    session: Session<String>,
    token_path: &'static [&'static str],
    username: String,
    password: String,
    /// Sent instead of a login's token when set.
    api_key: Option<String>,
}

#[derive(Deserialize)]
struct Token {
    access_token: String,
}

/// One page of an `offset`/`limit` listing (Marzban, PasarGuard): `{"users":[…],"total":N}`.
#[derive(Deserialize)]
struct UsersPage<T> {
    users: Vec<T>,
    total: usize,
}

impl BearerApi {
    pub fn new(
        config: &PanelConfig,
        token_path: &'static [&'static str],
    ) -> Result<BearerApi, PanelError> {
        let (Some(username), Some(password)) = (&config.username, &config.password) else {
            return Err(PanelError::Config(format!(
                "{} needs an admin username and password",
                config.kind
            )));
        };
        Ok(BearerApi {
            http: Http::new(config)?,
            session: Session::default(),
            token_path,
            username: username.clone(),
            password: password.clone(),
            api_key: None,
        })
    }

    /// With `config.api_key` an API-key client (no login ever); else `new`'s login client.
    pub fn with_key_or_login(
        config: &PanelConfig,
        token_path: &'static [&'static str],
    ) -> Result<BearerApi, PanelError> {
        let Some(key) = config.api_key.as_ref().filter(|k| !k.trim().is_empty()) else {
            return Self::new(config, token_path);
        };
        Ok(BearerApi {
            http: Http::new(config)?,
            session: Session::default(),
            token_path,
            username: String::new(),
            password: String::new(),
            api_key: Some(key.trim().to_string()),
        })
    }

    async fn login(&self) -> Result<String, PanelError> {
        let form = [
            ("grant_type", "password"),
            ("username", self.username.as_str()),
            ("password", self.password.as_str()),
        ];
        let req = self.http.request(Method::POST, self.token_path).form(&form);
        let reply = self.http.send(req).await?;
        match reply.status.as_u16() {
            200..=299 => Ok(reply.json::<Token>()?.access_token),
            401 | 403 => Err(PanelError::Auth(format!(
                "login refused: {}",
                reply.message()
            ))),
            404 | 405 => Err(PanelError::Config(
                "no login route at the panel URL; is it the right URL and panel kind?".into(),
            )),
            _ => Err(reply.error("login")),
        }
    }

    /// Makes sure a token is cached (logging in if needed).
    pub async fn authenticate(&self) -> Result<(), PanelError> {
        if self.api_key.is_some() {
            return Ok(());
        }
        self.session.get(|| self.login()).await.map(drop)
    }

    /// An authenticated request; a 401 costs one fresh login and one retry, and a second 401
    /// comes back to the caller (whose status mapping makes it `Auth`).
    pub async fn call(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Reply, PanelError> {
        if let Some(key) = &self.api_key {
            // A refused key stays refused: the 401 goes back to the caller as it is.
            return self.send(&method, segments, query, body, key).await;
        }
        let token = self.session.get(|| self.login()).await?;
        let reply = self.send(&method, segments, query, body, &token).await?;
        if reply.status != StatusCode::UNAUTHORIZED {
            return Ok(reply);
        }
        tracing::debug!("panel refused the cached token; logging in again");
        let token = self.session.renew(&token, || self.login()).await?;
        self.send(&method, segments, query, body, &token).await
    }

    async fn send(
        &self,
        method: &Method,
        segments: &[&str],
        query: &[(&str, String)],
        body: Option<&Value>,
        token: &str,
    ) -> Result<Reply, PanelError> {
        let mut req = self.http.request(method.clone(), segments);
        req = match self.api_key {
            Some(_) => req.header("X-Api-Key", token),
            None => req.bearer_auth(token),
        }
        .header(reqwest::header::ACCEPT, "application/json");
        if !query.is_empty() {
            req = req.query(query);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        self.http.send(req).await
    }

    /// `GET {path}?{query}` read as JSON; `what` names it in errors.
    pub async fn read<T: DeserializeOwned>(
        &self,
        path: &[&str],
        query: &[(&str, String)],
        what: &str,
    ) -> Result<T, PanelError> {
        self.call(Method::GET, path, query, None)
            .await?
            .ok_json(what)
    }

    /// Logs in, then times `GET {path}`, a read that proves the token works; `version` takes
    /// the panel's version from the answer, where it gives one. The login is not timed.
    pub async fn probe<T: DeserializeOwned>(
        &self,
        path: &[&str],
        what: &str,
        version: impl FnOnce(T) -> Option<String>,
    ) -> Result<ConnectionInfo, PanelError> {
        self.authenticate().await?;
        let started = Instant::now();
        let answer: T = self.read(path, &[], what).await?;
        Ok(ConnectionInfo {
            version: version(answer),
            latency_ms: started.elapsed().as_millis() as u64,
        })
    }

    /// One user's route, `{collection}/{username}[/{action}]`, read as JSON (a 404 is
    /// `NotFound`, by the reply's status mapping).
    pub async fn user_call<T: DeserializeOwned>(
        &self,
        method: Method,
        collection: &[&str],
        username: &str,
        action: Option<&str>,
        body: Option<&Value>,
    ) -> Result<T, PanelError> {
        let mut path = collection.to_vec();
        path.push(username);
        path.extend(action);
        self.call(method, &path, &[], body)
            .await?
            .ok_json(&format!("user {username}"))
    }

    /// Every user of `GET {path}?offset&limit`, `page` at a time, each name once: offset paging
    /// over a changing table can repeat a user, and the first sighting is kept.
    pub async fn offset_pages<T: DeserializeOwned>(
        &self,
        path: &[&str],
        page: usize,
        name: impl Fn(&T) -> &str,
    ) -> Result<Vec<T>, PanelError> {
        let mut out = Vec::new();
        let mut names = HashSet::new();
        let mut offset = 0;
        loop {
            let query = [("offset", offset.to_string()), ("limit", page.to_string())];
            let p: UsersPage<T> = self.read(path, &query, &path.join("/")).await?;
            let n = p.users.len();
            offset += n;
            out.extend(
                p.users
                    .into_iter()
                    .filter(|u| names.insert(name(u).to_string())),
            );
            if n < page || offset >= p.total {
                return Ok(out);
            }
        }
    }
}

/// A lookup whose `NotFound` means "no such user" rather than a failure.
pub fn found<T>(r: Result<T, PanelError>) -> Result<Option<T>, PanelError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(PanelError::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// A user answer of a Marzban-family panel: the fields all three carry under the same names
/// and meanings, and the kind's own (`K`: status string or booleans, expiry as unix seconds,
/// ISO or a strategy plus a naive date).
#[derive(Deserialize)]
pub(crate) struct User<K> {
    pub username: String,
    #[serde(default)]
    pub used_traffic: i64,
    pub lifetime_used_traffic: Option<i64>,
    /// 0 or null: unlimited.
    pub data_limit: Option<i64>,
    /// Absolute, or relative to the panel (empty `XRAY_SUBSCRIPTION_URL_PREFIX`); blank in
    /// some listings (PasarGuard without `load_sub`).
    pub subscription_url: Option<String>,
    /// Marzneshin names the owning admin here (for a sudo caller)…
    #[serde(default)]
    pub owner_username: Option<String>,
    /// …Marzban and PasarGuard nest it.
    #[serde(default)]
    pub admin: Option<AdminRef>,
    #[serde(flatten)]
    pub kind: K,
}

#[derive(Deserialize)]
pub(crate) struct AdminRef {
    pub username: Option<String>,
}

/// What one kind reads from its own fields of a user answer.
pub(crate) trait KindFields: DeserializeOwned + Send {
    /// The admin switch, the state and the expiry.
    fn read(&self) -> (bool, RemoteState, Option<DateTime<Utc>>);
}

/// Marzban and PasarGuard store one status string; the switch is "not `disabled`".
pub(crate) fn by_status(
    status: &str,
    expires_at: Option<DateTime<Utc>>,
) -> (bool, RemoteState, Option<DateTime<Utc>>) {
    let state = status_state(status);
    (state != RemoteState::Disabled, state, expires_at)
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

/// The per-user routes of a Marzban-family panel, `{collection}/{username}[/{action}]`, and
/// the reading of their answers, which behave alike on all three; what differs (switches,
/// delete, the bodies of create and update) stays in each adapter.
pub(crate) struct Users<K> {
    pub api: BearerApi,
    collection: &'static [&'static str],
    /// Where relative subscription URLs are joined: `sub_base_url`, else the panel URL.
    sub_base: String,
    kind: PhantomData<fn() -> K>,
}

impl<K: KindFields> Users<K> {
    pub fn new(
        config: &PanelConfig,
        api: BearerApi,
        collection: &'static [&'static str],
    ) -> Result<Users<K>, PanelError> {
        Ok(Users {
            api,
            collection,
            sub_base: sub_base(config)?.unwrap_or_else(|| config.base_url.clone()),
            kind: PhantomData,
        })
    }

    pub fn remote(&self, u: User<K>) -> RemoteUser {
        let (enabled, state, expires_at) = u.kind.read();
        RemoteUser {
            used_bytes: u.used_traffic,
            lifetime_used_bytes: u.lifetime_used_traffic,
            limit_bytes: u.data_limit.filter(|l| *l > 0),
            expires_at,
            enabled,
            state,
            subscription_url: u
                .subscription_url
                .filter(|s| !s.trim().is_empty())
                .and_then(|s| absolute_url(&self.sub_base, &s).ok()),
            owner: u
                .owner_username
                .or_else(|| u.admin.and_then(|a| a.username))
                .filter(|o| !o.trim().is_empty()),
            username: u.username,
        }
    }

    /// One user's route, its answer read as a user.
    pub async fn call(
        &self,
        method: Method,
        username: &str,
        action: Option<&str>,
        body: Option<&Value>,
    ) -> Result<User<K>, PanelError> {
        self.api
            .user_call(method, self.collection, username, action, body)
            .await
    }

    /// `GET {collection}/{username}`; a 404 is `None`.
    pub async fn get(&self, username: &str) -> Result<Option<RemoteUser>, PanelError> {
        let user = found(self.call(Method::GET, username, None, None).await)?;
        Ok(user.map(|u| self.remote(u)))
    }

    /// `POST` of a new user to the collection.
    pub async fn create(&self, body: &Value) -> Result<RemoteUser, PanelError> {
        let created: User<K> = self
            .api
            .call(Method::POST, self.collection, &[], Some(body))
            .await?
            .ok_json("create user")?;
        Ok(self.remote(created))
    }

    /// `PUT {collection}/{username}[/{action}]` with `body`; the answer must be a user.
    pub async fn put(
        &self,
        username: &str,
        action: Option<&str>,
        body: &Value,
    ) -> Result<(), PanelError> {
        self.call(Method::PUT, username, action, Some(body))
            .await
            .map(drop)
    }

    /// `POST {collection}/{username}/reset`; the answer must be a user.
    pub async fn reset(&self, username: &str) -> Result<(), PanelError> {
        self.call(Method::POST, username, Some("reset"), None)
            .await
            .map(drop)
    }

    /// The subscription URL of a fresh read (Marzban and PasarGuard make a new one each time).
    pub async fn subscription_url(&self, username: &str) -> Result<String, PanelError> {
        let user = self.call(Method::GET, username, None, None).await?;
        self.remote(user).subscription_url.ok_or_else(|| {
            PanelError::BadResponse(format!("user {username} has no subscription_url"))
        })
    }

    /// Every user of the `offset`/`limit` listing at `path` (Marzban, PasarGuard), each once.
    pub async fn list_by_offset(
        &self,
        path: &[&str],
        page: usize,
    ) -> Result<Vec<RemoteUser>, PanelError> {
        let users = self
            .api
            .offset_pages(path, page, |u: &User<K>| &u.username)
            .await?;
        Ok(users.into_iter().map(|u| self.remote(u)).collect())
    }
}
