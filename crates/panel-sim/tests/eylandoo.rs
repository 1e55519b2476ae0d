//! Eylandoo simulator over real sockets: static API key, GB-float limits, the flipping toggle,
//! relative subscription URLs and partial updates.

mod common;

use common::{sim_with_users, Api};
use panel_sim::{spawn, SimKind, SimOp};
use reqwest::Method;
use serde_json::json;

const GIB: i64 = 1024 * 1024 * 1024;

#[tokio::test]
async fn api_key_create_get_list() {
    let sim = spawn(SimKind::Eylandoo).await;
    let (st, _) = Api::signed_out(&sim).get("/api/v1/users/list_all").await;
    assert_eq!(st, 401);
    let wrong_key = Api::signed_out(&sim)
        .request(Method::GET, "/api/v1/users/list_all")
        .header("X-API-KEY", "wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_key.status(), 401);

    let api = Api::signed_in(&sim).await;
    let (st, v) = api
        .post_json(
            "/api/v1/users",
            json!({"username": "resell_8_cfg_52", "activation_type": "fixed_date", "max_clients": 2,
                   "data_limit": 10.5, "data_limit_unit": "GB", "expiry_date_str": "2027-12-31", "nodes": [2]}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    assert_eq!(v["status"], "success");
    assert_eq!(v["data"]["users"][0]["username"], "resell_8_cfg_52");
    assert_eq!(v["data"]["users"][0]["expiry_date"], "2027-12-31");

    let u = sim.user("resell_8_cfg_52").unwrap();
    assert_eq!(u.limit_bytes, Some(10 * GIB + GIB / 2));
    assert_eq!((u.max_clients, u.node_ids.clone()), (Some(2), vec![2]));

    sim.add_traffic("resell_8_cfg_52", 1234);
    let (_, v) = api.get("/api/v1/users/resell_8_cfg_52").await;
    let d = &v["data"];
    assert_eq!(
        (d["status"].as_str(), d["data_used"].as_i64()),
        (Some("active"), Some(1234))
    );
    assert_eq!(d["data_limit"], 10 * GIB + GIB / 2);
    assert_eq!(d["expiry_date"], "2027-12-31");

    let (_, v) = api.get("/api/v1/users/list_all").await;
    assert_eq!(v["data"]["users"].as_array().unwrap().len(), 1);

    let (_, v) = api.get("/api/v1/nodes").await;
    assert_eq!(v["data"]["nodes"][0]["ip_address"], "10.0.0.1");

    let (st, _) = api.get("/api/v1/users/ghost").await;
    assert_eq!(st, 404);
}

#[tokio::test]
async fn toggle_flips_and_counts_by_result() {
    let sim = sim_with_users(SimKind::Eylandoo, "e", 1, 0).await;
    let api = Api::signed_in(&sim).await;
    let (_, v) = api.post("/api/v1/users/e0/toggle").await;
    assert_eq!(
        v,
        json!({"status": "success", "data": {"username": "e0", "new_status": "disabled"}})
    );
    assert!(!sim.user("e0").unwrap().enabled);
    let (_, v) = api.post("/api/v1/users/e0/toggle").await;
    assert_eq!(v["data"]["new_status"], "active");
    assert_eq!(
        (sim.requests(SimOp::Disable), sim.requests(SimOp::Enable)),
        (1, 1)
    );
}

#[tokio::test]
async fn update_reset_sub_delete() {
    let sim = sim_with_users(SimKind::Eylandoo, "e", 1, 500).await;
    let api = Api::signed_in(&sim).await;

    let (st, _) = api
        .put(
            "/api/v1/users/e0",
            json!({"data_limit": 2, "data_limit_unit": "GB", "max_clients": 3}),
        )
        .await;
    assert_eq!(st, 200);
    assert_eq!(sim.user("e0").unwrap().limit_bytes, Some(2 * GIB));
    api.put("/api/v1/users/e0", json!({"data_limit": null}))
        .await;
    let u = sim.user("e0").unwrap();
    assert_eq!((u.limit_bytes, u.max_clients), (None, Some(3)));

    let (_, v) = api.post("/api/v1/users/e0/reset_traffic").await;
    assert_eq!(v["status"], "success");
    assert_eq!(sim.user("e0").unwrap().used_bytes, 0);

    let (_, v) = api.get("/api/v1/users/e0/sub").await;
    assert_eq!(
        v,
        json!({"subResponse": {"sub_url": "/sub/e0", "success": true}})
    );
    let r = api
        .c
        .get(format!("{}/sub/e0", api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let (st, _) = api.delete("/api/v1/users/e0").await;
    assert_eq!(st, 200);
    assert!(sim.users().is_empty());
}
