//! The one span model every input becomes: OTLP protobuf, OTLP JSON, and
//! span lines on stdout.

use std::collections::BTreeMap;
use std::sync::Arc;

/// What kind of operation a span is (OTLP `SpanKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Kind {
    #[default]
    Unspecified,
    Internal,
    Server,
    Client,
    Producer,
    Consumer,
}

impl Kind {
    /// OTLP's integer (0 to 5).
    pub fn from_number(n: i64) -> Option<Self> {
        Some(match n {
            0 => Kind::Unspecified,
            1 => Kind::Internal,
            2 => Kind::Server,
            3 => Kind::Client,
            4 => Kind::Producer,
            5 => Kind::Consumer,
            _ => return None,
        })
    }

    /// `server`, `SERVER`, `SPAN_KIND_SERVER`, `Server`.
    pub fn from_name(name: &str) -> Option<Self> {
        let name = name.trim();
        let bare = name
            .strip_prefix("SPAN_KIND_")
            .unwrap_or(name)
            .to_ascii_lowercase();
        Some(match bare.as_str() {
            "unspecified" => Kind::Unspecified,
            "internal" => Kind::Internal,
            "server" => Kind::Server,
            "client" => Kind::Client,
            "producer" => Kind::Producer,
            "consumer" => Kind::Consumer,
            _ => return None,
        })
    }
}

/// A span's status (OTLP `Status.code`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Status {
    #[default]
    Unset,
    Ok,
    Error,
}

impl Status {
    /// OTLP's integer (0 to 2).
    pub fn from_number(n: i64) -> Option<Self> {
        Some(match n {
            0 => Status::Unset,
            1 => Status::Ok,
            2 => Status::Error,
            _ => return None,
        })
    }

    /// `OK`, `ok`, `STATUS_CODE_ERROR`, `Error`, `unset`.
    pub fn from_name(name: &str) -> Option<Self> {
        let name = name.trim();
        let bare = name
            .strip_prefix("STATUS_CODE_")
            .unwrap_or(name)
            .to_ascii_lowercase();
        Some(match bare.as_str() {
            "unset" => Status::Unset,
            "ok" => Status::Ok,
            "error" => Status::Error,
            _ => return None,
        })
    }
}

/// Attributes by key, each value as its canonical string (`3`, `true`,
/// `1.5`, `a`; arrays as `[a,b]`), the form expectations compare.
pub type Attributes = BTreeMap<String, String>;

/// A list value as its canonical string: `[a,2]`.
pub(super) fn list_text(items: impl IntoIterator<Item = String>) -> String {
    let items: Vec<String> = items.into_iter().collect();
    format!("[{}]", items.join(","))
}

/// A key/value list as its canonical string: `{k=v,k2=v2}` (in key order).
pub(super) fn kv_text(pairs: &Attributes) -> String {
    let items: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{{{}}}", items.join(","))
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Event {
    pub name: String,
    pub time_unix_nano: Option<u64>,
    pub attributes: Attributes,
}

/// One span, wherever it came from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Span {
    /// Lowercase hex (32 digits), empty when the input had none.
    pub trace_id: String,
    /// Lowercase hex (16 digits), empty when the input had none.
    pub span_id: String,
    /// `None` for a root span.
    pub parent_span_id: Option<String>,
    pub name: String,
    pub kind: Kind,
    pub status: Status,
    pub start_unix_nano: Option<u64>,
    pub end_unix_nano: Option<u64>,
    pub attributes: Attributes,
    pub events: Vec<Event>,
    /// The attributes of the resource that emitted it (shared by its batch).
    pub resource: Arc<Attributes>,
}

impl Span {
    /// How long it took, when both ends are known.
    pub fn duration_nanos(&self) -> Option<u64> {
        Some(self.end_unix_nano?.saturating_sub(self.start_unix_nano?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_statuses_by_number_or_any_spelling_of_their_name() {
        assert_eq!(Kind::from_number(2), Some(Kind::Server));
        assert_eq!(Kind::from_number(9), None);
        for name in ["server", "SERVER", "SPAN_KIND_SERVER", "Server"] {
            assert_eq!(Kind::from_name(name), Some(Kind::Server), "{name}");
        }
        assert_eq!(Kind::from_name("serverish"), None);
        assert_eq!(Status::from_number(2), Some(Status::Error));
        for name in ["ERROR", "error", "STATUS_CODE_ERROR", "Error"] {
            assert_eq!(Status::from_name(name), Some(Status::Error), "{name}");
        }
    }
}
