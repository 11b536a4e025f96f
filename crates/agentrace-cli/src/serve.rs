//! `agentrace serve`: open the store, start the pipeline, serve HTTP, and on
//! SIGTERM or Ctrl-C stop accepting, finish in-flight requests and drain
//! the queue before exiting.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use agentrace_core::pricing;
use agentrace_ingest::pipeline::Pipeline;
use agentrace_ingest::PipelineConfig;
use agentrace_server::retention::RetentionSettings;
use agentrace_server::{AppState, LangsmithSettings, Limits};
use anyhow::Context;
use metrics_exporter_prometheus::PrometheusBuilder;
use tracing_subscriber::EnvFilter;

use crate::backend::Backend;
use crate::cli::ServeSettings;

pub async fn run(settings: ServeSettings) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_new(&settings.log).context("invalid --log filter")?)
        .with_writer(std::io::stderr)
        .init();
    let prices = install_prices(settings.prices.as_deref())?;
    let backend = Backend::from_settings(&settings.store)?;
    let store = backend.open(!settings.no_migrate, settings.pg_pool_size).await?;
    let metrics = PrometheusBuilder::new().install_recorder().context("installing the metrics recorder")?;

    let pipeline = Pipeline::start(
        store.clone(),
        PipelineConfig {
            queue_items: settings.queue_items,
            queue_bytes: settings.queue_bytes,
            batch_items: settings.batch_items.map(|items| items as usize),
            linger: Duration::from_millis(settings.batch_linger_ms),
            ..PipelineConfig::default()
        },
    );
    let address = SocketAddr::new(settings.bind, settings.port);
    let listener =
        tokio::net::TcpListener::bind(address).await.with_context(|| format!("cannot listen on {address}"))?;
    let local = listener.local_addr()?;
    let grpc_port = settings.grpc_port.unwrap_or(if settings.port == 0 { 0 } else { 4317 });
    let grpc_address = SocketAddr::new(settings.bind, grpc_port);
    let grpc_listener = tokio::net::TcpListener::bind(grpc_address)
        .await
        .with_context(|| format!("cannot listen on {grpc_address} (OTLP/gRPC; see --grpc-port)"))?;
    let grpc_local = grpc_listener.local_addr()?;
    let state = AppState {
        store: store.clone(),
        ingestor: pipeline.ingestor(),
        metrics,
        limits: Limits { max_body_bytes: settings.max_body_bytes },
        langsmith: LangsmithSettings { use_batch_endpoint: settings.langsmith_batch_endpoint },
        otlp_grpc_port: Some(grpc_local.port()),
    };
    print_banner(&backend, local, grpc_local, &settings, &prices);

    // One signal stops both servers; each finishes its requests in flight.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let until_stopped = |mut stopped: tokio::sync::watch::Receiver<bool>| async move {
        let _ = stopped.wait_for(|stop| *stop).await;
    };
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    });
    let rollups = tokio::spawn(agentrace_server::rollups::run(store.clone(), pipeline.ingestor(), stopped.clone()));
    let retention = settings.retention_days.map(|days| {
        let retention = RetentionSettings {
            max_age: chrono::Duration::days(i64::from(days)),
            interval: Duration::from_secs(settings.retention_interval_secs),
        };
        tokio::spawn(agentrace_server::retention::run(store, retention, stopped.clone()))
    });
    let grpc = tokio::spawn(agentrace_server::serve_grpc(
        grpc_listener,
        state.ingestor.clone(),
        settings.max_body_bytes,
        until_stopped(stopped.clone()),
    ));
    axum::serve(listener, agentrace_server::router(state)).with_graceful_shutdown(until_stopped(stopped)).await?;
    grpc.await.context("the gRPC server task failed")?.context("the gRPC server failed")?;
    if let Some(retention) = retention {
        retention.await.context("the retention task failed")?;
    }
    rollups.await.context("the rollup task failed")?;
    pipeline.shutdown().await;
    tracing::info!("stopped");
    Ok(())
}

/// Installs the price table before the first write: the shipped one, with
/// the entries of `file` when given. Returns how the banner describes it.
fn install_prices(file: Option<&Path>) -> anyhow::Result<String> {
    let Some(file) = file else {
        return Ok(format!("{} models priced (the table shipped with agentrace)", pricing::installed().len()));
    };
    let text = std::fs::read_to_string(file).with_context(|| format!("reading --prices {}", file.display()))?;
    let table =
        pricing::PriceTable::embedded_with_overrides(&text).with_context(|| format!("--prices {}", file.display()))?;
    let described = format!("{} models priced (the shipped table and {})", table.len(), file.display());
    pricing::install(table)?;
    Ok(described)
}

fn print_banner(
    backend: &Backend,
    address: SocketAddr,
    grpc_address: SocketAddr,
    settings: &ServeSettings,
    prices: &str,
) {
    let base = format!("http://{address}");
    println!("agentrace {} listening on {base}", env!("CARGO_PKG_VERSION"));
    println!("  store:       {}", backend.describe());
    println!("  ingest:      POST {base}/api/v1/ingest   (native JSON API)");
    println!("  otlp:        OTEL_EXPORTER_OTLP_ENDPOINT={base}   (http/protobuf, http/json: /v1/traces, /v1/logs)");
    println!("               OTEL_EXPORTER_OTLP_ENDPOINT=http://{grpc_address} OTEL_EXPORTER_OTLP_PROTOCOL=grpc");
    println!("  langsmith:   LANGSMITH_ENDPOINT={base} LANGSMITH_TRACING=true   (the langsmith SDK)");
    println!("  read:        GET  {base}/api/v1/traces  /sessions  /stats  /projects  /spans   (agentrace traces, trace ID, sessions, stats)");
    println!("  prices:      {prices}");
    if let Some(days) = settings.retention_days {
        let every = settings.retention_interval_secs;
        println!("  retention:   traces that started over {days} days ago are deleted (a sweep at start, then every {every} s)");
    }
    println!("  API docs:    {base}/api/v1/openapi.json");
    println!("  health:      {base}/healthz  {base}/readyz  {base}/metrics");
    println!("clients and the agentrace CLI find this server with:");
    println!("  export AGENTRACE_SERVER={base}");
}

async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {}
        _ = terminate => {}
    }
    tracing::info!("shutdown requested; finishing in-flight requests");
}
