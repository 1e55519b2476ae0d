//! Resellers are isolated: a reseller reaching another reseller's config gets the same 404 as for
//! a config that does not exist, on every API route (read from the OpenAPI document) and every
//! page route (read from the page router's own list).

mod common;

use common::TestApp;
use panel_sim::SimKind;
use serde_json::{json, Value};

const GIB: i64 = 1 << 30;

async fn reseller(app: &TestApp, admin: &str, panel_id: i64, login: &str) -> String {
    let res = app
        .client()
        .post(app.url("/api/v1/resellers"))
        .bearer_auth(admin)
        .json(
            &json!({ "username": login, "password": "reseller-pass", "kind": "traffic",
            "panel_id": panel_id, "traffic_quota_bytes": 50 * GIB }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    app.token(login, "reseller-pass").await
}

#[tokio::test]
async fn another_resellers_config_is_404_on_every_route() {
    let app = TestApp::spawn().await;
    app.create_admin("root", "correct-horse").await;
    let admin = app.token("root", "correct-horse").await;
    let (panel_id, sim) = app.add_panel(SimKind::Marzban).await;
    let alice = reseller(&app, &admin, panel_id, "alice").await;
    let bob = reseller(&app, &admin, panel_id, "bob").await;
    let res = app
        .client()
        .post(app.url("/api/v1/configs"))
        .bearer_auth(&bob)
        .json(&json!({"traffic_limit_bytes": GIB, "expires_in_days": 3}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let bobs: Value = res.json().await.unwrap();
    let id = bobs["id"].as_i64().unwrap();
    let name = bobs["username"].as_str().unwrap().to_string();
    let missing = id + 1000;

    let doc: Value = app
        .client()
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut checked = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        if !(path.starts_with("/api/v1/configs/") && path.contains("{id}")) {
            continue;
        }
        for method in ["get", "post", "patch", "put", "delete"] {
            if item.get(method).is_none() {
                continue;
            }
            let mut bodies = Vec::new();
            for target in [id, missing] {
                let url = app.url(&path.replace("{id}", &target.to_string()));
                let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
                let res = app
                    .client()
                    .request(m, url)
                    .bearer_auth(&alice)
                    .json(&json!({}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(
                    res.status(),
                    404,
                    "{method} {path} for another reseller's config"
                );
                bodies.push(res.text().await.unwrap());
            }
            assert_eq!(
                bodies[0], bodies[1],
                "{method} {path} must not reveal that the config exists"
            );
            checked.push(format!("{method} {path}"));
        }
    }
    assert!(
        checked.len() >= 6,
        "routes found in the document: {checked:?}"
    );

    // Pages: every `/configs/{id}…` route of the page router.
    let b = app.signed_in_browser("alice", "reseller-pass").await;
    let csrf = app.csrf_of(&b).await;
    for (method, path) in web::pages::configs::ID_ROUTES {
        let url = app.url(&path.replace("{id}", &id.to_string()));
        let res = match *method {
            "GET" => b.get(url).send().await.unwrap(),
            _ => b
                .post(url)
                .form(&[("_csrf", csrf.as_str()), ("traffic_limit_gb", "9")])
                .send()
                .await
                .unwrap(),
        };
        assert_eq!(
            res.status(),
            404,
            "{method} {path} page for another reseller's config"
        );
    }

    // Nothing changed for bob: its config is still there, enabled, with its limit.
    let u = sim.user(&name).unwrap();
    assert!(u.enabled);
    assert_eq!(u.limit_bytes, Some(GIB));
    let list: Value = app
        .client()
        .get(app.url("/api/v1/configs"))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 0, "alice's list holds none of bob's configs");
}
