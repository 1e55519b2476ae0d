//! Rows written straight into the database, for tests that need a state no request makes quickly
//! (a wallet with history, many configs, a queued operation): each has the defaults most tests
//! want, and a test names only the fields it is about.

use domain::status::{LedgerKind, PanelKind, ResellerKind};

pub use super::world::GIB;

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A Marzban panel row at an address nobody listens on: for tests that read only our database.
pub async fn unreachable_panel(conn: &mut db::Conn, name: &str, username: Option<&str>) -> i64 {
    db::panels::create(
        conn,
        db::panels::NewPanel {
            name,
            kind: PanelKind::Marzban,
            base_url: "http://127.0.0.1:9",
            username,
            password_enc: None,
            api_key_enc: None,
            settings: "{}",
        },
    )
    .await
    .unwrap()
}

/// A reseller row, without a login. Traffic ones default to 100 GiB with no window, wallet ones
/// to no price of their own.
pub struct ResellerRow<'a> {
    pub name: &'a str,
    pub kind: ResellerKind,
    pub panel_id: i64,
    pub quota: i64,
    pub window: Option<(i64, i64)>,
    pub price_per_gb: Option<i64>,
    pub created_at: i64,
}

impl<'a> ResellerRow<'a> {
    pub fn traffic(name: &'a str, panel_id: i64) -> Self {
        ResellerRow {
            name,
            kind: ResellerKind::Traffic,
            panel_id,
            quota: 100 * GIB,
            window: None,
            price_per_gb: None,
            created_at: now(),
        }
    }

    pub fn wallet(name: &'a str, panel_id: i64, price_per_gb: i64) -> Self {
        ResellerRow {
            kind: ResellerKind::Wallet,
            quota: 0,
            price_per_gb: Some(price_per_gb),
            ..Self::traffic(name, panel_id)
        }
    }

    pub async fn insert(self, conn: &mut db::Conn) -> i64 {
        db::resellers::create(
            conn,
            db::resellers::NewReseller {
                display_name: self.name,
                kind: self.kind,
                panel_id: self.panel_id,
                username_prefix: None,
                allow_custom_names: false,
                config_limit: None,
                service_whitelist: &[],
                node_whitelist: &[],
                traffic_quota_bytes: self.quota,
                window_starts_at: self.window.map(|w| w.0),
                window_ends_at: self.window.map(|w| w.1),
                wallet_price_per_gb: self.price_per_gb,
            },
            self.created_at,
        )
        .await
        .unwrap()
    }
}

/// A config row (active, unconfirmed by the panel). Without a username the default is
/// `username_for_id`'s, as the product names it after the insert.
pub struct ConfigRow<'a> {
    pub reseller_id: i64,
    pub panel_id: i64,
    pub username: Option<&'a str>,
    pub limit: i64,
    pub expires_at: Option<i64>,
    pub service_ids: &'a [i64],
    pub inbound_ids: &'a [i64],
    pub created_at: i64,
}

impl<'a> ConfigRow<'a> {
    /// 10 GiB, no expiry, named `username`.
    pub fn named(reseller_id: i64, panel_id: i64, username: &'a str) -> Self {
        ConfigRow {
            reseller_id,
            panel_id,
            username: Some(username),
            limit: 10 * GIB,
            expires_at: None,
            service_ids: &[],
            inbound_ids: &[],
            created_at: now(),
        }
    }

    /// Named by the product's rule once the id is known (`insert_as`).
    pub fn unnamed(reseller_id: i64, panel_id: i64) -> Self {
        ConfigRow {
            username: None,
            ..Self::named(reseller_id, panel_id, "")
        }
    }

    pub async fn insert(self, conn: &mut db::Conn) -> i64 {
        let named = self.username.map(str::to_string);
        self.insert_as(conn, move |_| named.clone().expect("a username"))
            .await
    }

    pub async fn insert_as(self, conn: &mut db::Conn, name_for_id: impl Fn(i64) -> String) -> i64 {
        db::configs::create(
            conn,
            db::configs::NewConfig {
                reseller_id: self.reseller_id,
                panel_id: self.panel_id,
                username: self.username,
                comment: None,
                traffic_limit_bytes: self.limit,
                expires_at: self.expires_at,
                max_clients: None,
                service_ids: self.service_ids,
                node_ids: &[],
                inbound_ids: self.inbound_ids,
            },
            name_for_id,
            self.created_at,
        )
        .await
        .unwrap()
    }
}

/// The wallet's first ledger row, as the reseller screens post it.
pub async fn opening_balance(conn: &mut db::Conn, reseller_id: i64, amount: i64, key: &str) {
    engine::wallet::post_entry(
        conn,
        reseller_id,
        LedgerKind::OpeningBalance,
        amount,
        key,
        None,
        None,
        None,
    )
    .await
    .unwrap();
}

/// The config's panel create, queued as the product queues it.
pub async fn queue_create(conn: &mut db::Conn, panel_id: i64, config_id: i64, at: i64) -> i64 {
    engine::ops::enqueue(
        conn,
        panel_id,
        config_id,
        None,
        engine::ops::OpKind::Create,
        serde_json::json!({}),
        at,
    )
    .await
    .unwrap()
}

pub async fn first_panel_id(conn: &mut db::Conn) -> i64 {
    db::sqlx::query_scalar("SELECT id FROM panels")
        .fetch_one(conn)
        .await
        .unwrap()
}
