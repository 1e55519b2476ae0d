//! Passwords of accounts, shared by the pages, the API and the command line: a user changes
//! their own (the current one required; the other sessions end; the API tokens are revoked if
//! asked), and an admin sets a reseller's (all its sessions end). Every change is audited.

use crate::auth::CurrentUser;
use crate::error::{AppError, FieldErrors};
use crate::state::AppState;
use db::audit::{Actor, NewAudit, Origin};
use domain::status::{AuditAction, AuditTarget};

pub struct OwnChange<'a> {
    pub current: &'a str,
    pub new: &'a str,
    /// The repeated new password of a form (`None` from the API).
    pub confirm: Option<&'a str>,
    pub revoke_tokens: bool,
    /// The hash of the session that asks (it stays signed in).
    pub keep_session: Option<&'a str>,
}

/// What a change ended, for the message and the audit row.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Ended {
    pub sessions_ended: u64,
    pub tokens_revoked: u64,
}

pub async fn change_own(
    state: &AppState,
    user: &CurrentUser,
    origin: &Origin,
    req: OwnChange<'_>,
) -> Result<Ended, AppError> {
    let stored = {
        let mut conn = state.db.acquire().await?;
        db::users::by_id(&mut conn, user.id)
            .await?
            .ok_or(AppError::Unauthorized)?
            .password_hash
    };
    let mut f = FieldErrors::new();
    if !crate::password::verify_async(req.current.to_string(), stored).await {
        f.insert("current_password".into(), "account.err.current".into());
    }
    if let Err(key) = crate::password::check_strength_for(req.new, &user.username) {
        f.insert("new_password".into(), key.into());
    } else if req.confirm.is_some_and(|c| c != req.new) {
        f.insert("confirm".into(), "account.err.confirm".into());
    }
    if !f.is_empty() {
        return Err(AppError::Validation(f));
    }
    store(
        &state.db,
        NewPassword {
            user_id: user.id,
            password: req.new,
            keep_session: req.keep_session,
            revoke_tokens: req.revoke_tokens,
            action: AuditAction::PasswordChanged,
            actor: &user.actor(),
            origin,
            meta: serde_json::json!({}),
        },
    )
    .await
}

/// An admin sets the password of a reseller's login; every session of that login ends.
pub async fn set_reseller_password(
    state: &AppState,
    admin: &CurrentUser,
    origin: &Origin,
    reseller_id: i64,
    new: &str,
) -> Result<Ended, AppError> {
    let user = {
        let mut conn = state.db.acquire().await?;
        db::users::by_reseller(&mut conn, reseller_id)
            .await?
            .ok_or(AppError::NotFound)?
    };
    if let Err(key) = crate::password::check_strength_for(new, &user.username) {
        return Err(AppError::field("password", key));
    }
    store(
        &state.db,
        NewPassword {
            user_id: user.id,
            password: new,
            keep_session: None,
            revoke_tokens: false,
            action: AuditAction::PasswordReset,
            actor: &admin.actor(),
            origin,
            meta: serde_json::json!({ "login": user.username, "reseller_id": reseller_id }),
        },
    )
    .await
}

/// A password to store, already checked by the caller (strength, the current one).
pub struct NewPassword<'a> {
    pub user_id: i64,
    pub password: &'a str,
    /// The hash of the session that asks, which stays signed in; every other session ends.
    pub keep_session: Option<&'a str>,
    pub revoke_tokens: bool,
    /// `PasswordChanged` (one's own) or `PasswordReset` (by an admin or the command line).
    pub action: AuditAction,
    pub actor: &'a Actor,
    pub origin: &'a Origin,
    /// What the audit row says besides what ended.
    pub meta: serde_json::Value,
}

/// Hashes and stores a password, ends the sessions (and the API tokens, if asked) and writes the
/// audit row, in one transaction: the one way a password changes, for pages, API and the
/// command line (`vpnmarket admin passwd`).
pub async fn store(db: &db::Db, p: NewPassword<'_>) -> Result<Ended, AppError> {
    let hash = crate::password::hash_async(p.password.to_string()).await?;
    let mut tx = db.begin_write().await?;
    db::users::set_password(&mut tx, p.user_id, &hash).await?;
    let sessions_ended = db::tokens::delete_sessions_of(&mut tx, p.user_id, p.keep_session).await?;
    let tokens_revoked = if p.revoke_tokens {
        db::tokens::revoke_all_api_tokens(&mut tx, p.user_id, chrono::Utc::now().timestamp())
            .await?
    } else {
        0
    };
    let ended = Ended {
        sessions_ended,
        tokens_revoked,
    };
    let mut meta = p.meta;
    if let (Some(m), Ok(serde_json::Value::Object(e))) =
        (meta.as_object_mut(), serde_json::to_value(ended))
    {
        m.extend(e);
    }
    db::audit::record(
        &mut tx,
        NewAudit {
            actor: p.actor,
            origin: p.origin,
            action: p.action,
            target_type: Some(AuditTarget::User),
            target_id: Some(p.user_id),
            reason: None,
            meta,
        },
    )
    .await?;
    tx.commit().await.map_err(db::DbError::from)?;
    Ok(ended)
}
