//! Configuration: defaults, then an optional TOML file (`--config`), then `VPNMARKET_*`
//! environment variables. Every key is listed once in `KEYS`, which also feeds the reference
//! printed by `vpnmarket config-reference`; a bad value names its variable and what is allowed.

use anyhow::{anyhow, bail, Context, Result};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub struct Key {
    /// TOML key; the environment variable is `VPNMARKET_` + upper case.
    pub name: &'static str,
    pub default: &'static str,
    pub help: &'static str,
}

pub const KEYS: &[Key] = &[
    Key { name: "listen", default: "127.0.0.1:8080", help: "Address and port the web server listens on." },
    Key { name: "data_dir", default: "./data", help: "Directory for the SQLite database, the generated secret key and uploaded receipts; created if missing." },
    Key { name: "database_url", default: "sqlite://<data_dir>/vpnmarket.db", help: "Database: a `sqlite://` path or a `postgres://` URL." },
    Key { name: "admin_username", default: "", help: "With admin_password: create this admin at start when no admin exists." },
    Key { name: "admin_password", default: "", help: "Password for admin_username (at least 8 characters)." },
    Key { name: "secret_key", default: "", help: "At least 32 characters; derives the keys that encrypt panel credentials and sign sessions. Generated once into `<data_dir>/secret.key` when unset. Instances sharing a database must share it." },
    Key { name: "jobs", default: "auto", help: "auto: the scheduler runs periodic jobs; manual: they run only when asked (API or command line). The remote-operations worker always runs." },
    Key { name: "public_url", default: "", help: "The https URL users reach; when it starts with https, cookies are always marked Secure." },
    Key { name: "trust_proxy", default: "false", help: "true when a reverse proxy sets X-Forwarded-For and X-Forwarded-Proto." },
    Key { name: "metrics_token", default: "", help: "Bearer token that `GET /metrics` on the main address requires; without it /metrics is served only on metrics_listen." },
    Key { name: "metrics_listen", default: "", help: "A separate address (such as 127.0.0.1:9100) that serves /metrics without a token; keep it private." },
    Key { name: "max_connections", default: "4096", help: "Most HTTP connections open at once (16 to 1000000); more wait to be accepted. Keep it below the open-files limit (LimitNOFILE)." },
    Key { name: "panel_deny_private", default: "false", help: "true refuses panel addresses in loopback, private, link-local and shared ranges (for a panel test that must not reach the local network)." },
    Key { name: "log_format", default: "text", help: "text or json." },
    Key { name: "sync_interval_secs", default: "60", help: "Seconds between usage syncs (10 to 86400)." },
    Key { name: "wallet_price_per_gb", default: "780", help: "Default wallet price per GB in toman (also read from WALLET_PRICE_PER_GB)." },
    Key { name: "wallet_suspension_threshold", default: "-1000", help: "Balance at or below which a wallet reseller is suspended (also WALLET_SUSPENSION_THRESHOLD)." },
    Key { name: "quarantine_max_mbit_per_sec", default: "10000", help: "A panel reading implying more than this rate since the last reading (judged over 5 minutes at least) is held back for the admin, not counted (1 to 10000000)." },
    Key { name: "quarantine_limit_factor", default: "100", help: "A reading adding more than this many times the config's own traffic limit is held back for the admin (1 to 1000000)." },
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobsMode {
    Auto,
    Manual,
}

#[derive(Clone, Debug)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub admin: Option<(String, String)>,
    pub secret_key: Option<String>,
    pub jobs: JobsMode,
    pub public_url: Option<String>,
    pub trust_proxy: bool,
    pub metrics_token: Option<String>,
    pub metrics_listen: Option<SocketAddr>,
    pub max_connections: usize,
    pub panel_deny_private: bool,
    pub log_json: bool,
    pub sync_interval_secs: u64,
    pub wallet_price_per_gb: i64,
    pub wallet_suspension_threshold: i64,
    pub quarantine_max_mbit_per_sec: i64,
    pub quarantine_limit_factor: i64,
}

