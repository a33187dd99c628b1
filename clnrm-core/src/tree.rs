//! A scenario file as a tree of stable ids with canonical field texts, and a
//! set-based diff between two such trees (for `watch` and `diff`).
//!
//! Byte spans never enter the tree, so edits that only move text around or touch
//! comments produce an empty diff.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::time::Duration;

use serde::Serialize;

use crate::scenario::{
    Backend, Expectations, HeaderShape, ImageBuild, ImageSource, ScenarioFile, ScenarioShape,
    Service, SpanKind, SpanStatus, Spanned, Step,
};

/// A node's identity across edits: derived from names, never from positions or spans.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct NodeId(pub String);

impl NodeId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a node stands for, so consumers can filter without parsing ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeKind {
    File,
    Header,
    Service,
    Scenario,
    Step,
    SpanExpectation,
    GraphExpectation,
    CountsExpectation,
    WindowExpectation,
    OrderExpectation,
    StatusExpectation,
    HermeticityExpectation,
    Assertion,
    Limits,
    Otel,
    Report,
    Determinism,
}

/// One node; `fields` holds the canonical text of every semantic field so that
/// comparing two nodes is comparing two maps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Node {
    pub id: NodeId,
    pub kind: NodeKind,
    pub label: String,
    pub fields: BTreeMap<String, String>,
    /// In declaration order.
    pub children: Vec<Node>,
}

/// The shape of one scenario file as seen by `watch` and `diff`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExpectationTree {
    pub root: Node,
}

impl ExpectationTree {
    /// Builds the tree; repeated names get `#2`, `#3`, ... so every id is unique.
    pub fn from_file(file: &ScenarioFile) -> ExpectationTree {
        Builder::default().file(file)
    }

    /// Every node, parents before children, in declaration order.
    pub fn nodes(&self) -> Vec<&Node> {
        let mut out = Vec::new();
        let mut stack = vec![&self.root];
        while let Some(node) = stack.pop() {
            out.push(node);
            stack.extend(node.children.iter().rev());
        }
        out
    }

    pub fn find(&self, id: &str) -> Option<&Node> {
        self.nodes().into_iter().find(|n| n.id.as_str() == id)
    }
}

/// Canonical field texts: strings and lists as JSON, numbers and booleans bare;
/// absent options and empty lists are left out.
#[derive(Default)]
struct Fields(BTreeMap<String, String>);

impl Fields {
    fn raw(self, key: &str, value: impl fmt::Display) -> Self {
        self.opt_raw(key, Some(value))
    }
    fn opt_raw(mut self, key: &str, value: Option<impl fmt::Display>) -> Self {
        if let Some(v) = value {
            self.0.insert(key.to_owned(), v.to_string());
        }
        self
    }
    fn text(self, key: &str, value: &str) -> Self {
        self.raw(key, json(value))
    }
    fn opt_text(self, key: &str, value: Option<impl AsRef<str>>) -> Self {
        self.opt_raw(key, value.map(|v| json(v.as_ref())))
    }
    fn list<T: Serialize>(self, key: &str, items: &[T]) -> Self {
        self.opt_raw(key, (!items.is_empty()).then(|| json(items)))
    }
    /// `K=V` items: readable, and keeps order and duplicates.
    fn kv(self, key: &str, pairs: &[(String, String)]) -> Self {
        let items: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        self.list(key, &items)
    }
    fn ms(self, key: &str, value: Option<&Duration>) -> Self {
        self.opt_raw(key, value.map(Duration::as_millis))
    }
    fn build(self, build: Option<&ImageBuild>) -> Self {
        let Some(b) = build else { return self };
        self.text("build.context", &b.context.value)
            .opt_text("build.dockerfile", b.dockerfile.as_ref())
    }
}

fn json<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

fn val<T>(value: &Option<Spanned<T>>) -> Option<&T> {
    value.as_ref().map(|s| &s.value)
}

/// Hands out ids, unique within one tree.
#[derive(Default)]
struct Builder {
    used: HashSet<String>,
}

