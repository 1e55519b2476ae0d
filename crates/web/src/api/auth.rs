//! Tokens for the API: `POST /api/v1/auth/token` trades a username and password for a
//! time-limited token; named tokens are listed, created and revoked by their owner.

use crate::actions::tokens::{
    create_named_token, revoke_named_token, ApiTokenView, NewTokenRequest, NewTokenResponse,
    TokenRequest, TokenResponse,
};
use crate::api::extract::{ApiJson, ApiPath};
use crate::auth::{ApiUser, RequestOrigin};
use crate::error::{ApiResult, AppError};
use crate::state::AppState;
use crate::views::rfc3339;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use domain::status::TokenScope;

#[utoipa::path(post, path = "/auth/token", tag = "auth", request_body = TokenRequest,
    responses((status = 200, body = TokenResponse), (status = 401, body = crate::error::ErrorBody),
              (status = 429, body = crate::error::ErrorBody)))]
pub async fn issue_token(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    ApiJson(req): ApiJson<TokenRequest>,
) -> ApiResult<Json<TokenResponse>> {
    let user =
        crate::signin::check_credentials(&state, &origin, &req.username, &req.password).await?;
    if crate::two_factor::is_enabled(&state, user.id).await? {
        let code = req
            .code
            .as_deref()
            .filter(|c| !c.trim().is_empty())
            .ok_or(AppError::SecondFactorRequired)?;
        crate::signin::check_second_factor(&state, &origin, &user, code).await?;
    }
    let token = engine::secrets::random_token();
    let expires_at = chrono::Utc::now().timestamp() + state.options.api_token_ttl.as_secs() as i64;
    let mut conn = state.db.acquire().await?;
    db::tokens::create_api_token(
        &mut conn,
        db::tokens::NewApiToken {
            user_id: user.id,
            name: "api sign-in",
            token_hash: &state.keys.hash_token(&token),
            scope: TokenScope::Full,
            expires_at: Some(expires_at),
        },
    )
    .await?;
    Ok(Json(TokenResponse {
        token,
        role: user.role.to_string(),
        expires_at: rfc3339(expires_at),
    }))
}

#[utoipa::path(get, path = "/tokens", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = Vec<ApiTokenView>), (status = 401, body = crate::error::ErrorBody)))]
pub async fn list_tokens(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
) -> ApiResult<Json<Vec<ApiTokenView>>> {
    let mut conn = state.db.acquire().await?;
    let tokens = db::tokens::list_api_tokens(&mut conn, user.id).await?;
    Ok(Json(tokens.into_iter().map(Into::into).collect()))
}

#[utoipa::path(post, path = "/tokens", tag = "auth", security(("bearer" = [])), request_body = NewTokenRequest,
    responses((status = 201, body = NewTokenResponse), (status = 422, body = crate::error::ErrorBody)))]
pub async fn create_token(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    RequestOrigin(origin): RequestOrigin,
    ApiJson(req): ApiJson<NewTokenRequest>,
) -> ApiResult<(StatusCode, Json<NewTokenResponse>)> {
    let created = create_named_token(&state, &user, &origin, &req).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(delete, path = "/tokens/{id}", tag = "auth", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
pub async fn revoke_token(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    RequestOrigin(origin): RequestOrigin,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    revoke_named_token(&state, &user, &origin, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
