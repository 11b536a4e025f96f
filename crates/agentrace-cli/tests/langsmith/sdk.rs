//! The real `langsmith` Python SDK against the real `agentrace` binary:
//! `sdk_scenario.py` traces a small agent, then these tests check what the
//! read API, the store and the schema's reference queries show against what
//! the script says it sent. The scenario runs in the SDK's four sending
//! modes, on both backends; for the `/runs/batch` mode the server is started
//! with `--langsmith-batch-endpoint`.
//!
//! The SDK is installed by `scripts/test` into `target/python-venv`
//! (pinned version below); `AGENTRACE_TEST_PYTHON` names another
//! interpreter. Without one these tests fail: they never skip.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use agentrace_store::TraceStore;
use agentrace_store_postgres::PostgresStore;
use agentrace_store_sqlite::SqliteStore;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::helpers::Backend;

/// The SDK version `scripts/test` installs and these tests were written against.
pub const LANGSMITH_VERSION: &str = "0.15.1";

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    /// The default: multipart, zstd-compressed once the client has read `/info`.
    Zstd,
    /// `LANGSMITH_DISABLE_RUN_COMPRESSION=true`: plain multipart.
    Plain,
    /// The server's `/info` sends the client to `/runs/batch`.
    Batch,
    /// `Client(auto_batch_tracing=False)`: one POST and one PATCH per run.
    Single,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Zstd => "zstd",
            Mode::Plain => "plain",
            Mode::Batch => "batch",
            Mode::Single => "single",
        }
    }
}

fn python() -> PathBuf {
    crate::python_venv::python("the LangSmith SDK tests", &format!("langsmith=={LANGSMITH_VERSION}"))
}

/// `agentrace serve` (the binary) on a free port and a fresh database, and
/// the store opened beside it.
struct Target {
    base_url: String,
    client: reqwest::Client,
    store: Arc<dyn TraceStore>,
    database: Database,
    // Held only for its Drop, which stops the server (`kill_on_drop`).
    _process: tokio::process::Child,
}

enum Database {
    Sqlite(agentrace_testkit::sqlite::TempSqlite),
    Postgres(agentrace_testkit::postgres::TestDatabase),
}