impl Builder {
    /// Id `prefix` or `prefix:name`, with `#2`, `#3`, ... for repeats.
    fn node(&mut self, kind: NodeKind, prefix: &str, name: Option<&str>, f: Fields) -> Node {
        let (base, label) = match name {
            Some(n) => {
                let noun = prefix.rsplit('/').next().unwrap_or(prefix);
                (format!("{prefix}:{n}"), format!("{noun} {n}"))
            }
            None => (prefix.to_owned(), prefix.to_owned()),
        };
        let mut id = base.clone();
        for n in 2.. {
            if !self.used.contains(&id) {
                break;
            }
            id = format!("{base}#{n}");
        }
        self.used.insert(id.clone());
        let (fields, children) = (f.0, Vec::new());
        Node {
            id: NodeId(id),
            kind,
            label,
            fields,
            children,
        }
    }

    fn file(mut self, file: &ScenarioFile) -> ExpectationTree {
        let h = &file.header;
        let mut out = Vec::new();
        let shape = match h.shape {
            HeaderShape::Meta => "meta",
            HeaderShape::TestMetadata => "test.metadata",
        };
        let backend = match h.backend {
            Backend::Container => "container",
            Backend::Local => "local",
        };
        let f = Fields::default()
            .text("name", &h.name.value)
            .text("shape", shape)
            .opt_text("version", h.version.as_ref())
            .opt_text("description", h.description.as_ref())
            .list("tags", &h.tags)
            .ms("timeout_ms", val(&h.timeout))
            .opt_text("ignore", h.ignore.as_ref())
            .opt_text("image", val(&h.image))
            .build(h.build.as_ref())
            .text("backend", backend)
            .raw("strict", h.strict);
        out.push(self.node(NodeKind::Header, "header", None, f));
        for s in &file.services {
            out.push(self.service(s));
        }
        for s in &file.scenarios {
            let shape = match s.shape {
                ScenarioShape::TopLevelSteps => "top_level_steps",
                ScenarioShape::Explicit => "explicit",
            };
            let collect: Vec<&String> = s.collect.iter().map(|c| &c.value).collect();
            let f = Fields::default()
                .text("shape", shape)
                .opt_text("service", val(&s.service))
                .ms("timeout_ms", val(&s.timeout))
                .raw("concurrent", s.concurrent)
                .list("collect", &collect)
                .opt_text("expect_failure", s.expect_failure.as_ref());
            let mut node = self.node(NodeKind::Scenario, "scenario", Some(&s.name), f);
            let prefix = format!("{}/step", node.id);
            node.children = s.steps.iter().map(|s| self.step(&prefix, s)).collect();
            out.push(node);
        }
        self.expectations(&file.expect, &mut out);
        for a in &file.assertions {
            let f = Fields::default().raw("value", &a.value);
            out.push(self.node(NodeKind::Assertion, "assertion", Some(&a.key), f));
        }
        if let Some(l) = &file.limits {
            let f = Fields::default()
                .opt_raw("cpu_millicores", l.cpu_millicores)
                .opt_raw("memory_mb", l.memory_mb);
            out.push(self.node(NodeKind::Limits, "limits", None, f));
        }
        if let Some(o) = &file.otel {
            let f = Fields::default()
                .opt_text("exporter", o.exporter.as_ref())
                .opt_text("endpoint", o.endpoint.as_ref())
                .opt_text("protocol", o.protocol.as_ref())
                .opt_raw("sample_ratio", o.sample_ratio)
                .kv("resources", &o.resources)
                .kv("headers", &o.headers);
            out.push(self.node(NodeKind::Otel, "otel", None, f));
        }
        if let Some(r) = &file.report {
            let f = Fields::default()
                .opt_text("json", r.json.as_ref())
                .opt_text("junit", r.junit.as_ref())
                .opt_text("digest", r.digest.as_ref());
            out.push(self.node(NodeKind::Report, "report", None, f));
        }
        if let Some(d) = &file.determinism {
            let f = Fields::default()
                .opt_raw("seed", d.seed)
                .opt_text("freeze_clock", d.freeze_clock.as_ref());
            out.push(self.node(NodeKind::Determinism, "determinism", None, f));
        }
        let mut root = self.node(NodeKind::File, "file", None, Fields::default());
        root.label = format!("file {}", h.name.value);
        root.children = out;
        ExpectationTree { root }
    }