/// Raw values by key, merged from the file and the environment.
struct Sources {
    values: HashMap<&'static str, (String, String)>,
}

impl Sources {
    fn load(file: Option<&Path>, env: &HashMap<String, String>) -> Result<Sources> {
        let mut values = HashMap::new();
        if let Some(path) = file {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading config file {}", path.display()))?;
            let table: toml::Table = toml::from_str(&text)
                .with_context(|| format!("parsing config file {}", path.display()))?;
            for (k, v) in table {
                let key = KEYS.iter().find(|key| key.name == k).ok_or_else(|| {
                    anyhow!(
                        "{}: unknown key `{k}`; known keys: {}",
                        path.display(),
                        names()
                    )
                })?;
                let text = match v {
                    toml::Value::String(s) => s,
                    other => other.to_string(),
                };
                values.insert(key.name, (text, format!("`{k}` in {}", path.display())));
            }
        }
        for key in KEYS {
            let var = env_name(key.name);
            if let Some(v) = env.get(&var) {
                values.insert(key.name, (v.clone(), var));
            }
        }
        // The seed's names for the wallet defaults are accepted too (the prefixed ones win).
        for (legacy, key) in [
            ("WALLET_PRICE_PER_GB", "wallet_price_per_gb"),
            ("WALLET_SUSPENSION_THRESHOLD", "wallet_suspension_threshold"),
        ] {
            if let (Some(v), false) = (env.get(legacy), env.contains_key(&env_name(key))) {
                let key = KEYS.iter().find(|k| k.name == key).expect("listed").name;
                values.insert(key, (v.clone(), legacy.to_string()));
            }
        }
        Ok(Sources { values })
    }

    /// The value and where it came from (for error messages).
    fn get(&self, key: &'static str) -> Option<(&str, &str)> {
        self.values
            .get(key)
            .map(|(v, src)| (v.as_str(), src.as_str()))
            .filter(|(v, _)| !v.is_empty())
    }

    fn source_name(&self, key: &'static str) -> String {
        self.values
            .get(key)
            .map(|(_, s)| s.clone())
            .unwrap_or_else(|| env_name(key))
    }
}

pub fn env_name(key: &str) -> String {
    format!("VPNMARKET_{}", key.to_uppercase())
}

fn names() -> String {
    KEYS.iter().map(|k| k.name).collect::<Vec<_>>().join(", ")
}

fn parse_int(s: &Sources, key: &'static str, default: i64, min: i64, max: i64) -> Result<i64> {
    match s.get(key) {
        None => Ok(default),
        Some((v, src)) => match v.trim().parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => bail!("{src}: expected a whole number from {min} to {max}, got `{v}`"),
        },
    }
}

fn parse_bool(s: &Sources, key: &'static str) -> Result<bool> {
    match s.get(key) {
        None => Ok(false),
        Some((v, src)) => match v.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Ok(true),
            "false" | "0" | "no" => Ok(false),
            _ => bail!("{src}: expected true or false, got `{v}`"),
        },
    }
}

impl Config {
    pub fn from_env(file: Option<&Path>) -> Result<Config> {
        Self::from_sources(file, &utf8_env()?)
    }

