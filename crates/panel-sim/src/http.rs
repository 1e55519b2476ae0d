//! Shared HTTP plumbing: the per-request context, the fault gate every panel route passes first,
//! body parsing (JSON or form) and small reply and value helpers.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{Map, Value};

use crate::faults::{Fault, SimOp};
use crate::server::ConnCtl;
use crate::state::UserRec;
use crate::Sim;

/// Runs the fault gate for `$op`, returning early with the fault's answer; yields the `Pass`.
macro_rules! gate {
    ($ctx:expr, $op:expr) => {
        match $ctx.gate($op).await {
            Ok(pass) => pass,
            Err(resp) => return resp,
        }
    };
}

/// Returns early with the error response of a `Result<_, Response>`.
macro_rules! check {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(resp) => return resp,
        }
    };
}

/// How long `Fault::Timeout` holds a request: longer than any sane client timeout.
const TIMEOUT_HOLD: Duration = Duration::from_secs(60);

/// Everything a panel handler needs besides path and body.
pub(crate) struct Ctx {
    pub sim: Sim,
    pub conn: ConnCtl,
    pub headers: HeaderMap,
    pub query: Vec<(String, String)>,
}

impl FromRequestParts<Sim> for Ctx {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, sim: &Sim) -> Result<Self, Infallible> {
        let conn = parts
            .extensions
            .get::<ConnectInfo<ConnCtl>>()
            .map(|c| c.0.clone())
            .unwrap_or_default();
        let query = parts
            .uri
            .query()
            .and_then(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).ok())
            .unwrap_or_default();
        Ok(Ctx {
            sim: sim.clone(),
            conn,
            headers: parts.headers.clone(),
            query,
        })
    }
}

/// How a request that passed the gate must behave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pass {
    Normal,
    /// Answer like a successful reset, but change nothing.
    ResetNoop,
}

impl Ctx {
    /// Counts the request under `op` and applies any injected fault. `Err` is the whole answer.
    pub async fn gate(&self, op: SimOp) -> Result<Pass, Response> {
        self.sim.count_request(op);
        let Some(fault) = self.sim.take_fault(op) else {
            return Ok(Pass::Normal);
        };
        match fault {
            Fault::ResetNoop => Ok(Pass::ResetNoop),
            Fault::Slow(d) => {
                tokio::time::sleep(d).await;
                Ok(Pass::Normal)
            }
            Fault::Http500 => Err((
                StatusCode::INTERNAL_SERVER_ERROR,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                "Internal Server Error",
            )
                .into_response()),
            Fault::Timeout => {
                tokio::time::sleep(TIMEOUT_HOLD).await;
                Err((
                    StatusCode::GATEWAY_TIMEOUT,
                    html_page("504 Gateway Time-out"),
                )
                    .into_response())
            }
            Fault::Garbage => Err((StatusCode::OK, html_page("502 Bad Gateway")).into_response()),
            Fault::Drop => {
                self.conn.kill();
                Err(StatusCode::OK.into_response())
            }
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn query_one(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn query_all(&self, key: &str) -> Vec<&str> {
        self.query
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn is_form(&self) -> bool {
        self.header("content-type")
            .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"))
    }

    /// A form or JSON object body, whichever the content type says (3x-ui binds both).
    pub fn body_any(&self, body: &[u8]) -> Result<Map<String, Value>, String> {
        if self.is_form() {
            Ok(parse_form(body))
        } else {
            parse_json_object(body)
        }
    }
}

/// A garbage page as a reverse proxy in front of a dead panel would serve it.
fn html_page(title: &str) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        )],
        format!(
            "<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
        ),
    )
}

/// Form fields become JSON strings; a repeated key keeps its last value.
pub(crate) fn parse_form(body: &[u8]) -> Map<String, Value> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect()
}

pub(crate) fn parse_json_object(body: &[u8]) -> Result<Map<String, Value>, String> {
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Err("empty body".into());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err("body is not a JSON object".into()),
        Err(e) => Err(format!("JSON decode error: {e}")),
    }
}

