//! Panels in the back office as an admin meets them: create, read and edit through the API
//! with secrets write-only and encrypted at rest, test connection, choices, pages in both
//! languages, and the failing panel on the dashboard. Every kind against its simulator.

// Multi-threaded: dropping a PostgreSQL test database blocks one thread while the pool
// closes its connections, whose sockets the runtime's other thread must keep driving.

mod common;

use common::TestApp;
use panel_sim::{Sim, SimKind};
use serde_json::{json, Value};

/// The body an admin sends for a simulator of `kind`.
fn panel_body(sim: &Sim, name: &str) -> Value {
    match sim.kind() {
        SimKind::Eylandoo => json!({
            "name": name, "kind": "eylandoo", "base_url": sim.base_url(), "api_key": sim.api_key(),
        }),
        SimKind::Xui => json!({
            "name": name, "kind": "xui", "base_url": sim.base_url(),
            "username": sim.admin_username(), "password": sim.admin_password(),
            "settings": { "inbound_ids": [1], "sub_base_url": sim.root_url() },
        }),
        k => json!({
            "name": name, "kind": k.as_str(), "base_url": sim.base_url(),
            "username": sim.admin_username(), "password": sim.admin_password(),
        }),
    }
}

fn secret_of(sim: &Sim) -> &str {
    match sim.kind() {
        SimKind::Eylandoo => sim.api_key(),
        _ => sim.admin_password(),
    }
}

