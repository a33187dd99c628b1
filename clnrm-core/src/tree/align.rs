//! Same-named siblings aligned by content before two span trees are diffed
//! by id.
//!
//! Repeated names among siblings are numbered in start order
//! (`http.request`, `http.request#2`, ...), so one span inserted among them
//! (a retry), or two concurrent ones that start the other way round, would
//! shift every later number, and a diff by id would report each of them,
//! and their subtrees, as changed. [`align`] gives the new tree's nodes the
//! ids of the old nodes they stand for instead. Under two paired parents
//! (the roots first), each group of children with the same kind and label
//! is paired up: identical subtrees (same fields, same children, recursively:
//! equal content hashes) along a longest common subsequence, then identical
//! ones out of order; what is left between two such pairs pairs up in order
//! (one change each); the surplus is added or removed. A paired node takes
//! its old partner's id, its subtree the renamed prefix; a node on the new
//! side only keeps its id unless an old node has it, and then takes the next
//! free number of its group. Paired siblings are put in the old order: the
//! order among same-named siblings is no change. Where siblings' labels are
//! unique (scenario trees) every node pairs with the one of its id, and
//! nothing changes.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{BuildHasherDefault, Hash, Hasher};

use super::diff::FlatMap;
use super::node::{ExpectationTree, Node, NodeId};
use super::spans::Ids;

/// Cells of the common-subsequence table one group may use; past it (a
/// parent with thousands of same-named children that differ in the middle)
/// the group pairs by content and then in order, in linear time.
const BUDGET: usize = 1 << 20;

/// `new` with its nodes renamed (and same-named siblings reordered) to match
/// `old`'s as said above; borrowed when nothing is renamed. `old_map` is
/// `old` flattened.
pub(super) fn align<'n>(
    old: &ExpectationTree,
    new: &'n ExpectationTree,
    old_map: &FlatMap<'_>,
) -> Cow<'n, ExpectationTree> {
    if old.root.id != new.root.id {
        return Cow::Borrowed(new);
    }
    let mut planner = Planner {
        old_map,
        // Room for both trees' hashes: no rehashing on the way.
        hashes: Hashes(ByNode::with_capacity_and_hasher(
            2 * old_map.len(),
            Default::default(),
        )),
        plan: ByNode::default(),
        rewrite: false,
    };
    let mut pairs = vec![(&old.root, &new.root)];
    while let Some((o, n)) = pairs.pop() {
        planner.children(o, n, &mut pairs);
    }
    if !planner.rewrite {
        return Cow::Borrowed(new);
    }
    let mut ids = Ids::default();
    for id in old_map.keys() {
        ids.reserve(id.as_str());
    }
    let mut renamer = Renamer {
        plan: &planner.plan,
        ids,
    };
    Cow::Owned(ExpectationTree {
        root: renamer.node(&new.root, new.root.id.0.clone()),
    })
}

/// What becomes of one child of a paired new node.
enum Slot<'o, 'n> {
    /// It takes this old node's id.
    Paired(&'o NodeId),
    /// On the new side only: its own id if no old node has it, else the next
    /// free one after `first`, the id of its group's first node.
    Fresh { first: &'n NodeId },
}

/// A paired new node's children in their new order, with their slots.
type Children<'o, 'n> = Vec<(usize, Slot<'o, 'n>)>;

/// A child in a group: its label, kind, side (new or old) and index.
type Member<'a> = (&'a str, u8, bool, usize);

fn members(kids: &[Node], new_side: bool) -> impl Iterator<Item = Member<'_>> {
    (kids.iter().enumerate()).map(move |(i, c)| (c.label.as_str(), c.kind as u8, new_side, i))
}

/// A map keyed by a node of one of the trees (its address).
type ByNode<V> = HashMap<*const Node, V, BuildHasherDefault<Fx>>;

struct Planner<'o, 'n, 'm> {
    old_map: &'m FlatMap<'m>,
    hashes: Hashes,
    /// For each paired new node with children.
    plan: ByNode<Children<'o, 'n>>,
    /// Whether any id or order differs from `new`'s.
    rewrite: bool,
}

