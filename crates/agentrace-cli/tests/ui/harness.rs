//! The browser test harness: one chromedriver per test binary, one headless
//! Chromium session and one real `agentrace serve` process per test.
//!
//! [`run`] gives a test a [`Page`] on a fresh server, then, whether the test
//! passed or not, saves a screenshot under `target/ui-screenshots/`, reads
//! the browser's console log and closes the browser. Any console error
//! (an exception, a failed request, a Content-Security-Policy violation)
//! fails the test. Without Chromium or chromedriver the tests fail, naming
//! what to install: they never skip.

use std::future::Future;
use std::io::{BufRead, BufReader};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use futures::FutureExt;
use serde_json::{json, Value};

/// How long a test waits for the page to reach a state before failing.
const WAIT_LIMIT: Duration = Duration::from_secs(15);
const POLL_INTERVAL: Duration = Duration::from_millis(40);

pub const DESKTOP: (u32, u32) = (1280, 800);
pub const PHONE: (u32, u32) = (390, 844);

fn find_on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|file| file.is_file())
}

fn executable(variable: &str, names: &[&str]) -> PathBuf {
    if let Some(path) = std::env::var_os(variable) {
        return PathBuf::from(path);
    }
    find_on_path(names).unwrap_or_else(|| {
        panic!(
            "the web UI's browser tests need Chromium and chromedriver, and {} is not on PATH.\n\
             Run scripts/test, which installs them, or: apt-get install chromium chromium-driver\n\
             (or set {variable} to the executable)",
            names[0]
        )
    })
}

/// The chromedriver shared by every test of this binary.
struct Driver {
    url: String,
    /// Its shell wrapper stops chromedriver when this pipe closes, which
    /// happens when the test binary exits, however it exits.
    _lifeline: Mutex<ChildStdin>,
    _wrapper: Mutex<Child>,
}