    fn service(&mut self, s: &Service) -> Node {
        let ports: Vec<String> = (s.ports.iter())
            .map(|p| match p.value.host {
                Some(host) => format!("{host}:{}", p.value.container),
                None => p.value.container.to_string(),
            })
            .collect();
        let volumes: Vec<String> = (s.volumes.iter())
            .map(|v| {
                let ro = if v.read_only { ":ro" } else { "" };
                format!("{}:{}{ro}", v.host_path, v.container_path)
            })
            .collect();
        let mut f = Fields::default().text("plugin", &s.plugin.value);
        f = match &s.image {
            Some(ImageSource::Image(image)) => f.text("image", &image.value),
            Some(ImageSource::Build(build)) => f.build(Some(build)),
            None => f,
        };
        f = f.list("args", &s.args).kv("env", &s.env);
        f = f.list("ports", &ports).list("volumes", &volumes);
        if let Some(h) = &s.health_check {
            f = f
                .list("health_check.cmd", &h.cmd)
                .ms("health_check.interval_ms", h.interval.as_ref())
                .ms("health_check.timeout_ms", h.timeout.as_ref())
                .opt_raw("health_check.retries", h.retries);
        }
        f = f.opt_text("wait_for_span", s.wait_for_span.as_ref());
        self.node(NodeKind::Service, "service", Some(&s.id), f)
    }

    fn step(&mut self, prefix: &str, s: &Step) -> Node {
        let f = Fields::default()
            .list("command", &s.command.value)
            .opt_text("service", val(&s.service))
            .kv("env", &s.env)
            .opt_text("workdir", s.workdir.as_ref())
            .opt_text("stdin", s.stdin.as_ref())
            .raw("expected_exit_code", s.expected_exit_code)
            .opt_text("expected_output_regex", val(&s.expected_output_regex))
            .opt_text("expected_stderr_regex", val(&s.expected_stderr_regex))
            .list("stdout_contains", &s.stdout_contains)
            .list("stdout_not_contains", &s.stdout_not_contains)
            .raw("continue_on_failure", s.continue_on_failure)
            .ms("timeout_ms", val(&s.timeout));
        self.node(NodeKind::Step, prefix, Some(&s.name), f)
    }

    fn expectations(&mut self, e: &Expectations, out: &mut Vec<Node>) {
        for s in &e.spans {
            let f = Fields::default()
                .text("name", &s.name.value)
                .opt_text("parent", s.parent.as_ref())
                .opt_text("kind", s.kind.map(SpanKind::as_str))
                .kv("attrs.all", &s.attrs_all)
                .kv("attrs.any", &s.attrs_any)
                .list("events.all", &s.events_all)
                .list("events.any", &s.events_any)
                .opt_raw("duration_ms.min", s.duration_ms_min)
                .opt_raw("duration_ms.max", s.duration_ms_max);
            out.push(self.node(NodeKind::SpanExpectation, "expect.span", Some(&s.name), f));
        }
        if let Some(g) = &e.graph {
            let f = Fields::default()
                .list("must_include", &g.must_include)
                .list("must_not_cross", &g.must_not_cross)
                .opt_raw("acyclic", g.acyclic);
            out.push(self.node(NodeKind::GraphExpectation, "expect.graph", None, f));
        }
        if let Some(c) = &e.counts {
            let by_name: Vec<String> = c.by_name.iter().map(|(n, b)| format!("{n}={b}")).collect();
            let f = Fields::default()
                .opt_raw("spans_total", c.spans_total)
                .opt_raw("events_total", c.events_total)
                .opt_raw("errors_total", c.errors_total)
                .list("by_name", &by_name);
            out.push(self.node(NodeKind::CountsExpectation, "expect.counts", None, f));
        }
        for w in &e.windows {
            let f = Fields::default()
                .text("outer", &w.outer)
                .list("contains", &w.contains);
            let kind = NodeKind::WindowExpectation;
            out.push(self.node(kind, "expect.window", Some(&w.outer), f));
        }
        if let Some(o) = &e.order {
            let f = Fields::default()
                .list("must_precede", &o.must_precede)
                .list("must_follow", &o.must_follow);
            out.push(self.node(NodeKind::OrderExpectation, "expect.order", None, f));
        }
        if let Some(s) = &e.status {
            let by_name: Vec<String> = s
                .by_name
                .iter()
                .map(|(n, st)| format!("{n}={}", st.as_str()))
                .collect();
            let f = Fields::default()
                .opt_text("all", s.all.map(SpanStatus::as_str))
                .list("by_name", &by_name);
            out.push(self.node(NodeKind::StatusExpectation, "expect.status", None, f));
        }
        if let Some(h) = &e.hermeticity {
            let f = Fields::default()
                .opt_raw("no_external_services", h.no_external_services)
                .kv("resource_attrs_must_match", &h.resource_attrs_must_match)
                .list("span_attrs_forbid_keys", &h.span_attrs_forbid_keys);
            let kind = NodeKind::HermeticityExpectation;
            out.push(self.node(kind, "expect.hermeticity", None, f));
        }
    }
}

