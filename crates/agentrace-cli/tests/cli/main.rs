//! The read commands of the real `agentrace` binary, against a seeded
//! server and directly against the same database (an SQLite file, and a
//! PostgreSQL database): both print exactly the expected text, tables and
//! `--json` alike. The fixture's times are fixed, and the CLI prints UTC.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use reqwest::StatusCode;
use serde_json::Value;

#[path = "../support/read_fixture.rs"]
mod read_fixture;

/// A running `agentrace serve` on a free port.
struct Server {
    child: Child,
    base_url: String,
}

impl Server {
    async fn start_seeded(store_args: &[&str]) -> Server {
        let server = Server::start(store_args);
        let reply = reqwest::Client::new()
            .post(format!("{}/api/v1/ingest", server.base_url))
            .json(&read_fixture::ingest_body())
            .send()
            .await
            .expect("ingest sent");
        assert_eq!(reply.status(), StatusCode::OK);
        server
    }

    fn start(store_args: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_agentrace"))
            .args(["serve", "--port", "0", "--log", "warn"])
            .args(store_args)
            .env_remove("DATABASE_URL")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("agentrace starts");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let base_url = loop {
            let line = lines.next().expect("the server prints its address").expect("stdout line");
            if let Some(url) = line.split("listening on ").nth(1) {
                break url.trim().to_owned();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Server { child, base_url }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `agentrace ARGS`, with no source settings from the environment.
fn agentrace(args: &[&str], envs: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_agentrace"))
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("AGENTRACE_SERVER")
        .env_remove("AGENTRACE_SQLITE_PATH")
        .env_remove("NO_COLOR")
        .envs(envs.iter().copied())
        .output()
        .expect("agentrace runs")
}

fn stdout_of(args: &[&str]) -> String {
    let output = agentrace(args, &[]);
    assert!(output.status.success(), "agentrace {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

fn expected_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/cli/expected").join(name)
}

fn expected(name: &str) -> String {
    let path = expected_path(name);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// Each command, and the file holding what it must print.
const COMMANDS: &[(&[&str], &str)] = &[
    (&["traces"], "traces.txt"),
    (&["traces", "--project", "travel", "--has-error"], "traces_travel_errors.txt"),
    (&["traces", "--sort", "duration_desc", "--limit", "2"], "traces_slowest_two.txt"),
    (&["traces", "--metadata", "tier=gold", "--since", "2026-03-01T10:30:00Z"], "traces_gold_since.txt"),
    (&["traces", "--search", "refund", "--json"], "traces_refund.json"),
    (&["trace", "trip-2"], "trace_trip_2.txt"),
    (&["trace", "support-1"], "trace_support_1.txt"),
    (&["trace", "trip-1", "--json"], "trace_trip_1.json"),
    (&["sessions"], "sessions.txt"),
    (&["sessions", "--user", "bob", "--json"], "sessions_bob.json"),
    (&["session", "s-paris"], "session_paris.txt"),
    (&["session", "s-help"], "session_help.txt"),
    (&["stats", "--level", "trace"], "stats_traces.txt"),
    (&["stats", "--group-by", "model", "--span-type", "model_call"], "stats_models.txt"),
    (&["stats", "--level", "trace", "--group-by", "hour", "--project", "support", "--json"], "stats_hours.json"),
];

/// Every command prints its expected text through `source` (the server, or
/// the database read directly).
fn check_every_command(source: &[&str]) {
    for (args, file) in COMMANDS {
        let mut full: Vec<&str> = args.to_vec();
        full.extend_from_slice(source);
        let printed = stdout_of(&full);
        // After an intended change of the output, `AGENTRACE_BLESS=1` writes
        // what was printed as the new expectation, for review in the diff.
        if std::env::var_os("AGENTRACE_BLESS").is_some() {
            std::fs::write(expected_path(file), &printed).expect("expected file written");
        }
        let wanted = expected(file);
        assert!(
            printed == wanted,
            "agentrace {}\n--- printed ---\n{printed}--- expected ({file}) ---\n{wanted}",
            full.join(" ")
        );
    }
}

fn check_errors(source: &[&str]) {
    let cases: &[(&[&str], &str)] = &[
        (&["trace", "nope"], "error: trace \"nope\" not found\n"),
        (&["session", "nope"], "error: session \"nope\" not found\n"),
        (&["stats", "--level", "trace", "--group-by", "model"],
         "error: invalid query parameter `group_by`: model groups spans, not traces; use level=span (the default) to group by model\n"),
    ];
    for (args, message) in cases {
        let mut full: Vec<&str> = args.to_vec();
        full.extend_from_slice(source);
        let output = agentrace(&full, &[]);
        assert_eq!(output.status.code(), Some(1), "agentrace {full:?}");
        assert_eq!(String::from_utf8_lossy(&output.stderr), *message, "agentrace {full:?}");
        assert!(output.stdout.is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_and_sqlite_file_print_the_expected_text() {
    let file = agentrace_testkit::sqlite::TempSqlite::new();
    let path = file.path().to_str().expect("UTF-8 path").to_owned();
    let server = Server::start_seeded(&["--sqlite-path", &path]).await;
    check_every_command(&["--server", &server.base_url]);
    check_every_command(&["--sqlite-path", &path]);
    check_errors(&["--server", &server.base_url]);
    check_errors(&["--sqlite-path", &path]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_and_postgres_print_the_expected_text() {
    let database = agentrace_testkit::postgres::fresh_database().await.expect("fresh postgres database");
    let server = Server::start_seeded(&["--database-url", database.url()]).await;
    check_every_command(&["--server", &server.base_url]);
    check_every_command(&["--database-url", database.url()]);
    // The environment works like the flags.
    let output = agentrace(&["traces", "--project", "travel", "--has-error"], &[("DATABASE_URL", database.url())]);
    assert_eq!(String::from_utf8_lossy(&output.stdout), expected("traces_travel_errors.txt"));
    let output =
        agentrace(&["traces", "--project", "travel", "--has-error"], &[("AGENTRACE_SERVER", &server.base_url)]);
    assert_eq!(String::from_utf8_lossy(&output.stdout), expected("traces_travel_errors.txt"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn colour_only_on_a_terminal_without_no_color() {
    let file = agentrace_testkit::sqlite::TempSqlite::new();
    let path = file.path().to_str().expect("UTF-8 path").to_owned();
    let server = Server::start_seeded(&["--sqlite-path", &path]).await;
    let red = "\u{1b}[31m";

    let piped = stdout_of(&["trace", "support-1", "--server", &server.base_url]);
    assert!(!piped.contains('\u{1b}'), "no escape codes into a pipe:\n{piped}");

    let on_terminal = in_terminal(&["trace", "support-1", "--server", &server.base_url], &[]);
    assert!(on_terminal.contains(&format!("{red}error")), "the failed span in red:\n{on_terminal}");
    assert!(on_terminal.contains(&format!("{red}upstream 500")), "{on_terminal}");
    let no_color = in_terminal(&["trace", "support-1", "--server", &server.base_url], &[("NO_COLOR", "1")]);
    assert!(!no_color.contains('\u{1b}'), "NO_COLOR turns colour off on a terminal too:\n{no_color}");
    assert_eq!(no_color.replace("\r\n", "\n"), expected("trace_support_1.txt"));
}

/// What `agentrace ARGS` prints on a pseudo-terminal (util-linux `script`).
fn in_terminal(args: &[&str], envs: &[(&str, &str)]) -> String {
    let binary = Path::new(env!("CARGO_BIN_EXE_agentrace"));
    let command = std::iter::once(binary.to_str().unwrap())
        .chain(args.iter().copied())
        .map(shell_quote)
        .collect::<Vec<_>>()
        .join(" ");
    let output = Command::new("script")
        .args(["--quiet", "--return", "--command", &command, "/dev/null"])
        .env_remove("NO_COLOR")
        .env_remove("DATABASE_URL")
        .env_remove("AGENTRACE_SERVER")
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("script (util-linux) runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("UTF-8")
}

fn shell_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

#[test]
fn an_unreachable_server_is_named_with_what_to_do() {
    let output = agentrace(&["traces", "--server", "http://127.0.0.1:9"], &[]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "error: cannot reach the agentrace server at http://127.0.0.1:9: start one with `agentrace serve`, \
         point --server (or AGENTRACE_SERVER) at yours, or read a database directly with --database-url / \
         --sqlite-path\n"
    );
    let missing = agentrace(&["traces", "--sqlite-path", "/nonexistent/agentrace.db"], &[]);
    assert_eq!(
        String::from_utf8_lossy(&missing.stderr),
        "error: no database at /nonexistent/agentrace.db: check --sqlite-path (or run `agentrace serve` to create one)\n"
    );
    let both = agentrace(&["traces", "--server", "http://127.0.0.1:9", "--sqlite-path", "x.db"], &[]);
    assert_eq!(
        String::from_utf8_lossy(&both.stderr),
        "error: give either --server or a database (--database-url, --sqlite-path), not both\n"
    );
    let bad_flag = agentrace(&["traces", "--since", "last tuesday"], &[]);
    assert_eq!(bad_flag.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&bad_flag.stderr);
    assert!(stderr.contains("invalid value 'last tuesday' for '--since <SINCE>'"), "{stderr}");
    assert!(stderr.contains("a duration before now such as 30m, 24h, 7d"), "{stderr}");
}

/// `--json` is the API's JSON: what the server answers, as it answers it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_is_the_api_answer() {
    let file = agentrace_testkit::sqlite::TempSqlite::new();
    let path = file.path().to_str().expect("UTF-8 path").to_owned();
    let server = Server::start_seeded(&["--sqlite-path", &path]).await;
    let printed: Value =
        serde_json::from_str(&stdout_of(&["sessions", "--json", "--server", &server.base_url])).expect("JSON");
    let api: Value = reqwest::get(format!("{}/api/v1/sessions", server.base_url)).await.unwrap().json().await.unwrap();
    assert_eq!(printed, api);
    let traces: Value = serde_json::from_str(&stdout_of(&["traces", "--json", "--sqlite-path", &path])).expect("JSON");
    let ids: Vec<&str> = traces["items"].as_array().unwrap().iter().map(|t| t["trace_id"].as_str().unwrap()).collect();
    assert_eq!(ids, read_fixture::ALL_NEWEST_FIRST);
}

/// `serve --retention-days`: a sweep at start and then every interval
/// deletes what started before the window, counts it in the metrics, and
/// the server still stops cleanly on SIGTERM.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_with_retention_deletes_old_traces_and_stops_cleanly() {
    let file = agentrace_testkit::sqlite::TempSqlite::new();
    let path = file.path().to_str().expect("UTF-8 path").to_owned();
    let mut server =
        Server::start(&["--sqlite-path", &path, "--retention-days", "30", "--retention-interval-secs", "1"]);
    let now = chrono::Utc::now();
    let span = |trace_id: &str, days_ago: i64| {
        let start = now - chrono::Duration::days(days_ago);
        serde_json::json!({"trace_id": trace_id, "span_id": "root", "start_time": start.to_rfc3339(),
                           "end_time": (start + chrono::Duration::seconds(1)).to_rfc3339(), "status": "success"})
    };
    let body = serde_json::json!({"spans": [span("ancient", 40), span("fresh", 1)]});
    let client = reqwest::Client::new();
    let reply = client.post(format!("{}/api/v1/ingest", server.base_url)).json(&body).send().await.unwrap();
    assert_eq!(reply.status(), StatusCode::OK);

    // The next sweep is at most a second away; allow a loaded machine ten.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let status_of = |trace_id: &str| {
        let (client, url) = (client.clone(), format!("{}/api/v1/traces/{trace_id}", server.base_url));
        async move { client.get(url).send().await.unwrap().status() }
    };
    while status_of("ancient").await == StatusCode::OK {
        assert!(std::time::Instant::now() < deadline, "retention never deleted the 40-day-old trace");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status_of("ancient").await, StatusCode::NOT_FOUND);
    assert_eq!(status_of("fresh").await, StatusCode::OK);
    let metrics = client.get(format!("{}/metrics", server.base_url)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("agentrace_retention_deleted_traces_total 1"), "{metrics}");

    let terminated = Command::new("kill").args(["-TERM", &server.child.id().to_string()]).status().unwrap();
    assert!(terminated.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let exit = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(std::time::Instant::now() < deadline, "the server did not stop after SIGTERM");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(exit.success(), "{exit:?}");
}

/// `serve` keeps the statistics rollups up to date in the background: once
/// the written minutes have been quiet for a moment they are recomputed,
/// nothing waits any more, and statistics over more than 10,000 spans come
/// from the rollups (estimated percentiles) with exact counts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_brings_the_statistics_rollups_up_to_date() {
    use agentrace_store::query::TraceQueries as _;

    let file = agentrace_testkit::sqlite::TempSqlite::new();
    let path = file.path().to_str().expect("UTF-8 path").to_owned();
    let server = Server::start(&["--sqlite-path", &path]);
    let client = reqwest::Client::new();
    let first = chrono::Utc::now() - chrono::Duration::hours(3);
    let spans_per_request = 2_000;
    for request in 0..6 {
        let spans: Vec<Value> = (0..spans_per_request)
            .map(|index| {
                let number = request * spans_per_request + index;
                let start = first + chrono::Duration::seconds(number / 10);
                serde_json::json!({"trace_id": format!("t{}", number / 100), "span_id": format!("s{number}"),
                                   "span_type": "tool_call", "start_time": start.to_rfc3339(),
                                   "end_time": (start + chrono::Duration::milliseconds(number % 1_000)).to_rfc3339(),
                                   "status": if number % 10 == 0 { "error" } else { "success" }})
            })
            .collect();
        let reply = client
            .post(format!("{}/api/v1/ingest", server.base_url))
            .json(&serde_json::json!({ "spans": spans }))
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), StatusCode::OK);
    }

    let store = agentrace_store_sqlite::SqliteStore::open(file.path()).expect("open the server's SQLite file");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while store.rollup_backlog().await.unwrap() > 0 {
        assert!(std::time::Instant::now() < deadline, "the server never caught up with the written minutes");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let metrics = client.get(format!("{}/metrics", server.base_url)).send().await.unwrap().text().await.unwrap();
    let refreshed: u64 = metrics
        .lines()
        .find_map(|line| line.strip_prefix("agentrace_rollup_minutes_refreshed_total "))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or_else(|| panic!("no refresh counted: {metrics}"));
    // 12,000 spans, ten a second: 1,200 seconds, so 20 or 21 minutes.
    assert!(refreshed >= 20, "{refreshed} minutes refreshed");
    // The backlog gauge comes down to 0 at the task's next pass.
    loop {
        let metrics = client.get(format!("{}/metrics", server.base_url)).send().await.unwrap().text().await.unwrap();
        let backlog = metrics.lines().find_map(|line| line.strip_prefix("agentrace_rollup_backlog_minutes "));
        if backlog.map(str::trim) == Some("0") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the backlog gauge never read 0: {backlog:?}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    let stats: Value = client
        .get(format!("{}/api/v1/stats?group_by=hour", server.base_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let groups = stats["groups"].as_array().expect("groups");
    assert_eq!(groups.iter().map(|group| group["count"].as_i64().unwrap()).sum::<i64>(), 12_000);
    assert_eq!(groups.iter().map(|group| group["error_count"].as_i64().unwrap()).sum::<i64>(), 1_200);
    assert!(groups.iter().all(|group| group["percentiles_estimated"] == Value::Bool(true)), "{stats}");
}

/// `serve --prices FILE`: a model the shipped table does not know is priced
/// from the file at ingest; a file that cannot be used stops the start,
/// naming it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_prices_models_from_an_override_file() {
    let directory = tempfile::tempdir().unwrap();
    let prices = directory.path().join("prices.json");
    // US dollars per million tokens: 10 prompt and 5 completion tokens cost
    // 10 × 1000 / 1e6 + 5 × 2000 / 1e6 = 0.02.
    std::fs::write(&prices, r#"{"models": {"acme-7b": {"input": 1000, "output": 2000}}}"#).unwrap();
    let file = agentrace_testkit::sqlite::TempSqlite::new();
    let path = file.path().to_str().expect("UTF-8 path").to_owned();
    let server = Server::start_seeded(&["--sqlite-path", &path, "--prices", prices.to_str().unwrap()]).await;
    let trace: Value =
        reqwest::get(format!("{}/api/v1/traces/nightly-1", server.base_url)).await.unwrap().json().await.unwrap();
    let cost = trace["stats"]["cost_usd"].as_f64().expect("a cost");
    assert!((cost - 0.02).abs() < 1e-12, "{cost}");
    let stats = stdout_of(&["stats", "--group-by", "model", "--span-type", "model_call", "--sqlite-path", &path]);
    assert!(!stats.contains("no price"), "acme-7b is priced now:\n{stats}");

    std::fs::write(&prices, r#"{"models": {"acme-7b": {"input": -1, "output": 2}}}"#).unwrap();
    let refused =
        agentrace(&["serve", "--port", "0", "--sqlite-path", &path, "--prices", prices.to_str().unwrap()], &[]);
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.starts_with(&format!("error: --prices {}: price table: model \"acme-7b\"", prices.display())),
        "{stderr}"
    );
}
