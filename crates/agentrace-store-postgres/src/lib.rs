//! The PostgreSQL backend: agentrace's production store, with the `agent`
//! schema users query with plain SQL.

pub mod migrations;
pub mod query;
pub mod store;

pub use store::PostgresStore;
