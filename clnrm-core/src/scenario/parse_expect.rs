//! `[expect.*]` tables, and the older `[otel_validation]` mapped onto them.

use toml::de::DeValue;

use super::expect::*;
use super::reader::TableReader;
use super::value::ValueRef;
use crate::diagnostic::{Code, Diagnostic};

pub(crate) fn read_expect(value: &ValueRef<'_, '_>) -> Expectations {
    let mut expect = Expectations::default();
    let Some(mut t) = value.table() else {
        return expect;
    };
    if let Some(list) = t.get("span") {
        expect.spans = tables_of(&list)
            .iter()
            .filter_map(|v| read_span(v, false))
            .collect();
    }
    expect.graph = t.get("graph").and_then(|v| read_graph(&v));
    expect.counts = t.get("counts").and_then(|v| read_counts(&v));
    if let Some(list) = t.get("window") {
        expect.windows = tables_of(&list).iter().filter_map(read_window).collect();
    }
    expect.order = t.get("order").and_then(|v| read_order(&v));
    expect.status = t.get("status").and_then(|v| read_status(&v));
    expect.hermeticity = t.get("hermeticity").and_then(|v| read_hermeticity(&v));
    t.finish();
    expect
}

/// `[[x]]` (an array of tables) or a single `[x]` table.
fn tables_of<'t, 'i>(value: &ValueRef<'t, 'i>) -> Vec<ValueRef<'t, 'i>> {
    match value.value {
        DeValue::Table(_) => vec![value.clone()],
        _ => value.array().unwrap_or_default(),
    }
}

/// `older` accepts the original's spellings inside `[[otel_validation.expected_spans]]`.
fn read_span(value: &ValueRef<'_, '_>, older: bool) -> Option<SpanExpectation> {
    let mut t = value.table()?;
    let name = t.required_string("name");
    let parent = t.string("parent").map(|s| s.value);
    let kind_value = if older {
        t.get("kind").or_else(|| t.get("span_kind"))
    } else {
        t.get("kind")
    };
    let kind = kind_value.and_then(|v| {
        let text = v.string()?;
        let kind = SpanKind::parse(&text.value);
        if kind.is_none() {
            v.diags.push(
                v.invalid(
                    Code::InvalidValue,
                    format!("unknown span kind `{}`", text.value),
                )
                .with_help(format!("use one of: {}", SpanKind::NAMES.join(", "))),
            );
        }
        kind
    });
    let mut span = SpanExpectation {
        parent,
        kind,
        span: value.span(),
        ..SpanExpectation::default()
    };
    if let Some(mut attrs) = t.get("attrs").and_then(|v| v.table()) {
        span.attrs_all = attrs
            .get("all")
            .and_then(|v| v.string_map())
            .unwrap_or_default();
        span.attrs_any = attrs
            .get("any")
            .and_then(|v| v.string_map())
            .unwrap_or_default();
        attrs.finish();
    }
    span.status = t.get("status").and_then(|v| read_status_value(&v));
    span.count = t.get("count").and_then(|v| read_span_count(&v));
    if older {
        read_older_span_keys(&mut t, &mut span);
        if let Some(attributes) = t.get("attributes") {
            span.attrs_all
                .extend(attributes.string_map().unwrap_or_default());
        }
        // The original's `required = false` made a span optional, which checks nothing.
        if let Some(required) = t.get("required")
            && required.bool() == Some(false)
        {
            t.diags().push(
                Diagnostic::warning(
                    Code::NotSupportedYet,
                    "`required = false` expects nothing; the span is checked as required",
                )
                .at(required.span()),
            );
        }
    }
    if let Some(mut events) = t.get("events").and_then(|v| v.table()) {
        span.events_all = strings(events.string_list("all"));
        span.events_any = strings(events.string_list("any"));
        events.finish();
    }
    if let Some(mut duration) = t.get("duration_ms").and_then(|v| v.table()) {
        span.duration_ms_min = duration.get("min").and_then(|v| v.unsigned::<u64>());
        span.duration_ms_max = duration.get("max").and_then(|v| v.unsigned::<u64>());
        if let (Some(min), Some(max)) = (span.duration_ms_min, span.duration_ms_max)
            && min > max
        {
            duration.diags().push(
                Diagnostic::error(
                    Code::InvalidValue,
                    format!("`duration_ms.min` ({min}) is greater than `max` ({max})"),
                )
                .at(duration.span()),
            );
        }
        duration.finish();
    }
    t.finish();
    span.name = name?;
    Some(span)
}

