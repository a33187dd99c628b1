//! What watch remembers of each scenario file: the templates it reads (and
//! the index from each template to its readers), its last valid expectation
//! trees, and the fingerprint of each runnable test in it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use clnrm_core::cache::Fingerprint;
use clnrm_core::discover::DiscoveredFile;
use clnrm_core::pipeline::FileReport;
use clnrm_core::render::imported_names;
use clnrm_core::tree::{ExpectationTree, Node, NodeKind, TreeDiff, diff};

/// One scenario file as watch last saw it.
#[derive(Debug)]
pub struct Known {
    pub discovered: DiscoveredFile,
    /// The last valid trees, per matrix combination.
    pub trees: Option<Vec<(String, ExpectationTree)>>,
    /// The version last seen had errors.
    pub had_errors: bool,
    /// Templates the file reads, and names it imports that do not exist yet.
    pub reads: Vec<PathBuf>,
    /// Runnable tests and the fingerprint of what each one runs.
    pub tests: BTreeMap<String, Fingerprint>,
}

/// Template path -> the scenario files that read it.
#[derive(Debug, Default)]
pub struct Readers(HashMap<PathBuf, BTreeSet<PathBuf>>);

impl Readers {
    /// Whether some scenario file reads `template`.
    pub fn contains(&self, template: &Path) -> bool {
        self.0.contains_key(template)
    }

    /// Every template read by some scenario file.
    pub fn templates(&self) -> Vec<PathBuf> {
        self.0.keys().cloned().collect()
    }

    /// The scenario files that read `template`, in path order.
    pub fn of(&self, template: &Path) -> Vec<PathBuf> {
        (self.0.get(template))
            .map(|r| r.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Records that `reader` reads each of `reads`.
    pub fn link(&mut self, reader: &Path, reads: &[PathBuf]) {
        for read in reads {
            (self.0.entry(read.clone()).or_default()).insert(reader.to_path_buf());
        }
    }

    /// Forgets that `reader` reads each of `reads`; returns the templates
    /// nothing reads any more.
    pub fn unlink(&mut self, reader: &Path, reads: &[PathBuf]) -> Vec<PathBuf> {
        let mut unread = Vec::new();
        for read in reads {
            if let Some(readers) = self.0.get_mut(read) {
                readers.remove(reader);
                if readers.is_empty() {
                    self.0.remove(read);
                    unread.push(read.clone());
                }
            }
        }
        unread
    }
}

/// Templates read, and imported names that do not exist yet (so creating
/// them re-validates the file).
pub fn reads_of(report: &FileReport, path: &Path) -> Vec<PathBuf> {
    let mut reads: Vec<PathBuf> = (report.dependencies.iter())
        .filter_map(|d| d.path.clone())
        .collect();
    if let Some(dir) = path.parent() {
        let wanted = imported_names(report.source.text()).map(|name| dir.join(name));
        reads.extend(wanted.filter(|p| !p.exists()));
    }
    reads.sort();
    reads.dedup();
    reads
}

/// The trees with their matrix labels, for the file's variants that parsed.
pub fn labelled(
    report: &FileReport,
    trees: Vec<Option<ExpectationTree>>,
) -> Vec<(String, ExpectationTree)> {
    (report.variants.iter().zip(trees))
        .filter_map(|(v, tree)| Some((v.combination.label(), tree?)))
        .collect()
}

pub fn diff_trees(
    old: &[(String, ExpectationTree)],
    new: &[(String, ExpectationTree)],
) -> Vec<(String, TreeDiff)> {
    let empty = empty_tree();
    let mut out = Vec::new();
    for (label, tree) in new {
        let before = old
            .iter()
            .find(|(l, _)| l == label)
            .map_or(&empty, |(_, t)| t);
        let d = diff(before, tree);
        if !d.is_empty() {
            out.push((label.clone(), d));
        }
    }
    for (label, tree) in old {
        if !new.iter().any(|(l, _)| l == label) {
            out.push((label.clone(), diff(tree, &empty)));
        }
    }
    out
}

fn empty_tree() -> ExpectationTree {
    ExpectationTree {
        root: Node {
            id: clnrm_core::tree::NodeId("file".into()),
            kind: NodeKind::File,
            label: "file".into(),
            fields: BTreeMap::new(),
            children: Vec::new(),
        },
    }
}
