//! Embedded, versioned migrations written once in portable SQL and applied at start.
//! `{{PK}}` is the only dialect difference in the schema; each migration runs in a transaction.

use crate::{Backend, Db, DbError, DbResult};
use sqlx::{Executor, Row};

pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "foundation",
        sql: include_str!("../migrations/0001_foundation.sql"),
    },
    Migration {
        version: 2,
        name: "panels_resellers_configs",
        sql: include_str!("../migrations/0002_panels_resellers_configs.sql"),
    },
    Migration {
        version: 3,
        name: "usage_wallet",
        sql: include_str!("../migrations/0003_usage_wallet.sql"),
    },
    Migration {
        version: 4,
        name: "drift",
        sql: include_str!("../migrations/0004_drift.sql"),
    },
    Migration {
        version: 5,
        name: "usage_quarantine",
        sql: include_str!("../migrations/0005_usage_quarantine.sql"),
    },
    Migration {
        version: 6,
        name: "accounts",
        sql: include_str!("../migrations/0006_accounts.sql"),
    },
    Migration {
        version: 7,
        name: "suspension_hold",
        sql: include_str!("../migrations/0007_suspension_hold.sql"),
    },
    Migration {
        version: 8,
        name: "session_activity",
        sql: include_str!("../migrations/0008_session_activity.sql"),
    },
    Migration {
        version: 9,
        name: "two_factor",
        sql: include_str!("../migrations/0009_two_factor.sql"),
    },
    Migration {
        version: 10,
        name: "token_scope",
        sql: include_str!("../migrations/0010_token_scope.sql"),
    },
];

fn render(sql: &str, backend: Backend) -> String {
    let pk = match backend {
        Backend::Sqlite => "INTEGER PRIMARY KEY AUTOINCREMENT",
        Backend::Postgres => "BIGSERIAL PRIMARY KEY",
    };
    sql.replace("{{PK}}", pk)
}

/// Applies every migration not applied yet and returns the versions it applied.
/// On PostgreSQL an advisory lock keeps two instances starting at once from racing.
pub async fn run(db: &Db) -> DbResult<Vec<i64>> {
    let mut conn = db.acquire().await?;
    if db.backend() == Backend::Postgres {
        conn.execute("SELECT pg_advisory_lock(7262001)").await?;
    }
    let result = apply_pending(db, &mut conn).await;
    if db.backend() == Backend::Postgres {
        conn.execute("SELECT pg_advisory_unlock(7262001)").await?;
    }
    result
}

async fn apply_pending(db: &Db, conn: &mut sqlx::AnyConnection) -> DbResult<Vec<i64>> {
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
    )
    .await?;
    let applied: Vec<i64> = sqlx::query("SELECT version FROM schema_migrations")
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| r.get::<i64, _>(0))
        .collect();
    let mut done = Vec::new();
    for m in MIGRATIONS.iter().filter(|m| !applied.contains(&m.version)) {
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        sqlx::raw_sql(&render(m.sql, db.backend()))
            .execute(&mut *tx)
            .await
            .map_err(|e| DbError::Migration {
                version: m.version,
                message: e.to_string(),
            })?;
        sqlx::query(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
        )
        .bind(m.version)
        .bind(m.name)
        .bind(chrono::Utc::now().timestamp())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        tracing::info!(version = m.version, name = m.name, "migration applied");
        done.push(m.version);
    }
    Ok(done)
}
