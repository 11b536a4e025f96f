//! The real OpenTelemetry Python SDK and exporters against the real
//! `agentrace` binary: `otlp_scenario.py` emits a GenAI agent trace, an
//! OpenInference trace, a failing span, three traces of one conversation and
//! a trace whose child is exported before its parent, over http/protobuf,
//! http/json and gRPC, each with and without gzip; these tests then check
//! what the read API, the statistics and the schema's views show.
//!
//! The SDK is installed by `scripts/test` into `target/python-venv` (the
//! pinned versions below); `AGENTRACE_TEST_PYTHON` names another
//! interpreter. Without one these tests fail: they never skip.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::helpers::Backend;

fn python() -> PathBuf {
    crate::python_venv::python("the OTLP client tests", PYTHON_PACKAGES)
}

/// What `scripts/test` installs, and what these tests were written against.
pub const PYTHON_PACKAGES: &str = "opentelemetry-sdk==1.45.1 opentelemetry-exporter-otlp-proto-http==1.45.1 \
     opentelemetry-exporter-otlp-proto-grpc==1.45.1 opentelemetry-exporter-otlp-json-http==0.66b1";

#[derive(Debug, Clone, Copy)]
enum Protocol {
    HttpProtobuf,
    HttpJson,
    Grpc,
}

impl Protocol {
    fn name(self) -> &'static str {
        match self {
            Protocol::HttpProtobuf => "http/protobuf",
            Protocol::HttpJson => "http/json",
            Protocol::Grpc => "grpc",
        }
    }
}

enum Database {
    Sqlite(agentrace_testkit::sqlite::TempSqlite),
    Postgres(agentrace_testkit::postgres::TestDatabase),
}

/// `agentrace serve` on free ports and a fresh database.
struct Server {
    http_url: String,
    grpc_url: String,
    client: reqwest::Client,
    // Held for its Drop, which stops the server (`kill_on_drop`); declared
    // before the database so the server stops before its database goes.
    _process: tokio::process::Child,
    database: Database,
}

impl Server {
    async fn start(backend: Backend) -> Server {
        let (store_args, database) = match backend {
            Backend::Sqlite => {
                let file = agentrace_testkit::sqlite::TempSqlite::new();
                (vec!["--sqlite-path".to_owned(), file.path().display().to_string()], Database::Sqlite(file))
            }
            Backend::Postgres => {
                let database = agentrace_testkit::postgres::fresh_database().await.expect("fresh postgres database");
                (vec!["--database-url".to_owned(), database.url().to_owned()], Database::Postgres(database))
            }
        };
        let mut process = tokio::process::Command::new(env!("CARGO_BIN_EXE_agentrace"))
            .args(["serve", "--port", "0", "--log", "warn"])
            .args(&store_args)
            .env_remove("DATABASE_URL")
            .env_remove("AGENTRACE_GRPC_PORT")
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("agentrace starts");
        let mut lines = BufReader::new(process.stdout.take().expect("stdout")).lines();
        let mut http_url = None;
        let grpc_url = loop {
            let line = lines.next_line().await.expect("stdout").expect("the server prints its addresses");
            if let Some(url) = line.split("listening on ").nth(1) {
                http_url = Some(url.trim().to_owned());
            }
            if line.contains("OTEL_EXPORTER_OTLP_PROTOCOL=grpc") {
                let endpoint = line.split("OTEL_EXPORTER_OTLP_ENDPOINT=").nth(1).expect("the gRPC endpoint");
                break endpoint.split_whitespace().next().expect("an endpoint").to_owned();
            }
        };
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let http_url = http_url.expect("the HTTP address comes first");
        Server { http_url, grpc_url, client: reqwest::Client::new(), database, _process: process }
    }

    async fn trace(&self, trace_id: &str) -> Value {
        let url = format!("{}/api/v1/traces/{trace_id}", self.http_url);
        let response = self.client.get(url).send().await.expect("sent");
        assert_eq!(response.status(), StatusCode::OK, "trace {trace_id}");
        response.json().await.expect("a JSON trace")
    }

    /// One text column of every row of a reference query, `$1` bound to `argument`.
    async fn column(&self, sql: &str, argument: &str, column: &str) -> Vec<String> {
        match &self.database {
            Database::Postgres(database) => {
                let client = database.connect().await.expect("connect");
                let rows = client.query(sql, &[&argument]).await.unwrap_or_else(|error| panic!("{sql}: {error}"));
                rows.iter().map(|row| row.get::<_, Option<String>>(column).unwrap_or_default()).collect()
            }
            Database::Sqlite(file) => {
                let connection = agentrace_store_sqlite::connection::open(file.path()).expect("open");
                let sql = sql.replace("$1", "?1");
                let mut statement = connection.prepare(&sql).unwrap_or_else(|error| panic!("{sql}: {error}"));
                let rows = statement
                    .query_map([argument], |row| row.get::<_, Option<String>>(column))
                    .unwrap_or_else(|error| panic!("{sql}: {error}"));
                rows.map(|row| row.expect("row").unwrap_or_default()).collect()
            }
        }
    }
}