/// One field that differs; `None` means the field is absent on that side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    pub field: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// One node in a diff list; which list it is in says what happened to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeChange {
    pub id: NodeId,
    pub kind: NodeKind,
    pub label: String,
    /// The parent in the new tree (the old tree for removed nodes).
    pub parent: Option<NodeId>,
    /// Only for moved nodes whose parent changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_parent: Option<NodeId>,
    /// Only for changed nodes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldChange>,
}

/// What changed between two trees, each list in tree order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TreeDiff {
    pub added: Vec<NodeChange>,
    pub removed: Vec<NodeChange>,
    pub changed: Vec<NodeChange>,
    pub moved: Vec<NodeChange>,
}

impl TreeDiff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.changed.is_empty()
            && self.moved.is_empty()
    }
}

/// Compact: a node added or removed together with its parent is implied by the
/// parent's line and not repeated (the lists themselves stay complete).
impl fmt::Display for TreeDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return writeln!(f, "(no changes)");
        }
        for (sign, list) in [('-', &self.removed), ('+', &self.added)] {
            let ids: HashSet<&NodeId> = list.iter().map(|c| &c.id).collect();
            for c in list {
                if c.parent.as_ref().is_none_or(|p| !ids.contains(p)) {
                    writeln!(f, "{sign} {}", c.id)?;
                }
            }
        }
        for c in &self.changed {
            let parts: Vec<String> = c
                .fields
                .iter()
                .map(|fc| {
                    let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".into());
                    format!("{}: {} -> {}", fc.field, show(&fc.old), show(&fc.new))
                })
                .collect();
            writeln!(f, "~ {} ({})", c.id, parts.join(", "))?;
        }
        for c in &self.moved {
            match &c.old_parent {
                Some(old) => writeln!(f, "> {} moved from {old}", c.id)?,
                None => writeln!(f, "> {} moved", c.id)?,
            }
        }
        Ok(())
    }
}

/// A node flattened: its parent, its index among its siblings, its pre-order rank.
struct Flat<'a> {
    node: &'a Node,
    parent: Option<&'a NodeId>,
    index: usize,
    rank: usize,
}

type FlatMap<'a> = HashMap<&'a NodeId, Flat<'a>>;

fn flatten(tree: &ExpectationTree) -> FlatMap<'_> {
    let mut out = HashMap::new();
    let mut stack = vec![(&tree.root, None, 0)];
    while let Some((node, parent, index)) = stack.pop() {
        let rank = out.len();
        out.insert(
            &node.id,
            Flat {
                node,
                parent,
                index,
                rank,
            },
        );
        let kids = node.children.iter().enumerate().rev();
        stack.extend(kids.map(|(i, c)| (c, Some(&node.id), i)));
    }
    out
}

fn change(flat: &Flat<'_>) -> NodeChange {
    NodeChange {
        id: flat.node.id.clone(),
        kind: flat.node.kind,
        label: flat.node.label.clone(),
        parent: flat.parent.cloned(),
        old_parent: None,
        fields: Vec::new(),
    }
}

fn field_changes(old: &Node, new: &Node) -> Vec<FieldChange> {
    let keys: BTreeSet<&String> = old.fields.keys().chain(new.fields.keys()).collect();
    let change = |k: &String| FieldChange {
        field: k.clone(),
        old: old.fields.get(k).cloned(),
        new: new.fields.get(k).cloned(),
    };
    keys.into_iter()
        .map(change)
        .filter(|c| c.old != c.new)
        .collect()
}

