//! The only crate that knows SQL: one query codebase over SQLite and PostgreSQL (sqlx `Any`),
//! embedded migrations, and repository functions that take a connection or a transaction.
//!
//! Portability rules every query follows: `$1`-style placeholders (SQLite accepts them too),
//! integers only (`BIGINT`; times are Unix seconds, flags 0/1), `CAST(SUM(..) AS BIGINT)` because
//! PostgreSQL sums into NUMERIC, and `RETURNING id` for inserts.

pub mod audit;
pub mod configs;
pub mod decode;
pub mod error;
pub mod jobs;
pub mod leases;
pub mod login_failures;
pub mod migrate;
pub mod operations;
pub mod panels;
pub mod q;
pub mod resellers;
pub mod settings;
pub mod stats;
pub mod testing;
pub mod time;
pub mod tokens;
pub mod two_factor;
pub mod usage_hourly;
pub mod users;

pub use error::{DbError, DbResult};
pub use sqlx;
pub use sqlx::AnyConnection as Conn;
pub use sqlx::Transaction;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Executor};
use std::time::Duration;

/// `1, 2, 3` for `IN (...)`: ids are integers, so they are written into the statement (a list
/// query then costs one statement whatever its length, and no bound parameter per id).
pub fn id_list(ids: &[i64]) -> String {
    let mut out = String::with_capacity(ids.len() * 8);
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&id.to_string());
    }
    out
}

/// Which engine sits behind the pool; a few statements (locks, upserts) differ by dialect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> DbResult<Self> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(DbError::Config(format!(
                "unsupported database URL {url:?}: use sqlite://PATH or postgres://USER@HOST/DB"
            )))
        }
    }

    /// `FOR UPDATE` where a read-modify-write needs a row lock; SQLite's IMMEDIATE
    /// transaction already holds the database write lock, and it has no such clause.
    pub fn for_update(self) -> &'static str {
        match self {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE",
        }
    }
}

/// A pool plus the dialect it speaks. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
}

pub type Tx = Transaction<'static, sqlx::Any>;
pub type Row = AnyRow;

impl Db {
    /// Connects and prepares every connection (SQLite: WAL, busy timeout, foreign keys).
    pub async fn connect(url: &str, max_connections: u32) -> DbResult<Db> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        let options = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers run beside the one writer; the busy timeout makes
                        // writers queue instead of failing; NORMAL sync is durable in WAL mode
                        // except for the last commit on power loss, never corrupting.
                        conn.execute(
                            "PRAGMA journal_mode=WAL; PRAGMA busy_timeout=10000; \
                             PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            });
        let pool = options.connect(url).await?;
        Ok(Db { pool, backend })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// A transaction for reads that must see one consistent state, or for single-statement writes.
    pub async fn begin(&self) -> DbResult<Tx> {
        Ok(self.pool.begin().await?)
    }

    /// A transaction that will write. On SQLite it starts `IMMEDIATE`, taking the write lock up
    /// front, so two read-modify-write transactions queue instead of one failing at upgrade time.
    /// On PostgreSQL callers lock the rows they read with [`Backend::for_update`].
    pub async fn begin_write(&self) -> DbResult<Tx> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    pub async fn acquire(&self) -> DbResult<sqlx::pool::PoolConnection<sqlx::Any>> {
        Ok(self.pool.acquire().await?)
    }

    /// Answers when the database does (health check).
    pub async fn ping(&self) -> DbResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}
