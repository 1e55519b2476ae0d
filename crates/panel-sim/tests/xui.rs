//! 3x-ui 2.x simulator over real sockets: hidden API when signed out, HTTP 200 failures,
//! full-replace updateClient, traffic rows and the separate subscription path.

mod common;

use common::{http, http_with_cookies, json, xui_login};
use panel_sim::{spawn, Sim, SimKind, SimOp};
use reqwest::Client;
use serde_json::{json, Value};

fn client(email: &str, id: &str, extra: Value) -> Value {
    let mut c = json!({"id": id, "email": email, "limitIp": 2, "totalGB": 10_737_418_240_i64,
                       "expiryTime": 1_801_440_000_000_i64, "enable": true, "tgId": 0,
                       "subId": format!("sub{email}"), "comment": "", "reset": 0, "flow": ""});
    if let (Some(m), Some(e)) = (c.as_object_mut(), extra.as_object()) {
        m.extend(e.clone());
    }
    c
}

fn settings(c: &Value) -> String {
    json!({"clients": [c]}).to_string()
}

async fn add(sim: &Sim, c: &Client, inbound: i64, cl: &Value) -> Value {
    let (st, v) = json(
        c.post(format!("{}/panel/api/inbounds/addClient", sim.base_url()))
            .json(&json!({"id": inbound, "settings": settings(cl)}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, 200);
    v
}

async fn list(sim: &Sim, c: &Client) -> Value {
    let (st, v) = json(
        c.get(format!("{}/panel/api/inbounds/list", sim.base_url()))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(v["success"], true);
    v
}

#[tokio::test]
async fn signed_out_is_404_and_login_failure_is_200() {
    let sim = spawn(SimKind::Xui).await;
    assert!(sim.base_url().ends_with("/xpanel"));
    let c = http_with_cookies();
    let r = c
        .get(format!("{}/panel/api/inbounds/list", sim.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.text().await.unwrap(), "");

    let (st, v) = json(
        c.post(format!("{}/login", sim.base_url()))
            .json(&json!({"username": "admin", "password": "nope"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(v["success"], false);

    // JSON login works too; the cookie is scoped to the base path.
    let r = c
        .post(format!("{}/login", sim.base_url()))
        .json(&json!({"username": "admin", "password": "admin-pass"}))
        .send()
        .await
        .unwrap();
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.starts_with("3x-ui=") && cookie.contains("Path=/xpanel/"),
        "{cookie}"
    );
    let v = list(&sim, &c).await;
    assert_eq!(v["obj"].as_array().unwrap().len(), 3);
    assert!(v["obj"][0]["settings"].is_string());

    // 2.x has no clients API, signed in or not.
    let r = c
        .get(format!(
            "{}/panel/api/clients/list/paged?page=1&pageSize=1",
            sim.base_url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    sim.expire_tokens();
    let r = c
        .get(format!("{}/panel/api/inbounds/list", sim.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn add_duplicate_and_traffic_rows() {
    let sim = spawn(SimKind::Xui).await;
    let c = http_with_cookies();
    xui_login(&sim, &c).await;

    let v = add(
        &sim,
        &c,
        1,
        &client("alice", "11111111-1111-4111-8111-111111111111", json!({})),
    )
    .await;
    assert_eq!(v["success"], true, "{v}");
    // Form bodies are accepted as well.
    let bob = client("bob", "22222222-2222-4222-8222-222222222222", json!({}));
    let (_, v) = json(
        c.post(format!("{}/panel/api/inbounds/addClient", sim.base_url()))
            .form(&[("id", "2"), ("settings", settings(&bob).as_str())])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(v["success"], true, "{v}");

    let v = add(
        &sim,
        &c,
        2,
        &client("alice", "33333333-3333-4333-8333-333333333333", json!({})),
    )
    .await;
    assert_eq!(v["success"], false);
    assert!(
        v["msg"]
            .as_str()
            .unwrap()
            .contains("Duplicate email: alice"),
        "{v}"
    );

    let v = add(
        &sim,
        &c,
        1,
        &client(
            "carol",
            "44444444-4444-4444-8444-444444444444",
            json!({"totalGB": "10"}),
        ),
    )
    .await;
    assert_eq!(
        v["success"], false,
        "string totalGB must fail like Go's decoder"
    );

    let u = sim.user("alice").unwrap();
    assert_eq!(u.limit_bytes, Some(10_737_418_240));
    assert_eq!(u.expires_at.unwrap().timestamp_millis(), 1_801_440_000_000);
    assert_eq!(
        (u.max_clients, u.inbound_ids.clone(), u.sub_id.as_str()),
        (Some(2), vec![1], "subalice")
    );

    sim.add_traffic("alice", 3000);
    let v = list(&sim, &c).await;
    let inbound = &v["obj"][0];
    let inner: Value = serde_json::from_str(inbound["settings"].as_str().unwrap()).unwrap();
    assert_eq!(inner["clients"][0]["email"], "alice");
    let stat = &inbound["clientStats"][0];
    assert_eq!(
        (
            stat["up"].as_i64(),
            stat["down"].as_i64(),
            stat["allTime"].as_i64()
        ),
        (Some(1000), Some(2000), Some(3000))
    );

    let (_, v) = json(
        c.post(format!(
            "{}/panel/api/inbounds/1/resetClientTraffic/alice",
            sim.base_url()
        ))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(v["success"], true);
    let (_, v) = json(
        c.get(format!(
            "{}/panel/api/inbounds/getClientTraffics/alice",
            sim.base_url()
        ))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(
        (
            v["obj"]["up"].as_i64(),
            v["obj"]["down"].as_i64(),
            v["obj"]["allTime"].as_i64()
        ),
        (Some(0), Some(0), Some(3000))
    );

    // Unknown email: success with a null obj, as 2.x answers.
    let (st, v) = json(
        c.get(format!(
            "{}/panel/api/inbounds/getClientTraffics/nobody",
            sim.base_url()
        ))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(
        (st, v),
        (200, json!({"success": true, "msg": "", "obj": null}))
    );
}

#[tokio::test]
async fn update_client_replaces_the_whole_client() {
    let sim = spawn(SimKind::Xui).await;
    let c = http_with_cookies();
    xui_login(&sim, &c).await;
    let id = "55555555-5555-4555-8555-555555555555";
    add(&sim, &c, 1, &client("dave", id, json!({}))).await;
    let update = |body: Value| {
        c.post(format!(
            "{}/panel/api/inbounds/updateClient/{id}",
            sim.base_url()
        ))
        .json(&json!({"id": 1, "settings": settings(&body)}))
        .send()
    };

    // A full client with enable flipped is a disable.
    let (_, v) = json(
        update(client("dave", id, json!({"enable": false})))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(v["success"], true, "{v}");
    let u = sim.user("dave").unwrap();
    assert!(!u.enabled);
    assert_eq!(u.limit_bytes, Some(10_737_418_240));
    assert_eq!(sim.requests(SimOp::Disable), 1);

    // A partial body loses everything it leaves out.
    let (_, v) = json(
        update(json!({"id": id, "email": "dave", "enable": true}))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(v["success"], true);
    let u = sim.user("dave").unwrap();
    assert!(u.enabled);
    assert_eq!(
        (u.limit_bytes, u.expires_at, u.max_clients),
        (None, None, None)
    );
    assert_eq!(u.sub_id, "");
    assert_eq!(sim.requests(SimOp::Enable), 1);

    let (_, v) = json(
        update(client("dave", id, json!({"enable": true, "totalGB": 5000})))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(v["success"], true);
    assert_eq!(sim.user("dave").unwrap().limit_bytes, Some(5000));
    assert_eq!(sim.requests(SimOp::Update), 1);

    // Unknown client id: HTTP 200 with success false.
    let (st, v) = json(
        c.post(format!(
            "{}/panel/api/inbounds/updateClient/nope",
            sim.base_url()
        ))
        .json(&json!({"id": 1, "settings": settings(&client("dave", "nope", json!({})))}))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!((st, v["success"].as_bool()), (200, Some(false)));

    let (_, v) = json(
        c.post(format!(
            "{}/panel/api/inbounds/1/delClient/nope",
            sim.base_url()
        ))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(v["success"], false);
    let (_, v) = json(
        c.post(format!(
            "{}/panel/api/inbounds/1/delClient/{id}",
            sim.base_url()
        ))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(v["success"], true);
    assert!(sim.user("dave").is_none());
}

#[tokio::test]
async fn limited_client_row_and_subscription() {
    let sim = spawn(SimKind::Xui).await;
    let c = http_with_cookies();
    xui_login(&sim, &c).await;
    add(
        &sim,
        &c,
        1,
        &client(
            "erin",
            "66666666-6666-4666-8666-666666666666",
            json!({"totalGB": 100}),
        ),
    )
    .await;
    sim.add_traffic("erin", 150);
    let (_, v) = json(
        c.get(format!(
            "{}/panel/api/inbounds/getClientTraffics/erin",
            sim.base_url()
        ))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(
        v["obj"]["enable"], false,
        "a depleted client's traffic row is off"
    );
    assert!(
        sim.user("erin").unwrap().enabled,
        "the admin switch is untouched"
    );

    // The sub server sits outside the base path; no login needed.
    let r = http()
        .get(format!("{}/sub/suberin", sim.root_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["subscription-userinfo"]
        .to_str()
        .unwrap()
        .contains("total=100"));

    let (_, v) = json(
        c.get(format!("{}/panel/api/server/status", sim.base_url()))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(v["obj"]["appVersion"], "2.9.4");
    assert!(v["obj"]["xrayVersion"].is_string());
}
