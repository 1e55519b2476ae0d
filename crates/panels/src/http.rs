//! Shared HTTP plumbing: client building (time-outs, TLS, no redirects), per-panel rate and
//! concurrency limits, transport-error sorting, whole-body replies, and the cached login session.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::{Mutex, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use url::Url;

use crate::{PanelConfig, PanelError};

/// How much of an unreadable body goes into an error message.
const SNIPPET: usize = 200;

/// One panel's HTTP client. Cheap to share; reqwest pools connections inside.
pub(crate) struct Http {
    client: reqwest::Client,
    base: Url,
    limits: Limits,
}

impl Http {
    pub fn new(config: &PanelConfig) -> Result<Http, PanelError> {
        let base = parse_base(&config.base_url)?;
        let client = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            // 3x-ui answers a lost session with a redirect to its login page; following it would
            // turn "log in again" into a 200 HTML page. No panel API needs redirects.
            .redirect(reqwest::redirect::Policy::none())
            .danger_accept_invalid_certs(config.settings.accept_invalid_certs)
            .user_agent(concat!("vpnmarket-panels/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| PanelError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Http {
            client,
            base,
            limits: Limits::new(
                config.settings.rate_limit_per_sec,
                config.settings.max_concurrency,
            ),
        })
    }

    /// `base` + path segments, each percent-encoded (a username with `/` or `#` stays one segment).
    pub fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    pub fn request(&self, method: Method, segments: &[&str]) -> RequestBuilder {
        self.client.request(method, self.url(segments))
    }

    /// Sends and reads the whole body. Only transport failures are errors here; every HTTP status
    /// comes back as a `Reply` for the adapter to judge.
    pub async fn send(&self, req: RequestBuilder) -> Result<Reply, PanelError> {
        let req = req
            .build()
            .map_err(|e| PanelError::Config(format!("cannot build the request: {e}")))?;
        // Logged relative to the base: 3x-ui's web base path is a secret.
        let method = req.method().clone();
        let full = req.url().path();
        let path = full
            .strip_prefix(self.base.path().trim_end_matches('/'))
            .unwrap_or(full)
            .to_string();
        let _permit = self.limits.admit().await;
        let started = std::time::Instant::now();
        let result = async {
            let resp = self.client.execute(req).await?;
            let status = resp.status();
            let headers = resp.headers().clone();
            let body = resp.bytes().await?.to_vec();
            Ok::<_, reqwest::Error>(Reply {
                status,
                headers,
                body,
            })
        }
        .await;
        let ms = started.elapsed().as_millis() as u64;
        match result {
            Ok(reply) => {
                tracing::debug!(%method, path, status = reply.status.as_u16(), ms, "panel request");
                Ok(reply)
            }
            Err(e) => {
                let err = transport_error(&e);
                tracing::debug!(%method, path, ms, error = %err, "panel request failed");
                Err(err)
            }
        }
    }
}

