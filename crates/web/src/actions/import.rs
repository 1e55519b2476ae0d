//! Bringing panel users in (issue 15), shared by the pages and the API: the unmanaged users of
//! a panel (paged, searched, by owner) and starting an import job into a reseller.

use crate::error::AppError;
use crate::state::AppState;
use crate::views::rfc3339;
use engine::access::ActionError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A panel user no config of ours claims.
#[derive(Serialize, ToSchema)]
pub struct UnmanagedUser {
    pub username: String,
    pub used_bytes: i64,
    /// None: unlimited.
    pub limit_bytes: Option<i64>,
    pub expires_at: Option<String>,
    /// The same, for the page to show in the reader's calendar.
    #[serde(skip)]
    pub expires_ts: Option<i64>,
    /// `active`, `disabled`, `limited`, `expired` or `on_hold`, as the panel says.
    pub state: String,
    /// The owning panel admin (Marzban, Marzneshin, PasarGuard), Eylandoo's sub-admin, or the
    /// 3x-ui inbound; None where the panel does not say.
    pub owner: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct UnmanagedPage {
    pub items: Vec<UnmanagedUser>,
    pub total: usize,
    pub page: usize,
    pub per_page: usize,
    /// Every owner among the panel's unmanaged users, for the filter.
    pub owners: Vec<String>,
}

impl UnmanagedPage {
    /// Nothing listed (the panel did not answer).
    pub fn empty() -> UnmanagedPage {
        UnmanagedPage {
            items: Vec::new(),
            total: 0,
            page: 1,
            per_page: 100,
            owners: Vec::new(),
        }
    }
}

#[derive(Deserialize, Default)]
pub struct UnmanagedQuery {
    pub owner: Option<String>,
    pub q: Option<String>,
    pub page: Option<usize>,
    pub per_page: Option<usize>,
}

fn action_error(e: ActionError) -> AppError {
    e.into()
}

/// One page of the panel's unmanaged users, from a live listing.
pub async fn unmanaged_page(
    state: &AppState,
    panel_id: i64,
    query: &UnmanagedQuery,
) -> Result<UnmanagedPage, AppError> {
    let q = AppError::search(query.q.as_deref())?;
    let owner = AppError::search(query.owner.as_deref())?;
    let per_page = query.per_page.unwrap_or(50);
    if !(1..=500).contains(&per_page) {
        return Err(AppError::field("per_page", "err.bad_choice"));
    }
    let page = query.page.unwrap_or(1).max(1);
    let users = engine::import::unmanaged(&state.engine, panel_id)
        .await
        .map_err(|e| action_error(e.into()))?;
    let mut owners: Vec<String> = users.iter().filter_map(|u| u.owner.clone()).collect();
    owners.sort();
    owners.dedup();
    let matching: Vec<_> = users
        .into_iter()
        .filter(|u| engine::import::matches(u, q.as_deref(), owner.as_deref()))
        .collect();
    let total = matching.len();
    let items = matching
        .into_iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(|u| UnmanagedUser {
            state: engine::observe::remote_state(&u).as_str().to_string(),
            username: u.username,
            used_bytes: u.used_bytes,
            limit_bytes: u.limit_bytes,
            expires_at: u.expires_at.map(|t| rfc3339(t.timestamp())),
            expires_ts: u.expires_at.map(|t| t.timestamp()),
            owner: u.owner,
        })
        .collect();
    Ok(UnmanagedPage {
        items,
        total,
        page,
        per_page,
        owners,
    })
}

/// `POST /panels/{id}/import`: which users go to which reseller.
#[derive(Deserialize, ToSchema, Default)]
pub struct ImportRequest {
    /// The reseller the users go to; or `new_reseller`.
    pub reseller_id: Option<i64>,
    /// A reseller made in the same step, on this panel; its login defaults to `owner`. Made only
    /// when there is someone to import and they fit its config limit (or `exceed_limit`).
    pub new_reseller: Option<crate::actions::resellers::CreateReseller>,
    /// These users (at most 10,000 names).
    #[serde(default)]
    pub usernames: Option<Vec<String>>,
    /// Only this panel admin's users; alone, all of them.
    #[serde(default)]
    pub owner: Option<String>,
    /// Every unmanaged user matching `q` (and `owner`).
    #[serde(default)]
    pub all_matching: bool,
    #[serde(default)]
    pub q: Option<String>,
    /// Import even when the reseller's config limit would be passed (the answer without it
    /// says by how many).
    #[serde(default)]
    pub exceed_limit: bool,
}

#[derive(Serialize, ToSchema)]
pub struct ImportAccepted {
    pub job_id: i64,
    /// How many users the job imports.
    pub importing: usize,
    /// Named users refused before the start, with why (`claimed`, `not_found`, `not_owned`).
    #[schema(value_type = Object)]
    pub refused: serde_json::Value,
}

/// Starts an import job (admin).
pub async fn start_import(
    state: &AppState,
    admin: &crate::auth::CurrentUser,
    origin: &db::audit::Origin,
    panel_id: i64,
    req: &ImportRequest,
) -> Result<ImportAccepted, AppError> {
    if req.usernames.as_ref().is_some_and(|u| u.len() > 10_000) {
        return Err(AppError::field("usernames", "err.too_long"));
    }
    if req
        .usernames
        .iter()
        .flatten()
        .any(|u| u.is_empty() || u.chars().count() > 64)
    {
        return Err(AppError::field("usernames", "err.too_long"));
    }
    let selection = engine::import::Selection {
        usernames: req.usernames.clone(),
        owner: AppError::search(req.owner.as_deref())?,
        all_matching: req.all_matching,
        q: AppError::search(req.q.as_deref())?,
    };
    let reseller_id = match (req.reseller_id, &req.new_reseller) {
        (Some(id), None) => id,
        (None, Some(new)) => {
            new_reseller_for(state, admin, origin, panel_id, &selection, req, new).await?
        }
        _ => return Err(AppError::field("reseller_id", "err.import_no_reseller")),
    };
    let (job_id, plan) = engine::import::start(
        &state.engine,
        panel_id,
        reseller_id,
        &selection,
        req.exceed_limit,
        &admin.actor(),
        origin,
    )
    .await
    .map_err(action_error)?;
    Ok(ImportAccepted {
        job_id,
        importing: plan.usernames.len(),
        refused: serde_json::to_value(&plan.refused).unwrap_or_default(),
    })
}

/// Makes the reseller an import goes to, once the import is known to have someone to bring in
/// within the new reseller's config limit; named after the panel admin when no login is given.
async fn new_reseller_for(
    state: &AppState,
    admin: &crate::auth::CurrentUser,
    origin: &db::audit::Origin,
    panel_id: i64,
    selection: &engine::import::Selection,
    req: &ImportRequest,
    new: &crate::actions::resellers::CreateReseller,
) -> Result<i64, AppError> {
    let (names, _) = engine::import::preview(&state.engine, panel_id, selection)
        .await
        .map_err(action_error)?;
    if names.is_empty() {
        return Err(AppError::conflict(
            "nothing_to_import",
            "no user to import; no reseller was made",
        ));
    }
    if let Some(limit) = new.config_limit.filter(|l| *l > 0) {
        let over = names.len() as i64 - limit;
        if over > 0 && !req.exceed_limit {
            return Err(AppError::conflict(
                engine::access::CONFIG_LIMIT_REACHED,
                format!(
                    "{over} of these {} users would go beyond the new reseller's config limit; \
                     send exceed_limit: true to import them anyway",
                    names.len()
                ),
            ));
        }
    }
    let mut new = new.clone();
    new.panel_id = panel_id;
    if new.username.trim().is_empty() {
        new.username = selection.owner.clone().unwrap_or_default();
    }
    if new
        .display_name
        .as_deref()
        .is_none_or(|d| d.trim().is_empty())
    {
        new.display_name = selection.owner.clone();
    }
    Ok(
        crate::actions::resellers::create_reseller(state, admin, origin, new)
            .await?
            .id,
    )
}
