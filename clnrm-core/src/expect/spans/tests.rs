//! Known answers for each judged table: a set that holds, and sets that
//! fail for exactly one reason.

use crate::scenario::{
    CountBound, CountsExpectation, SpanExpectation, SpanKind, SpanStatus, Spanned,
    StatusExpectation,
};
use crate::spans::{Event, Kind, Span, Status};

use super::{judge_counts, judge_span, judge_status};

fn span(id: &str, name: &str, parent: Option<&str>) -> Span {
    Span {
        trace_id: "t".into(),
        span_id: id.into(),
        parent_span_id: parent.map(String::from),
        name: name.into(),
        start_unix_nano: Some(1_000_000),
        end_unix_nano: Some(3_000_000),
        ..Span::default()
    }
}

/// `root` with two `http.request` children: a GET that ends OK, a POST that fails.
fn trace() -> Vec<Span> {
    let root = span("1", "root", None);
    let mut get = span("2", "http.request", Some("1"));
    get.kind = Kind::Server;
    get.attributes.insert("http.method".into(), "GET".into());
    get.attributes
        .insert("http.status_code".into(), "200".into());
    get.events.push(Event {
        name: "start".into(),
        ..Event::default()
    });
    get.status = Status::Ok;
    let mut post = span("3", "http.request", Some("1"));
    post.kind = Kind::Server;
    post.attributes.insert("http.method".into(), "POST".into());
    post.status = Status::Error;
    vec![root, get, post]
}

fn expect(name: &str) -> SpanExpectation {
    SpanExpectation {
        name: Spanned::new(name.into(), 0..0),
        span: 10..20,
        ..SpanExpectation::default()
    }
}

#[test]
fn one_span_must_meet_every_constraint_together() {
    let mut get = expect("http.request");
    get.parent = Some("root".into());
    get.kind = Some(SpanKind::Server);
    get.attrs_all = vec![("http.method".into(), "GET".into())];
    get.events_all = vec!["start".into()];
    get.duration_ms_min = Some(1);
    get.duration_ms_max = Some(5);
    assert_eq!(judge_span(&get, &trace()), None);
    // GET has the event, POST has the method: no one span has both.
    let mut both = expect("http.request");
    both.attrs_all = vec![("http.method".into(), "POST".into())];
    both.events_all = vec!["start".into()];
    let miss = judge_span(&both, &trace()).expect("fails");
    assert!(
        miss.message.contains("no span meets every constraint"),
        "{miss:?}"
    );
    // Each meets one of the two: the nearest is the lower id, the GET.
    assert!(
        miss.message
            .contains("NOT met: attribute http.method = \"POST\" (is \"GET\"); met: event `start`"),
        "{miss:?}"
    );
    assert_eq!(miss.at, 10..20);
}

#[test]
fn a_missing_name_a_wrong_parent_and_a_missing_timestamp_fail() {
    let miss = judge_span(&expect("db.query"), &trace()).expect("fails");
    assert!(miss.message.contains("no span has that name"), "{miss:?}");
    assert!(miss.actual.is_some_and(|a| a.contains("`http.request`")));
    let mut parent = expect("http.request");
    parent.parent = Some("http.request".into());
    let miss = judge_span(&parent, &trace()).expect("fails");
    assert!(
        miss.message
            .contains("NOT met: parent `http.request` (is `root`)"),
        "{miss:?}"
    );
    let mut timed = expect("root");
    timed.duration_ms_max = Some(100);
    let mut untimed = trace();
    untimed[0].end_unix_nano = None;
    assert_eq!(judge_span(&timed, &trace()), None);
    let miss = judge_span(&timed, &untimed).expect("fails");
    assert!(miss.message.contains("a timestamp is missing"), "{miss:?}");
    // No spans at all says so.
    let miss = judge_span(&expect("root"), &[]).expect("fails");
    assert!(miss.message.contains("no spans at all"), "{miss:?}");
}

fn bound(gte: Option<u64>, lte: Option<u64>, eq: Option<u64>) -> CountBound {
    CountBound { gte, lte, eq }
}

#[test]
fn counts_count_spans_events_and_error_spans() {
    let holds = CountsExpectation {
        spans_total: Some(bound(Some(3), Some(3), None)),
        events_total: Some(bound(None, None, Some(1))),
        errors_total: Some(bound(None, None, Some(1))),
        by_name: vec![
            ("http.request".into(), bound(None, None, Some(2))),
            ("never".into(), bound(None, None, Some(0))),
        ],
        span: 0..1,
    };
    assert_eq!(judge_counts(&holds, &trace()), vec![]);
    let fails = CountsExpectation {
        spans_total: Some(bound(Some(4), None, None)),
        by_name: vec![("absent".into(), bound(None, Some(5), None))],
        ..holds
    };
    let misses = judge_counts(&fails, &trace());
    assert_eq!(misses.len(), 2, "{misses:?}");
    assert!(
        misses[0]
            .message
            .contains("spans_total: expected {gte=4}, was 3")
    );
    assert!(
        misses[1]
            .message
            .contains("by_name `absent`: no span has that name")
    );
}

