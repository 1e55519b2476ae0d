//! The database layer's error type; callers map it to their own with one table.
//! Unique violations are singled out because idempotency is built on them.

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database error: {0}")]
    Sqlx(#[from] sqlx::Error),
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("database configuration: {0}")]
    Config(String),
    #[error("migration {version} failed: {message}")]
    Migration { version: i64, message: String },
    #[error("corrupt value in column {column}: {message}")]
    Corrupt {
        column: &'static str,
        message: String,
    },
}

pub type DbResult<T> = Result<T, DbError>;

impl DbError {
    pub fn is_unique_violation(&self) -> bool {
        match self {
            DbError::Sqlx(sqlx::Error::Database(e)) => e.is_unique_violation(),
            _ => false,
        }
    }
}

/// Turns an empty `fetch_optional` into `NotFound`.
pub trait OptionExt<T> {
    fn found(self) -> DbResult<T>;
}

impl<T> OptionExt<T> for Option<T> {
    fn found(self) -> DbResult<T> {
        self.ok_or(DbError::NotFound)
    }
}
