//! The Marzban family's shared client: OAuth2 password-form login, a cached JWT sent as Bearer,
//! one fresh login when the panel answers 401 (token expired, password reset, panel restarted);
//! or, where the panel has them (PasarGuard v5.1+), a static API key sent as `X-Api-Key`.

use std::collections::HashSet;

use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

use crate::http::{Http, Reply, Session};
use crate::{PanelConfig, PanelError};

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
            let p: UsersPage<T> = self
                .call(Method::GET, path, &query, None)
                .await?
                .ok_json(&path.join("/"))?;
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