/// A span's `count`: `{ eq | gte | lte = N }`, or `N` (exactly N, as the
/// original's `[[otel_validation.expected_spans]]` write it).
fn read_span_count(value: &ValueRef<'_, '_>) -> Option<CountBound> {
    match value.value {
        DeValue::Integer(_) => value.unsigned::<u64>().map(|n| CountBound {
            eq: Some(n),
            ..CountBound::default()
        }),
        _ => read_bound(value),
    }
}

/// `[[otel_validation.expected_spans]]`'s own keys: `min_duration_ms`,
/// `max_duration_ms` (milliseconds, fractions allowed) and
/// `required_attributes` (names, as a list or as `{ attributes = [...] }`).
fn read_older_span_keys(t: &mut TableReader<'_, '_>, span: &mut SpanExpectation) {
    let millis = |v: ValueRef<'_, '_>| {
        let ms = v.float()?;
        if ms < 0.0 || !ms.is_finite() {
            v.diags.push(v.invalid(
                Code::InvalidValue,
                format!("`{}` must be a non-negative number", v.path()),
            ));
            return None;
        }
        Some(ms)
    };
    // Whole milliseconds, widened outwards: a bound never gets stricter.
    span.duration_ms_min = t
        .get("min_duration_ms")
        .and_then(millis)
        .map(|ms| ms.floor() as u64);
    span.duration_ms_max = t
        .get("max_duration_ms")
        .and_then(millis)
        .map(|ms| ms.ceil() as u64);
    if let (Some(min), Some(max)) = (span.duration_ms_min, span.duration_ms_max)
        && min > max
    {
        t.diags().push(
            Diagnostic::error(
                Code::InvalidValue,
                format!("`min_duration_ms` ({min}) is greater than `max_duration_ms` ({max})"),
            )
            .at(t.key_span("min_duration_ms").unwrap_or(t.span())),
        );
    }
    if let Some(required) = t.get("required_attributes") {
        let names = match required.value {
            DeValue::Table(_) => required.table().and_then(|mut table| {
                let names = table.string_list("attributes");
                if !table.has("attributes") {
                    table.missing("attributes");
                }
                table.finish();
                names
            }),
            _ => required.string_list(),
        };
        span.attrs_present = strings(names);
    }
}

fn strings(list: Option<Vec<super::spanned::Spanned<String>>>) -> Vec<String> {
    list.unwrap_or_default()
        .into_iter()
        .map(|s| s.value)
        .collect()
}

/// `[[a, b], ...]`: pairs of span names.
fn read_pairs(value: Option<ValueRef<'_, '_>>) -> Vec<(String, String)> {
    let Some(value) = value else {
        return Vec::new();
    };
    let Some(items) = value.array() else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| {
            let list = item.string_list()?;
            match <[_; 2]>::try_from(list) {
                Ok([a, b]) => Some((a.value, b.value)),
                Err(list) => {
                    item.diags.push(item.invalid(
                        Code::WrongType,
                        format!(
                            "`{}` must be a pair [\"a\", \"b\"], found {} names",
                            item.path(),
                            list.len()
                        ),
                    ));
                    None
                }
            }
        })
        .collect()
}

fn read_graph(value: &ValueRef<'_, '_>) -> Option<GraphExpectation> {
    let mut t = value.table()?;
    let graph = GraphExpectation {
        must_include: read_pairs(t.get("must_include")),
        must_not_cross: read_pairs(t.get("must_not_cross")),
        acyclic: t.bool("acyclic"),
        span: value.span(),
    };
    t.finish();
    Some(graph)
}

