//! Test-only helpers shared by every agentrace crate: real databases, made
//! cheap enough that each test can own one.
//!
//! Nothing here mocks a database. [`postgres::fresh_database`] hands out a new
//! database in a throwaway PostgreSQL cluster started from the installed
//! server binaries; [`sqlite::TempSqlite`] hands out a SQLite file in a private
//! temporary directory. See each module for how long what it creates lives.

pub mod postgres;
pub mod sqlite;
