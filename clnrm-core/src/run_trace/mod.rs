//! What a run records of itself: its own spans, under the original's names
//! (`clnrm.run` -> `clnrm.scenario` -> `clnrm.setup`, `clnrm.step:<name>`,
//! `clnrm.teardown`, with the events `container.start`, `container.exec`
//! and `container.stop`), in the one span model, so they are written and
//! forwarded exactly as the spans collected from the programs are. One trace
//! per run: each step's `TRACEPARENT` names its `clnrm.step:<name>` span, so
//! a program's spans are children of the step that ran it.

mod forward;
mod record;
mod sink;

use std::sync::{Arc, LazyLock};
use std::time::SystemTime;

pub use forward::forward;
pub(crate) use record::ScenarioTrace;
pub use sink::TraceOutputs;

use crate::outcome::TestFinished;
use crate::spans::{Attributes, Kind, Span, Status};

/// The name of a run's root span.
pub const RUN_SPAN: &str = "clnrm.run";

/// Where a run's spans hang: its trace and its `clnrm.run` span.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TraceParent {
    /// 32 lowercase hex digits.
    pub trace_id: String,
    /// 16 lowercase hex digits: the `clnrm.run` span.
    pub span_id: String,
    /// When the run began.
    pub started: SystemTime,
}

impl TraceParent {
    /// A new trace with a new run span, beginning now.
    pub fn random() -> Self {
        Self {
            trace_id: random_hex(16),
            span_id: random_hex(8),
            started: SystemTime::now(),
        }
    }

    /// The `clnrm.run` span, ending now.
    pub(crate) fn run_span(&self, failed: bool) -> Span {
        let mut run = Span {
            trace_id: self.trace_id.clone(),
            span_id: self.span_id.clone(),
            name: RUN_SPAN.into(),
            kind: Kind::Internal,
            status: if failed { Status::Error } else { Status::Ok },
            start_unix_nano: unix_nanos(self.started),
            end_unix_nano: unix_nanos(SystemTime::now()),
            resource: own_resource(),
            ..Span::default()
        };
        run.attributes
            .insert("clnrm.version".into(), env!("CARGO_PKG_VERSION").into());
        run
    }
}

/// `bytes` (at most 16) random bytes as lowercase hex (ids of the W3C trace
/// context); never all zeros, which is invalid.
pub(crate) fn random_hex(bytes: usize) -> String {
    let digits = bytes.min(16) * 2;
    let all = format!("{:032x}", fastrand::u128(..));
    let mut id = all[32 - digits..].to_string();
    if id.bytes().all(|b| b == b'0') {
        id.replace_range(..1, "1");
    }
    id
}

/// A test name as a file name: `dir/a.clnrm.toml::name` becomes
/// `dir_a.clnrm.toml__name.EXT`.
pub(crate) fn file_name(test: &str, extension: &str) -> String {
    let safe: String = (test.replace("::", "__").chars())
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '.' | '-' | '_' => c,
            _ => '_',
        })
        .collect();
    format!("{safe}.{extension}")
}

/// The resource of clnrm's own spans: one per process, shared, so that
/// writing a trace finds its spans' common resource by pointer.
pub(crate) fn own_resource() -> Arc<Attributes> {
    static OWN: LazyLock<Arc<Attributes>> = LazyLock::new(|| {
        Arc::new(Attributes::from([
            ("service.name".to_string(), "clnrm".to_string()),
            (
                "service.version".to_string(),
                env!("CARGO_PKG_VERSION").to_string(),
            ),
        ]))
    });
    Arc::clone(&OWN)
}

/// Nanoseconds since the epoch.
pub(crate) fn unix_nanos(time: SystemTime) -> Option<u64> {
    let nanos = time.duration_since(SystemTime::UNIX_EPOCH).ok()?.as_nanos();
    u64::try_from(nanos).ok()
}

/// A whole run's trace, as a driver gathers it from the finished tests:
/// `clnrm.run`, then each test's own spans and the spans collected from its
/// programs.
#[derive(Debug)]
pub struct RunTrace {
    parent: TraceParent,
    spans: Vec<Span>,
    failed: bool,
}

impl RunTrace {
    /// The run of `parent` (the run settings' `trace`).
    pub fn new(parent: &TraceParent) -> Self {
        Self {
            parent: parent.clone(),
            spans: Vec::new(),
            failed: false,
        }
    }

    /// Adds what `test` recorded.
    pub fn add(&mut self, test: &TestFinished) {
        self.spans.extend(test.spans.iter().cloned());
        self.failed |= !test.outcome.is_success();
    }

    /// Every span of the run, `clnrm.run` (ending now) first.
    pub fn finish(self) -> Vec<Span> {
        let run = self.parent.run_span(self.failed);
        std::iter::once(run).chain(self.spans).collect()
    }
}

/// Writes `spans` to `path` as one OTLP JSON document, creating its folder.
pub fn write_trace<S: std::borrow::Borrow<Span>>(
    path: &std::path::Path,
    spans: &[S],
) -> std::io::Result<()> {
    write_creating_folders(path, &crate::spans::to_otlp_json_document(spans))
}

/// Writes `text` to `path`, creating the folders above it when they are
/// missing (asked only then: a harness writes a trace after every test).
///
/// A file that is there already is overwritten in place and then cut to
/// length only if it was longer, not truncated first: truncating frees its
/// blocks, which on a file system that discards freed blocks (ext4 mounted
/// with `discard`, as cloud disks often are) waits on the disk, longer than
/// the test it traces; and even a cut to the same length is a journalled
/// change of the file.
pub(crate) fn write_creating_folders(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let open = || {
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
    };
    let mut file = match open() {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            open()?
        }
        opened => opened?,
    };
    let was = file.metadata()?.len();
    file.write_all(text.as_bytes())?;
    if was > text.len() as u64 {
        file.set_len(text.len() as u64)?;
    }
    Ok(())
}
