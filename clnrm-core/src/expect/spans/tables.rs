//! The tables about the spans as a whole: `[expect.graph]`,
//! `[[expect.window]]`, `[expect.order]`, `[expect.hermeticity]`.
//!
//! Where a name occurs more than once:
//! - a window holds when every span named in `contains` lies, in time, within
//!   some span named `outer` of the same trace;
//! - `must_precede [a, b]` holds when every `b` starts after some `a` of its
//!   trace ended (`must_follow [a, b]` is `must_precede [b, a]`);
//! - a name that matches no span fails, and so does a span without both
//!   timestamps where time is compared.

use crate::scenario::{
    GraphExpectation, HermeticityExpectation, OrderExpectation, WindowExpectation,
};
use crate::spans::Span;

use super::{Index, SpanMiss};

fn miss(
    at: &std::ops::Range<usize>,
    message: String,
    expected: String,
    actual: String,
) -> SpanMiss {
    SpanMiss {
        at: at.clone(),
        message,
        expected: Some(expected),
        actual: Some(actual),
    }
}

fn parent_of<'s>(span: &Span, index: &Index<'s>) -> Option<&'s Span> {
    let parent = span.parent_span_id.as_deref()?;
    (index.by_id.get(&(span.trace_id.as_str(), parent))).copied()
}

fn named<'i, 's>(index: &'i Index<'s>, name: &str) -> &'i [&'s Span] {
    index.by_name.get(name).map_or(&[], Vec::as_slice)
}

pub(super) fn judge_graph(graph: &GraphExpectation, index: &Index<'_>) -> Vec<SpanMiss> {
    let mut misses = Vec::new();
    let edge = |parent: &str, child: &str| {
        named(index, child)
            .iter()
            .any(|c| parent_of(c, index).is_some_and(|p| p.name == parent))
    };
    for (parent, child) in &graph.must_include {
        if !edge(parent, child) {
            misses.push(miss(
                &graph.span,
                format!("`[expect.graph]` must_include: no span `{child}` has a parent `{parent}`"),
                format!("an edge `{parent}` -> `{child}`"),
                describe_parents(named(index, child), index),
            ));
        }
    }
    for (a, b) in &graph.must_not_cross {
        if edge(a, b) || edge(b, a) {
            misses.push(miss(
                &graph.span,
                format!(
                    "`[expect.graph]` must_not_cross: spans `{a}` and `{b}` are parent and child"
                ),
                format!("no edge between `{a}` and `{b}`"),
                "an edge between them".into(),
            ));
        }
    }
    if graph.acyclic == Some(true)
        && let Some(span) = in_a_cycle(index)
    {
        misses.push(miss(
            &graph.span,
            format!(
                "`[expect.graph]` acyclic: span `{}` ({}) is its own ancestor",
                span.name, span.span_id
            ),
            "no cycle".into(),
            "a cycle of parent ids".into(),
        ));
    }
    misses
}

/// A span whose chain of parents comes back to it: of all such, the one
/// with the lowest span id (then trace id, then name), so that the span named
/// never depends on the order the spans arrived in.
fn in_a_cycle<'s>(index: &Index<'s>) -> Option<&'s Span> {
    let key = |s: &&'s Span| (s.span_id.as_str(), s.trace_id.as_str(), s.name.as_str());
    let in_cycle = index.all.iter().filter(|start| {
        let mut current = parent_of(start, index);
        // A chain longer than the set of spans has repeated itself.
        for _ in 0..index.all.len() {
            match current {
                Some(span) if span.span_id == start.span_id => return true,
                Some(span) => current = parent_of(span, index),
                None => return false,
            }
        }
        false
    });
    in_cycle.min_by(|a, b| key(a).cmp(&key(b)))
}

fn describe_parents(children: &[&Span], index: &Index<'_>) -> String {
    if children.is_empty() {
        return "no span of that name".into();
    }
    let mut parents: Vec<String> = children
        .iter()
        .map(|c| parent_of(c, index).map_or("none".into(), |p| format!("`{}`", p.name)))
        .collect();
    parents.sort();
    parents.dedup();
    format!("its parents: {}", parents.join(", "))
}

fn times(span: &Span) -> Option<(u64, u64)> {
    Some((span.start_unix_nano?, span.end_unix_nano?))
}

pub(super) fn judge_window(window: &WindowExpectation, index: &Index<'_>) -> Vec<SpanMiss> {
    let outers = named(index, &window.outer);
    if outers.is_empty() {
        return vec![miss(
            &window.span,
            format!(
                "`[[expect.window]]` outer `{}`: no span has that name",
                window.outer
            ),
            format!("a span `{}`", window.outer),
            "none".into(),
        )];
    }
    let mut misses = Vec::new();
    for name in &window.contains {
        let inner = named(index, name);
        let outside: Vec<&&Span> = inner
            .iter()
            .filter(|span| {
                let Some((start, end)) = times(span) else {
                    return true;
                };
                !outers.iter().any(|o| {
                    o.trace_id == span.trace_id
                        && times(o).is_some_and(|(os, oe)| os <= start && end <= oe)
                })
            })
            .collect();
        if inner.is_empty() || !outside.is_empty() {
            let actual = if inner.is_empty() {
                "no span of that name".to_string()
            } else {
                format!(
                    "{} of {} outside (or without timestamps)",
                    outside.len(),
                    inner.len()
                )
            };
            misses.push(miss(
                &window.span,
                format!(
                    "`[[expect.window]]` `{name}` within `{}`: {actual}",
                    window.outer
                ),
                format!("every `{name}` within a `{}` of its trace", window.outer),
                actual,
            ));
        }
    }
    misses
}

