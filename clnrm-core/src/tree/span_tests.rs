//! Tests of span trees: built from spans, diffed with moves, read strictly.

use std::sync::Arc;

use super::*;
use crate::spans::{Attributes, Event, Kind, Span, Status, to_otlp_json_lines};

/// A span `name` with id `id` under `parent` (ids are per test, traces `t`),
/// starting at `start`.
fn span(name: &str, id: &str, parent: Option<&str>, start: u64) -> Span {
    Span {
        trace_id: "t".into(),
        span_id: id.into(),
        parent_span_id: parent.map(str::to_owned),
        name: name.into(),
        kind: Kind::Internal,
        status: Status::Unset,
        start_unix_nano: Some(start),
        end_unix_nano: Some(start + 10),
        attributes: Attributes::new(),
        events: Vec::new(),
        resource: Arc::default(),
    }
}

fn with_attr(mut s: Span, key: &str, value: &str) -> Span {
    s.attributes.insert(key.into(), value.into());
    s
}

/// `checkout` with `payment.charge` (and its `db.query`) and two `http.get`.
fn checkout() -> Vec<Span> {
    vec![
        span("checkout", "1", None, 100),
        with_attr(span("payment.charge", "2", Some("1"), 110), "amount", "10"),
        span("db.query", "3", Some("2"), 120),
        span("http.get", "5", Some("1"), 140),
        span("http.get", "4", Some("1"), 130),
    ]
}

fn ids(list: &[NodeChange]) -> Vec<&str> {
    list.iter().map(|c| c.id.as_str()).collect()
}

fn all_ids(tree: &ExpectationTree) -> Vec<&str> {
    tree.nodes().iter().map(|n| n.id.as_str()).collect()
}

/// [`diff_with_moves`] of the trees of `old` and `new`.
fn diff_spans(old: &[Span], new: &[Span]) -> TreeDiff {
    diff_with_moves(
        &ExpectationTree::from_spans(old),
        &ExpectationTree::from_spans(new),
    )
}

