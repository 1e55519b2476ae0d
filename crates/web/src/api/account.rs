//! Passwords through the API: `POST /account/password` changes the caller's own (the current
//! one required), `POST /resellers/{id}/password` lets an admin set a reseller's.

use crate::api::extract::{ApiJson, ApiPath};
use crate::auth::{ApiAdmin, ApiUser, RequestOrigin};
use crate::error::ApiResult;
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
pub struct ChangePassword {
    pub current_password: String,
    pub new_password: String,
    /// Also revoke every API token of the account (the one calling included).
    #[serde(default)]
    pub revoke_tokens: bool,
}

#[derive(Serialize, ToSchema)]
pub struct PasswordChanged {
    /// Web sessions that were signed out.
    pub sessions_ended: u64,
    pub tokens_revoked: u64,
}

impl From<crate::accounts::Ended> for PasswordChanged {
    fn from(e: crate::accounts::Ended) -> Self {
        PasswordChanged {
            sessions_ended: e.sessions_ended,
            tokens_revoked: e.tokens_revoked,
        }
    }
}

#[utoipa::path(post, path = "/account/password", tag = "auth", security(("bearer" = [])),
    request_body = ChangePassword,
    responses((status = 200, body = PasswordChanged), (status = 401, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)))]
pub async fn change_password(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    RequestOrigin(origin): RequestOrigin,
    ApiJson(req): ApiJson<ChangePassword>,
) -> ApiResult<Json<PasswordChanged>> {
    let ended = crate::accounts::change_own(
        &state,
        &user,
        &origin,
        crate::accounts::OwnChange {
            current: &req.current_password,
            new: &req.new_password,
            confirm: None,
            revoke_tokens: req.revoke_tokens,
            keep_session: None,
        },
    )
    .await?;
    Ok(Json(ended.into()))
}

#[derive(Deserialize, ToSchema)]
pub struct SetPassword {
    pub password: String,
}

#[utoipa::path(post, path = "/resellers/{id}/password", tag = "admin", operation_id = "set_reseller_password",
    security(("bearer" = [])), params(("id" = i64, Path)), request_body = SetPassword,
    responses((status = 200, body = PasswordChanged), (status = 404, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)))]
pub async fn set_reseller_password(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    RequestOrigin(origin): RequestOrigin,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<SetPassword>,
) -> ApiResult<Json<PasswordChanged>> {
    let ended =
        crate::accounts::set_reseller_password(&state, &admin, &origin, id, &req.password).await?;
    Ok(Json(ended.into()))
}