fn read_bound(value: &ValueRef<'_, '_>) -> Option<CountBound> {
    let mut t = value.table()?;
    let bound = CountBound {
        gte: t.get("gte").and_then(|v| v.unsigned::<u64>()),
        lte: t.get("lte").and_then(|v| v.unsigned::<u64>()),
        eq: t.get("eq").and_then(|v| v.unsigned::<u64>()),
    };
    if bound == CountBound::default() {
        t.diags().push(
            Diagnostic::error(
                Code::MissingKey,
                format!("`{}` sets no bound", value.path()),
            )
            .at(value.span())
            .with_help("write `{ gte = N }`, `{ lte = N }` or `{ eq = N }`"),
        );
    }
    if let (Some(gte), Some(lte)) = (bound.gte, bound.lte)
        && gte > lte
    {
        t.diags().push(
            Diagnostic::error(
                Code::InvalidValue,
                format!(
                    "`{}`: gte ({gte}) is greater than lte ({lte})",
                    value.path()
                ),
            )
            .at(value.span()),
        );
    }
    t.finish();
    Some(bound)
}

fn read_counts(value: &ValueRef<'_, '_>) -> Option<CountsExpectation> {
    let mut t = value.table()?;
    let counts = counts_from(&mut t, value);
    t.finish();
    Some(counts)
}

fn counts_from(t: &mut TableReader<'_, '_>, value: &ValueRef<'_, '_>) -> CountsExpectation {
    let by_name = read_by_name(t, read_bound);
    CountsExpectation {
        spans_total: t.get("spans_total").and_then(|v| read_bound(&v)),
        events_total: t.get("events_total").and_then(|v| read_bound(&v)),
        errors_total: t.get("errors_total").and_then(|v| read_bound(&v)),
        by_name,
        span: value.span(),
    }
}

/// A `by_name` table: span name -> a value read with `read`; entries that
/// do not read are reported by `read` and left out.
fn read_by_name<T>(
    t: &mut TableReader<'_, '_>,
    read: impl Fn(&ValueRef<'_, '_>) -> Option<T>,
) -> Vec<(String, T)> {
    t.get("by_name")
        .and_then(|v| v.table())
        .map(|mut names| {
            let list = names
                .entries()
                .into_iter()
                .filter_map(|(name, value)| Some((name.value, read(&value)?)))
                .collect();
            names.finish();
            list
        })
        .unwrap_or_default()
}

fn read_window(value: &ValueRef<'_, '_>) -> Option<WindowExpectation> {
    let mut t = value.table()?;
    let outer = t.required_string("outer");
    let contains = strings(t.string_list("contains"));
    if !t.has("contains") {
        t.missing("contains");
    }
    t.finish();
    Some(WindowExpectation {
        outer: outer?.value,
        contains,
        span: value.span(),
    })
}

fn read_order(value: &ValueRef<'_, '_>) -> Option<OrderExpectation> {
    let mut t = value.table()?;
    let order = OrderExpectation {
        must_precede: read_pairs(t.get("must_precede")),
        must_follow: read_pairs(t.get("must_follow")),
        span: value.span(),
    };
    t.finish();
    Some(order)
}

fn read_status_value(value: &ValueRef<'_, '_>) -> Option<SpanStatus> {
    let text = value.string()?;
    let status = SpanStatus::parse(&text.value);
    if status.is_none() {
        value.diags.push(
            value
                .invalid(
                    Code::InvalidValue,
                    format!("unknown span status `{}`", text.value),
                )
                .with_help(format!("use one of: {}", SpanStatus::NAMES.join(", "))),
        );
    }
    status
}

