//! `TestApp`: the application on a free port, over a fresh SQLite file or a
//! fresh PostgreSQL database, with typed request helpers. Every write is
//! acknowledged only after commit, so tests read back right after a 2xx
//! without sleeping.

use std::sync::Arc;

use agentrace_ingest::pipeline::Pipeline;
use agentrace_ingest::PipelineConfig;
use agentrace_server::{AppState, LangsmithSettings, Limits};
use agentrace_store::TraceStore;
use agentrace_store_postgres::PostgresStore;
use agentrace_store_sqlite::SqliteStore;
use reqwest::StatusCode;
use serde_json::Value;

#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Keeps the database behind a `TestApp` alive.
#[allow(dead_code)]
enum DatabaseGuard {
    Sqlite(agentrace_testkit::sqlite::TempSqlite),
    Postgres(agentrace_testkit::postgres::TestDatabase),
}

pub struct TestApp {
    pub base_url: String,
    /// OTLP/gRPC, served beside the HTTP router as `agentrace serve` does.
    #[allow(dead_code)]
    pub grpc_url: String,
    pub client: reqwest::Client,
    pub store: Arc<dyn TraceStore>,
    _pipeline: Pipeline,
    _database: DatabaseGuard,
}

pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        TestApp::spawn_with(backend, Limits::default(), PipelineConfig::default()).await
    }

    pub async fn spawn_with(backend: Backend, limits: Limits, pipeline: PipelineConfig) -> TestApp {
        TestApp::spawn_configured(backend, limits, pipeline, LangsmithSettings::default()).await
    }

    pub async fn spawn_configured(
        backend: Backend,
        limits: Limits,
        pipeline: PipelineConfig,
        langsmith: LangsmithSettings,
    ) -> TestApp {
        let (store, database): (Arc<dyn TraceStore>, DatabaseGuard) = match backend {
            Backend::Sqlite => {
                let file = agentrace_testkit::sqlite::TempSqlite::new();
                let store = SqliteStore::open(file.path()).expect("open sqlite store");
                (Arc::new(store), DatabaseGuard::Sqlite(file))
            }
            Backend::Postgres => {
                let database = agentrace_testkit::postgres::fresh_database().await.expect("fresh postgres database");
                agentrace_store_postgres::migrations::apply_url(database.url()).await.expect("migrate");
                let store = PostgresStore::connect(database.url(), 8).await.expect("connect");
                (Arc::new(store), DatabaseGuard::Postgres(database))
            }
        };
        let pipeline = Pipeline::start(Arc::clone(&store), pipeline);
        // A recorder that is not installed globally: each app renders its own (empty) metrics.
        let metrics = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder().handle();
        let grpc_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind grpc");
        let grpc_address = grpc_listener.local_addr().expect("grpc address");
        let grpc = agentrace_server::serve_grpc(
            grpc_listener,
            pipeline.ingestor(),
            limits.max_body_bytes,
            std::future::pending(),
        );
        tokio::spawn(async move { grpc.await.expect("serve grpc") });
        let state = AppState {
            store: Arc::clone(&store),
            ingestor: pipeline.ingestor(),
            metrics,
            limits,
            langsmith,
            otlp_grpc_port: None,
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        tokio::spawn(async move {
            axum::serve(listener, agentrace_server::router(state)).await.expect("serve");
        });
        TestApp {
            base_url: format!("http://{address}"),
            grpc_url: format!("http://{grpc_address}"),
            client: reqwest::Client::new(),
            store,
            _pipeline: pipeline,
            _database: database,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request.send().await.expect("request sent");
        let status = response.status();
        let bytes = response.bytes().await.expect("response body");
        let body =
            serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
        Reply { status, body }
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Reply {
        self.send(self.client.post(self.url(path)).json(body)).await
    }

    pub async fn post_raw(&self, path: &str, content_type: &str, body: impl Into<reqwest::Body>) -> Reply {
        self.send(self.client.post(self.url(path)).header("content-type", content_type).body(body)).await
    }

    pub async fn patch_json(&self, path: &str, body: &Value) -> Reply {
        self.send(self.client.patch(self.url(path)).json(body)).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(self.client.get(self.url(path))).await
    }

    /// The trace as the API returns it; panics when it is not there.
    pub async fn trace(&self, trace_id: &str) -> Value {
        let reply = self.get(&format!("/api/v1/traces/{trace_id}")).await;
        assert_eq!(reply.status, StatusCode::OK, "trace {trace_id}: {}", reply.body);
        reply.body
    }

    /// Span ids of a trace, in the API's order.
    pub async fn span_ids(&self, trace_id: &str) -> Vec<String> {
        self.trace(trace_id).await["spans"]
            .as_array()
            .expect("spans")
            .iter()
            .map(|span| span["span_id"].as_str().expect("span_id").to_owned())
            .collect()
    }
}

/// Runs each listed async test function against both backends.
#[macro_export]
macro_rules! on_both_backends {
    ($($test:ident),* $(,)?) => {
        mod on_sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test($crate::helpers::TestApp::spawn($crate::helpers::Backend::Sqlite).await).await;
                }
            )*
        }
        mod on_postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test($crate::helpers::TestApp::spawn($crate::helpers::Backend::Postgres).await).await;
                }
            )*
        }
    };
}
