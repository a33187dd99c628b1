//! Span expectations judged against collected spans: every `[expect.*]`
//! table (the ones about the spans as a whole are in `tables`). Every expectation that does not
//! hold is reported, each with what it wanted and what was found.
//!
//! Semantics (docs/format.md says the same):
//! - a `[[expect.span]]` holds when one span meets all its constraints
//!   together; when none does, the report shows the nearest span of that
//!   name with each constraint marked as met or not;
//! - a span without both timestamps fails `duration_ms`;
//! - `events_total` counts events, `errors_total` spans with status ERROR;
//! - a `by_name` entry that matches no span fails (unless it asks for
//!   exactly `eq = 0`);
//! - no verdict depends on the order the spans arrived in: of equally near
//!   spans the one with the lowest span id is named (so is the span of a
//!   cycle), and spans are listed in name order.

use std::collections::HashMap;
use std::ops::Range;

use crate::outcome::{Failure, FailureKind, FileLocation};
use crate::scenario::{
    CountBound, CountsExpectation, Expectations, SpanExpectation, SpanKind, SpanStatus,
    StatusExpectation,
};
use crate::spans::{Kind, Span, Status};

/// One expectation that does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SpanMiss {
    /// Where the expectation is written (in the rendered file).
    pub(crate) at: Range<usize>,
    pub(crate) message: String,
    pub(crate) expected: Option<String>,
    pub(crate) actual: Option<String>,
}

impl SpanMiss {
    /// The miss as a failure of the outcome, at `location` (the expectation's
    /// place in the file the user wrote, when known).
    pub(crate) fn into_failure(self, location: Option<FileLocation>) -> Failure {
        let mut failure = Failure::new(FailureKind::SpanExpectation, self.message).at(location);
        failure.expected = self.expected;
        failure.actual = self.actual;
        failure
    }
}

/// One constraint of a `[[expect.span]]` on one candidate span.
struct Check {
    what: String,
    met: bool,
}

/// A scenario's spans judged: the misses, and whether the expectations say
/// anything about the programs' spans (not only about clnrm's own: then no
/// spans at all is a failure).
#[derive(Debug)]
pub(crate) struct ScenarioVerdict {
    pub(crate) misses: Vec<SpanMiss>,
    pub(crate) about_programs: bool,
}

/// [`judge_all`] for a scenario: the expectations about the programs' spans
/// against `spans`, and those naming clnrm's own spans against both `spans`
/// and `own` (see [`own`]).
pub(crate) fn judge_scenario(
    expect: &Expectations,
    scenario: &str,
    spans: &[Span],
    own: &[Span],
    allowed_hosts: &[String],
) -> ScenarioVerdict {
    let (program, mine) = own::split(expect, scenario);
    let mut misses = judge_all(&program, spans, allowed_hosts);
    if !mine.is_empty() {
        let both: Vec<Span> = spans.iter().chain(own).cloned().collect();
        misses.extend(judge_all(&mine, &both, allowed_hosts));
    }
    ScenarioVerdict {
        misses,
        about_programs: own::has_checks(&program),
    }
}

/// Whether any expectation names one of clnrm's own spans (then the run
/// records them for the judge).
pub(crate) fn names_own_spans(expect: &Expectations) -> bool {
    own::names_own(expect)
}

/// Every table against `spans`: the misses, table by table (spans, graph,
/// counts, windows, order, status, hermeticity). `allowed_hosts`: the peers
/// `no_external_services` accepts besides loopback.
pub(crate) fn judge_all(
    expect: &Expectations,
    spans: &[Span],
    allowed_hosts: &[String],
) -> Vec<SpanMiss> {
    let index = Index::new(spans);
    let mut misses: Vec<SpanMiss> = (expect.spans.iter())
        .filter_map(|e| judge_one(e, &index))
        .collect();
    if let Some(graph) = &expect.graph {
        misses.extend(tables::judge_graph(graph, &index));
    }
    if let Some(counts) = &expect.counts {
        misses.extend(judge_counts(counts, spans));
    }
    for window in &expect.windows {
        misses.extend(tables::judge_window(window, &index));
    }
    if let Some(order) = &expect.order {
        misses.extend(tables::judge_order(order, &index));
    }
    if let Some(status) = &expect.status {
        misses.extend(judge_status(status, spans));
    }
    if let Some(hermeticity) = &expect.hermeticity {
        misses.extend(tables::judge_hermeticity(
            hermeticity,
            &index,
            allowed_hosts,
        ));
    }
    misses
}

/// Spans by (trace id, span id): ids are unique within a trace only.
type ById<'s> = HashMap<(&'s str, &'s str), &'s Span>;