/// A subscription answer as Marzneshin and Eylandoo give it (Marzban adds profile headers):
/// the links base64-encoded as text, and `rec`'s used bytes, limit and expiry (0 for none) in
/// `subscription-userinfo`.
pub(crate) fn subscription_text(links: &[String], rec: &UserRec) -> Response {
    let info = format!(
        "upload=0; download={}; total={}; expire={}",
        rec.used,
        rec.limit.unwrap_or(0),
        rec.expires_at.map_or(0, |t| t.timestamp())
    );
    let mut resp = STANDARD.encode(links.join("\n")).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&info) {
        h.insert("subscription-userinfo", v);
    }
    resp
}

/// The Marzban family's (FastAPI's) answer to a body that is not a JSON object: a 422 on
/// `body`.
pub(crate) fn body_or_422(
    parsed: Result<Map<String, Value>, String>,
) -> Result<Map<String, Value>, Response> {
    parsed.map_err(|e| field_error("body", &e))
}

pub(crate) fn json(status: StatusCode, v: Value) -> Response {
    (status, axum::Json(v)).into_response()
}

/// A body already serialised by `jsonw`.
pub(crate) fn ok_raw(body: String) -> Response {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

pub(crate) fn ok(v: Value) -> Response {
    json(StatusCode::OK, v)
}

/// FastAPI-style `{"detail": "..."}`.
pub(crate) fn detail(status: StatusCode, msg: &str) -> Response {
    json(status, serde_json::json!({ "detail": msg }))
}

/// The Marzban family's rewritten validation error: `422 {"detail": {"<field>": "<msg>"}}`.
pub(crate) fn field_errors(errors: &[(String, String)]) -> Response {
    let m: Map<String, Value> = errors
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    json(
        StatusCode::UNPROCESSABLE_ENTITY,
        serde_json::json!({ "detail": m }),
    )
}

pub(crate) fn field_error(field: &str, msg: &str) -> Response {
    field_errors(&[(field.to_string(), msg.to_string())])
}

/// Present and not null.
pub(crate) fn given<'a>(m: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    m.get(key).filter(|v| !v.is_null())
}

/// A lenient integer: JSON numbers (integral floats too) and numeric strings (form bodies).
pub(crate) fn int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

pub(crate) fn float(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

pub(crate) fn boolean(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "true" | "1" | "on" => Some(true),
            "false" | "0" | "off" => Some(false),
            _ => None,
        },
        Value::Number(n) => n.as_i64().map(|i| i != 0),
        _ => None,
    }
}

pub(crate) fn int_list(v: &Value) -> Option<Vec<i64>> {
    v.as_array()?.iter().map(int).collect()
}

/// Naive ISO as the Python panels print UTC datetimes: `2027-01-01T00:00:00`.
pub(crate) use crate::jsonw::naive_iso;

/// What pydantic accepts for a datetime: RFC 3339, naive ISO (taken as UTC) or unix seconds.
pub(crate) fn parse_datetime(v: &Value) -> Option<DateTime<Utc>> {
    if let Some(secs) = v.as_i64() {
        return DateTime::from_timestamp(secs, 0);
    }
    let s = v.as_str()?.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t.and_utc());
        }
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

pub(crate) fn random_string(len: usize) -> String {
    use rand::distributions::Alphanumeric;
    use rand::Rng;
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

pub(crate) fn new_uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Offset/limit slice without collecting the whole listing first.
pub(crate) fn page<'a, T: 'a>(
    it: impl Iterator<Item = T> + 'a,
    offset: usize,
    limit: Option<usize>,
) -> Vec<T> {
    let it = it.skip(offset);
    match limit {
        Some(l) => it.take(l).collect(),
        None => it.collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lenient_values() {
        assert_eq!(int(&json!("42")), Some(42));
        assert_eq!(int(&json!(4.0)), Some(4));
        assert_eq!(int(&json!(4.5)), None);
        assert_eq!(boolean(&json!("true")), Some(true));
        let t = parse_datetime(&json!("2027-01-01T00:00:00Z")).unwrap();
        assert_eq!(naive_iso(t), "2027-01-01T00:00:00");
        assert_eq!(parse_datetime(&json!("2027-01-01T00:00:00")), Some(t));
        assert_eq!(parse_datetime(&json!("2027-01-01T03:00:00+03:00")), Some(t));
    }

    #[test]
    fn forms_and_json() {
        let f = parse_form(b"username=a&password=b%20c");
        assert_eq!(f["password"], json!("b c"));
        assert!(parse_json_object(b"[1]").is_err());
        assert!(parse_json_object(b"").is_err());
    }
}
