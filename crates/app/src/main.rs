//! `vpnmarket`: the one binary. Serves pages, API, scheduler and workers (`serve`, the default),
//! and runs maintenance commands (`migrate`, `admin create`, `config-reference`).

mod backup;
mod config;
mod demo;
mod serve;

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "vpnmarket",
    version,
    about = "Reseller and billing platform for VPN panels"
)]
struct Cli {
    /// Optional TOML file with the same keys as the VPNMARKET_* variables (lower case, no prefix).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the web panel, the API, the scheduler and the workers (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage admin accounts.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Try the product: fresh database, simulated panels, resellers and growing traffic.
    Demo {
        /// Keep the demo's data here (wiped at start); default: a temporary directory.
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Copy a live SQLite database and the data directory's files into a new directory.
    Backup {
        #[arg(long)]
        out: PathBuf,
    },
    /// Run one usage sync of every active panel now.
    Sync,
    /// Bill the current hour for every wallet reseller now (idempotent per hour).
    Bill,
    /// Verify usage aggregates and wallet ledgers; exits non-zero on any difference.
    Check,
    /// Print the configuration reference (Markdown).
    ConfigReference,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an admin; prompts for the password when --password is not given.
    Create {
        #[arg(long)]
        username: String,
        #[arg(long)]
        password: Option<String>,
    },
    /// Set a user's password (an admin's or a reseller's login), prompted or read from standard
    /// input; the user's sessions end. Works while the server runs.
    Passwd {
        #[arg(long)]
        username: String,
    },
    /// List the admins with their state.
    List,
    /// Disable an admin (never the last active one); its sessions stop working at once.
    Disable {
        #[arg(long)]
        username: String,
    },
    /// Enable a disabled admin again.
    Enable {
        #[arg(long)]
        username: String,
    },
}

fn main() {
    let cli = Cli::parse();
    if let Err(e) = run(cli) {
        eprintln!("error: {e:#}");
        std::process::exit(2);
    }
}

fn run(cli: Cli) -> Result<()> {
    if let Some(Command::ConfigReference) = cli.command {
        print!("{}", config::Config::reference_markdown());
        return Ok(());
    }
    let config = config::Config::from_env(cli.config.as_deref())?;
    serve::init_logging(config.log_json);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Serve => serve::serve(config).await,
            Command::Migrate => serve::migrate_only(config).await,
            Command::Sync => serve::sync_once(config).await,
            Command::Backup { out } => backup::run(config, out).await,
            Command::Demo { dir } => demo::run(config, dir).await,
            Command::Bill => serve::bill_once(config).await,
            Command::Check => serve::check(config).await,
            Command::Admin {
                command: AdminCommand::Create { username, password },
            } => {
                let password = match password {
                    Some(p) => p,
                    None => read_password()?,
                };
                serve::create_admin(config, &username, &password).await
            }
            Command::Admin {
                command: AdminCommand::Passwd { username },
            } => {
                let password = read_password()?;
                serve::admin_passwd(config, &username, &password).await
            }
            Command::Admin {
                command: AdminCommand::List,
            } => serve::admin_list(config).await,
            Command::Admin {
                command: AdminCommand::Disable { username },
            } => serve::admin_set_active(config, &username, false).await,
            Command::Admin {
                command: AdminCommand::Enable { username },
            } => serve::admin_set_active(config, &username, true).await,
            Command::ConfigReference => unreachable!("handled above"),
        }
    })
}

/// Prompts without echo on a terminal; reads one line from a pipe otherwise.
fn read_password() -> Result<String> {
    use std::io::IsTerminal;
    if std::io::stdin().is_terminal() {
        let p = rpassword::prompt_password("Password: ")?;
        let again = rpassword::prompt_password("Again: ")?;
        anyhow::ensure!(p == again, "the passwords differ");
        Ok(p)
    } else {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        Ok(line.trim_end_matches(['\r', '\n']).to_string())
    }
}