fn driver() -> &'static Driver {
    static DRIVER: OnceLock<Driver> = OnceLock::new();
    DRIVER.get_or_init(|| {
        let chromedriver = executable("AGENTRACE_CHROMEDRIVER", &["chromedriver"]);
        let mut wrapper = Command::new("sh")
            .args(["-c", r#""$0" --port=0 & driver=$!; read -r _; kill "$driver""#])
            .arg(&chromedriver)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("chromedriver starts");
        let lifeline = wrapper.stdin.take().expect("stdin");
        let mut lines = BufReader::new(wrapper.stdout.take().expect("stdout")).lines();
        let port = loop {
            let line = lines.next().expect("chromedriver prints its port").expect("stdout line");
            if let Some(rest) = line.split("started successfully on port ").nth(1) {
                break rest.trim_end_matches('.').trim().to_owned();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Driver {
            url: format!("http://127.0.0.1:{port}"),
            _lifeline: Mutex::new(lifeline),
            _wrapper: Mutex::new(wrapper),
        }
    })
}

/// A running `agentrace serve` on a free port.
pub struct Server {
    child: Child,
    pub base_url: String,
    /// The OTLP/gRPC port, as the server's banner prints it.
    pub grpc_port: u16,
}

impl Server {
    pub fn start(store_args: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_agentrace"))
            .args(["serve", "--port", "0", "--log", "warn"])
            .args(store_args)
            .env_remove("DATABASE_URL")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("agentrace starts");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let mut next_line = || lines.next().expect("the server prints its addresses").expect("stdout line");
        let base_url = loop {
            if let Some(url) = next_line().split("listening on ").nth(1) {
                break url.trim().to_owned();
            }
        };
        let grpc_port = loop {
            let line = next_line();
            if line.contains("OTEL_EXPORTER_OTLP_PROTOCOL=grpc") {
                let endpoint =
                    line.split("OTEL_EXPORTER_OTLP_ENDPOINT=").nth(1).and_then(|rest| rest.split(' ').next());
                let port = endpoint.and_then(|endpoint| endpoint.rsplit(':').next()).and_then(|port| port.parse().ok());
                break port.unwrap_or_else(|| panic!("no gRPC port in the banner line {line:?}"));
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Server { child, base_url, grpc_port }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A WebDriver command chromedriver has beyond the W3C set.
#[derive(Debug)]
struct ChromeCommand {
    path: &'static str,
    body: Value,
}

impl WebDriverCompatibleCommand for ChromeCommand {
    fn endpoint(&self, base_url: &url::Url, session_id: Option<&str>) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!("session/{}/{}", session_id.unwrap_or_default(), self.path))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(self.body.to_string()))
    }
}

/// The store a test's server uses.
#[derive(Debug, Clone, Copy)]
pub enum Store {
    Sqlite,
    Postgres,
}

/// A browser on a test's server, and an HTTP client to seed that server.
#[derive(Clone)]
pub struct Page {
    pub client: Client,
    pub base_url: String,
    pub grpc_port: u16,
    http: reqwest::Client,
}

impl Page {
    /// Runs a Chrome DevTools Protocol command through chromedriver.
    pub async fn devtools(&self, command: &str, params: Value) -> Value {
        let body = json!({ "cmd": command, "params": params });
        self.client
            .issue_cmd(ChromeCommand { path: "goog/cdp/execute", body })
            .await
            .unwrap_or_else(|error| panic!("{command}: {error}"))
    }

    /// Sets the viewport to exactly `width` × `height` CSS pixels (a
    /// headless window cannot be made narrower than 500 pixels).
    pub async fn set_viewport(&self, (width, height): (u32, u32)) {
        let mobile = width < 500;
        self.devtools(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile }),
        )
        .await;
    }

    /// Makes the page see `prefers-color-scheme: dark` (or light).
    pub async fn prefer_color_scheme(&self, scheme: &str) {
        self.devtools(
            "Emulation.setEmulatedMedia",
            json!({ "features": [{ "name": "prefers-color-scheme", "value": scheme }] }),
        )
        .await;
    }

    /// The console entries logged since the last call.
    async fn console_entries(&self) -> Vec<Value> {
        let entries = self.client.issue_cmd(ChromeCommand { path: "se/log", body: json!({ "type": "browser" }) }).await;
        match entries.expect("browser log") {
            Value::Array(entries) => entries,
            other => panic!("unexpected browser log {other}"),
        }
    }

    /// Fails when the browser logged an error since the last check.
    pub async fn assert_no_console_errors(&self) {
        let errors: Vec<Value> =
            self.console_entries().await.into_iter().filter(|entry| entry["level"] == "SEVERE").collect();
        assert!(errors.is_empty(), "console errors: {}", serde_json::to_string_pretty(&errors).unwrap());
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Sends a native ingest batch; every item must be accepted.
    pub async fn ingest(&self, batch: Value) {
        let response = self.http.post(self.url("/api/v1/ingest")).json(&batch).send().await.expect("ingest request");
        let status = response.status();
        let body: Value = response.json().await.expect("ingest reply");
        assert!(status.is_success(), "ingest answered {status}: {body}");
        assert_eq!(body["rejected"], json!([]), "ingest rejected items: {body}");
    }

    /// Posts any JSON to the server (LangSmith runs, feedback); expects 2xx.
    pub async fn post(&self, path: &str, body: Value) -> Value {
        let response = self.http.post(self.url(path)).json(&body).send().await.expect("request");
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "POST {path} answered {status}: {body}");
        body
    }

    /// Opens an app page and waits until its view has rendered.
    pub async fn open(&self, path: &str) {
        self.client.goto(&self.url(path)).await.expect("navigation");
        self.wait_for_view().await;
    }

    /// Waits until the current view says it is rendered (main is no longer busy).
    pub async fn wait_for_view(&self) {
        self.wait_until("the view to render", "document.getElementById('view').getAttribute('aria-busy') === 'false'")
            .await;
    }

    /// Evaluates a JavaScript expression in the page.
    pub async fn eval(&self, expression: &str) -> Value {
        self.client
            .execute(&format!("return ({expression});"), vec![])
            .await
            .unwrap_or_else(|error| panic!("evaluating {expression}: {error}"))
    }

    /// Polls a JavaScript condition until it holds.
    pub async fn wait_until(&self, what: &str, condition: &str) {
        let started = Instant::now();
        loop {
            if self.eval(&format!("Boolean({condition})")).await == Value::Bool(true) {
                return;
            }
            assert!(started.elapsed() < WAIT_LIMIT, "timed out waiting for {what} ({condition})");
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    pub async fn find(&self, css: &str) -> fantoccini::elements::Element {
        self.client.wait().at_most(WAIT_LIMIT).for_element(Locator::Css(css)).await.unwrap_or_else(|error| {
            panic!("no element {css}: {error}");
        })
    }

    /// Does `act` to the element matching `css`. A view may rebuild a row
    /// between finding it and acting on it (the waterfall redraws its rows
    /// when a scroll bar comes or goes); a user's click lands on whatever is
    /// there, so a stale element is found again rather than failing the test.
    async fn on_element<Act, Done>(&self, css: &str, what: &str, act: Act)
    where
        Act: Fn(fantoccini::elements::Element) -> Done,
        Done: Future<Output = Result<(), fantoccini::error::CmdError>>,
    {
        let started = Instant::now();
        loop {
            match act(self.find(css).await).await {
                Ok(()) => return,
                Err(error) if error.is_stale_element_reference() && started.elapsed() < WAIT_LIMIT => {
                    tokio::time::sleep(POLL_INTERVAL).await;
                }
                Err(error) => panic!("{what} {css}: {error}"),
            }
        }
    }

    pub async fn click(&self, css: &str) {
        self.on_element(css, "clicking", |element| async move { element.click().await }).await;
    }

    /// The text of every element matching `css`, in document order.
    pub async fn texts(&self, css: &str) -> Vec<String> {
        let expression = format!(
            "Array.from(document.querySelectorAll({})).map((element) => element.textContent.trim())",
            json!(css)
        );
        serde_json::from_value(self.eval(&expression).await).expect("texts")
    }

    /// An attribute of every element matching `css`, in document order.
    pub async fn attributes(&self, css: &str, attribute: &str) -> Vec<String> {
        let expression = format!(
            "Array.from(document.querySelectorAll({})).map((element) => element.getAttribute({}))",
            json!(css),
            json!(attribute)
        );
        serde_json::from_value(self.eval(&expression).await).expect("attributes")
    }

    /// Waits until the elements matching `css` carry exactly `expected` as
    /// `attribute`, in order; fails showing what the page had instead.
    pub async fn wait_for_attributes(&self, css: &str, attribute: &str, expected: &[&str]) {
        let started = Instant::now();
        loop {
            let found = self.attributes(css, attribute).await;
            if found == expected {
                return;
            }
            assert!(
                started.elapsed() < WAIT_LIMIT,
                "timed out waiting for {css} [{attribute}] to be {expected:?}; the page has {found:?}"
            );
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Sends keys to the element matching `css`.
    pub async fn press(&self, css: &str, keys: &str) {
        self.on_element(css, "typing into", |element| async move { element.send_keys(keys).await }).await;
    }

    /// Chooses an option of the select matching `css` by its value.
    pub async fn choose(&self, css: &str, value: &str) {
        self.find(css)
            .await
            .select_by_value(value)
            .await
            .unwrap_or_else(|error| panic!("choosing {value} in {css}: {error}"));
    }

    /// Whether the page itself scrolls sideways (content wider than the viewport).
    pub async fn scrolls_horizontally(&self) -> bool {
        self.eval("document.documentElement.scrollWidth > document.documentElement.clientWidth").await
            == Value::Bool(true)
    }

    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("screenshot directory");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("screenshot written");
    }
}

fn screenshot_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/ui-screenshots")
}

async fn new_browser() -> Client {
    let chromium = executable("AGENTRACE_CHROMIUM", &["chromium", "chromium-browser", "google-chrome"]);
    let capabilities = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": chromium,
            // CI runs as root, where Chromium's sandbox cannot start.
            "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--no-first-run", "--disable-extensions", "--window-size=1280,800"],
        },
        "goog:loggingPrefs": { "browser": "ALL" },
    });
    let Value::Object(capabilities) = capabilities else { unreachable!() };
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver().url)
        .await
        .expect("a Chromium session (is chromium installed?)")
}

