//! `cargo clnrm validate`: every problem in every file, without running anything.

use std::io::Write;

use clnrm_core::diagnostic::Tally;
use serde::Serialize;

use crate::cli::{MessageFormat, ValidateArgs};
use crate::diagnostics::{FORMAT_VERSION, JsonDiagnostic, render_human};
use crate::error::{CliError, exit};

#[derive(Debug, Serialize)]
struct Finished {
    reason: &'static str,
    format_version: u32,
    files: usize,
    errors: usize,
    warnings: usize,
}

pub fn run(
    args: &ValidateArgs,
    color: bool,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<u8, CliError> {
    let suite = super::workspace::load(&args.input, stdout, stderr)?;
    let mut tally = Tally::default();
    for report in &suite.reports {
        let file_tally = Tally::of(&report.diagnostics);
        tally.errors += file_tally.errors;
        tally.warnings += file_tally.warnings;
        for diagnostic in &report.diagnostics {
            match args.input.message_format {
                MessageFormat::Json => {
                    serde_json::to_writer(
                        &mut *stdout,
                        &JsonDiagnostic::new(diagnostic, &report.source),
                    )
                    .map_err(std::io::Error::other)?;
                    writeln!(stdout)?;
                }
                MessageFormat::Human => writeln!(
                    stderr,
                    "{}\n",
                    render_human(diagnostic, &report.source, color)
                )?,
            }
        }
    }
    let files = suite.reports.len();
    match args.input.message_format {
        MessageFormat::Json => {
            let finished = Finished {
                reason: "validate-finished",
                format_version: FORMAT_VERSION,
                files,
                errors: tally.errors,
                warnings: tally.warnings,
            };
            serde_json::to_writer(&mut *stdout, &finished).map_err(std::io::Error::other)?;
            writeln!(stdout)?;
        }
        MessageFormat::Human => {
            let failed = suite.reports.iter().filter(|r| r.has_errors()).count();
            writeln!(
                stderr,
                "validated {files} file{}: {} with errors; {} error{}, {} warning{}",
                plural(files),
                failed,
                tally.errors,
                plural(tally.errors),
                tally.warnings,
                plural(tally.warnings)
            )?;
        }
    }
    Ok(if tally.errors > 0 {
        exit::PROBLEMS
    } else {
        exit::SUCCESS
    })
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
