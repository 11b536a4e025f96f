//! The web UI: the static files of the repository's `ui/` folder, embedded
//! in the binary at build time and served beside the API.
//!
//! Every page path answers with the same app shell (`ui/index.html`); the
//! browser routes between pages itself. The shell is revalidated on every
//! load (`no-cache`) while the files it loads live under
//! `/assets/{version}/…`, where the version is a hash of all of them: a new
//! build changes every asset URL, so browsers may keep assets forever.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use sha2::{Digest, Sha256};

/// Where the browser may load anything from: only this server, no inline
/// script or style. Charts are inline SVG drawn through the DOM, which
/// needs no exception.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The paths the app shell is served at: the UI's pages. Anything else is
/// left to the API and ingest routes (and unknown paths stay 404).
pub const PAGES: &[&str] = &["/", "/traces", "/traces/{trace_id}", "/sessions", "/sessions/{session_id}", "/stats"];

struct Asset {
    path: &'static str,
    body: &'static [u8],
}

macro_rules! assets {
    ($($path:literal),* $(,)?) => {
        &[$(Asset { path: $path, body: include_bytes!(concat!("../../../ui/", $path)) }),*]
    };
}

/// Every file under `ui/` but the shell (a test checks the list is complete).
const ASSETS: &[Asset] = assets![
    "favicon.svg",
    "style.css",
    "theme.js",
    "js/api.js",
    "js/app.js",
    "js/charts.js",
    "js/dom.js",
    "js/format.js",
    "js/payload.js",
    "js/views/common.js",
    "js/views/onboarding.js",
    "js/views/session.js",
    "js/views/sessions.js",
    "js/views/span-detail.js",
    "js/views/stats.js",
    "js/views/trace.js",
    "js/views/traces.js",
    "js/views/waterfall.js",
];

const SHELL_TEMPLATE: &str = include_str!("../../../ui/index.html");
/// Replaced in the shell by `/assets/{version}`.
const ASSETS_PLACEHOLDER: &str = "{{ASSETS}}";
/// Replaced in the shell by a `modulepreload` link per module, so the
/// browser fetches them all at once instead of discovering each import
/// only after loading the module that names it.
const PRELOADS_PLACEHOLDER: &str = "{{MODULE_PRELOADS}}";

struct Bundle {
    version: String,
    shell: String,
}

static BUNDLE: LazyLock<Bundle> = LazyLock::new(|| {
    let mut hasher = Sha256::new();
    for asset in ASSETS {
        hasher.update(asset.path.as_bytes());
        hasher.update((asset.body.len() as u64).to_le_bytes());
        hasher.update(asset.body);
    }
    hasher.update(SHELL_TEMPLATE.as_bytes());
    let version = hex::encode(&hasher.finalize()[..8]);
    let preloads: Vec<String> = ASSETS
        .iter()
        .filter(|asset| asset.path.starts_with("js/"))
        .map(|asset| format!(r#"<link rel="modulepreload" href="{ASSETS_PLACEHOLDER}/{}">"#, asset.path))
        .collect();
    let shell = SHELL_TEMPLATE
        .replace(PRELOADS_PLACEHOLDER, &preloads.join("\n  "))
        .replace(ASSETS_PLACEHOLDER, &format!("/assets/{version}"));
    Bundle { version, shell }
});

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, extension)| extension) {
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

/// The UI's routes: the pages and the assets. They need no state.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    let router = PAGES.iter().fold(Router::new(), |router, page| router.route(page, get(shell)));
    router.route("/assets/{version}/{*path}", get(asset))
}

async fn shell() -> Response {
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8")),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY)),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        (header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
    ];
    (headers, BUNDLE.shell.as_str()).into_response()
}

async fn asset(Path((version, path)): Path<(String, String)>) -> Response {
    // Another version's URL is a page loaded from an older build: its other
    // files are gone, so it fails loudly rather than mixing two builds.
    let found = ASSETS.iter().find(|asset| asset.path == path).filter(|_| version == BUNDLE.version);
    let Some(asset) = found else {
        return (StatusCode::NOT_FOUND, [(header::CACHE_CONTROL, "no-store")], "no such asset\n").into_response();
    };
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static(content_type(asset.path))),
        (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable")),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
    ];
    (headers, asset.body).into_response()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    fn files_under(root: &Path, dir: &Path, found: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).expect("readable ui folder") {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                files_under(root, &path, found);
            } else {
                let relative = path.strip_prefix(root).expect("under ui/").to_str().expect("UTF-8 path");
                found.insert(relative.replace('\\', "/"));
            }
        }
    }

    #[test]
    fn every_ui_file_is_embedded() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui");
        let mut on_disk = BTreeSet::new();
        files_under(&root, &root, &mut on_disk);
        on_disk.remove("index.html");
        let embedded: BTreeSet<String> = super::ASSETS.iter().map(|asset| asset.path.to_owned()).collect();
        assert_eq!(on_disk, embedded);
    }

    #[test]
    fn the_shell_loads_its_assets_from_the_versioned_path() {
        let bundle = &*super::BUNDLE;
        assert_eq!(bundle.version.len(), 16);
        assert!(!bundle.shell.contains(super::ASSETS_PLACEHOLDER));
        assert!(!bundle.shell.contains(super::PRELOADS_PLACEHOLDER));
        let preloaded = bundle.shell.matches(r#"<link rel="modulepreload""#).count();
        assert_eq!(preloaded, super::ASSETS.iter().filter(|asset| asset.path.starts_with("js/")).count());
        let prefix = format!("/assets/{}/", bundle.version);
        for referenced in ["style.css", "theme.js", "js/app.js", "favicon.svg"] {
            assert!(bundle.shell.contains(&format!("{prefix}{referenced}")), "the shell loads {referenced}");
        }
    }
}
