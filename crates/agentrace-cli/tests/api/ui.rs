//! How the web UI is served: the app shell at every page path with its
//! security and cache headers, versioned assets with their content types,
//! every module the app imports, and the API routes left alone.

use std::collections::{BTreeSet, VecDeque};

use reqwest::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use reqwest::StatusCode;

use crate::helpers::{Backend, TestApp};

async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    app.client.get(app.url(path)).send().await.expect("request sent")
}

fn header(response: &reqwest::Response, name: reqwest::header::HeaderName) -> String {
    response.headers().get(&name).map(|value| value.to_str().unwrap().to_owned()).unwrap_or_default()
}

/// The `/assets/{version}` prefix the shell loads its files from.
fn asset_prefix(shell: &str) -> String {
    let start = shell.find("/assets/").expect("the shell names its assets");
    let version_end = shell[start + "/assets/".len()..].find('/').expect("a versioned path");
    shell[start..start + "/assets/".len() + version_end].to_owned()
}

/// Relative module paths a JavaScript file imports (`from "./x.js"`).
fn imports(source: &str) -> Vec<String> {
    source
        .split("from \"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|path| path.starts_with('.'))
        .map(str::to_owned)
        .collect()
}

fn resolve(module: &str, relative: &str) -> String {
    let mut parts: Vec<&str> = module.split('/').collect();
    parts.pop();
    for part in relative.split('/') {
        match part {
            "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    parts.join("/")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_path_serves_the_app_shell() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    for path in ["/", "/traces", "/traces/some-trace", "/sessions", "/sessions/some-session", "/stats"] {
        let response = get(&app, path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(header(&response, CONTENT_TYPE), "text/html; charset=utf-8", "{path}");
        assert_eq!(header(&response, CACHE_CONTROL), "no-cache", "{path}");
        assert_eq!(header(&response, CONTENT_SECURITY_POLICY), agentrace_server::ui::CONTENT_SECURITY_POLICY);
        let body = response.text().await.unwrap();
        assert!(body.contains("<main id=\"view\""), "{path} is the app shell");
        assert!(!body.contains("{{ASSETS}}"));
        // No inline script: every script is loaded from a file, as the CSP demands.
        assert_eq!(
            body.matches("<script").count(),
            body.matches("<script src=").count() + body.matches("<script type=\"module\" src=").count()
        );
    }
    let policy = agentrace_server::ui::CONTENT_SECURITY_POLICY;
    assert!(policy.contains("script-src 'self'") && !policy.contains("unsafe-inline"), "{policy}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assets_are_versioned_typed_and_cached_forever() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let shell = get(&app, "/").await.text().await.unwrap();
    let prefix = asset_prefix(&shell);
    for (file, content_type) in [
        ("style.css", "text/css; charset=utf-8"),
        ("theme.js", "text/javascript; charset=utf-8"),
        ("js/app.js", "text/javascript; charset=utf-8"),
        ("favicon.svg", "image/svg+xml"),
    ] {
        let response = get(&app, &format!("{prefix}/{file}")).await;
        assert_eq!(response.status(), StatusCode::OK, "{file}");
        assert_eq!(header(&response, CONTENT_TYPE), content_type, "{file}");
        assert_eq!(header(&response, CACHE_CONTROL), "public, max-age=31536000, immutable", "{file}");
        assert!(shell.contains(&format!("{prefix}/{file}")), "the shell loads {file}");
    }
    // Every module the app imports, followed from app.js, is served.
    let mut pending = VecDeque::from(["js/app.js".to_owned()]);
    let mut seen = BTreeSet::new();
    while let Some(module) = pending.pop_front() {
        if !seen.insert(module.clone()) {
            continue;
        }
        let response = get(&app, &format!("{prefix}/{module}")).await;
        assert_eq!(response.status(), StatusCode::OK, "{module} is embedded");
        let source = response.text().await.unwrap();
        pending.extend(imports(&source).iter().map(|relative| resolve(&module, relative)));
    }
    assert!(seen.len() > 10, "the app's modules were followed: {seen:?}");
    // Unknown files, and the files of another build, are not served.
    assert_eq!(get(&app, &format!("{prefix}/js/missing.js")).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(get(&app, "/assets/0000000000000000/js/app.js").await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ui_leaves_other_routes_alone() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let missing_trace = get(&app, "/api/v1/traces/unknown").await;
    assert_eq!(missing_trace.status(), StatusCode::NOT_FOUND);
    assert_eq!(header(&missing_trace, CONTENT_TYPE), "application/json");
    for path in ["/api/v1/nothing-here", "/traces/a/b", "/v1/nothing", "/nothing"] {
        let response = get(&app, path).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(!header(&response, CONTENT_TYPE).starts_with("text/html"), "{path} is not the app shell");
    }
    assert_eq!(get(&app, "/healthz").await.text().await.unwrap(), "ok\n");
    assert_eq!(header(&get(&app, "/metrics").await, CONTENT_TYPE), "text/plain; version=0.0.4");
    assert_eq!(get(&app, "/info").await.status(), StatusCode::OK);
}
