//! Tokens for the API: `POST /api/v1/auth/token` trades a username and password for a
//! time-limited token; named tokens are listed, created and revoked by their owner.

use crate::api::extract::{ApiJson, ApiPath};
use crate::auth::{ApiUser, RequestOrigin};
use crate::error::{ApiResult, AppError};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use domain::status::{AuditAction, AuditTarget};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
pub struct TokenRequest {
    pub username: String,
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct TokenResponse {
    pub token: String,
    /// `admin` or `reseller`.
    pub role: String,
    pub expires_at: String,
}

pub use crate::views::rfc3339;

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
    let token = engine::secrets::random_token();
    let expires_at = chrono::Utc::now().timestamp() + state.options.api_token_ttl.as_secs() as i64;
    let mut conn = state.db.acquire().await?;
    db::tokens::create_api_token(
        &mut conn,
        user.id,
        "api sign-in",
        &state.keys.hash_token(&token),
        Some(expires_at),
    )
    .await?;
    Ok(Json(TokenResponse {
        token,
        role: user.role.to_string(),
        expires_at: rfc3339(expires_at),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct ApiTokenView {
    pub id: i64,
    pub name: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub last_used_at: Option<String>,
    pub revoked: bool,
}

impl From<db::tokens::ApiToken> for ApiTokenView {
    fn from(t: db::tokens::ApiToken) -> Self {
        ApiTokenView {
            id: t.id,
            name: t.name,
            created_at: rfc3339(t.created_at),
            expires_at: t.expires_at.map(rfc3339),
            last_used_at: t.last_used_at.map(rfc3339),
            revoked: t.revoked_at.is_some(),
        }
    }
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

#[derive(Deserialize, ToSchema)]
pub struct NewTokenRequest {
    pub name: String,
}

#[derive(Serialize, ToSchema)]
pub struct NewTokenResponse {
    pub id: i64,
    pub name: String,
    /// Shown once; only its hash is stored.
    pub token: String,
}

/// Creates a named token with no expiry, for bots and shops; revocable.
pub async fn create_named_token(
    state: &AppState,
    user: &crate::auth::CurrentUser,
    origin: &db::audit::Origin,
    name: &str,
) -> Result<NewTokenResponse, AppError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 64 {
        return Err(AppError::field("name", "err.token_name"));
    }
    let token = engine::secrets::random_token();
    let mut tx = state.db.begin_write().await?;
    let id =
        db::tokens::create_api_token(&mut tx, user.id, name, &state.keys.hash_token(&token), None)
            .await?;
    db::audit::record(
        &mut tx,
        db::audit::NewAudit {
            actor: &user.actor(),
            origin,
            action: AuditAction::ApiTokenCreated,
            target_type: Some(AuditTarget::ApiToken),
            target_id: Some(id),
            reason: None,
            meta: serde_json::json!({ "name": name }),
        },
    )
    .await?;
    tx.commit().await.map_err(db::DbError::from)?;
    Ok(NewTokenResponse {
        id,
        name: name.to_string(),
        token,
    })
}

pub async fn revoke_named_token(
    state: &AppState,
    user: &crate::auth::CurrentUser,
    origin: &db::audit::Origin,
    id: i64,
) -> Result<(), AppError> {
    let mut tx = state.db.begin_write().await?;
    if !db::tokens::revoke_api_token(&mut tx, user.id, id).await? {
        return Err(AppError::NotFound);
    }
    db::audit::record(
        &mut tx,
        db::audit::NewAudit {
            actor: &user.actor(),
            origin,
            action: AuditAction::ApiTokenRevoked,
            target_type: Some(AuditTarget::ApiToken),
            target_id: Some(id),
            reason: None,
            meta: serde_json::json!({}),
        },
    )
    .await?;
    tx.commit().await.map_err(db::DbError::from)?;
    Ok(())
}

#[utoipa::path(post, path = "/tokens", tag = "auth", security(("bearer" = [])), request_body = NewTokenRequest,
    responses((status = 201, body = NewTokenResponse), (status = 422, body = crate::error::ErrorBody)))]
pub async fn create_token(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    RequestOrigin(origin): RequestOrigin,
    ApiJson(req): ApiJson<NewTokenRequest>,
) -> ApiResult<(StatusCode, Json<NewTokenResponse>)> {
    let created = create_named_token(&state, &user, &origin, &req.name).await?;
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
