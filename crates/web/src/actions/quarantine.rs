//! Held-back panel readings (issue 11), shared by the pages and the API: list them, accept or
//! discard one.

use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::state::AppState;
use domain::status::QuarantineStatus;
use engine::quarantine::{Held, Refusal};
use serde::Serialize;
use utoipa::ToSchema;

/// A panel reading too large to believe, held back from metering and billing.
#[derive(Serialize, ToSchema)]
pub struct HeldReading {
    pub id: i64,
    pub config_id: i64,
    pub username: String,
    pub reseller_id: i64,
    pub reseller_name: String,
    pub panel_id: i64,
    /// The panel's counter as read, in bytes.
    pub reading_bytes: i64,
    /// What it would add to the config's lifetime usage.
    pub delta_bytes: i64,
    /// The largest delta that would have been believed.
    pub ceiling_bytes: i64,
    #[schema(value_type = String, example = "pending")]
    pub status: QuarantineStatus,
    pub first_seen_at: String,
    pub last_seen_at: String,
    pub decided_at: Option<String>,
    pub decided_by: Option<String>,
}

impl From<Held> for HeldReading {
    fn from(h: Held) -> Self {
        let t = |ts: i64| crate::views::rfc3339(ts);
        HeldReading {
            id: h.id,
            config_id: h.config_id,
            username: h.username,
            reseller_id: h.reseller_id,
            reseller_name: h.reseller_name,
            panel_id: h.panel_id,
            reading_bytes: h.reading_bytes,
            delta_bytes: h.delta_bytes,
            ceiling_bytes: h.ceiling_bytes,
            status: h.status,
            first_seen_at: t(h.first_seen_at),
            last_seen_at: t(h.last_seen_at),
            decided_at: h.decided_at.map(t),
            decided_by: h.decided_by,
        }
    }
}

pub fn refusal(r: Refusal) -> AppError {
    match r {
        Refusal::NotFound => AppError::NotFound,
        Refusal::Decided => AppError::conflict("already_decided", r.to_string()),
        Refusal::Stale => AppError::conflict("reading_stale", r.to_string()),
        Refusal::TooLarge => AppError::conflict("reading_too_large", r.to_string()),
        Refusal::Engine(e) => crate::actions::usage::engine_error(e),
    }
}

/// Accepts (`accept` true) or discards a held-back reading as `admin`.
pub async fn decide(
    state: &AppState,
    admin: &CurrentUser,
    origin: &db::audit::Origin,
    id: i64,
    accept: bool,
) -> Result<Held, AppError> {
    let now = chrono::Utc::now().timestamp();
    let actor = admin.actor();
    let r = if accept {
        engine::quarantine::accept(&state.engine, id, &actor, origin, now).await
    } else {
        engine::quarantine::discard(&state.engine, id, &actor, origin, now).await
    };
    r.map_err(refusal)
}
