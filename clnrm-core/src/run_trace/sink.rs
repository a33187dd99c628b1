//! Where a run's trace goes, as the drivers are told: a file for the whole
//! run (`cargo clnrm run --trace FILE`), a document per test (the harness,
//! `CLNRM_TRACE_DIR`), and clnrm's own `OTEL_EXPORTER_OTLP_ENDPOINT` (the
//! tracing backend a team already uses).

use std::path::PathBuf;

use super::{RunTrace, TraceParent, forward, write_trace};
use crate::outcome::TestFinished;
use crate::spans::Span;

/// The outputs a driver's trace is written to; none by default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TraceOutputs {
    /// The whole run as one OTLP JSON document.
    pub file: Option<PathBuf>,
    /// One OTLP JSON document per test, named after it.
    pub dir: Option<PathBuf>,
    /// An OTLP/HTTP endpoint the trace is forwarded to.
    pub endpoint: Option<String>,
}

impl TraceOutputs {
    /// `file` (a `--trace` flag), `dir`, and clnrm's own
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub fn new(file: Option<PathBuf>, dir: Option<PathBuf>) -> Self {
        Self {
            file,
            dir,
            endpoint: std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT")
                .ok()
                .filter(|e| !e.is_empty()),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.file.is_none() && self.dir.is_none() && self.endpoint.is_none()
    }

    /// For drivers that end test by test (the harness): the test's own
    /// document under `dir` (`clnrm.run` around it), and its forward.
    /// Returns what could not be done.
    pub fn test_finished(&self, parent: &TraceParent, test: &TestFinished) -> Vec<String> {
        let mut problems = Vec::new();
        if self.dir.is_none() && self.endpoint.is_none() {
            return problems;
        }
        // Borrowed, not gathered into a `RunTrace`: this runs after every test.
        let run = parent.run_span(!test.outcome.is_success());
        let spans: Vec<&Span> = std::iter::once(&run).chain(&test.spans).collect();
        if let Some(dir) = &self.dir {
            let path = dir.join(super::file_name(&test.name, "json"));
            if let Err(e) = write_trace(&path, &spans) {
                problems.push(format!("cannot write the trace {}: {e}", path.display()));
            }
        }
        if let Some(endpoint) = &self.endpoint
            && let Err(e) = forward(endpoint, &[], &spans)
        {
            problems.push(e);
        }
        problems
    }

    /// For drivers that end with the run (`cargo clnrm run`): the whole
    /// run written to `file` and forwarded. Returns what could not be done.
    pub fn run_finished(&self, trace: RunTrace) -> Vec<String> {
        let mut problems = Vec::new();
        if self.file.is_none() && self.endpoint.is_none() {
            return problems;
        }
        let spans = trace.finish();
        if let Some(file) = &self.file
            && let Err(e) = write_trace(file, &spans)
        {
            problems.push(format!("cannot write the trace {}: {e}", file.display()));
        }
        if let Some(endpoint) = &self.endpoint
            && let Err(e) = forward(endpoint, &[], &spans)
        {
            problems.push(e);
        }
        problems
    }
}
