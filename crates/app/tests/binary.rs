//! The `vpnmarket` binary as an operator runs it: first start, restart, the maintenance commands
//! and configuration errors, each in a fresh data directory (and a fresh PostgreSQL database when
//! `TEST_DATABASE_URL` is set). Every child process is killed when its guard drops.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_vpnmarket");
/// Generous: a loaded 2-core CI machine may run several test binaries beside this one.
const START_TIMEOUT: Duration = Duration::from_secs(60);
const EXIT_TIMEOUT: Duration = Duration::from_secs(60);

/// A data directory and, on PostgreSQL, a database of its own; both removed on drop.
struct Place {
    data_dir: PathBuf,
    /// `None` on SQLite: the binary then uses its default file in the data directory.
    database_url: Option<String>,
    /// A fresh database on the server of `TEST_DATABASE_URL`, dropped with the guard.
    _pg: Option<db::testing::TestDb>,
}

impl Place {
    async fn new() -> Place {
        let data_dir =
            std::env::temp_dir().join(format!("vpnmarket-bin-{}-{}", std::process::id(), unique()));
        let pg = match std::env::var("TEST_DATABASE_URL") {
            Ok(url) if !url.is_empty() => Some(
                db::testing::TestDb::postgres(&url)
                    .await
                    .expect("a fresh database on TEST_DATABASE_URL"),
            ),
            _ => None,
        };
        Place {
            data_dir,
            database_url: pg.as_ref().map(|p| p.url.clone()),
            _pg: pg,
        }
    }

    /// `vpnmarket` with this place's settings and nothing inherited from the caller's `VPNMARKET_*`.
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.args(args);
        for (name, _) in std::env::vars_os() {
            let n = name.to_string_lossy();
            if n.starts_with("VPNMARKET_") || n.starts_with("WALLET_") {
                cmd.env_remove(&name);
            }
        }
        cmd.env("VPNMARKET_DATA_DIR", &self.data_dir)
            .env("VPNMARKET_LISTEN", "127.0.0.1:0")
            .env("VPNMARKET_LOG", "info,sqlx=warn");
        if let Some(url) = &self.database_url {
            cmd.env("VPNMARKET_DATABASE_URL", url);
        }
        cmd
    }

    fn serve(&self, extra_env: &[(&str, &str)]) -> Server {
        let mut cmd = self.command(&[]);
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        Server::start(cmd)
    }

    /// Runs a command to completion, with `stdin` piped in.
    fn run(&self, args: &[&str], env: &[(&str, &str)], stdin: &str) -> Finished {
        let mut cmd = self.command(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        run_to_end(cmd, stdin)
    }

    async fn admin_count(&self) -> i64 {
        let url = self.database_url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rw",
                self.data_dir.join("vpnmarket.db").display()
            )
        });
        let db = db::Db::connect(&url, 1).await.expect("open the database");
        let mut conn = db.acquire().await.unwrap();
        let n = db::users::count_admins(&mut conn).await.unwrap();
        drop(conn);
        db.close().await;
        n
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

fn unique() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{nanos}_{}", N.fetch_add(1, Ordering::Relaxed))
}

/// A running `vpnmarket serve`. Dropping it kills the process, so a failing test never leaves
/// one behind.
struct Server {
    child: Option<Child>,
    base: String,
    /// Everything printed on stdout up to and including the "running at" line.
    banner: Vec<String>,
    stderr: Arc<Mutex<String>>,
}