/// The spans by id and by name, built once for every expectation.
struct Index<'s> {
    all: &'s [Span],
    by_id: ById<'s>,
    by_name: HashMap<&'s str, Vec<&'s Span>>,
}

impl<'s> Index<'s> {
    fn new(all: &'s [Span]) -> Self {
        let mut by_name: HashMap<&str, Vec<&Span>> = HashMap::new();
        for span in all {
            by_name.entry(span.name.as_str()).or_default().push(span);
        }
        let mut by_id: ById = HashMap::new();
        for span in all {
            // Two spans under one id (a program's bug): the same one is
            // taken whatever the arrival order.
            by_id
                .entry((span.trace_id.as_str(), span.span_id.as_str()))
                .and_modify(|kept| {
                    if span.name < kept.name {
                        *kept = span;
                    }
                })
                .or_insert(span);
        }
        Self {
            all,
            by_id,
            by_name,
        }
    }
}

#[cfg(test)]
pub(crate) fn judge_span(expectation: &SpanExpectation, spans: &[Span]) -> Option<SpanMiss> {
    judge_one(expectation, &Index::new(spans))
}

fn judge_one(expectation: &SpanExpectation, index: &Index<'_>) -> Option<SpanMiss> {
    let (spans, by_id) = (index.all, &index.by_id);
    let name = &expectation.name.value;
    let named = index
        .by_name
        .get(name.as_str())
        .map_or(&[][..], Vec::as_slice);
    // First without words: most expectations hold, and saying why costs.
    let meets = |s: &&Span| checks(expectation, s, by_id, false).iter().all(|c| c.met);
    if let Some(bound) = &expectation.count {
        let actual = named.iter().filter(|s| meets(s)).count() as u64;
        if holds(bound, actual) {
            return None;
        }
        let wanted = format!("{bound} spans `{name}`{}", constraints_text(expectation));
        return Some(SpanMiss {
            at: expectation.span.clone(),
            message: format!(
                "`[[expect.span]]` `{name}`: expected {bound} such spans, found {actual} ({} named so)",
                named.len()
            ),
            expected: Some(wanted),
            actual: Some(actual.to_string()),
        });
    }
    if named.iter().any(meets) {
        return None;
    }
    let candidates: Vec<(&Span, Vec<Check>)> = named
        .iter()
        .map(|s| (*s, checks(expectation, s, by_id, true)))
        .collect();
    let wanted = format!("a span `{name}`{}", constraints_text(expectation));
    let Some((nearest, checks)) = candidates.into_iter().max_by(nearer) else {
        let mut seen: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
        seen.sort_unstable();
        seen.dedup();
        let found = if seen.is_empty() {
            "no spans at all".to_string()
        } else {
            format!("spans named {}", quoted(&seen))
        };
        return Some(SpanMiss {
            at: expectation.span.clone(),
            message: format!("`[[expect.span]]` `{name}`: no span has that name ({found})"),
            expected: Some(wanted),
            actual: Some(found),
        });
    };
    let marks: Vec<String> = checks
        .iter()
        .map(|c| format!("{} {}", if c.met { "met:" } else { "NOT met:" }, c.what))
        .collect();
    let id = &nearest.span_id;
    Some(SpanMiss {
        at: expectation.span.clone(),
        message: format!(
            "`[[expect.span]]` `{name}`: no span meets every constraint; the nearest (span {id}): {}",
            marks.join("; ")
        ),
        expected: Some(wanted),
        actual: Some(describe(nearest, by_id)),
    })
}

/// Which of two candidates is the nearer: the one meeting more constraints;
/// between equals, the one with the lower span id (then trace id, then
/// words), so that the nearest named never depends on the order the spans
/// arrived in.
fn nearer(a: &(&Span, Vec<Check>), b: &(&Span, Vec<Check>)) -> std::cmp::Ordering {
    let met = |checks: &[Check]| checks.iter().filter(|c| c.met).count();
    let words = |checks: &[Check]| checks.iter().map(|c| c.what.clone()).collect::<Vec<_>>();
    let ((a, a_checks), (b, b_checks)) = (a, b);
    (met(a_checks).cmp(&met(b_checks)))
        .then_with(|| (&b.span_id, &b.trace_id).cmp(&(&a.span_id, &a.trace_id)))
        .then_with(|| words(b_checks).cmp(&words(a_checks)))
        .then_with(|| format!("{b:?}").cmp(&format!("{a:?}")))
}

