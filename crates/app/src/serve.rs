//! Wiring: data directory, database and migrations, the bootstrap admin, the web server with
//! graceful shutdown, and logging.

use crate::config::Config;
use anyhow::{Context, Result};
use db::audit::{Actor, Origin};
use domain::status::{AuditAction, Role};
use std::net::SocketAddr;

pub fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("VPNMARKET_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    // Colour codes only for a person at a terminal: a log file or a pipe (journald, `tee`)
    // would carry them as `\x1b[2m…` noise.
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn open_database(config: &mut Config) -> Result<db::Db> {
    config.prepare_data_dir()?;
    let db = db::Db::connect(&config.database_url, 16)
        .await
        .with_context(|| {
            format!(
                "connecting to the database ({})",
                redact(&config.database_url)
            )
        })?;
    db::migrate::run(&db).await.context("applying migrations")?;
    Ok(db)
}

/// Hides a password in a database URL for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

pub async fn migrate_only(mut config: Config) -> Result<()> {
    open_database(&mut config).await?;
    println!(
        "database is up to date ({} migrations)",
        db::migrate::MIGRATIONS.len()
    );
    Ok(())
}

async fn insert_admin(db: &db::Db, username: &str, password: &str, actor: &Actor) -> Result<i64> {
    web::admins::create(db, username, password, actor, &Origin::default())
        .await
        .map_err(cli_error)
}

/// What a command prints for a refusal of the web layer: the English sentence a page would show.
fn cli_error(e: web::error::AppError) -> anyhow::Error {
    match e {
        web::error::AppError::Validation(fields) => anyhow::anyhow!(
            "{}",
            fields
                .values()
                .map(|key| web::i18n::english(key))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        other => anyhow::anyhow!("{other}"),
    }
}

pub async fn create_admin(mut config: Config, username: &str, password: &str) -> Result<()> {
    let db = open_database(&mut config).await?;
    insert_admin(&db, username, password, &Actor::system()).await?;
    println!("admin `{username}` created");
    Ok(())
}

/// `vpnmarket admin passwd`: sets any user's password and ends its sessions (audited as the
/// system). The database is shared with a running server, which sees the change at once.
pub async fn admin_passwd(mut config: Config, username: &str, password: &str) -> Result<()> {
    let db = open_database(&mut config).await?;
    let login = domain::login::normalize(username).unwrap_or_default();
    let user = {
        let mut conn = db.acquire().await?;
        db::users::by_username(&mut conn, &login).await?
    };
    let Some(user) = user else {
        anyhow::bail!("no user named `{username}`");
    };
    if let Err(key) = web::password::check_strength_for(password, &user.username) {
        anyhow::bail!("{}", web::i18n::english(key));
    }
    let ended = web::accounts::store(
        &db,
        web::accounts::NewPassword {
            user_id: user.id,
            password,
            keep_session: None,
            revoke_tokens: false,
            action: AuditAction::PasswordReset,
            actor: &Actor::system(),
            origin: &Origin::default(),
            meta: serde_json::json!({ "login": user.username }),
        },
    )
    .await?;
    println!(
        "password of `{}` set; {} session(s) ended",
        user.username, ended.sessions_ended
    );
    Ok(())
}

/// `vpnmarket admin list`: one line per admin.
pub async fn admin_list(mut config: Config) -> Result<()> {
    let db = open_database(&mut config).await?;
    let mut conn = db.acquire().await?;
    for u in db::users::admins(&mut conn).await? {
        let state = if u.is_active { "active" } else { "disabled" };
        println!(
            "{}	{state}	created {}",
            u.username,
            db::time::from_ts(u.created_at).format("%Y-%m-%d %H:%M UTC")
        );
    }
    Ok(())
}

/// `vpnmarket admin disable` and `admin enable`: never the last active admin; a disabled
/// admin's sessions end at once, on a running server too (it reads the same database).
pub async fn admin_set_active(mut config: Config, username: &str, active: bool) -> Result<()> {
    let db = open_database(&mut config).await?;
    let login = domain::login::normalize(username).unwrap_or_default();
    let user = {
        let mut conn = db.acquire().await?;
        db::users::by_username(&mut conn, &login).await?
    };
    let Some(user) = user.filter(|u| u.role == Role::Admin) else {
        anyhow::bail!("no admin named `{username}`");
    };
    if user.is_active == active {
        anyhow::bail!(
            "`{}` is already {}",
            user.username,
            if active { "active" } else { "disabled" }
        );
    }
    web::admins::set_active(&db, user.id, active, &Actor::system(), &Origin::default())
        .await
        .map_err(cli_error)?;
    println!(
        "admin `{}` {}",
        user.username,
        if active { "enabled" } else { "disabled" }
    );
    Ok(())
}

/// What the person starting the server needs to sign in, when no admin existed.
pub enum Bootstrap {
    Existing,
    FromEnv(String),
    Generated { username: String, password: String },
}

async fn bootstrap_admin(db: &db::Db, config: &Config) -> Result<Bootstrap> {
    let mut conn = db.acquire().await?;
    if db::users::count_admins(&mut conn).await? > 0 {
        return Ok(Bootstrap::Existing);
    }
    drop(conn);
    match &config.admin {
        Some((u, p)) => {
            insert_admin(db, u, p, &Actor::system()).await?;
            Ok(Bootstrap::FromEnv(u.clone()))
        }
        None => {
            // A first start with no admin configured: make one so the product is usable at
            // once, and say its password exactly once.
            let password = engine::secrets::random_token()[..16].to_string();
            insert_admin(db, "admin", &password, &Actor::system()).await?;
            Ok(Bootstrap::Generated {
                username: "admin".into(),
                password,
            })
        }
    }
}

/// The database and the engine context every command that does work needs.
pub async fn open_engine(config: &mut Config) -> Result<engine::Ctx> {
    let db = open_database(config).await?;
    let secret = config.load_or_create_secret()?;
    let keys = engine::secrets::Keys::from_secret(&secret)?;
    Ok(engine::Ctx::new(
        db,
        keys,
        engine::EngineSettings {
            wallet_price_per_gb: config.wallet_price_per_gb,
            wallet_suspension_threshold: config.wallet_suspension_threshold,
            quarantine: domain::usage::Ceiling {
                max_bytes_per_sec: config.quarantine_max_mbit_per_sec * 1_000_000 / 8,
                limit_factor: config.quarantine_limit_factor,
                ..Default::default()
            },
            ..Default::default()
        },
    ))
}

pub async fn serve(mut config: Config) -> Result<()> {
    let started = std::time::Instant::now();
    let ctx = open_engine(&mut config).await?;
    // Listen before anything is created: a port in use must not leave behind a bootstrap admin
    // whose generated password was never shown.
    let listener = bind(&config).await?;
    let bootstrap = bootstrap_admin(&ctx.db, &config).await?;
    // The remote-operations worker always runs, whatever VPNMARKET_JOBS says; interrupted
    // background jobs (reseller-wide resets) resume.
    engine::ops::spawn_worker(ctx.clone());
    engine::reset::resume_jobs(&ctx).await?;
    engine::import::resume_jobs(&ctx).await?;
    engine::bulk::resume_jobs(&ctx).await?;
    let schedule = (config.jobs == crate::config::JobsMode::Auto).then(|| {
        engine::scheduler::Schedule::standard(std::time::Duration::from_secs(
            config.sync_interval_secs,
        ))
    });
    run_server(
        ctx,
        listener,
        &config,
        Announce::Bootstrap(bootstrap, started),
        schedule,
    )
    .await
}

pub async fn bind(config: &Config) -> Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("VPNMARKET_LISTEN: cannot listen on {}", config.listen))
}

