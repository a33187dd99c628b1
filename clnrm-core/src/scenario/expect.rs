//! Expectations on the spans a program emits (`[expect.*]`, and `[otel_validation]`
//! mapped onto them).

use std::ops::Range;

use super::spanned::Spanned;

#[derive(Debug, Clone, Default)]
pub struct Expectations {
    pub spans: Vec<SpanExpectation>,
    pub graph: Option<GraphExpectation>,
    pub counts: Option<CountsExpectation>,
    pub windows: Vec<WindowExpectation>,
    pub order: Option<OrderExpectation>,
    pub status: Option<StatusExpectation>,
    pub hermeticity: Option<HermeticityExpectation>,
}

impl Expectations {
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
            && self.graph.is_none()
            && self.counts.is_none()
            && self.windows.is_empty()
            && self.order.is_none()
            && self.status.is_none()
            && self.hermeticity.is_none()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanKind {
    Internal,
    Server,
    Client,
    Producer,
    Consumer,
}

impl SpanKind {
    pub const NAMES: &'static [&'static str] =
        &["internal", "server", "client", "producer", "consumer"];

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().as_str() {
            "internal" => Self::Internal,
            "server" => Self::Server,
            "client" => Self::Client,
            "producer" => Self::Producer,
            "consumer" => Self::Consumer,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanStatus {
    Ok,
    Error,
    Unset,
}

impl SpanStatus {
    pub const NAMES: &'static [&'static str] = &["OK", "ERROR", "UNSET"];

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_uppercase().as_str() {
            "OK" => Self::Ok,
            "ERROR" => Self::Error,
            "UNSET" => Self::Unset,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }
}

#[derive(Debug, Clone, Default)]
pub struct SpanExpectation {
    pub name: Spanned<String>,
    pub parent: Option<String>,
    pub kind: Option<SpanKind>,
    pub attrs_all: Vec<(String, String)>,
    pub attrs_any: Vec<(String, String)>,
    pub events_all: Vec<String>,
    pub events_any: Vec<String>,
    pub duration_ms_min: Option<u64>,
    pub duration_ms_max: Option<u64>,
    /// The span's status (`status = "ERROR"`).
    pub status: Option<SpanStatus>,
    /// Attributes the span must have, whatever their values.
    pub attrs_present: Vec<String>,
    /// How many spans meet every other constraint; without it, at least one.
    pub count: Option<CountBound>,
    pub span: Range<usize>,
}

#[derive(Debug, Clone, Default)]
pub struct GraphExpectation {
    pub must_include: Vec<(String, String)>,
    pub must_not_cross: Vec<(String, String)>,
    pub acyclic: Option<bool>,
    pub span: Range<usize>,
}

/// `{ gte = N, lte = N, eq = N }`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CountBound {
    pub gte: Option<u64>,
    pub lte: Option<u64>,
    pub eq: Option<u64>,
}

impl std::fmt::Display for CountBound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = [("gte", self.gte), ("lte", self.lte), ("eq", self.eq)]
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| format!("{k}={v}")))
            .collect();
        write!(f, "{{{}}}", parts.join(","))
    }
}

#[derive(Debug, Clone, Default)]
pub struct CountsExpectation {
    pub spans_total: Option<CountBound>,
    pub events_total: Option<CountBound>,
    pub errors_total: Option<CountBound>,
    pub by_name: Vec<(String, CountBound)>,
    pub span: Range<usize>,
}

#[derive(Debug, Clone, Default)]
pub struct WindowExpectation {
    pub outer: String,
    pub contains: Vec<String>,
    pub span: Range<usize>,
}

#[derive(Debug, Clone, Default)]
pub struct OrderExpectation {
    pub must_precede: Vec<(String, String)>,
    pub must_follow: Vec<(String, String)>,
    pub span: Range<usize>,
}

#[derive(Debug, Clone, Default)]
pub struct StatusExpectation {
    pub all: Option<SpanStatus>,
    pub by_name: Vec<(String, SpanStatus)>,
    pub span: Range<usize>,
}

#[derive(Debug, Clone, Default)]
pub struct HermeticityExpectation {
    pub no_external_services: Option<bool>,
    pub resource_attrs_must_match: Vec<(String, String)>,
    pub span_attrs_forbid_keys: Vec<String>,
    pub span: Range<usize>,
}