/// The constraints of `expectation` on `span`, met or not; with `describe`,
/// each says what it wanted and what it found.
fn checks(expectation: &SpanExpectation, span: &Span, by_id: &ById, describe: bool) -> Vec<Check> {
    let words = |text: &dyn Fn() -> String| if describe { text() } else { String::new() };
    let mut checks = Vec::new();
    if let Some(parent) = &expectation.parent {
        let actual = parent_name(span, by_id);
        checks.push(Check {
            what: words(&|| {
                format!(
                    "parent `{parent}` (is {})",
                    actual.map_or("none".into(), |p| format!("`{p}`"))
                )
            }),
            met: actual == Some(parent.as_str()),
        });
    }
    if let Some(kind) = expectation.kind {
        checks.push(Check {
            what: words(&|| format!("kind {} (is {:?})", kind.as_str(), span.kind)),
            met: span.kind == model_kind(kind),
        });
    }
    for (key, value) in &expectation.attrs_all {
        let actual = span.attributes.get(key);
        checks.push(Check {
            what: words(&|| {
                format!(
                    "attribute {key} = {value:?} (is {})",
                    actual.map_or("absent".into(), |a| format!("{a:?}"))
                )
            }),
            met: actual == Some(value),
        });
    }
    if !expectation.attrs_any.is_empty() {
        let met = (expectation.attrs_any.iter()).any(|(k, v)| span.attributes.get(k) == Some(v));
        let pairs = || -> Vec<String> {
            (expectation.attrs_any.iter())
                .map(|(k, v)| format!("{k} = {v:?}"))
                .collect()
        };
        checks.push(Check {
            what: words(&|| format!("one of the attributes {}", pairs().join(", "))),
            met,
        });
    }
    for key in &expectation.attrs_present {
        checks.push(Check {
            what: words(&|| {
                format!(
                    "attribute {key} (is {})",
                    if span.attributes.contains_key(key) {
                        "present"
                    } else {
                        "absent"
                    }
                )
            }),
            met: span.attributes.contains_key(key),
        });
    }
    if let Some(status) = expectation.status {
        checks.push(Check {
            what: words(&|| format!("status {} (is {:?})", status.as_str(), span.status)),
            met: span.status == model_status(status),
        });
    }
    let has_event = |name: &str| span.events.iter().any(|e| e.name == name);
    for event in &expectation.events_all {
        checks.push(Check {
            what: words(&|| format!("event `{event}`")),
            met: has_event(event),
        });
    }
    if !expectation.events_any.is_empty() {
        checks.push(Check {
            what: words(&|| format!("one of the events {}", quoted(&expectation.events_any))),
            met: expectation.events_any.iter().any(|e| has_event(e)),
        });
    }
    if expectation.duration_ms_min.is_some() || expectation.duration_ms_max.is_some() {
        let millis = span.duration_nanos().map(|n| n as f64 / 1e6);
        let within = millis.is_some_and(|ms| {
            expectation
                .duration_ms_min
                .is_none_or(|min| ms >= min as f64)
                && expectation
                    .duration_ms_max
                    .is_none_or(|max| ms <= max as f64)
        });
        checks.push(Check {
            what: words(&|| {
                format!(
                    "duration_ms in {} (is {})",
                    range_text(expectation.duration_ms_min, expectation.duration_ms_max),
                    millis.map_or("unknown: a timestamp is missing".into(), |ms| format!(
                        "{ms:.3}"
                    ))
                )
            }),
            met: within,
        });
    }
    checks
}

fn judge_counts(counts: &CountsExpectation, spans: &[Span]) -> Vec<SpanMiss> {
    let mut misses = Vec::new();
    let mut check = |what: String, bound: &CountBound, actual: u64| {
        if !holds(bound, actual) {
            misses.push(SpanMiss {
                at: counts.span.clone(),
                message: format!("`[expect.counts]` {what}: expected {bound}, was {actual}"),
                expected: Some(bound.to_string()),
                actual: Some(actual.to_string()),
            });
        }
    };
    if let Some(bound) = &counts.spans_total {
        check("spans_total".into(), bound, spans.len() as u64);
    }
    if let Some(bound) = &counts.events_total {
        let events: usize = spans.iter().map(|s| s.events.len()).sum();
        check("events_total".into(), bound, events as u64);
    }
    if let Some(bound) = &counts.errors_total {
        let errors = spans.iter().filter(|s| s.status == Status::Error).count();
        check("errors_total".into(), bound, errors as u64);
    }
    let mut absent = Vec::new();
    for (name, bound) in &counts.by_name {
        let found = spans.iter().filter(|s| s.name == *name).count() as u64;
        if found == 0 && bound.eq != Some(0) {
            absent.push(SpanMiss {
                at: counts.span.clone(),
                message: format!("`[expect.counts]` by_name `{name}`: no span has that name"),
                expected: Some(bound.to_string()),
                actual: Some("0".into()),
            });
        } else {
            check(format!("by_name `{name}`"), bound, found);
        }
    }
    misses.extend(absent);
    misses
}

