//! Server-rendered pages: the shell, the navigation, status, 404, assets.

use crate::{helpers::TestApp, on_both_backends};

on_both_backends!(
    home_page_is_rendered_on_the_server,
    unknown_pages_render_the_styled_404,
    system_status_is_served_as_a_server_function,
    theme_cookie_is_rendered_on_the_server,
    item10_sign_in_returns_only_to_local_paths,
    item11_server_functions_hide_database_errors,
);

async fn home_page_is_rendered_on_the_server(app: TestApp) {
    let response = app.get("/").await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = response.text().await.unwrap();
    for link in [
        "/workflows",
        "/executions",
        "/events",
        "/connections",
        "/dashboard",
        "/settings",
    ] {
        assert!(
            html.contains(&format!("href=\"{link}\"")),
            "navigation lacks {link}"
        );
    }
    assert!(html.contains("API workflows you can watch run"));
    assert!(html.contains("/pkg/switchyard.css"));
    assert!(
        html.contains("/pkg/switchyard.js"),
        "hydration script is referenced"
    );
    let database = match app.db.get_database_backend() {
        sea_orm::DbBackend::Postgres => "PostgreSQL",
        _ => "SQLite",
    };
    assert!(html.contains(database), "status card names {database}");
    assert!(html.contains(&crate::helpers::newest_migration()));
}

async fn unknown_pages_render_the_styled_404(app: TestApp) {
    let response = app.get("/definitely/not/here").await;
    assert_eq!(response.status(), 404);
    let html = response.text().await.unwrap();
    assert!(html.contains("This page does not exist"));
    assert!(
        html.contains("href=\"/workflows\""),
        "404 keeps the navigation"
    );
}

async fn system_status_is_served_as_a_server_function(app: TestApp) {
    let response = app
        .client
        .post(app.url("/api/system_status"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let status: app::status::SystemStatus = response.json().await.unwrap();
    assert!(status.database_up);
    assert_eq!(status.version, env!("CARGO_PKG_VERSION"));
}

async fn theme_cookie_is_rendered_on_the_server(app: TestApp) {
    let dark = app
        .client
        .get(app.url("/"))
        .header("cookie", "switchyard_theme=dark")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(dark.contains("data-theme=\"dark\""));
    let light = app.get("/").await.text().await.unwrap();
    assert!(light.contains("data-theme=\"light\""));
}

#[tokio::test]
async fn site_files_are_served_from_the_site_root() {
    let site = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(site.path().join("pkg")).unwrap();
    std::fs::write(site.path().join("pkg/switchyard.css"), "body{color:red}").unwrap();
    std::fs::write(site.path().join("logo.svg"), "<svg/>").unwrap();
    let site_root = site.path().to_path_buf();
    let app = crate::helpers::spawn_app_with(crate::helpers::Backend::Sqlite, |config| {
        config.site_root = site_root;
    })
    .await
    .unwrap();

    let css = app.get("/pkg/switchyard.css").await;
    assert_eq!(css.status(), 200);
    assert!(
        css.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    assert_eq!(css.text().await.unwrap(), "body{color:red}");

    let svg = app.get("/logo.svg").await;
    assert_eq!(svg.headers()["content-type"], "image/svg+xml");

    assert_eq!(app.get("/pkg/missing.js").await.status(), 404);
}

/// The sign-in page carries `next` on to its "Create an account" link (and
/// follows it after signing in) only when it is a path on this site.
async fn item10_sign_in_returns_only_to_local_paths(app: TestApp) {
    // As typed in the address bar: the query is percent-decoded once.
    for bypass in [
        "/%09/evil.example",
        "/%0A/evil.example",
        "%09//evil.example",
        "//evil.example",
        "/%5Cevil.example",
        "/%5C%5Cevil.example",
        "https:%2F%2Fevil.example",
        "/%252F/evil.example",
        "%2F%2Fevil.example",
        "javascript:alert(1)",
    ] {
        let html = app
            .get(&format!("/login?next={bypass}"))
            .await
            .text()
            .await
            .unwrap();
        assert!(
            html.contains(r#"href="/register?next=/workflows""#),
            "{bypass}: {html}"
        );
        assert!(!html.contains("evil.example"), "{bypass}");
    }
    let html = app
        .get("/login?next=/executions%3Fstatus%3Dfailed")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains(r#"href="/register?next=/executions%3Fstatus%3Dfailed""#),
        "{html}"
    );
}

/// A server function that hits a database error tells the browser only
/// that something went wrong; answers the user can act on keep their words.
async fn item11_server_functions_hide_database_errors(app: TestApp) {
    use sea_orm::ConnectionTrait;
    let ada = app.user("ada@example.com").await;
    let missing = ada
        .client
        .post(app.url("/api/run_detail"))
        .form(&[("id", "0190a5d2-0000-7000-8000-000000000000")])
        .send()
        .await
        .unwrap();
    assert!(missing.status().is_server_error());
    assert!(missing.text().await.unwrap().contains("not found"));

    // The table the settings page reads is gone: every query of it fails.
    app.db
        .execute_unprepared("ALTER TABLE api_tokens RENAME TO api_tokens_gone")
        .await
        .unwrap();
    let failed = ada
        .client
        .post(app.url("/api/my_tokens"))
        .send()
        .await
        .unwrap();
    assert!(failed.status().is_server_error());
    let body = failed.text().await.unwrap();
    assert!(
        body.contains(app::server_context::SOMETHING_WENT_WRONG),
        "{body}"
    );
    for leak in ["api_tokens", "database", "relation", "table", "SELECT"] {
        assert!(!body.contains(leak), "{leak} in {body}");
    }
}
