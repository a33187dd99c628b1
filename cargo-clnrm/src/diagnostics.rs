//! Diagnostics for people (rustc-style snippets) and for tools (JSON lines).

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};
use clnrm_core::diagnostic::{Diagnostic, Severity};
use clnrm_core::source::SourceFile;
use serde::Serialize;

/// Version of every JSON stream this binary prints.
pub const FORMAT_VERSION: u32 = 1;

/// Renders one diagnostic with a snippet of the file, rustc-style.
pub fn render_human(diagnostic: &Diagnostic, source: &SourceFile, color: bool) -> String {
    let level = match diagnostic.severity {
        Severity::Error => Level::ERROR,
        Severity::Warning => Level::WARNING,
    };
    let path = source.path().to_string_lossy();
    let code = format!("clnrm::{}", diagnostic.code);
    let title = level
        .primary_title(diagnostic.message.as_str())
        .id(code.as_str());
    let mut group: Group<'_> = match &diagnostic.span {
        Some(span) => {
            let text = source.text();
            // The same place as the line and column of the JSON output.
            let start = source.within(span.start);
            let mut span = start..source.within(span.end).max(start);
            if span.is_empty() {
                // An empty span still needs one character to point at.
                let end = text[span.start..]
                    .chars()
                    .next()
                    .map_or(span.start, |c| span.start + c.len_utf8());
                span = span.start..end;
            }
            // Only the lines the span covers: the renderer reads all of the
            // source it is given, and a file can have thousands of problems.
            let first = source.location(span.start).line;
            let last = source.location(span.end).line.max(first);
            let lines = source.line_range(first).start..source.line_range(last).end;
            let span = span.start - lines.start..span.end.min(lines.end) - lines.start;
            title.element(
                Snippet::source(&text[lines])
                    .line_start(first)
                    .path(path.as_ref())
                    .fold(true)
                    .annotation(AnnotationKind::Primary.span(span)),
            )
        }
        None => title.element(annotate_snippets::Origin::path(path.as_ref())),
    };
    for note in &diagnostic.notes {
        group = group.element(Level::NOTE.message(note.as_str()));
    }
    if let Some(help) = &diagnostic.help {
        group = group.element(Level::HELP.message(help.as_str()));
    }
    let renderer = if color {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    renderer.render(&[group])
}

/// One diagnostic as a JSON line (`reason: "diagnostic"`).
#[derive(Debug, Serialize)]
pub struct JsonDiagnostic<'a> {
    pub reason: &'static str,
    pub format_version: u32,
    pub file: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub severity: Severity,
    pub code: &'static str,
    pub message: &'a str,
    pub help: Option<&'a str>,
    pub notes: &'a [String],
}

impl<'a> JsonDiagnostic<'a> {
    pub fn new(diagnostic: &'a Diagnostic, source: &'a SourceFile) -> Self {
        let location = diagnostic.span.as_ref().map(|s| source.location(s.start));
        Self {
            reason: "diagnostic",
            format_version: FORMAT_VERSION,
            file: source.path().to_string_lossy().replace('\\', "/"),
            line: location.map(|l| l.line),
            column: location.map(|l| l.column),
            severity: diagnostic.severity,
            code: diagnostic.code.as_str(),
            message: &diagnostic.message,
            help: diagnostic.help.as_deref(),
            notes: &diagnostic.notes,
        }
    }
}
