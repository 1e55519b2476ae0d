//! API tokens, shared by the pages and the API: the token views, create a named token (shown once)
//! and revoke one.

use crate::error::AppError;
use crate::state::AppState;
use crate::views::rfc3339;
use domain::status::{AuditAction, AuditTarget, TokenScope};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
pub struct TokenRequest {
    pub username: String,
    pub password: String,
    /// For an account with two-factor sign-in: the authenticator's current code, or one of
    /// its recovery codes (spent by this call).
    #[serde(default)]
    pub code: Option<String>,
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
    /// `full`, or `read_only` (GET and HEAD only).
    #[schema(value_type = String)]
    pub scope: TokenScope,
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
            scope: t.scope,
        }
    }
}

#[derive(Deserialize, ToSchema)]
pub struct NewTokenRequest {
    pub name: String,
    /// `full` (the default) or `read_only`: a read-only token may only GET (403 `token_read_only`).
    #[serde(default = "full_scope")]
    #[schema(value_type = Option<String>)]
    pub scope: TokenScope,
    /// Days until the token stops working (1 to 3650); none for a token that lasts until revoked.
    #[serde(default)]
    pub expires_in_days: Option<i64>,
}

fn full_scope() -> TokenScope {
    TokenScope::Full
}

/// The longest a named token may be given, in days (ten years).
pub const MAX_EXPIRY_DAYS: i64 = 3650;

#[derive(Serialize, ToSchema)]
pub struct NewTokenResponse {
    pub id: i64,
    pub name: String,
    /// Shown once; only its hash is stored.
    pub token: String,
}

/// Creates a named token for bots and shops, full or read-only, lasting until revoked or for
/// the days asked.
pub async fn create_named_token(
    state: &AppState,
    user: &crate::auth::CurrentUser,
    origin: &db::audit::Origin,
    req: &NewTokenRequest,
) -> Result<NewTokenResponse, AppError> {
    let name = req.name.trim();
    if name.is_empty() || name.chars().count() > 64 {
        return Err(AppError::field("name", "err.token_name"));
    }
    let expires_at = match req.expires_in_days {
        None => None,
        Some(days @ 1..=MAX_EXPIRY_DAYS) => Some(chrono::Utc::now().timestamp() + days * 86_400),
        Some(_) => return Err(AppError::field("expires_in_days", "err.token_expiry")),
    };
    let token = engine::secrets::random_token();
    let mut tx = state.db.begin_write().await?;
    let id = db::tokens::create_api_token(
        &mut tx,
        db::tokens::NewApiToken {
            user_id: user.id,
            name,
            token_hash: &state.keys.hash_token(&token),
            scope: req.scope,
            expires_at,
        },
    )
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
            meta: serde_json::json!({
                "name": name,
                "scope": req.scope,
                "expires_at": expires_at,
            }),
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
