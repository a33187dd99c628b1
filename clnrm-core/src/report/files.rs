//! Report files: each scenario file's `[report]` (JSON, JUnit, digest, at
//! paths relative to the file's folder) and a folder with the whole run's
//! (`--report-dir`). A sink of the event stream: it keeps the finished tests
//! and writes every file when the suite finishes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::outcome::TestFinished;
use crate::runner::Event;
use crate::scenario::ScenarioFile;
use crate::suite::SuiteTest;

use super::json::{JsonOptions, json_report, report_digest};
use super::junit::{JunitOptions, junit_report};
use super::normalise::Normaliser;

/// The names of the run's files in a report folder.
pub const DIR_JSON: &str = "report.json";
pub const DIR_JUNIT: &str = "junit.xml";
pub const DIR_DIGEST: &str = "report.sha256";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Json,
    Junit,
    Digest,
}

/// The report files of a suite, and the tests they are written from.
#[derive(Debug, Clone)]
pub struct ReportFiles {
    /// Each `[report]` path (resolved), with the tests of the files naming it.
    targets: BTreeMap<(PathBuf, Kind), BTreeSet<String>>,
    dir: Option<PathBuf>,
    /// Tests of files with `[determinism]`: their JSON entries are normalised.
    deterministic: BTreeSet<String>,
    normaliser: Normaliser,
    finished: Vec<TestFinished>,
}

/// The model a test's `[report]` and `[determinism]` are read from: its
/// variant's, or for a file with errors the first that was parsed.
fn model_of(test: &SuiteTest) -> Option<&ScenarioFile> {
    let variants = &test.report.variants;
    match test.planned.target {
        Some(target) => variants.get(target.variant)?.file.as_ref(),
        None => variants.iter().find_map(|v| v.file.as_ref()),
    }
}

impl ReportFiles {
    /// The `[report]` files of these tests' scenario files; paths are taken
    /// relative to each file's folder. The reports' paths are normalised
    /// relative to the working directory.
    pub fn new(tests: &[SuiteTest]) -> Self {
        let mut targets: BTreeMap<(PathBuf, Kind), BTreeSet<String>> = BTreeMap::new();
        let mut deterministic = BTreeSet::new();
        for test in tests {
            let Some(model) = model_of(test) else {
                continue;
            };
            if model.determinism.is_some() {
                deterministic.insert(test.name().to_string());
            }
            let Some(report) = &model.report else {
                continue;
            };
            let folder = test
                .report
                .discovered
                .path
                .parent()
                .unwrap_or(Path::new(""));
            let paths = [
                (&report.json, Kind::Json),
                (&report.junit, Kind::Junit),
                (&report.digest, Kind::Digest),
            ];
            for (path, kind) in paths {
                if let Some(path) = path.as_deref().filter(|p| !p.is_empty()) {
                    (targets.entry((folder.join(path), kind)).or_default())
                        .insert(test.name().to_string());
                }
            }
        }
        let normaliser = match std::env::current_dir() {
            Ok(cwd) => Normaliser::new().relative_to(&cwd),
            Err(_) => Normaliser::new(),
        };
        Self {
            targets,
            dir: None,
            deterministic,
            normaliser,
            finished: Vec::new(),
        }
    }

    /// Paths in the reports are written relative to `base` instead of the
    /// working directory (a driver writing for a package elsewhere, as its
    /// test binary, run in the package's folder, would have).
    pub fn relative_to(mut self, base: &Path) -> Self {
        self.normaliser = Normaliser::new().relative_to(base);
        self
    }

    /// Also the whole run's `report.json`, `junit.xml` and `report.sha256` in `dir`.
    pub fn in_dir(mut self, dir: PathBuf) -> Self {
        self.dir = Some(dir);
        self
    }

    /// Whether there is anything to write.
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty() && self.dir.is_none()
    }

    /// A sink of the run's events: keeps each finished test and writes the
    /// files when the suite finishes; the files written, then.
    pub fn record(&mut self, event: &Event) -> std::io::Result<Vec<PathBuf>> {
        match event {
            Event::TestFinished(finished) if !self.is_empty() => {
                self.finished.push(finished.clone());
                Ok(Vec::new())
            }
            Event::SuiteFinished(_) => self.write(&self.finished),
            _ => Ok(Vec::new()),
        }
    }

    /// Writes every file from `finished`, creating missing folders: a
    /// `[report]` file holds the tests of its scenario files that finished
    /// (none finished, it is left alone); the folder's, every test. The
    /// first file that cannot be written stops it, its path in the error.
    pub fn write(&self, finished: &[TestFinished]) -> std::io::Result<Vec<PathBuf>> {
        let mut written = Vec::new();
        for ((path, kind), names) in &self.targets {
            let tests: Vec<TestFinished> = (finished.iter())
                .filter(|t| names.contains(&t.name))
                .cloned()
                .collect();
            if tests.is_empty() {
                continue;
            }
            write_file(path, &self.render(*kind, &tests))?;
            written.push(path.clone());
        }
        if let Some(dir) = &self.dir {
            for (name, kind) in [
                (DIR_JSON, Kind::Json),
                (DIR_JUNIT, Kind::Junit),
                (DIR_DIGEST, Kind::Digest),
            ] {
                let path = dir.join(name);
                write_file(&path, &self.render(kind, finished))?;
                written.push(path);
            }
        }
        Ok(written)
    }

    fn render(&self, kind: Kind, tests: &[TestFinished]) -> String {
        match kind {
            Kind::Json => {
                let options = JsonOptions::normalised_only(
                    self.normaliser.clone(),
                    self.deterministic.clone(),
                );
                json_report(tests, &options)
            }
            Kind::Junit => junit_report(tests, JunitOptions::default()),
            Kind::Digest => format!("{}\n", report_digest(tests, &self.normaliser)),
        }
    }
}

