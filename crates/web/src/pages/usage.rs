//! Pages of the usage area: reset buttons (a reseller's config; the admin's reseller-wide reset
//! with its confirmation), job progress, each panel's last syncs, and the grace settings.

use crate::actions::usage::{reset_config_for, start_reseller_reset_for};
use crate::auth::{CurrentUser, PageAdmin, PageUser, RequestOrigin};
use crate::csrf::CsrfForm;
use crate::error::{AppError, PageResult};
use crate::locale::Locale;
use crate::pages::shell::Shell;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use db::audit::NewAudit;
use domain::status::{AuditAction, AuditTarget, JobKind, JobStatus, ResellerKind};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/configs/{id}/reset-usage", post(reset_config))
        .route(
            "/admin/resellers/{id}/reset-usage",
            get(confirm_reseller_reset).post(reset_reseller),
        )
        .route("/admin/jobs/{id}", get(job))
        .route("/jobs/{id}", get(job))
        .route("/admin/sync", get(sync_runs).post(run_sync))
        .route("/admin/sync/held/{id}/{decision}", post(decide_held))
        .route("/admin/settings/grace", get(grace).post(save_grace))
}

#[derive(Deserialize)]
pub struct Empty {}

fn html(t: impl Template) -> PageResult<Html<String>> {
    Ok(Html(t.render().map_err(anyhow::Error::from)?))
}

fn require_admin(user: &CurrentUser) -> Result<(), AppError> {
    if user.is_admin() {
        Ok(())
    } else {
        Err(AppError::forbidden("admin_only", "admin only"))
    }
}

/// The reset button of a config page (reseller: its own; admin: any); back to the config.
pub async fn reset_config(
    State(state): State<AppState>,
    loc: Locale,
    RequestOrigin(origin): RequestOrigin,
    Path(id): Path<i64>,
    CsrfForm { user, .. }: CsrfForm<Empty>,
) -> PageResult<Response> {
    reset_config_for(&state, &user, &origin, id).await?;
    Ok(crate::request_context::done(
        &format!("/configs/{id}"),
        loc.t("flash.usage_reset"),
    ))
}

#[derive(Template)]
#[template(path = "usage_reset_confirm.html")]
struct ConfirmPage {
    shell: Shell,
    reseller: db::resellers::Reseller,
    configs: i64,
    used_bytes: i64,
}

