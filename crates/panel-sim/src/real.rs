//! Test support for the real panels `../shared/real-panels/start.sh` runs: their addresses from the
//! `REAL_*` variables of `panels.env`, adapter configs, fresh usernames, traffic written into the
//! panel's SQLite file, and deletion of what a test created. Shared by the panels, engine and web tests.
//!
//! ```ignore
//! let Some(panel) = RealPanel::from_env(RealKind::Marzban) else { return }; // prints why, fails under CI=true
//! let name = panel.username("reset");          // e.g. `t_reset_k3x9q2mw`, deleted when `panel` drops
//! let client = panels::connect(panel.panel_config()).unwrap();
//! panel.add_traffic(&name, 5 << 20).await;     // what the panel's usage job would record
//! ```

use std::fmt;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use panels::{PanelConfig, PanelKind, PanelSettings};
use rand::Rng;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::ConnectOptions;

/// The panels start.sh runs (Marzban v0.8.4, Marzneshin d3b25e2, PasarGuard v3.1.0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RealKind {
    Marzban,
    Marzneshin,
    PasarGuard,
}

impl RealKind {
    pub const ALL: [RealKind; 3] = [
        RealKind::Marzban,
        RealKind::Marzneshin,
        RealKind::PasarGuard,
    ];

    pub fn as_str(self) -> &'static str {
        self.panel_kind().as_str()
    }

    pub fn panel_kind(self) -> PanelKind {
        match self {
            RealKind::Marzban => PanelKind::Marzban,
            RealKind::Marzneshin => PanelKind::Marzneshin,
            RealKind::PasarGuard => PanelKind::PasarGuard,
        }
    }

    /// `REAL_MARZBAN`, the prefix of its `_URL` and `_DB` variables.
    fn env_prefix(self) -> String {
        format!("REAL_{}", self.as_str().to_ascii_uppercase())
    }

    /// Where start.sh's panels put new users: Marzneshin's service 1 and PasarGuard's group 1
    /// (both `default`, created by start.sh); Marzban joins every inbound.
    fn settings(self) -> PanelSettings {
        let mut s = PanelSettings::default();
        if matches!(self, RealKind::Marzneshin | RealKind::PasarGuard) {
            s.service_ids = vec![1];
        }
        s
    }
}

impl fmt::Display for RealKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One real panel, and the users a test made on it: dropping it deletes them over the panel's API.
pub struct RealPanel {
    pub kind: RealKind,
    pub url: String,
    /// The panel's SQLite file.
    pub db: PathBuf,
    pub username: String,
    pub password: String,
    created: Mutex<Vec<String>>,
}

impl fmt::Debug for RealPanel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RealPanel")
            .field("kind", &self.kind)
            .field("url", &self.url)
            .field("db", &self.db)
            .finish()
    }
}

/// Whether absent real panels fail the run (CI) rather than skip the test.
fn required() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

impl RealPanel {
    /// The panel from `REAL_<KIND>_URL`, `REAL_<KIND>_DB`, `REAL_PANELS_USER` and
    /// `REAL_PANELS_PASSWORD`. Where one is missing it prints one line saying the test was skipped
    /// and why, and returns None; with `CI=true` it panics instead.
    pub fn from_env(kind: RealKind) -> Option<RealPanel> {
        match Self::read_env(kind) {
            Ok(p) => Some(p),
            Err(missing) => {
                let test = std::thread::current()
                    .name()
                    .unwrap_or("a real-panel test")
                    .to_string();
                let why = format!(
                    "{missing} is not set (run `bash ../shared/real-panels/start.sh` and `. /tmp/panels/panels.env`)"
                );
                if required() {
                    panic!("{test}: CI=true needs the real {kind} panel, but {why}");
                }
                // Straight to the stream, not `eprintln!`: the test harness would swallow that
                // for a passing test, and a skip must be seen.
                let _ = writeln!(
                    std::io::stderr(),
                    "skipped {test}: no real {kind} panel: {why}"
                );
                None
            }
        }
    }

    fn read_env(kind: RealKind) -> Result<RealPanel, String> {
        let var = |name: String| match std::env::var(&name) {
            Ok(v) if !v.trim().is_empty() => Ok(v.trim().to_string()),
            _ => Err(name),
        };
        let prefix = kind.env_prefix();
        Ok(RealPanel {
            kind,
            url: var(format!("{prefix}_URL"))?,
            db: PathBuf::from(var(format!("{prefix}_DB"))?),
            username: var("REAL_PANELS_USER".into())?,
            password: var("REAL_PANELS_PASSWORD".into())?,
            created: Mutex::new(Vec::new()),
        })
    }

    /// What a panel row of this panel holds in `settings` (service or group ids).
    pub fn settings(&self) -> PanelSettings {
        self.kind.settings()
    }

    /// An adapter config with the admin login and the settings above.
    pub fn panel_config(&self) -> PanelConfig {
        let mut c = PanelConfig::new(self.kind.panel_kind(), self.url.clone())
            .with_login(self.username.clone(), self.password.clone());
        c.settings = self.settings();
        c.connect_timeout = Duration::from_secs(5);
        c.request_timeout = Duration::from_secs(20);
        c
    }

