//! Command-line settings. Every flag has an environment variable
//! (`AGENTRACE_…`, and `DATABASE_URL` as the ecosystem expects); flags win
//! over the environment, which wins over the defaults.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "agentrace", version, about = "A trace service for LLM agents")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server: ingest APIs, query API and metrics on one HTTP port.
    Serve(ServeSettings),
    /// Apply the SQL migrations to a database and exit.
    Migrate(MigrateSettings),
}

/// Where the data lives. With neither option, an SQLite file in the user's
/// data directory.
#[derive(Debug, Clone, Args)]
pub struct StoreSettings {
    /// PostgreSQL URL (postgres://user:password@host:port/db), or sqlite:PATH.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<DatabaseUrl>,

    /// SQLite database file, used when no --database-url is given.
    #[arg(long, env = "AGENTRACE_SQLITE_PATH")]
    pub sqlite_path: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ServeSettings {
    #[command(flatten)]
    pub store: StoreSettings,

    /// Address to listen on. The default, loopback, keeps the unauthenticated
    /// ingest API private to this machine.
    #[arg(long, env = "AGENTRACE_BIND", default_value = "127.0.0.1")]
    pub bind: IpAddr,

    /// HTTP port (OpenTelemetry's OTLP/HTTP default).
    #[arg(long, env = "AGENTRACE_PORT", default_value_t = 4318)]
    pub port: u16,

    /// OTLP/gRPC port, on the same address (OpenTelemetry's default, 4317;
    /// an ephemeral port when --port is 0, so test servers never collide).
    #[arg(long, env = "AGENTRACE_GRPC_PORT")]
    pub grpc_port: Option<u16>,

    /// Do not apply migrations at start (PostgreSQL; SQLite always migrates).
    #[arg(long, env = "AGENTRACE_NO_MIGRATE")]
    pub no_migrate: bool,

    /// Largest request body accepted, in bytes, after decompression.
    #[arg(long, env = "AGENTRACE_MAX_BODY_BYTES", default_value_t = 64 * 1024 * 1024)]
    pub max_body_bytes: usize,

    /// Items (spans and trace pieces) allowed to wait for the writer before
    /// requests are answered 429.
    #[arg(long, env = "AGENTRACE_QUEUE_ITEMS", default_value_t = 100_000)]
    pub queue_items: usize,

    /// Approximate memory, in bytes, that pieces waiting for the writer may
    /// hold before requests are answered 429.
    #[arg(long, env = "AGENTRACE_QUEUE_BYTES", default_value_t = 64 * 1024 * 1024)]
    pub queue_bytes: usize,

    /// Most items written in one transaction.
    #[arg(long, env = "AGENTRACE_BATCH_ITEMS", default_value_t = 4_000)]
    pub batch_items: usize,

    /// How long, in milliseconds, the writer waits for more requests to join
    /// a batch that is not full.
    #[arg(long, env = "AGENTRACE_BATCH_LINGER_MS", default_value_t = 2)]
    pub batch_linger_ms: u64,

    /// Make the LangSmith `GET /info` send the SDK to `POST /runs/batch`
    /// (JSON) instead of `/runs/multipart`. For proxies that cannot pass
    /// multipart bodies; the SDK drops attachments on that path.
    #[arg(long, env = "AGENTRACE_LANGSMITH_BATCH_ENDPOINT")]
    pub langsmith_batch_endpoint: bool,

    /// PostgreSQL connections in the pool.
    #[arg(long, env = "AGENTRACE_PG_POOL_SIZE", default_value_t = 8)]
    pub pg_pool_size: usize,

    /// Log filter (tracing's EnvFilter syntax), e.g. "info" or "agentrace=debug".
    #[arg(long, env = "AGENTRACE_LOG", default_value = "info")]
    pub log: String,
}

#[derive(Debug, Args)]
pub struct MigrateSettings {
    #[command(flatten)]
    pub store: StoreSettings,
}

/// A database URL whose password never reaches logs through `Debug`.
#[derive(Clone)]
pub struct DatabaseUrl(pub String);

impl std::str::FromStr for DatabaseUrl {
    type Err = std::convert::Infallible;
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        Ok(DatabaseUrl(raw.to_owned()))
    }
}

impl DatabaseUrl {
    /// The URL with any password replaced by `***`.
    pub fn redacted(&self) -> String {
        let raw = &self.0;
        let Some(scheme_end) = raw.find("://") else { return raw.clone() };
        let after_scheme = &raw[scheme_end + 3..];
        let authority_end = after_scheme.find('/').unwrap_or(after_scheme.len());
        let authority = &after_scheme[..authority_end];
        match (authority.rfind('@'), authority.find(':')) {
            (Some(at), Some(colon)) if colon < at => {
                format!("{}{}:***{}", &raw[..scheme_end + 3], &authority[..colon], &after_scheme[at..])
            }
            _ => raw.clone(),
        }
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        let url = DatabaseUrl("postgres://agent:s3cret@db:5432/traces".into());
        assert_eq!(format!("{url:?}"), "postgres://agent:***@db:5432/traces");
        assert_eq!(DatabaseUrl("postgres://db/traces".into()).redacted(), "postgres://db/traces");
    }
}
