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
    /// List traces, newest first, with their duration, tokens and cost.
    Traces(TracesArgs),
    /// Draw one trace's span tree with a duration bar per span.
    Trace(TraceArgs),
    /// List sessions (conversations), most recently active first.
    Sessions(SessionsArgs),
    /// Show one session turn by turn: each turn's input and final output.
    Session(SessionArgs),
    /// Latency percentiles, error rate, tokens and cost, optionally grouped.
    Stats(StatsArgs),
}

/// Where a read command gets its data: a running server (the default), or
/// a database read directly when one is named. A flag on the command line
/// wins over the environment; `--server` and a database flag together are
/// an error.
#[derive(Debug, Clone, Args)]
pub struct ReadSource {
    /// The agentrace server to ask.
    #[arg(long, env = "AGENTRACE_SERVER", default_value = "http://127.0.0.1:4318")]
    pub server: String,

    /// Read this database directly instead of asking a server: a PostgreSQL
    /// URL (postgres://…) or sqlite:PATH.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<DatabaseUrl>,

    /// Read this SQLite file directly instead of asking a server.
    #[arg(long, env = "AGENTRACE_SQLITE_PATH")]
    pub sqlite_path: Option<PathBuf>,

    /// Print the API's JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// A point in time: RFC 3339, epoch milliseconds, or a duration before now
/// such as 30m, 24h, 7d.
pub type TimeArg = agentrace_core::time::Timestamp;

#[derive(Debug, Args)]
pub struct TracesArgs {
    #[command(flatten)]
    pub source: ReadSource,
    /// Traces of this project.
    #[arg(long)]
    pub project: Option<String>,
    /// Traces of this session.
    #[arg(long)]
    pub session: Option<String>,
    /// Traces of this user.
    #[arg(long)]
    pub user: Option<String>,
    /// Traces with this status.
    #[arg(long, value_parser = ["running", "success", "error"])]
    pub status: Option<String>,
    /// Exact trace name.
    #[arg(long)]
    pub name: Option<String>,
    /// Started at or after: RFC 3339, epoch milliseconds, or ago (30m, 24h, 7d).
    #[arg(long, value_parser = parse_time_arg)]
    pub since: Option<TimeArg>,
    /// Started before: RFC 3339, epoch milliseconds, or ago (30m, 24h, 7d).
    #[arg(long, value_parser = parse_time_arg)]
    pub until: Option<TimeArg>,
    /// Traces that ran at least this many milliseconds.
    #[arg(long)]
    pub min_duration_ms: Option<u64>,
    /// Only traces with (true, the default when given alone) or without (false) an error.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_parser = clap::value_parser!(bool))]
    pub has_error: Option<bool>,
    /// Traces with a span of this model.
    #[arg(long)]
    pub model: Option<String>,
    /// Traces carrying this tag.
    #[arg(long)]
    pub tag: Option<String>,
    /// Metadata KEY equal to VALUE; repeat for several keys.
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_metadata_arg)]
    pub metadata: Vec<(String, String)>,
    /// Free text in the trace's input, output or error.
    #[arg(long = "search", visible_alias = "q")]
    pub search: Option<String>,
    /// Order (default: newest first).
    #[arg(long, value_parser = ["start_time_desc", "start_time_asc", "duration_desc", "duration_asc"])]
    pub sort: Option<String>,
    /// Traces per page (1 to 1000; the server's default is 50).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub limit: Option<u16>,
    /// The next page: the cursor printed under the previous one.
    #[arg(long)]
    pub cursor: Option<String>,
}

#[derive(Debug, Args)]
pub struct TraceArgs {
    #[command(flatten)]
    pub source: ReadSource,
    /// The trace to draw.
    pub trace_id: String,
}

#[derive(Debug, Args)]
pub struct SessionsArgs {
    #[command(flatten)]
    pub source: ReadSource,
    /// Sessions of this project.
    #[arg(long)]
    pub project: Option<String>,
    /// Sessions of this user.
    #[arg(long)]
    pub user: Option<String>,
    /// With a trace started at or after: RFC 3339, epoch milliseconds, or ago (30m, 24h, 7d).
    #[arg(long, value_parser = parse_time_arg)]
    pub since: Option<TimeArg>,
    /// With a trace started before: RFC 3339, epoch milliseconds, or ago (30m, 24h, 7d).
    #[arg(long, value_parser = parse_time_arg)]
    pub until: Option<TimeArg>,
    /// Sessions per page (1 to 1000; the server's default is 50).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub limit: Option<u16>,
    /// The next page: the cursor printed under the previous one.
    #[arg(long)]
    pub cursor: Option<String>,
}

#[derive(Debug, Args)]
pub struct SessionArgs {
    #[command(flatten)]
    pub source: ReadSource,
    /// The session to show.
    pub session_id: String,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    #[command(flatten)]
    pub source: ReadSource,
    /// Groups: none (one row), model, span_type, project, hour or day.
    #[arg(long, value_parser = ["none", "model", "span_type", "project", "hour", "day"])]
    pub group_by: Option<String>,
    /// What is counted: span (the default) or trace.
    #[arg(long, value_parser = ["span", "trace"])]
    pub level: Option<String>,
    /// From: RFC 3339, epoch milliseconds, or ago (30m, 24h, 7d).
    #[arg(long, value_parser = parse_time_arg)]
    pub since: Option<TimeArg>,
    /// Until (exclusive): RFC 3339, epoch milliseconds, or ago (30m, 24h, 7d).
    #[arg(long, value_parser = parse_time_arg)]
    pub until: Option<TimeArg>,
    /// Only this project.
    #[arg(long)]
    pub project: Option<String>,
    /// Only this model.
    #[arg(long)]
    pub model: Option<String>,
    /// Only spans of this type.
    #[arg(long, value_parser = ["agent", "node", "chain", "model_call", "embedding", "tool_call", "mcp_call", "retriever", "guardrail", "evaluator", "custom"])]
    pub span_type: Option<String>,
    /// Only this session.
    #[arg(long)]
    pub session: Option<String>,
}

