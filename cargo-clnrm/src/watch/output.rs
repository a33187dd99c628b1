//! What watch prints: readable lines on stderr, or one JSON object per line
//! on stdout with cargo's `reason` field.

use std::io::{IsTerminal, Write};
use std::path::Path;

use clnrm_core::cache::CacheStats;
use clnrm_core::runner::TestFinished;
use clnrm_core::tree::TreeDiff;
use serde::Serialize;
use serde_json::json;

use super::session::{FileDiff, Validated};
use crate::cli::MessageFormat;
use crate::diagnostics::{FORMAT_VERSION, JsonDiagnostic, render_human};
use crate::reporters::{test_finished_human, test_finished_json};

pub struct Printer<'a> {
    pub format: MessageFormat,
    pub color: bool,
    pub stats: bool,
    pub clear: bool,
    pub stdout: &'a mut dyn Write,
    pub stderr: &'a mut dyn Write,
}

impl std::fmt::Debug for Printer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Printer")
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

fn path_text(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

#[derive(Debug, Serialize)]
struct CacheJson {
    hits: u64,
    misses: u64,
    hit_rate: f64,
}

impl From<CacheStats> for CacheJson {
    fn from(s: CacheStats) -> Self {
        Self {
            hits: s.hits,
            misses: s.misses,
            hit_rate: s.hit_rate(),
        }
    }
}

impl Printer<'_> {
    fn json(&mut self, mut value: serde_json::Value) -> std::io::Result<()> {
        value["format_version"] = json!(FORMAT_VERSION);
        writeln!(self.stdout, "{value}")?;
        self.stdout.flush()
    }

    fn human(&mut self, line: std::fmt::Arguments<'_>) -> std::io::Result<()> {
        writeln!(self.stderr, "{line}")?;
        self.stderr.flush()
    }

    fn is_json(&self) -> bool {
        self.format == MessageFormat::Json
    }

    /// Clears the screen before a round of feedback (`--clear`, terminals only).
    pub fn new_round(&mut self) -> std::io::Result<()> {
        if self.clear && !self.is_json() && std::io::stderr().is_terminal() {
            write!(self.stderr, "\x1b[2J\x1b[H")?;
        }
        Ok(())
    }

    pub fn started(
        &mut self,
        dirs: &[std::path::PathBuf],
        files: usize,
        with_errors: usize,
        elapsed_ms: f64,
        run: bool,
        cache: CacheStats,
    ) -> std::io::Result<()> {
        if self.is_json() {
            let dirs: Vec<String> = dirs.iter().map(|d| path_text(d)).collect();
            return self.json(json!({
                "reason": "watch-started",
                "roots": dirs,
                "files": files,
                "files_with_errors": with_errors,
                "elapsed_ms": elapsed_ms,
                "run": run,
                "cache": CacheJson::from(cache),
            }));
        }
        let dirs: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
        let keys = if run {
            "keys: r re-run, a run all, f run the failed, q quit"
        } else {
            "keys: q quit"
        };
        self.human(format_args!(
            "watching {files} file{} in {} ({with_errors} with errors); {keys}",
            if files == 1 { "" } else { "s" },
            dirs.join(", "),
        ))
    }

    pub fn validated(
        &mut self,
        v: &Validated,
        elapsed_ms: f64,
        cache: CacheStats,
    ) -> std::io::Result<()> {
        let report = &v.report;
        if self.is_json() {
            for d in &report.diagnostics {
                let line = serde_json::to_value(JsonDiagnostic::new(d, &report.source))
                    .map_err(std::io::Error::other)?;
                writeln!(self.stdout, "{line}")?;
            }
            return self.json(json!({
                "reason": "validated",
                "file": path_text(report.source.path()),
                "name": report.discovered.name,
                "added": v.added,
                "errors": v.tally.errors,
                "warnings": v.tally.warnings,
                "elapsed_ms": elapsed_ms,
                "cache_hit": v.cache_hit,
                "cache": CacheJson::from(cache),
            }));
        }
        for d in &report.diagnostics {
            let text = render_human(d, &report.source, self.color);
            self.human(format_args!("{text}\n"))?;
        }
        let what = if v.added { "added" } else { "changed" };
        let hit = if v.cache_hit {
            ", render cache hit"
        } else {
            ""
        };
        self.human(format_args!(
            "{what}: {}: {} error{}, {} warning{} ({elapsed_ms:.1} ms{hit})",
            report.discovered.name,
            v.tally.errors,
            if v.tally.errors == 1 { "" } else { "s" },
            v.tally.warnings,
            if v.tally.warnings == 1 { "" } else { "s" },
        ))?;
        if self.stats {
            self.human(format_args!(
                "render cache: {} hits, {} misses ({:.0}% hit rate), {} entries",
                cache.hits,
                cache.misses,
                cache.hit_rate() * 100.0,
                cache.entries
            ))?;
        }
        Ok(())
    }

    pub fn diff(&mut self, name: &str, d: &FileDiff) -> std::io::Result<()> {
        if self.is_json() {
            let combinations: Vec<serde_json::Value> = (d.diffs.iter())
                .map(|(label, diff)| json!({ "combination": label, "diff": diff }))
                .collect();
            return self.json(json!({
                "reason": "diff",
                "file": path_text(&d.file),
                "name": name,
                "comment_only": d.is_comment_only(),
                "fixed": d.fixed,
                "combinations": combinations,
            }));
        }
        if d.is_comment_only() {
            return self.human(format_args!("  comment-only change"));
        }
        if d.fixed {
            let same = if d.diffs.is_empty() {
                ", with the same expectations as the last valid version"
            } else {
                "; against the last valid version:"
            };
            self.human(format_args!("  fixed: the file is valid again{same}"))?;
        }
        for (label, diff) in &d.diffs {
            if !label.is_empty() {
                self.human(format_args!("  [{label}]"))?;
            }
            self.tree_diff(diff)?;
        }
        Ok(())
    }

    fn tree_diff(&mut self, diff: &TreeDiff) -> std::io::Result<()> {
        for line in diff.to_string().lines() {
            self.human(format_args!("  {line}"))?;
        }
        Ok(())
    }

    pub fn removed(&mut self, file: &Path, name: &str) -> std::io::Result<()> {
        if self.is_json() {
            return self
                .json(json!({ "reason": "removed", "file": path_text(file), "name": name }));
        }
        self.human(format_args!("removed: {name}"))
    }

    pub fn stale(&mut self, test: &str) -> std::io::Result<()> {
        if self.is_json() {
            return self.json(json!({ "reason": "stale", "name": test }));
        }
        self.human(format_args!(
            "stale: {test} (a change is pending; it runs again)"
        ))
    }

    pub fn run_started(&mut self, test: &str) -> std::io::Result<()> {
        if self.is_json() {
            return self.json(json!({ "reason": "run-started", "name": test }));
        }
        self.human(format_args!("     RUN {test}"))
    }

    /// A test's end, in the shape `run` reports it.
    pub fn test_finished(&mut self, finished: &TestFinished, stale: bool) -> std::io::Result<()> {
        if self.is_json() {
            return self.json(test_finished_json(finished, stale));
        }
        let suffix = if stale { " (stale: it runs again)" } else { "" };
        let text = test_finished_human(finished, self.color, suffix);
        self.human(format_args!("{}", text.trim_end()))
    }

    /// Nothing runs or waits any more: the round's totals.
    pub fn run_finished(&mut self, passed: usize, failed: usize) -> std::io::Result<()> {
        if self.is_json() {
            return self.json(json!({
                "reason": "run-finished",
                "passed": passed,
                "failed": failed,
            }));
        }
        self.human(format_args!("{passed} passed, {failed} failed"))
    }

    pub fn note(&mut self, message: &str) -> std::io::Result<()> {
        if self.is_json() {
            return self.json(json!({ "reason": "watch-note", "message": message }));
        }
        self.human(format_args!("{message}"))
    }

    pub fn finished(&mut self) -> std::io::Result<()> {
        if self.is_json() {
            return self.json(json!({ "reason": "watch-finished" }));
        }
        self.human(format_args!("watch stopped"))
    }
}
