//! `POST /configs/bulk`: the configs page's bulk form — an action over the ticked configs or
//! all that match the filter, or many new configs with the same terms. The job's progress is
//! then at `/jobs/{id}`; a refused batch goes back to the list saying why, nothing done.

use crate::actions::bulk::{start_bulk, BulkFilter, BulkRequest, BulkTemplate};
use crate::auth::RequestOrigin;
use crate::csrf::CsrfForm;
use crate::error::{AppError, PageResult};
use crate::locale::Locale;
use crate::state::AppState;
use axum::extract::State;
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use domain::status::BulkAction;

pub fn router() -> Router<AppState> {
    Router::new().route("/configs/bulk", post(submit))
}

const GIB: f64 = (1u64 << 30) as f64;

/// A number as people type it (Persian digits, a decimal comma); None when it is not one.
fn number(s: &str) -> Option<f64> {
    let s = domain::units::to_latin_digits(s.trim()).replace(['٫', ','], ".");
    s.parse().ok().filter(|n: &f64| n.is_finite())
}

fn gib(s: &str) -> Option<i64> {
    number(s).map(|g| (g * GIB).round() as i64)
}

fn whole(s: &str) -> Option<i64> {
    number(s).filter(|n| n.fract() == 0.0).map(|n| n as i64)
}

/// The form as sent (ticked configs come as repeated `ids` fields).
fn read(fields: &[(String, String)]) -> Result<BulkRequest, AppError> {
    let get = |k: &str| {
        fields
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    };
    let action: BulkAction = AppError::choice("action", Some(get("action")))?
        .ok_or_else(|| AppError::field("action", "err.bad_choice"))?;
    let value = get("value");
    let ids: Vec<i64> = fields
        .iter()
        .filter(|(n, _)| n == "ids")
        .filter_map(|(_, v)| v.parse().ok())
        .collect();
    let matching = get("mode") == "matching";
    Ok(BulkRequest {
        action,
        ids: (!matching).then_some(ids),
        filter: matching.then(|| BulkFilter {
            status: Some(get("status").to_string()),
            q: Some(get("q").to_string()),
        }),
        count: whole(get("count")),
        template: (action == BulkAction::Create).then(|| BulkTemplate {
            traffic_limit_bytes: gib(get("traffic_gb")).unwrap_or(0),
            expires_in_days: whole(get("days")).unwrap_or(0),
            name: get("name").to_string(),
        }),
        days: whole(value),
        add_bytes: gib(value),
        limit_bytes: gib(value),
        reseller_id: None,
    })
}

pub async fn submit(
    State(state): State<AppState>,
    loc: Locale,
    RequestOrigin(origin): RequestOrigin,
    CsrfForm { user, form }: CsrfForm<Vec<(String, String)>>,
) -> PageResult<Response> {
    let started = match read(&form) {
        Ok(req) => start_bulk(&state, &user, &origin, req).await,
        Err(e) => Err(e),
    };
    let refused = |text: String| crate::request_context::redirect_with("/configs", false, &text);
    match started {
        Ok(a) => Ok(crate::request_context::done(
            &format!("/jobs/{}", a.job_id),
            &loc.tf(
                "bulk.started",
                &[
                    ("n", loc.num(a.configs)),
                    ("seconds", loc.num(a.expected_seconds)),
                ],
            ),
        )),
        Err(AppError::Validation(f)) => Ok(refused(
            f.values().map(|k| loc.t(k)).collect::<Vec<_>>().join(" "),
        )),
        Err(AppError::Conflict { message, .. }) => {
            Ok(refused(format!("{} ({message})", loc.t("bulk.refused"))))
        }
        Err(e) => Err(e.into()),
    }
}
