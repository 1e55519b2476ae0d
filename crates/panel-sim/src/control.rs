//! The `/_sim/` control API: the `Sim` methods over HTTP for the binary, demos and tests that
//! run the simulator out of process. No auth, not counted, never faulted.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::faults::{Fault, SimOp};
use crate::Sim;

pub(crate) fn router() -> Router<Sim> {
    Router::new()
        .route("/_sim", get(info))
        .route("/_sim/users", get(users))
        .route("/_sim/users/{username}", get(user))
        .route("/_sim/counted/{username}", get(counted))
        .route("/_sim/traffic", post(traffic))
        .route("/_sim/traffic/all", post(traffic_all))
        .route("/_sim/faults", post(inject).delete(clear_faults))
        .route("/_sim/expire-tokens", post(expire_tokens))
        .route("/_sim/stats", get(stats).delete(reset_stats))
        .route("/_sim/seed", post(seed))
        .route("/_sim/panel-reset/{username}", post(panel_reset))
        .route("/_sim/panel-delete/{username}", post(panel_delete))
        .route("/_sim/panel-recreate/{username}", post(panel_recreate))
        .route("/_sim/version", post(set_version))
        .route("/_sim/review", post(review))
}

fn bad_request(msg: impl std::fmt::Display) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "error": msg.to_string() })),
    )
        .into_response()
}

fn found(ok: bool) -> Response {
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    };
    (status, Json(json!({ "ok": ok }))).into_response()
}

async fn info(State(sim): State<Sim>) -> Json<Value> {
    Json(json!({
        "kind": sim.kind().to_string(),
        "base_url": sim.base_url(),
        "admin_username": sim.admin_username(),
        "admin_password": sim.admin_password(),
        "api_key": sim.api_key(),
        "version": sim.version(),
    }))
}

async fn users(State(sim): State<Sim>) -> Json<Value> {
    Json(json!(sim.users()))
}

async fn user(State(sim): State<Sim>, Path(username): Path<String>) -> Response {
    match sim.user(&username) {
        Some(u) => Json(json!(u)).into_response(),
        None => found(false),
    }
}

async fn counted(State(sim): State<Sim>, Path(username): Path<String>) -> Json<Value> {
    Json(json!({ "username": username, "bytes": sim.traffic_counted(&username) }))
}

#[derive(Deserialize)]
struct TrafficReq {
    username: String,
    bytes: i64,
}

async fn traffic(State(sim): State<Sim>, Json(req): Json<TrafficReq>) -> Response {
    found(sim.add_traffic(&req.username, req.bytes))
}

#[derive(Deserialize)]
struct TrafficAllReq {
    bytes: i64,
}

async fn traffic_all(State(sim): State<Sim>, Json(req): Json<TrafficAllReq>) -> Json<Value> {
    Json(json!({ "users": sim.add_traffic_all(req.bytes) }))
}

#[derive(Deserialize)]
struct FaultReq {
    #[serde(default)]
    op: Option<String>,
    fault: String,
    #[serde(default)]
    times: Option<u32>,
    #[serde(default)]
    delay_ms: Option<u64>,
}

async fn inject(State(sim): State<Sim>, Json(req): Json<FaultReq>) -> Response {
    let op = match req.op.as_deref().unwrap_or("any").parse::<SimOp>() {
        Ok(op) => op,
        Err(e) => return bad_request(e),
    };
    let fault = match Fault::parse(&req.fault, req.delay_ms) {
        Ok(f) => f,
        Err(e) => return bad_request(e),
    };
    sim.inject(op, fault, req.times);
    Json(json!({ "ok": true })).into_response()
}

async fn clear_faults(State(sim): State<Sim>) -> Json<Value> {
    sim.clear_faults();
    Json(json!({ "ok": true }))
}

async fn expire_tokens(State(sim): State<Sim>) -> Json<Value> {
    sim.expire_tokens();
    Json(json!({ "ok": true }))
}

async fn stats(State(sim): State<Sim>) -> Json<Value> {
    let ops: Map<String, Value> = SimOp::ALL
        .into_iter()
        .filter(|op| *op != SimOp::Any)
        .map(|op| (op.to_string(), json!(sim.requests(op))))
        .collect();
    Json(json!({ "total": sim.total_requests(), "ops": ops, "users": sim.user_count() }))
}

async fn reset_stats(State(sim): State<Sim>) -> Json<Value> {
    sim.reset_request_counts();
    Json(json!({ "ok": true }))
}

#[derive(Deserialize)]
struct SeedReq {
    #[serde(default = "default_prefix")]
    prefix: String,
    count: usize,
    #[serde(default)]
    used_bytes: i64,
    /// The panel admin who owns the seeded users (default: the simulator's own admin).
    #[serde(default)]
    owner: Option<String>,
}

fn default_prefix() -> String {
    "seed_".to_string()
}

async fn seed(State(sim): State<Sim>, Json(req): Json<SeedReq>) -> Json<Value> {
    // Seeding 100k users takes a while; keep it off the async workers.
    let added = tokio::task::spawn_blocking(move || {
        crate::panel_side::seed(
            &sim,
            &req.prefix,
            req.count,
            req.used_bytes,
            req.owner.as_deref(),
        )
    })
    .await
    .unwrap_or(0);
    Json(json!({ "added": added }))
}

async fn panel_reset(State(sim): State<Sim>, Path(username): Path<String>) -> Response {
    found(sim.panel_side_reset(&username))
}

async fn panel_delete(State(sim): State<Sim>, Path(username): Path<String>) -> Response {
    found(sim.panel_side_delete(&username))
}

async fn panel_recreate(State(sim): State<Sim>, Path(username): Path<String>) -> Response {
    found(sim.panel_side_recreate(&username))
}

#[derive(Deserialize)]
struct VersionReq {
    version: String,
}

async fn set_version(State(sim): State<Sim>, Json(req): Json<VersionReq>) -> Json<Value> {
    sim.set_version(&req.version);
    Json(json!({ "ok": true }))
}

async fn review(State(sim): State<Sim>) -> Json<Value> {
    Json(json!({ "ran": sim.run_review() }))
}