/// What to print once the server listens.
pub enum Announce {
    Bootstrap(Bootstrap, std::time::Instant),
    Lines(Vec<String>),
}

/// Serves the web app until SIGINT/SIGTERM, with the periodic jobs when a schedule is given.
pub async fn run_server(
    ctx: engine::Ctx,
    listener: tokio::net::TcpListener,
    config: &Config,
    announce_with: Announce,
    schedule: Option<engine::scheduler::Schedule>,
) -> Result<()> {
    let db = ctx.db.clone();
    if let Some(schedule) = schedule {
        engine::scheduler::spawn(ctx.clone(), schedule);
    }
    let options = web::WebOptions {
        always_secure_cookies: config
            .public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://")),
        trust_proxy: config.trust_proxy,
        data_dir: config.data_dir.clone(),
        metrics_token: config.metrics_token.clone(),
        panel_deny_private: config.panel_deny_private,
        ..Default::default()
    };
    let state = web::AppState::new(ctx, options);
    if let Some(addr) = config.metrics_listen {
        let metrics = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("VPNMARKET_METRICS_LISTEN: cannot listen on {addr}"))?;
        let router = web::metrics::router(state.clone());
        // The same server loop and limits as the main address: a private listener is still
        // one a stray client can hold open.
        let limits = web::server::Limits {
            max_connections: 64,
            ..Default::default()
        };
        tokio::spawn(web::server::serve(
            metrics,
            router,
            limits,
            std::future::pending(),
        ));
    }
    let app = web::app(state);
    let addr = listener.local_addr()?;
    match announce_with {
        Announce::Bootstrap(b, started) => announce(addr, config, &b, started.elapsed()),
        Announce::Lines(lines) => {
            let url = config
                .public_url
                .clone()
                .unwrap_or_else(|| format!("http://{addr}"));
            println!("VpnMarket is running at {url}");
            for l in lines {
                println!("{l}");
            }
            use std::io::Write;
            let _ = std::io::stdout().flush();
        }
    }
    let limits = web::server::Limits {
        max_connections: config.max_connections,
        ..Default::default()
    };
    web::server::serve(listener, app, limits, shutdown_signal()).await;
    tracing::info!("shutting down");
    db.close().await;
    Ok(())
}

