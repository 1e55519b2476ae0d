//! A reading taken before another writer stored a newer one must not be applied: otherwise the
//! older, lower number would look like a counter reset and its bytes would be counted twice.

mod support;

use panel_sim::SimKind;
use support::{given, Scene, GIB};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_reading_is_dropped_instead_of_counted_as_a_reset() {
    let Scene {
        env: e,
        reseller,
        configs: [id],
        ..
    } = given(SimKind::Marzban).configs(["race_user"]).start().await;
    let mut conn = e.conn().await;
    // A reset operation snapshots our counters (0) and reads the panel: 5 GiB.
    let snapshot = db::configs::get(&mut conn, id).await.unwrap().unwrap();
    // Meanwhile a sync stores a newer reading, 6 GiB.
    engine::observe::record(&e.ctx.db, id, 6 * GIB, None, 1_000)
        .await
        .unwrap();
    // The reset's older reading arrives: it must change nothing.
    let applied = engine::observe::record_since(&e.ctx.db, &snapshot, 5 * GIB, None, 1_001)
        .await
        .unwrap();
    assert_eq!(applied, None);
    let c = db::configs::get(&mut conn, id).await.unwrap().unwrap();
    assert_eq!(
        (c.usage_bytes, c.lifetime_usage_bytes),
        (6 * GIB, 6 * GIB),
        "no byte counted twice"
    );
    // A reading taken after the current counters applies normally.
    let applied = engine::observe::record_since(&e.ctx.db, &c, 7 * GIB, None, 1_002)
        .await
        .unwrap();
    assert_eq!(applied, Some(GIB));
    let hourly = db::usage_hourly::since(&mut conn, reseller, 0)
        .await
        .unwrap();
    assert_eq!(
        hourly.iter().map(|(_, b)| b).sum::<i64>(),
        7 * GIB,
        "hourly totals follow lifetime"
    );
}