impl Target {
    /// In `Mode::Batch`, the server runs with `--langsmith-batch-endpoint`.
    async fn start(backend: Backend, mode: Mode) -> Target {
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
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_agentrace"));
        command.args(["serve", "--port", "0", "--log", "warn"]).args(&store_args);
        if mode == Mode::Batch {
            command.arg("--langsmith-batch-endpoint");
        }
        let mut process = command
            .env_remove("DATABASE_URL")
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("agentrace starts");
        let mut lines = BufReader::new(process.stdout.take().expect("stdout")).lines();
        let base_url = loop {
            let line = lines.next_line().await.expect("stdout").expect("the server prints its address");
            if let Some(url) = line.split("listening on ").nth(1) {
                break url.trim().to_owned();
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        // The server has migrated and opened the database: open it beside it.
        let store: Arc<dyn TraceStore> = match &database {
            Database::Sqlite(file) => Arc::new(SqliteStore::open(file.path()).expect("open the server's sqlite file")),
            Database::Postgres(database) => {
                Arc::new(PostgresStore::connect(database.url(), 2).await.expect("connect to the server's database"))
            }
        };
        Target { base_url, client: reqwest::Client::new(), store, database, _process: process }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    async fn trace(&self, trace_id: &str) -> Value {
        let response = self.client.get(self.url(&format!("/api/v1/traces/{trace_id}"))).send().await.expect("sent");
        assert_eq!(response.status(), StatusCode::OK, "trace {trace_id}");
        response.json().await.expect("a JSON trace")
    }

    /// Runs one of the schema's reference queries with `$1` bound to
    /// `argument`; returns the named text columns of each row.
    async fn query(&self, sql: &str, argument: &str, columns: &[&str]) -> Vec<Vec<String>> {
        match &self.database {
            Database::Postgres(database) => {
                let client = database.connect().await.expect("connect");
                let rows = client.query(sql, &[&argument]).await.unwrap_or_else(|error| panic!("{sql}: {error}"));
                rows.iter()
                    .map(|row| {
                        columns
                            .iter()
                            .map(|column| {
                                let index = row.columns().iter().position(|c| c.name() == *column).expect(column);
                                postgres_text(row, index)
                            })
                            .collect()
                    })
                    .collect()
            }
            Database::Sqlite(file) => {
                let connection = agentrace_store_sqlite::connection::open(file.path()).expect("open");
                let sql = sql.replace("$1", "?1");
                let mut statement = connection.prepare(&sql).unwrap_or_else(|error| panic!("{sql}: {error}"));
                let names: Vec<String> = statement.column_names().into_iter().map(str::to_owned).collect();
                let indexes: Vec<usize> =
                    columns.iter().map(|column| names.iter().position(|name| name == column).expect(column)).collect();
                let rows = statement
                    .query_map([argument], |row| {
                        Ok(indexes
                            .iter()
                            .map(|&index| {
                                let value = row.get_ref(index).expect("column");
                                let text = value.as_str().map(str::to_owned);
                                text.or_else(|_| value.as_i64().map(|number| number.to_string())).unwrap_or_default()
                            })
                            .collect::<Vec<String>>())
                    })
                    .expect("query");
                rows.map(|row| row.expect("row")).collect()
            }
        }
    }
}

/// Runs the scenario against `app`; returns what the script reports.
async fn run_scenario(app: &Target, mode: Mode) -> Value {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/langsmith/sdk_scenario.py");
    let mut command = tokio::process::Command::new(python());
    command
        .arg(&script)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", std::env::temp_dir())
        .env("LANGSMITH_ENDPOINT", &app.base_url)
        .env("LANGSMITH_TRACING", "true")
        .env("LANGSMITH_API_KEY", "lsv2_test_key_not_checked")
        .env("AGENTRACE_SDK_MODE", mode.name())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if mode == Mode::Plain {
        command.env("LANGSMITH_DISABLE_RUN_COMPRESSION", "true");
    }
    let child = command.spawn().unwrap_or_else(|error| panic!("cannot start {}: {error}", python().display()));
    let output = tokio::time::timeout(Duration::from_secs(180), child.wait_with_output())
        .await
        .expect("the SDK scenario finished within 180 s")
        .expect("the SDK scenario ran");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "sdk_scenario.py ({}) failed: {}\n{stderr}", mode.name(), output.status);
    let report: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|error| panic!("no JSON report from sdk_scenario.py ({error}): {stdout}\n{stderr}"));
    let sdk_failures: Vec<&Value> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|message| {
            // The batch endpoint cannot carry attachments; the SDK says so.
            !(mode == Mode::Batch && message.as_str().is_some_and(|text| text.contains("ttachment")))
        })
        .collect();
    assert!(sdk_failures.is_empty(), "the SDK logged problems ({}): {sdk_failures:?}\n{stderr}", mode.name());
    report
}

/// A text or integer column as text; anything else (NULL included) as "".
fn postgres_text(row: &tokio_postgres::Row, index: usize) -> String {
    let text = row.try_get::<_, Option<String>>(index).map(Option::unwrap_or_default);
    text.or_else(|_| row.try_get::<_, i64>(index).map(|number| number.to_string()))
        .or_else(|_| row.try_get::<_, i32>(index).map(|number| number.to_string()))
        .unwrap_or_default()
}

async fn spawn(backend: Backend, mode: Mode) -> Target {
    Target::start(backend, mode).await
}

fn id<'a>(report: &'a Value, name: &str) -> &'a str {
    report["ids"][name].as_str().unwrap_or_else(|| panic!("no id for {name} in {}", report["ids"]))
}

fn span<'a>(trace: &'a Value, span_id: &str) -> &'a Value {
    trace["spans"]
        .as_array()
        .unwrap()
        .iter()
        .find(|span| span["span_id"] == span_id)
        .unwrap_or_else(|| panic!("span {span_id} in trace {}", trace["trace"]["trace_id"]))
}

