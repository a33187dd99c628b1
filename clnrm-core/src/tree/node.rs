//! The tree's model: nodes with stable, name-derived ids and canonical field
//! texts. Byte spans never enter it.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
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
    /// A span of a span tree ([`ExpectationTree::from_spans`]).
    Span,
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

/// The shape of one scenario file as seen by `watch` and `diff`, or of a
/// set of spans (`diff` of two traces).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExpectationTree {
    pub root: Node,
}

impl ExpectationTree {
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