async fn run_scenario(server: &Server, protocol: Protocol, gzip: bool, run_id: &str) -> Value {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/otlp/otlp_scenario.py");
    let endpoint = match protocol {
        Protocol::Grpc => &server.grpc_url,
        Protocol::HttpProtobuf | Protocol::HttpJson => &server.http_url,
    };
    let mut command = tokio::process::Command::new(python());
    command
        .arg(&script)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", std::env::temp_dir())
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
        .env("OTEL_EXPORTER_OTLP_INSECURE", "true")
        .env("AGENTRACE_OTLP_PROTOCOL", protocol.name())
        .env("AGENTRACE_RUN_ID", run_id)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if gzip {
        command.env("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip");
    }
    let child = command.spawn().unwrap_or_else(|error| panic!("cannot start {}: {error}", python().display()));
    let output = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
        .await
        .expect("the OTLP scenario finished within 120 s")
        .expect("the OTLP scenario ran");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "otlp_scenario.py ({}) failed: {}\n{stderr}\n(scripts/test installs {PYTHON_PACKAGES})",
        protocol.name(),
        output.status
    );
    let report: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|error| panic!("no JSON report from otlp_scenario.py ({error}): {stdout}\n{stderr}"));
    assert_eq!(report["problems"], serde_json::json!([]), "the SDK logged problems:\n{stderr}");
    assert_eq!(report["flushed"], true, "every force_flush succeeded");
    report
}

fn ids<'a>(report: &'a Value, trace: &str) -> (&'a str, &'a Value) {
    let entry = &report["traces"][trace];
    (entry["trace_id"].as_str().unwrap_or_else(|| panic!("no trace {trace} in the report")), &entry["spans"])
}

/// The stored span with the id the script reported under `name`.
fn span<'a>(trace: &'a Value, spans: &Value, name: &str) -> &'a Value {
    let span_id = spans[name].as_str().unwrap_or_else(|| panic!("no span {name}"));
    trace["spans"]
        .as_array()
        .expect("spans")
        .iter()
        .find(|span| span["span_id"] == span_id)
        .unwrap_or_else(|| panic!("span {name} ({span_id}) not stored"))
}