async fn sdk_traces_are_stored(backend: Backend, mode: Mode) {
    let app = spawn(backend, mode).await;
    let report = run_scenario(&app, mode).await;
    let runs: Vec<&str> = [
        "agent",
        "llm",
        "tool",
        "retriever",
        "broken_tool",
        "failing_agent",
        "big",
        "unicode",
        "attachment",
        "manual_root",
        "manual_llm",
    ]
    .into_iter()
    .map(|name| id(&report, name))
    .collect();
    let turns: Vec<&str> =
        report["ids"]["thread_turns"].as_array().unwrap().iter().map(|id| id.as_str().unwrap()).collect();
    assert_eq!(turns.len(), 3);
    // Every run once: nothing lost, nothing duplicated, nothing else.
    assert_eq!(app.store.count_spans().await.unwrap(), (runs.len() + turns.len()) as u64);

    // agent → chat_model (llm) → web_search (tool) → lookup_docs (retriever), and a failing tool.
    let agent_id = id(&report, "agent");
    let agent = app.trace(agent_id).await;
    assert_eq!(agent["spans"].as_array().unwrap().len(), 5);
    assert_eq!(agent["trace"]["project"], "sdk-tests");
    assert_eq!(agent["trace"]["status"], "success", "the agent caught its tool's error");
    assert_eq!(agent["trace"]["input"], json!({"question": "What's the weather in Paris?"}));
    assert_eq!(agent["trace"]["output"], json!({"output": "found 1"}));
    let chain = [("agent", "chain", None), ("llm", "model_call", Some("agent")), ("tool", "tool_call", Some("llm"))];
    let chain = chain
        .into_iter()
        .chain([("retriever", "retriever", Some("tool")), ("broken_tool", "tool_call", Some("agent"))]);
    for (name, span_type, parent) in chain {
        let stored = span(&agent, id(&report, name));
        assert_eq!(stored["span_type"], span_type, "{name}");
        assert_eq!(stored["parent_span_id"], parent.map_or(Value::Null, |parent| json!(id(&report, parent))), "{name}");
        assert_eq!(stored["status"], if name == "broken_tool" { "error" } else { "success" }, "{name}");
    }
    let llm = span(&agent, id(&report, "llm"));
    assert_eq!((llm["model"].as_str(), llm["provider"].as_str()), (Some("gpt-4o-mini"), Some("openai")));
    assert_eq!(
        llm["tokens_used"],
        json!({"prompt": 120, "completion": 30, "total": 150, "cache_read": 100, "reasoning": 10})
    );
    assert_eq!(span(&agent, id(&report, "tool"))["model"], Value::Null, "inherited model metadata stays metadata");
    assert!(span(&agent, id(&report, "broken_tool"))["error"].as_str().unwrap().starts_with("ValueError('boom 3')"));
    assert_eq!(
        (
            agent["stats"]["model_calls"].as_i64(),
            agent["stats"]["total_tokens"].as_i64(),
            agent["stats"]["error_spans"].as_i64()
        ),
        (Some(1), Some(150), Some(1))
    );
    let feedback = agent["feedback"].as_array().unwrap();
    assert_eq!(feedback.len(), 1, "{feedback:?}");
    assert_eq!((feedback[0]["key"].as_str(), feedback[0]["score"].as_f64()), (Some("helpfulness"), Some(0.75)));
    assert_eq!(feedback[0]["comment"], "précis 👍");

    let failing = app.trace(id(&report, "failing_agent")).await;
    assert_eq!(failing["trace"]["status"], "error");
    assert!(failing["trace"]["error"].as_str().unwrap().starts_with("RuntimeError('the agent gave up')"));

    // Three traces of one conversation.
    let thread_id = report["thread_id"].as_str().unwrap();
    for turn in &turns {
        let trace = app.trace(turn).await;
        assert_eq!(trace["trace"]["session_id"], thread_id);
        assert_eq!(trace["trace"]["metadata"]["langsmith.session_key"], "thread_id");
        assert_eq!(trace["trace"]["status"], "success");
    }

    // 200 KB of input, byte for byte; unicode exactly.
    let big = app.trace(id(&report, "big")).await;
    assert_eq!(big["spans"][0]["input"], json!({"document": report["big"]}));
    assert!(report["big"].as_str().unwrap().len() > 200_000);
    let unicode = app.trace(id(&report, "unicode")).await;
    assert_eq!(unicode["trace"]["name"], "翻訳 🌏");
    assert_eq!(unicode["spans"][0]["input"], json!({"text": report["unicode"]}));
    let reversed: String = report["unicode"].as_str().unwrap().chars().rev().collect();
    assert_eq!(unicode["spans"][0]["output"], json!({"translation": reversed}));

    // The attachment, except through /runs/batch, which cannot carry one.
    let attachment_run = id(&report, "attachment");
    let traced = app.trace(attachment_run).await;
    let attachments = traced["attachments"].as_array().unwrap();
    if mode == Mode::Batch {
        assert!(attachments.is_empty());
    } else {
        assert_eq!(attachments.len(), 1, "{attachments:?}");
        assert_eq!(attachments[0]["name"], "image");
        assert_eq!(attachments[0]["content_type"], "image/png");
        let path = format!("/api/v1/traces/{attachment_run}/spans/{attachment_run}/attachments/image");
        let bytes = app.client.get(app.url(&path)).send().await.unwrap().bytes().await.unwrap();
        let expected: Vec<u8> =
            report["png"].as_array().unwrap().iter().map(|byte| byte.as_u64().unwrap() as u8).collect();
        assert_eq!(bytes.to_vec(), expected);
    }

    // A RunTree used by hand, its usage set only in metadata.
    let manual = app.trace(id(&report, "manual_root")).await;
    assert_eq!(manual["trace"]["session_id"], "conv-manual");
    assert_eq!(manual["trace"]["metadata"]["langsmith.session_key"], "conversation_id");
    assert_eq!(manual["trace"]["tags"], json!(["manual"]));
    assert_eq!(manual["trace"]["output"], json!({"answer": "hello"}));
    let manual_llm = span(&manual, id(&report, "manual_llm"));
    assert_eq!(manual_llm["span_type"], "model_call");
    assert_eq!(manual_llm["tokens_used"], json!({"prompt": 3, "completion": 1, "total": 4}));
    assert_eq!(manual_llm["parent_span_id"], id(&report, "manual_root"));

    reference_queries_show_the_traces(&app, &report).await;
}