/// Runs `test` against a fresh server on `store` in a fresh browser at the
/// desktop size; saves the screenshot `name` and checks the console log
/// whatever the outcome.
pub async fn run<Test, Outcome>(name: &str, store: Store, test: Test)
where
    Test: FnOnce(Page) -> Outcome,
    Outcome: Future<Output = ()>,
{
    let _shared = RUNNING.read().await;
    run_test(name, store, test).await;
}

/// Like [`run`], while no other test of this binary runs: for the test
/// that times the page, which another browser and server beside it on a
/// small machine would slow down.
pub async fn run_alone<Test, Outcome>(name: &str, store: Store, test: Test)
where
    Test: FnOnce(Page) -> Outcome,
    Outcome: Future<Output = ()>,
{
    let _exclusive = RUNNING.write().await;
    run_test(name, store, test).await;
}

/// Held shared by every running test, and exclusively by [`run_alone`].
static RUNNING: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

async fn run_test<Test, Outcome>(name: &str, store: Store, test: Test)
where
    Test: FnOnce(Page) -> Outcome,
    Outcome: Future<Output = ()>,
{
    let (server, _database) = match store {
        Store::Sqlite => {
            let file = agentrace_testkit::sqlite::TempSqlite::new();
            let path = file.path().to_str().expect("UTF-8 path").to_owned();
            (Server::start(&["--sqlite-path", &path]), Database::Sqlite(file))
        }
        Store::Postgres => {
            let database = agentrace_testkit::postgres::fresh_database().await.expect("fresh PostgreSQL database");
            (Server::start(&["--database-url", database.url()]), Database::Postgres(database))
        }
    };
    let page = Page {
        client: new_browser().await,
        base_url: server.base_url.clone(),
        grpc_port: server.grpc_port,
        http: reqwest::Client::new(),
    };
    page.set_viewport(DESKTOP).await;
    let outcome = AssertUnwindSafe(test(page.clone())).catch_unwind().await;
    let (kept, stale) = if outcome.is_ok() {
        (name.to_owned(), format!("{name}-failed"))
    } else {
        (format!("{name}-failed"), name.to_owned())
    };
    page.screenshot(&kept).await;
    // A screenshot of an earlier run's other outcome would mislead.
    let _ = std::fs::remove_file(screenshot_dir().join(format!("{stale}.png")));
    let console = AssertUnwindSafe(page.assert_no_console_errors()).catch_unwind().await;
    let _ = page.client.clone().close().await;
    drop(server);
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
    if let Err(panic) = console {
        std::panic::resume_unwind(panic);
    }
}

/// Keeps a test's database alive while its server runs.
#[allow(dead_code)]
enum Database {
    Sqlite(agentrace_testkit::sqlite::TempSqlite),
    Postgres(agentrace_testkit::postgres::TestDatabase),
}
