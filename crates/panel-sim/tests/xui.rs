//! 3x-ui 2.x simulator over real sockets: hidden API when signed out, HTTP 200 failures,
//! full-replace updateClient, traffic rows and the separate subscription path.

mod common;

use common::{http, signed_in, Api};
use panel_sim::{spawn, SimKind, SimOp};
use serde_json::{json, Value};

const INBOUNDS: &str = "/panel/api/inbounds";

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

async fn add(api: &Api, inbound: i64, cl: &Value) -> Value {
    let (st, v) = api
        .post_json(
            &format!("{INBOUNDS}/addClient"),
            json!({"id": inbound, "settings": settings(cl)}),
        )
        .await;
    assert_eq!(st, 200);
    v
}

async fn list(api: &Api) -> Value {
    let (st, v) = api.get(&format!("{INBOUNDS}/list")).await;
    assert_eq!(st, 200);
    assert_eq!(v["success"], true);
    v
}

#[tokio::test]
async fn signed_out_is_404_and_login_failure_is_200() {
    let sim = spawn(SimKind::Xui).await;
    assert!(sim.base_url().ends_with("/xpanel"));
    let api = Api::signed_out(&sim);
    let r = api
        .request(reqwest::Method::GET, &format!("{INBOUNDS}/list"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.text().await.unwrap(), "");

    let (st, v) = api
        .post_json("/login", json!({"username": "admin", "password": "nope"}))
        .await;
    assert_eq!(st, 200);
    assert_eq!(v["success"], false);

    // JSON login works too; the cookie is scoped to the base path.
    let r = api
        .c
        .post(format!("{}/login", api.base))
        .json(&json!({"username": "admin", "password": "admin-pass"}))
        .send()
        .await
        .unwrap();
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.starts_with("3x-ui=") && cookie.contains("Path=/xpanel/"),
        "{cookie}"
    );
    let v = list(&api).await;
    assert_eq!(v["obj"].as_array().unwrap().len(), 3);
    assert!(v["obj"][0]["settings"].is_string());

    // 2.x has no clients API, signed in or not.
    let (st, _) = api
        .get("/panel/api/clients/list/paged?page=1&pageSize=1")
        .await;
    assert_eq!(st, 404);

    sim.expire_tokens();
    let (st, _) = api.get(&format!("{INBOUNDS}/list")).await;
    assert_eq!(st, 404);
}

#[tokio::test]
async fn add_duplicate_and_traffic_rows() {
    let (sim, api) = signed_in(SimKind::Xui).await;

    let v = add(
        &api,
        1,
        &client("alice", "11111111-1111-4111-8111-111111111111", json!({})),
    )
    .await;
    assert_eq!(v["success"], true, "{v}");
    // Form bodies are accepted as well.
    let bob = client("bob", "22222222-2222-4222-8222-222222222222", json!({}));
    let r = api
        .request(reqwest::Method::POST, &format!("{INBOUNDS}/addClient"))
        .form(&[("id", "2"), ("settings", settings(&bob).as_str())])
        .send()
        .await
        .unwrap();
    let (_, v) = common::json(r).await;
    assert_eq!(v["success"], true, "{v}");

    let v = add(
        &api,
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
        &api,
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
    let v = list(&api).await;
    let inbound = &v["obj"][0];
    let inner: Value = serde_json::from_str(inbound["settings"].as_str().unwrap()).unwrap();
    assert_eq!(inner["clients"][0]["email"], "alice");
    let traffic = |stat: &Value| {
        (
            stat["up"].as_i64(),
            stat["down"].as_i64(),
            stat["allTime"].as_i64(),
        )
    };
    assert_eq!(
        traffic(&inbound["clientStats"][0]),
        (Some(1000), Some(2000), Some(3000))
    );

    let (_, v) = api
        .post(&format!("{INBOUNDS}/1/resetClientTraffic/alice"))
        .await;
    assert_eq!(v["success"], true);
    let (_, v) = api
        .get(&format!("{INBOUNDS}/getClientTraffics/alice"))
        .await;
    assert_eq!(traffic(&v["obj"]), (Some(0), Some(0), Some(3000)));

    // Unknown email: success with a null obj, as 2.x answers.
    let (st, v) = api
        .get(&format!("{INBOUNDS}/getClientTraffics/nobody"))
        .await;
    assert_eq!(
        (st, v),
        (200, json!({"success": true, "msg": "", "obj": null}))
    );
}

#[tokio::test]
async fn update_client_replaces_the_whole_client() {
    let (sim, api) = signed_in(SimKind::Xui).await;
    let id = "55555555-5555-4555-8555-555555555555";
    add(&api, 1, &client("dave", id, json!({}))).await;
    let api = &api;
    let update = |client_id: &str, body: Value| {
        let path = format!("{INBOUNDS}/updateClient/{client_id}");
        let body = json!({"id": 1, "settings": settings(&body)});
        async move { api.post_json(&path, body).await }
    };

    // A full client with enable flipped is a disable.
    let (_, v) = update(id, client("dave", id, json!({"enable": false}))).await;
    assert_eq!(v["success"], true, "{v}");
    let u = sim.user("dave").unwrap();
    assert!(!u.enabled);
    assert_eq!(u.limit_bytes, Some(10_737_418_240));
    assert_eq!(sim.requests(SimOp::Disable), 1);

    // A partial body loses everything it leaves out.
    let (_, v) = update(id, json!({"id": id, "email": "dave", "enable": true})).await;
    assert_eq!(v["success"], true);
    let u = sim.user("dave").unwrap();
    assert!(u.enabled);
    assert_eq!(
        (u.limit_bytes, u.expires_at, u.max_clients),
        (None, None, None)
    );
    assert_eq!(u.sub_id, "");
    assert_eq!(sim.requests(SimOp::Enable), 1);

    let (_, v) = update(
        id,
        client("dave", id, json!({"enable": true, "totalGB": 5000})),
    )
    .await;
    assert_eq!(v["success"], true);
    assert_eq!(sim.user("dave").unwrap().limit_bytes, Some(5000));
    assert_eq!(sim.requests(SimOp::Update), 1);

    // Unknown client id: HTTP 200 with success false.
    let (st, v) = update("nope", client("dave", "nope", json!({}))).await;
    assert_eq!((st, v["success"].as_bool()), (200, Some(false)));

    let (_, v) = api.post(&format!("{INBOUNDS}/1/delClient/nope")).await;
    assert_eq!(v["success"], false);
    let (_, v) = api.post(&format!("{INBOUNDS}/1/delClient/{id}")).await;
    assert_eq!(v["success"], true);
    assert!(sim.user("dave").is_none());
}

#[tokio::test]
async fn limited_client_row_and_subscription() {
    let (sim, api) = signed_in(SimKind::Xui).await;
    add(
        &api,
        1,
        &client(
            "erin",
            "66666666-6666-4666-8666-666666666666",
            json!({"totalGB": 100}),
        ),
    )
    .await;
    sim.add_traffic("erin", 150);
    let (_, v) = api.get(&format!("{INBOUNDS}/getClientTraffics/erin")).await;
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

    let (_, v) = api.get("/panel/api/server/status").await;
    assert_eq!(v["obj"]["appVersion"], "2.9.4");
    assert!(v["obj"]["xrayVersion"].is_string());
}