/// The schema's four reference queries, verbatim, find the SDK's traces
/// like any others.
async fn reference_queries_show_the_traces(app: &Target, report: &Value) {
    let thread_id = report["thread_id"].as_str().unwrap();
    let turns: Vec<String> =
        report["ids"]["thread_turns"].as_array().unwrap().iter().map(|id| id.to_string().replace('"', "")).collect();
    let newest_first: Vec<String> = turns.iter().rev().cloned().collect();
    let sessions = app
        .query("SELECT * FROM agent.traces WHERE session_id = $1 ORDER BY start_time DESC", thread_id, &["trace_id"])
        .await;
    assert_eq!(sessions.into_iter().flatten().collect::<Vec<_>>(), newest_first);

    let agent = id(report, "agent");
    let tree = app
        .query("SELECT * FROM agent.trace_tree WHERE trace_id = $1", agent, &["span_id", "level", "span_type"])
        .await;
    let expected: Vec<Vec<String>> = [
        ("agent", "1", "chain"),
        ("llm", "2", "model_call"),
        ("tool", "3", "tool_call"),
        ("retriever", "4", "retriever"),
        ("broken_tool", "2", "tool_call"),
    ]
    .into_iter()
    .map(|(name, level, span_type)| vec![id(report, name).to_owned(), level.to_owned(), span_type.to_owned()])
    .collect();
    assert_eq!(tree, expected, "pre-order, siblings by start time");

    let stats = app
        .query(
            "SELECT * FROM agent.trace_stats WHERE session_id = $1",
            thread_id,
            &["trace_id", "total_spans", "status"],
        )
        .await;
    assert_eq!(stats.len(), 3);
    assert!(stats.iter().all(|row| turns.contains(&row[0]) && row[1] == "1" && row[2] == "success"), "{stats:?}");

    let model_calls = app
        .query(
            "SELECT span_id, name, model, provider, duration_ms, tokens_used\n\
             FROM agent.spans WHERE trace_id = $1 AND span_type = 'model_call' ORDER BY start_time",
            agent,
            &["span_id", "name", "model", "provider"],
        )
        .await;
    assert_eq!(model_calls, [[id(report, "llm"), "chat_model", "gpt-4o-mini", "openai"]]);
}

macro_rules! sdk_tests {
    ($($test:ident: $backend:ident, $mode:ident;)*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                sdk_traces_are_stored(Backend::$backend, Mode::$mode).await;
            }
        )*
    };
}

sdk_tests! {
    sdk_zstd_multipart_on_sqlite: Sqlite, Zstd;
    sdk_zstd_multipart_on_postgres: Postgres, Zstd;
    sdk_plain_multipart_on_sqlite: Sqlite, Plain;
    sdk_plain_multipart_on_postgres: Postgres, Plain;
    sdk_runs_batch_on_sqlite: Sqlite, Batch;
    sdk_runs_batch_on_postgres: Postgres, Batch;
    sdk_single_post_and_patch_on_sqlite: Sqlite, Single;
    sdk_single_post_and_patch_on_postgres: Postgres, Single;
}