/// Written aside then renamed, so a reader never sees half a report.
fn write_file(path: &Path, text: &str) -> std::io::Result<()> {
    let with_path = |e: std::io::Error| {
        std::io::Error::new(
            e.kind(),
            format!("cannot write the report `{}`: {e}", path.display()),
        )
    };
    if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder).map_err(with_path)?;
    }
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let partial = path.with_file_name(format!(".{name}.partial"));
    std::fs::write(&partial, text).map_err(with_path)?;
    std::fs::rename(&partial, path).map_err(with_path)?;
    tracing::debug!(path = %path.display(), "report written");
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::Config;
    use crate::outcome::{FileLocation, Outcome};
    use crate::runner::SuiteSummary;
    use crate::suite::SuiteBuilder;

    fn scenario(name: &str, extra: &str) -> String {
        format!(
            "[meta]\nname = \"{name}\"\nbackend = \"local\"\n{extra}\n[[steps]]\nname = \"s\"\ncommand = [\"true\"]\n"
        )
    }

    fn finished(name: &str, millis: u64) -> TestFinished {
        TestFinished::new(
            name.into(),
            FileLocation::new("x.clnrm.toml", 1, 1),
            Outcome::Passed,
            Duration::from_millis(millis),
        )
    }

    fn suite_of(root: &Path) -> crate::suite::Suite {
        let config = Config {
            roots: vec![root.to_path_buf()],
            ..Config::default()
        };
        SuiteBuilder::new(config).build().expect("suite")
    }

    #[test]
    fn each_file_writes_its_own_tests_relative_to_its_folder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sub = dir.path().join("sub");
        std::fs::create_dir_all(&sub).expect("mkdir");
        std::fs::write(
            sub.join("a.clnrm.toml"),
            scenario(
                "a",
                "\n[report]\njson = \"out/deep/a.json\"\ndigest = \"out/a.sha256\"\n\n[determinism]\nseed = 1\n",
            ),
        )
        .expect("write");
        std::fs::write(
            dir.path().join("b.clnrm.toml"),
            scenario("b", "\n[report]\njunit = \"b.xml\"\n"),
        )
        .expect("write");
        std::fs::write(dir.path().join("c.clnrm.toml"), scenario("c", "")).expect("write");
        let suite = suite_of(dir.path());
        let run_dir = dir.path().join("run");
        let mut files = ReportFiles::new(&suite.tests).in_dir(run_dir.clone());
        for name in ["sub/a.clnrm.toml::a", "b.clnrm.toml::b", "c.clnrm.toml::c"] {
            let event = Event::TestFinished(finished(name, 7));
            assert!(files.record(&event).expect("record").is_empty());
        }
        let written = files
            .record(&Event::SuiteFinished(SuiteSummary::default()))
            .expect("write");
        assert_eq!(written.len(), 6, "{written:?}");

        let a_text = std::fs::read_to_string(sub.join("out/deep/a.json")).expect("a.json");
        let a: serde_json::Value = serde_json::from_str(&a_text).expect("json");
        assert_eq!(a["summary"]["tests"], 1);
        assert_eq!(a["tests"][0]["name"], "sub/a.clnrm.toml::a");
        assert_eq!(a["tests"][0]["duration_ms"], 0, "normalised: [determinism]");
        let digest = std::fs::read_to_string(sub.join("out/a.sha256")).expect("digest");
        // Normalised, the file is what the digest is taken of (`sha256sum` agrees).
        assert_eq!(digest, format!("{}\n", super::super::digest(&a_text)));
        let b = std::fs::read_to_string(dir.path().join("b.xml")).expect("b.xml");
        assert_eq!(b.matches("<testcase").count(), 1, "{b}");

        let all: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(run_dir.join(DIR_JSON)).expect("report.json"),
        )
        .expect("json");
        assert_eq!(all["summary"]["tests"], 3);
        // Only the test of the file with `[determinism]` is normalised.
        assert_eq!(all["tests"][0]["name"], "b.clnrm.toml::b");
        assert_eq!(all["tests"][0]["duration_ms"], 7);
        assert_eq!(all["tests"][2]["duration_ms"], 0);
        assert!(run_dir.join(DIR_JUNIT).is_file() && run_dir.join(DIR_DIGEST).is_file());
        // No `.partial` files are left behind.
        let left: Vec<_> = std::fs::read_dir(&run_dir)
            .expect("dir")
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".partial"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }

    #[test]
    fn a_file_none_of_whose_tests_finished_is_left_alone() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("a.clnrm.toml"),
            scenario("a", "\n[report]\njson = \"a.json\"\n"),
        )
        .expect("write");
        let suite = suite_of(dir.path());
        let files = ReportFiles::new(&suite.tests);
        assert!(!files.is_empty());
        assert!(files.write(&[]).expect("write").is_empty());
        assert!(!dir.path().join("a.json").exists());
        assert!(ReportFiles::new(&[]).is_empty());
    }

    #[test]
    fn a_report_that_cannot_be_written_names_its_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, "").expect("write");
        let files = ReportFiles::new(&[]).in_dir(blocker.join("reports"));
        let error = files.write(&[]).expect_err("a file is in the way");
        assert!(
            error.to_string().contains(&format!(
                "cannot write the report `{}`",
                blocker.join("reports").join(DIR_JSON).display()
            )),
            "{error}"
        );
    }
}
