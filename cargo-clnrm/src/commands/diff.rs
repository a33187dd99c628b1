//! `cargo clnrm diff`: two scenario files, two span files, or a file at a
//! git revision against its working copy, as trees diffed by the core
//! (`clnrm_core::tree`). Exits as diff(1) does: 0 equal, 1 different, 2 bad
//! input.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use clnrm_core::diagnostic::Tally;
use clnrm_core::discover::DiscoveredFile;
use clnrm_core::pipeline::{FileReport, Pipeline};
use clnrm_core::render::{FileSystem, TemplateReader};
use clnrm_core::source::{SourceFile, decode_source, read_bounded};
use clnrm_core::suite::SuiteBuilder;
use clnrm_core::tree::{
    ExpectationTree, Mark, Node, NodeChange, NodeId, NodeKind, SpanFileError, TreeDiff, diff,
    diff_with_moves, looks_like_span_file, read_span_trees,
};
use serde::Serialize;

use crate::cli::{DiffArgs, InputArgs, MessageFormat, WorkspaceArgs};
use crate::diagnostics::{FORMAT_VERSION, JsonDiagnostic, render_human};
use crate::error::{CliError, exit};

/// One side of the comparison.
#[derive(Debug)]
struct Side {
    /// How it is named in output: the path as given, or `REV:path`.
    shown: String,
    /// The file in the working copy (templates are found next to it; the
    /// revision's side reads them at the revision).
    path: PathBuf,
    text: String,
}

/// What a side holds, told by its content first, then by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InputKind {
    Scenario,
    Spans,
}

impl InputKind {
    /// Spans when the text starts as JSON does, or the name ends in `.json`,
    /// `.jsonl` or `.ndjson`; otherwise a scenario file (TOML or a template).
    fn of(side: &Side) -> Self {
        let json_name = (side.path.extension()).is_some_and(|e| {
            ["json", "jsonl", "ndjson"]
                .iter()
                .any(|j| e.eq_ignore_ascii_case(j))
        });
        if looks_like_span_file(&side.text) || json_name {
            InputKind::Spans
        } else {
            InputKind::Scenario
        }
    }

    fn noun(self) -> &'static str {
        match self {
            InputKind::Scenario => "a scenario file",
            InputKind::Spans => "a span file",
        }
    }

    fn json_name(self) -> &'static str {
        match self {
            InputKind::Scenario => "scenario",
            InputKind::Spans => "spans",
        }
    }
}

/// The diff of one `[matrix]` combination (the label is empty without one).
#[derive(Debug)]
struct Labelled {
    label: String,
    diff: TreeDiff,
}

