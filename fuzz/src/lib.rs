//! What the fuzz targets share: inputs split into a scenario and the
//! templates beside it, and the properties every reader must keep.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

use clnrm_core::diagnostic::{Diagnostic, LocatedDiagnostic};
use clnrm_core::render::TemplateReader;
use clnrm_core::source::SourceFile;
use clnrm_core::spans::{Span, spans_in_lines, to_otlp_json_lines};

/// The folder the fuzzed scenario is said to be in.
pub const DIR: &str = "/clnrm-fuzz";

/// The names the parts after the first are found under, beside the scenario.
/// The last one shadows the shipped macro library, as a local file may.
pub const TEMPLATE_NAMES: &[&str] = &["a.tera", "b.tera", "_macros.toml.tera"];

/// Templates kept in memory: the targets never read the file system.
#[derive(Debug, Default)]
pub struct MemoryTemplates(HashMap<PathBuf, String>);

impl TemplateReader for MemoryTemplates {
    fn read(&self, path: &Path) -> io::Result<Option<String>> {
        Ok(self.0.get(path).cloned())
    }
}

/// An input as a scenario and the templates beside it: the text up to the
/// first NUL byte is the scenario; each later NUL-separated part is the
/// template of the next name in [`TEMPLATE_NAMES`].
pub fn split_input(data: &[u8]) -> (String, MemoryTemplates) {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.split('\0');
    let scenario = parts.next().unwrap_or_default().to_string();
    let templates = TEMPLATE_NAMES
        .iter()
        .zip(parts)
        .map(|(name, text)| (Path::new(DIR).join(name), text.to_string()))
        .collect();
    (scenario, MemoryTemplates(templates))
}

/// Every diagnostic points inside the text and can be shown at a line and
/// column: a span past the end, or reversed, would break the reporters.
pub fn check_diagnostics(diagnostics: &[Diagnostic], source: &SourceFile) {
    for d in diagnostics {
        assert!(
            !d.message.is_empty(),
            "a diagnostic without a message: {d:?}"
        );
        if let Some(span) = &d.span {
            assert!(
                span.start <= span.end && span.end <= source.text().len(),
                "{d:?} is outside the text of {} bytes",
                source.text().len()
            );
        }
        let shown = LocatedDiagnostic::new(d, source).to_string();
        assert!(!shown.is_empty());
    }
}

/// Spans written as OTLP JSON lines (as run traces are) read back the same:
/// what one reader decodes, `diff` can compare.
pub fn check_round_trip(spans: &[Span]) {
    let written = to_otlp_json_lines(spans);
    let read = spans_in_lines(&written);
    assert_eq!(read.invalid_lines, 0, "unreadable export:\n{written}");
    assert_eq!(
        read.spans, spans,
        "the export reads back differently:\n{written}"
    );
}