fn read_status(value: &ValueRef<'_, '_>) -> Option<StatusExpectation> {
    let mut t = value.table()?;
    let all = t.get("all").and_then(|v| read_status_value(&v));
    let by_name = read_by_name(&mut t, read_status_value);
    t.finish();
    Some(StatusExpectation {
        all,
        by_name,
        span: value.span(),
    })
}

fn read_hermeticity(value: &ValueRef<'_, '_>) -> Option<HermeticityExpectation> {
    let mut t = value.table()?;
    let mut hermeticity = HermeticityExpectation {
        no_external_services: t.bool("no_external_services"),
        span: value.span(),
        ..HermeticityExpectation::default()
    };
    if let Some(attrs) = t.get("resource_attrs") {
        // `resource_attrs.must_match = {..}`, or the original's shorthand `[..resource_attrs]` of pairs.
        let has_must_match = matches!(attrs.value, DeValue::Table(table) if table.iter().any(|(k, _)| k.get_ref() == "must_match"));
        if has_must_match {
            if let Some(mut inner) = attrs.table() {
                hermeticity.resource_attrs_must_match = inner
                    .get("must_match")
                    .and_then(|v| v.string_map())
                    .unwrap_or_default();
                inner.finish();
            }
        } else {
            hermeticity.resource_attrs_must_match = attrs.string_map().unwrap_or_default();
        }
    }
    if let Some(mut span_attrs) = t.get("span_attrs").and_then(|v| v.table()) {
        hermeticity.span_attrs_forbid_keys = strings(span_attrs.string_list("forbid_keys"));
        span_attrs.finish();
    }
    t.finish();
    Some(hermeticity)
}

/// The older `[otel_validation]` table, mapped onto the `[expect.*]` checks.
pub(crate) fn read_otel_validation(value: &ValueRef<'_, '_>, expect: &mut Expectations) {
    let Some(mut t) = value.table() else { return };
    let enabled = t.bool("enabled").unwrap_or(true);
    // Switches of the original; every mapped expectation below is checked regardless.
    for switch in [
        "validate_spans",
        "validate_traces",
        "validate_temporal_ordering",
        "validate_cardinality",
        "validate_hermeticity",
        "validate_attributes",
    ] {
        if let Some(v) = t.get(switch) {
            v.bool();
        }
    }
    if let Some(overhead) = t.get("max_overhead_ms") {
        overhead.float();
        t.diags().push(
            Diagnostic::warning(
                Code::NotSupportedYet,
                "`otel_validation.max_overhead_ms` is not checked",
            )
            .at(overhead.span())
            .with_help("remove it; performance claims belong in benchmarks"),
        );
    }
    let mut mapped = Expectations::default();
    if let Some(list) = t.get("expected_spans") {
        mapped.spans = tables_of(&list)
            .iter()
            .filter_map(|v| read_span(v, true))
            .collect();
    }
    if let Some(mut traces) = t.get("expected_traces").and_then(|v| v.table()) {
        let mut graph = GraphExpectation {
            span: traces.span(),
            ..GraphExpectation::default()
        };
        if let Some(list) = traces.get("parent_child") {
            for item in tables_of(&list) {
                // `["parent", "child"]`, as the original's type had it.
                if let DeValue::Array(_) = item.value {
                    match item.string_list().map(<[_; 2]>::try_from) {
                        Some(Ok([parent, child])) => {
                            graph.must_include.push((parent.value, child.value))
                        }
                        Some(Err(_)) => item.diags.push(item.invalid(
                            Code::WrongType,
                            format!("`{}` must be a pair [parent, child]", item.path()),
                        )),
                        None => {}
                    }
                    continue;
                }
                let Some(mut pair) = item.table() else {
                    continue;
                };
                let parent = pair.required_string("parent");
                let child = pair.required_string("child");
                pair.finish();
                if let (Some(parent), Some(child)) = (parent, child) {
                    graph.must_include.push((parent.value, child.value));
                }
            }
        }
        traces.finish();
        mapped.graph = Some(graph);
    }
    if let Some(list) = t.get("temporal_constraints") {
        let mut order = OrderExpectation::default();
        for item in tables_of(&list) {
            if let Some(mut c) = item.table() {
                order.span = item.span();
                read_temporal_constraint(&mut c, &mut order);
                c.finish();
            }
        }
        mapped.order = Some(order);
    }
    if let Some(counts) = t.get("expect_counts")
        && let Some(mut c) = counts.table()
    {
        mapped.counts = Some(counts_from(&mut c, &counts));
        c.finish();
    }
    t.finish();
    if !enabled {
        if !mapped.is_empty() {
            value.diags.push(
                Diagnostic::warning(
                    Code::NotSupportedYet,
                    "`otel_validation.enabled = false`: its expectations are not checked",
                )
                .at(value.span())
                .with_help("remove the disabled expectations, or enable them"),
            );
        }
        return;
    }
    expect.spans.extend(mapped.spans);
    merge(&mut expect.graph, mapped.graph, |a, b| {
        a.must_include.extend(b.must_include);
    });
    merge(&mut expect.order, mapped.order, |a, b| {
        a.must_precede.extend(b.must_precede);
        a.must_follow.extend(b.must_follow);
    });
    match (&expect.counts, mapped.counts) {
        (None, counts) => expect.counts = counts,
        (Some(_), Some(dropped)) => value.diags.push(
            Diagnostic::error(
                Code::ConflictingKeys,
                "both `[expect.counts]` and `[otel_validation.expect_counts]` are set",
            )
            .at(dropped.span)
            .with_help("keep the counts in `[expect.counts]`"),
        ),
        (Some(_), None) => {}
    }
}