    pub fn from_sources(file: Option<&Path>, env: &HashMap<String, String>) -> Result<Config> {
        let s = Sources::load(file, env)?;
        let listen = match s.get("listen") {
            None => "127.0.0.1:8080".parse().expect("valid default"),
            Some((v, src)) => v.parse().map_err(|_| {
                anyhow!("{src}: expected an address like 127.0.0.1:8080, got `{v}`")
            })?,
        };
        let data_dir = PathBuf::from(s.get("data_dir").map(|(v, _)| v).unwrap_or("./data"));
        let database_url = match s.get("database_url") {
            Some((v, src)) => {
                db::Backend::from_url(v).map_err(|_| {
                    anyhow!("{src}: expected sqlite://PATH or postgres://USER@HOST/DB, got `{v}`")
                })?;
                v.to_string()
            }
            None => String::new(), // filled in once the data directory exists (absolute path)
        };
        let admin = match (s.get("admin_username"), s.get("admin_password")) {
            (Some((u, _)), Some((p, src))) => {
                // The rule every form applies, checked here so the message names the variable.
                if let Err(key) = web::password::check_strength(p) {
                    bail!("{src}: {}", web::i18n::english(key));
                }
                Some((u.to_string(), p.to_string()))
            }
            (None, None) => None,
            (Some(_), None) => bail!(
                "{} is set but {} is not: set both or neither",
                s.source_name("admin_username"),
                env_name("admin_password")
            ),
            (None, Some(_)) => bail!(
                "{} is set but {} is not: set both or neither",
                s.source_name("admin_password"),
                env_name("admin_username")
            ),
        };
        let secret_key = match s.get("secret_key") {
            Some((v, src)) if v.chars().count() < 32 => bail!(
                "{src}: must be at least 32 characters (got {})",
                v.chars().count()
            ),
            other => other.map(|(v, _)| v.to_string()),
        };
        let jobs = match s.get("jobs") {
            None => JobsMode::Auto,
            Some((v, src)) => match v.trim() {
                "auto" => JobsMode::Auto,
                "manual" => JobsMode::Manual,
                _ => bail!("{src}: expected `auto` or `manual`, got `{v}`"),
            },
        };
        let public_url = match s.get("public_url") {
            None => None,
            Some((v, src)) => {
                if !(v.starts_with("http://") || v.starts_with("https://")) {
                    bail!("{src}: expected a URL starting with http:// or https://, got `{v}`");
                }
                Some(v.trim_end_matches('/').to_string())
            }
        };
        let log_json = match s.get("log_format") {
            None => false,
            Some((v, src)) => match v.trim() {
                "text" => false,
                "json" => true,
                _ => bail!("{src}: expected `text` or `json`, got `{v}`"),
            },
        };
        Ok(Config {
            listen,
            data_dir,
            database_url,
            admin,
            secret_key,
            jobs,
            public_url,
            trust_proxy: parse_bool(&s, "trust_proxy")?,
            metrics_token: match s.get("metrics_token") {
                None => None,
                Some((v, src)) => {
                    let v = v.trim();
                    if v.len() < 16 || !v.bytes().all(|b| b.is_ascii_graphic()) {
                        bail!("{src}: expected a token of at least 16 visible characters");
                    }
                    Some(v.to_string())
                }
            },
            metrics_listen: match s.get("metrics_listen") {
                None => None,
                Some((v, src)) => Some(v.trim().parse().with_context(|| {
                    format!("{src}: expected an address such as 127.0.0.1:9100, got `{v}`")
                })?),
            },
            panel_deny_private: parse_bool(&s, "panel_deny_private")?,
            max_connections: parse_int(&s, "max_connections", 4096, 16, 1_000_000)? as usize,
            log_json,
            sync_interval_secs: parse_int(&s, "sync_interval_secs", 60, 10, 86_400)? as u64,
            wallet_price_per_gb: parse_int(&s, "wallet_price_per_gb", 780, 0, 1_000_000_000)?,
            wallet_suspension_threshold: parse_int(
                &s,
                "wallet_suspension_threshold",
                -1000,
                -1_000_000_000_000,
                1_000_000_000_000,
            )?,
            quarantine_max_mbit_per_sec: parse_int(
                &s,
                "quarantine_max_mbit_per_sec",
                10_000,
                1,
                10_000_000,
            )?,
            quarantine_limit_factor: parse_int(&s, "quarantine_limit_factor", 100, 1, 1_000_000)?,
        })
    }

