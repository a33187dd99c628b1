//! The watch session: which paths are scenario files, reading due paths
//! through the gate, validating and diffing what changed, and keeping the
//! registry of files up to date. A due path goes in; what changed comes out
//! as feedback.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use clnrm_core::diagnostic::Tally;
use clnrm_core::discover::{DiscoveredFile, discover, is_scenario_file, is_skipped_dir};
use clnrm_core::pipeline::{FileReport, Pipeline};
use clnrm_core::source::{ReadError, read_source};
use clnrm_core::tree::{ExpectationTree, TreeDiff};

use super::gate::{Admit, Gate, Hash};
use clnrm_core::cache::fingerprints;

use super::registry::{Known, Readers, diff_trees, labelled, reads_of};

/// A file validated after a change.
#[derive(Debug)]
pub struct Validated {
    pub report: FileReport,
    pub tally: Tally,
    /// Every rendering came from the render cache.
    pub cache_hit: bool,
    /// The file is new to this session.
    pub added: bool,
}

/// One scenario file's expectation diff against its last valid version.
#[derive(Debug)]
pub struct FileDiff {
    pub file: PathBuf,
    /// Per matrix combination (label, empty without a matrix); empty diffs left out.
    pub diffs: Vec<(String, TreeDiff)>,
    /// The version before had errors: this edit fixed them, and the diff is
    /// against the last valid version.
    pub fixed: bool,
}

impl FileDiff {
    /// The text changed, the meaning did not (and nothing was fixed).
    pub fn is_comment_only(&self) -> bool {
        !self.fixed && self.diffs.is_empty()
    }
}

#[derive(Debug)]
pub enum Feedback {
    Validated(Validated),
    Diff(FileDiff),
    Removed { file: PathBuf, name: String },
}

/// The result of looking at due paths.
#[derive(Debug, Default)]
pub struct Outcome {
    pub feedback: Vec<Feedback>,
    /// Tests whose rendered scenario is new or different.
    pub changed_tests: Vec<String>,
    /// Paths caught empty in the middle of a save: look again at the time given.
    pub deferred: Vec<(PathBuf, Instant)>,
    /// Paths passed over, each with why (`PATH: skipped: a FIFO, ...`); each
    /// is said once, until the path changes.
    pub skipped: Vec<String>,
}

#[derive(Debug)]
pub struct Session {
    pipeline: Pipeline,
    /// Folders searched (the roots, or the folders named on the command line).
    dirs: Vec<PathBuf>,
    /// Files named on the command line: scenarios whatever their names.
    explicit: Vec<PathBuf>,
    /// The configured roots, for test names.
    roots: Vec<PathBuf>,
    gate: Gate,
    files: BTreeMap<PathBuf, Known>,
    readers: Readers,
    /// Paths passed over, with the reason last said.
    skipped: BTreeMap<PathBuf, String>,
}

impl Session {
    pub fn new(pipeline: Pipeline, paths: &[PathBuf], roots: &[PathBuf]) -> Self {
        // `/a/./b` -> `/a/b`: event paths and file paths must compare equal.
        let tidy = |list: &[PathBuf]| -> Vec<PathBuf> {
            list.iter().map(|p| p.components().collect()).collect()
        };
        let (paths, roots) = (tidy(paths), tidy(roots));
        let (explicit, mut dirs): (Vec<PathBuf>, Vec<PathBuf>) =
            paths.iter().cloned().partition(|p| p.is_file());
        if paths.is_empty() {
            dirs = roots.clone();
        }
        Self {
            pipeline,
            dirs,
            explicit,
            roots,
            gate: Gate::default(),
            files: BTreeMap::new(),
            readers: Readers::default(),
            skipped: BTreeMap::new(),
        }
    }

    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    /// The folders to watch for these files.
    pub fn watch_dirs(&self) -> Vec<PathBuf> {
        let parents = self.explicit.iter().filter_map(|f| f.parent());
        let mut dirs: Vec<PathBuf> = self.dirs.to_vec();
        dirs.extend(parents.map(Path::to_path_buf));
        dirs.sort();
        dirs.dedup();
        dirs
    }

    pub fn file_count(&self) -> usize {
        self.files.len()
    }

    /// Every runnable test, in name order.
    pub fn tests(&self) -> Vec<String> {
        let tests = self.files.values().flat_map(|k| k.tests.keys().cloned());
        tests.collect::<BTreeSet<_>>().into_iter().collect()
    }

    /// Whether watch cares about `path` as a scenario file.
    fn is_scenario(&self, path: &Path) -> bool {
        if self.explicit.iter().any(|f| f == path) {
            return true;
        }
        is_scenario_file(path)
            && self.dirs.iter().any(|dir| {
                path.strip_prefix(dir).is_ok_and(|rel| {
                    let parents = rel.parent().into_iter().flat_map(Path::components);
                    !parents
                        .into_iter()
                        .any(|c| is_skipped_dir(&c.as_os_str().to_string_lossy()))
                })
            })
    }

