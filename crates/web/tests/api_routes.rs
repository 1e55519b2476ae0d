//! The OpenAPI document and the router agree: every documented path is routed (an undocumented
//! method on it answers 405, not the 404 fallback), and no API route bypasses the document (API
//! routes are only registered through `utoipa_axum::routes!`, checked in the source).

mod common;

use common::TestApp;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

#[tokio::test]
async fn every_documented_path_is_routed() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let doc = common::openapi(&app).await;
    let paths = doc["paths"].as_object().unwrap();
    assert!(
        paths.len() > 20,
        "the document lists the API ({} paths)",
        paths.len()
    );
    for (path, item) in paths {
        let documented: Vec<&str> = item
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let Some(missing) = METHODS.iter().find(|m| !documented.contains(m)) else {
            continue;
        };
        let concrete = path.replace("{id}", "1").replace("{job_id}", "1");
        let res = c
            .request(missing.to_uppercase().parse().unwrap(), app.url(&concrete))
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status(),
            405,
            "{path} is documented but not routed (or routes {missing} undocumented)"
        );
    }
}

#[test]
fn api_routes_are_only_registered_through_the_documented_router() {
    let api_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/api");
    for entry in std::fs::read_dir(&api_dir).unwrap() {
        let path = entry.unwrap().path();
        let src = std::fs::read_to_string(&path).unwrap();
        assert!(
            !src.contains(".route(") && !src.contains("axum::routing"),
            "{} registers an API route outside `routes!`, so it would be missing from the OpenAPI document",
            path.display()
        );
    }
    let lib = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs"),
    )
    .unwrap();
    let api_literals: Vec<&str> = lib.lines().filter(|l| l.contains("\"/api/")).collect();
    assert_eq!(
        api_literals,
        ["            \"/api/v1/openapi.json\","],
        "only the document itself is routed by hand in lib.rs"
    );
}
