//! API tokens, shared by the pages and the API: the token views, create a named token (shown once)
//! and revoke one.

use crate::error::AppError;
use crate::state::AppState;
use crate::views::rfc3339;
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
