//! Out-of-band changes: what a panel admin does behind our back, and fast bulk seeding.
//! None of this goes through HTTP, so it is neither counted nor subject to faults.

use chrono::Utc;

use crate::state::UserRec;
use crate::{eylandoo, marzban, marzneshin, pasarguard, xui, SimKind};

/// Where a user created outside the API lands, per kind: the first service/inbound/node.
pub(crate) fn seed_defaults(kind: SimKind, rec: &mut UserRec) {
    match kind {
        SimKind::Marzban => marzban::seed_defaults(rec),
        SimKind::Marzneshin => marzneshin::seed_defaults(rec),
        SimKind::Xui => xui::seed_defaults(rec),
        SimKind::Eylandoo => eylandoo::seed_defaults(rec),
        SimKind::PasarGuard => pasarguard::seed_defaults(rec),
    }
}

fn fresh_secrets(kind: SimKind, rec: &mut UserRec) {
    match kind {
        SimKind::Marzban => marzban::fresh_secrets(rec),
        SimKind::Marzneshin => marzneshin::fresh_secrets(rec),
        SimKind::Xui => xui::fresh_secrets(rec),
        SimKind::Eylandoo => eylandoo::fresh_secrets(rec),
        SimKind::PasarGuard => pasarguard::fresh_secrets(rec),
    }
}

/// `"{prefix}{i}"` for i in 0..count with `used_each` bytes already used; existing names are
/// left alone. The seeded usage counts as traffic in the ledger: it is on the panel.
pub(crate) fn seed(
    sim: &crate::Sim,
    prefix: &str,
    count: usize,
    used_each: i64,
    owner: Option<&str>,
) -> usize {
    let now = Utc::now();
    let kind = sim.kind();
    let mut store = sim.store();
    let mut added = 0;
    for i in 0..count {
        let name = format!("{prefix}{i}");
        if store.contains(&name) {
            continue;
        }
        let id = store.next_id();
        let mut rec = UserRec::new(id, &name, now);
        seed_defaults(kind, &mut rec);
        rec.used = used_each;
        rec.lifetime = used_each;
        rec.owner = owner.map(str::to_string);
        store.insert(rec);
        store.count_external(&name, used_each);
        added += 1;
    }
    added
}

/// Delete and create again under the same name: new id and secrets, zero counters, same limits
/// and placement. The ledger keeps counting under the name.
pub(crate) fn recreate(sim: &crate::Sim, username: &str) -> bool {
    let kind = sim.kind();
    let mut store = sim.store();
    let Some(old) = store.remove(username) else {
        return false;
    };
    let id = store.next_id();
    let mut rec = UserRec::new(id, username, Utc::now());
    rec.limit = old.limit;
    rec.expires_at = old.expires_at;
    rec.first_use_ms = old.first_use_ms;
    rec.max_clients = old.max_clients;
    rec.service_ids = old.service_ids;
    rec.inbound_ids = old.inbound_ids;
    rec.inbound_tags = old.inbound_tags;
    rec.proxies = old.proxies;
    rec.node_ids = old.node_ids;
    rec.note = old.note;
    rec.reset_strategy = old.reset_strategy;
    rec.flow = old.flow;
    rec.tg_id = old.tg_id;
    fresh_secrets(kind, &mut rec);
    store.insert(rec)
}