/// Compares the id sets of two trees: ids only in `new` are added, only in `old`
/// removed, in both with different fields changed. A node is moved when its parent
/// changed, or when it is outside the longest run of common siblings that kept
/// their relative order (so one step moved to the front reports just that step).
pub fn diff(old: &ExpectationTree, new: &ExpectationTree) -> TreeDiff {
    let (old_map, new_map) = (flatten(old), flatten(new));
    let mut out = TreeDiff::default();
    for (id, n) in &new_map {
        let Some(o) = old_map.get(id) else {
            out.added.push(change(n));
            continue;
        };
        let fields = field_changes(o.node, n.node);
        if !fields.is_empty() {
            out.changed.push(NodeChange {
                fields,
                ..change(n)
            });
        }
        if o.parent != n.parent {
            let old_parent = o.parent.cloned();
            out.moved.push(NodeChange {
                old_parent,
                ..change(n)
            });
        }
    }
    let gone = old_map.iter().filter(|(id, _)| !new_map.contains_key(*id));
    out.removed.extend(gone.map(|(_, o)| change(o)));
    // Reordering among the children that stayed under the same parent.
    for o in old_map
        .values()
        .filter(|o| new_map.contains_key(&o.node.id))
    {
        let same_parent = |n: &&Flat<'_>| n.parent == Some(&o.node.id);
        let common: Vec<&Flat<'_>> = (o.node.children.iter())
            .filter_map(|c| new_map.get(&c.id))
            .filter(same_parent)
            .collect();
        let positions: Vec<usize> = common.iter().map(|n| n.index).collect();
        let keep = longest_increasing(&positions);
        let reordered = common.iter().enumerate().filter(|(i, _)| !keep.contains(i));
        out.moved.extend(reordered.map(|(_, n)| change(n)));
    }
    let rank = |map: &FlatMap<'_>, c: &NodeChange| map.get(&c.id).map(|f| f.rank);
    out.removed.sort_by_key(|c| rank(&old_map, c));
    for list in [&mut out.added, &mut out.changed, &mut out.moved] {
        list.sort_by_key(|c| rank(&new_map, c));
    }
    out
}

