//! HTTP API tests: the real router, pipeline and stores, on both backends.
//! One module per API surface; `helpers` holds `TestApp`.

mod bad_input;
mod concurrency;
mod helpers;
mod native;
mod routes;
mod trace_tree;
