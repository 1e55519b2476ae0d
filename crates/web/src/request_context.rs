//! What the page frame needs from the request it renders (its address, whether it was a GET, the
//! flash message the previous action left), set once per request by a middleware for its task.
//! Also the flash cookie: an action redirects with a message, the next page shows it once.

use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

tokio::task_local! {
    static CURRENT: RequestContext;
}

pub const FLASH_COOKIE: &str = "flash";

#[derive(Clone, Debug, Default)]
pub struct RequestContext {
    pub path: String,
    pub query: Option<String>,
    pub is_get: bool,
    pub flash: Option<Flash>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flash {
    pub ok: bool,
    pub text: String,
}

impl Flash {
    pub fn class(&self) -> &'static str {
        if self.ok {
            "alert-ok"
        } else {
            "alert-error"
        }
    }
}

/// The request being rendered (empty outside a request, e.g. in unit tests).
pub fn current() -> RequestContext {
    CURRENT.try_with(|c| c.clone()).unwrap_or_default()
}

/// The cookie holds `m:` (success) or `e:` (error) and the sentence, base64url-encoded: no
/// character of it needs quoting in a cookie, and no cookie library decodes it on the way.
fn read_flash(headers: &HeaderMap) -> Option<Flash> {
    use base64::Engine as _;
    let jar = axum_extra::extract::CookieJar::from_headers(headers);
    let raw = jar.get(FLASH_COOKIE)?.value().to_string();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(raw.as_bytes())
        .ok()?;
    let s = String::from_utf8(bytes).ok()?;
    let (ok, text) = match s.split_once(':')? {
        ("m", t) => (true, t),
        ("e", t) => (false, t),
        _ => return None,
    };
    (!text.trim().is_empty()).then(|| Flash {
        ok,
        text: text.chars().take(400).collect(),
    })
}

/// Sets the request context for the handler and clears a shown flash message afterwards.
pub async fn layer(req: Request, next: Next) -> Response {
    let ctx = RequestContext {
        path: req.uri().path().to_string(),
        query: req.uri().query().map(str::to_string),
        is_get: req.method() == Method::GET,
        flash: read_flash(req.headers()),
    };
    let shown = ctx.flash.is_some();
    let mut res = CURRENT.scope(ctx, next.run(req)).await;
    let is_page = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let sets_new = res
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .any(|v| v.as_bytes().starts_with(FLASH_COOKIE.as_bytes()));
    if shown && is_page && !sets_new {
        res.headers_mut().append(
            header::SET_COOKIE,
            HeaderValue::from_static("flash=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax"),
        );
    }
    res
}

fn flash_cookie(ok: bool, text: &str) -> Option<HeaderValue> {
    use base64::Engine as _;
    let text: String = text.chars().take(400).collect();
    let value = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(format!("{}:{text}", if ok { "m" } else { "e" }));
    HeaderValue::from_str(&format!(
        "{FLASH_COOKIE}={value}; Path=/; Max-Age=120; HttpOnly; SameSite=Lax"
    ))
    .ok()
}

/// A redirect after an action, carrying the sentence the next page shows once.
pub fn redirect_with(to: &str, ok: bool, text: &str) -> Response {
    let mut res = Redirect::to(to).into_response();
    if let Some(v) = flash_cookie(ok, text) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

/// `redirect_with` for a success message.
pub fn done(to: &str, text: &str) -> Response {
    redirect_with(to, true, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flash_survives_the_cookie_round_trip() {
        let v = flash_cookie(true, "۵۰٬۰۰۰ تومان; a=b & \"c\"").unwrap();
        let cookie = v.to_str().unwrap().split(';').next().unwrap().to_string();
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_str(&cookie).unwrap());
        assert_eq!(
            read_flash(&h),
            Some(Flash {
                ok: true,
                text: "۵۰٬۰۰۰ تومان; a=b & \"c\"".into()
            })
        );
        let v = flash_cookie(false, "no").unwrap();
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_str(v.to_str().unwrap().split(';').next().unwrap()).unwrap(),
        );
        assert!(!read_flash(&h).unwrap().ok);
    }
}
