//! One scenario's own spans, recorded as it runs: `clnrm.scenario` (child
//! of `clnrm.run`), and under it `clnrm.setup` (images, network, services:
//! a `container.start` event each), one `clnrm.step:<name>` per step (argv,
//! exit code, duration, digests of its output; `container.exec` when it ran
//! in a container) and `clnrm.teardown` (`container.stop`). Durations are
//! the spans' own start and end, never attributes: a diff of two runs' traces
//! shows what changed, not how long it took.

use std::sync::Arc;
use std::time::SystemTime;

use sha2::{Digest, Sha256};

use super::{TraceParent, own_resource, random_hex, unix_nanos};
use crate::executor::StepRun;
use crate::spans::{Attributes, Event, Kind, Span, Status};

/// A container the scenario started: when, its role, its image.
pub(crate) type ContainerStart = (SystemTime, String, String);

#[derive(Debug)]
pub(crate) struct ScenarioTrace {
    /// Whether anyone uses the spans: otherwise only ids are made (for the
    /// steps' `TRACEPARENT`), and nothing is recorded.
    recording: bool,
    run: TraceParent,
    trace_id: String,
    run_span: String,
    scenario_span: String,
    started: SystemTime,
    resource: Arc<Attributes>,
    spans: Vec<Span>,
}

impl ScenarioTrace {
    pub(crate) fn new(parent: &TraceParent, recording: bool) -> Self {
        Self {
            recording,
            run: parent.clone(),
            trace_id: parent.trace_id.clone(),
            run_span: parent.span_id.clone(),
            scenario_span: random_hex(8),
            started: SystemTime::now(),
            resource: if recording {
                own_resource()
            } else {
                Arc::default()
            },
            spans: Vec::new(),
        }
    }

    /// A new span id, for a step about to run (its `TRACEPARENT`).
    pub(crate) fn new_span_id() -> String {
        random_hex(8)
    }

    /// The W3C `traceparent` that makes span `span_id` a program's parent.
    pub(crate) fn traceparent(&self, span_id: &str) -> String {
        format!("00-{}-{span_id}-01", self.trace_id)
    }

    /// The `traceparent` of the scenario's span (the services' parent).
    pub(crate) fn scenario_traceparent(&self) -> String {
        self.traceparent(&self.scenario_span)
    }

    fn span(&self, id: String, name: String, started: SystemTime) -> Span {
        Span {
            trace_id: self.trace_id.clone(),
            span_id: id,
            parent_span_id: Some(self.scenario_span.clone()),
            name,
            kind: Kind::Internal,
            start_unix_nano: unix_nanos(started),
            end_unix_nano: unix_nanos(SystemTime::now()),
            resource: Arc::clone(&self.resource),
            ..Span::default()
        }
    }

    /// The set-up, from `started` to now: a `container.start` event per
    /// container; `problem` when it failed.
    pub(crate) fn setup(
        &mut self,
        started: SystemTime,
        containers: &[ContainerStart],
        problem: Option<&str>,
    ) {
        if !self.recording {
            return;
        }
        let mut span = self.span(random_hex(8), "clnrm.setup".into(), started);
        span.events = (containers.iter())
            .map(|(at, role, image)| Event {
                name: "container.start".into(),
                time_unix_nano: unix_nanos(*at),
                attributes: Attributes::from([
                    ("clnrm.container.role".into(), role.clone()),
                    ("container.image.name".into(), image.clone()),
                ]),
            })
            .collect();
        span.status = if problem.is_some() {
            Status::Error
        } else {
            Status::Ok
        };
        if let Some(problem) = problem {
            span.attributes
                .insert("clnrm.error".into(), problem.to_string());
        }
        self.spans.push(span);
    }

