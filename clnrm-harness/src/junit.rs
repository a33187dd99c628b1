//! JUnit XML for plain `cargo test` runs (`CLNRM_JUNIT=FILE`): the core's one
//! JUnit shape, the same `cargo clnrm test --junit` writes under either runner.

use std::path::Path;

use clnrm_core::report::{JunitOptions, junit_report};
use clnrm_core::runner::TestFinished;

pub fn write(path: &Path, tests: &[TestFinished], locations: bool) -> std::io::Result<()> {
    let options = JunitOptions::new(locations);
    std::fs::write(path, junit_report(tests, options))
}