impl<'o, 'n> Planner<'o, 'n, '_> {
    /// Pairs the children of the paired `old` and `new`, group by group,
    /// and queues the child pairs.
    fn children(&mut self, old: &'o Node, new: &'n Node, pairs: &mut Vec<(&'o Node, &'n Node)>) {
        if new.children.is_empty() {
            return;
        }
        // Both sides' children by label and kind, the old ones first, each
        // side in order.
        let mut all: Vec<Member<'_>> = Vec::with_capacity(old.children.len() + new.children.len());
        all.extend(members(&old.children, false));
        all.extend(members(&new.children, true));
        all.sort_unstable();
        let mut slots: Vec<Option<Slot<'o, 'n>>> = (0..new.children.len()).map(|_| None).collect();
        let mut order: Option<Vec<usize>> = None;
        for group in all.chunk_by(|a, b| (a.0, a.1) == (b.0, b.1)) {
            let (olds, news) = group.split_at(group.partition_point(|m| !m.2));
            let Some(&(_, _, _, first)) = news.first() else {
                continue;
            };
            let first = &new.children[first].id;
            let partners = match (olds.len(), news.len()) {
                (0, _) => vec![None; news.len()],
                (1, 1) => vec![Some(0)],
                _ => {
                    let mut hash = |kids: &[Node], side: &[Member<'_>]| -> Vec<u64> {
                        side.iter().map(|m| self.hashes.of(&kids[m.3])).collect()
                    };
                    let (a, b) = (hash(&old.children, olds), hash(&new.children, news));
                    pair_up(&a, &b)
                }
            };
            for (m, partner) in news.iter().zip(&partners) {
                let kid = &new.children[m.3];
                slots[m.3] = Some(match partner {
                    Some(p) => {
                        let old_kid = &old.children[olds[*p].3];
                        self.rewrite |= old_kid.id != kid.id;
                        pairs.push((old_kid, kid));
                        Slot::Paired(&old_kid.id)
                    }
                    None => {
                        self.rewrite = self.rewrite || self.clashes(kid);
                        Slot::Fresh { first }
                    }
                });
            }
            let paired = partners.iter().flatten();
            if paired.clone().zip(paired.skip(1)).any(|(a, b)| a > b) {
                self.rewrite = true;
                let order = order.get_or_insert_with(|| (0..new.children.len()).collect());
                for (m, k) in news.iter().zip(in_old_order(&partners)) {
                    order[m.3] = news[k].3;
                }
            }
        }
        let order = order.unwrap_or_else(|| (0..new.children.len()).collect());
        let children = order
            .into_iter()
            .filter_map(|i| Some((i, slots[i].take()?)))
            .collect();
        self.plan.insert(std::ptr::from_ref(new), children);
    }

    /// Whether `node` or a node below it has an id of the old tree.
    fn clashes(&self, node: &Node) -> bool {
        let mut stack = vec![node];
        while let Some(n) = stack.pop() {
            if self.old_map.contains_key(&n.id) {
                return true;
            }
            stack.extend(&n.children);
        }
        false
    }
}

/// Content hashes of subtrees, each computed once.
struct Hashes(ByNode<u64>);

impl Hashes {
    /// The hash of `node`'s kind, label, fields and children's hashes.
    fn of(&mut self, node: &Node) -> u64 {
        let key = std::ptr::from_ref(node);
        if let Some(&h) = self.0.get(&key) {
            return h;
        }
        let mut hasher = Fx::default();
        (node.kind, &node.label, &node.fields).hash(&mut hasher);
        node.children.len().hash(&mut hasher);
        for child in &node.children {
            self.of(child).hash(&mut hasher);
        }
        let h = hasher.finish();
        self.0.insert(key, h);
        h
    }
}

/// The Fx hash (as rustc's `FxHasher`): a word at a time, no seed, several
/// times faster than the std SipHash, whose hashing of every field of both
/// trees was most of the alignment's time. Two different subtrees with one
/// hash would only be paired as if equal, and the diff then shows what
/// differs.
#[derive(Default)]
struct Fx(u64);

impl Fx {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0xf135_7aea_2e62_a9c5);
    }
}

impl Hasher for Fx {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let word = (rest.iter().rev()).fold(0, |word, &b| word << 8 | u64::from(b));
            self.add(word);
        }
    }

    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0.rotate_left(26)
    }
}

/// Builds the renamed tree from the plan.
struct Renamer<'p, 'o, 'n> {
    plan: &'p ByNode<Children<'o, 'n>>,
    /// Seeded with every old id.
    ids: Ids,
}

