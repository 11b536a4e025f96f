//! PostgreSQL's own bulk-load rate for the rows the API stored: the ceiling
//! the native API is measured against.
//!
//! The rows are copied out of the database the server wrote (so they are
//! exactly what the API stored, byte for byte in COPY's text format) into a
//! fresh database migrated with the same schema, indexes included. Their
//! traces go in first, untimed, because the spans reference them; only the
//! `COPY agent.spans … FROM STDIN` is timed, from the statement to its
//! commit, on the same PostgreSQL cluster in the same run.

use std::time::{Duration, Instant};

use anyhow::{ensure, Context};
use bytes::Bytes;
use futures::{SinkExt, TryStreamExt};
use tokio_postgres::{Client, NoTls};

pub struct CopyOutcome {
    pub rows: u64,
    pub bytes: usize,
    pub elapsed: Duration,
}

impl CopyOutcome {
    pub fn rows_per_second(&self) -> f64 {
        self.rows as f64 / self.elapsed.as_secs_f64()
    }
}

/// Times COPY of the spans whose trace id starts with `trace_prefix`, read
/// from `source_url`, into a fresh database.
pub async fn measure(source_url: &str, trace_prefix: &str) -> anyhow::Result<CopyOutcome> {
    measure_where(source_url, &format!("trace_id LIKE '{}-%'", trace_prefix.replace('\'', "''"))).await
}

/// Times COPY of the spans (and, untimed, the traces) that match the SQL
/// condition `filter`, read from `source_url`, into a fresh database.
pub async fn measure_where(source_url: &str, filter: &str) -> anyhow::Result<CopyOutcome> {
    let source = connect(source_url).await?;
    let span_columns = columns(&source, "spans").await?;
    let trace_columns = columns(&source, "traces").await?;
    let trace_rows = copy_out(&source, &trace_columns, "traces", filter).await?;
    let span_rows = copy_out(&source, &span_columns, "spans", filter).await?;

    let target_database = agentrace_testkit::postgres::fresh_database().await?;
    agentrace_store_postgres::migrations::apply_url(target_database.url())
        .await
        .context("migrating the COPY target database")?;
    let target = connect(target_database.url()).await?;
    copy_in(&target, &trace_columns, "traces", trace_rows).await?;

    let bytes = span_rows.iter().map(Bytes::len).sum();
    let started = Instant::now();
    let rows = copy_in(&target, &span_columns, "spans", span_rows).await?;
    let elapsed = started.elapsed();

    let stored: i64 = target.query_one("SELECT count(*) FROM agent.spans", &[]).await?.get(0);
    ensure!(stored as u64 == rows, "COPY reported {rows} rows but the table holds {stored}");
    Ok(CopyOutcome { rows, bytes, elapsed })
}

async fn connect(url: &str) -> anyhow::Result<Client> {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.context("connecting to PostgreSQL")?;
    tokio::spawn(async move {
        // Ends when the client is dropped; errors surface on the client's calls.
        let _ = connection.await;
    });
    Ok(client)
}

/// Every column of `agent.<table>`, so the copy carries the whole row
/// whatever migrations have added.
async fn columns(client: &Client, table: &str) -> anyhow::Result<String> {
    let rows = client
        .query(
            "SELECT quote_ident(column_name) FROM information_schema.columns \
             WHERE table_schema = 'agent' AND table_name = $1 ORDER BY ordinal_position",
            &[&table],
        )
        .await?;
    ensure!(!rows.is_empty(), "agent.{table} has no columns");
    Ok(rows.iter().map(|row| row.get::<_, String>(0)).collect::<Vec<_>>().join(", "))
}

async fn copy_out(client: &Client, columns: &str, table: &str, filter: &str) -> anyhow::Result<Vec<Bytes>> {
    let statement = format!("COPY (SELECT {columns} FROM agent.{table} WHERE {filter}) TO STDOUT");
    let stream = client.copy_out(statement.as_str()).await.with_context(|| format!("copying agent.{table} out"))?;
    Ok(stream.try_collect().await?)
}

async fn copy_in(client: &Client, columns: &str, table: &str, chunks: Vec<Bytes>) -> anyhow::Result<u64> {
    let statement = format!("COPY agent.{table} ({columns}) FROM STDIN");
    let sink = client.copy_in::<_, Bytes>(statement.as_str()).await.with_context(|| format!("COPY agent.{table}"))?;
    futures::pin_mut!(sink);
    for chunk in chunks {
        sink.feed(chunk).await?;
    }
    Ok(sink.finish().await?)
}
