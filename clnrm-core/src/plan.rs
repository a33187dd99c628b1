//! The plan stage: the tests a set of files becomes, named by the stable
//! test-name contract (see `docs/format.md`).

use crate::pipeline::FileReport;
use crate::source::Location;

/// One test: a scenario in one matrix combination, or a broken file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PlannedTest {
    /// `path/rel.clnrm.toml::scenario[k=v]`, or the path alone for a broken file.
    pub name: String,
    /// Index of the file report this test comes from.
    pub file_index: usize,
    /// `None` for a file with errors: the test fails with its diagnostics.
    pub target: Option<TestTarget>,
    /// Location in the file the user wrote.
    pub location: Location,
    /// `Some(reason)` when `[meta] ignore` is set.
    pub ignored: Option<String>,
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TestTarget {
    pub variant: usize,
    pub scenario: usize,
}

/// Plans the tests of every file, in file order then declaration order.
pub fn plan<R: std::borrow::Borrow<FileReport>>(reports: &[R]) -> Vec<PlannedTest> {
    let mut tests = Vec::new();
    for (file_index, report) in reports.iter().enumerate() {
        let report: &FileReport = report.borrow();
        let path_name = &report.discovered.name;
        if report.has_errors() || report.variants.iter().all(|v| v.file.is_none()) {
            let location = report
                .diagnostics
                .iter()
                .find(|d| d.is_error())
                .and_then(|d| d.span.as_ref())
                .map_or(Location { line: 1, column: 1 }, |s| {
                    report.source.location(s.start)
                });
            tests.push(PlannedTest {
                name: path_name.clone(),
                file_index,
                target: None,
                location,
                ignored: None,
                tags: Vec::new(),
            });
            continue;
        }
        for (variant_index, variant) in report.variants.iter().enumerate() {
            let Some(file) = &variant.file else { continue };
            let suffix = if variant.combination.is_empty() {
                String::new()
            } else {
                format!("[{}]", variant.combination.label())
            };
            for (scenario_index, scenario) in file.scenarios.iter().enumerate() {
                tests.push(PlannedTest {
                    name: format!("{path_name}::{}{suffix}", scenario.name.value),
                    file_index,
                    target: Some(TestTarget {
                        variant: variant_index,
                        scenario: scenario_index,
                    }),
                    location: variant.locate(&report.source, scenario.name.span.clone()),
                    ignored: file.header.ignore.clone(),
                    tags: file.header.tags.clone(),
                });
            }
        }
    }
    tests
}