impl Renamer<'_, '_, '_> {
    /// `node` (of the new tree) and its subtree, `node` under `id`.
    fn node(&mut self, node: &Node, id: String) -> Node {
        let mut children = Vec::with_capacity(node.children.len());
        match self.plan.get(&std::ptr::from_ref(node)) {
            Some(slots) => {
                for (i, slot) in slots {
                    let child = &node.children[*i];
                    let child_id = match slot {
                        Slot::Paired(old) => old.0.clone(),
                        Slot::Fresh { first } => {
                            let own = moved(&child.id, &node.id, &id);
                            if self.ids.is_taken(&own) {
                                self.ids.take(moved(first, &node.id, &id))
                            } else {
                                self.ids.take(own)
                            }
                        }
                    };
                    children.push(self.node(child, child_id));
                }
            }
            // Below a node on the new side only: every id moves with it.
            None => {
                for child in &node.children {
                    let child_id = self.ids.take(moved(&child.id, &node.id, &id));
                    children.push(self.node(child, child_id));
                }
            }
        }
        Node {
            id: NodeId(id),
            kind: node.kind,
            label: node.label.clone(),
            fields: node.fields.clone(),
            children,
        }
    }
}

/// `id`, the id of a child of `parent`, with `parent`'s prefix replaced by
/// `renamed` (an id that does not start with `parent/`, a root span's, stays).
fn moved(id: &NodeId, parent: &NodeId, renamed: &str) -> String {
    match (id.as_str().strip_prefix(parent.as_str())).and_then(|rest| rest.strip_prefix('/')) {
        Some(rest) => format!("{renamed}/{rest}"),
        None => id.0.clone(),
    }
}

/// For each of `new` (content hashes of one group's new nodes, in order),
/// the index in `old` of the node it pairs with: along the longest common
/// subsequence, then equal ones out of order, then what is left between
/// two pairs in order.
fn pair_up(old: &[u64], new: &[u64]) -> Vec<Option<usize>> {
    let mut partners = vec![None; new.len()];
    let mut used = vec![false; old.len()];
    let anchors = common(old, new, true);
    for &(o, n) in &anchors {
        partners[n] = Some(o);
        used[o] = true;
    }
    if anchors.len() == old.len().min(new.len()) {
        return partners;
    }
    // Equal content out of order: the k-th unpaired of one hash on each side.
    let mut by_hash: HashMap<u64, VecDeque<usize>> = HashMap::new();
    for (o, h) in old.iter().enumerate().filter(|(o, _)| !used[*o]) {
        by_hash.entry(*h).or_default().push_back(o);
    }
    for (n, h) in new.iter().enumerate() {
        if partners[n].is_none()
            && let Some(o) = by_hash.get_mut(h).and_then(VecDeque::pop_front)
        {
            partners[n] = Some(o);
            used[o] = true;
        }
    }
    // The rest, gap by gap between the anchors, in order.
    let (mut o0, mut n0) = (0, 0);
    for (o1, n1) in anchors.into_iter().chain([(old.len(), new.len())]) {
        let olds = (o0..o1).filter(|&o| !used[o]);
        let news: Vec<usize> = (n0..n1).filter(|&n| partners[n].is_none()).collect();
        for (o, n) in olds.zip(news) {
            partners[n] = Some(o);
        }
        (o0, n0) = (o1 + 1, n1 + 1);
    }
    partners
}

/// Index pairs of a longest common subsequence of `a` and `b`, ascending:
/// the common prefix and suffix, and between them, with `filter`, the same
/// again once the values on one side only are dropped (they pair with
/// nothing), else the [`table`]'s.
fn common(a: &[u64], b: &[u64], filter: bool) -> Vec<(usize, usize)> {
    let pre = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let (a_rest, b_rest) = (&a[pre..], &b[pre..]);
    let suf = (a_rest.iter().rev().zip(b_rest.iter().rev()))
        .take_while(|(x, y)| x == y)
        .count();
    let (a_mid, b_mid) = (&a_rest[..a_rest.len() - suf], &b_rest[..b_rest.len() - suf]);
    let mut out: Vec<(usize, usize)> = (0..pre).map(|i| (i, i)).collect();
    if !a_mid.is_empty() && !b_mid.is_empty() {
        let middle = if filter {
            let a_keep = on_both_sides(a_mid, b_mid);
            let b_keep = on_both_sides(b_mid, a_mid);
            let values = |v: &[u64], keep: &[usize]| keep.iter().map(|&i| v[i]).collect::<Vec<_>>();
            let inner = common(&values(a_mid, &a_keep), &values(b_mid, &b_keep), false);
            inner
                .into_iter()
                .map(|(i, j)| (a_keep[i], b_keep[j]))
                .collect()
        } else {
            table(a_mid, b_mid)
        };
        out.extend(middle.into_iter().map(|(i, j)| (pre + i, pre + j)));
    }
    let (a_suf, b_suf) = (a.len() - suf, b.len() - suf);
    out.extend((0..suf).map(|k| (a_suf + k, b_suf + k)));
    out
}

