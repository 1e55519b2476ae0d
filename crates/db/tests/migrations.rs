//! Migrations apply on a fresh database (SQLite, or PostgreSQL with TEST_DATABASE_URL), are
//! idempotent, and leave the portable conventions working: RETURNING, upserts, leases.

use db::testing::TestDb;
use db::{leases, migrate, settings};

#[tokio::test]
async fn migrations_apply_once_and_schema_is_usable() {
    let t = TestDb::new().await.unwrap();
    // A second run finds nothing to do.
    assert!(migrate::run(&t.db).await.unwrap().is_empty());
    let mut conn = t.db.acquire().await.unwrap();
    let versions: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM schema_migrations ORDER BY version")
            .fetch_all(&mut *conn)
            .await
            .unwrap();
    let expected: Vec<i64> = migrate::MIGRATIONS.iter().map(|m| m.version).collect();
    assert_eq!(versions, expected);

    settings::set(&mut conn, t.db.backend(), "grace_percent", "3")
        .await
        .unwrap();
    settings::set(&mut conn, t.db.backend(), "grace_percent", "4")
        .await
        .unwrap();
    assert_eq!(
        settings::get_i64(&mut conn, "grace_percent").await.unwrap(),
        Some(4)
    );
}

#[tokio::test]
async fn a_lease_is_held_by_one_owner_until_it_expires() {
    let t = TestDb::new().await.unwrap();
    let mut conn = t.db.acquire().await.unwrap();
    assert!(leases::try_acquire(&mut conn, "sync", "a", 100, 60)
        .await
        .unwrap());
    assert!(!leases::try_acquire(&mut conn, "sync", "b", 120, 60)
        .await
        .unwrap());
    // The holder may renew.
    assert!(leases::try_acquire(&mut conn, "sync", "a", 130, 60)
        .await
        .unwrap());
    // After expiry another owner takes it.
    assert!(leases::try_acquire(&mut conn, "sync", "b", 191, 60)
        .await
        .unwrap());
    leases::release(&mut conn, "sync", "b").await.unwrap();
    assert!(leases::try_acquire(&mut conn, "sync", "a", 192, 60)
        .await
        .unwrap());
}

#[test]
fn database_name_is_replaced_in_a_postgres_url() {
    assert_eq!(
        db::testing::replace_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
        "postgres://postgres@127.0.0.1:5432/x"
    );
    assert_eq!(
        db::testing::replace_database("postgres://u:p@h/test?sslmode=disable", "y"),
        "postgres://u:p@h/y?sslmode=disable"
    );
}