async fn stored_row(app: &TestApp, id: i64) -> db::panels::Panel {
    let mut conn = app.db.acquire().await.unwrap();
    db::panels::get(&mut conn, id).await.unwrap().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panels_are_created_read_and_edited_with_secrets_write_only_for_every_kind() {
    let app = TestApp::spawn().await;
    let token = app.admin().await;
    for kind in SimKind::ALL {
        let sim = panel_sim::spawn(kind).await;
        let secret = secret_of(&sim).to_string();
        let (status, created) = token
            .post("/api/v1/panels", panel_body(&sim, kind.as_str()))
            .await;
        assert_eq!(status, 201, "{kind}: {created}");
        let id = created["id"].as_i64().unwrap();
        assert_eq!(created["kind"], kind.as_str());
        assert_eq!(created["base_url"], sim.base_url());
        let is_eylandoo = kind == SimKind::Eylandoo;
        assert_eq!(created["has_password"], !is_eylandoo, "{kind}");
        assert_eq!(created["has_api_key"], is_eylandoo, "{kind}");
        assert_eq!(created["consecutive_failures"], 0);
        assert!(created["last_success_at"].is_null());

        // The secret is in no answer and not in plaintext in the database.
        let (_, one) = token.get(&format!("/api/v1/panels/{id}")).await;
        let (_, all) = token.get("/api/v1/panels").await;
        for body in [&created, &one, &all] {
            assert!(
                !body.to_string().contains(&secret),
                "{kind}: secret leaked in {body}"
            );
        }
        let row = stored_row(&app, id).await;
        let enc = row
            .password_enc
            .clone()
            .or(row.api_key_enc.clone())
            .unwrap();
        assert!(!enc.contains(&secret), "{kind}: stored in plaintext");
        assert_eq!(app.ctx.keys.decrypt(&enc).unwrap(), secret);

        // Editing without the secret keeps it: the connection still works afterwards.
        let (status, edited) = token.patch(&format!("/api/v1/panels/{id}"), json!({ "name": format!("{kind} renamed"), "settings": { "rate_limit_per_sec": 5 } }))
        .await;
        assert_eq!(status, 200, "{kind}: {edited}");
        assert_eq!(edited["name"], format!("{kind} renamed"));
        assert_eq!(edited["settings"]["rate_limit_per_sec"], 5);
        if kind == SimKind::Xui {
            // Settings merge: the keys not sent stay.
            assert_eq!(edited["settings"]["inbound_ids"], json!([1]));
        }
        assert!(!edited.to_string().contains(&secret));
        assert_eq!(stored_row(&app, id).await.password_enc, row.password_enc);
        assert_eq!(stored_row(&app, id).await.api_key_enc, row.api_key_enc);
        let (status, test) = token
            .post(&format!("/api/v1/panels/{id}/test"), json!({}))
            .await;
        assert_eq!(status, 200);
        assert_eq!(test["ok"], true, "{kind}: {test}");
    }
    let kinds = SimKind::ALL.len() as i64;
    assert_eq!(app.audit_count("panel_created").await, kinds);
    assert_eq!(app.audit_count("panel_updated").await, kinds);
    // The audit log does not carry the secrets either.
    let mut conn = app.db.acquire().await.unwrap();
    let metas: Vec<String> = db::sqlx::query_scalar("SELECT meta FROM audit_logs")
        .fetch_all(&mut *conn)
        .await
        .unwrap();
    assert!(metas
        .iter()
        .all(|m| !m.contains("admin-pass") && !m.contains("sim-api-key")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_password_is_used_at_once_and_a_wrong_one_fails_the_test() {
    let app = TestApp::spawn().await;
    let token = app.admin().await;
    let sim = panel_sim::spawn(SimKind::Marzban).await;
    let (_, created) = token.post("/api/v1/panels", panel_body(&sim, "m1")).await;
    let id = created["id"].as_i64().unwrap();
    let path = format!("/api/v1/panels/{id}/test");
    assert_eq!(token.post(&path, json!({})).await.1["ok"], true);
    // The registry's cached client must not keep using the old password.
    let handle = app.ctx.registry.handle(id).await.unwrap();
    assert!(handle.client.test_connection().await.is_ok());
    let (status, _) = token
        .patch(
            &format!("/api/v1/panels/{id}"),
            json!({ "password": "wrong" }),
        )
        .await;
    assert_eq!(status, 200);
    let (_, test) = token.post(&path, json!({})).await;
    assert_eq!(test["ok"], false, "{test}");
    assert!(app
        .ctx
        .registry
        .handle(id)
        .await
        .unwrap()
        .client
        .test_connection()
        .await
        .is_err());
    let (_, _) = token
        .patch(
            &format!("/api/v1/panels/{id}"),
            json!({ "password": sim.admin_password() }),
        )
        .await;
    assert_eq!(token.post(&path, json!({})).await.1["ok"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_panel_input_names_the_field() {
    let app = TestApp::spawn().await;
    let token = app.admin().await;
    let cases = [
        (
            json!({"name": "a", "kind": "3x-ui", "base_url": "http://x", "username": "u", "password": "p"}),
            "kind",
        ),
        (
            json!({"name": "a", "kind": "marzban", "base_url": "ftp://x", "username": "u", "password": "p"}),
            "base_url",
        ),
        (
            json!({"name": "a", "kind": "marzban", "base_url": "not a url", "username": "u", "password": "p"}),
            "base_url",
        ),
        (
            json!({"name": "a", "kind": "marzban", "base_url": "http://x", "username": "u"}),
            "password",
        ),
        (
            json!({"name": "a", "kind": "marzneshin", "base_url": "http://x", "password": "p"}),
            "username",
        ),
        (
            json!({"name": "a", "kind": "eylandoo", "base_url": "http://x", "username": "u", "password": "p"}),
            "api_key",
        ),
        (
            json!({"name": " ", "kind": "xui", "base_url": "http://x", "username": "u", "password": "p"}),
            "name",
        ),
        (
            json!({"name": "a", "kind": "marzban", "base_url": "http://x", "username": "u", "password": "p",
                "settings": {"rate_limit_per_sec": 0}}),
            "settings.rate_limit_per_sec",
        ),
        (
            json!({"name": "a", "kind": "marzban", "base_url": "http://x", "username": "u", "password": "p",
                "settings": {"service_ids": "one"}}),
            "settings.service_ids",
        ),
    ];
    for (body, field) in cases {
        let (status, err) = token.post("/api/v1/panels", body.clone()).await;
        assert_eq!(status, 422, "{body}: {err}");
        assert_eq!(err["error"]["code"], "validation_failed");
        assert!(
            err["error"]["fields"][field].is_string(),
            "{field} in {err}"
        );
    }
    let ok = json!({"name": "dup", "kind": "eylandoo", "base_url": "http://x/", "api_key": "k"});
    let (status, created) = token.post("/api/v1/panels", ok.clone()).await;
    assert_eq!(status, 201);
    assert_eq!(created["base_url"], "http://x", "trailing slash dropped");
    let (status, err) = token.post("/api/v1/panels", ok.clone()).await;
    assert_eq!(status, 422);
    assert!(err["error"]["fields"]["name"].is_string());
    let id = created["id"].as_i64().unwrap();
    let path = format!("/api/v1/panels/{id}");
    // Switching to a kind that needs other credentials asks for them.
    let (status, err) = token.patch(&path, json!({ "kind": "marzban" })).await;
    assert_eq!(status, 422);
    assert!(err["error"]["fields"]["username"].is_string());
    assert!(err["error"]["fields"]["password"].is_string());
    let (status, p) = token.patch(&path, json!({ "is_active": false, "settings": { "node_ids": [2], "sub_base_url": "http://sub.example" } }))
    .await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(p["is_active"], false);
    assert_eq!(p["kind"], "eylandoo");
    assert_eq!(p["settings"]["node_ids"], json!([2]));
    // `null` drops a setting back to its default; the others stay.
    let (_, p) = token
        .patch(&path, json!({ "settings": { "sub_base_url": null } }))
        .await;
    assert!(p["settings"].get("sub_base_url").is_none(), "{p}");
    assert_eq!(p["settings"]["node_ids"], json!([2]));
    // Unknown ids answer 404, never 500.
    assert_eq!(token.get("/api/v1/panels/999").await.0, 404);
    assert_eq!(token.patch("/api/v1/panels/999", json!({})).await.0, 404);
    assert_eq!(
        token.post("/api/v1/panels/999/test", json!({})).await.0,
        404
    );
    assert_eq!(app.audit_count("panel_created").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_connection_reports_version_or_the_failure_and_records_health() {
    let app = TestApp::spawn().await;
    let token = app.admin().await;
    for kind in SimKind::ALL {
        let (id, sim) = app.add_panel(kind).await;
        let path = format!("/api/v1/panels/{id}/test");
        let (status, ok) = token.post(&path, json!({})).await;
        assert_eq!(status, 200);
        assert_eq!(ok["ok"], true, "{kind}: {ok}");
        assert!(ok["latency_ms"].is_u64());
        // Marzban, 3x-ui and PasarGuard report their version; Marzneshin and Eylandoo have no
        // such read.
        if matches!(kind, SimKind::Marzban | SimKind::Xui | SimKind::PasarGuard) {
            assert!(ok["version"].is_string(), "{kind}: {ok}");
        }
        assert!(ok.get("error").is_none());
        let (_, panel) = token.get(&format!("/api/v1/panels/{id}")).await;
        assert!(panel["last_success_at"].is_string());
        assert_eq!(panel["consecutive_failures"], 0);

        sim.shutdown();
        let (status, failed) = token.post(&path, json!({})).await;
        assert_eq!(status, 200);
        assert_eq!(failed["ok"], false, "{kind}: {failed}");
        assert!(failed["error"].as_str().is_some_and(|e| !e.is_empty()));
        let (_, panel) = token.get(&format!("/api/v1/panels/{id}")).await;
        assert_eq!(panel["consecutive_failures"], 1, "{kind}");
        assert!(panel["last_error"].is_string());
        assert!(panel["last_success_at"].is_string(), "last success kept");
    }
    assert_eq!(
        app.audit_count("panel_tested").await,
        2 * SimKind::ALL.len() as i64
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn choices_come_from_the_panel_for_every_kind() {
    let app = TestApp::spawn().await;
    let token = app.admin().await;
    for kind in SimKind::ALL {
        let (id, sim) = app.add_panel(kind).await;
        let (status, c) = token.get(&format!("/api/v1/panels/{id}/choices")).await;
        assert_eq!(status, 200, "{kind}: {c}");
        let list = match kind {
            SimKind::Marzneshin => &c["services"],
            SimKind::Eylandoo => &c["nodes"],
            _ => &c["inbounds"],
        };
        let list = list.as_array().unwrap();
        assert!(!list.is_empty(), "{kind}: {c}");
        assert!(list
            .iter()
            .all(|i| i["id"].is_string() && i["label"].is_string()));
        sim.shutdown();
        let (status, err) = token.get(&format!("/api/v1/panels/{id}/choices")).await;
        assert_eq!(status, 502, "{kind}: {err}");
        assert_eq!(err["error"]["code"], "panel_unreachable");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_panel_pages_render_in_both_languages_and_save_through_the_form() {
    let app = TestApp::spawn().await;
    app.create_admin("root", "correct-horse").await;
    let b = app.admin_browser().await;
    let sim = panel_sim::spawn(SimKind::Marzneshin).await;

    let (status, html) = b.get("/admin/panels/new?lang=en").await;
    assert_eq!(status, 200);
    assert!(html.contains("New panel") && html.contains("name=\"api_key\""));
    // A bad form comes back with the field named and the values kept (never the secret).
    let res = b
        .submit(
            "/admin/panels?lang=en",
            &[
                ("name", "edge"),
                ("kind", "marzneshin"),
                ("base_url", "nope"),
                ("username", sim.admin_username()),
                ("password", sim.admin_password()),
                ("picks_text", "1"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("Enter an http:// or https:// address"),
        "{html}"
    );
    assert!(html.contains("value=\"edge\"") && !html.contains(sim.admin_password()));

    let base = sim.base_url();
    let res = b
        .submit(
            "/admin/panels",
            &[
                ("name", "edge"),
                ("kind", "marzneshin"),
                ("base_url", base.as_str()),
                ("username", sim.admin_username()),
                ("password", sim.admin_password()),
                ("picks_text", "1"),
                ("rate_limit_per_sec", "5"),
                ("is_active", "on"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    let id: i64 = location
        .trim_start_matches("/admin/panels/")
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let row = stored_row(&app, id).await;
    let settings: Value = serde_json::from_str(&row.settings).unwrap();
    assert_eq!(settings["service_ids"], json!([1]));
    assert_eq!(settings["rate_limit_per_sec"], 5);
    assert_eq!(app.audit_count("panel_created").await, 1);

    for lang in ["fa", "en"] {
        let (status, html) = b.get(&format!("/admin/panels/{id}?lang={lang}")).await;
        assert_eq!(status, 200, "{lang}");
        assert!(html.contains(&format!("lang=\"{lang}\"")));
        assert!(
            !html.contains(sim.admin_password()),
            "{lang}: secret on the page"
        );
        assert!(html.contains(&format!("action=\"/admin/panels/{id}/test\"")));
        let (status, list) = b.get(&format!("/admin/panels?lang={lang}")).await;
        assert_eq!(status, 200);
        assert!(list.contains("edge"));
    }
    let (_, en) = b.get("/admin/panels?lang=en").await;
    assert!(en.contains("Not contacted yet"));
    let (_, fa) = b.get("/admin/panels?lang=fa").await;
    assert!(fa.contains("هنوز تماسی گرفته نشده"));

    // The picker: choices loaded from the panel, the stored one ticked.
    let (status, html) = b
        .get(&format!("/admin/panels/{id}?choices=1&lang=en"))
        .await;
    assert_eq!(status, 200);
    assert!(html.contains("name=\"picks_loaded\""), "{html}");
    assert!(html.contains("name=\"pick\" value=\"1\" checked"), "{html}");

    // Saving with a blank password keeps the stored one; the test button then connects.
    let res = b
        .submit(
            &format!("/admin/panels/{id}"),
            &[
                ("name", "edge-2"),
                ("kind", "marzneshin"),
                ("base_url", base.as_str()),
                ("username", sim.admin_username()),
                ("password", ""),
                ("picks_loaded", "1"),
                ("pick", "1"),
                ("pick", "2"),
                ("is_active", "on"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let after = stored_row(&app, id).await;
    assert_eq!(after.name, "edge-2");
    assert_eq!(after.password_enc, row.password_enc);
    let settings: Value = serde_json::from_str(&after.settings).unwrap();
    assert_eq!(settings["service_ids"], json!([1, 2]));
    assert!(
        settings.get("rate_limit_per_sec").is_none(),
        "blank = default"
    );

    let res = b
        .submit(&format!("/admin/panels/{id}/test?lang=en"), &[])
        .await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("Connected"), "{html}");
    assert!(html.contains("badge-ok"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_panel_is_shown_on_the_admin_dashboard() {
    let app = TestApp::spawn().await;
    let token = app.admin().await;
    let b = app.admin_browser().await;
    let (healthy, _s1) = app.add_panel(SimKind::Marzban).await;
    let (broken, s2) = app.add_panel(SimKind::Eylandoo).await;
    token
        .post(&format!("/api/v1/panels/{healthy}/test"), json!({}))
        .await;
    let (_, html) = b.get("/?lang=en").await;
    assert!(!html.contains("Panels with failures"));
    s2.shutdown();
    token
        .post(&format!("/api/v1/panels/{broken}/test"), json!({}))
        .await;
    for lang in ["en", "fa"] {
        let (status, html) = b.get(&format!("/?lang={lang}")).await;
        assert_eq!(status, 200);
        let section = html
            .split("id=\"failing-panels\"")
            .nth(1)
            .unwrap_or_else(|| panic!("{lang}: no failing panels section in {html}"));
        assert!(section.contains(&format!("/admin/panels/{broken}")));
        assert!(!section.contains(&format!("/admin/panels/{healthy}\"")));
    }
    let (_, list) = b.get("/admin/panels?lang=en").await;
    assert!(list.contains("Failing") && list.contains("Healthy"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reseller_cannot_open_or_post_the_panel_pages() {
    let app = TestApp::spawn().await;
    let (id, _sim) = app.add_panel(SimKind::Marzban).await;
    app.create_user("shop1", "reseller-pass", "reseller", None)
        .await;
    let b = app.browser_as("shop1", "reseller-pass").await;
    for path in [
        "/admin/panels",
        "/admin/panels/new",
        &format!("/admin/panels/{id}"),
    ] {
        assert_eq!(b.get(path).await.0, 403, "{path}");
    }
    let page_html = b.html("/tokens").await;
    b.assert_form_token(&page_html).await;
    let res = b.submit(&format!("/admin/panels/{id}/test"), &[]).await;
    assert_eq!(res.status(), 403);
    assert_eq!(app.audit_count("panel_tested").await, 0);
}

/// PasarGuard through the API and the pages: a v5 panel with only an API key is accepted and
/// connects; the picker offers its groups by name under the groups heading, in both languages.
#[tokio::test]
async fn pasarguard_takes_an_api_key_and_offers_its_groups() {
    let app = TestApp::spawn().await;
    let token = app.admin().await;
    let sim = panel_sim::spawn(SimKind::PasarGuard).await;
    sim.set_version("5.2.1");
    let (status, created) = token
        .post(
            "/api/v1/panels",
            json!({"name": "pg", "kind": "pasarguard", "base_url": sim.base_url(),
            "api_key": sim.api_key(), "settings": {"service_ids": [2]}}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["kind"], "pasarguard");
    assert_eq!(
        (&created["has_api_key"], &created["has_password"]),
        (&json!(true), &json!(false))
    );
    let id = created["id"].as_i64().unwrap();
    let (_, test) = token
        .post(&format!("/api/v1/panels/{id}/test"), json!({}))
        .await;
    assert_eq!(test["ok"], true, "{test}");
    assert_eq!(test["version"], "5.2.1");
    // Without a key, the admin login is required as for the other kinds.
    let (status, e) = token
        .post(
            "/api/v1/panels",
            json!({"name": "pg2", "kind": "pasarguard", "base_url": sim.base_url()}),
        )
        .await;
    assert_eq!(status, 422, "{e}");
    assert!(e["error"]["fields"]["username"].is_string(), "{e}");

    let b = app.admin_browser().await;
    for (lang, heading, kind) in [
        ("en", "Groups for new users", "PasarGuard"),
        ("fa", "گروه‌های کاربران جدید", "پاسارگارد"),
    ] {
        let (status, html) = b
            .get(&format!("/admin/panels/{id}?choices=1&lang={lang}"))
            .await;
        assert_eq!(status, 200, "{lang}");
        assert!(html.contains(heading), "{lang}: {html}");
        assert!(html.contains("name=\"pick\" value=\"2\" checked"), "{lang}");
        assert!(html.contains("vip"), "{lang}: the group's name");
        let (_, list) = b.get(&format!("/admin/panels?lang={lang}")).await;
        assert!(list.contains(kind), "{lang}: the kind's label");
    }
}
