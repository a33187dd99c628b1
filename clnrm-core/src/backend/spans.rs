//! Spans in a program's output: one JSON object per line, either a span of
//! its own (`name` with `span_id` or `trace_id`, as the stdout exporter
//! writes them) or an OTLP JSON export (`resourceSpans[].scopeSpans[].spans[]`).

use serde_json::Value;

/// The names of the spans on one line of output; none for any other line.
pub fn span_names(line: &str) -> Vec<String> {
    let line = line.trim();
    if !line.starts_with('{') {
        return Vec::new();
    }
    let Ok(value) = serde_json::from_str::<Value>(line) else {
        return Vec::new();
    };
    let mut names = Vec::new();
    if let Some(resources) = value.get("resourceSpans").and_then(Value::as_array) {
        for resource in resources {
            let scopes = ["scopeSpans", "instrumentationLibrarySpans"]
                .iter()
                .filter_map(|key| resource.get(*key).and_then(Value::as_array))
                .flatten();
            for scope in scopes {
                let spans = scope.get("spans").and_then(Value::as_array);
                names.extend(spans.into_iter().flatten().filter_map(name_of));
            }
        }
    } else if ["span_id", "trace_id", "spanId", "traceId"]
        .iter()
        .any(|key| value.get(*key).is_some())
    {
        names.extend(name_of(&value));
    }
    names
}

fn name_of(span: &Value) -> Option<String> {
    span.get("name").and_then(Value::as_str).map(str::to_string)
}

/// Whether `output` (a service's stdout) holds a span named `name`.
pub fn has_span(output: &str, name: &str) -> bool {
    output
        .lines()
        .any(|line| span_names(line).iter().any(|n| n == name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_stdout_spans_and_otlp_exports_and_nothing_else() {
        let table: &[(&str, &[&str])] = &[
            (
                r#"{"name":"ready","trace_id":"t","span_id":"s"}"#,
                &["ready"],
            ),
            (r#"  {"name":"ready","spanId":"s"}  "#, &["ready"]),
            (
                r#"{"resourceSpans":[{"scopeSpans":[{"scope":{"name":"lib"},"spans":[{"name":"a"},{"name":"b"}]}]}]}"#,
                &["a", "b"],
            ),
            (
                r#"{"resourceSpans":[{"instrumentationLibrarySpans":[{"spans":[{"name":"old"}]}]}]}"#,
                &["old"],
            ),
            // A log line with a `name` is no span.
            (r#"{"name":"ready","level":"info"}"#, &[]),
            ("ready", &[]),
            ("{not json", &[]),
        ];
        for (line, names) in table {
            assert_eq!(span_names(line), *names, "{line}");
        }
        let output = "starting\n{\"name\":\"ready\",\"span_id\":\"1\"}\n";
        assert!(has_span(output, "ready"));
        assert!(!has_span(output, "starting"));
    }
}