pub fn run(
    args: &DiffArgs,
    color: bool,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<u8, CliError> {
    let (old, new) = sides(args)?;
    let kind = InputKind::of(&old);
    let new_kind = InputKind::of(&new);
    if kind != new_kind {
        return Err(CliError::Usage(format!(
            "cannot compare {} with {}: `{}` is {}, `{}` is {}",
            kind.noun(),
            new_kind.noun(),
            old.shown,
            kind.noun(),
            new.shown,
            new_kind.noun(),
        )));
    }
    let diffs = match kind {
        InputKind::Scenario => {
            let builder = suite_builder(args)?;
            let old_pipeline = match &args.rev {
                Some(rev) => {
                    let imports = ImportsAtRevision::new(rev, &old.path)?;
                    builder.pipeline().with_template_reader(Arc::new(imports))
                }
                None => builder.pipeline(),
            };
            let format = args.message_format;
            let old_trees = scenario_trees(&old_pipeline, &old, format, color, stdout, stderr)?;
            let new_trees =
                scenario_trees(&builder.pipeline(), &new, format, color, stdout, stderr)?;
            scenario_diffs(&old_trees, &new_trees)
        }
        InputKind::Spans => {
            let (old_tree, new_tree) = read_span_trees(&old.text, &new.text);
            let (old_tree, new_tree) = (located(&old, old_tree)?, located(&new, new_tree)?);
            vec![Labelled {
                label: String::new(),
                diff: diff_with_moves(&old_tree, &new_tree),
            }]
        }
    };
    let equal = diffs.iter().all(|d| d.diff.is_empty());
    match args.message_format {
        MessageFormat::Json => write_json(kind, &old, &new, &diffs, stdout)?,
        MessageFormat::Human => write_human(&diffs, color, stdout)?,
    }
    Ok(if equal { exit::SUCCESS } else { exit::PROBLEMS })
}

/// The largest file `diff` reads: traces of many thousand spans run to
/// megabytes.
const MAX_DIFF_INPUT_BYTES: u64 = 256 * 1024 * 1024;

/// The two sides: A and B, or A at `--rev` and A.
fn sides(args: &DiffArgs) -> Result<(Side, Side), CliError> {
    let working = |path: &Path| -> Result<Side, CliError> {
        let cannot = |e: &dyn std::fmt::Display| {
            CliError::Usage(format!("cannot read `{}`: {e}", path.display()))
        };
        // Never opened if it is a FIFO or a device: a diff must not block.
        let bytes = read_bounded(path, MAX_DIFF_INPUT_BYTES).map_err(|e| cannot(&e))?;
        let text = decode_source(bytes).map_err(|e| {
            let at = e.location;
            CliError::Usage(format!(
                "{}:{}:{}: {}",
                path.display(),
                at.line,
                at.column,
                e.problem
            ))
        })?;
        Ok(Side {
            shown: shown(path),
            path: path.to_path_buf(),
            text,
        })
    };
    match (&args.rev, &args.new) {
        (Some(rev), _) => {
            let new = working(&args.old)?;
            let old = Side {
                shown: format!("{rev}:{}", new.shown),
                path: new.path.clone(),
                text: at_revision(rev, &args.old)?,
            };
            Ok((old, new))
        }
        (None, Some(b)) => Ok((working(&args.old)?, working(b)?)),
        // clap requires B without --rev.
        (None, None) => Err(CliError::Usage("B is required without --rev".into())),
    }
}

fn shown(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

/// The folder `path` is in, where git runs for it (`.` for a bare name).
fn folder(path: &Path) -> &Path {
    (path.parent())
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Why git gave no output.
#[derive(Debug)]
enum GitError {
    /// It did not start.
    Run(io::Error),
    /// It failed, with its reason (the lines of its stderr).
    Failed(String),
}

/// `git ARGS` in `dir`: its stdout when it succeeds.
fn git(dir: &Path, args: &[&str]) -> Result<Vec<u8>, GitError> {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(GitError::Run)?;
    if output.status.success() {
        return Ok(output.stdout);
    }
    let reason = String::from_utf8_lossy(&output.stderr);
    let reason: Vec<&str> = reason
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    Err(GitError::Failed(reason.join("; ")))
}

/// `git show REV:./NAME` in the file's folder: the file as git has it at `rev`.
fn at_revision(rev: &str, path: &Path) -> Result<String, CliError> {
    let cannot = |reason: String| {
        CliError::Usage(format!(
            "cannot read `{}` at revision `{rev}`: {reason}",
            path.display()
        ))
    };
    let name = path
        .file_name()
        .ok_or_else(|| cannot("not a file name".into()))?;
    let spec = format!("{rev}:./{}", name.to_string_lossy());
    let bytes = git(folder(path), &["show", &spec]).map_err(|e| match e {
        GitError::Run(e) => cannot(format!("cannot run git: {e}")),
        GitError::Failed(reason) => cannot(format!("`git show {spec}` failed: {reason}")),
    })?;
    String::from_utf8(bytes).map_err(|_| cannot("it is not UTF-8 text".into()))
}

/// The revision's side reads the templates it imports at the revision too:
/// `git cat-file blob REV:<path in the repository>` for each one inside the
/// repository. One outside it is read from the file system, as the working
/// copy's; one that is no file at the revision is not there (so the shipped
/// macro library stands in for a missing `_macros.toml.tera`).
#[derive(Debug)]
struct ImportsAtRevision {
    rev: String,
    /// The scenario file's folder as the pipeline sees it (import paths start
    /// with it).
    dir: PathBuf,
    /// Where git runs: that folder, `.` for none.
    run_in: PathBuf,
    /// That folder in the repository, `tests/clnrm/` (`git rev-parse --show-prefix`).
    prefix: String,
}

impl ImportsAtRevision {
    /// For the file at `path`, whose own text was read at `rev` (so git
    /// knows both the revision and the repository).
    fn new(rev: &str, path: &Path) -> Result<Self, CliError> {
        let prefix = git(folder(path), &["rev-parse", "--show-prefix"]).map_err(|e| {
            let reason = match e {
                GitError::Run(e) => format!("cannot run git: {e}"),
                GitError::Failed(reason) => reason,
            };
            CliError::Usage(format!(
                "cannot find `{}` in its git repository: {reason}",
                path.display()
            ))
        })?;
        Ok(Self {
            rev: rev.to_string(),
            dir: path.parent().map(Path::to_path_buf).unwrap_or_default(),
            run_in: folder(path).to_path_buf(),
            prefix: String::from_utf8_lossy(&prefix).trim_end().to_string(),
        })
    }

    /// `path`'s place from the repository's top folder, `tests/clnrm/m.tera`;
    /// `None` outside the repository.
    fn in_repository(&self, path: &Path) -> Option<String> {
        let below = path.strip_prefix(&self.dir).ok()?;
        let mut parts: Vec<String> = (self.prefix.split('/'))
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect();
        for part in below.components() {
            match part {
                Component::Normal(name) => parts.push(name.to_str()?.to_string()),
                Component::CurDir => {}
                Component::ParentDir => {
                    parts.pop()?;
                }
                Component::RootDir | Component::Prefix(_) => return None,
            }
        }
        Some(parts.join("/"))
    }
}

impl TemplateReader for ImportsAtRevision {
    fn read(&self, path: &Path) -> io::Result<Option<String>> {
        let Some(in_repository) = self.in_repository(path) else {
            return FileSystem.read(path);
        };
        let spec = format!("{}:{in_repository}", self.rev);
        match git(&self.run_in, &["cat-file", "blob", &spec]) {
            Ok(bytes) => String::from_utf8(bytes)
                .map(Some)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "it is not UTF-8 text")),
            // The revision is known (the file was read at it): no file there.
            Err(GitError::Failed(_)) => Ok(None),
            Err(GitError::Run(e)) => Err(e),
        }
    }

    fn named(&self, path: &Path) -> Option<String> {
        (self.in_repository(path)).map(|_| format!("{}:{}", self.rev, shown(path)))
    }
}

/// The suite builder `validate` reads files with, under the current
/// directory's configuration and `--var`.
fn suite_builder(args: &DiffArgs) -> Result<SuiteBuilder, CliError> {
    let input = InputArgs {
        workspace: WorkspaceArgs::default(),
        paths: Vec::new(),
        vars: args.vars.clone(),
        message_format: args.message_format,
        roots: Vec::new(),
        strict: false,
    };
    let config = super::workspace::config(&input)?;
    Ok(super::workspace::suite_builder(&input, config))
}

/// The file's tree per `[matrix]` combination; a file with errors prints its
/// diagnostics as `validate` does and is a usage error.
fn scenario_trees(
    pipeline: &Pipeline,
    side: &Side,
    format: MessageFormat,
    color: bool,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<Vec<(String, ExpectationTree)>, CliError> {
    let discovered = DiscoveredFile {
        name: shown(&side.path),
        path: side.path.clone(),
        root: side
            .path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default(),
    };
    let report: FileReport = pipeline.process_text(&discovered, side.text.clone());
    if report.has_errors() {
        // Named as shown (`REV:path` for the revision's text).
        let source = SourceFile::new(&side.shown, report.source.text());
        for diagnostic in &report.diagnostics {
            match format {
                MessageFormat::Json => {
                    let line = JsonDiagnostic::new(diagnostic, &source);
                    serde_json::to_writer(&mut *stdout, &line).map_err(io::Error::other)?;
                    writeln!(stdout)?;
                }
                MessageFormat::Human => {
                    writeln!(stderr, "{}\n", render_human(diagnostic, &source, color))?;
                }
            }
        }
        let errors = Tally::of(&report.diagnostics).errors;
        return Err(CliError::Usage(format!(
            "`{}` has {errors} error{}: nothing to compare",
            side.shown,
            if errors == 1 { "" } else { "s" }
        )));
    }
    Ok((report.variants.iter())
        .filter_map(|v| {
            let tree = ExpectationTree::from_file(v.file.as_ref()?);
            Some((v.combination.label(), tree))
        })
        .collect())
}

/// Combinations paired by label, as `watch` pairs them: one only in A is
/// all removed, one only in B all added.
fn scenario_diffs(
    old: &[(String, ExpectationTree)],
    new: &[(String, ExpectationTree)],
) -> Vec<Labelled> {
    let empty = ExpectationTree {
        root: Node {
            id: NodeId("file".into()),
            kind: NodeKind::File,
            label: "file".into(),
            fields: BTreeMap::new(),
            children: Vec::new(),
        },
    };
    let mut out: Vec<Labelled> = (new.iter())
        .map(|(label, tree)| Labelled {
            label: label.clone(),
            diff: diff(find(old, label).unwrap_or(&empty), tree),
        })
        .collect();
    for (label, tree) in old.iter().filter(|(l, _)| find(new, l).is_none()) {
        out.push(Labelled {
            label: label.clone(),
            diff: diff(tree, &empty),
        });
    }
    out
}

fn find<'t>(trees: &'t [(String, ExpectationTree)], label: &str) -> Option<&'t ExpectationTree> {
    (trees.iter().find(|(l, _)| l == label)).map(|(_, t)| t)
}

