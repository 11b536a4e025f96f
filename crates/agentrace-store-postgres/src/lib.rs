//! The PostgreSQL backend: agentrace's production store, with the `agent`
//! schema users query with plain SQL.

pub mod migrations;
pub mod query;
mod rollup;
pub mod store;

pub use store::PostgresStore;
