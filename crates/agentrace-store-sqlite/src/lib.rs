//! The embedded SQLite backend: agentrace's zero-set-up default.
//!
//! The database file is attached under the schema name `agent`, so that the
//! documented queries (`SELECT * FROM agent.traces …`) read the same here as on
//! PostgreSQL.

pub mod connection;
pub mod migrations;
pub mod query;
mod rollup;
pub mod search;
pub mod store;

pub use store::SqliteStore;
