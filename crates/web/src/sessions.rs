//! A signed-in user's own web sessions (issue 14): the list with sign-in time, last use, IP and
//! browser; ending one of them or all but the current one, each audited. A session ends by itself
//! after `WebOptions::session_idle` without a request, and at its absolute expiry
//! (`session_ttl`) whatever its use.

use crate::auth::{idle_cutoff, CurrentUser};
use crate::error::AppError;
use crate::state::AppState;
use db::audit::{NewAudit, Origin};
use domain::status::{AuditAction, AuditTarget};

/// One row of the sessions page.
pub struct SessionRow {
    pub id: i64,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub ip: Option<String>,
    pub browser: Option<String>,
    /// The session this request came with.
    pub current: bool,
}

pub async fn list(
    state: &AppState,
    user: &CurrentUser,
    current_hash: Option<&str>,
) -> Result<Vec<SessionRow>, AppError> {
    let now = chrono::Utc::now().timestamp();
    let mut conn = state.db.acquire().await?;
    let rows = db::tokens::sessions_of(&mut conn, user.id, now, idle_cutoff(state, now)).await?;
    Ok(rows
        .into_iter()
        .map(|s| SessionRow {
            id: s.id,
            created_at: s.created_at,
            last_seen_at: s.active_at(),
            current: current_hash == Some(s.token_hash.as_str()),
            browser: s.user_agent.as_deref().and_then(browser_of),
            ip: s.ip,
        })
        .collect())
}

/// Ends one of the user's own sessions; another user's id is not found.
pub async fn end_one(
    state: &AppState,
    user: &CurrentUser,
    origin: &Origin,
    id: i64,
) -> Result<(), AppError> {
    let mut tx = state.db.begin_write().await?;
    if !db::tokens::delete_session_of(&mut tx, user.id, id).await? {
        return Err(AppError::NotFound);
    }
    audit(
        &mut tx,
        user,
        origin,
        serde_json::json!({ "session_id": id }),
    )
    .await?;
    tx.commit().await.map_err(db::DbError::from)?;
    Ok(())
}

/// Ends every session of the user but the one with hash `keep`; how many ended.
pub async fn end_others(
    state: &AppState,
    user: &CurrentUser,
    origin: &Origin,
    keep: &str,
) -> Result<u64, AppError> {
    let mut tx = state.db.begin_write().await?;
    let ended = db::tokens::delete_sessions_of(&mut tx, user.id, Some(keep)).await?;
    audit(
        &mut tx,
        user,
        origin,
        serde_json::json!({ "others_ended": ended }),
    )
    .await?;
    tx.commit().await.map_err(db::DbError::from)?;
    Ok(ended)
}

async fn audit(
    tx: &mut db::Conn,
    user: &CurrentUser,
    origin: &Origin,
    meta: serde_json::Value,
) -> Result<(), AppError> {
    db::audit::record(
        tx,
        NewAudit {
            actor: &user.actor(),
            origin,
            action: AuditAction::SessionEnded,
            target_type: Some(AuditTarget::User),
            target_id: Some(user.id),
            reason: None,
            meta,
        },
    )
    .await?;
    Ok(())
}

/// "Chrome on Android" from a User-Agent header, for a person to recognise their device; None
/// when neither part is known (the raw header is not shown: it is long and client-controlled).
pub fn browser_of(ua: &str) -> Option<String> {
    // Order matters: Edge and Opera also say "Chrome", Chrome also says "Safari".
    const BROWSERS: &[(&str, &str)] = &[
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
    ];
    const SYSTEMS: &[(&str, &str)] = &[
        ("Android", "Android"),
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("Linux", "Linux"),
    ];
    let find = |table: &[(&str, &'static str)]| {
        table
            .iter()
            .find(|(needle, _)| ua.contains(needle))
            .map(|(_, name)| *name)
    };
    match (find(BROWSERS), find(SYSTEMS)) {
        (Some(b), Some(s)) => Some(format!("{b} · {s}")),
        (Some(one), None) | (None, Some(one)) => Some(one.to_string()),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::browser_of;

    #[test]
    fn a_user_agent_reads_as_browser_and_system() {
        let android = "Mozilla/5.0 (Linux; Android 14; SM-A546E) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36";
        assert_eq!(browser_of(android).as_deref(), Some("Chrome · Android"));
        let edge = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0";
        assert_eq!(browser_of(edge).as_deref(), Some("Edge · Windows"));
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
        assert_eq!(browser_of(iphone).as_deref(), Some("Safari · iPhone"));
        assert_eq!(browser_of("reqwest/0.12"), None);
    }
}
