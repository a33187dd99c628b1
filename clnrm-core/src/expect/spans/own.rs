//! Expectations on clnrm's own spans (`clnrm.run`, `clnrm.scenario`,
//! `clnrm.step:<name>`, ...): the original's files name them, also as
//! `clnrm.scenario.<name>` and `clnrm.step.<name>`. Own spans enter only the
//! expectations that name one; the tables about the programs' spans as a
//! whole (totals, `status.all`, hermeticity, `acyclic`) never see them.

use crate::scenario::{
    CountsExpectation, Expectations, GraphExpectation, OrderExpectation, SpanExpectation,
    StatusExpectation, WindowExpectation,
};

/// The prefix of every span clnrm records of itself.
const OWN: &str = "clnrm.";

/// `name` as clnrm names its own spans: `clnrm.step.x` is `clnrm.step:x`,
/// and `clnrm.scenario.<this scenario>` is `clnrm.scenario`.
fn resolve(name: &str, scenario: &str) -> String {
    if let Some(step) = name.strip_prefix("clnrm.step.") {
        return format!("clnrm.step:{step}");
    }
    if name.strip_prefix("clnrm.scenario.") == Some(scenario) {
        return "clnrm.scenario".into();
    }
    name.to_string()
}

fn is_own(name: &str) -> bool {
    name.starts_with(OWN)
}

/// Pairs of span names (graph edges, orders).
type Pairs = Vec<(String, String)>;
/// `by_name` entries: a span name and what is asked of it.
type ByName<T> = Vec<(String, T)>;

/// Pairs of span names: `(naming an own span, resolved; the rest)`.
fn split_pairs(pairs: &[(String, String)], scenario: &str) -> (Pairs, Pairs) {
    let (mine, theirs): (Vec<_>, Vec<_>) =
        (pairs.iter().cloned()).partition(|(a, b)| is_own(a) || is_own(b));
    let mine = (mine.into_iter())
        .map(|(a, b)| (resolve(&a, scenario), resolve(&b, scenario)))
        .collect();
    (mine, theirs)
}

/// `by_name` entries: `(naming an own span, resolved; the rest)`.
fn split_by_name<T: Clone>(entries: &[(String, T)], scenario: &str) -> (ByName<T>, ByName<T>) {
    let (mine, theirs): (Vec<_>, Vec<_>) =
        (entries.iter().cloned()).partition(|(name, _)| is_own(name));
    let mine = (mine.into_iter())
        .map(|(name, value)| (resolve(&name, scenario), value))
        .collect();
    (mine, theirs)
}

/// `(about the programs' spans only, about clnrm's own spans too)`, the
/// second with its names resolved.
pub(crate) fn split(expect: &Expectations, scenario: &str) -> (Expectations, Expectations) {
    let mut program = expect.clone();
    let mut own = Expectations::default();
    let name = |n: &str| resolve(n, scenario);

    let (mine, theirs): (Vec<SpanExpectation>, _) = (expect.spans.iter().cloned())
        .partition(|e| is_own(&e.name.value) || e.parent.as_deref().is_some_and(is_own));
    program.spans = theirs;
    own.spans = (mine.into_iter())
        .map(|mut e| {
            e.name.value = name(&e.name.value);
            e.parent = e.parent.as_deref().map(name);
            e
        })
        .collect();
    if let Some(graph) = &expect.graph {
        let (include, program_include) = split_pairs(&graph.must_include, scenario);
        let (apart, program_apart) = split_pairs(&graph.must_not_cross, scenario);
        if !include.is_empty() || !apart.is_empty() {
            own.graph = Some(GraphExpectation {
                must_include: include,
                must_not_cross: apart,
                acyclic: None,
                span: graph.span.clone(),
            });
        }
        program.graph = Some(GraphExpectation {
            must_include: program_include,
            must_not_cross: program_apart,
            ..graph.clone()
        });
    }
    if let Some(counts) = &expect.counts {
        let (mine, theirs) = split_by_name(&counts.by_name, scenario);
        if !mine.is_empty() {
            own.counts = Some(CountsExpectation {
                by_name: mine,
                span: counts.span.clone(),
                ..CountsExpectation::default()
            });
        }
        program.counts = Some(CountsExpectation {
            by_name: theirs,
            ..counts.clone()
        });
    }
    let (mine, theirs): (Vec<WindowExpectation>, _) = (expect.windows.iter().cloned())
        .partition(|w| is_own(&w.outer) || w.contains.iter().any(|c| is_own(c)));
    program.windows = theirs;
    own.windows = (mine.into_iter())
        .map(|mut w| {
            w.outer = name(&w.outer);
            w.contains = w.contains.iter().map(|c| name(c)).collect();
            w
        })
        .collect();
    if let Some(order) = &expect.order {
        let (precede, program_precede) = split_pairs(&order.must_precede, scenario);
        let (follow, program_follow) = split_pairs(&order.must_follow, scenario);
        if !precede.is_empty() || !follow.is_empty() {
            own.order = Some(OrderExpectation {
                must_precede: precede,
                must_follow: follow,
                span: order.span.clone(),
            });
        }
        program.order = Some(OrderExpectation {
            must_precede: program_precede,
            must_follow: program_follow,
            ..order.clone()
        });
    }
    if let Some(status) = &expect.status {
        let (mine, theirs) = split_by_name(&status.by_name, scenario);
        if !mine.is_empty() {
            own.status = Some(StatusExpectation {
                all: None,
                by_name: mine,
                span: status.span.clone(),
            });
        }
        program.status = Some(StatusExpectation {
            by_name: theirs,
            ..status.clone()
        });
    }
    (program, own)
}