/// A span file's first bad line as a usage error at `path:line:col`.
fn located(
    side: &Side,
    tree: Result<ExpectationTree, SpanFileError>,
) -> Result<ExpectationTree, CliError> {
    tree.map_err(|e| {
        let column = e.column.map(|c| format!(":{c}")).unwrap_or_default();
        CliError::Usage(format!("{}:{}{column}: {e}", side.shown, e.line))
    })
}

fn paint(mark: Mark) -> &'static str {
    match mark {
        Mark::Removed => "\u{1b}[31m",
        Mark::Added => "\u{1b}[32m",
        Mark::Changed => "\u{1b}[33m",
        Mark::Moved => "\u{1b}[36m",
    }
}

/// The compact form `watch` prints, a `[label]` line before each changed
/// combination, then the counts; `(no changes)` when equal.
fn write_human(diffs: &[Labelled], color: bool, out: &mut dyn Write) -> io::Result<()> {
    let changed: Vec<&Labelled> = diffs.iter().filter(|d| !d.diff.is_empty()).collect();
    if changed.is_empty() {
        return writeln!(out, "(no changes)");
    }
    let mut counts = [0; 4];
    for d in changed {
        if !d.label.is_empty() {
            writeln!(out, "[{}]", d.label)?;
        }
        for line in d.diff.lines() {
            let sign = line.mark.sign();
            if color {
                writeln!(out, "{}{sign} {}\u{1b}[0m", paint(line.mark), line.text)?;
            } else {
                writeln!(out, "{sign} {}", line.text)?;
            }
        }
        let lists = [
            &d.diff.added,
            &d.diff.removed,
            &d.diff.changed,
            &d.diff.moved,
        ];
        for (count, list) in counts.iter_mut().zip(lists) {
            *count += list.len();
        }
    }
    let [added, removed, changed, moved] = counts;
    writeln!(
        out,
        "{added} added, {removed} removed, {changed} changed, {moved} moved"
    )
}