/// Indices of one longest strictly increasing subsequence (patience sorting).
fn longest_increasing(values: &[usize]) -> HashSet<usize> {
    let mut tails: Vec<usize> = Vec::new();
    let mut prev: Vec<Option<usize>> = vec![None; values.len()];
    for (i, &v) in values.iter().enumerate() {
        let at = tails.partition_point(|&t| values[t] < v);
        prev[i] = at.checked_sub(1).map(|p| tails[p]);
        if at == tails.len() {
            tails.push(i);
        } else {
            tails[at] = i;
        }
    }
    let mut keep = HashSet::new();
    let mut cursor = tails.last().copied();
    while let Some(i) = cursor {
        keep.insert(i);
        cursor = prev[i];
    }
    keep
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::parse_scenario;

    fn tree(text: &str) -> ExpectationTree {
        let file = parse_scenario(text).file.expect("TOML parses");
        ExpectationTree::from_file(&file)
    }

    /// One scenario `s` with steps that run `echo <name>`.
    fn steps(names: &[&str]) -> String {
        let mut text = "[meta]\nname = \"demo\"\n[[scenario]]\nname = \"s\"\n".to_owned();
        for n in names {
            text += &format!("[[scenario.steps]]\nname = \"{n}\"\ncommand = [\"echo\", \"{n}\"]\n");
        }
        text
    }

    fn ids(list: &[NodeChange]) -> Vec<&str> {
        list.iter().map(|c| c.id.as_str()).collect()
    }

    #[test]
    fn identical_trees_have_an_empty_diff() {
        let base = steps(&["a", "b", "c"]);
        let d = diff(&tree(&base), &tree(&base));
        assert!(d.is_empty(), "{d}");
        assert_eq!(d.to_string(), "(no changes)\n");
    }

    #[test]
    fn tree_has_ids_in_declaration_order() {
        let t = tree(&steps(&["a", "b", "c"]));
        let s = t.find("scenario:s").expect("scenario node");
        let kids: Vec<&str> = s.children.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(
            kids,
            [
                "scenario:s/step:a",
                "scenario:s/step:b",
                "scenario:s/step:c"
            ]
        );
        let a = &s.children[0];
        assert_eq!((a.kind, a.label.as_str()), (NodeKind::Step, "step a"));
        assert_eq!(a.fields["command"], r#"["echo","a"]"#);
        assert_eq!(a.fields["expected_exit_code"], "0");
        assert!(t.find("header").is_some());
    }

    #[test]
    fn added_and_removed_steps() {
        let (abc, ac) = (tree(&steps(&["a", "b", "c"])), tree(&steps(&["a", "c"])));
        let d = diff(&abc, &ac);
        assert_eq!(ids(&d.removed), ["scenario:s/step:b"]);
        assert!(
            d.added.is_empty() && d.changed.is_empty() && d.moved.is_empty(),
            "{d}"
        );
        assert_eq!(d.to_string(), "- scenario:s/step:b\n");
        let d = diff(&ac, &abc);
        assert_eq!(ids(&d.added), ["scenario:s/step:b"]);
        assert!(
            d.removed.is_empty() && d.changed.is_empty() && d.moved.is_empty(),
            "{d}"
        );
        assert_eq!(d.to_string(), "+ scenario:s/step:b\n");
    }

    #[test]
    fn changed_field_reports_name_and_values() {
        let old = steps(&["a"]);
        let new = old.replace(r#"["echo", "a"]"#, r#"["echo", "z"]"#);
        let d = diff(&tree(&old), &tree(&new));
        assert_eq!(ids(&d.changed), ["scenario:s/step:a"]);
        let expected = FieldChange {
            field: "command".into(),
            old: Some(r#"["echo","a"]"#.into()),
            new: Some(r#"["echo","z"]"#.into()),
        };
        assert_eq!(d.changed[0].fields, [expected]);
        let shown = r#"~ scenario:s/step:a (command: ["echo","a"] -> ["echo","z"])"#;
        assert_eq!(d.to_string(), format!("{shown}\n"));
        let json = serde_json::to_value(&d).expect("serializes");
        assert_eq!(json["changed"][0]["fields"][0]["field"], "command");
    }

    #[test]
    fn reordered_step_is_moved() {
        let d = diff(
            &tree(&steps(&["a", "b", "c"])),
            &tree(&steps(&["c", "a", "b"])),
        );
        assert_eq!(ids(&d.moved), ["scenario:s/step:c"]);
        assert!(d.added.is_empty() && d.removed.is_empty() && d.changed.is_empty());
        assert_eq!(d.to_string(), "> scenario:s/step:c moved\n");
    }

    #[test]
    fn repeated_span_names_get_distinct_ids() {
        let spans = "[[expect.span]]\nname = \"http\"\n[[expect.span]]\nname = \"http\"\nkind = \"server\"\n";
        let t = tree(&format!("{}{spans}", steps(&["a"])));
        let first = t.find("expect.span:http").expect("first");
        let second = t.find("expect.span:http#2").expect("second");
        assert!(!first.fields.contains_key("kind"));
        assert_eq!(second.fields["kind"], r#""server""#);
    }

    #[test]
    fn comment_only_change_is_an_empty_diff() {
        let commented = r#"
# a file comment
[meta]
name = "demo"   # the name

[[scenario]]
# the only scenario
name = "s"
[[scenario.steps]]
name = "a"
command = ["echo",   "a"] # trailing
[[scenario.steps]]
name = "b"
command = [
  "echo",
  "b",
]
"#;
        let d = diff(&tree(&steps(&["a", "b"])), &tree(commented));
        assert!(d.is_empty(), "{d}");
    }

    #[test]
    fn removed_scenario_lists_children_but_displays_compactly() {
        let other = steps(&["a"]).replace("name = \"s\"", "name = \"t\"");
        let d = diff(&tree(&steps(&["a", "b", "c"])), &tree(&other));
        assert_eq!(d.removed.len(), 4);
        assert_eq!(d.to_string(), "- scenario:s\n+ scenario:t\n");
    }

    #[test]
    fn longest_increasing_keeps_the_unmoved_run() {
        assert_eq!(longest_increasing(&[2, 0, 1]), HashSet::from([1, 2]));
        assert!(longest_increasing(&[]).is_empty());
    }
}
