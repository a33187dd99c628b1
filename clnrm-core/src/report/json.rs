//! The JSON report: one document with every test of a run and every failure
//! as data, in the shape of the `test-finished` lines of
//! `cargo clnrm run --message-format json` (docs/cli.md), and its digest.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::outcome::{Outcome, TestFinished};
use crate::runner::SuiteSummary;

use super::normalise::{Normaliser, with_sorted_keys};
use super::text::render_failures;

/// The report's `format_version`: a field removed or changed in meaning
/// raises it; a field added does not.
pub const JSON_REPORT_VERSION: u32 = 1;

/// Which tests' entries a JSON report writes normalised.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct JsonOptions {
    normaliser: Normaliser,
    normalised: Normalised,
}

#[derive(Debug, Clone, Default)]
enum Normalised {
    #[default]
    None,
    All,
    Tests(BTreeSet<String>),
}

impl JsonOptions {
    /// Every test as it ran.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every test normalised: the document the digest is taken of.
    pub fn normalised(normaliser: Normaliser) -> Self {
        Self {
            normaliser,
            normalised: Normalised::All,
        }
    }

    /// Only the tests named in `tests` normalised (those of files with
    /// `[determinism]`); the others as they ran.
    pub fn normalised_only(normaliser: Normaliser, tests: BTreeSet<String>) -> Self {
        Self {
            normaliser,
            normalised: Normalised::Tests(tests),
        }
    }

    fn normalises(&self, test: &str) -> bool {
        match &self.normalised {
            Normalised::None => false,
            Normalised::All => true,
            Normalised::Tests(names) => names.contains(test),
        }
    }
}

/// The JSON report of these tests: pretty-printed, ending in a newline, keys
/// in sorted order, tests in name order.
pub fn json_report(tests: &[TestFinished], options: &JsonOptions) -> String {
    let mut sorted: Vec<&TestFinished> = tests.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let mut summary = SuiteSummary::default();
    for test in &sorted {
        summary.count(&test.outcome);
    }
    let entries: Vec<Value> = sorted
        .iter()
        .map(|test| {
            let entry = test_entry(test);
            if options.normalises(&test.name) {
                options.normaliser.value(&entry)
            } else {
                entry
            }
        })
        .collect();
    let document = json!({
        "format_version": JSON_REPORT_VERSION,
        "clnrm_version": env!("CARGO_PKG_VERSION"),
        "summary": {
            "tests": sorted.len(),
            "passed": summary.passed,
            "failed": summary.failed,
            "ignored": summary.ignored,
            "skipped": summary.skipped,
            "not_run": summary.cancelled,
        },
        "tests": entries,
    });
    let mut text = serde_json::to_string_pretty(&with_sorted_keys(document)).unwrap_or_default();
    text.push('\n');
    text
}

/// The digest of a JSON report: the SHA-256 of its text, in lowercase hex.
/// Taken of the normalised report ([`JsonOptions::normalised`]), it is the
/// same for two runs that behave the same.
pub fn digest(json: &str) -> String {
    hex::encode(Sha256::digest(json.as_bytes()))
}

/// The digest of these tests' normalised report.
pub fn report_digest(tests: &[TestFinished], normaliser: &Normaliser) -> String {
    digest(&json_report(
        tests,
        &JsonOptions::normalised(normaliser.clone()),
    ))
}

/// One test: the fields of its `test-finished` line (without `reason`,
/// `format_version` and `stale`), its place, and for a failed or not-run
/// test its failures, notes and services' output as data.
fn test_entry(test: &TestFinished) -> Value {
    let mut entry = json!({
        "name": test.name,
        "location": test.location,
        "outcome": status(&test.outcome),
        "passed": test.outcome.reports_passed(),
        "ignored": matches!(test.outcome, Outcome::Ignored { .. }),
        "duration_ms": test.duration.as_millis() as u64,
    });
    if let Some(reason) = test.outcome.skip_reason() {
        entry["skip_reason"] = json!(reason);
    }
    match &test.outcome {
        Outcome::Failed(failures) | Outcome::NotRun(failures) => {
            entry["message"] = json!(render_failures(failures));
            // `failures`, and `notes` and `service_logs` when there are any.
            if let Ok(Value::Object(data)) = serde_json::to_value(failures) {
                for (key, value) in data {
                    entry[key] = value;
                }
            }
        }
        Outcome::Ignored {
            reason: Some(reason),
        } => entry["ignore_reason"] = json!(reason),
        _ => {}
    }
    entry
}