    /// Reads and validates every file (start-up, and after lost events).
    pub fn rescan(&mut self) -> Outcome {
        let mut search = self.dirs.clone();
        search.extend(self.explicit.iter().cloned());
        let discovery = discover(&search, &self.roots);
        let mut outcome = Outcome::default();
        for issue in discovery.issues() {
            self.skip(&issue.path, issue.message.clone(), &mut outcome);
        }
        let found: BTreeSet<PathBuf> = discovery.files.into_iter().map(|f| f.path).collect();
        let gone: Vec<PathBuf> = (self.files.keys())
            .filter(|p| !found.contains(*p))
            .cloned()
            .collect();
        for path in gone {
            self.remove(&path, &mut outcome);
        }
        let templates = self.readers.templates();
        for path in found.into_iter().chain(templates) {
            self.look_at(&path, &mut outcome);
        }
        outcome
    }

    /// Looks at paths that are due: files, templates, or folders that appeared.
    /// `settled` is asked after each read whether the file was left alone
    /// meanwhile; a read it refuses is dropped (the writer's completion
    /// brings the path back).
    pub fn refresh(
        &mut self,
        paths: &[PathBuf],
        settled: &mut dyn FnMut(&Path) -> bool,
    ) -> Outcome {
        let mut outcome = Outcome::default();
        for path in paths {
            if path.is_dir() {
                self.folder_appeared(path, &mut outcome);
            } else {
                self.look_at_settled(path, &mut outcome, settled);
            }
        }
        outcome
    }

    fn folder_appeared(&mut self, dir: &Path, outcome: &mut Outcome) {
        let discovery = discover(&[dir.to_path_buf()], &self.roots);
        for issue in discovery.issues() {
            self.skip(&issue.path, issue.message.clone(), outcome);
        }
        for file in discovery.files {
            if self.is_scenario(&file.path) {
                self.look_at(&file.path, outcome);
            }
        }
    }

    fn look_at(&mut self, path: &Path, outcome: &mut Outcome) {
        self.look_at_settled(path, outcome, &mut |_| true);
    }

    fn look_at_settled(
        &mut self,
        path: &Path,
        outcome: &mut Outcome,
        settled: &mut dyn FnMut(&Path) -> bool,
    ) {
        let scenario = self.is_scenario(path);
        let template = self.readers.contains(path);
        if !scenario && !template {
            // A folder that went away takes its files with it.
            let under: Vec<PathBuf> = (self.files.keys())
                .filter(|f| f.starts_with(path) && f.as_path() != path)
                .cloned()
                .collect();
            if !path.exists() {
                for file in under {
                    self.remove(&file, outcome);
                }
            }
            return;
        }
        // Never opened unless a regular file: a FIFO would block the loop.
        let read = read_source(path);
        match &read {
            Err(ReadError::Gone) => {
                self.skipped.remove(path);
                if scenario {
                    self.remove(path, outcome);
                } else {
                    self.template_changed(path, None, outcome);
                }
                return;
            }
            // A folder named like a scenario file is searched, not read.
            Err(ReadError::Folder) => return,
            Err(error @ ReadError::NotAFile(_)) => {
                let reason = error.to_string();
                if scenario {
                    self.remove(path, outcome);
                }
                self.skip(path, reason, outcome);
                return;
            }
            _ => {}
        }
        if !settled(path) {
            tracing::debug!(path = %path.display(), "read while a writer had it open; waiting for its close");
            return;
        }
        self.skipped.remove(path);
        let bytes = match read {
            Ok(bytes) => bytes,
            Err(error) => {
                // Unreadable (permissions, size): an error of the file, said
                // again on its next change.
                tracing::debug!(path = %path.display(), %error, "cannot read");
                self.gate.forget_bytes(path);
                if scenario {
                    self.process(path, Err(error), outcome);
                }
                return;
            }
        };
        tracing::debug!(path = %path.display(), bytes = bytes.len(), "read");
        // Asked only of an empty read: was it written since it was last seen empty?
        let modified = (bytes.is_empty())
            .then(|| std::fs::metadata(path).and_then(|m| m.modified()).ok())
            .flatten();
        let hash = match self.gate.admit(path, &bytes, modified) {
            Admit::Changed(hash) => hash,
            Admit::Unchanged => return,
            Admit::Deferred(at) => {
                outcome.deferred.push((path.to_path_buf(), at));
                return;
            }
        };
        if scenario {
            self.process(path, Ok(bytes), outcome);
        }
        if template {
            self.template_changed(path, Some(hash), outcome);
        }
    }