/// Whether any expectation names an own span, as [`split`] puts it in its
/// second part (without building the parts).
pub(crate) fn names_own(expect: &Expectations) -> bool {
    let pair = |(a, b): &(String, String)| is_own(a) || is_own(b);
    let spans = (expect.spans.iter())
        .any(|e| is_own(&e.name.value) || e.parent.as_deref().is_some_and(is_own));
    let graph =
        (expect.graph.iter()).any(|g| g.must_include.iter().chain(&g.must_not_cross).any(pair));
    let counts = (expect.counts.iter()).any(|c| c.by_name.iter().any(|(n, _)| is_own(n)));
    let windows =
        (expect.windows.iter()).any(|w| is_own(&w.outer) || w.contains.iter().any(|c| is_own(c)));
    let order =
        (expect.order.iter()).any(|o| o.must_precede.iter().chain(&o.must_follow).any(pair));
    let status = (expect.status.iter()).any(|s| s.by_name.iter().any(|(n, _)| is_own(n)));
    spans || graph || counts || windows || order || status
}

/// Whether any check is left in `expect` (a split can leave empty tables).
pub(crate) fn has_checks(expect: &Expectations) -> bool {
    let graph = (expect.graph.iter())
        .any(|g| !g.must_include.is_empty() || !g.must_not_cross.is_empty() || g.acyclic.is_some());
    let counts = (expect.counts.iter()).any(|c| {
        c.spans_total.is_some()
            || c.events_total.is_some()
            || c.errors_total.is_some()
            || !c.by_name.is_empty()
    });
    let order =
        (expect.order.iter()).any(|o| !o.must_precede.is_empty() || !o.must_follow.is_empty());
    let status = (expect.status.iter()).any(|s| s.all.is_some() || !s.by_name.is_empty());
    !expect.spans.is_empty()
        || graph
        || counts
        || !expect.windows.is_empty()
        || order
        || status
        || expect.hermeticity.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{CountBound, Spanned};

    #[test]
    fn own_names_are_resolved_and_the_rest_stays_with_the_programs() {
        let expect = Expectations {
            spans: vec![
                SpanExpectation {
                    name: Spanned::new("clnrm.step.fetch".into(), 0..0),
                    parent: Some("clnrm.scenario.s".into()),
                    ..SpanExpectation::default()
                },
                SpanExpectation {
                    name: Spanned::new("checkout".into(), 0..0),
                    parent: Some("clnrm.step:fetch".into()),
                    ..SpanExpectation::default()
                },
            ],
            counts: Some(CountsExpectation {
                spans_total: Some(CountBound {
                    eq: Some(4),
                    ..CountBound::default()
                }),
                by_name: vec![("clnrm.run".into(), CountBound::default())],
                ..CountsExpectation::default()
            }),
            ..Expectations::default()
        };
        let (program, own) = split(&expect, "s");
        assert!(names_own(&expect) && names_own(&own) && !names_own(&program));
        assert_eq!(own.spans[0].name.value, "clnrm.step:fetch");
        assert_eq!(own.spans[0].parent.as_deref(), Some("clnrm.scenario"));
        // A program span whose parent is a step names an own span too.
        assert_eq!(own.spans[1].name.value, "checkout");
        assert!(program.spans.is_empty());
        let counts = program.counts.expect("totals stay");
        assert!(counts.spans_total.is_some() && counts.by_name.is_empty());
        let own_counts = own.counts.expect("by name");
        assert!(own_counts.spans_total.is_none());
        assert_eq!(own_counts.by_name[0].0, "clnrm.run");
        // Another scenario's alias stays as written: no span has it here.
        assert_eq!(resolve("clnrm.scenario.other", "s"), "clnrm.scenario.other");
    }
}