/// `passed`, `failed`, `not-run`, `ignored`, `cancelled`: as serialized outcomes name them.
fn status(outcome: &Outcome) -> Value {
    serde_json::to_value(outcome)
        .ok()
        .and_then(|v| v.get("status").cloned())
        .unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use super::*;
    use crate::outcome::{Failure, FailureKind, Failures, FileLocation, OutputExcerpt, ServiceLog};

    fn finished(name: &str, outcome: Outcome, millis: u64) -> TestFinished {
        TestFinished::new(
            name.into(),
            FileLocation::new("tests/clnrm/a.clnrm.toml", 2, 8),
            outcome,
            Duration::from_millis(millis),
        )
    }

    fn failing(port: u16, millis: u64) -> TestFinished {
        let mut failure = Failure::new(FailureKind::ExitCode, "expected exit code 0, was 1")
            .at(Some(FileLocation::new("tests/clnrm/a.clnrm.toml", 9, 1)));
        failure.step = Some("serves".into());
        failure.command = Some(vec!["sh".into(), "-c".into(), "serve".into()]);
        failure.output = Some(OutputExcerpt::new(
            format!("listening on 127.0.0.1:{port}\n"),
            "",
        ));
        let failures = Failures {
            list: vec![failure],
            notes: vec!["a note".into()],
            service_logs: vec![ServiceLog::new("db", "ready\n")],
        };
        finished("a.clnrm.toml::b", Outcome::Failed(failures), millis)
    }

    fn tests(port: u16, millis: u64) -> Vec<TestFinished> {
        vec![
            failing(port, millis),
            finished("a.clnrm.toml::a", Outcome::Passed, millis),
            finished(
                "a.clnrm.toml::c",
                Outcome::Ignored {
                    reason: Some("not today".into()),
                },
                0,
            ),
            finished("a.clnrm.toml::d", Outcome::Cancelled, 0),
        ]
    }

    #[test]
    fn one_document_with_every_test_and_every_failure_as_data() {
        let text = json_report(&tests(49153, 12), &JsonOptions::new());
        assert!(text.ends_with("}\n"), "{text}");
        let doc: Value = serde_json::from_str(&text).expect("json");
        assert_eq!(doc["format_version"], 1);
        assert_eq!(doc["clnrm_version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(
            doc["summary"],
            json!({"tests": 4, "passed": 1, "failed": 1, "ignored": 1, "skipped": 0, "not_run": 1})
        );
        let names: Vec<&str> = (doc["tests"].as_array().expect("tests").iter())
            .map(|t| t["name"].as_str().expect("name"))
            .collect();
        assert_eq!(
            names,
            [
                "a.clnrm.toml::a",
                "a.clnrm.toml::b",
                "a.clnrm.toml::c",
                "a.clnrm.toml::d"
            ]
        );
        let failed = &doc["tests"][1];
        assert_eq!(failed["outcome"], "failed");
        assert_eq!(failed["passed"], false);
        assert_eq!(failed["duration_ms"], 12);
        assert_eq!(
            failed["location"],
            json!({"file": "tests/clnrm/a.clnrm.toml", "line": 2, "column": 8})
        );
        // The same data as the `failures` of a `test-finished` line.
        let failure = &failed["failures"][0];
        assert_eq!(failure["kind"], "exit-code");
        assert_eq!(failure["step"], "serves");
        assert_eq!(failure["location"]["line"], 9);
        assert_eq!(
            failure["output"]["stdout"],
            "listening on 127.0.0.1:49153\n"
        );
        assert_eq!(failed["notes"], json!(["a note"]));
        assert_eq!(failed["service_logs"][0]["service"], "db");
        assert!(
            (failed["message"].as_str().expect("message")).starts_with("step `serves` failed"),
            "{failed}"
        );
        assert_eq!(doc["tests"][2]["ignore_reason"], "not today");
        assert_eq!(doc["tests"][2]["ignored"], true);
        assert_eq!(doc["tests"][3]["outcome"], "cancelled");
        assert!(doc["tests"][0].get("failures").is_none());
    }

    #[test]
    fn the_normalised_report_and_its_digest_are_the_same_for_two_runs() {
        let normaliser = Normaliser::new().relative_to(Path::new("/work/app"));
        let first = json_report(
            &tests(49153, 12),
            &JsonOptions::normalised(normaliser.clone()),
        );
        let second = json_report(
            &tests(50011, 480),
            &JsonOptions::normalised(normaliser.clone()),
        );
        assert_eq!(first, second);
        assert!(first.contains("127.0.0.1:<port>"), "{first}");
        assert!(first.contains(r#""duration_ms": 0"#), "{first}");
        let digest_of = |port, millis| report_digest(&tests(port, millis), &normaliser);
        assert_eq!(digest_of(49153, 12), digest(&first));
        assert_eq!(digest_of(49153, 12), digest_of(50011, 480));
        assert_eq!(digest(&first).len(), 64);
        // A different verdict is a different digest.
        let mut changed = tests(49153, 12);
        changed[1].outcome = Outcome::failed(Vec::new());
        assert_ne!(report_digest(&changed, &normaliser), digest(&first));
        // As ran, the runs differ.
        assert_ne!(
            json_report(&tests(49153, 12), &JsonOptions::new()),
            json_report(&tests(50011, 480), &JsonOptions::new())
        );
    }

    #[test]
    fn only_the_named_tests_are_normalised() {
        let names = BTreeSet::from(["a.clnrm.toml::b".to_string()]);
        let options = JsonOptions::normalised_only(Normaliser::new(), names);
        let doc: Value =
            serde_json::from_str(&json_report(&tests(49153, 12), &options)).expect("json");
        assert_eq!(doc["tests"][0]["duration_ms"], 12);
        assert_eq!(doc["tests"][1]["duration_ms"], 0);
        assert_eq!(
            doc["tests"][1]["failures"][0]["output"]["stdout"],
            "listening on 127.0.0.1:<port>\n"
        );
    }

    #[test]
    fn the_digest_is_sha256_in_hex() {
        assert_eq!(
            digest(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
