//! `agentrace migrate`: the embedded migrations, with the same ledger
//! (`agent.schema_migrations`) as `migrations/postgres/run_migrations.sh`.

use anyhow::Context;

use crate::backend::Backend;
use crate::cli::MigrateSettings;

pub async fn run(settings: MigrateSettings) -> anyhow::Result<()> {
    let backend = Backend::from_settings(&settings.store)?;
    let applied: Vec<String> = match &backend {
        Backend::Postgres { url, redacted } => agentrace_store_postgres::migrations::apply_url(url)
            .await
            .with_context(|| format!("migrating {redacted}"))?
            .into_iter()
            .map(|migration| migration.name)
            .collect(),
        Backend::Sqlite { path } => {
            let path = path.clone();
            tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
                let mut connection = agentrace_store_sqlite::connection::open(&path)?;
                let applied = agentrace_store_sqlite::migrations::apply(&mut connection)?;
                Ok(applied.into_iter().map(|migration| migration.name).collect())
            })
            .await??
        }
    };
    if applied.is_empty() {
        println!("{}: already up to date, nothing applied", backend.describe());
    } else {
        for name in &applied {
            println!("applied {name}");
        }
        println!("{}: {} migration(s) applied", backend.describe(), applied.len());
    }
    Ok(())
}