/// One node in a JSON list, with its combination when the file has a matrix.
#[derive(Debug, Serialize)]
struct Entry<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    combination: Option<&'a str>,
    #[serde(flatten)]
    change: &'a NodeChange,
}

#[derive(Debug, Serialize)]
struct Finished<'a> {
    reason: &'static str,
    format_version: u32,
    input: &'static str,
    old: &'a str,
    new: &'a str,
    equal: bool,
    added: Vec<Entry<'a>>,
    removed: Vec<Entry<'a>>,
    changed: Vec<Entry<'a>>,
    moved: Vec<Entry<'a>>,
}

fn write_json(
    kind: InputKind,
    old: &Side,
    new: &Side,
    diffs: &[Labelled],
    out: &mut dyn Write,
) -> io::Result<()> {
    let entries = |list: fn(&TreeDiff) -> &Vec<NodeChange>| -> Vec<Entry<'_>> {
        (diffs.iter())
            .flat_map(|d| {
                let combination = (!d.label.is_empty()).then_some(d.label.as_str());
                list(&d.diff).iter().map(move |change| Entry {
                    combination,
                    change,
                })
            })
            .collect()
    };
    let finished = Finished {
        reason: "diff-finished",
        format_version: FORMAT_VERSION,
        input: kind.json_name(),
        old: &old.shown,
        new: &new.shown,
        equal: diffs.iter().all(|d| d.diff.is_empty()),
        added: entries(|d| &d.added),
        removed: entries(|d| &d.removed),
        changed: entries(|d| &d.changed),
        moved: entries(|d| &d.moved),
    };
    serde_json::to_writer(&mut *out, &finished).map_err(io::Error::other)?;
    writeln!(out)
}