async fn clients_emit_and_agentrace_stores(backend: Backend, protocol: Protocol, gzip: bool) {
    let server = Server::start(backend).await;
    let run_id = format!("{}-{}", protocol.name().replace('/', "-"), if gzip { "gzip" } else { "plain" });
    let report = run_scenario(&server, protocol, gzip, &run_id).await;

    // GenAI agent: agent → chat → tool → MCP call, chat; tokens summed over model calls only.
    let (trace_id, spans) = ids(&report, "genai");
    let trace = server.trace(trace_id).await;
    assert_eq!(trace["spans"].as_array().unwrap().len(), 5);
    let agent = span(&trace, spans, "agent");
    assert_eq!((&agent["span_type"], &agent["parent_span_id"]), (&"agent".into(), &Value::Null));
    for (name, span_type, parent) in [
        ("chat_1", "model_call", "agent"),
        ("tool", "tool_call", "agent"),
        ("mcp", "mcp_call", "tool"),
        ("chat_2", "model_call", "agent"),
    ] {
        let stored = span(&trace, spans, name);
        assert_eq!(stored["span_type"], span_type, "{name}");
        assert_eq!(stored["parent_span_id"], spans[parent], "{name}'s parent");
    }
    let chat = span(&trace, spans, "chat_1");
    assert_eq!((&chat["model"], &chat["provider"]), (&"gpt-4o-2024-08-06".into(), &"openai".into()));
    assert_eq!(
        chat["tokens_used"],
        serde_json::json!({"prompt": 412, "completion": 38, "total": 450, "cache_read": 128})
    );
    assert_eq!(span(&trace, spans, "chat_2")["tokens_used"]["reasoning"], 64);
    assert_eq!(span(&trace, spans, "mcp")["input"], serde_json::json!({"to": "LIS", "max_price": 300}));
    assert_eq!(span(&trace, spans, "tool")["metadata"]["app.note"], "nul\u{2400}0inside");
    assert_eq!(
        (&trace["stats"]["prompt_tokens"], &trace["stats"]["total_tokens"]),
        (&(412 + 980).into(), &1641.into())
    );
    assert_eq!(trace["trace"]["session_id"], report["conversation"]);
    assert_eq!(trace["trace"]["user_id"], "user-otlp");
    assert_eq!(trace["trace"]["project"], "otlp-project");
    assert_eq!(trace["trace"]["status"], "success");

    // OpenInference: AGENT → CHAIN (graph node) → LLM, TOOL, RETRIEVER.
    let (trace_id, spans) = ids(&report, "openinference");
    let trace = server.trace(trace_id).await;
    let types: Vec<(&str, &Value)> = ["agent", "chain", "llm", "tool", "retriever"]
        .into_iter()
        .map(|name| (name, &span(&trace, spans, name)["span_type"]))
        .collect();
    assert_eq!(
        types,
        [
            ("agent", &"agent".into()),
            ("chain", &"node".into()),
            ("llm", &"model_call".into()),
            ("tool", &"tool_call".into()),
            ("retriever", &"retriever".into())
        ]
    );
    let llm = span(&trace, spans, "llm");
    assert_eq!((&llm["model"], &llm["provider"]), (&"claude-sonnet-4-5".into(), &"anthropic".into()));
    assert_eq!(llm["parent_span_id"], spans["chain"]);
    assert_eq!(trace["stats"]["total_tokens"], 366);
    assert_eq!(span(&trace, spans, "retriever")["output"][1]["id"], "doc-2");
    assert_eq!(trace["trace"]["session_id"], "oi-session");

    // The failing chat: error status and message on the span and the trace.
    let (trace_id, spans) = ids(&report, "failing");
    let trace = server.trace(trace_id).await;
    let chat = span(&trace, spans, "chat");
    assert_eq!(chat["status"], "error");
    assert_eq!(chat["error"], "RuntimeError: 429 rate_limit_error: too many requests");
    assert_eq!(chat["events"][0]["name"], "exception");
    assert_eq!(trace["trace"]["status"], "error");
    assert_eq!(trace["stats"]["error_spans"], 2);

    // Three traces of one conversation: one session.
    let shared = report["shared_conversation"].as_str().unwrap();
    let mut session_traces = server
        .column("SELECT * FROM agent.traces WHERE session_id = $1 ORDER BY start_time DESC", shared, "trace_id")
        .await;
    session_traces.sort();
    let mut expected: Vec<String> =
        ["shared_1", "shared_2", "shared_3"].iter().map(|name| ids(&report, name).0.to_owned()).collect();
    expected.sort();
    assert_eq!(session_traces, expected);
    let stats = server.column("SELECT * FROM agent.trace_stats WHERE session_id = $1", shared, "trace_id").await;
    assert_eq!(stats.len(), 3);

    // The child arrived in an earlier request than its parent: one tree.
    let (trace_id, spans) = ids(&report, "late_parent");
    let trace = server.trace(trace_id).await;
    assert_eq!(span(&trace, spans, "child")["parent_span_id"], spans["root"]);
    assert_eq!(trace["trace"]["name"], "invoke_agent late-root");
    assert_eq!(trace["trace"]["status"], "success");
    assert_eq!(trace["stats"]["total_tokens"], 12);

    // The tree view returns every span of every trace, each once.
    for name in ["genai", "openinference", "failing", "shared_1", "late_parent"] {
        let (trace_id, spans) = ids(&report, name);
        let mut tree = server.column("SELECT * FROM agent.trace_tree WHERE trace_id = $1", trace_id, "span_id").await;
        tree.sort();
        let mut sent: Vec<String> =
            spans.as_object().unwrap().values().map(|id| id.as_str().unwrap().to_owned()).collect();
        sent.sort();
        assert_eq!(tree, sent, "agent.trace_tree of {name}");
    }
}

macro_rules! client_tests {
    ($($name:ident: $protocol:expr, $gzip:expr;)*) => {
        mod on_sqlite {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    clients_emit_and_agentrace_stores(Backend::Sqlite, $protocol, $gzip).await;
                }
            )*
        }
        mod on_postgres {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    clients_emit_and_agentrace_stores(Backend::Postgres, $protocol, $gzip).await;
                }
            )*
        }
    };
}

client_tests! {
    http_protobuf: Protocol::HttpProtobuf, false;
    http_protobuf_gzip: Protocol::HttpProtobuf, true;
    http_json: Protocol::HttpJson, false;
    http_json_gzip: Protocol::HttpJson, true;
    grpc: Protocol::Grpc, false;
    grpc_gzip: Protocol::Grpc, true;
}
