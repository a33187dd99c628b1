//! `cargo clnrm list`: the tests, named and ordered exactly as the harness runs them.

use std::io::Write;

use serde::Serialize;

use crate::cli::{ListArgs, MessageFormat};
use crate::diagnostics::FORMAT_VERSION;
use crate::error::{CliError, exit};

#[derive(Debug, Serialize)]
struct ListedTest<'a> {
    reason: &'static str,
    format_version: u32,
    name: &'a str,
    file: String,
    line: usize,
    column: usize,
    /// `false` when the file has errors: the test fails with its diagnostics.
    valid: bool,
    ignored: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    ignore_reason: Option<&'a str>,
    tags: &'a [String],
}

pub fn run(
    args: &ListArgs,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<u8, CliError> {
    let suite = super::workspace::load(&args.input, stdout, stderr)?;
    for test in &suite.tests {
        let (test, report) = (&test.planned, &test.report);
        match args.input.message_format {
            MessageFormat::Human => writeln!(stdout, "{}", test.name)?,
            MessageFormat::Json => {
                let listed = ListedTest {
                    reason: "test",
                    format_version: FORMAT_VERSION,
                    name: &test.name,
                    file: report.source.path().to_string_lossy().replace('\\', "/"),
                    line: test.location.line,
                    column: test.location.column,
                    valid: test.target.is_some(),
                    ignored: test.ignored.is_some(),
                    ignore_reason: test.ignored.as_deref().filter(|r| !r.is_empty()),
                    tags: &test.tags,
                };
                serde_json::to_writer(&mut *stdout, &listed).map_err(std::io::Error::other)?;
                writeln!(stdout)?;
            }
        }
    }
    Ok(exit::SUCCESS)
}