pub(super) fn judge_order(order: &OrderExpectation, index: &Index<'_>) -> Vec<SpanMiss> {
    let pairs = (order
        .must_precede
        .iter()
        .map(|(a, b)| (a, b, "must_precede")))
    .chain(order.must_follow.iter().map(|(a, b)| (b, a, "must_follow")));
    let mut misses = Vec::new();
    for (first, then, key) in pairs {
        let (befores, afters) = (named(index, first), named(index, then));
        let late: Vec<&&Span> = afters
            .iter()
            .filter(|after| {
                let Some(start) = after.start_unix_nano else {
                    return true;
                };
                !befores.iter().any(|b| {
                    b.trace_id == after.trace_id && b.end_unix_nano.is_some_and(|end| end <= start)
                })
            })
            .collect();
        if befores.is_empty() || afters.is_empty() || !late.is_empty() {
            let actual = match (befores.is_empty(), afters.is_empty()) {
                (true, _) => format!("no span `{first}`"),
                (_, true) => format!("no span `{then}`"),
                _ => format!(
                    "{} of {} `{then}` start before any `{first}` ends",
                    late.len(),
                    afters.len()
                ),
            };
            misses.push(miss(
                &order.span,
                format!("`[expect.order]` {key}: `{first}` before `{then}`: {actual}"),
                format!("every `{then}` starts after a `{first}` of its trace ended"),
                actual,
            ));
        }
    }
    misses
}

/// `allowed`: the hosts a span may talk to (the scenario's services, the
/// receiver); loopback is always allowed.
pub(super) fn judge_hermeticity(
    hermeticity: &HermeticityExpectation,
    index: &Index<'_>,
    allowed: &[String],
) -> Vec<SpanMiss> {
    let mut misses = Vec::new();
    let at = &hermeticity.span;
    if hermeticity.no_external_services == Some(true) {
        let mut external: Vec<String> = index
            .all
            .iter()
            .flat_map(|s| peers(s).into_iter().map(move |peer| (s, peer)))
            .filter(|(_, peer)| !is_loopback(peer) && !allowed.iter().any(|a| a == peer))
            .map(|(s, peer)| format!("`{}` -> {peer}", s.name))
            .collect();
        external.sort();
        external.dedup();
        if !external.is_empty() {
            misses.push(miss(
                at,
                format!(
                    "`[expect.hermeticity]` no_external_services: spans talk to {}",
                    external.join(", ")
                ),
                "peers among the scenario's services and loopback".into(),
                external.join(", "),
            ));
        }
    }
    for (key, value) in &hermeticity.resource_attrs_must_match {
        let wrong: Vec<String> = (index.all.iter())
            .map(|s| {
                s.resource
                    .get(key)
                    .cloned()
                    .unwrap_or_else(|| "(absent)".into())
            })
            .filter(|v| v != value)
            .collect();
        if index.all.is_empty() || !wrong.is_empty() {
            let mut found = wrong.clone();
            found.sort();
            found.dedup();
            misses.push(miss(
                at,
                format!(
                    "`[expect.hermeticity]` resource_attrs.must_match {key} = {value:?}: found {}",
                    found.join(", ")
                ),
                format!("{key} = {value:?} on every resource"),
                found.join(", "),
            ));
        }
    }
    for key in &hermeticity.span_attrs_forbid_keys {
        let mut carrying: Vec<&str> = (index.all.iter())
            .filter(|s| s.attributes.contains_key(key))
            .map(|s| s.name.as_str())
            .collect();
        // In name order, each once: the spans' arrival order is no part of a verdict.
        carrying.sort_unstable();
        carrying.dedup();
        if !carrying.is_empty() {
            misses.push(miss(
                at,
                format!(
                    "`[expect.hermeticity]` span_attrs.forbid_keys: `{key}` is on {}",
                    carrying.join(", ")
                ),
                format!("no span with `{key}`"),
                carrying.join(", "),
            ));
        }
    }
    misses
}

/// The hosts a span names as its peer.
fn peers(span: &Span) -> Vec<String> {
    let mut found: Vec<String> = ["server.address", "net.peer.name"]
        .iter()
        .filter_map(|key| span.attributes.get(*key).cloned())
        .collect();
    if let Some(url) = span
        .attributes
        .get("url.full")
        .or_else(|| span.attributes.get("http.url"))
    {
        let after_scheme = url.split("://").nth(1).unwrap_or(url);
        let authority = after_scheme
            .split(['/', '?', '#'])
            .next()
            .unwrap_or_default();
        let host = authority.rsplit('@').next().unwrap_or_default();
        let host = match host.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or_default(),
            None => host.split(':').next().unwrap_or_default(),
        };
        if !host.is_empty() {
            found.push(host.to_string());
        }
    }
    found
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}
