//! Building an [`ExpectationTree`] from spans, so two traces diff with the
//! same algorithm as two scenario files.
//!
//! A node's id is the path of span names from its root span
//! (`checkout/payment.charge`), never a span or trace id: two runs of the same
//! program give the same ids. Siblings are in start-time order, and repeated
//! names among them get `#2`, `#3`, ... in that order. A span whose parent is
//! not in the set is a root; the roots of every trace are the children of one
//! synthetic node, [`SPAN_ROOT`].

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::spans::{Attributes, Kind, Span, Status};

use super::node::{ExpectationTree, Node, NodeId, NodeKind};

/// The id of the node above every root span.
pub const SPAN_ROOT: &str = "(root)";

/// The path segment of a span without a name.
const UNNAMED: &str = "(unnamed)";

impl ExpectationTree {
    /// The tree of `spans`: one node per span, with fields `kind`, `status`,
    /// `attr.<key>` (each attribute, as a JSON string), `event.<name>` (how
    /// many events of that name) and, on a root span and on a span whose
    /// resource differs from its parent's, `resource.<key>`. Times, ids and
    /// event attributes are left out.
    pub fn from_spans(spans: &[Span]) -> ExpectationTree {
        SpanForest::new(spans).tree()
    }
}

/// The spans linked by parent ids, each list of children in start-time order.
struct SpanForest<'a> {
    spans: &'a [Span],
    parents: Vec<Option<usize>>,
    children: Vec<Vec<usize>>,
    roots: Vec<usize>,
}

impl<'a> SpanForest<'a> {
    fn new(spans: &'a [Span]) -> Self {
        // Span ids are unique within a trace; the first of a repeated one wins.
        let mut by_id: HashMap<(&str, &str), usize> = HashMap::with_capacity(spans.len());
        for (i, s) in spans.iter().enumerate() {
            if !s.span_id.is_empty() {
                by_id.entry((&s.trace_id, &s.span_id)).or_insert(i);
            }
        }
        let parents: Vec<Option<usize>> = (spans.iter().enumerate())
            .map(|(i, s)| {
                let parent = s.parent_span_id.as_deref()?;
                by_id
                    .get(&(s.trace_id.as_str(), parent))
                    .copied()
                    .filter(|&p| p != i)
            })
            .collect();
        let mut children = vec![Vec::new(); spans.len()];
        let mut roots = Vec::new();
        for (i, parent) in parents.iter().enumerate() {
            match parent {
                Some(p) => children[*p].push(i),
                None => roots.push(i),
            }
        }
        // Stable: spans without a start time keep their input order, last.
        let start = |i: &usize| spans[*i].start_unix_nano.unwrap_or(u64::MAX);
        roots.sort_by_key(start);
        children.iter_mut().for_each(|c| c.sort_by_key(start));
        Self {
            spans,
            parents,
            children,
            roots,
        }
    }

    fn tree(&self) -> ExpectationTree {
        let mut builder = Builder {
            forest: self,
            visited: vec![false; self.spans.len()],
            ids: Ids::default(),
        };
        let root_id = NodeId(SPAN_ROOT.to_owned());
        builder.ids.reserve(SPAN_ROOT);
        let mut children: Vec<Node> = (self.roots.iter())
            .map(|&i| builder.node(i, None))
            .collect();
        // Spans on a cycle of parent ids reach no root: the earliest of each
        // cycle becomes one.
        let mut rest: Vec<usize> = (0..self.spans.len())
            .filter(|&i| !builder.visited[i])
            .collect();
        rest.sort_by_key(|&i| self.spans[i].start_unix_nano.unwrap_or(u64::MAX));
        for i in rest {
            if !builder.visited[i] {
                children.push(builder.node(i, None));
            }
        }
        let count = self.spans.len();
        let root = Node {
            id: root_id,
            kind: NodeKind::File,
            label: format!("{count} span{}", if count == 1 { "" } else { "s" }),
            fields: BTreeMap::new(),
            children,
        };
        ExpectationTree { root }
    }
}

/// Hands out ids, unique within one tree: `base`, then `base#2`, `base#3`, ...
#[derive(Default)]
pub(super) struct Ids {
    /// Every id handed out, with the next suffix to try when it comes again
    /// as a base (so a thousand repeats stay linear).
    taken: HashMap<String, usize>,
}

impl Ids {
    /// Marks `id` as handed out (by another tree, say).
    pub(super) fn reserve(&mut self, id: &str) {
        if !self.taken.contains_key(id) {
            self.taken.insert(id.to_owned(), 2);
        }
    }

    pub(super) fn is_taken(&self, id: &str) -> bool {
        self.taken.contains_key(id)
    }

    pub(super) fn take(&mut self, base: String) -> String {
        let Some(next) = self.taken.get(&base).copied() else {
            self.taken.insert(base.clone(), 2);
            return base;
        };
        let mut n = next;
        let id = loop {
            let id = format!("{base}#{n}");
            n += 1;
            if !self.taken.contains_key(&id) {
                break id;
            }
        };
        self.taken.insert(base, n);
        self.taken.insert(id.clone(), 2);
        id
    }
}

struct Builder<'f, 'a> {
    forest: &'f SpanForest<'a>,
    visited: Vec<bool>,
    ids: Ids,
}

impl Builder<'_, '_> {
    /// The node of span `i` and its subtree; `parent` is the parent's node id
    /// (`None` under the synthetic root).
    fn node(&mut self, i: usize, parent: Option<&str>) -> Node {
        self.visited[i] = true;
        let span = &self.forest.spans[i];
        let segment = if span.name.is_empty() {
            UNNAMED
        } else {
            &span.name
        };
        let base = match parent {
            Some(p) => format!("{p}/{segment}"),
            None => segment.to_owned(),
        };
        let id = self.ids.take(base);
        let parent_resource = (self.forest.parents[i]).map(|p| &self.forest.spans[p].resource);
        let fields = fields(span, parent_resource);
        let mut children = Vec::with_capacity(self.forest.children[i].len());
        for &c in &self.forest.children[i] {
            if !self.visited[c] {
                children.push(self.node(c, Some(&id)));
            }
        }
        Node {
            id: NodeId(id),
            kind: NodeKind::Span,
            label: format!("span {}", span.name),
            fields,
            children,
        }
    }
}

fn fields(span: &Span, parent_resource: Option<&Arc<Attributes>>) -> BTreeMap<String, String> {
    let mut fields = BTreeMap::new();
    fields.insert("kind".to_owned(), kind_name(span.kind).to_owned());
    fields.insert("status".to_owned(), status_name(span.status).to_owned());
    for (key, value) in &span.attributes {
        fields.insert(format!("attr.{key}"), json(value));
    }
    let mut events: BTreeMap<&str, usize> = BTreeMap::new();
    for event in &span.events {
        *events.entry(&event.name).or_default() += 1;
    }
    for (name, count) in events {
        fields.insert(format!("event.{name}"), count.to_string());
    }
    let own_resource =
        parent_resource.is_none_or(|p| !Arc::ptr_eq(p, &span.resource) && **p != *span.resource);
    if own_resource {
        for (key, value) in span.resource.iter() {
            fields.insert(format!("resource.{key}"), json(value));
        }
    }
    fields
}

fn json(value: &str) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Unspecified => "unspecified",
        Kind::Internal => "internal",
        Kind::Server => "server",
        Kind::Client => "client",
        Kind::Producer => "producer",
        Kind::Consumer => "consumer",
    }
}

fn status_name(status: Status) -> &'static str {
    match status {
        Status::Unset => "unset",
        Status::Ok => "ok",
        Status::Error => "error",
    }
}