    /// Creates the data directory and fills in the default SQLite URL with its absolute path.
    pub fn prepare_data_dir(&mut self) -> Result<()> {
        std::fs::create_dir_all(&self.data_dir).with_context(|| {
            format!(
                "{}: cannot create data directory {}",
                env_name("data_dir"),
                self.data_dir.display()
            )
        })?;
        self.data_dir = self.data_dir.canonicalize()?;
        // Credentials, receipts and the ledger live here: the service's user only, whatever
        // the umask it was started with.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&self.data_dir, std::fs::Permissions::from_mode(0o700))
                .with_context(|| format!("making {} private", self.data_dir.display()))?;
        }
        if self.database_url.is_empty() {
            let file = self.data_dir.join("vpnmarket.db");
            // Created 0600 before SQLite opens it; SQLite gives its -wal and -shm files the
            // database file's mode.
            if !file.exists() {
                write_private(&file, "")?;
            }
            self.database_url = format!("sqlite://{}?mode=rwc", url_path(&file));
        }
        Ok(())
    }

    /// The configured secret, or the one kept in `<data_dir>/secret.key` (created 0600 once).
    pub fn load_or_create_secret(&self) -> Result<String> {
        if let Some(k) = &self.secret_key {
            return Ok(k.clone());
        }
        let path = self.data_dir.join("secret.key");
        if path.exists() {
            let k = std::fs::read_to_string(&path)?.trim().to_string();
            if k.chars().count() < 32 {
                bail!("{} holds fewer than 32 characters; delete it to generate a new one (stored panel passwords will need re-entering)", path.display());
            }
            return Ok(k);
        }
        let key = engine::secrets::random_token();
        write_private(&path, &key)?;
        tracing::info!(path = %path.display(), "generated a new secret key");
        Ok(key)
    }

    pub fn reference_markdown() -> String {
        let mut out =
            String::from("| Variable | TOML key | Default | Meaning |\n|---|---|---|---|\n");
        for k in KEYS {
            // An empty code span would print as two backquotes.
            let default = match k.default {
                "" => "(none)".to_string(),
                d => format!("`{d}`"),
            };
            out.push_str(&format!(
                "| `{}` | `{}` | {default} | {} |\n",
                env_name(k.name),
                k.name,
                k.help.replace('|', "\\|")
            ));
        }
        out
    }
}

/// The process environment as text. A variable that is not valid UTF-8 is skipped (reading it
/// with `std::env::vars` would panic), unless it is one of ours, which is then refused by name.
fn utf8_env() -> Result<HashMap<String, String>> {
    let mut env = HashMap::new();
    for (name, value) in std::env::vars_os() {
        match (name.into_string(), value.into_string()) {
            (Ok(n), Ok(v)) => {
                env.insert(n, v);
            }
            (Ok(n), Err(_)) if n.starts_with("VPNMARKET_") || n.starts_with("WALLET_") => {
                bail!("{n}: the value is not valid UTF-8")
            }
            _ => {}
        }
    }
    Ok(env)
}

/// A file path as the path of a `sqlite://` URL: sqlx splits the URL at `?` and percent-decodes
/// the path, so `%`, `?` and `#` in a directory name must be escaped to survive.
fn url_path(path: &Path) -> String {
    let mut out = String::new();
    for c in path.display().to_string().chars() {
        match c {
            '%' => out.push_str("%25"),
            '?' => out.push_str("%3F"),
            '#' => out.push_str("%23"),
            c => out.push(c),
        }
    }
    out
}

