//! Spans in a program's output or a span file: one JSON object per line,
//! either a span of its own or an OTLP JSON export (the file exporter's
//! `TracesData` lines). Other lines are ignored; a line that starts like
//! JSON but does not parse is counted, for the report.

use serde_json::Value;

use super::json::{from_otlp, from_span_object};
use super::model::Span;

/// What a text held.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SpanLines {
    pub spans: Vec<Span>,
    /// Lines that start with `{` but are not valid JSON: skipped.
    pub invalid_lines: usize,
}

/// The spans of every line of `text`.
pub fn spans_in_lines(text: &str) -> SpanLines {
    let mut found = SpanLines::default();
    for line in text.lines().map(str::trim) {
        if !line.starts_with('{') {
            continue;
        }
        let Ok(value) = serde_json::from_str::<Value>(line) else {
            found.invalid_lines += 1;
            continue;
        };
        if let Some(spans) = from_otlp(&value) {
            found.spans.extend(spans);
        } else if let Some(span) = from_span_object(&value) {
            found.spans.push(span);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_and_exports_are_read_and_everything_else_passed_over() {
        let text = [
            "starting",
            r#"{"name":"ready","trace_id":"t","span_id":"s"}"#,
            r#"  {"name":"ready","spanId":"s"}  "#,
            r#"{"resourceSpans":[{"scopeSpans":[{"scope":{"name":"lib"},"spans":[{"name":"a"},{"name":"b"}]}]}]}"#,
            r#"{"resourceSpans":[{"instrumentationLibrarySpans":[{"spans":[{"name":"old"}]}]}]}"#,
            // A log line with a `name` is no span.
            r#"{"name":"ready","level":"info"}"#,
            "{not json",
            "",
        ]
        .join("\n");
        let found = spans_in_lines(&text);
        let names: Vec<&str> = found.spans.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["ready", "ready", "a", "b", "old"]);
        assert_eq!(found.invalid_lines, 1);
    }
}
