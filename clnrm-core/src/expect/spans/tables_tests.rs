//! Known answers for the tables about the spans as a whole.

use crate::scenario::{
    GraphExpectation, HermeticityExpectation, OrderExpectation, WindowExpectation,
};
use crate::spans::Span;

use super::Index;
use super::tables::{judge_graph, judge_hermeticity, judge_order, judge_window};

/// `(id, name, parent, start, end)` in trace `t`.
fn spans(list: &[(&str, &str, Option<&str>, u64, u64)]) -> Vec<Span> {
    list.iter()
        .map(|(id, name, parent, start, end)| Span {
            trace_id: "t".into(),
            span_id: (*id).into(),
            parent_span_id: parent.map(String::from),
            name: (*name).into(),
            start_unix_nano: Some(*start),
            end_unix_nano: Some(*end),
            ..Span::default()
        })
        .collect()
}

/// `root` [0, 100] with `a` [10, 20] then `b` [30, 40], and `c` [90, 150]
/// sticking out.
fn trace() -> Vec<Span> {
    spans(&[
        ("1", "root", None, 0, 100),
        ("2", "a", Some("1"), 10, 20),
        ("3", "b", Some("1"), 30, 40),
        ("4", "c", Some("3"), 90, 150),
    ])
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| ((*a).into(), (*b).into()))
        .collect()
}

#[test]
fn graph_edges_crossings_and_cycles() {
    let all = trace();
    let index = Index::new(&all);
    let holds = GraphExpectation {
        must_include: pairs(&[("root", "a"), ("b", "c")]),
        must_not_cross: pairs(&[("a", "b")]),
        acyclic: Some(true),
        span: 0..1,
    };
    assert_eq!(judge_graph(&holds, &index), vec![]);
    let fails = GraphExpectation {
        must_include: pairs(&[("a", "c")]),
        must_not_cross: pairs(&[("c", "b")]),
        ..holds
    };
    let misses = judge_graph(&fails, &index);
    assert_eq!(misses.len(), 2, "{misses:?}");
    assert!(misses[0].message.contains("no span `c` has a parent `a`"));
    assert!(misses[0].actual.as_deref() == Some("its parents: `b`"));
    assert!(misses[1].message.contains("are parent and child"));
    let looped = spans(&[("1", "x", Some("2"), 0, 1), ("2", "y", Some("1"), 0, 1)]);
    let acyclic = GraphExpectation {
        acyclic: Some(true),
        ..GraphExpectation::default()
    };
    let misses = judge_graph(&acyclic, &Index::new(&looped));
    assert!(
        misses[0].message.contains("is its own ancestor"),
        "{misses:?}"
    );
}

#[test]
fn windows_hold_every_occurrence_in_time() {
    let all = trace();
    let index = Index::new(&all);
    let window = |outer: &str, contains: &[&str]| WindowExpectation {
        outer: outer.into(),
        contains: contains.iter().map(|s| (*s).into()).collect(),
        span: 0..1,
    };
    assert_eq!(judge_window(&window("root", &["a", "b"]), &index), vec![]);
    let misses = judge_window(&window("root", &["c", "absent"]), &index);
    assert_eq!(misses.len(), 2, "{misses:?}");
    assert!(misses[0].message.contains("1 of 1 outside"), "{misses:?}");
    assert!(
        misses[1].message.contains("no span of that name"),
        "{misses:?}"
    );
    let misses = judge_window(&window("nope", &["a"]), &index);
    assert!(
        misses[0]
            .message
            .contains("outer `nope`: no span has that name")
    );
}

