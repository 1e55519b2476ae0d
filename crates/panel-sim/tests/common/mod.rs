//! Helpers shared by the panel-sim integration tests: simulators set up as a test needs them,
//! HTTP clients, and a client signed in the way each kind signs in.
//! Every test talks to a real simulator over a loopback socket.
#![allow(dead_code)]

use std::time::Duration;

use panel_sim::{spawn, spawn_with, Sim, SimConfig, SimKind};
use reqwest::{Client, Method, RequestBuilder};
use serde_json::Value;

/// A fresh simulator of `kind` and a client signed in to it.
pub async fn signed_in(kind: SimKind) -> (Sim, Api) {
    let sim = spawn(kind).await;
    let api = Api::signed_in(&sim).await;
    (sim, api)
}

/// A simulator of `kind` holding `"{prefix}0"`..`"{prefix}{count-1}"`, each with `used` bytes.
pub async fn sim_with_users(kind: SimKind, prefix: &str, count: usize, used: i64) -> Sim {
    let sim = spawn(kind).await;
    sim.seed_users(prefix, count, used);
    sim
}

/// A simulator whose review job runs every `interval` instead of the real panel's default, so a
/// test can watch a late status without waiting seconds.
pub async fn sim_reviewing_every(kind: SimKind, interval: Duration) -> Sim {
    spawn_with(SimConfig {
        review_interval: interval,
        ..SimConfig::new(kind)
    })
    .await
    .unwrap()
}

pub fn http() -> Client {
    Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .unwrap()
}

/// A client that keeps cookies, as a browser would for 3x-ui.
pub fn http_with_cookies() -> Client {
    Client::builder()
        .cookie_store(true)
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .unwrap()
}

/// The admin login request of the kind (form-encoded, as the panels' own clients send it):
/// Marzban and PasarGuard `/api/admin/token`, Marzneshin `/api/admins/token`, 3x-ui `/login`.
pub fn login_request(sim: &Sim, c: &Client) -> RequestBuilder {
    let path = match sim.kind() {
        SimKind::Marzneshin => "/api/admins/token",
        SimKind::Xui => "/login",
        SimKind::Marzban | SimKind::PasarGuard => "/api/admin/token",
        SimKind::Eylandoo => panic!("Eylandoo has no login, only its static key"),
    };
    c.post(format!("{}{path}", sim.base_url())).form(&[
        ("username", sim.admin_username()),
        ("password", sim.admin_password()),
    ])
}

/// Logs in with the admin login form; the sign-in must answer 200.
async fn sign_in(sim: &Sim, c: &Client) -> Value {
    let r = login_request(sim, c).send().await.unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

/// Marzban `/api/admin/token` or Marzneshin `/api/admins/token`, by kind.
pub async fn bearer(sim: &Sim, c: &Client) -> String {
    let v = sign_in(sim, c).await;
    v["access_token"].as_str().unwrap().to_string()
}

/// Logs a cookie-keeping client into 3x-ui.
pub async fn xui_login(sim: &Sim, c: &Client) {
    let v = sign_in(sim, c).await;
    assert_eq!(v["success"], true, "{v}");
}

pub async fn json(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    let v = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, v)
}

/// How an `Api` proves who it is on each request.
enum Credential {
    /// Marzban, Marzneshin, PasarGuard: the token of one login.
    Bearer(String),
    /// 3x-ui: the session cookie its client keeps.
    Cookie,
    /// Eylandoo: the static `X-API-KEY`, no login.
    ApiKey(String),
    /// Nothing: what a signed-out caller sends.
    None,
}

/// A client of one simulator that sends every request with the kind's credential; paths are
/// relative to `sim.base_url()`. `c` is the raw client for requests outside the panel API
/// (subscription links, a login a test makes by hand), sharing 3x-ui's cookie jar.
pub struct Api {
    pub c: Client,
    pub base: String,
    credential: Credential,
}

impl Api {
    /// Signed in as the admin: one login request for the bearer kinds and 3x-ui, none for
    /// Eylandoo.
    pub async fn signed_in(sim: &Sim) -> Api {
        let mut api = Api::signed_out(sim);
        api.credential = match sim.kind() {
            SimKind::Marzban | SimKind::Marzneshin | SimKind::PasarGuard => {
                Credential::Bearer(bearer(sim, &api.c).await)
            }
            SimKind::Xui => {
                xui_login(sim, &api.c).await;
                Credential::Cookie
            }
            SimKind::Eylandoo => Credential::ApiKey(sim.api_key().to_string()),
        };
        api
    }

    /// No credential yet (3x-ui's client keeps cookies all the same).
    pub fn signed_out(sim: &Sim) -> Api {
        let c = match sim.kind() {
            SimKind::Xui => http_with_cookies(),
            _ => http(),
        };
        Api {
            c,
            base: sim.base_url(),
            credential: Credential::None,
        }
    }

    /// For the simulator's own `/_sim` control API, which takes no credential.
    pub fn control(sim: &Sim) -> Api {
        Api {
            c: http(),
            base: sim.control_url(),
            credential: Credential::None,
        }
    }

    /// The bearer token of the login (panics for kinds without one).
    pub fn token(&self) -> &str {
        match &self.credential {
            Credential::Bearer(t) => t,
            _ => panic!("this client has no bearer token"),
        }
    }

    /// `method` on `{base}{path}` with the credential, for a test that adds more to it.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let req = self.c.request(method, format!("{}{path}", self.base));
        match &self.credential {
            Credential::Bearer(t) => req.bearer_auth(t),
            Credential::ApiKey(k) => req.header("X-API-KEY", k),
            Credential::Cookie | Credential::None => req,
        }
    }

    /// Sends `method` on `path` with `body` as JSON when given, and reads the answer.
    pub async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> (u16, Value) {
        let mut req = self.request(method, path);
        if let Some(b) = body {
            req = req.json(b);
        }
        json(req.send().await.unwrap()).await
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.call(Method::GET, path, None).await
    }

    /// A POST without a body (actions such as reset, enable, toggle).
    pub async fn post(&self, path: &str) -> (u16, Value) {
        self.call(Method::POST, path, None).await
    }

    pub async fn post_json(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(Method::POST, path, Some(&body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(Method::PUT, path, Some(&body)).await
    }

    pub async fn delete(&self, path: &str) -> (u16, Value) {
        self.call(Method::DELETE, path, None).await
    }
}