/// One `[[otel_validation.temporal_constraints]]` entry, as the original's
/// files write it: `span_name = "a"` with `must_precede = ["b", ...]` (a ends
/// before each starts), `must_follow = [...]`, `must_complete_before = "b"`
/// (the same as preceding it); or, as its docs did, a pair
/// `must_precede = ["a", "b"]` without `span_name`.
fn read_temporal_constraint(c: &mut TableReader<'_, '_>, order: &mut OrderExpectation) {
    let subject = c.string("span_name");
    c.string("reason");
    let constrains = ["must_precede", "must_follow", "must_complete_before"]
        .iter()
        .any(|k| c.has(k));
    if let Some(a) = subject.as_ref().filter(|_| !constrains) {
        c.diags().push(
            Diagnostic::error(Code::MissingKey, format!("the temporal constraint on `{}` constrains nothing", a.value))
                .at(a.span.clone())
                .with_help("add `must_precede = [...]`, `must_follow = [...]` or `must_complete_before = \"...\"`"),
        );
    }
    for key in ["must_precede", "must_follow"] {
        let Some(v) = c.get(key) else { continue };
        let Some(names) = v.string_list() else {
            continue;
        };
        let pairs: Vec<(String, String)> = match (&subject, names.as_slice()) {
            (Some(a), _) => names
                .iter()
                .map(|b| (a.value.clone(), b.value.clone()))
                .collect(),
            (None, [a, b]) => vec![(a.value.clone(), b.value.clone())],
            (None, _) => {
                v.diags.push(
                    v.invalid(
                        Code::MissingKey,
                        format!("`{}` without `span_name` must be a pair of span names", v.path()),
                    )
                    .with_help("name the span the constraint is about: `span_name = \"a\"`, `must_precede = [\"b\", \"c\"]`"),
                );
                continue;
            }
        };
        let target = if key == "must_precede" {
            &mut order.must_precede
        } else {
            &mut order.must_follow
        };
        target.extend(pairs);
    }
    if let Some(then) = c.string("must_complete_before") {
        match &subject {
            Some(a) => order.must_precede.push((a.value.clone(), then.value)),
            None => c.diags().push(
                Diagnostic::error(
                    Code::MissingKey,
                    "`must_complete_before` needs `span_name`, the span that completes first",
                )
                .at(then.span),
            ),
        }
    }
    if let Some(gap) = c.get("max_gap_ms") {
        gap.float();
        c.diags().push(
            Diagnostic::warning(
                Code::NotSupportedYet,
                "`max_gap_ms` is accepted but not checked: only the order is",
            )
            .at(gap.span())
            .with_help(
                "bound the time with `[[expect.window]]` or a span's `duration_ms`, or remove it",
            ),
        );
    }
}