    /// A name no other run uses, `t_{stem}_{8 random}` in lower case (Marzneshin lower-cases
    /// and soft-deletes, so names are never reused), at most 32 characters; deleted on drop.
    pub fn username(&self, stem: &str) -> String {
        let stem: String = stem
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .take(20)
            .collect::<String>()
            .to_ascii_lowercase();
        let stem = if stem.is_empty() {
            "u".to_string()
        } else {
            stem
        };
        let mut rng = rand::thread_rng();
        let suffix: String = (0..8)
            .map(|_| {
                let i = rng.gen_range(0..36u8);
                char::from(if i < 10 { b'0' + i } else { b'a' + i - 10 })
            })
            .collect();
        let name = format!("t_{stem}_{suffix}");
        self.track(&name);
        name
    }

    /// Deletes `username` from the panel when this value drops (for users the product creates
    /// under names it chose).
    pub fn track(&self, username: &str) {
        let mut created = self.created.lock().unwrap_or_else(|e| e.into_inner());
        if !created.iter().any(|n| n == username) {
            created.push(username.to_string());
        }
    }

    /// Writes `users.used_traffic` in the panel's SQLite file, as its usage job would; the panel
    /// serves it at once. On Marzneshin `lifetime_used_traffic` is a separate column its usage job
    /// also raises, which this leaves alone; `add_traffic` raises both.
    pub async fn set_used_traffic(&self, username: &str, bytes: i64) {
        let sql = "UPDATE users SET used_traffic = $1 WHERE username = $2";
        self.update_user_row(sql, bytes, username, "writing used_traffic of")
            .await;
    }

    /// `bytes` more traffic for `username`, counted the way the panel's own usage job counts it.
    pub async fn add_traffic(&self, username: &str, bytes: i64) {
        let sql = match self.kind {
            RealKind::Marzneshin => {
                "UPDATE users SET used_traffic = used_traffic + $1, \
                 lifetime_used_traffic = lifetime_used_traffic + $1 WHERE username = $2"
            }
            // Their lifetime counter adds the reset history to `used_traffic`.
            RealKind::Marzban | RealKind::PasarGuard => {
                "UPDATE users SET used_traffic = used_traffic + $1 WHERE username = $2"
            }
        };
        self.update_user_row(sql, bytes, username, "adding traffic to")
            .await;
    }

    /// Runs `sql` with `$1 = bytes`, `$2 = username` on the panel's file; it must change exactly
    /// that user's row. `doing` names the write in the panic.
    async fn update_user_row(&self, sql: &str, bytes: i64, username: &str, doing: &str) {
        let mut conn = self.open().await;
        let n = sqlx::query(sql)
            .bind(bytes)
            .bind(username)
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{}: {doing} {username}: {e}", self.kind))
            .rows_affected();
        assert_eq!(n, 1, "{}: no user {username} in {:?}", self.kind, self.db);
    }

    async fn open(&self) -> SqliteConnection {
        // The panel holds the file open; wait for its write lock instead of failing at once.
        SqliteConnectOptions::new()
            .filename(&self.db)
            .busy_timeout(Duration::from_secs(15))
            .disable_statement_logging()
            .connect()
            .await
            .unwrap_or_else(|e| panic!("{}: cannot open {:?}: {e}", self.kind, self.db))
    }

    /// Deletes every user this value made or tracked, now; what drop does too.
    pub async fn cleanup(&self) {
        let names = std::mem::take(&mut *self.created.lock().unwrap_or_else(|e| e.into_inner()));
        if names.is_empty() {
            return;
        }
        let Ok(client) = panels::connect(self.panel_config()) else {
            return;
        };
        for name in names {
            if let Err(e) = client.delete_user(&name).await {
                eprintln!("{}: could not delete test user {name}: {e}", self.kind);
            }
        }
    }
}

impl Drop for RealPanel {
    /// Deletes what is left, also when the test panicked: on a thread with its own runtime, since
    /// drop cannot wait on the test's.
    fn drop(&mut self) {
        let names = std::mem::take(&mut *self.created.lock().unwrap_or_else(|e| e.into_inner()));
        if names.is_empty() {
            return;
        }
        let rest = RealPanel {
            kind: self.kind,
            url: self.url.clone(),
            db: self.db.clone(),
            username: self.username.clone(),
            password: self.password.clone(),
            created: Mutex::new(names),
        };
        let worker =
            std::thread::spawn(move || {
                match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt.block_on(rest.cleanup()),
                    Err(e) => eprintln!("cannot clean up real-panel test users: {e}"),
                }
            });
        let _ = worker.join();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn panel() -> RealPanel {
        RealPanel {
            kind: RealKind::Marzneshin,
            url: "http://127.0.0.1:1".into(),
            db: PathBuf::from("/nonexistent"),
            username: "a".into(),
            password: "b".into(),
            created: Mutex::new(Vec::new()),
        }
    }

    #[test]
    fn usernames_fit_every_panel_and_are_tracked() {
        let p = panel();
        let a = p.username("Reset-Disabled user!");
        let b = p.username("reset");
        assert_ne!(a, b);
        for n in [&a, &b] {
            assert!((3..=32).contains(&n.len()), "{n}");
            assert!(n
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'));
            assert!(!n.contains("__"), "{n}");
        }
        assert!(a.starts_with("t_resetdisableduser_"), "{a}");
        p.track(&a);
        let tracked = std::mem::take(&mut *p.created.lock().unwrap());
        assert_eq!(tracked, vec![a, b], "tracked once each");
    }
}