#[test]
fn status_all_and_by_name() {
    let by_name = StatusExpectation {
        all: None,
        by_name: vec![("root".into(), SpanStatus::Unset)],
        span: 0..1,
    };
    assert_eq!(judge_status(&by_name, &trace()), vec![]);
    let all_ok = StatusExpectation {
        all: Some(SpanStatus::Ok),
        by_name: vec![("absent".into(), SpanStatus::Ok)],
        span: 0..1,
    };
    let misses = judge_status(&all_ok, &trace());
    assert_eq!(misses.len(), 2, "{misses:?}");
    assert!(misses[0].message.contains("`root` Unset"), "{misses:?}");
    assert!(
        misses[0].message.contains("`http.request` Error"),
        "{misses:?}"
    );
    assert!(misses[1].message.contains("no such span"), "{misses:?}");
}

#[test]
fn what_a_failure_names_does_not_depend_on_the_order_of_the_spans() {
    // GET (span 2) has the event, POST (span 3) the method: each meets one of
    // the two constraints, and the nearest named is the lower id either way.
    let mut both = expect("http.request");
    both.attrs_all = vec![("http.method".into(), "POST".into())];
    both.events_all = vec!["start".into()];
    let forward = trace();
    let mut backward = trace();
    backward.reverse();
    let miss = judge_span(&both, &forward).expect("fails");
    assert_eq!(judge_span(&both, &backward), Some(miss.clone()));
    assert!(miss.message.contains("the nearest (span 2)"), "{miss:?}");
    // The spans of a wrong status, in name order.
    let all_ok = StatusExpectation {
        all: Some(SpanStatus::Ok),
        by_name: vec![],
        span: 0..1,
    };
    let misses = judge_status(&all_ok, &forward);
    assert_eq!(judge_status(&all_ok, &backward), misses);
    assert!(
        misses[0]
            .message
            .ends_with("found `http.request` Error, `root` Unset"),
        "{misses:?}"
    );
}

#[test]
fn a_parent_is_found_in_its_own_trace() {
    // Two traces reuse span id 1 (ids are unique within a trace only).
    let mut other_root = span("1", "other.root", None);
    other_root.trace_id = "u".into();
    let mut child = span("2", "child", Some("1"));
    child.trace_id = "u".into();
    let spans = [span("1", "root", None), other_root, child];
    let mut wants = expect("child");
    wants.parent = Some("other.root".into());
    assert_eq!(judge_span(&wants, &spans), None);
    let mut reversed = spans.to_vec();
    reversed.reverse();
    assert_eq!(judge_span(&wants, &reversed), None);
}

#[test]
fn status_and_present_attributes_are_constraints_of_the_one_span() {
    let mut failed_post = expect("http.request");
    failed_post.status = Some(SpanStatus::Error);
    failed_post.attrs_present = vec!["http.method".into()];
    assert!(judge_span(&failed_post, &trace()).is_none());
    // The only span with a status code is the GET, which did not fail.
    failed_post.attrs_present.push("http.status_code".into());
    let miss = judge_span(&failed_post, &trace()).expect("no span has both");
    assert!(
        miss.message.contains("NOT met: status ERROR (is Ok)"),
        "{}",
        miss.message
    );
}

#[test]
fn a_count_counts_the_spans_meeting_every_other_constraint() {
    let bound =
        |eq: Option<u64>, gte: Option<u64>, lte: Option<u64>| Some(CountBound { eq, gte, lte });
    let mut requests = expect("http.request");
    requests.count = bound(Some(2), None, None);
    assert!(judge_span(&requests, &trace()).is_none());
    requests.status = Some(SpanStatus::Error);
    requests.count = bound(None, Some(1), Some(1));
    assert!(judge_span(&requests, &trace()).is_none());
    requests.count = bound(Some(0), None, None);
    let miss = judge_span(&requests, &trace()).expect("one failed request");
    assert_eq!(
        miss.message,
        "`[[expect.span]]` `http.request`: expected {eq=0} such spans, found 1 (2 named so)"
    );
    // `count = { eq = 0 }`: a span that must not be there at all.
    let mut none = expect("never");
    none.count = bound(Some(0), None, None);
    assert!(judge_span(&none, &trace()).is_none());
}
