//! The set-based diff of two trees: nodes added, removed, changed (field by
//! field) and moved, compared by id, never by position in the text.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;

use serde::Serialize;

use super::node::{ExpectationTree, Node, NodeId, NodeKind};

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
#[non_exhaustive]
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

/// What happened to the node one line of the compact form is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mark {
    Removed,
    Added,
    Changed,
    Moved,
}

impl Mark {
    /// `-`, `+`, `~`, `>`: the sign the line starts with.
    pub fn sign(self) -> char {
        match self {
            Mark::Removed => '-',
            Mark::Added => '+',
            Mark::Changed => '~',
            Mark::Moved => '>',
        }
    }
}

/// One line of the compact form: its mark, and the text after the sign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffLine {
    pub mark: Mark,
    pub text: String,
}

impl TreeDiff {
    /// The compact form line by line (none for an empty diff), for drivers
    /// that style each mark: a node added or removed together with its parent
    /// is implied by the parent's line and not repeated (the lists themselves
    /// stay complete).
    pub fn lines(&self) -> Vec<DiffLine> {
        let mut out = Vec::new();
        for (mark, list) in [(Mark::Removed, &self.removed), (Mark::Added, &self.added)] {
            let ids: HashSet<&NodeId> = list.iter().map(|c| &c.id).collect();
            for c in list {
                if c.parent.as_ref().is_none_or(|p| !ids.contains(p)) {
                    let text = c.id.to_string();
                    out.push(DiffLine { mark, text });
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
            let text = format!("{} ({})", c.id, parts.join(", "));
            out.push(DiffLine {
                mark: Mark::Changed,
                text,
            });
        }
        for c in &self.moved {
            let text = match &c.old_parent {
                Some(old) => format!("{} moved from {old}", c.id),
                None => format!("{} moved", c.id),
            };
            out.push(DiffLine {
                mark: Mark::Moved,
                text,
            });
        }
        out
    }
}

/// The compact form of [`TreeDiff::lines`], or `(no changes)`.
impl fmt::Display for TreeDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return writeln!(f, "(no changes)");
        }
        for line in self.lines() {
            writeln!(f, "{} {}", line.mark.sign(), line.text)?;
        }
        Ok(())
    }
}

/// A node flattened: its parent, its index among its siblings, its pre-order rank.
pub(super) struct Flat<'a> {
    pub(super) node: &'a Node,
    pub(super) parent: Option<&'a NodeId>,
    index: usize,
    pub(super) rank: usize,
}

pub(super) type FlatMap<'a> = HashMap<&'a NodeId, Flat<'a>>;

pub(super) fn flatten(tree: &ExpectationTree) -> FlatMap<'_> {
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

pub(super) fn change(flat: &Flat<'_>) -> NodeChange {
    NodeChange {
        id: flat.node.id.clone(),
        kind: flat.node.kind,
        label: flat.node.label.clone(),
        parent: flat.parent.cloned(),
        old_parent: None,
        fields: Vec::new(),
    }
}

pub(super) fn field_changes(old: &Node, new: &Node) -> Vec<FieldChange> {
    // Most nodes are unchanged: no key set, no copies.
    if old.fields == new.fields {
        return Vec::new();
    }
    let keys: BTreeSet<&String> = old.fields.keys().chain(new.fields.keys()).collect();
    let change = |k: &String| FieldChange {
        field: k.clone(),
        old: old.fields.get(k).cloned(),
        new: new.fields.get(k).cloned(),
    };
    keys.into_iter()
        .filter(|k| old.fields.get(*k) != new.fields.get(*k))
        .map(change)
        .collect()
}

/// Compares the id sets of two trees: ids only in `new` are added, only in `old`
/// removed, in both with different fields changed. A node is moved when its parent
/// changed, or when it is outside the longest run of common siblings that kept
/// their relative order (so one step moved to the front reports just that step).
pub fn diff(old: &ExpectationTree, new: &ExpectationTree) -> TreeDiff {
    diff_flat(&flatten(old), &flatten(new))
}

/// [`diff`] of two flattened trees.
pub(super) fn diff_flat(old_map: &FlatMap<'_>, new_map: &FlatMap<'_>) -> TreeDiff {
    let mut out = TreeDiff::default();
    for (id, n) in new_map {
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
    out.removed.sort_by_key(|c| rank(old_map, c));
    for list in [&mut out.added, &mut out.changed, &mut out.moved] {
        list.sort_by_key(|c| rank(new_map, c));
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

    #[test]
    fn longest_increasing_keeps_the_unmoved_run() {
        assert_eq!(longest_increasing(&[2, 0, 1]), HashSet::from([1, 2]));
        assert!(longest_increasing(&[]).is_empty());
    }
}
