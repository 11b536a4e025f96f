//! HTTP API tests: the real router, pipeline and stores, on both backends.
//! One module per API surface; `helpers` holds `TestApp`.

mod bad_input;
mod concurrency;
mod deletion;
mod helpers;
mod native;
#[path = "../support/read_fixture.rs"]
mod read_fixture;
mod reads;
mod routes;
mod trace_tree;
mod ui;
