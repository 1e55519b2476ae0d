//! Databases for tests: a fresh SQLite file per test, or, when `TEST_DATABASE_URL` points at
//! PostgreSQL, a fresh database per test on that server, dropped when the guard goes.

use crate::{migrate, Db, DbResult};
use sqlx::Executor;

/// A migrated database that lives as long as this value.
pub struct TestDb {
    pub db: Db,
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Dir(std::path::PathBuf),
    Postgres { admin_url: String, name: String },
}

impl TestDb {
    /// SQLite by default; PostgreSQL when `TEST_DATABASE_URL` is set.
    pub async fn new() -> DbResult<TestDb> {
        match std::env::var("TEST_DATABASE_URL") {
            Ok(url) if !url.is_empty() => Self::postgres(&url).await,
            _ => Self::sqlite().await,
        }
    }

    pub async fn sqlite() -> DbResult<TestDb> {
        let dir =
            std::env::temp_dir().join(format!("vpnmarket-test-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).map_err(|e| crate::DbError::Config(e.to_string()))?;
        let url = format!("sqlite://{}?mode=rwc", dir.join("test.db").display());
        let db = Db::connect(&url, 8).await?;
        migrate::run(&db).await?;
        Ok(TestDb {
            db,
            url,
            cleanup: Cleanup::Dir(dir),
        })
    }

    pub async fn postgres(admin_url: &str) -> DbResult<TestDb> {
        let name = format!("vm_test_{}", uuid::Uuid::new_v4().simple());
        let admin = Db::connect(admin_url, 1).await?;
        admin
            .pool()
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await?;
        admin.close().await;
        let url = replace_database(admin_url, &name);
        let db = Db::connect(&url, 8).await?;
        migrate::run(&db).await?;
        Ok(TestDb {
            db,
            url,
            cleanup: Cleanup::Postgres {
                admin_url: admin_url.to_string(),
                name,
            },
        })
    }
}

/// `postgres://u@h:p/old?x` → `postgres://u@h:p/new?x`.
pub fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let path_start = base[scheme_end..].find('/').map(|i| i + scheme_end);
    let host = match path_start {
        Some(i) => &base[..i],
        None => base,
    };
    match query {
        Some(q) => format!("{host}/{name}?{q}"),
        None => format!("{host}/{name}"),
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Dir(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Postgres { admin_url, name } => {
                // Dropping needs async; do it on a helper thread with its own runtime and its own
                // connection. The test's pool is left alone: its connections belong to the test's
                // runtime, which this drop blocks, and `WITH (FORCE)` ends them server-side.
                let (admin_url, name) = (admin_url.clone(), name.clone());
                let _ = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build();
                    if let Ok(rt) = rt {
                        rt.block_on(async move {
                            if let Ok(admin) = Db::connect(&admin_url, 1).await {
                                let _ = admin
                                    .pool()
                                    .execute(
                                        format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")
                                            .as_str(),
                                    )
                                    .await;
                                admin.close().await;
                            }
                        });
                    }
                })
                .join();
            }
        }
    }
}
