//! Where a read command's data comes from: a running server over the HTTP
//! API, or a database read directly through the store. Either way the
//! answer is the API's JSON, built by the same code
//! (`agentrace_server::read`), so everything after this point is shared.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use agentrace_server::ApiError;
use agentrace_store::TraceStore;
use anyhow::{anyhow, bail, Context};
use clap::parser::ValueSource;
use serde_json::Value;

use crate::backend::Backend;
use crate::cli::{ReadSource, StoreSettings};

/// A read route of the API.
#[derive(Debug, Clone, Copy)]
pub enum Route<'a> {
    Traces,
    Trace(&'a str),
    Sessions,
    Session(&'a str),
    Stats,
}

pub enum Source {
    Server { base: reqwest::Url, client: reqwest::Client },
    Store(Arc<dyn TraceStore>),
}

/// Where each source setting came from (flag, environment or default).
#[derive(Debug, Clone, Copy, Default)]
pub struct Origins {
    pub server: Option<ValueSource>,
    pub database: Option<ValueSource>,
}

#[derive(Debug, PartialEq, Eq)]
enum Choice {
    Server,
    Database,
}

/// A flag beats the environment; between two environment variables,
/// `AGENTRACE_SERVER` (the CLI's own setting) beats `DATABASE_URL` (which a
/// shell may hold for other tools); with nothing set, the local server.
fn choose(origins: Origins) -> Result<Choice, &'static str> {
    let from_flag = |origin: Option<ValueSource>| origin == Some(ValueSource::CommandLine);
    let from_env = |origin: Option<ValueSource>| origin == Some(ValueSource::EnvVariable);
    match (from_flag(origins.server), from_flag(origins.database)) {
        (true, true) => Err("give either --server or a database (--database-url, --sqlite-path), not both"),
        (true, false) => Ok(Choice::Server),
        (false, true) => Ok(Choice::Database),
        (false, false) if from_env(origins.server) => Ok(Choice::Server),
        (false, false) if from_env(origins.database) => Ok(Choice::Database),
        (false, false) => Ok(Choice::Server),
    }
}

impl Source {
    pub async fn open(settings: &ReadSource, origins: Origins) -> anyhow::Result<Source> {
        match choose(origins).map_err(|message| anyhow!(message))? {
            Choice::Server => {
                let base = reqwest::Url::parse(&settings.server)
                    .with_context(|| format!("--server {:?} is not a URL", settings.server))?;
                if base.scheme() != "http" {
                    bail!("--server {}: only http:// servers are supported", settings.server);
                }
                let client = reqwest::Client::builder().connect_timeout(Duration::from_secs(5)).build()?;
                Ok(Source::Server { base, client })
            }
            Choice::Database => {
                let store_settings = StoreSettings {
                    database_url: settings.database_url.clone(),
                    sqlite_path: settings.sqlite_path.clone(),
                };
                let backend = Backend::from_settings(&store_settings)?;
                if let Backend::Sqlite { path } = &backend {
                    ensure_exists(path)?;
                }
                // Reading never migrates a PostgreSQL database; two connections are plenty.
                Ok(Source::Store(backend.open(false, 2).await?))
            }
        }
    }

    /// The API's answer for `route` with `query`, as JSON.
    pub async fn fetch(&self, route: Route<'_>, query: &[(String, String)]) -> anyhow::Result<Value> {
        match self {
            Source::Server { base, client } => fetch_http(base, client, route, query).await,
            Source::Store(store) => fetch_store(store.as_ref(), route, query).await,
        }
    }
}

/// Opening an SQLite path creates the file; a reader must not leave an
/// empty database behind a typo.
fn ensure_exists(path: &Path) -> anyhow::Result<()> {
    if !path.exists() {
        bail!("no database at {}: check --sqlite-path (or run `agentrace serve` to create one)", path.display());
    }
    Ok(())
}

async fn fetch_store(store: &dyn TraceStore, route: Route<'_>, query: &[(String, String)]) -> anyhow::Result<Value> {
    use agentrace_server::read;
    let json = match route {
        Route::Traces => read::traces(store, query).await.map(serde_json::to_value),
        Route::Trace(trace_id) => read::trace(store, trace_id, query).await.map(serde_json::to_value),
        Route::Sessions => read::sessions(store, query).await.map(serde_json::to_value),
        Route::Session(session_id) => read::session(store, session_id, query).await.map(serde_json::to_value),
        Route::Stats => read::stats(store, query).await.map(serde_json::to_value),
    };
    match json {
        Ok(json) => Ok(json?),
        Err(ApiError::Internal(cause)) => Err(anyhow!("store failure: {cause}")),
        Err(error) => Err(anyhow!("{error}")),
    }
}

async fn fetch_http(
    base: &reqwest::Url,
    client: &reqwest::Client,
    route: Route<'_>,
    query: &[(String, String)],
) -> anyhow::Result<Value> {
    let mut url = base.clone();
    {
        let mut segments = url.path_segments_mut().map_err(|()| anyhow!("--server {base} cannot be a base URL"))?;
        segments.pop_if_empty().extend(["api", "v1"]);
        match route {
            Route::Traces => segments.push("traces"),
            Route::Trace(trace_id) => segments.extend(["traces", trace_id]),
            Route::Sessions => segments.push("sessions"),
            Route::Session(session_id) => segments.extend(["sessions", session_id]),
            Route::Stats => segments.push("stats"),
        };
    }
    if !query.is_empty() {
        url.query_pairs_mut().extend_pairs(query);
    }
    let response = client.get(url.clone()).send().await.map_err(|error| {
        if error.is_connect() || error.is_timeout() {
            let base = base.as_str().trim_end_matches('/');
            anyhow!(
                "cannot reach the agentrace server at {base}: start one with `agentrace serve`, \
                 point --server (or AGENTRACE_SERVER) at yours, or read a database directly with \
                 --database-url / --sqlite-path"
            )
        } else {
            anyhow!("asking {url} failed: {error}")
        }
    })?;
    let status = response.status();
    let body = response.bytes().await.with_context(|| format!("reading the answer of {url}"))?;
    match serde_json::from_slice::<Value>(&body) {
        Ok(json) if status.is_success() => Ok(json),
        Ok(json) => match json["error"]["message"].as_str() {
            Some(message) => Err(anyhow!("{message}")),
            None => Err(anyhow!("{url} answered {status}: {json}")),
        },
        Err(_) => Err(anyhow!(
            "{url} answered {status} with {} bytes that are not JSON: is {base} an agentrace server?",
            body.len()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origins(server: Option<ValueSource>, database: Option<ValueSource>) -> Origins {
        Origins { server, database }
    }

    #[test]
    fn flags_beat_the_environment_and_the_server_is_the_default() {
        use ValueSource::{CommandLine, DefaultValue, EnvVariable};
        assert_eq!(choose(origins(Some(DefaultValue), None)), Ok(Choice::Server));
        assert_eq!(choose(origins(Some(DefaultValue), Some(EnvVariable))), Ok(Choice::Database));
        assert_eq!(choose(origins(Some(EnvVariable), Some(EnvVariable))), Ok(Choice::Server));
        assert_eq!(choose(origins(Some(EnvVariable), Some(CommandLine))), Ok(Choice::Database));
        assert_eq!(choose(origins(Some(CommandLine), Some(EnvVariable))), Ok(Choice::Server));
        assert!(choose(origins(Some(CommandLine), Some(CommandLine))).is_err());
    }
}
