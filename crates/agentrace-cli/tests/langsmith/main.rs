//! LangSmith compatibility, end to end: the real router, pipeline and
//! stores on both backends, fed the SDK's captured requests and driven by
//! the real `langsmith` Python SDK.

#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;
#[path = "../support/python.rs"]
mod python_venv;

mod endpoints;
mod load;
mod replay;
mod sdk;

use std::path::PathBuf;

/// The captured SDK requests, shared with the adapter's own tests.
pub fn fixture(file: &str) -> Vec<u8> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../agentrace-ingest/tests/fixtures/langsmith").join(file);
    std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}
