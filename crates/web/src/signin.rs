//! Checking a username and password, shared by the sign-in page and `POST /api/v1/auth/token`:
//! the rate limit, Argon2id verification, and the `login_failed` audit row.

use crate::error::AppError;
use crate::state::AppState;
use db::audit::{Actor, NewAudit, Origin};
use domain::status::{ActorType, AuditAction, AuditTarget};

/// The signed-in user's id and role on success.
pub async fn check_credentials(
    state: &AppState,
    origin: &Origin,
    username: &str,
    password: &str,
) -> Result<db::users::User, AppError> {
    let ip = origin.ip.clone().unwrap_or_default();
    if state.limiter.is_blocked(&ip, username) {
        return Err(AppError::RateLimited);
    }
    let mut conn = state.db.acquire().await?;
    let user = db::users::by_username(&mut conn, username.trim()).await?;
    let stored = user
        .as_ref()
        .map(|u| u.password_hash.clone())
        .unwrap_or_else(|| crate::password::dummy_hash().to_string());
    let ok = crate::password::verify_async(password.to_string(), stored).await;
    match user {
        Some(u) if ok && u.is_active => {
            state.limiter.record_success(username);
            Ok(u)
        }
        _ => {
            state.limiter.record_failure(&ip, username);
            db::audit::record(
                &mut conn,
                NewAudit {
                    actor: &Actor {
                        kind: ActorType::Anonymous,
                        id: None,
                        name: username.chars().take(64).collect(),
                    },
                    origin,
                    action: AuditAction::LoginFailed,
                    target_type: Some(AuditTarget::User),
                    target_id: None,
                    reason: None,
                    meta: serde_json::json!({ "username": username.chars().take(64).collect::<String>() }),
                },
            )
            .await?;
            Err(AppError::InvalidCredentials)
        }
    }
}
