//! JUnit XML, the one shape every driver writes: one `<testcase>` per test,
//! `classname` the scenario file's test-name part, the failure's headline as
//! `message` and its whole report as the text. Valid against the common
//! Jenkins/Surefire schema (`junit-10.xsd`); `file` and `line`, which that
//! schema lacks, only when asked for.

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use crate::outcome::{Outcome, TestFinished};

use super::text::render_failures;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct JunitOptions {
    /// Add `file` and `line` to each `<testcase>` (the failing step's place,
    /// else the scenario's), as GitLab, CircleCI and Buildkite read them.
    pub locations: bool,
}

impl JunitOptions {
    pub fn new(locations: bool) -> Self {
        Self { locations }
    }
}

/// The report of these tests, in name order.
pub fn junit_report(tests: &[TestFinished], options: JunitOptions) -> String {
    let mut sorted: Vec<&TestFinished> = tests.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let mut suite = TestSuite::new("clnrm");
    for test in sorted {
        suite.add_test_case(test_case(test, options));
    }
    let mut report = Report::new("clnrm");
    report.add_test_suite(suite);
    let mut xml = Vec::new();
    // Only strings and numbers go in, into memory: neither step can fail.
    let _ = report.serialize(&mut xml);
    let xml = skipped_as_the_schema_names_it(&xml).unwrap_or(xml);
    String::from_utf8(xml).unwrap_or_default()
}

/// quick-junit counts skipped tests in `<testsuite disabled="N">`, an
/// attribute `junit-10.xsd` does not have; the schema's name for that count
/// is `skipped`. The document is rewritten event by event (never as text).
fn skipped_as_the_schema_names_it(xml: &[u8]) -> Result<Vec<u8>, quick_xml::Error> {
    use quick_xml::events::{BytesStart, Event};
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut writer = quick_xml::Writer::new(Vec::with_capacity(xml.len()));
    let mut buffer = Vec::new();
    loop {
        let event = reader.read_event_into(&mut buffer)?;
        let renamed = |start: &BytesStart<'_>| -> Result<BytesStart<'static>, quick_xml::Error> {
            let mut out = BytesStart::new("testsuite");
            for attribute in start.attributes() {
                let attribute = attribute.map_err(quick_xml::Error::from)?;
                let key = match attribute.key.as_ref() {
                    b"disabled" => b"skipped".as_slice(),
                    other => other,
                };
                out.push_attribute((key, attribute.value.as_ref()));
            }
            Ok(out)
        };
        match event {
            Event::Eof => break,
            Event::Start(start) if start.name().as_ref() == b"testsuite" => {
                writer.write_event(Event::Start(renamed(&start)?))?;
            }
            Event::Empty(start) if start.name().as_ref() == b"testsuite" => {
                writer.write_event(Event::Empty(renamed(&start)?))?;
            }
            other => writer.write_event(other)?,
        }
        buffer.clear();
    }
    Ok(writer.into_inner())
}

fn test_case(test: &TestFinished, options: JunitOptions) -> TestCase {
    let status = match &test.outcome {
        Outcome::Passed => TestCaseStatus::success(),
        Outcome::Failed(failures) | Outcome::NotRun(failures) => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status.set_message(failures.headline());
            status.set_description(render_failures(failures));
            status
        }
        Outcome::Ignored { reason } => {
            let mut status = TestCaseStatus::skipped();
            if let Some(reason) = reason {
                status.set_message(reason.clone());
            }
            status
        }
        Outcome::Cancelled => {
            let mut status = TestCaseStatus::skipped();
            status.set_message("not run: the run was cancelled");
            status
        }
        Outcome::Unchanged { .. } => {
            let mut status = TestCaseStatus::skipped();
            status.set_message(test.outcome.skip_reason().unwrap_or_default());
            status
        }
    };
    let mut case = TestCase::new(test.name.clone(), status);
    // classname: the scenario file, as JUnit viewers group by it.
    let file_part = test.name.split("::").next().unwrap_or(&test.name);
    case.set_classname(file_part.to_string());
    case.set_time(test.duration);
    if options.locations {
        let at = test.failure_location();
        case.extra.insert("file".into(), at.file.clone().into());
        case.extra.insert("line".into(), at.line.to_string().into());
    }
    case
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::outcome::{Failure, FailureKind, FileLocation};

    fn finished(name: &str, outcome: Outcome) -> TestFinished {
        TestFinished::new(
            name.into(),
            FileLocation::new("tests/clnrm/a.clnrm.toml", 2, 8),
            outcome,
            Duration::from_millis(1500),
        )
    }

    #[test]
    fn one_case_per_test_with_the_headline_as_message() {
        let mut failure = Failure::new(FailureKind::ExitCode, "expected exit code 0, was 1 <&>")
            .at(Some(FileLocation::new("tests/clnrm/a.clnrm.toml", 9, 1)));
        failure.step = Some("fails".into());
        let tests = [
            finished("a.clnrm.toml::b", Outcome::failed(vec![failure])),
            finished("a.clnrm.toml::a", Outcome::Passed),
            finished("a.clnrm.toml::c", Outcome::Ignored { reason: None }),
        ];
        let xml = junit_report(&tests, JunitOptions::default());
        assert!(xml.contains(r#"skipped="1""#), "{xml}");
        assert!(!xml.contains("disabled="), "{xml}");
        assert!(!xml.contains("file="), "{xml}");
        assert!(
            xml.contains(
                r#"message="step `fails` failed: expected exit code 0, was 1 &lt;&amp;&gt;""#
            ),
            "{xml}"
        );
        let a = xml.find(r#"name="a.clnrm.toml::a""#).expect("a");
        let b = xml.find(r#"name="a.clnrm.toml::b""#).expect("b");
        assert!(a < b, "sorted by name: {xml}");
        let located = junit_report(&tests, JunitOptions::new(true));
        // The failing step's line, not the scenario's.
        assert!(located.contains(r#"line="9""#), "{located}");
        assert!(located.contains(r#"line="2""#), "{located}");
    }
}