fn judge_status(status: &StatusExpectation, spans: &[Span]) -> Vec<SpanMiss> {
    let mut misses = Vec::new();
    let mut check = |what: String, wanted: SpanStatus, of: Vec<&Span>| {
        let wrong: Vec<&&Span> = of
            .iter()
            .filter(|s| s.status != model_status(wanted))
            .collect();
        if of.is_empty() || !wrong.is_empty() {
            let actual = if of.is_empty() {
                "no such span".to_string()
            } else {
                let mut listed: Vec<String> = (wrong.iter())
                    .map(|s| format!("`{}` {:?}", s.name, s.status))
                    .collect();
                // In name order: the spans' arrival order is no part of a verdict.
                listed.sort_unstable();
                listed.join(", ")
            };
            misses.push(SpanMiss {
                at: status.span.clone(),
                message: format!(
                    "`[expect.status]` {what}: expected {}, found {actual}",
                    wanted.as_str()
                ),
                expected: Some(wanted.as_str().into()),
                actual: Some(actual),
            });
        }
    };
    if let Some(all) = status.all {
        check("all".into(), all, spans.iter().collect());
    }
    for (name, wanted) in &status.by_name {
        let of = spans.iter().filter(|s| s.name == *name).collect();
        check(format!("by_name `{name}`"), *wanted, of);
    }
    misses
}

fn holds(bound: &CountBound, actual: u64) -> bool {
    bound.eq.is_none_or(|n| actual == n)
        && bound.gte.is_none_or(|n| actual >= n)
        && bound.lte.is_none_or(|n| actual <= n)
}

fn parent_name<'s>(span: &Span, by_id: &ById<'s>) -> Option<&'s str> {
    let parent = span.parent_span_id.as_deref()?;
    (by_id.get(&(span.trace_id.as_str(), parent))).map(|p| p.name.as_str())
}

fn model_kind(kind: SpanKind) -> Kind {
    match kind {
        SpanKind::Internal => Kind::Internal,
        SpanKind::Server => Kind::Server,
        SpanKind::Client => Kind::Client,
        SpanKind::Producer => Kind::Producer,
        SpanKind::Consumer => Kind::Consumer,
    }
}

fn model_status(status: SpanStatus) -> Status {
    match status {
        SpanStatus::Ok => Status::Ok,
        SpanStatus::Error => Status::Error,
        SpanStatus::Unset => Status::Unset,
    }
}

fn quoted<S: AsRef<str>>(names: &[S]) -> String {
    let names: Vec<String> = names.iter().map(|n| format!("`{}`", n.as_ref())).collect();
    names.join(", ")
}

fn range_text(min: Option<u64>, max: Option<u64>) -> String {
    format!(
        "[{}, {}]",
        min.map_or("-".into(), |m| m.to_string()),
        max.map_or("-".into(), |m| m.to_string())
    )
}

fn constraints_text(expectation: &SpanExpectation) -> String {
    let mut parts = Vec::new();
    if let Some(parent) = &expectation.parent {
        parts.push(format!("parent `{parent}`"));
    }
    if let Some(kind) = expectation.kind {
        parts.push(format!("kind {}", kind.as_str()));
    }
    for (k, v) in &expectation.attrs_all {
        parts.push(format!("{k} = {v:?}"));
    }
    if !expectation.attrs_any.is_empty() {
        parts.push("one of attrs.any".into());
    }
    for k in &expectation.attrs_present {
        parts.push(format!("attribute {k}"));
    }
    if let Some(status) = expectation.status {
        parts.push(format!("status {}", status.as_str()));
    }
    for e in &expectation.events_all {
        parts.push(format!("event `{e}`"));
    }
    if !expectation.events_any.is_empty() {
        parts.push("one of events.any".into());
    }
    if expectation.duration_ms_min.is_some() || expectation.duration_ms_max.is_some() {
        parts.push(format!(
            "duration_ms in {}",
            range_text(expectation.duration_ms_min, expectation.duration_ms_max)
        ));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" with {}", parts.join(", "))
    }
}

/// A span as a report shows it.
fn describe(span: &Span, by_id: &ById) -> String {
    let attributes: Vec<String> = (span.attributes.iter())
        .map(|(k, v)| format!("{k}={v:?}"))
        .collect();
    let events: Vec<&str> = span.events.iter().map(|e| e.name.as_str()).collect();
    format!(
        "`{}` kind {:?}, parent {}, status {:?}, attributes {{{}}}, events [{}]",
        span.name,
        span.kind,
        parent_name(span, by_id).map_or("none".into(), |p| format!("`{p}`")),
        span.status,
        attributes.join(", "),
        events.join(", ")
    )
}

mod own;
mod tables;
#[cfg(test)]
mod tables_tests;
#[cfg(test)]
mod tests;
