//! `panel-sim` binary: serves one simulated panel, or all four on consecutive ports.
//! Prints each panel's URL and credentials; the `/_sim/` control API drives them from outside.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use clap::Parser;
use panel_sim::{spawn_with, Sim, SimConfig, SimKind};

#[derive(Parser, Debug)]
#[command(
    name = "panel-sim",
    about = "Simulated VPN panel APIs for tests and demos"
)]
struct Args {
    /// marzban, marzneshin, xui or eylandoo.
    #[arg(long, required_unless_present = "all", conflicts_with = "all")]
    kind: Option<SimKind>,
    /// Address for the single panel (with --kind).
    #[arg(long, default_value = "127.0.0.1:9001")]
    listen: SocketAddr,
    /// Serve all four kinds on --base-port .. --base-port+3 (marzban, marzneshin, xui, eylandoo).
    #[arg(long)]
    all: bool,
    #[arg(long, default_value_t = 9001)]
    base_port: u16,
    /// Host for --all.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Allow listening on a non-loopback address (there is no real auth behind the control API).
    #[arg(long)]
    allow_remote: bool,
    #[arg(long, default_value = "admin")]
    admin_username: String,
    #[arg(long, default_value = "admin-pass")]
    admin_password: String,
    #[arg(long, default_value = "sim-api-key")]
    api_key: String,
    /// Token and session lifetime in seconds (0 = never expire).
    #[arg(long, default_value_t = 86_400)]
    token_ttl_secs: u64,
    /// Seconds between runs of the panel's review job (Marzban `limited`, Marzneshin
    /// `activated`); 0 = at once. Default: the real panel's interval (10 s, 30 s).
    #[arg(long)]
    review_interval_secs: Option<u64>,
    /// Users to create at start ("seed_0", "seed_1", ...).
    #[arg(long, default_value_t = 0)]
    seed: usize,
    /// Bytes already used by each seeded user.
    #[arg(long, default_value_t = 0)]
    seed_used_bytes: i64,
}

fn config(args: &Args, kind: SimKind, listen: SocketAddr) -> SimConfig {
    let defaults = SimConfig::new(kind);
    SimConfig {
        admin_username: args.admin_username.clone(),
        admin_password: args.admin_password.clone(),
        api_key: args.api_key.clone(),
        token_ttl: Duration::from_secs(args.token_ttl_secs),
        listen,
        review_interval: args
            .review_interval_secs
            .map_or(defaults.review_interval, Duration::from_secs),
        ..defaults
    }
}

fn describe(sim: &Sim) {
    let creds = match sim.kind() {
        SimKind::Eylandoo => format!("X-API-KEY: {}", sim.api_key()),
        _ => format!(
            "username: {}  password: {}",
            sim.admin_username(),
            sim.admin_password()
        ),
    };
    println!("{:<11} {}", sim.kind().as_str(), sim.base_url());
    println!("            {creds}");
    if sim.kind() == SimKind::Xui {
        println!("            sub base: {}/sub/", sim.root_url());
    }
    println!("            control: {}", sim.control_url());
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let listens: Vec<(SimKind, SocketAddr)> = if args.all {
        SimKind::ALL
            .iter()
            .enumerate()
            .map(|(i, k)| (*k, SocketAddr::new(args.host, args.base_port + i as u16)))
            .collect()
    } else {
        let kind = args.kind.unwrap_or(SimKind::Marzban);
        vec![(kind, args.listen)]
    };
    for (_, addr) in &listens {
        if !addr.ip().is_loopback() && !args.allow_remote {
            eprintln!(
                "panel-sim: refusing to listen on {addr}: not loopback (pass --allow-remote)"
            );
            std::process::exit(2);
        }
    }
    let mut sims = Vec::new();
    for (kind, addr) in listens {
        let sim = spawn_with(config(&args, kind, addr)).await?;
        if args.seed > 0 {
            sim.seed_users("seed_", args.seed, args.seed_used_bytes);
        }
        describe(&sim);
        sims.push(sim);
    }
    tokio::signal::ctrl_c().await?;
    for sim in &sims {
        sim.shutdown();
    }
    Ok(())
}
