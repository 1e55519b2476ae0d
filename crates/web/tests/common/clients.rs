//! The two ways a user reaches the server, as clients that carry their own credentials: an API
//! client with a Bearer token and a signed-in browser that sends the session's CSRF token itself,
//! so a test says what it asks for and not how it authenticates.

use reqwest::{Method, RequestBuilder, Response};
use serde_json::Value;
use std::sync::{Arc, OnceLock};

/// `/api/v1` as one login sees it.
#[derive(Clone)]
pub struct Api {
    base: String,
    /// None: no `Authorization` header at all (a caller not signed in).
    token: Option<String>,
    http: reqwest::Client,
}

impl Api {
    pub(crate) fn new(base: &str, token: Option<String>) -> Api {
        Api {
            base: base.to_string(),
            token,
            http: super::no_redirects(),
        }
    }

    pub fn token(&self) -> &str {
        self.token.as_deref().expect("a signed-in API client")
    }

    /// A request with the Bearer token set, for tests that look at headers or send a raw body.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let req = self.http.request(method, format!("{}{}", self.base, path));
        match &self.token {
            Some(t) => req.bearer_auth(t),
            None => req,
        }
    }

    /// (status, body as JSON, or the text as a JSON string when it is not JSON).
    pub async fn send(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self.request(method, path);
        if let Some(b) = body {
            req = req.json(&b);
        }
        read(req.send().await.unwrap()).await
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.send(Method::GET, path, None).await
    }

    /// A POST with a JSON body (`Value::Null` sends the JSON `null`, as a bodiless action may).
    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(Method::POST, path, Some(body)).await
    }

    /// A POST with no body at all.
    pub async fn post_empty(&self, path: &str) -> (u16, Value) {
        self.send(Method::POST, path, None).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(Method::PATCH, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> (u16, Value) {
        self.send(Method::DELETE, path, None).await
    }

    /// The body of a request that must answer `status` (the body is shown when it does not).
    pub async fn expect(
        &self,
        status: u16,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Value {
        let (s, v) = self.send(method, path, body).await;
        assert_eq!(s, status, "{path}: {v}");
        v
    }

    /// GET that must answer 200.
    pub async fn ok(&self, path: &str) -> Value {
        self.expect(200, Method::GET, path, None).await
    }
}

async fn read(res: Response) -> (u16, Value) {
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// A browser signed in through the real form: keeps its cookies, follows no redirect (tests look
/// at them), and puts the session's CSRF token into every form it submits.
#[derive(Clone)]
pub struct Browser {
    base: String,
    http: reqwest::Client,
    // Read on the first form, not at sign-in: a page fetched early would eat a flash message
    // the test means to see.
    csrf: Arc<OnceLock<String>>,
}

impl Browser {
    pub(crate) fn new(base: &str, http: reqwest::Client) -> Browser {
        Browser {
            base: base.to_string(),
            http,
            csrf: Arc::new(OnceLock::new()),
        }
    }

    /// The cookie-keeping client itself, for requests the helpers do not cover.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get_raw(&self, path: &str) -> Response {
        self.http.get(self.url(path)).send().await.unwrap()
    }

    /// (status, HTML).
    pub async fn get(&self, path: &str) -> (u16, String) {
        let res = self.get_raw(path).await;
        (res.status().as_u16(), res.text().await.unwrap())
    }

    /// The page's text whatever its status (tests that care about the status use `get`).
    pub async fn html(&self, path: &str) -> String {
        self.get(path).await.1
    }

    /// The session's CSRF token, read from a page as a browser would.
    pub async fn csrf(&self) -> String {
        if let Some(t) = self.csrf.get() {
            return t.clone();
        }
        let page = self.html("/").await;
        let token =
            super::hidden_field(&page, "_csrf").expect("signed-in pages carry the CSRF token");
        self.csrf.get_or_init(|| token).clone()
    }

    /// `html`, a page of this session, carries the session's CSRF token in its forms: what
    /// `submit` sends is then what the page's own form would have sent.
    pub async fn assert_form_token(&self, html: &str) {
        let on_page = super::hidden_field(html, "_csrf");
        assert_eq!(
            on_page.as_deref(),
            Some(self.csrf().await.as_str()),
            "the page's form carries the session's CSRF token"
        );
    }

    /// Submits a form with the session's CSRF token added in front of `fields`.
    pub async fn submit(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        let csrf = self.csrf().await;
        let mut form = vec![("_csrf", csrf.as_str())];
        form.extend_from_slice(fields);
        self.http
            .post(self.url(path))
            .form(&form)
            .send()
            .await
            .unwrap()
    }

    /// A form post exactly as given (a test of a missing or forged CSRF token).
    pub async fn submit_raw(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        self.http
            .post(self.url(path))
            .form(fields)
            .send()
            .await
            .unwrap()
    }
}