fn parse_base(raw: &str) -> Result<Url, PanelError> {
    let url = Url::parse(raw.trim())
        .map_err(|e| PanelError::Config(format!("bad panel URL {raw:?}: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(PanelError::Config(format!(
            "panel URL {raw:?} must be http(s)://host[:port][/path]"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(PanelError::Config(format!(
            "panel URL {raw:?} must not carry a query or fragment"
        )));
    }
    Ok(url)
}

/// Sorts a reqwest failure by whether the request can have reached the panel.
fn transport_error(e: &reqwest::Error) -> PanelError {
    let detail = error_chain(e);
    if e.is_connect() {
        // Includes the connect time-out: nothing was sent.
        PanelError::Unreachable(detail)
    } else if e.is_timeout() {
        PanelError::Timeout(format!("timed out: {detail}"))
    } else if e.is_builder() {
        PanelError::Config(detail)
    } else {
        // Connection reset or closed mid-exchange: the panel may have acted on the request.
        PanelError::Timeout(format!("connection lost before the answer: {detail}"))
    }
}

/// reqwest's own message names the URL, which may hold a secret web base path (3x-ui), and says
/// little ("error sending request"); the causes say what happened.
fn error_chain(e: &reqwest::Error) -> String {
    let mut out = String::from(if e.is_timeout() {
        "operation timed out"
    } else if e.is_connect() {
        "connect failed"
    } else if e.is_body() || e.is_decode() {
        "reading the body failed"
    } else {
        "request failed"
    });
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let msg = s.to_string();
        if !out.contains(&msg) {
            out.push_str(": ");
            out.push_str(&msg);
        }
        source = s.source();
    }
    out
}

/// A complete HTTP answer.
pub(crate) struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn is_success(&self) -> bool {
        self.status.is_success()
    }

    pub fn value(&self) -> Result<Value, PanelError> {
        self.json()
    }

    /// The body as `T`; anything else is `BadResponse` quoting the start of the body.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, PanelError> {
        serde_json::from_slice(&self.body).map_err(|e| {
            PanelError::BadResponse(format!(
                "HTTP {}: {e}; body starts {:?}",
                self.status.as_u16(),
                self.snippet()
            ))
        })
    }

    pub fn snippet(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        let text = text.trim();
        match text.char_indices().nth(SNIPPET) {
            Some((i, _)) => format!("{}…", &text[..i]),
            None => text.to_string(),
        }
    }

    /// The panel's own words: FastAPI `detail` (string or field map), 3x-ui `msg`, Eylandoo
    /// `message`, else the start of the body.
    pub fn message(&self) -> String {
        if let Ok(v) = serde_json::from_slice::<Value>(&self.body) {
            for key in ["detail", "msg", "message", "error"] {
                match v.get(key) {
                    Some(Value::String(s)) if !s.is_empty() => return s.clone(),
                    Some(Value::Object(m)) if !m.is_empty() => {
                        return m
                            .iter()
                            .map(|(k, v)| match v {
                                Value::String(s) => format!("{k}: {s}"),
                                other => format!("{k}: {other}"),
                            })
                            .collect::<Vec<_>>()
                            .join("; ")
                    }
                    Some(Value::Array(a)) if !a.is_empty() => {
                        return Value::Array(a.clone()).to_string()
                    }
                    _ => {}
                }
            }
        }
        let s = self.snippet();
        if s.is_empty() {
            self.status
                .canonical_reason()
                .unwrap_or("no message")
                .to_string()
        } else {
            s
        }
    }

    /// The usual meaning of a non-2xx status. `what` names the object for NotFound.
    pub fn error(&self, what: &str) -> PanelError {
        let status = self.status.as_u16();
        match status {
            401 | 403 => PanelError::Auth(format!("HTTP {status}: {}", self.message())),
            404 => PanelError::NotFound(format!("{what}: {}", self.message())),
            // Usually http -> https or a missing trailing path: the panel URL needs fixing, and
            // the request was not processed, so retrying the same URL cannot help.
            300..=399 => PanelError::Config(format!(
                "the panel redirected (HTTP {status}) to {}; use that URL",
                self.headers
                    .get(reqwest::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("elsewhere")
            )),
            _ => PanelError::Rejected {
                status,
                message: self.message(),
            },
        }
    }

    /// 2xx parsed as JSON, else the status's error.
    pub fn ok_json<T: DeserializeOwned>(&self, what: &str) -> Result<T, PanelError> {
        if self.is_success() {
            self.json()
        } else {
            Err(self.error(what))
        }
    }
}

/// Per-client request admission: a semaphore for concurrency and evenly spaced start slots for
/// the rate, so a bulk job cannot hammer a small panel.
struct Limits {
    permits: Option<Arc<Semaphore>>,
    interval: Option<Duration>,
    next_slot: std::sync::Mutex<Instant>,
}

impl Limits {
    fn new(rate_per_sec: Option<u32>, max_concurrency: Option<u32>) -> Limits {
        Limits {
            permits: max_concurrency
                .filter(|n| *n > 0)
                .map(|n| Arc::new(Semaphore::new(n as usize))),
            interval: rate_per_sec
                .filter(|n| *n > 0)
                .map(|n| Duration::from_secs(1) / n),
            next_slot: std::sync::Mutex::new(Instant::now()),
        }
    }

    async fn admit(&self) -> Option<OwnedSemaphorePermit> {
        let permit = match &self.permits {
            // The semaphore is never closed, so acquiring cannot fail.
            Some(s) => s.clone().acquire_owned().await.ok(),
            None => None,
        };
        if let Some(interval) = self.interval {
            let slot = {
                let mut next = self.next_slot.lock().unwrap_or_else(|e| e.into_inner());
                let slot = (*next).max(Instant::now());
                *next = slot + interval;
                slot
            };
            tokio::time::sleep_until(slot).await;
        }
        permit
    }
}

/// A cached login credential (JWT, session cookie). The async mutex makes concurrent callers
/// wait for one login instead of each logging in.
pub(crate) struct Session<T> {
    current: Mutex<Option<Arc<T>>>,
}

impl<T> Default for Session<T> {
    fn default() -> Self {
        Session {
            current: Mutex::new(None),
        }
    }
}

impl<T> Session<T> {
    /// The cached credential, logging in first when there is none.
    pub async fn get<F, Fut>(&self, login: F) -> Result<Arc<T>, PanelError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, PanelError>>,
    {
        let mut current = self.current.lock().await;
        if let Some(c) = current.as_ref() {
            return Ok(c.clone());
        }
        let fresh = Arc::new(login().await?);
        *current = Some(fresh.clone());
        Ok(fresh)
    }

    /// The panel refused `stale`: log in again, unless another caller already replaced it.
    pub async fn renew<F, Fut>(&self, stale: &Arc<T>, login: F) -> Result<Arc<T>, PanelError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, PanelError>>,
    {
        let mut current = self.current.lock().await;
        if let Some(c) = current.as_ref() {
            if !Arc::ptr_eq(c, stale) {
                return Ok(c.clone());
            }
        }
        *current = None;
        let fresh = Arc::new(login().await?);
        *current = Some(fresh.clone());
        Ok(fresh)
    }
}