#[test]
fn ids_are_name_paths_with_siblings_in_start_order() {
    let tree = ExpectationTree::from_spans(&checkout());
    assert_eq!(
        all_ids(&tree),
        [
            SPAN_ROOT,
            "checkout",
            "checkout/payment.charge",
            "checkout/payment.charge/db.query",
            "checkout/http.get",
            "checkout/http.get#2",
        ]
    );
    // `http.get` with span id 4 started first, so it is the one without `#2`.
    let first = tree.find("checkout/http.get").expect("node");
    assert_eq!(first.kind, NodeKind::Span);
    assert_eq!(first.label, "span http.get");
    let charge = tree.find("checkout/payment.charge").expect("node");
    assert_eq!(charge.fields["attr.amount"], r#""10""#);
    assert_eq!(charge.fields["kind"], "internal");
    assert_eq!(charge.fields["status"], "unset");
}

#[test]
fn other_span_and_trace_ids_and_times_are_no_change() {
    let renamed: Vec<Span> = checkout()
        .into_iter()
        .map(|mut s| {
            s.trace_id = "another".into();
            s.span_id = format!("x{}", s.span_id);
            s.parent_span_id = s.parent_span_id.map(|p| format!("x{p}"));
            s.start_unix_nano = s.start_unix_nano.map(|t| t * 3);
            s.end_unix_nano = None;
            s
        })
        .collect();
    let d = diff_spans(&checkout(), &renamed);
    assert!(d.is_empty(), "{d}");
}

#[test]
fn a_changed_attribute_is_named_with_both_values() {
    let mut new = checkout();
    new[1] = with_attr(new[1].clone(), "amount", "12");
    new[1].status = Status::Error;
    let d = diff_spans(&checkout(), &new);
    assert_eq!(ids(&d.changed), ["checkout/payment.charge"]);
    assert_eq!(
        d.to_string(),
        "~ checkout/payment.charge (attr.amount: \"10\" -> \"12\", status: unset -> error)\n"
    );
}

#[test]
fn an_added_span_and_its_child_show_as_one_line() {
    let mut new = checkout();
    new.push(span("fraud.check", "6", Some("2"), 125));
    new.push(span("score", "7", Some("6"), 126));
    let d = diff_spans(&checkout(), &new);
    assert_eq!(
        ids(&d.added),
        [
            "checkout/payment.charge/fraud.check",
            "checkout/payment.charge/fraud.check/score"
        ]
    );
    assert_eq!(d.to_string(), "+ checkout/payment.charge/fraud.check\n");
    let back = diff_spans(&new, &checkout());
    assert_eq!(back.to_string(), "- checkout/payment.charge/fraud.check\n");
}

#[test]
fn a_span_under_another_parent_is_moved_with_its_subtree() {
    let mut new = checkout();
    // `payment.charge` (with its `db.query`) now runs inside the first `http.get`.
    new[1].parent_span_id = Some("4".into());
    new[1].start_unix_nano = Some(135);
    new[2].start_unix_nano = Some(136);
    new[2] = with_attr(new[2].clone(), "rows", "3");
    let d = diff_spans(&checkout(), &new);
    assert!(d.added.is_empty() && d.removed.is_empty(), "{d}");
    assert_eq!(ids(&d.moved), ["checkout/http.get/payment.charge"]);
    assert_eq!(
        d.moved[0].old_parent.as_ref().map(NodeId::as_str),
        Some("checkout")
    );
    // The child's own change is reported under its new path.
    assert_eq!(
        ids(&d.changed),
        ["checkout/http.get/payment.charge/db.query"]
    );
    assert_eq!(
        d.to_string(),
        "~ checkout/http.get/payment.charge/db.query (attr.rows: (none) -> \"3\")\n\
         > checkout/http.get/payment.charge moved from checkout\n"
    );
    // Plain `diff` (watch's) sees the same as removed and added.
    let plain = diff(
        &ExpectationTree::from_spans(&checkout()),
        &ExpectationTree::from_spans(&new),
    );
    assert_eq!(plain.removed.len(), 2);
    assert_eq!(plain.added.len(), 2);
}

#[test]
fn a_span_whose_parent_is_missing_is_a_root_and_cycles_do_not_hang() {
    let spans = vec![
        span("orphan", "1", Some("gone"), 1),
        span("a", "2", Some("3"), 2),
        span("b", "3", Some("2"), 3),
        span("self", "4", Some("4"), 4),
    ];
    let tree = ExpectationTree::from_spans(&spans);
    assert_eq!(all_ids(&tree), [SPAN_ROOT, "orphan", "self", "a", "a/b"]);
}

#[test]
fn repeated_roots_and_unnamed_spans_get_unique_ids() {
    let mut spans: Vec<Span> = (0..1000)
        .map(|i| span("req", &i.to_string(), None, i))
        .collect();
    spans.push(span("", "x", None, 2000));
    spans.push(span("req#2", "y", None, 2001));
    let tree = ExpectationTree::from_spans(&spans);
    let ids = all_ids(&tree);
    assert_eq!(&ids[..3], [SPAN_ROOT, "req", "req#2"]);
    assert_eq!(ids[1000], "req#1000");
    assert_eq!(&ids[1001..], ["(unnamed)", "req#2#2"]);
    assert_eq!(tree.root.label, "1002 spans");
}

#[test]
fn events_are_counted_and_resources_sit_where_they_start() {
    let shop = Arc::new(Attributes::from([("service.name".into(), "shop".into())]));
    let bank = Arc::new(Attributes::from([("service.name".into(), "bank".into())]));
    let mut spans = checkout();
    for s in &mut spans {
        s.resource = Arc::clone(&shop);
    }
    spans[1].resource = Arc::clone(&bank);
    let retry = || Event {
        name: "retry".into(),
        ..Event::default()
    };
    spans[3].events = vec![retry(), retry()];
    let tree = ExpectationTree::from_spans(&spans);
    let fields = |id: &str| tree.find(id).expect("node").fields.clone();
    assert_eq!(fields("checkout")["resource.service.name"], r#""shop""#);
    assert_eq!(
        fields("checkout/payment.charge")["resource.service.name"],
        r#""bank""#
    );
    assert!(!fields("checkout/http.get").contains_key("resource.service.name"));
    assert_eq!(fields("checkout/http.get#2")["event.retry"], "2");
}

#[test]
fn a_trace_written_as_otlp_json_lines_reads_back_strictly() {
    let text = to_otlp_json_lines(&checkout());
    let spans = read_span_file(&text).expect("reads");
    assert_eq!(spans, checkout());
    // A pretty-printed document, and an array of span objects.
    let pretty = serde_json::to_string_pretty(
        &serde_json::from_str::<serde_json::Value>(text.trim()).expect("json"),
    )
    .expect("pretty");
    assert_eq!(read_span_file(&pretty).expect("pretty reads"), checkout());
    let array = r#"[{"name":"a","spanId":"1"},
        {"name":"b","spanId":"2","parentSpanId":"1"}]"#;
    let names: Vec<String> = (read_span_file(array).expect("array"))
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(read_span_file("\n  \n"), Ok(Vec::new()));
}

#[test]
fn the_first_bad_line_is_an_error_with_its_place() {
    let good = r#"{"name":"a","spanId":"1"}"#;
    let text = format!("{good}\n\n{{\"name\": oops}}\n{good}\n");
    let e = read_span_file(&text).expect_err("line 3 is no JSON");
    assert_eq!((e.line, e.column), (3, Some(10)));
    assert!(
        matches!(&e.kind, SpanFileErrorKind::NotJson(m) if m == "expected value"),
        "{e}"
    );
    let e = read_span_file(&format!("{good}\n{{\"level\":\"info\"}}\n")).expect_err("no span");
    assert_eq!((e.line, e.kind), (2, SpanFileErrorKind::NotSpans));
    let e = read_span_file("{\n  \"resourceSpans\": [\n    oops\n").expect_err("document");
    assert_eq!(e.line, 3);
    let e = read_span_file("[{\"name\":\"a\",\"spanId\":\"1\"}, 3]").expect_err("item");
    assert_eq!(e.kind, SpanFileErrorKind::ItemNotSpans(2));
}

#[test]
fn a_place_in_a_span_file_is_one_the_file_has() {
    // serde puts an end of input after the final newline on a line 4 the
    // file does not have: it is reported at the end of line 3.
    let e = read_span_file("{\n  \"resourceSpans\": [\n  {\"a\": 1}\n").expect_err("cut short");
    assert_eq!((e.line, e.column), (3, Some(11)), "{e}");
    // serde counts bytes: `é` is two of them, one character.
    let e = read_span_file("{\"name\": \"é\", oops}").expect_err("a bare word");
    assert_eq!((e.line, e.column), (1, Some(15)), "{e}");
    let e = read_span_file("[\n{\"name\": \"é\", oops}]").expect_err("a bare word");
    assert_eq!((e.line, e.column), (2, Some(15)), "{e}");
}

#[test]
fn span_files_are_told_from_scenario_files_by_their_start() {
    for json in [
        "{\"resourceSpans\":[]}",
        "  \n{ \"name\": 1 }",
        "{}",
        "[{",
        "[ ]",
    ] {
        assert!(looks_like_span_file(json), "{json}");
    }
    for toml in [
        "[meta]\nname = \"x\"",
        "[[scenario]]",
        "[\"quoted\"]",
        "{% import \"m.tera\" as m %}",
        "{{ header }}",
        "{# note #}",
        "# comment\n{\"name\":1}",
        "",
    ] {
        assert!(!looks_like_span_file(toml), "{toml}");
    }
}

/// `checkout` with three `http.request` (to paths `/a`, `/b`, `/c`, each
/// with a `dns` below it), started 10 apart from 110.
fn retries() -> Vec<Span> {
    let mut spans = vec![span("checkout", "1", None, 100)];
    for (k, path) in ["/a", "/b", "/c"].into_iter().enumerate() {
        let (id, start) = (format!("r{k}"), 110 + 10 * k as u64);
        let request = span("http.request", &id, Some("1"), start);
        spans.push(with_attr(request, "path", path));
        spans.push(span("dns", &format!("d{k}"), Some(&id), start + 1));
    }
    spans
}

#[test]
fn a_repeat_inserted_in_the_middle_is_one_added_span() {
    let mut new = retries();
    let retry = span("http.request", "x", Some("1"), 115);
    new.push(with_attr(retry, "path", "/a"));
    let d = diff_spans(&retries(), &new);
    assert_eq!(ids(&d.added), ["checkout/http.request#4"], "{d}");
    assert!(d.removed.is_empty() && d.changed.is_empty() && d.moved.is_empty());
    assert_eq!(d.to_string(), "+ checkout/http.request#4\n");
    assert_eq!(
        d.added[0].parent.as_ref().map(NodeId::as_str),
        Some("checkout")
    );
    // Before the first one it is the same.
    new.last_mut().expect("retry").start_unix_nano = Some(105);
    assert_eq!(
        diff_spans(&retries(), &new).to_string(),
        "+ checkout/http.request#4\n"
    );
}

#[test]
fn repeats_started_the_other_way_round_are_no_change() {
    let mut new = retries();
    // The first and the last request (with their `dns`) swap start times.
    for (a, b) in [(1, 5), (2, 6)] {
        let (x, y) = (new[a].start_unix_nano, new[b].start_unix_nano);
        (new[a].start_unix_nano, new[b].start_unix_nano) = (y, x);
    }
    let d = diff_spans(&retries(), &new);
    assert!(d.is_empty(), "{d}");
}

#[test]
fn an_edited_repeat_is_one_change_with_its_fields() {
    let mut new = retries();
    new[3] = with_attr(new[3].clone(), "path", "/B");
    new[3].status = Status::Error;
    let d = diff_spans(&retries(), &new);
    assert_eq!(
        d.to_string(),
        "~ checkout/http.request#2 (attr.path: \"/b\" -> \"/B\", status: unset -> error)\n"
    );
    // An edit below a repeat is the change of that one node.
    let mut new = retries();
    new[4] = with_attr(new[4].clone(), "rows", "3");
    let d = diff_spans(&retries(), &new);
    assert_eq!(ids(&d.changed), ["checkout/http.request#2/dns"], "{d}");
    assert!(d.added.is_empty() && d.removed.is_empty() && d.moved.is_empty());
}

#[test]
fn a_repeat_removed_from_the_middle_is_one_removed_span() {
    let mut new = retries();
    new.drain(3..5);
    let d = diff_spans(&retries(), &new);
    assert_eq!(
        ids(&d.removed),
        ["checkout/http.request#2", "checkout/http.request#2/dns"]
    );
    assert!(d.added.is_empty() && d.changed.is_empty() && d.moved.is_empty());
    assert_eq!(d.to_string(), "- checkout/http.request#2\n");
}

#[test]
fn ten_thousand_repeats_with_an_insertion_and_an_edit() {
    let repeats = |skip: usize| -> Vec<Span> {
        let mut spans = vec![span("checkout", "root", None, 0)];
        for k in 0..10_000u64 {
            let s = span("query", &format!("q{k}"), Some("root"), 10 + 2 * k);
            spans.push(with_attr(s, "n", &(k % 7).to_string()));
        }
        spans.truncate(spans.len() - skip);
        spans
    };
    let mut new = repeats(0);
    new.push(with_attr(
        span("query", "x", Some("root"), 10_001),
        "n",
        "x",
    ));
    new[9_000] = with_attr(new[9_000].clone(), "n", "edited");
    let d = diff_spans(&repeats(0), &new);
    assert_eq!(ids(&d.added), ["checkout/query#10001"], "{d}");
    assert_eq!(ids(&d.changed), ["checkout/query#9000"], "{d}");
    assert!(d.removed.is_empty() && d.moved.is_empty(), "{d}");
    // Nothing in common past the first: the rest pairs in order.
    let mut new = repeats(1);
    for s in &mut new[2..] {
        s.attributes.insert("n".into(), "other".into());
    }
    let d = diff_spans(&repeats(0), &new);
    assert_eq!(d.changed.len(), 9_998);
    assert_eq!(ids(&d.removed), ["checkout/query#10000"]);
    assert!(d.added.is_empty() && d.moved.is_empty());
}
