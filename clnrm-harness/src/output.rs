//! Where a failed test's report goes: libtest-mimic's `failures:` summary, or
//! stdout as the test fails (`--nocapture`, as nextest runs every test).
//!
//! nextest runs `<binary> --exact NAME --nocapture`, one process per test, and
//! takes a failed test's message from what the process prints between
//! `running 1 test` and `test NAME ... FAILED` (that is what its libtest JSON
//! puts in the event's `stdout`). libtest-mimic prints its `failures:` summary
//! after that line, so under `--nocapture` the harness prints the report itself
//! while the test fails, as libtest prints a panicking test's output then, and
//! leaves only a pointer to it in the summary.

use std::io::Write;

use libtest_mimic::{Arguments, FormatSetting};

/// How the trials report a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureOutput {
    /// The report is the trial's message: libtest-mimic prints it under
    /// `failures:` (and in its JSON event with `--format json`).
    Summary,
    /// `--nocapture`: the report is printed on stdout when the test fails,
    /// `newline_first` when libtest-mimic runs the tests one at a time (it has
    /// then printed `test NAME ... ` without a newline before the test ran).
    Inline { newline_first: bool },
}

/// The summary's text for a failure whose report was printed inline.
pub const PRINTED_ABOVE: &str = "(the report is printed above, where the test failed: --nocapture)";

impl FailureOutput {
    /// `--nocapture` prints inline, except with `--format json`, whose stdout
    /// is for JSON lines only.
    pub fn for_args(args: &Arguments) -> Self {
        if !args.nocapture || args.format == Some(FormatSetting::Json) {
            return Self::Summary;
        }
        let threads = args
            .test_threads
            .or_else(|| std::thread::available_parallelism().ok().map(Into::into))
            .unwrap_or(1);
        Self::Inline {
            newline_first: threads <= 1,
        }
    }

    /// Prints the report when inline, and returns the trial's failure message.
    pub fn report(self, name: &str, message: String) -> String {
        match self {
            Self::Summary => message,
            Self::Inline { newline_first } => {
                let block = inline_block(name, &message, newline_first);
                // One write under the lock: tests failing at once do not interleave.
                let mut stdout = std::io::stdout().lock();
                let _ = stdout.write_all(block.as_bytes());
                let _ = stdout.flush();
                PRINTED_ABOVE.to_string()
            }
        }
    }
}

/// The report as `cargo test` prints it in its `failures:` summary.
pub fn inline_block(name: &str, message: &str, newline_first: bool) -> String {
    let lead = if newline_first { "\n" } else { "" };
    format!("{lead}---- {name} ----\n{message}\n")
}

/// Under nextest (`--exact` with `--nocapture`) one test runs: with libtest-mimic
/// on several threads it prints `test NAME ... FAILED` after the test, below the
/// inline report, which is where nextest looks for it. Without `--test-threads`
/// on a one-CPU machine it would run the test on the main thread, after
/// printing `test NAME ... `, so two threads are asked for then.
pub fn arguments_for_run(args: &Arguments) -> Arguments {
    let mut args = args.clone();
    let one_cpu = std::thread::available_parallelism().map_or(true, |n| n.get() == 1);
    if args.nocapture && args.exact && args.test_threads.is_none() && one_cpu {
        args.test_threads = Some(2);
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Arguments {
        let mut argv = vec!["clnrm"];
        argv.extend_from_slice(list);
        Arguments::from_iter(argv)
    }

    #[test]
    fn nocapture_prints_inline_except_for_json() {
        assert_eq!(FailureOutput::for_args(&args(&[])), FailureOutput::Summary);
        assert_eq!(
            FailureOutput::for_args(&args(&["--nocapture", "--test-threads", "4"])),
            FailureOutput::Inline {
                newline_first: false
            }
        );
        assert_eq!(
            FailureOutput::for_args(&args(&["--nocapture", "--test-threads", "1"])),
            FailureOutput::Inline {
                newline_first: true
            }
        );
        assert_eq!(
            FailureOutput::for_args(&args(&[
                "--nocapture",
                "-Z",
                "unstable-options",
                "--format",
                "json"
            ])),
            FailureOutput::Summary
        );
    }

    #[test]
    fn the_summary_keeps_the_report_unless_it_was_printed() {
        assert_eq!(
            FailureOutput::Summary.report("a::b", "step `x` failed".into()),
            "step `x` failed"
        );
        assert_eq!(
            inline_block("a::b", "step `x` failed\n  detail", false),
            "---- a::b ----\nstep `x` failed\n  detail\n"
        );
        assert_eq!(inline_block("a::b", "m", true), "\n---- a::b ----\nm\n");
    }

    #[test]
    fn an_explicit_thread_count_is_kept() {
        let given = args(&["--exact", "a::b", "--nocapture", "--test-threads", "1"]);
        assert_eq!(arguments_for_run(&given).test_threads, Some(1));
        let plain = args(&["--exact", "a::b"]);
        assert_eq!(arguments_for_run(&plain).test_threads, None);
    }
}
