//! Spans as clnrm judges them: one model ([`Span`]) for every input (OTLP
//! protobuf and JSON exports, the file exporter's lines, span objects on
//! stdout), decoded leniently where exporters differ.

mod export;
mod json;
mod lines;
mod model;
mod proto;
mod tree;

pub use export::{to_otlp_json_document, to_otlp_json_lines};
pub use json::from_otlp as from_otlp_json;
pub use lines::{SpanLines, spans_in_lines};
pub use model::{Attributes, Event, Kind, Span, Status};
pub use proto::from_protobuf;
pub(crate) use tree::spans_of_value;

/// Whether `output` (a service's stdout) holds a span named `name`
/// (`wait_for_span`).
pub(crate) fn has_span(output: &str, name: &str) -> bool {
    spans_in_lines(output).spans.iter().any(|s| s.name == name)
}
