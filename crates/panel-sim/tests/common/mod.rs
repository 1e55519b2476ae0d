//! Helpers shared by the panel-sim integration tests: HTTP clients and per-kind logins.
//! Every test talks to a real simulator over a loopback socket.
#![allow(dead_code)]

use panel_sim::Sim;
use reqwest::Client;
use serde_json::Value;

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

/// Marzban `/api/admin/token` or Marzneshin `/api/admins/token`, by kind.
pub async fn bearer(sim: &Sim, c: &Client) -> String {
    let path = match sim.kind() {
        panel_sim::SimKind::Marzneshin => "/api/admins/token",
        _ => "/api/admin/token",
    };
    let r = c
        .post(format!("{}{path}", sim.base_url()))
        .form(&[
            ("username", sim.admin_username()),
            ("password", sim.admin_password()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    v["access_token"].as_str().unwrap().to_string()
}

/// Logs a cookie-keeping client into 3x-ui.
pub async fn xui_login(sim: &Sim, c: &Client) {
    let r = c
        .post(format!("{}/login", sim.base_url()))
        .form(&[
            ("username", sim.admin_username()),
            ("password", sim.admin_password()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["success"], true, "{v}");
}

pub async fn json(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    let v = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, v)
}
