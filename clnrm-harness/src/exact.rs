//! The `--exact NAME` fast path: when nextest starts a process for one test,
//! only the file named before `::` is read, rendered and planned, so a test
//! costs the same in a suite of ten files or ten thousand.
//!
//! Run any other way (`cargo test -- --exact NAME`, by hand), the harness reads
//! every file as for any filter, so the summary counts the other tests as
//! filtered out, as libtest does.

use std::ffi::OsString;

/// nextest's variables for a test process: `NEXTEST_EXECUTION_MODE` is
/// `process-per-test`, and recent versions name the test in `NEXTEST_TEST_NAME`.
#[derive(Debug, Clone, Default)]
pub struct NextestEnv {
    pub execution_mode: Option<OsString>,
    pub test_name: Option<OsString>,
}

impl NextestEnv {
    pub fn from_process() -> Self {
        Self {
            execution_mode: std::env::var_os("NEXTEST_EXECUTION_MODE"),
            test_name: std::env::var_os("NEXTEST_TEST_NAME"),
        }
    }

    /// Whether nextest runs each test in a process of its own (this one
    /// runs one test, or lists them).
    pub fn process_per_test(&self) -> bool {
        self.execution_mode.as_deref() == Some("process-per-test".as_ref())
    }

    /// Whether nextest started this process to run the test `name`. A test
    /// binary started by a test that nextest runs inherits these variables:
    /// there `NEXTEST_TEST_NAME` names that other test, so it is not taken.
    pub fn runs_only(&self, name: &str) -> bool {
        self.process_per_test()
            && self
                .test_name
                .as_deref()
                .is_none_or(|test| test == std::ffi::OsStr::new(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(mode: Option<&str>, test: Option<&str>) -> NextestEnv {
        NextestEnv {
            execution_mode: mode.map(OsString::from),
            test_name: test.map(OsString::from),
        }
    }

    #[test]
    fn only_the_process_nextest_started_for_that_test() {
        let name = "a.clnrm.toml::x";
        assert!(env(Some("process-per-test"), Some(name)).runs_only(name));
        assert!(env(Some("process-per-test"), None).runs_only(name));
        // A harness run inside another test that nextest runs.
        assert!(!env(Some("process-per-test"), Some("outer::test")).runs_only(name));
        assert!(!env(None, None).runs_only(name));
        assert!(!env(None, Some(name)).runs_only(name));
    }
}
