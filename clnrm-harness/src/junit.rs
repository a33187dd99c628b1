//! JUnit XML for plain `cargo test` runs (`CLNRM_JUNIT=FILE`), one testcase per test.

use std::path::Path;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use crate::trials::TestRecord;

pub fn write(path: &Path, records: &[TestRecord]) -> std::io::Result<()> {
    let mut report = Report::new("clnrm");
    let mut suite = TestSuite::new("clnrm");
    let mut records = records.to_vec();
    records.sort_by(|a, b| a.name.cmp(&b.name));
    for record in &records {
        let status = if record.passed {
            TestCaseStatus::success()
        } else {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            let headline = record
                .message
                .lines()
                .next()
                .unwrap_or("failed")
                .to_string();
            status.set_message(headline);
            status.set_description(record.message.clone());
            status
        };
        let mut case = TestCase::new(record.name.clone(), status);
        // classname: the scenario file, as JUnit viewers group by it.
        case.set_classname(
            record
                .name
                .split("::")
                .next()
                .unwrap_or(&record.name)
                .to_string(),
        );
        case.set_time(record.duration);
        case.extra.insert("file".into(), record.file.clone().into());
        case.extra
            .insert("line".into(), record.line.to_string().into());
        suite.add_test_case(case);
    }
    report.add_test_suite(suite);
    let xml = report.to_string().map_err(std::io::Error::other)?;
    std::fs::write(path, xml)
}
