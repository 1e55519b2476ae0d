//! The Marzban family's shared client: OAuth2 password-form login, a cached JWT sent as Bearer,
//! one fresh login when the panel answers 401 (token expired, password reset, panel restarted).

use reqwest::{Method, StatusCode};
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
}

#[derive(Deserialize)]
struct Token {
    access_token: String,
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
        let mut req = self
            .http
            .request(method.clone(), segments)
            .bearer_auth(token)
            .header(reqwest::header::ACCEPT, "application/json");
        if !query.is_empty() {
            req = req.query(query);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        self.http.send(req).await
    }
}
