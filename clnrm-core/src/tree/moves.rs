//! Moves in trees whose ids are paths (span trees): a node put under another
//! parent gets a new id, so [`diff`](super::diff()) sees it removed and added. This pairs
//! such nodes back into one move, and compares their subtrees by the path
//! below them.

use std::collections::{HashMap, HashSet, VecDeque};

use super::align::align;
use super::diff::{FlatMap, change, diff_flat, field_changes, flatten};
use super::node::{ExpectationTree, NodeId, NodeKind};
use super::{NodeChange, TreeDiff};

/// How many same-named candidates are searched for one with equal fields
/// before the first is taken (keeps pathological inputs linear).
const SEARCH: usize = 64;

/// [`diff`](super::diff()) after each group of same-named siblings under
/// paired parents is aligned by content (identical subtrees pair up whatever
/// their order or what was inserted between them, the rest in order, and the
/// new nodes take their partners' ids), then each added node paired with a
/// removed node of the same kind and label under another parent (one with
/// the same fields first, else the first in tree order): the pair is one
/// moved node (with `old_parent`), its own and its descendants' field changes
/// are changed nodes (matched by the path below the pair), and descendants on
/// one side only stay added or removed. `watch` keeps plain
/// [`diff`](super::diff()); `diff` of span trees uses this.
pub fn diff_with_moves(old: &ExpectationTree, new: &ExpectationTree) -> TreeDiff {
    let old_map = flatten(old);
    let new = align(old, new, &old_map);
    let new_map = flatten(&new);
    let mut out = diff_flat(&old_map, &new_map);
    if out.added.is_empty() || out.removed.is_empty() {
        return out;
    }
    let mut candidates: HashMap<(NodeKind, &str), VecDeque<&NodeChange>> = HashMap::new();
    for r in &out.removed {
        let key = (r.kind, r.label.as_str());
        candidates.entry(key).or_default().push_back(r);
    }
    let mut paired_old: HashSet<NodeId> = HashSet::new();
    let mut paired_new: HashSet<NodeId> = HashSet::new();
    let (mut moved, mut changed) = (Vec::new(), Vec::new());
    for a in &out.added {
        if paired_new.contains(&a.id) {
            continue;
        }
        let Some(queue) = candidates.get_mut(&(a.kind, a.label.as_str())) else {
            continue;
        };
        queue.retain(|r| !paired_old.contains(&r.id));
        let Some(at) = pick(queue, a, &old_map, &new_map) else {
            continue;
        };
        let Some(r) = queue.remove(at) else { continue };
        let pair = Pair {
            old_map: &old_map,
            new_map: &new_map,
        };
        pair.walk(&r.id, &a.id, &mut paired_old, &mut paired_new, &mut changed);
        moved.push(NodeChange {
            old_parent: r.parent.clone(),
            ..a.clone()
        });
    }
    out.added.retain(|c| !paired_new.contains(&c.id));
    out.removed.retain(|c| !paired_old.contains(&c.id));
    out.changed.extend(changed);
    out.moved.extend(moved);
    let rank = |c: &NodeChange| new_map.get(&c.id).map(|f| f.rank);
    out.changed.sort_by_key(rank);
    out.moved.sort_by_key(rank);
    out
}

/// The position in `queue` of the removed node to pair with `a`: under
/// another parent, with equal fields if one of the first [`SEARCH`] has them.
fn pick(
    queue: &VecDeque<&NodeChange>,
    a: &NodeChange,
    old_map: &FlatMap<'_>,
    new_map: &FlatMap<'_>,
) -> Option<usize> {
    let fields_of_new = &new_map.get(&a.id)?.node.fields;
    let elsewhere = |r: &&NodeChange| r.parent != a.parent;
    let mut first = None;
    for (at, r) in queue
        .iter()
        .enumerate()
        .filter(|(_, r)| elsewhere(r))
        .take(SEARCH)
    {
        first.get_or_insert(at);
        if old_map
            .get(&r.id)
            .is_some_and(|o| o.node.fields == *fields_of_new)
        {
            return Some(at);
        }
    }
    first
}

/// The two trees a pair is walked in.
struct Pair<'m, 't> {
    old_map: &'m FlatMap<'t>,
    new_map: &'m FlatMap<'t>,
}

impl Pair<'_, '_> {
    /// Marks `old_id`'s and `new_id`'s subtrees as paired where the path
    /// below them matches, recording field changes under the new ids.
    fn walk(
        &self,
        old_id: &NodeId,
        new_id: &NodeId,
        paired_old: &mut HashSet<NodeId>,
        paired_new: &mut HashSet<NodeId>,
        changed: &mut Vec<NodeChange>,
    ) {
        let (Some(o), Some(n)) = (self.old_map.get(old_id), self.new_map.get(new_id)) else {
            return;
        };
        paired_old.insert(old_id.clone());
        paired_new.insert(new_id.clone());
        let fields = field_changes(o.node, n.node);
        if !fields.is_empty() {
            changed.push(NodeChange {
                fields,
                ..change(n)
            });
        }
        let below = |id: &NodeId, top: &NodeId| -> Option<String> {
            id.as_str().strip_prefix(top.as_str()).map(str::to_owned)
        };
        let old_children: HashMap<String, &NodeId> = (o.node.children.iter())
            .filter_map(|c| Some((below(&c.id, old_id)?, &c.id)))
            .collect();
        for child in &n.node.children {
            let Some(rest) = below(&child.id, new_id) else {
                continue;
            };
            if let Some(old_child) = old_children.get(&rest) {
                self.walk(old_child, &child.id, paired_old, paired_new, changed);
            }
        }
    }
}
