//! The Python interpreter the real-client tests drive: the virtualenv that
//! `scripts/test` creates in `target/python-venv`, or the one named by
//! `AGENTRACE_TEST_PYTHON`. Without one the tests fail, naming what to
//! install: they never skip.

use std::path::PathBuf;

/// The interpreter for `tests` (a phrase such as "the OTLP client tests"),
/// which need `packages` (pip requirement specifiers) installed.
pub fn python(tests: &str, packages: &str) -> PathBuf {
    if let Some(python) = std::env::var_os("AGENTRACE_TEST_PYTHON") {
        return PathBuf::from(python);
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/python-venv/bin/python");
    assert!(
        venv.exists(),
        "{tests} need Python with {packages}, expected at {}.\n\
         Run scripts/test, which creates it, or:\n  \
         python3 -m venv target/python-venv && target/python-venv/bin/pip install {packages}\n\
         (or set AGENTRACE_TEST_PYTHON to an interpreter that has them)",
        venv.display()
    );
    venv
}