    /// Step `step` (span `id`), from `started` to now.
    pub(crate) fn step(
        &mut self,
        id: String,
        step: &StepRun,
        started: SystemTime,
        in_container: bool,
        attempt: u32,
    ) {
        if !self.recording {
            return;
        }
        let mut span = self.span(id, format!("clnrm.step:{}", step.name), started);
        let attributes = &mut span.attributes;
        attributes.insert("clnrm.step.name".into(), step.name.clone());
        // A retry (`retry_on_failure`): each attempt is a span of its own.
        if attempt > 1 {
            attributes.insert("clnrm.step.attempt".into(), attempt.to_string());
        }
        attributes.insert(
            "clnrm.step.argv".into(),
            serde_json::to_string(&step.argv).unwrap_or_default(),
        );
        if let Some(output) = &step.output {
            if let Some(code) = output.exit_code {
                attributes.insert("clnrm.step.exit_code".into(), code.to_string());
            }
            if let Some(note) = &output.note {
                attributes.insert("clnrm.step.note".into(), note.clone());
            }
            attributes.insert("clnrm.step.stdout.sha256".into(), sha256(&output.stdout));
            attributes.insert("clnrm.step.stderr.sha256".into(), sha256(&output.stderr));
        }
        span.status = if step.passed() {
            Status::Ok
        } else {
            Status::Error
        };
        if in_container {
            span.events.push(Event {
                name: "container.exec".into(),
                time_unix_nano: span.start_unix_nano,
                attributes: Attributes::new(),
            });
        }
        self.spans.push(span);
    }

    /// The teardown, from `started` to now, of `containers` containers.
    pub(crate) fn teardown(&mut self, started: SystemTime, containers: usize) {
        if !self.recording {
            return;
        }
        let mut span = self.span(random_hex(8), "clnrm.teardown".into(), started);
        if containers > 0 {
            span.events.push(Event {
                name: "container.stop".into(),
                time_unix_nano: span.start_unix_nano,
                attributes: Attributes::from([("clnrm.containers".into(), containers.to_string())]),
            });
        }
        span.status = Status::Ok;
        self.spans.push(span);
    }

    /// The `clnrm.scenario` span, ending now.
    fn scenario_span(&self, scenario: &str, status: Status) -> Span {
        let mut span = Span {
            trace_id: self.trace_id.clone(),
            span_id: self.scenario_span.clone(),
            parent_span_id: Some(self.run_span.clone()),
            name: "clnrm.scenario".into(),
            kind: Kind::Internal,
            status,
            start_unix_nano: unix_nanos(self.started),
            end_unix_nano: unix_nanos(SystemTime::now()),
            resource: Arc::clone(&self.resource),
            ..Span::default()
        };
        span.attributes
            .insert("clnrm.scenario.name".into(), scenario.to_string());
        span
    }

    /// The own spans so far, as expectations on them see them before the
    /// scenario ends: `clnrm.run` and `clnrm.scenario` as if ending now,
    /// with their status unset, then the set-up and the steps.
    pub(crate) fn so_far(&self, scenario: &str) -> Vec<Span> {
        if !self.recording {
            return Vec::new();
        }
        let mut run = self.run.run_span(false);
        run.status = Status::Unset;
        [run, self.scenario_span(scenario, Status::Unset)]
            .into_iter()
            .chain(self.spans.iter().cloned())
            .collect()
    }

    /// The scenario's spans, `clnrm.scenario` (ending now) first.
    pub(crate) fn finish(self, scenario: &str, failed: bool) -> Vec<Span> {
        if !self.recording {
            return Vec::new();
        }
        let status = if failed { Status::Error } else { Status::Ok };
        let span = self.scenario_span(scenario, status);
        std::iter::once(span).chain(self.spans).collect()
    }
}

/// The SHA-256 of `text`, in hex. Most steps print nothing on one of their
/// streams: the digest of nothing is known.
fn sha256(text: &str) -> String {
    const OF_NOTHING: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    if text.is_empty() {
        return OF_NOTHING.to_string();
    }
    hex::encode(Sha256::digest(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_digest_of_nothing_is_sha256s() {
        use sha2::{Digest, Sha256};
        assert_eq!(super::sha256(""), hex::encode(Sha256::digest(b"")));
        assert_eq!(
            super::sha256("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