fn announce(addr: SocketAddr, config: &Config, bootstrap: &Bootstrap, took: std::time::Duration) {
    let url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    println!(
        "VpnMarket is running at {url} (started in {} ms)",
        took.as_millis()
    );
    println!("  database: {}", redact(&config.database_url));
    match bootstrap {
        Bootstrap::Existing => println!("  sign in with an admin account (create one with `vpnmarket admin create --username NAME`)"),
        Bootstrap::FromEnv(u) => println!("  sign in as `{u}` with the password from VPNMARKET_ADMIN_PASSWORD"),
        Bootstrap::Generated { username, password } => {
            println!("  first start: created admin `{username}` with password `{password}`");
            println!("  (shown once; sign in and keep it safe, or create another with `vpnmarket admin create`)");
        }
    }
    use std::io::Write;
    let _ = std::io::stdout().flush();
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

/// `vpnmarket sync`: one usage sync now (also runs pending operations first).
pub async fn sync_once(mut config: Config) -> Result<()> {
    let ctx = open_engine(&mut config).await?;
    let report = engine::sync::run_once(&ctx, chrono::Utc::now()).await?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    finish_operations(&ctx).await
}

/// `vpnmarket bill`: bills the current hour now (a second run in the same hour changes nothing).
pub async fn bill_once(mut config: Config) -> Result<()> {
    let ctx = open_engine(&mut config).await?;
    let report = engine::billing::run_once(&ctx, chrono::Utc::now()).await?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    finish_operations(&ctx).await
}

/// Gives the operations a command queued (e.g. disables after a suspension) one pass, so a
/// one-shot command leaves the panels in step when they answer; the rest stay queued.
async fn finish_operations(ctx: &engine::Ctx) -> Result<()> {
    let n = engine::ops::run_due(ctx, chrono::Utc::now().timestamp()).await?;
    if n > 0 {
        println!(
            "ran {n} remote operation(s); any that failed stay queued for the server's worker"
        );
    }
    Ok(())
}

/// `vpnmarket check`: recomputes aggregates and the ledger and reports any difference.
pub async fn check(mut config: Config) -> Result<()> {
    let ctx = open_engine(&mut config).await?;
    let problems = engine::sync::check_aggregates(&ctx).await?;
    if problems.is_empty() {
        println!("ok: usage aggregates and wallet ledgers are consistent");
        Ok(())
    } else {
        for p in &problems {
            println!("MISMATCH: {p}");
        }
        anyhow::bail!("{} inconsistencies found", problems.len())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_hidden_in_database_urls() {
        assert_eq!(
            super::redact("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(super::redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(super::redact("sqlite:///x.db"), "sqlite:///x.db");
    }
}