/// The configured public subscription base, checked once when the adapter is built.
pub(crate) fn sub_base(config: &PanelConfig) -> Result<Option<String>, PanelError> {
    match config.settings.sub_base_url.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(raw) => {
            parse_base(raw).map_err(|_| {
                PanelError::Config(format!(
                    "subscription base {raw:?} must be http(s)://host[:port][/path]"
                ))
            })?;
            Ok(Some(raw.trim_end_matches('/').to_string()))
        }
    }
}

/// Joins a relative subscription path to a public base; absolute URLs pass through. The base's
/// own path is kept (a reverse-proxy prefix), so this is concatenation, not RFC 3986 resolution.
pub(crate) fn absolute_url(base: &str, url: &str) -> Result<String, PanelError> {
    let url = url.trim();
    if url.is_empty() {
        return Err(PanelError::BadResponse(
            "the panel gave an empty subscription URL".into(),
        ));
    }
    if let Ok(u) = Url::parse(url) {
        if matches!(u.scheme(), "http" | "https") {
            return Ok(url.to_string());
        }
    }
    let base = base.trim().trim_end_matches('/');
    let joined = format!("{base}/{}", url.trim_start_matches('/'));
    Url::parse(&joined)
        .map_err(|e| PanelError::Config(format!("subscription base {base:?} is not a URL: {e}")))?;
    Ok(joined)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{PanelKind, PanelSettings};

    fn http(base: &str) -> Http {
        let mut c = PanelConfig::new(PanelKind::Marzban, base);
        c.settings = PanelSettings::default();
        Http::new(&c).unwrap()
    }

    #[test]
    fn url_segments_are_encoded_and_keep_the_base_path() {
        let h = http("https://h:2053/secret/");
        assert_eq!(
            h.url(&["panel", "api", "a b/c#d"]).as_str(),
            "https://h:2053/secret/panel/api/a%20b%2Fc%23d"
        );
        let h = http("http://h:8000");
        assert_eq!(
            h.url(&["api", "user", "u1"]).as_str(),
            "http://h:8000/api/user/u1"
        );
    }

    #[test]
    fn bad_base_urls_are_config_errors() {
        for bad in ["", "ftp://h", "h:8000", "http://h/?x=1"] {
            let c = PanelConfig::new(PanelKind::Marzban, bad);
            assert!(matches!(Http::new(&c), Err(PanelError::Config(_))), "{bad}");
        }
    }

    #[test]
    fn relative_sub_urls_join_the_base() {
        assert_eq!(
            absolute_url("https://sub.example:2096/", "/sub/abc").unwrap(),
            "https://sub.example:2096/sub/abc"
        );
        assert_eq!(
            absolute_url("https://x", "https://other/sub/1").unwrap(),
            "https://other/sub/1"
        );
        assert!(absolute_url("https://x", " ").is_err());
    }

    fn reply(status: u16, body: &str) -> Reply {
        Reply {
            status: StatusCode::from_u16(status).unwrap(),
            headers: HeaderMap::new(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn panel_messages_are_quoted() {
        assert_eq!(
            reply(409, r#"{"detail":"User already exists"}"#).message(),
            "User already exists"
        );
        assert_eq!(
            reply(422, r#"{"detail":{"username":"Field required"}}"#).message(),
            "username: Field required"
        );
        assert_eq!(
            reply(200, r#"{"success":false,"msg":"Duplicate email: a"}"#).message(),
            "Duplicate email: a"
        );
        assert!(matches!(
            reply(500, "Internal Server Error").error("user"),
            PanelError::Rejected { status: 500, .. }
        ));
        assert!(matches!(
            reply(404, "").error("user"),
            PanelError::NotFound(_)
        ));
        assert!(matches!(
            reply(200, "<html>").json::<Value>(),
            Err(PanelError::BadResponse(_))
        ));
    }

    #[tokio::test]
    async fn rate_limit_spaces_request_starts() {
        let limits = Limits::new(Some(20), None);
        let started = Instant::now();
        for _ in 0..5 {
            limits.admit().await;
        }
        // Slots at 0, 50, 100, 150, 200 ms.
        assert!(started.elapsed() >= Duration::from_millis(190));
    }

    #[tokio::test]
    async fn session_logs_in_once_and_renews_only_the_stale_token() {
        let s = Session::<String>::default();
        let a = s.get(|| async { Ok("a".to_string()) }).await.unwrap();
        assert_eq!(*a, "a");
        let cached = s
            .get(|| async { panic!("must use the cache") })
            .await
            .unwrap();
        assert!(Arc::ptr_eq(&a, &cached));
        let b = s.renew(&a, || async { Ok("b".to_string()) }).await.unwrap();
        assert_eq!(*b, "b");
        // A second caller that also saw "a" fail gets "b" without a new login.
        let again = s
            .renew(&a, || async { panic!("already renewed") })
            .await
            .unwrap();
        assert!(Arc::ptr_eq(&b, &again));
    }
}
