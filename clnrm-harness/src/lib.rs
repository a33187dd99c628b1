//! clnrm-harness: every scenario as its own libtest-mimic test, so `cargo test`
//! and `cargo nextest run` run, filter, list and report them.
//!
//! In the crate under test, `Cargo.toml`:
//!
//! ```toml
//! [[test]]
//! name = "clnrm"
//! harness = false
//!
//! [dev-dependencies]
//! clnrm-harness = "0.1"
//! ```
//!
//! and `tests/clnrm.rs`:
//!
//! ```ignore
//! clnrm_harness::main!();
//! ```

mod exact;
mod junit;
mod output;
mod trials;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub use trials::collect_trials;

/// Defines `main` for a `harness = false` test target.
#[macro_export]
macro_rules! main {
    () => {
        fn main() -> ::std::process::ExitCode {
            $crate::run(env!("CARGO_MANIFEST_DIR"))
        }
    };
}

/// Runs the scenarios of the package at `manifest_dir` with libtest's command line.
///
/// Cargo and nextest set `CARGO_MANIFEST_DIR` when they run tests; the
/// compile-time value is the fallback (a binary run by hand).
pub fn run(compiled_manifest_dir: &str) -> ExitCode {
    let args = libtest_mimic::Arguments::from_args();
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(compiled_manifest_dir));
    run_with(&args, &manifest_dir)
}

/// A configuration that cannot be loaded, a report that cannot be written.
const SETUP_ERROR: u8 = 2;

/// [`run`] with explicit arguments and package folder.
pub fn run_with(args: &libtest_mimic::Arguments, manifest_dir: &Path) -> ExitCode {
    // Read once: what `cargo clnrm test` told this binary.
    let switches = clnrm_core::config::Switches::from_env();
    let mut collected = match collect_trials(args, manifest_dir, &switches) {
        Ok(collected) => collected,
        Err(message) => {
            // Setup problems: one clear message, and the setup-error code
            // every clnrm driver gives (a failed test gives libtest's 101).
            let mut stderr = std::io::stderr().lock();
            let _ =
                std::io::Write::write_all(&mut stderr, format!("error: {message}\n").as_bytes());
            return ExitCode::from(SETUP_ERROR);
        }
    };
    let trials = std::mem::take(&mut collected.trials);
    let conclusion = libtest_mimic::run(&output::arguments_for_run(args), trials);
    let finished = || {
        (collected.finished.lock())
            .map(|r| r.clone())
            .unwrap_or_default()
    };
    // `[report]` files hold every test of their scenario files this process
    // ran; a process nextest started for one test would write a report of
    // that one: there `cargo clnrm test` writes them. (A binary started by a
    // test nextest runs inherits its variables, and is not such a process.)
    let nextest = exact::NextestEnv::from_process();
    let one_test_of_nextest = || finished().iter().any(|t| nextest.runs_only(&t.name));
    if !args.list
        && !collected.reports.is_empty()
        && !one_test_of_nextest()
        && let Err(e) = collected.reports.write(&finished())
    {
        let mut stderr = std::io::stderr().lock();
        let _ = std::io::Write::write_all(&mut stderr, format!("error: {e}\n").as_bytes());
        return ExitCode::from(SETUP_ERROR);
    }
    if let Some(path) = switches.junit.filter(|_| !args.list) {
        let finished = finished();
        if let Err(e) = junit::write(Path::new(&path), &finished, switches.junit_locations) {
            let mut stderr = std::io::stderr().lock();
            let message = format!(
                "error: cannot write JUnit report `{}`: {e}\n",
                Path::new(&path).display()
            );
            let _ = std::io::Write::write_all(&mut stderr, message.as_bytes());
            return ExitCode::from(SETUP_ERROR);
        }
    }
    collected.forget_tests();
    // Background work (the sweep of killed runs' leftovers, the folding of
    // the result store's logs) is not cut short by the exit.
    clnrm_core::background::finish();
    conclusion.exit_code()
}
