//! Per-test fingerprints: the SHA-256 of what a test runs, so a driver can
//! tell which tests an edit changed (watch re-runs only those).

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::pipeline::FileReport;
use crate::plan::plan;
use crate::tree::{ExpectationTree, Node, NodeKind};

/// What one test runs, hashed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(pub [u8; 32]);

/// What each runnable test runs: its scenario's subtree and everything
/// file-wide (header, services, limits...), but not its sibling scenarios, so
/// an edit to one scenario re-runs that one only.
pub fn fingerprints(
    report: &FileReport,
    trees: &[Option<ExpectationTree>],
) -> BTreeMap<String, Fingerprint> {
    let mut out = BTreeMap::new();
    for test in plan(std::slice::from_ref(report)) {
        let Some(target) = test.target.filter(|_| test.ignored.is_none()) else {
            continue;
        };
        let Some(tree) = &trees[target.variant] else {
            continue;
        };
        let mut hasher = Sha256::new();
        let mut scenarios = (tree.root.children.iter()).filter(|n| n.kind == NodeKind::Scenario);
        let own = scenarios.nth(target.scenario);
        let shared = tree
            .root
            .children
            .iter()
            .filter(|n| n.kind != NodeKind::Scenario);
        for node in shared.chain(own) {
            hash_node(node, &mut hasher);
        }
        out.insert(test.name, Fingerprint(hasher.finalize().into()));
    }
    out
}

fn hash_node(node: &Node, hasher: &mut Sha256) {
    hasher.update(node.id.as_str());
    for (key, value) in &node.fields {
        hasher.update([0]);
        hasher.update(key);
        hasher.update([0]);
        hasher.update(value);
    }
    for child in &node.children {
        hasher.update([1]);
        hash_node(child, hasher);
    }
    hasher.update([2]);
}
