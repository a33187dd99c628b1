//! `cargo clnrm test --junit`: the tests the harness recorded
//! (`CLNRM_RESULT_DIR`), written in the core's one JUnit shape, whichever
//! runner ran them.

use std::path::Path;

use clnrm_core::report::{JunitOptions, ResultDir, junit_report};

pub fn write(results: &Path, out: &Path, locations: bool) -> std::io::Result<()> {
    // A binary that did not build recorded nothing; the runner said why.
    let tests = ResultDir::read_all(results)?;
    let xml = junit_report(&tests, JunitOptions::new(locations));
    std::fs::write(out, xml).map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!("cannot write the JUnit report `{}`: {e}", out.display()),
        )
    })
}
