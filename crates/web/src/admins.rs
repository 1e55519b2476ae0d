//! Admin accounts, shared by the admins page and the `vpnmarket admin` commands: create one,
//! disable one (never the last active admin; its sessions and tokens stop working at once) and
//! enable one again. Each change is one transaction with its audit row.

use crate::error::AppError;
use db::audit::{Actor, NewAudit, Origin};
use domain::status::{AuditAction, AuditTarget, Role};

/// One row of the admins page.
pub struct AdminRow {
    pub user: db::users::User,
    pub two_factor: bool,
}

/// Every admin, by name, with whether each signs in with a second factor.
pub async fn list(db: &db::Db) -> Result<Vec<AdminRow>, AppError> {
    let mut conn = db.acquire().await?;
    let users = db::users::admins(&mut conn).await?;
    let with_factor = db::two_factor::enabled_among(&mut conn, Role::Admin).await?;
    Ok(users
        .into_iter()
        .map(|user| AdminRow {
            two_factor: with_factor.contains(&user.id),
            user,
        })
        .collect())
}

/// Creates an admin; a bad login or a weak password is a field error, a taken login too.
pub async fn create(
    db: &db::Db,
    username: &str,
    password: &str,
    actor: &Actor,
    origin: &Origin,
) -> Result<i64, AppError> {
    let username =
        domain::login::validate_new(username).map_err(|key| AppError::field("username", key))?;
    crate::password::check_strength_for(password, &username)
        .map_err(|key| AppError::field("password", key))?;
    let hash = crate::password::hash_async(password.to_string()).await?;
    let mut tx = db.begin_write().await?;
    if db::users::by_username(&mut tx, &username).await?.is_some() {
        return Err(AppError::field("username", "login.err.taken"));
    }
    let id = db::users::create(&mut tx, &username, &hash, Role::Admin, None).await?;
    db::audit::record(
        &mut tx,
        NewAudit {
            actor,
            origin,
            action: AuditAction::AdminCreated,
            target_type: Some(AuditTarget::User),
            target_id: Some(id),
            reason: None,
            meta: serde_json::json!({ "username": username }),
        },
    )
    .await?;
    tx.commit().await.map_err(db::DbError::from)?;
    Ok(id)
}

/// Disables (`active: false`) or re-enables an admin. Disabling ends its sessions; it is refused
/// for the last active admin (409 `last_admin`) and for the acting admin itself (409
/// `own_account`: another admin, or the command line, must do it).
pub async fn set_active(
    db: &db::Db,
    id: i64,
    active: bool,
    actor: &Actor,
    origin: &Origin,
) -> Result<(), AppError> {
    let mut tx = db.begin_write().await?;
    let user = db::users::by_id(&mut tx, id)
        .await?
        .filter(|u| u.role == Role::Admin)
        .ok_or(AppError::NotFound)?;
    if user.is_active == active {
        return Ok(());
    }
    let mut ended = 0;
    if !active {
        if actor.id == Some(id) {
            return Err(AppError::conflict(
                "own_account",
                "an admin cannot disable its own account",
            ));
        }
        let active_admins = db::users::lock_active_admins(&mut tx, db.backend()).await?;
        if active_admins.iter().all(|&a| a == id) {
            return Err(AppError::conflict(
                "last_admin",
                "this is the last active admin; create or enable another first",
            ));
        }
        ended = db::tokens::delete_sessions_of(&mut tx, id, None).await?;
    }
    db::users::set_active(&mut tx, id, active).await?;
    db::audit::record(
        &mut tx,
        NewAudit {
            actor,
            origin,
            action: if active {
                AuditAction::AdminEnabled
            } else {
                AuditAction::AdminDisabled
            },
            target_type: Some(AuditTarget::User),
            target_id: Some(id),
            reason: None,
            meta: serde_json::json!({ "login": user.username, "sessions_ended": ended }),
        },
    )
    .await?;
    tx.commit().await.map_err(db::DbError::from)?;
    Ok(())
}
