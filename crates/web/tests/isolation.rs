//! Resellers are isolated: a reseller reaching another reseller's config gets the same 404 as for
//! a config that does not exist, on every API route (read from the OpenAPI document) and every
//! page route (read from the page router's own list).

mod common;

use common::{Api, TestApp, GIB};
use panel_sim::SimKind;
use serde_json::json;

async fn reseller(app: &TestApp, admin: &Api, panel_id: i64, login: &str) -> Api {
    let (status, _) = admin
        .post(
            "/api/v1/resellers",
            json!({ "username": login, "password": "reseller-pass", "kind": "traffic",
            "panel_id": panel_id, "traffic_quota_bytes": 50 * GIB }),
        )
        .await;
    assert_eq!(status, 201);
    app.api_as(login, "reseller-pass").await
}

#[tokio::test]
async fn another_resellers_config_is_404_on_every_route() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (panel_id, sim) = app.add_panel(SimKind::Marzban).await;
    let alice = reseller(&app, &admin, panel_id, "alice").await;
    let bob = reseller(&app, &admin, panel_id, "bob").await;
    let (status, bobs) = bob
        .post(
            "/api/v1/configs",
            json!({"traffic_limit_bytes": GIB, "expires_in_days": 3}),
        )
        .await;
    assert_eq!(status, 201);
    let id = bobs["id"].as_i64().unwrap();
    let name = bobs["username"].as_str().unwrap().to_string();
    let missing = id + 1000;

    let doc = common::openapi(&app).await;
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
                let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
                let res = alice
                    .request(m, &path.replace("{id}", &target.to_string()))
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
    let (_, list) = alice.get("/api/v1/configs").await;
    assert_eq!(list["total"], 0, "alice's list holds none of bob's configs");
}
