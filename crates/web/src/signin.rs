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
    let mut conn = state.db.acquire().await?;
    let counts = not_limited(state, &mut conn, &login, &ip).await?;
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
            refuse(state, &mut conn, origin, &login, &ip, counts, false).await?;
            Err(AppError::InvalidCredentials)
        }
    }
}

/// The second step of a sign-in whose password was right: an authenticator code or a recovery
/// code of `user`. A wrong code is a failed sign-in like a wrong password: counted for the
/// limiter (so codes cannot be guessed faster than passwords) and audited.
pub async fn check_second_factor(
    state: &AppState,
    origin: &Origin,
    user: &db::users::User,
    code: &str,
) -> Result<crate::two_factor::Verified, AppError> {
    let login = domain::login::normalize(&user.username).unwrap_or_else(|| user.username.clone());
    let ip = origin.ip.clone().unwrap_or_default();
    let mut conn = state.db.acquire().await?;
    let counts = not_limited(state, &mut conn, &login, &ip).await?;
    match crate::two_factor::spend_code(state, &mut conn, user, code).await? {
        Some(verified) => {
            if verified == crate::two_factor::Verified::RecoveryCode {
                db::audit::record(
                    &mut conn,
                    NewAudit {
                        actor: &Actor::user(user.role, user.id, &user.username),
                        origin,
                        action: AuditAction::RecoveryCodeUsed,
                        target_type: Some(AuditTarget::User),
                        target_id: Some(user.id),
                        reason: None,
                        meta: serde_json::json!({ "ip": ip }),
                    },
                )
                .await?;
            }
            Ok(verified)
        }
        None => {
            refuse(state, &mut conn, origin, &login, &ip, counts, true).await?;
            Err(AppError::InvalidCredentials)
        }
    }
}

/// The counts of earlier failures, or `RateLimited` while they ask this attempt to wait.
async fn not_limited(
    state: &AppState,
    conn: &mut db::Conn,
    login: &str,
    ip: &str,
) -> Result<db::login_failures::Counts, AppError> {
    let now = chrono::Utc::now().timestamp();
    let counts = db::login_failures::counts(conn, login, ip, state.limiter.since(now)).await?;
    if state.limiter.wait(&counts, now).is_some() {
        return Err(AppError::RateLimited);
    }
    Ok(counts)
}

/// Records a failed attempt for the limiter and as a `login_failed` audit row naming the IP.
async fn refuse(
    state: &AppState,
    conn: &mut db::Conn,
    origin: &Origin,
    login: &str,
    ip: &str,
    counts: db::login_failures::Counts,
    second_factor: bool,
) -> Result<(), AppError> {
    let now = chrono::Utc::now().timestamp();
    db::login_failures::record(conn, login, ip, now, state.limiter.since(now)).await?;
    db::audit::record(
        conn,
        NewAudit {
            actor: &Actor {
                kind: ActorType::Anonymous,
                id: None,
                name: login.to_string(),
            },
            origin,
            action: AuditAction::LoginFailed,
            target_type: Some(AuditTarget::User),
            target_id: None,
            reason: None,
            meta: serde_json::json!({ "username": login, "ip": ip,
                "failures_from_ip": counts.pair + 1, "second_factor": second_factor }),
        },
    )
    .await?;
    Ok(())
}
