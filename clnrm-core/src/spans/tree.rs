//! What the span tree's strict file reader (`tree::read_span_file`) needs of
//! the JSON decoders: the spans one JSON value holds.

use serde_json::Value;

use super::json::{from_otlp, from_span_object};
use super::model::Span;

/// The spans of an OTLP JSON document, or the one span of a span object;
/// `None` for any other value.
pub(crate) fn spans_of_value(value: &Value) -> Option<Vec<Span>> {
    from_otlp(value).or_else(|| from_span_object(value).map(|span| vec![span]))
}