#[test]
fn order_compares_ends_and_starts_within_a_trace() {
    let all = trace();
    let index = Index::new(&all);
    let order = |precede: &[(&str, &str)], follow: &[(&str, &str)]| OrderExpectation {
        must_precede: pairs(precede),
        must_follow: pairs(follow),
        span: 0..1,
    };
    assert_eq!(
        judge_order(&order(&[("a", "b")], &[("b", "a")]), &index),
        vec![]
    );
    let misses = judge_order(&order(&[("b", "a"), ("a", "absent")], &[]), &index);
    assert_eq!(misses.len(), 2, "{misses:?}");
    assert!(
        misses[0]
            .message
            .contains("1 of 1 `a` start before any `b` ends")
    );
    assert!(misses[1].message.contains("no span `absent`"));
    // Spans of another trace do not order each other.
    let mut split = trace();
    split[1].trace_id = "other".into();
    let misses = judge_order(&order(&[("a", "b")], &[]), &Index::new(&split));
    assert_eq!(misses.len(), 1, "{misses:?}");
}

#[test]
fn hermeticity_peers_resources_and_forbidden_keys() {
    let mut all = trace();
    all[1]
        .attributes
        .insert("url.full".into(), "http://db:5432/x".into());
    all[2]
        .attributes
        .insert("server.address".into(), "127.0.0.1".into());
    all[3]
        .attributes
        .insert("net.peer.name".into(), "example.com".into());
    let resource: crate::spans::Attributes =
        [("service.name".to_string(), "shop".to_string())].into();
    let resource = std::sync::Arc::new(resource);
    for span in &mut all {
        span.resource = resource.clone();
    }
    let index = Index::new(&all);
    let hermetic = HermeticityExpectation {
        no_external_services: Some(true),
        resource_attrs_must_match: pairs(&[("service.name", "shop")]),
        span_attrs_forbid_keys: vec!["password".into()],
        span: 0..1,
    };
    let services = ["db".to_string()];
    let misses = judge_hermeticity(&hermetic, &index, &services);
    assert_eq!(misses.len(), 1, "{misses:?}");
    assert!(
        misses[0].message.contains("`c` -> example.com"),
        "{misses:?}"
    );
    let strict = HermeticityExpectation {
        no_external_services: None,
        resource_attrs_must_match: pairs(&[("service.name", "api")]),
        span_attrs_forbid_keys: vec!["net.peer.name".into()],
        span: 0..1,
    };
    let misses = judge_hermeticity(&strict, &index, &services);
    assert_eq!(misses.len(), 2, "{misses:?}");
    assert!(misses[0].message.contains("found shop"), "{misses:?}");
    assert!(
        misses[1].message.contains("`net.peer.name` is on c"),
        "{misses:?}"
    );
}

#[test]
fn the_span_in_a_cycle_and_the_spans_with_a_key_are_named_whatever_their_order() {
    // Two cycles, z -> x -> y -> z and w <-> v: the lowest id is named.
    let mut forward = spans(&[
        ("3", "z", Some("2"), 0, 1),
        ("5", "v", Some("4"), 0, 1),
        ("1", "x", Some("3"), 0, 1),
        ("2", "y", Some("1"), 0, 1),
        ("4", "w", Some("5"), 0, 1),
    ]);
    for at in [0, 2, 4] {
        forward[at].attributes.insert("k".into(), "1".into());
    }
    let mut backward = forward.clone();
    backward.reverse();
    let acyclic = GraphExpectation {
        acyclic: Some(true),
        ..GraphExpectation::default()
    };
    let forbid = HermeticityExpectation {
        span_attrs_forbid_keys: vec!["k".into()],
        ..HermeticityExpectation::default()
    };
    let judged = |all: &[Span]| {
        let index = Index::new(all);
        let mut misses = judge_graph(&acyclic, &index);
        misses.extend(judge_hermeticity(&forbid, &index, &[]));
        misses
    };
    let misses = judged(&forward);
    assert_eq!(judged(&backward), misses);
    assert!(
        misses[0]
            .message
            .contains("span `x` (1) is its own ancestor"),
        "{misses:?}"
    );
    assert!(
        misses[1].message.ends_with("`k` is on w, x, z"),
        "{misses:?}"
    );
}