/// RFC 3339, epoch milliseconds, or a duration before now (`30m`, `24h`, `7d`).
fn parse_time_arg(raw: &str) -> Result<TimeArg, String> {
    if let Some(ago) = parse_ago(raw) {
        return Ok(agentrace_core::time::to_micros_precision(chrono::Utc::now() - ago));
    }
    agentrace_server::params::parse_time(raw)
        .ok_or_else(|| "expected RFC 3339 (2026-03-01T10:00:00Z), epoch milliseconds, or a duration before now such as 30m, 24h, 7d".to_owned())
}

/// `90s`, `30m`, `24h`, `7d`, `2w`.
fn parse_ago(raw: &str) -> Option<chrono::Duration> {
    let unit_at = raw.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = raw.split_at(unit_at);
    let number: i64 = number.parse().ok()?;
    let seconds_per_unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return None,
    };
    chrono::Duration::try_seconds(number.checked_mul(seconds_per_unit)?)
}

fn parse_metadata_arg(raw: &str) -> Result<(String, String), String> {
    match raw.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err("expected KEY=VALUE".to_owned()),
    }
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
    #[arg(long, env = "AGENTRACE_QUEUE_BYTES", default_value_t = agentrace_ingest::pipeline::DEFAULT_QUEUE_BYTES)]
    pub queue_bytes: usize,

    /// Items (spans and trace pieces) after which the writer stops adding
    /// requests to a transaction (requests are not cut to fit). By default
    /// the store's own figure: 500 on PostgreSQL, which writes two batches
    /// at once, and 4,000 on SQLite, which writes one.
    #[arg(long, env = "AGENTRACE_BATCH_ITEMS", value_parser = clap::value_parser!(u64).range(1..))]
    pub batch_items: Option<u64>,

    /// How long, in milliseconds, the writer waits for more requests to join
    /// a batch that is not full.
    #[arg(long, env = "AGENTRACE_BATCH_LINGER_MS", default_value_t = 2)]
    pub batch_linger_ms: u64,

    /// Make the LangSmith `GET /info` send the SDK to `POST /runs/batch`
    /// (JSON) instead of `/runs/multipart`. For proxies that cannot pass
    /// multipart bodies; the SDK drops attachments on that path.
    #[arg(long, env = "AGENTRACE_LANGSMITH_BATCH_ENDPOINT")]
    pub langsmith_batch_endpoint: bool,

    /// Delete traces that started more than this many days ago, in the
    /// background (a sweep at start, then every --retention-interval-secs).
    /// Off when not given.
    #[arg(long, env = "AGENTRACE_RETENTION_DAYS", value_parser = clap::value_parser!(u32).range(1..))]
    pub retention_days: Option<u32>,

    /// Seconds between retention sweeps.
    #[arg(long, env = "AGENTRACE_RETENTION_INTERVAL_SECS", default_value_t = 3600,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub retention_interval_secs: u64,

    /// A price file (`{"models": {"NAME": {"input": …, "output": …,
    /// "cache_read": …, "cache_creation": …}}}`, US dollars per million
    /// tokens) whose entries replace or add to the table shipped with
    /// agentrace, for costs computed at ingest.
    #[arg(long, env = "AGENTRACE_PRICES")]
    pub prices: Option<PathBuf>,

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
    fn times_are_absolute_or_ago() {
        assert_eq!(parse_ago("30m"), Some(chrono::Duration::minutes(30)));
        assert_eq!(parse_ago("24h"), Some(chrono::Duration::hours(24)));
        assert_eq!(parse_ago("7d"), Some(chrono::Duration::days(7)));
        assert_eq!(parse_ago("2w"), Some(chrono::Duration::days(14)));
        assert_eq!(parse_ago("90s"), Some(chrono::Duration::seconds(90)));
        assert_eq!(parse_ago("7"), None);
        assert_eq!(parse_ago("d"), None);
        assert_eq!(parse_ago("7y"), None);
        let day_ago = parse_time_arg("1d").unwrap();
        let expected = chrono::Utc::now() - chrono::Duration::days(1);
        assert!((expected - day_ago).num_seconds().abs() < 60, "{day_ago}");
        assert_eq!(parse_time_arg("1772359200000").unwrap().to_rfc3339(), "2026-03-01T10:00:00+00:00");
        assert!(parse_time_arg("yesterday").unwrap_err().starts_with("expected RFC 3339"));
        assert_eq!(parse_metadata_arg("tier=gold=1"), Ok(("tier".into(), "gold=1".into())));
        assert!(parse_metadata_arg("=x").is_err());
    }

    #[test]
    fn passwords_are_redacted() {
        let url = DatabaseUrl("postgres://agent:s3cret@db:5432/traces".into());
        assert_eq!(format!("{url:?}"), "postgres://agent:***@db:5432/traces");
        assert_eq!(DatabaseUrl("postgres://db/traces".into()).redacted(), "postgres://db/traces");
    }
}
