//! Session tokens and cookies the simulated panels issue, and the checks each kind applies.
//! Tokens are opaque lookups with an expiry, so `expire_tokens()` can revoke them all at once.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::Utc;
use rand::RngCore;
use serde_json::json;

use crate::faults::SimOp;
use crate::http::{field_errors, ok, parse_form, Ctx};

#[derive(Default)]
pub(crate) struct Tokens {
    /// token -> expiry (None = never, for a zero TTL as Marzban's "0 minutes").
    live: HashMap<String, Option<Instant>>,
}

impl Tokens {
    pub fn issue(&mut self, token: String, ttl: Duration) {
        let now = Instant::now();
        // Clients that log in for every call must not grow the map forever.
        if self.live.len() > 10_000 {
            self.live.retain(|_, exp| exp.is_none_or(|e| e > now));
        }
        let exp = (!ttl.is_zero()).then(|| now + ttl);
        self.live.insert(token, exp);
    }

    pub fn valid(&self, token: &str) -> bool {
        match self.live.get(token) {
            Some(None) => true,
            Some(Some(exp)) => *exp > Instant::now(),
            None => false,
        }
    }

    pub fn clear(&mut self) {
        self.live.clear();
    }
}

/// An HS256-shaped JWT with real `sub`/`iat`/`exp` claims, so clients may read the expiry,
/// but an unverifiable random signature: the simulator only trusts its own token table.
pub(crate) fn jwt_like(sub: &str, ttl: Duration) -> String {
    let iat = Utc::now().timestamp();
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let mut claims = json!({ "sub": sub, "access": "sudo", "iat": iat });
    if !ttl.is_zero() {
        claims["exp"] = json!(iat + ttl.as_secs() as i64);
    }
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let mut sig = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut sig);
    format!("{header}.{payload}.{}", URL_SAFE_NO_PAD.encode(sig))
}

/// 3x-ui's gin session cookie value: opaque base64.
pub(crate) fn session_id() -> String {
    let mut b = [0u8; 48];
    rand::thread_rng().fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

/// The Marzban family's bearer check, with FastAPI's two distinct 401 bodies.
pub(crate) fn bearer(ctx: &Ctx) -> Result<(), Response> {
    let token = ctx
        .header("authorization")
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(str::trim);
    let unauthorized = |msg: &str| {
        (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            axum::Json(json!({ "detail": msg })),
        )
            .into_response()
    };
    match token {
        None | Some("") => Err(unauthorized("Not authenticated")),
        Some(t) if ctx.sim.token_valid(t) => Ok(()),
        Some(_) => Err(unauthorized("Could not validate credentials")),
    }
}

/// The OAuth2 password-form login of Marzban (`/api/admin/token`) and Marzneshin
/// (`/api/admins/token`); FastAPI only reads form bodies here, so JSON means "Field required".
pub(crate) async fn oauth_token(ctx: Ctx, body: Bytes, is_sudo_field: bool) -> Response {
    gate!(ctx, SimOp::Auth);
    let form = if ctx.is_form() {
        parse_form(&body)
    } else {
        Default::default()
    };
    let user = form.get("username").and_then(|v| v.as_str());
    let pass = form.get("password").and_then(|v| v.as_str());
    let (Some(user), Some(pass)) = (user, pass) else {
        let mut errors = Vec::new();
        for (k, v) in [("username", user), ("password", pass)] {
            if v.is_none() {
                errors.push((k.to_string(), "Field required".to_string()));
            }
        }
        return field_errors(&errors);
    };
    if !ctx.sim.check_admin(user, pass) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            axum::Json(json!({ "detail": "Incorrect username or password" })),
        )
            .into_response();
    }
    let token = jwt_like(user, ctx.sim.token_ttl());
    ctx.sim.issue_token(token.clone());
    let mut body = json!({ "access_token": token, "token_type": "bearer" });
    if is_sudo_field {
        body["is_sudo"] = json!(true);
    }
    ok(body)
}

/// The value of one cookie from the Cookie header(s).
pub(crate) fn cookie<'a>(ctx: &'a Ctx, name: &str) -> Option<&'a str> {
    ctx.headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_expire_and_clear() {
        let mut t = Tokens::default();
        t.issue("a".into(), Duration::from_secs(60));
        t.issue("b".into(), Duration::from_nanos(1));
        t.issue("c".into(), Duration::ZERO);
        std::thread::sleep(Duration::from_millis(2));
        assert!(t.valid("a"));
        assert!(!t.valid("b"));
        assert!(t.valid("c"));
        t.clear();
        assert!(!t.valid("a"));
    }

    #[test]
    fn jwt_has_three_parts_and_exp() {
        let tok = jwt_like("admin", Duration::from_secs(60));
        let parts: Vec<_> = tok.split('.').collect();
        assert_eq!(parts.len(), 3);
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["sub"], "admin");
        assert!(claims["exp"].as_i64().unwrap() > claims["iat"].as_i64().unwrap());
    }
}
