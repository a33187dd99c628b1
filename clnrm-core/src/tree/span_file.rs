//! Span files read strictly, for `diff`: OTLP JSON lines (the file
//! exporter's `TracesData`, one per line), span objects one per line, or one
//! OTLP JSON document over many lines (a pretty-printed export), or a JSON
//! array of either. Unlike [`spans_in_lines`](crate::spans::spans_in_lines),
//! which passes over what is not a span, the first line that is not JSON or
//! holds no spans is an error with its place.

use serde_json::Value;

use crate::spans::{Span, spans_of_value};

use super::node::ExpectationTree;

/// Why a span file cannot be read, and where (1-based).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}")]
pub struct SpanFileError {
    pub line: usize,
    /// In characters, when the JSON parser knows it.
    pub column: Option<usize>,
    pub kind: SpanFileErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SpanFileErrorKind {
    #[error("not JSON: {0}")]
    NotJson(String),
    #[error(
        "not OTLP JSON: neither an export (`resourceSpans`) nor a span object (`name` with `spanId` or `traceId`)"
    )]
    NotSpans,
    #[error(
        "not OTLP JSON: item {0} of the array is neither an export (`resourceSpans`) nor a span object"
    )]
    ItemNotSpans(usize),
}

/// Whether `text` starts as JSON does (`{"`, `{}`, `[{`, `[]`), which neither
/// TOML (`[meta]`, `[[scenario]]`, `["quoted"]`) nor a template (`{%`, `{{`,
/// `{#`) can: how `diff` tells a span file from a scenario file by content.
pub fn looks_like_span_file(text: &str) -> bool {
    let mut chars = text
        .trim_start_matches('\u{feff}')
        .chars()
        .filter(|c| !c.is_whitespace());
    matches!(
        (chars.next(), chars.next()),
        (Some('{'), Some('"' | '}')) | (Some('['), Some('{' | ']'))
    )
}

/// The span trees of two span files, each read ([`read_span_file`]) and
/// built ([`ExpectationTree::from_spans`]) on a thread of its own.
pub fn read_span_trees(
    old: &str,
    new: &str,
) -> (
    Result<ExpectationTree, SpanFileError>,
    Result<ExpectationTree, SpanFileError>,
) {
    let tree = |text: &str| read_span_file(text).map(|spans| ExpectationTree::from_spans(&spans));
    std::thread::scope(|scope| {
        let old_tree = scope.spawn(|| tree(old));
        let new_tree = tree(new);
        let old_tree = old_tree
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (old_tree, new_tree)
    })
}

/// Every span of `text`, in file order; an empty text has none.
///
/// JSON lines when the first non-empty line is a JSON value by itself (each
/// non-empty line must then be one), else one or more JSON values over the
/// whole text; every value must be an OTLP JSON export, a span object, or an
/// array of those.
pub fn read_span_file(text: &str) -> Result<Vec<Span>, SpanFileError> {
    let text = text.trim_start_matches('\u{feff}');
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((_, first)) = lines.next() else {
        return Ok(Vec::new());
    };
    if serde_json::from_str::<serde::de::IgnoredAny>(first).is_ok() {
        return read_lines(text);
    }
    read_values(text)
}

fn read_lines(text: &str) -> Result<Vec<Span>, SpanFileError> {
    let mut spans = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let value: Value = serde_json::from_str(line).map_err(|e| not_json(&e, line, index + 1))?;
        collect(&value, index + 1, &mut spans)?;
    }
    Ok(spans)
}

/// One or more values over the whole text; places are serde's.
fn read_values(text: &str) -> Result<Vec<Span>, SpanFileError> {
    let mut spans = Vec::new();
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    loop {
        let before = stream.byte_offset();
        let Some(next) = stream.next() else { break };
        let value = next.map_err(|e| not_json(&e, text, 0))?;
        let skipped = text[before..].len() - text[before..].trim_start().len();
        let line = 1 + text[..before + skipped].matches('\n').count();
        collect(&value, line, &mut spans)?;
    }
    Ok(spans)
}

fn collect(value: &Value, line: usize, spans: &mut Vec<Span>) -> Result<(), SpanFileError> {
    let located = |kind| {
        move || SpanFileError {
            line,
            column: None,
            kind,
        }
    };
    if let Value::Array(items) = value {
        for (i, item) in items.iter().enumerate() {
            let found =
                spans_of_value(item).ok_or_else(located(SpanFileErrorKind::ItemNotSpans(i + 1)))?;
            spans.extend(found);
        }
        return Ok(());
    }
    spans.extend(spans_of_value(value).ok_or_else(located(SpanFileErrorKind::NotSpans))?);
    Ok(())
}

/// serde's error at its place in `parsed`: the whole text, or (when `line`
/// is not 0) the one line `line` of the file. serde counts columns in bytes
/// and puts an end of input after a final newline on a line of its own; the
/// place is given as the file has it: a line that exists, a column in
/// characters (an end of input: just past the last line's last character).
fn not_json(e: &serde_json::Error, parsed: &str, line: usize) -> SpanFileError {
    let text = e.to_string();
    // serde_json appends " at line L column C"; the place is reported apart.
    let message = match text.rfind(" at line ") {
        Some(at) => text[..at].to_owned(),
        None => text,
    };
    let lines: Vec<&str> = parsed.lines().collect();
    let (index, column) = match lines.get(e.line().max(1) - 1) {
        Some(text) => (e.line().max(1) - 1, char_column(text, e.column())),
        None => {
            let last = lines.len().saturating_sub(1);
            let end = lines.get(last).map_or(0, |l| l.chars().count());
            (last, Some(end + 1))
        }
    };
    SpanFileError {
        line: if line == 0 { index + 1 } else { line },
        column,
        kind: SpanFileErrorKind::NotJson(message),
    }
}

/// The 1-based column, in characters, of serde's 1-based byte column on
/// `line` (a byte inside a character is that character); `None` for 0.
fn char_column(line: &str, byte_column: usize) -> Option<usize> {
    if byte_column == 0 {
        return None;
    }
    let mut end = byte_column.min(line.len());
    while !line.is_char_boundary(end) {
        end += 1;
    }
    Some(line[..end].chars().count())
}