impl Server {
    fn start(mut cmd: Command) -> Server {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn vpnmarket");
        let (stderr, _) = drain(child.stderr.take().unwrap());
        // Lines arrive through a channel so that waiting for them can time out.
        let (tx, rx) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                match line {
                    Ok(l) => {
                        if tx.send(l).is_err() {
                            break;
                        }
                    }
                    Err(_) => break,
                }
            }
        });
        let mut server = Server {
            child: Some(child),
            base: String::new(),
            banner: Vec::new(),
            stderr,
        };
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    let running = line
                        .split_once("running at ")
                        .map(|(_, rest)| rest.split_whitespace().next().unwrap_or("").to_string());
                    server.banner.push(line);
                    if let Some(url) = running {
                        server.base = url;
                        break;
                    }
                }
                Err(e) => panic!(
                    "vpnmarket did not print its address ({e:?}); stdout so far: {:?}; stderr: {}",
                    server.banner,
                    server.stderr()
                ),
            }
        }
        // The lines after the address say how to sign in; every variant ends with a line that
        // mentions it. Waiting for that line (not for a pause) keeps a slow machine from cutting
        // the banner short.
        while !server.banner.last().is_some_and(|l| l.contains("sign in")) {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => server.banner.push(line),
                Err(e) => panic!(
                    "vpnmarket did not say how to sign in ({e:?}); stdout so far: {:?}",
                    server.banner
                ),
            }
        }
        // Keep draining stdout so the child never blocks on a full pipe.
        std::thread::spawn(move || while rx.recv().is_ok() {});
        assert!(
            server.base.starts_with("http://127.0.0.1:"),
            "{:?}",
            server.banner
        );
        server
    }

    fn banner_text(&self) -> String {
        self.banner.join("\n")
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// The generated password from "created admin `admin` with password `...`".
    fn generated_password(&self) -> String {
        let line = self
            .banner
            .iter()
            .find(|l| l.contains("with password `"))
            .unwrap_or_else(|| panic!("no generated password in {:?}", self.banner));
        line.split("with password `")
            .nth(1)
            .and_then(|rest| rest.split('`').next())
            .expect("password in backquotes")
            .to_string()
    }

    /// Stops the server the way an operator does (SIGTERM) and returns its exit status.
    fn stop(mut self) -> ExitStatus {
        let mut child = self.child.take().unwrap();
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        match wait_timeout(&mut child, EXIT_TIMEOUT) {
            Some(status) => status,
            None => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "vpnmarket did not stop within {EXIT_TIMEOUT:?} of SIGTERM; stderr: {}",
                    self.stderr()
                );
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Reads a pipe to its end on a thread, so the child never blocks on a full pipe.
fn drain(mut from: impl Read + Send + 'static) -> (Arc<Mutex<String>>, JoinHandle<()>) {
    let out = Arc::new(Mutex::new(String::new()));
    let sink = out.clone();
    let handle = std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    (out, handle)
}

fn wait_timeout(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

struct Finished {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

impl std::fmt::Debug for Finished {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}\n--- stdout\n{}\n--- stderr\n{}",
            self.status, self.stdout, self.stderr
        )
    }
}

/// Runs a command that is expected to finish; kills it if it outlives the timeout.
fn run_to_end(mut cmd: Command, stdin: &str) -> Finished {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn vpnmarket");
    let (stdout, out_done) = drain(child.stdout.take().unwrap());
    let (stderr, err_done) = drain(child.stderr.take().unwrap());
    {
        let mut input = child.stdin.take().unwrap();
        let _ = input.write_all(stdin.as_bytes());
        // Dropping closes the pipe: end of input.
    }
    let status = match wait_timeout(&mut child, EXIT_TIMEOUT) {
        Some(s) => s,
        None => {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "vpnmarket {:?} did not finish within {EXIT_TIMEOUT:?}; stderr: {}",
                cmd.get_args().collect::<Vec<_>>(),
                stderr.lock().unwrap()
            );
        }
    };
    // The pipes close when the process exits, which ends both readers.
    let _ = out_done.join();
    let _ = err_done.join();
    let stdout = stdout.lock().unwrap().clone();
    let stderr = stderr.lock().unwrap().clone();
    Finished {
        status,
        stdout,
        stderr,
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// `POST /api/v1/auth/token`: the status and, on success, the body.
async fn sign_in(server: &Server, username: &str, password: &str) -> (u16, serde_json::Value) {
    let res = http()
        .post(server.url("/api/v1/auth/token"))
        .json(&serde_json::json!({ "username": username, "password": password }))
        .send()
        .await
        .expect("token request");
    let status = res.status().as_u16();
    let body = res.json().await.unwrap_or(serde_json::Value::Null);
    (status, body)
}

async fn token_for(server: &Server, username: &str, password: &str) -> String {
    let (status, body) = sign_in(server, username, password).await;
    assert_eq!(status, 200, "sign in as {username}: {body}");
    assert_eq!(body["role"], "admin", "{body}");
    body["token"].as_str().expect("token").to_string()
}

/// `GET /api/v1/tokens` with a bearer token: 200 only when the token is known and valid.
async fn token_works(server: &Server, token: &str) -> bool {
    let res = http()
        .get(server.url("/api/v1/tokens"))
        .bearer_auth(token)
        .send()
        .await
        .expect("tokens request");
    res.status().as_u16() == 200
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

// Multi-threaded runtimes: these tests block their thread on child processes (reading output,
// waiting for exit) between HTTP calls, so the client's connection tasks need another worker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_start_creates_an_admin_whose_password_keeps_working_after_a_restart() {
    let place = Place::new().await;
    let server = place.serve(&[]);
    let banner = server.banner_text();
    assert!(banner.contains("first start"), "{banner}");
    let password = server.generated_password();
    assert!(password.len() >= 8, "{password}");

    let health = http().get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    assert!(health.headers().contains_key("x-request-id"));

    let token = token_for(&server, "admin", &password).await;
    assert!(token_works(&server, &token).await);
    let (status, _) = sign_in(&server, "admin", "not-the-password").await;
    assert_eq!(status, 401);

    let key_file = place.data_dir.join("secret.key");
    assert!(key_file.exists(), "the secret key is kept in the data dir");
    #[cfg(unix)]
    assert_eq!(mode(&key_file), 0o600, "secret.key must be private");
    let key = std::fs::read_to_string(&key_file).unwrap();
    assert!(key.trim().len() >= 32);
    if place.database_url.is_none() {
        assert!(place.data_dir.join("vpnmarket.db").exists());
    }

    let status = server.stop();
    assert!(status.success(), "SIGTERM shuts down cleanly: {status}");

    // Same data dir: the admin and the key survive, and no second admin is made.
    let server = place.serve(&[]);
    let banner = server.banner_text();
    assert!(!banner.contains("first start"), "{banner}");
    assert!(!banner.contains("with password"), "{banner}");
    assert!(banner.contains("sign in with an admin account"), "{banner}");
    assert_eq!(std::fs::read_to_string(&key_file).unwrap(), key);
    // A token issued before the restart is still honoured: its keyed hash needs the same key.
    assert!(token_works(&server, &token).await);
    token_for(&server, "admin", &password).await;
    assert_eq!(place.admin_count().await, 1);
    drop(server);
}

/// The database and the data directory hold credentials and money: nobody but the service's
/// user may read them, whatever the umask it was started with.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_files_are_owner_only() {
    let place = Place::new().await;
    let server = place.serve(&[]);
    server.generated_password();
    assert_eq!(mode(&place.data_dir), 0o700, "the data directory");
    if place.database_url.is_none() {
        let db = place.data_dir.join("vpnmarket.db");
        assert_eq!(mode(&db) & 0o077, 0, "the SQLite file: {:o}", mode(&db));
        for side in ["vpnmarket.db-wal", "vpnmarket.db-shm"] {
            let f = place.data_dir.join(side);
            if f.exists() {
                assert_eq!(mode(&f) & 0o077, 0, "{side}: {:o}", mode(&f));
            }
        }
    }
    let unit = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/vpnmarket.service"),
    )
    .unwrap();
    assert!(
        unit.lines().any(|l| l.trim() == "UMask=0077"),
        "the systemd unit sets UMask=0077"
    );
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_from_the_environment_is_created_on_first_start() {
    let place = Place::new().await;
    let server = place.serve(&[
        ("VPNMARKET_ADMIN_USERNAME", "boss"),
        ("VPNMARKET_ADMIN_PASSWORD", "boss-password-1"),
    ]);
    let banner = server.banner_text();
    assert!(banner.contains("`boss`"), "{banner}");
    assert!(!banner.contains("with password `"), "{banner}");
    assert!(
        !banner.contains("boss-password-1"),
        "never echo it: {banner}"
    );
    token_for(&server, "boss", "boss-password-1").await;
    let (status, _) = sign_in(&server, "admin", "boss-password-1").await;
    assert_eq!(
        status, 401,
        "no generated `admin` besides the configured one"
    );
    assert_eq!(place.admin_count().await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_and_admin_create_prepare_a_database_to_sign_in_with() {
    let place = Place::new().await;
    let out = place.run(&["migrate"], &[], "");
    assert!(out.status.success(), "{out:?}");
    assert!(out.stdout.contains("database is up to date"), "{out:?}");
    // Running it again is harmless.
    let out = place.run(&["migrate"], &[], "");
    assert!(out.status.success(), "{out:?}");

    // Not a terminal: the password is read from one line of standard input.
    let out = place.run(
        &["admin", "create", "--username", "ops"],
        &[],
        "ops-password-1\n",
    );
    assert!(out.status.success(), "{out:?}");
    assert!(out.stdout.contains("admin `ops` created"), "{out:?}");
    assert!(!out.stdout.contains("ops-password-1"), "{out:?}");

    let out = place.run(
        &["admin", "create", "--username", "ops"],
        &[],
        "another-password\n",
    );
    assert!(!out.status.success(), "a second `ops`: {out:?}");
    assert!(out.stderr.contains("login is taken"), "{out:?}");

    let out = place.run(&["admin", "create", "--username", "tiny"], &[], "short\n");
    assert!(!out.status.success(), "a short password: {out:?}");
    assert!(out.stderr.contains('8'), "says how long: {out:?}");

    let out = place.run(
        &[
            "admin",
            "create",
            "--username",
            "flag",
            "--password",
            "flag-password-1",
        ],
        &[],
        "",
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(place.admin_count().await, 2);

    // An admin exists, so the server generates none and names no password.
    let server = place.serve(&[]);
    let banner = server.banner_text();
    assert!(!banner.contains("first start"), "{banner}");
    token_for(&server, "ops", "ops-password-1").await;
    token_for(&server, "flag", "flag-password-1").await;
    let (status, _) = sign_in(&server, "ops", "another-password").await;
    assert_eq!(status, 401);
    assert_eq!(place.admin_count().await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_setting_stops_the_program_with_a_message_naming_the_variable() {
    let place = Place::new().await;
    for args in [&[][..], &["migrate"][..]] {
        let out = place.run(args, &[("VPNMARKET_JOBS", "sometimes")], "");
        assert!(!out.status.success(), "{out:?}");
        assert!(out.stderr.contains("VPNMARKET_JOBS"), "{out:?}");
        assert!(
            out.stderr.contains("auto") && out.stderr.contains("manual"),
            "says what is allowed: {out:?}"
        );
        assert!(out.stdout.is_empty(), "nothing served: {out:?}");
    }
    assert!(
        !place.data_dir.exists(),
        "a bad setting is refused before anything is written"
    );

    let out = place.run(&[], &[("VPNMARKET_LISTEN", "nowhere")], "");
    assert!(!out.status.success(), "{out:?}");
    assert!(out.stderr.contains("VPNMARKET_LISTEN"), "{out:?}");

    let out = place.run(&[], &[("VPNMARKET_ADMIN_USERNAME", "boss")], "");
    assert!(!out.status.success(), "{out:?}");
    assert!(out.stderr.contains("VPNMARKET_ADMIN_PASSWORD"), "{out:?}");

    // A port that is taken is named too.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = place.run(&[], &[("VPNMARKET_LISTEN", addr.as_str())], "");
    assert!(!out.status.success(), "{out:?}");
    assert!(out.stderr.contains("VPNMARKET_LISTEN"), "{out:?}");
    // ...and leaves no admin behind whose generated password nobody saw.
    if place.data_dir.join("vpnmarket.db").exists() || place.database_url.is_some() {
        assert_eq!(
            place.admin_count().await,
            0,
            "no admin created when the port is taken"
        );
    }
}

/// The README's configuration table is pasted from `vpnmarket config-reference`; this keeps the
/// two from drifting apart.
#[test]
fn the_readme_holds_the_current_configuration_reference() {
    let out = Command::new(BIN)
        .arg("config-reference")
        .output()
        .expect("run config-reference");
    assert!(out.status.success());
    let reference = String::from_utf8(out.stdout).unwrap();
    assert!(reference.contains("`VPNMARKET_JOBS`"), "{reference}");
    let readme_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
    let readme = std::fs::read_to_string(&readme_path).expect("README.md at the repository root");
    assert!(
        readme.contains(&reference),
        "README.md's configuration table differs from `cargo run -q -- config-reference`; \
         paste its output again:\n{reference}"
    );
    let guide_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/operations.md");
    let guide = std::fs::read_to_string(&guide_path).expect("docs/operations.md");
    assert!(
        guide.contains(&reference),
        "docs/operations.md's configuration table differs from `vpnmarket config-reference`"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_of_a_live_instance_restores_into_a_second_instance() {
    let place = Place::new().await;
    if place.database_url.is_some() {
        // PostgreSQL deployments back up with pg_dump; `backup` copies SQLite ones.
        let out = place.run(&["backup", "--out", "/tmp/never"], &[], "");
        assert!(!out.status.success());
        assert!(out.stderr.contains("pg_dump"), "{out:?}");
        return;
    }
    let server = place.serve(&[
        ("VPNMARKET_ADMIN_USERNAME", "ops"),
        ("VPNMARKET_ADMIN_PASSWORD", "backup-pass-1"),
    ]);
    let token = token_for(&server, "ops", "backup-pass-1").await;
    let created = http()
        .post(server.url("/api/v1/tokens"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"name": "before backup"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
    let named: serde_json::Value = created.json().await.unwrap();

    // The backup runs while the server is live.
    let out_dir = place.data_dir.with_extension("backup");
    let out = place.run(&["backup", "--out", out_dir.to_str().unwrap()], &[], "");
    assert!(out.status.success(), "{out:?}");
    assert!(out_dir.join("vpnmarket.db").exists() && out_dir.join("secret.key").exists());
    let refused = place.run(&["backup", "--out", out_dir.to_str().unwrap()], &[], "");
    assert!(
        !refused.status.success(),
        "never overwrites an earlier backup"
    );
    server.stop();

    // A second instance on the copy serves the same data: the admin, and the API token made
    // before the backup (whose keyed hash needs the copied secret key).
    let restored = Place {
        data_dir: out_dir,
        database_url: None,
        _pg: None,
    };
    let server = restored.serve(&[]);
    assert!(!server.banner_text().contains("first start"));
    assert!(token_works(&server, named["token"].as_str().unwrap()).await);
    token_for(&server, "ops", "backup-pass-1").await;
}

/// `admin passwd`, `admin list`, `admin disable` and `admin enable` on a stopped instance and on a running one
/// (issue 14): the running server sees each change at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_passwd_list_and_disable_work_on_a_stopped_and_a_running_instance() {
    let place = Place::new().await;
    assert!(place.run(&["migrate"], &[], "").status.success());
    let out = place.run(
        &["admin", "create", "--username", "ops"],
        &[],
        "ops-password-1\n",
    );
    assert!(out.status.success(), "{out:?}");
    // Stopped: a new password from standard input, refused when common.
    let out = place.run(
        &["admin", "passwd", "--username", "OPS"],
        &[],
        "password123\n",
    );
    assert!(!out.status.success(), "{out:?}");
    assert!(out.stderr.contains("common"), "{out:?}");
    let out = place.run(
        &["admin", "passwd", "--username", "ops"],
        &[],
        "ops-password-2\n",
    );
    assert!(out.status.success(), "{out:?}");
    assert!(!out.stdout.contains("ops-password-2"), "{out:?}");
    let out = place.run(&["admin", "disable", "--username", "ops"], &[], "");
    assert!(!out.status.success(), "the last active admin: {out:?}");
    assert!(out.stderr.contains("last active admin"), "{out:?}");

    // Running: the server sees each change.
    let server = place.serve(&[]);
    let (status, _) = sign_in(&server, "ops", "ops-password-1").await;
    assert_eq!(status, 401, "the old password");
    let ops_token = token_for(&server, "ops", "ops-password-2").await;
    let out = place.run(
        &["admin", "create", "--username", "second"],
        &[],
        "second-password-1\n",
    );
    assert!(out.status.success(), "{out:?}");
    let out = place.run(
        &["admin", "passwd", "--username", "second"],
        &[],
        "second-password-2\n",
    );
    assert!(out.status.success(), "{out:?}");
    token_for(&server, "second", "second-password-2").await;
    let out = place.run(&["admin", "list"], &[], "");
    assert!(out.status.success(), "{out:?}");
    assert!(
        out.stdout.contains("ops\tactive") && out.stdout.contains("second\tactive"),
        "{out:?}"
    );
    let out = place.run(&["admin", "disable", "--username", "ops"], &[], "");
    assert!(out.status.success(), "{out:?}");
    assert!(
        !token_works(&server, &ops_token).await,
        "a disabled admin's token stops"
    );
    let (status, _) = sign_in(&server, "ops", "ops-password-2").await;
    assert_eq!(status, 401);
    let out = place.run(&["admin", "list"], &[], "");
    assert!(out.stdout.contains("ops\tdisabled"), "{out:?}");
    let out = place.run(&["admin", "disable", "--username", "second"], &[], "");
    assert!(
        !out.status.success(),
        "never the last active admin: {out:?}"
    );
    // Enabled again, the admin signs in at once; enabling twice says so.
    let out = place.run(&["admin", "enable", "--username", "ops"], &[], "");
    assert!(out.status.success(), "{out:?}");
    token_for(&server, "ops", "ops-password-2").await;
    let out = place.run(&["admin", "enable", "--username", "ops"], &[], "");
    assert!(out.stderr.contains("already active"), "{out:?}");
    drop(server);
}