fn merge<T>(target: &mut Option<T>, extra: Option<T>, join: impl FnOnce(&mut T, T)) {
    match (target.as_mut(), extra) {
        (Some(existing), Some(extra)) => join(existing, extra),
        (None, extra) => *target = extra,
        (Some(_), None) => {}
    }
}

#[cfg(test)]
mod tests {
    use crate::diagnostic::Code;
    use crate::scenario::{CountBound, SpanStatus, parse_scenario};

    const HEAD: &str = "[meta]\nname = \"x\"\n[[steps]]\nname = \"a\"\ncommand = [\"true\"]\n";

    #[test]
    fn the_originals_span_keys_become_checks() {
        let text = format!(
            r#"{HEAD}
[[expect.span]]
name = "clnrm.step:chaos"
status = "ERROR"
count = {{ gte = 3, lte = 5 }}

[[otel_validation.expected_spans]]
name = "service.operation"
count = 5
min_duration_ms = 2000
max_duration_ms = 2500.5
[otel_validation.expected_spans.required_attributes]
attributes = ["http.method", "service.name"]

[[otel_validation.expected_spans]]
name = "plain"
required_attributes = ["a"]

[[otel_validation.temporal_constraints]]
span_name = "db.initialize"
must_precede = ["cache.warm", "gateway.request"]
reason = "Database must be ready before any requests"

[[otel_validation.temporal_constraints]]
span_name = "db.initialize"
must_complete_before = "server.start"

[otel_validation.expected_traces]
parent_child = [["root", "db.initialize"]]
"#
        );
        let parsed = parse_scenario(&text);
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        let expect = parsed.file.expect("parsed").expect;
        let [chaos, operation, plain] = &expect.spans[..] else {
            panic!("{:?}", expect.spans);
        };
        assert_eq!(chaos.status, Some(SpanStatus::Error));
        assert_eq!(
            chaos.count,
            Some(CountBound {
                gte: Some(3),
                lte: Some(5),
                eq: None
            })
        );
        assert_eq!(
            operation.count,
            Some(CountBound {
                eq: Some(5),
                ..CountBound::default()
            })
        );
        assert_eq!(
            (operation.duration_ms_min, operation.duration_ms_max),
            (Some(2000), Some(2501))
        );
        assert_eq!(operation.attrs_present, ["http.method", "service.name"]);
        assert_eq!(plain.attrs_present, ["a"]);
        let order = expect.order.expect("order");
        let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
        assert_eq!(
            order.must_precede,
            [
                pair("db.initialize", "cache.warm"),
                pair("db.initialize", "gateway.request"),
                pair("db.initialize", "server.start")
            ]
        );
        assert_eq!(
            expect.graph.expect("graph").must_include,
            [pair("root", "db.initialize")]
        );
    }

    #[test]
    fn a_temporal_constraint_that_says_nothing_or_a_gap_is_said() {
        let codes = |constraint: &str| -> Vec<Code> {
            let text = format!("{HEAD}[[otel_validation.temporal_constraints]]\n{constraint}\n");
            parse_scenario(&text)
                .diagnostics
                .iter()
                .map(|d| d.code)
                .collect()
        };
        assert_eq!(codes("span_name = \"a\""), [Code::MissingKey]);
        assert_eq!(
            codes("must_precede = [\"a\", \"b\", \"c\"]"),
            [Code::MissingKey]
        );
        assert_eq!(
            codes("span_name = \"a\"\nmust_complete_before = \"b\"\nmax_gap_ms = 100"),
            [Code::NotSupportedYet]
        );
    }
}