/// The indices in `v` of the values `other` has too.
fn on_both_sides(v: &[u64], other: &[u64]) -> Vec<usize> {
    let other: HashSet<u64> = other.iter().copied().collect();
    (0..v.len()).filter(|&i| other.contains(&v[i])).collect()
}

/// A longest common subsequence by the dynamic-programming table, or none
/// when the table would be larger than [`BUDGET`].
fn table(a: &[u64], b: &[u64]) -> Vec<(usize, usize)> {
    let (m, n) = (a.len(), b.len());
    if (m + 1).saturating_mul(n + 1) > BUDGET {
        return Vec::new();
    }
    // lengths[i * width + j]: how long a longest common subsequence of
    // a[i..] and b[j..] is.
    let width = n + 1;
    let mut lengths = vec![0u32; (m + 1) * width];
    for i in (0..m).rev() {
        for j in (0..n).rev() {
            lengths[i * width + j] = if a[i] == b[j] {
                lengths[(i + 1) * width + j + 1] + 1
            } else {
                lengths[(i + 1) * width + j].max(lengths[i * width + j + 1])
            };
        }
    }
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < m && j < n {
        if a[i] == b[j] {
            out.push((i, j));
            (i, j) = (i + 1, j + 1);
        } else if lengths[(i + 1) * width + j] >= lengths[i * width + j + 1] {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// The order of one group's new nodes (indices into `partners`) once each
/// paired one stands where its old partner stood, and each unpaired one
/// right after the paired one it followed.
fn in_old_order(partners: &[Option<usize>]) -> Vec<usize> {
    let mut last = None;
    let mut keys: Vec<(Option<usize>, bool, usize)> = (partners.iter().enumerate())
        .map(|(k, p)| match p {
            Some(_) => {
                last = *p;
                (*p, false, k)
            }
            None => (last, true, k),
        })
        .collect();
    keys.sort_unstable();
    keys.into_iter().map(|(_, _, k)| k).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_follow_the_common_subsequence_then_content_then_order() {
        // Inserted in the middle: the surplus one is unpaired.
        assert_eq!(
            pair_up(&[1, 2, 3], &[1, 9, 2, 3]),
            [Some(0), None, Some(1), Some(2)]
        );
        // Swapped: equal content pairs out of order.
        assert_eq!(pair_up(&[1, 2], &[2, 1]), [Some(1), Some(0)]);
        // Edited: what is left between two pairs pairs in order.
        assert_eq!(pair_up(&[1, 2, 3], &[1, 7, 3]), [Some(0), Some(1), Some(2)]);
        // Removed in the middle, and the gaps keep their own leftovers.
        assert_eq!(pair_up(&[1, 2, 3], &[1, 3]), [Some(0), Some(2)]);
        assert_eq!(pair_up(&[5, 1, 6], &[1, 7, 8]), [Some(1), Some(2), None]);
        // Repeats of one content: the common prefix and suffix, in place.
        assert_eq!(
            pair_up(&[4, 4, 4], &[4, 4, 4, 4]),
            [Some(0), Some(1), Some(2), None]
        );
    }

    #[test]
    fn the_table_is_bounded_and_a_huge_middle_still_pairs() {
        assert!(table(&[1; 2000], &[1; 2000]).is_empty());
        let old: Vec<u64> = (0..5000).collect();
        let new: Vec<u64> = (0..5000).rev().collect();
        let partners = pair_up(&old, &new);
        assert!((0..5000).all(|n| partners[n] == Some(4999 - n)));
    }

    #[test]
    fn paired_nodes_go_back_to_the_old_order() {
        assert_eq!(in_old_order(&[Some(1), Some(0)]), [1, 0]);
        assert_eq!(in_old_order(&[Some(0), None, Some(1)]), [0, 1, 2]);
        assert_eq!(in_old_order(&[None, Some(1), None, Some(0)]), [0, 3, 1, 2]);
    }
}