fn write_private(path: &Path, contents: &str) -> Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(contents.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_apply_without_any_setting() {
        let c = Config::from_sources(None, &env(&[])).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.jobs, JobsMode::Auto);
        assert_eq!(c.wallet_price_per_gb, 780);
        assert_eq!(c.wallet_suspension_threshold, -1000);
        assert!(c.admin.is_none());
    }

    #[test]
    fn a_bad_value_names_the_variable_and_what_is_allowed() {
        let e = Config::from_sources(None, &env(&[("VPNMARKET_JOBS", "sometimes")]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("VPNMARKET_JOBS") && e.contains("auto") && e.contains("manual"),
            "{e}"
        );
        let e = Config::from_sources(None, &env(&[("VPNMARKET_LISTEN", "nowhere")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("VPNMARKET_LISTEN"), "{e}");
        let e = Config::from_sources(None, &env(&[("VPNMARKET_SECRET_KEY", "short")]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("VPNMARKET_SECRET_KEY") && e.contains("32"),
            "{e}"
        );
        let e = Config::from_sources(None, &env(&[("VPNMARKET_DATABASE_URL", "mysql://x")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("VPNMARKET_DATABASE_URL"), "{e}");
        let e = Config::from_sources(None, &env(&[("VPNMARKET_ADMIN_USERNAME", "root")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("VPNMARKET_ADMIN_PASSWORD"), "{e}");
    }

    #[test]
    fn the_admin_password_follows_the_form_rule_and_the_message_names_the_variable() {
        let long = "a".repeat(300);
        for bad in ["short", long.as_str()] {
            let e = Config::from_sources(
                None,
                &env(&[
                    ("VPNMARKET_ADMIN_USERNAME", "boss"),
                    ("VPNMARKET_ADMIN_PASSWORD", bad),
                ]),
            )
            .unwrap_err()
            .to_string();
            assert!(e.contains("VPNMARKET_ADMIN_PASSWORD"), "{e}");
        }
    }

    #[test]
    fn the_default_sqlite_file_opens_in_a_directory_with_url_characters_in_its_name() {
        let root = std::env::temp_dir().join(format!("vm-cfg-url-{}", std::process::id()));
        for name in ["with space", "100%25", "a?b#c", "داده"] {
            let dir = root.join(name);
            let mut c = Config::from_sources(None, &env(&[])).unwrap();
            c.data_dir = dir.clone();
            c.prepare_data_dir().unwrap();
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let db = db::Db::connect(&c.database_url, 1)
                    .await
                    .unwrap_or_else(|e| panic!("{}: {e}", c.database_url));
                db.ping().await.unwrap();
                db.close().await;
            });
            assert!(dir.join("vpnmarket.db").exists(), "{}", c.database_url);
        }
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn the_reference_is_a_well_formed_markdown_table() {
        let md = Config::reference_markdown();
        assert_eq!(md.lines().count(), KEYS.len() + 2);
        for line in md.lines() {
            // Four cells: no stray pipes, and no bare `<...>` a renderer would take for HTML.
            assert_eq!(
                line.matches('|').count() - line.matches("\\|").count(),
                5,
                "{line}"
            );
            assert!(!line.contains("``"), "empty code span: {line}");
            let outside_code: String = line.split('`').step_by(2).collect();
            assert!(!outside_code.contains('<'), "{line}");
        }
    }

    #[test]
    fn the_seed_wallet_variables_are_accepted_and_the_prefixed_ones_win() {
        let c = Config::from_sources(
            None,
            &env(&[
                ("WALLET_PRICE_PER_GB", "1000"),
                ("WALLET_SUSPENSION_THRESHOLD", "-5000"),
            ]),
        )
        .unwrap();
        assert_eq!(
            (c.wallet_price_per_gb, c.wallet_suspension_threshold),
            (1000, -5000)
        );
        let c = Config::from_sources(
            None,
            &env(&[
                ("WALLET_PRICE_PER_GB", "1000"),
                ("VPNMARKET_WALLET_PRICE_PER_GB", "900"),
            ]),
        )
        .unwrap();
        assert_eq!(c.wallet_price_per_gb, 900);
        let e = Config::from_sources(None, &env(&[("WALLET_PRICE_PER_GB", "cheap")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("WALLET_PRICE_PER_GB"), "{e}");
    }

    #[test]
    fn a_toml_file_is_read_and_the_environment_overrides_it() {
        let dir = std::env::temp_dir().join(format!("vm-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("c.toml");
        std::fs::write(
            &file,
            "listen = \"0.0.0.0:9000\"\njobs = \"manual\"\nsync_interval_secs = 30\n",
        )
        .unwrap();
        let c = Config::from_sources(Some(&file), &env(&[("VPNMARKET_LISTEN", "127.0.0.1:9100")]))
            .unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:9100");
        assert_eq!(c.jobs, JobsMode::Manual);
        assert_eq!(c.sync_interval_secs, 30);
        std::fs::write(&file, "colour = \"blue\"\n").unwrap();
        let e = Config::from_sources(Some(&file), &env(&[]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("colour"), "{e}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
