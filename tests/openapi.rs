//! The served OpenAPI document describes the routes Tessera serves.

mod common;

#[test]
fn openapi_document_is_served_and_lists_our_routes() {
    let s = common::Server::start();
    let r = s.anonymous().get("/api/v2/openapi.json");
    let doc = r.expect(200).clone();
    assert!(r
        .header("content-type")
        .unwrap_or("")
        .starts_with("application/json"));
    assert!(doc["openapi"].as_str().unwrap_or("").starts_with("3."));
    let paths = doc["paths"].as_object().expect("paths");
    for p in [
        "/api/v2/dashboards",
        "/api/v2/dashboards/{dashboardID}",
        "/api/v2/dashboards/{dashboardID}/cells",
        "/api/v2/dashboards/{dashboardID}/cells/{cellID}",
        "/api/v2/dashboards/{dashboardID}/cells/{cellID}/view",
        "/api/v2/dashboards/{dashboardID}/clone",
        "/api/v2/trash/dashboards",
        "/api/v2/trash/dashboards/{dashboardID}",
        "/api/v2/trash/dashboards/{dashboardID}/restore",
        "/api/v2/orgs",
        "/api/v2/orgs/{orgID}",
        "/api/v2/templates/apply",
        "/api/v2/templates/export",
        "/api/v2/stacks",
        "/api/v2/stacks/{stack_id}",
        "/api/v2/stacks/{stack_id}/uninstall",
        "/health",
        "/ping",
        "/ready",
    ] {
        assert!(paths.contains_key(p), "openapi lacks {p}");
    }
    let yaml = s.anonymous().get("/api/v2/openapi.yaml");
    assert_eq!(yaml.status, 200);
    assert!(yaml.text.contains("openapi:"));
}