/// The confirmation of a reseller-wide reset, saying what will happen (seed 000).
pub async fn confirm_reseller_reset(
    State(state): State<AppState>,
    loc: Locale,
    PageAdmin(user): PageAdmin,
    Path(id): Path<i64>,
) -> PageResult<Html<String>> {
    let mut conn = state.db.acquire().await?;
    let reseller = db::resellers::get(&mut conn, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let configs = db::resellers::live_config_count(&mut conn, id).await?;
    let used_bytes = engine::enforcement::quota_figures(&mut conn, &reseller)
        .await
        .map_err(crate::actions::usage::engine_error)?
        .used_bytes;
    html(ConfirmPage {
        shell: Shell::new(
            loc,
            Some(user),
            "/admin/resellers",
            "usage.reset_reseller_title",
        ),
        reseller,
        configs,
        used_bytes,
    })
}

pub async fn reset_reseller(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    Path(id): Path<i64>,
    CsrfForm { user, .. }: CsrfForm<Empty>,
) -> PageResult<Redirect> {
    require_admin(&user)?;
    let job = start_reseller_reset_for(&state, &user, &origin, id).await?;
    Ok(Redirect::to(&format!("/admin/jobs/{job}")))
}

#[derive(Template)]
#[template(path = "usage_job.html")]
struct JobPage {
    shell: Shell,
    job: db::jobs::Job,
    running: bool,
    percent: i64,
    counts: Option<engine::reset::ResetCounts>,
    import: Option<ImportCounts>,
    /// The reseller the job worked for, to go back to.
    reseller_id: Option<i64>,
    bulk: Option<BulkSummary>,
}

/// What a bulk job did: how many configs went through, and why each other one did not.
struct BulkSummary {
    ok: usize,
    failed: Vec<(String, String)>,
}

impl BulkSummary {
    fn of(result: &serde_json::Value) -> Option<BulkSummary> {
        let results = result["results"].as_object()?;
        let failed: Vec<(String, String)> = results
            .iter()
            .filter(|(_, v)| v.as_str() != Some("ok"))
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
            .collect();
        Some(BulkSummary {
            ok: results.len() - failed.len(),
            failed,
        })
    }
}

fn result_reseller(result: &str) -> Option<i64> {
    serde_json::from_str::<serde_json::Value>(result).ok()?["reseller_id"].as_i64()
}

/// What a finished import job reports.
#[derive(serde::Deserialize)]
struct ImportCounts {
    imported: i64,
    claimed: i64,
    not_found: i64,
    not_owned: i64,
}

/// A background job's progress; refreshes itself every 2 s while it runs.
pub async fn job(
    State(state): State<AppState>,
    loc: Locale,
    PageUser(user): PageUser,
    Path(id): Path<i64>,
) -> PageResult<Response> {
    let job = crate::actions::jobs::load_job_for(&state, &user, id).await?;
    let running = job.status.is_open();
    let percent = if job.total > 0 {
        job.done * 100 / job.total
    } else if running {
        0
    } else {
        100
    };
    let done = job.status == JobStatus::Done;
    let result: serde_json::Value = serde_json::from_str(&job.result).unwrap_or_default();
    let (counts, import) = match job.kind {
        JobKind::ResellerUsageReset if done => (serde_json::from_value(result.clone()).ok(), None),
        JobKind::ConfigBulk if done => (None, None),
        JobKind::PanelImport if done => {
            (None, serde_json::from_value(result["counts"].clone()).ok())
        }
        _ => (None, None),
    };
    let bulk = (job.kind == JobKind::ConfigBulk)
        .then(|| BulkSummary::of(&result))
        .flatten();
    let title = match job.kind {
        JobKind::ConfigBulk => "bulk.job_title",
        JobKind::PanelImport => "import.job_title",
        JobKind::ResellerUsageReset => "usage.job_title",
    };
    let page = html(JobPage {
        shell: Shell::new(loc, Some(user), "/admin/resellers", title),
        reseller_id: match job.kind {
            JobKind::PanelImport => result_reseller(&job.result),
            JobKind::ResellerUsageReset => job.target_id,
            JobKind::ConfigBulk => None,
        },
        bulk,
        job,
        running,
        percent,
        counts,
        import,
    })?;
    let mut res = page.into_response();
    if running {
        res.headers_mut()
            .insert("refresh", axum::http::HeaderValue::from_static("2"));
    }
    Ok(res)
}

struct PanelRuns {
    panel: db::panels::Panel,
    runs: Vec<engine::sync::SyncRun>,
}

#[derive(Template)]
#[template(path = "usage_sync.html")]
struct SyncPage {
    shell: Shell,
    panels: Vec<PanelRuns>,
    /// Readings held back for a decision (issue 11).
    held: Vec<engine::quarantine::Held>,
}

impl SyncPage {
    fn panel_error(&self, raw: &str) -> String {
        crate::humanize::panel_error(&self.shell.loc, raw)
    }
}

/// Each panel's last sync runs, and a button to run one now.
pub async fn sync_runs(
    State(state): State<AppState>,
    loc: Locale,
    PageAdmin(user): PageAdmin,
) -> PageResult<Html<String>> {
    let mut conn = state.db.acquire().await?;
    let mut runs = engine::sync::recent_runs_of_every_panel(&mut conn, 5)
        .await
        .map_err(crate::actions::usage::engine_error)?;
    let panels = db::panels::list(&mut conn)
        .await?
        .into_iter()
        .map(|panel| PanelRuns {
            runs: runs.remove(&panel.id).unwrap_or_default(),
            panel,
        })
        .collect();
    drop(conn);
    let held = engine::quarantine::pending(&state.engine)
        .await
        .map_err(crate::actions::usage::engine_error)?;
    html(SyncPage {
        shell: Shell::new(loc, Some(user), "/admin/sync", "usage.sync_title"),
        panels,
        held,
    })
}

pub async fn run_sync(
    State(state): State<AppState>,
    loc: Locale,
    CsrfForm { user, .. }: CsrfForm<Empty>,
) -> PageResult<Response> {
    require_admin(&user)?;
    let r = crate::actions::jobs::run_sync(&state).await?;
    let text = loc.tf(
        "flash.sync_ran",
        &[
            ("ok", loc.num(r.panels_ok)),
            ("bad", loc.num(r.panels_failed)),
            ("configs", loc.num(r.configs_updated)),
        ],
    );
    Ok(crate::request_context::redirect_with(
        &format!(
            "/admin/sync?ran={}-{}-{}",
            r.panels_ok, r.panels_failed, r.configs_updated
        ),
        r.panels_failed == 0,
        &text,
    ))
}

/// Counts (`accept`) or discards (`discard`) a held-back reading, audited; back to the sync page.
pub async fn decide_held(
    State(state): State<AppState>,
    loc: Locale,
    RequestOrigin(origin): RequestOrigin,
    Path((id, decision)): Path<(i64, String)>,
    CsrfForm { user, .. }: CsrfForm<Empty>,
) -> PageResult<Response> {
    require_admin(&user)?;
    let (accept, flash) = match decision.as_str() {
        "accept" => (true, "flash.held_accepted"), // a form's action, not a state
        "discard" => (false, "flash.held_discarded"), // a form's action, not a state
        _ => return Err(AppError::NotFound.into()),
    };
    crate::actions::quarantine::decide(&state, &user, &origin, id, accept).await?;
    Ok(crate::request_context::done("/admin/sync", loc.t(flash)))
}

#[derive(Template)]
#[template(path = "usage_grace.html")]
struct GracePage {
    shell: Shell,
    percent: String,
    min_mb: String,
    saved: bool,
    invalid: bool,
}

#[derive(Deserialize)]
pub struct GraceQuery {
    saved: Option<String>,
}

pub async fn grace(
    State(state): State<AppState>,
    loc: Locale,
    PageAdmin(user): PageAdmin,
    Query(q): Query<GraceQuery>,
) -> PageResult<Html<String>> {
    let mut conn = state.db.acquire().await?;
    let g = engine::enforcement::grace_settings(&mut conn)
        .await
        .map_err(crate::actions::usage::engine_error)?;
    html(GracePage {
        shell: Shell::new(loc, Some(user), "/admin/settings", "usage.grace_title"),
        percent: g.percent.to_string(),
        min_mb: (g.min_bytes >> 20).to_string(),
        saved: q.saved.is_some(),
        invalid: false,
    })
}

#[derive(Deserialize)]
pub struct GraceForm {
    #[serde(default)]
    grace_percent: String,
    /// MiB; stored as bytes in `grace_min_bytes`.
    #[serde(default)]
    grace_min_mb: String,
}

fn int(s: &str) -> Option<i64> {
    domain::units::to_latin_digits(s.trim())
        .replace([',', '\u{066C}'], "")
        .parse()
        .ok()
}

/// Saves the grace settings with one audit row (before/after), then re-evaluates every traffic
/// reseller, since the boundary moved.
pub async fn save_grace(
    State(state): State<AppState>,
    loc: Locale,
    RequestOrigin(origin): RequestOrigin,
    CsrfForm { user, form }: CsrfForm<GraceForm>,
) -> PageResult<Response> {
    require_admin(&user)?;
    let percent = int(&form.grace_percent).filter(|p| (0..=100).contains(p));
    let min_mb = int(&form.grace_min_mb).filter(|m| (0..=1 << 30).contains(m));
    let (Some(percent), Some(min_mb)) = (percent, min_mb) else {
        let page = html(GracePage {
            shell: Shell::new(loc, Some(user), "/admin/settings", "usage.grace_title"),
            percent: form.grace_percent,
            min_mb: form.grace_min_mb,
            saved: false,
            invalid: true,
        })?;
        let mut res = page.into_response();
        *res.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(res);
    };
    let backend = state.db.backend();
    let mut tx = state.db.begin_write().await?;
    let before = engine::enforcement::grace_settings(&mut tx)
        .await
        .map_err(crate::actions::usage::engine_error)?;
    db::settings::set(&mut tx, backend, "grace_percent", &percent.to_string()).await?;
    db::settings::set(
        &mut tx,
        backend,
        "grace_min_bytes",
        &(min_mb << 20).to_string(),
    )
    .await?;
    db::audit::record(
        &mut tx,
        NewAudit {
            actor: &user.actor(),
            origin: &origin,
            action: AuditAction::SettingsUpdated,
            target_type: Some(AuditTarget::Settings),
            target_id: None,
            reason: None,
            meta: serde_json::json!({
                "before": {"grace_percent": before.percent, "grace_min_bytes": before.min_bytes},
                "after": {"grace_percent": percent, "grace_min_bytes": min_mb << 20},
            }),
        },
    )
    .await?;
    tx.commit().await.map_err(db::DbError::from)?;
    let ids = {
        let mut conn = state.db.acquire().await?;
        db::resellers::all_ids_of_kind(&mut conn, ResellerKind::Traffic).await?
    };
    for id in ids {
        engine::enforcement::enforce_reseller(&state.engine, id, chrono::Utc::now(), &origin)
            .await
            .map_err(crate::actions::usage::engine_error)?;
    }
    Ok(Redirect::to("/admin/settings/grace?saved=1").into_response())
}
