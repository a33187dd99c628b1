//! Outcomes are data: verdicts are decided on the failures themselves, never
//! on the text a reporter makes of them.

use clnrm_core::config::Config;
use clnrm_core::outcome::{FailureKind, Outcome};
use clnrm_core::report::render_failures;
use clnrm_core::runner::{Event, RunOptions, TestFinished, run_suite};
use clnrm_core::suite::SuiteBuilder;

/// Runs one local scenario whose step prints `boom` on stderr and exits 1.
fn run_failing(expect_failure: &str) -> TestFinished {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("f.clnrm.toml");
    std::fs::write(
        &file,
        format!(
            "[meta]\nname = \"f\"\nbackend = \"local\"\n\n[[scenario]]\nname = \"s\"\n{expect_failure}\n\n[[scenario.steps]]\nname = \"fails\"\ncommand = [\"sh\", \"-c\", \"echo boom >&2; exit 1\"]\n"
        ),
    )
    .expect("write");
    let mut config = Config::default();
    config.roots = vec![dir.path().to_path_buf()];
    let suite = SuiteBuilder::new(config).build().expect("suite");
    let mut finished = Vec::new();
    run_suite(&suite, RunOptions::new(1, false), &mut |event| {
        if let Event::TestFinished(test) = event {
            finished.push(test.clone());
        }
    });
    assert_eq!(finished.len(), 1);
    finished.remove(0)
}

#[test]
fn a_failure_is_typed_with_its_step_place_expected_actual_and_output() {
    let finished = run_failing("");
    let Outcome::Failed(failures) = &finished.outcome else {
        panic!("{:?}", finished.outcome);
    };
    let failure = &failures.list[0];
    assert_eq!(failure.kind, FailureKind::ExitCode);
    assert_eq!(failure.step.as_deref(), Some("fails"));
    assert_eq!(failure.expected.as_deref(), Some("0"));
    assert_eq!(failure.actual.as_deref(), Some("1"));
    assert_eq!(failure.location.as_ref().map(|l| l.line), Some(9));
    assert_eq!(
        failure.output.as_ref().map(|o| o.stderr.as_str()),
        Some("boom\n")
    );
    assert_eq!(
        failures.headline(),
        "step `fails` failed: expected exit code 0, was 1"
    );
}

#[test]
fn expect_failure_matches_the_failures_not_the_report() {
    // In the failure's own data: its message, and the output it quotes.
    for text in ["was 1", "boom"] {
        let finished = run_failing(&format!("expect_failure = {text:?}"));
        assert_eq!(finished.outcome, Outcome::Passed, "{text}");
    }
    // The rendered report says "step `fails` failed (...)" and "--- stderr ---":
    // words of the reporter, so they can be reworded without changing a verdict.
    let report = match run_failing("").outcome {
        Outcome::Failed(failures) => render_failures(&failures),
        other => panic!("{other:?}"),
    };
    for framing in ["step `fails` failed (", "--- stderr ---"] {
        assert!(report.contains(framing), "{report}");
        let finished = run_failing(&format!("expect_failure = {framing:?}"));
        let Outcome::Failed(failures) = &finished.outcome else {
            panic!("{framing}: {:?}", finished.outcome);
        };
        assert_eq!(failures.list[0].kind, FailureKind::ExpectedFailure);
    }
}
