//! Checking a username and password, shared by the sign-in page and `POST /api/v1/auth/token`:
//! the login's normal form, the rate limit, Argon2id verification, and the `login_failed` audit
//! row. The login is normalised once (`domain::login::normalize`) and that one form is what the
//! limiter counts, the lookup finds and the audit row names; a login over 64 characters is
//! refused before anything is stored or counted.

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
    let login = domain::login::normalize(username)
        .ok_or_else(|| AppError::field("username", "login.err.too_long"))?;
    // No login has control characters (NUL would not even reach PostgreSQL): refused unstored.
    if login.chars().any(char::is_control) {
        return Err(AppError::field("username", "login.err.chars"));
    }
    if password.len() > 1024 {
        return Err(AppError::field("password", "err.password_long"));
    }
    let ip = origin.ip.clone().unwrap_or_default();
    let now = chrono::Utc::now().timestamp();
    let mut conn = state.db.acquire().await?;
    let counts =
        db::login_failures::counts(&mut conn, &login, &ip, state.limiter.since(now)).await?;
    if state.limiter.wait(&counts, now).is_some() {
        return Err(AppError::RateLimited);
    }
    let user = db::users::by_username(&mut conn, &login).await?;
    let stored = user
        .as_ref()
        .map(|u| u.password_hash.clone())
        .unwrap_or_else(|| crate::password::dummy_hash().to_string());
    let ok = crate::password::verify_async(password.to_string(), stored).await;
    match user {
        Some(u) if ok && u.is_active => {
            if counts.pair > 0 {
                db::login_failures::clear_pair(&mut conn, &login, &ip).await?;
            }
            Ok(u)
        }
        _ => {
            let now = chrono::Utc::now().timestamp();
            db::login_failures::record(&mut conn, &login, &ip, now, state.limiter.since(now))
                .await?;
            db::audit::record(
                &mut conn,
                NewAudit {
                    actor: &Actor {
                        kind: ActorType::Anonymous,
                        id: None,
                        name: login.clone(),
                    },
                    origin,
                    action: AuditAction::LoginFailed,
                    target_type: Some(AuditTarget::User),
                    target_id: None,
                    reason: None,
                    meta: serde_json::json!({ "username": login, "ip": ip,
                        "failures_from_ip": counts.pair + 1 }),
                },
            )
            .await?;
            Err(AppError::InvalidCredentials)
        }
    }
}