    /// Says once why `path` is passed over (again when the reason changes).
    fn skip(&mut self, path: &Path, reason: String, outcome: &mut Outcome) {
        if self.skipped.get(path) != Some(&reason) {
            outcome
                .skipped
                .push(format!("{}: skipped: {reason}", path.display()));
            self.skipped.insert(path.to_path_buf(), reason);
        }
    }

    /// Re-validates exactly the files that read this template.
    fn template_changed(&mut self, path: &Path, hash: Option<Hash>, outcome: &mut Outcome) {
        if hash.is_none() {
            self.gate.forget_bytes(path);
        }
        for reader in self.readers.of(path) {
            match read_source(&reader) {
                // Gone or replaced: its own event says so.
                Err(ReadError::Gone | ReadError::NotAFile(_) | ReadError::Folder) => {}
                read => self.process(&reader, read, outcome),
            }
        }
    }

    fn discovered(&self, path: &Path) -> DiscoveredFile {
        let found = discover(&[path.to_path_buf()], &self.roots).files;
        found.into_iter().next().unwrap_or_else(|| DiscoveredFile {
            name: path.display().to_string(),
            path: path.to_path_buf(),
            root: path.parent().map(Path::to_path_buf).unwrap_or_default(),
        })
    }

    fn process(&mut self, path: &Path, read: Result<Vec<u8>, ReadError>, outcome: &mut Outcome) {
        let discovered = match self.files.get(path) {
            Some(known) => known.discovered.clone(),
            None => self.discovered(path),
        };
        let lookups = self.pipeline.cache.stats();
        let report = self.pipeline.process_read(&discovered, read);
        let after = self.pipeline.cache.stats();
        let cache_hit = after.misses == lookups.misses && after.hits > lookups.hits;
        let reads = reads_of(&report, path);
        // One tree per matrix combination, for both the diff and the fingerprints.
        let variant_trees: Vec<Option<ExpectationTree>> = (report.variants.iter())
            .map(|v| v.file.as_ref().map(ExpectationTree::from_file))
            .collect();
        let tests = fingerprints(&report, &variant_trees);
        let trees = (!report.has_errors()).then(|| labelled(&report, variant_trees));
        let previous = self.files.remove(path);
        let added = previous.is_none();
        let old_tests = previous
            .as_ref()
            .map(|k| k.tests.clone())
            .unwrap_or_default();
        for (test, fingerprint) in &tests {
            if old_tests.get(test) != Some(fingerprint) {
                outcome.changed_tests.push(test.clone());
            }
        }
        let old_trees = previous.as_ref().and_then(|k| k.trees.clone());
        let fixed = previous.as_ref().is_some_and(|k| k.had_errors);
        if let Some(previous) = &previous {
            self.unlink_reads(path, &previous.reads);
        }
        self.readers.link(path, &reads);
        // The templates as rendered, so a `touch` of one is no change either.
        for dependency in &report.dependencies {
            if let Some(template) = &dependency.path {
                self.gate.remember(template, &dependency.text);
            }
        }
        let tally = Tally::of(&report.diagnostics);
        let had_errors = report.has_errors();
        outcome.feedback.push(Feedback::Validated(Validated {
            report,
            tally,
            cache_hit,
            added,
        }));
        if let (Some(old), Some(new)) = (&old_trees, &trees) {
            outcome.feedback.push(Feedback::Diff(FileDiff {
                file: path.to_path_buf(),
                diffs: diff_trees(old, new),
                fixed,
            }));
        }
        self.files.insert(
            path.to_path_buf(),
            Known {
                discovered,
                trees: trees.or(old_trees),
                had_errors,
                reads,
                tests,
            },
        );
    }

    fn unlink_reads(&mut self, path: &Path, reads: &[PathBuf]) {
        for template in self.readers.unlink(path, reads) {
            self.gate.forget_bytes(&template);
        }
    }

    fn remove(&mut self, path: &Path, outcome: &mut Outcome) {
        self.gate.forget(path);
        if let Some(known) = self.files.remove(path) {
            self.unlink_reads(path, &known.reads);
            outcome.feedback.push(Feedback::Removed {
                file: path.to_path_buf(),
                name: known.discovered.name,
            });
        }
    }

    /// The test-name base of a known file.
    pub fn name_of(&self, path: &Path) -> String {
        self.files
            .get(path)
            .map_or_else(|| path.display().to_string(), |k| k.discovered.name.clone())
    }

    /// The file a known test is in.
    pub fn file_of(&self, test: &str) -> Option<PathBuf> {
        let known = self.files.values().find(|k| k.tests.contains_key(test))?;
        Some(known.discovered.path.clone())
    }
}

/// Milliseconds since `start`, as a float with microseconds.
pub fn elapsed_ms(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1000.0
}
