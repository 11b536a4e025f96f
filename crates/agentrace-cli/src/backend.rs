//! Choosing the storage backend, once: the URL scheme picks it, and the
//! rest of the program only sees `Arc<dyn TraceStore>`.

use std::path::PathBuf;
use std::sync::Arc;

use agentrace_store::TraceStore;
use agentrace_store_postgres::PostgresStore;
use agentrace_store_sqlite::SqliteStore;
use anyhow::Context;

use crate::cli::StoreSettings;

pub enum Backend {
    Postgres { url: String, redacted: String },
    Sqlite { path: PathBuf },
}

impl Backend {
    pub fn from_settings(settings: &StoreSettings) -> anyhow::Result<Backend> {
        if let Some(url) = &settings.database_url {
            let raw = url.0.as_str();
            if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
                return Ok(Backend::Postgres { url: raw.to_owned(), redacted: url.redacted() });
            }
            if let Some(path) = raw.strip_prefix("sqlite://").or_else(|| raw.strip_prefix("sqlite:")) {
                return Ok(Backend::Sqlite { path: PathBuf::from(path) });
            }
            anyhow::bail!("unsupported database URL {:?}: use postgres://… or sqlite:PATH", url.redacted());
        }
        let path = match &settings.sqlite_path {
            Some(path) => path.clone(),
            None => default_sqlite_path()?,
        };
        Ok(Backend::Sqlite { path })
    }

    pub fn describe(&self) -> String {
        match self {
            Backend::Postgres { redacted, .. } => format!("postgres {redacted}"),
            Backend::Sqlite { path } => format!("sqlite {}", path.display()),
        }
    }

    /// Opens the store, applying migrations first unless told not to.
    pub async fn open(&self, migrate: bool, pg_pool_size: usize) -> anyhow::Result<Arc<dyn TraceStore>> {
        match self {
            Backend::Postgres { url, redacted } => {
                if migrate {
                    agentrace_store_postgres::migrations::apply_url(url)
                        .await
                        .with_context(|| format!("migrating {redacted}"))?;
                }
                let store = PostgresStore::connect(url, pg_pool_size)
                    .await
                    .with_context(|| format!("connecting to {redacted}"))?;
                Ok(Arc::new(store))
            }
            Backend::Sqlite { path } => {
                let path = path.clone();
                let store = tokio::task::spawn_blocking(move || SqliteStore::open(&path))
                    .await?
                    .with_context(|| format!("opening {}", self.describe()))?;
                Ok(Arc::new(store))
            }
        }
    }
}

fn default_sqlite_path() -> anyhow::Result<PathBuf> {
    let base = dirs::data_dir()
        .or_else(|| dirs::home_dir().map(|home| home.join(".local/share")))
        .context("no data directory found; pass --sqlite-path")?;
    Ok(base.join("agentrace").join("agentrace.db"))
}
