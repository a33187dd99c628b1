//! [`SuiteBuilder`]: from a driver's inputs to a [`Suite`].

use std::path::PathBuf;
use std::sync::Arc;

use crate::backend::engine_status;
use crate::config::Config;
use crate::discover::{DiscoveredFile, Discovery, discover};
use crate::executor::{RunSettings, needs_engine};
use crate::pipeline::{FileReport, Pipeline, process_all};
use crate::plan::plan;
use crate::render::VarInputs;
use crate::validate::ValidateOptions;

use super::test::SuiteTest;

/// Something the driver should show, that stops nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SuiteWarning {
    /// The file or folder it is about, if any.
    pub path: Option<PathBuf>,
    pub message: String,
    no_files: bool,
}

impl SuiteWarning {
    /// The warning that no scenario file was found.
    pub fn is_no_files(&self) -> bool {
        self.no_files
    }
}

impl std::fmt::Display for SuiteWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.path {
            Some(path) => write!(f, "{}: {}", path.display(), self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// What stops a suite from being built: a usage error (exit 2).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SuiteError {
    /// A path named by the driver does not exist or cannot be read.
    #[error("`{}`: {message}", path.display())]
    Path { path: PathBuf, message: String },
}

/// The tests to run, with every file's report and the settings they run under.
#[derive(Debug)]
pub struct Suite {
    pub config: Config,
    pub settings: Arc<RunSettings>,
    /// Every file read, in discovery order (broken ones included).
    pub reports: Vec<Arc<FileReport>>,
    /// The tests, in file order then declaration order, after the tag filter.
    pub tests: Vec<SuiteTest>,
    pub warnings: Vec<SuiteWarning>,
}

/// Builds a [`Suite`]. Every driver (`run`, `list`, `validate`, `watch`, the
/// harness, `test --junit`) goes through here, so they agree on names,
/// filters and settings.
#[derive(Debug, Clone)]
pub struct SuiteBuilder {
    config: Config,
    settings: Option<RunSettings>,
    record_trace: bool,
    paths: Vec<PathBuf>,
    exact_file_of: Option<String>,
    tags: Vec<String>,
    vars: Vec<(String, String)>,
    include_ignored: bool,
    skip_unavailable: bool,
    binaries_folder: Option<PathBuf>,
}

impl SuiteBuilder {
    /// A suite of every scenario under the configured roots;
    /// `CLNRM_SKIP_UNAVAILABLE` comes from the environment unless set here.
    pub fn new(config: Config) -> Self {
        Self {
            config,
            settings: None,
            record_trace: false,
            paths: Vec::new(),
            exact_file_of: None,
            tags: Vec::new(),
            vars: Vec::new(),
            include_ignored: false,
            skip_unavailable: crate::config::skip_unavailable(),
            binaries_folder: None,
        }
    }

    /// Files or folders to read instead of the roots; each must exist.
    pub fn paths(mut self, paths: Vec<PathBuf>) -> Self {
        self.paths = paths;
        self
    }

    /// Only the file a test name points at (the part before `::`) is read:
    /// a suite of one test costs the same among ten files or ten thousand.
    pub fn only_file_of(mut self, test_name: impl Into<String>) -> Self {
        self.exact_file_of = Some(test_name.into());
        self
    }

    /// Only scenarios with one of these tags (a broken file is always kept).
    pub fn tags(mut self, tags: Vec<String>) -> Self {
        self.tags = tags;
        self
    }

    /// `--var k=v`: template variables over `[vars]`.
    pub fn vars(mut self, vars: Vec<(String, String)>) -> Self {
        self.vars = vars;
        self
    }

    /// Run `[meta] ignore`d scenarios too.
    pub fn include_ignored(mut self, yes: bool) -> Self {
        self.include_ignored = yes;
        self
    }

    /// Ignore the scenarios that need a container engine when none answers.
    pub fn skip_unavailable(mut self, yes: bool) -> Self {
        self.skip_unavailable = yes;
        self
    }

    /// The settings to run under (default: from the configuration).
    pub fn settings(mut self, settings: RunSettings) -> Self {
        self.settings = Some(settings);
        self
    }

    /// Record every scenario's own spans: the driver writes or forwards run
    /// traces (see [`RunSettings::record_trace`]).
    pub fn record_trace(mut self, yes: bool) -> Self {
        self.record_trace = yes;
        self
    }

    /// Where the crate's binaries were built (a test binary's own target folder).
    pub fn binaries_in(mut self, folder: PathBuf) -> Self {
        self.binaries_folder = Some(folder);
        self
    }

    /// The pipeline files are read with: `--var`, the crate's binaries, strict mode.
    pub fn pipeline(&self) -> Pipeline {
        Pipeline::new(
            VarInputs {
                overrides: self.vars.clone(),
                ..VarInputs::default()
            }
            .with_cargo_bins()
            .with_binaries(&self.binaries()),
            ValidateOptions {
                strict: self.config.strict,
            },
        )
    }

    fn binaries(&self) -> crate::binaries::Binaries {
        match &self.binaries_folder {
            Some(folder) => self.config.binaries.clone().in_folder(folder.clone()),
            None => self.config.binaries.clone(),
        }
    }

    /// Reads, validates and plans the files.
    pub fn build(self) -> Result<Suite, SuiteError> {
        let pipeline = self.pipeline();
        self.build_with(&pipeline)
    }

    /// [`build`](Self::build) with a pipeline the driver keeps (watch's render cache).
    pub fn build_with(self, pipeline: &Pipeline) -> Result<Suite, SuiteError> {
        let mut warnings = Vec::new();
        let discovery = self.discover(&mut warnings)?;
        let reports: Vec<Arc<FileReport>> = process_all(pipeline, &discovery.files)
            .into_iter()
            .map(Arc::new)
            .collect();
        let binaries = self.binaries();
        let mut config = self.config;
        config.binaries = binaries;
        let mut settings = self
            .settings
            .unwrap_or_else(|| RunSettings::from_config(&config));
        settings.record_trace |= self.record_trace;
        let tags = self.tags;
        let mut tests: Vec<SuiteTest> = plan_reports(&reports)
            .into_iter()
            // A broken file has no tags; it is always a (failing) test.
            .filter(|t| {
                tags.is_empty()
                    || t.planned.target.is_none()
                    || t.planned.tags.iter().any(|tag| tags.contains(tag))
            })
            .collect();
        if self.include_ignored {
            tests.iter_mut().for_each(|t| t.ignored = None);
        }
        if self.skip_unavailable {
            skip_what_needs_an_engine(&mut tests, &settings, &mut warnings);
        }
        Ok(Suite {
            config,
            settings: Arc::new(settings),
            reports,
            tests,
            warnings,
        })
    }

    fn discover(&self, warnings: &mut Vec<SuiteWarning>) -> Result<Discovery, SuiteError> {
        if let Some(name) = &self.exact_file_of {
            return Ok(exact_file(name, &self.config.roots));
        }
        let discovery = discover(&self.paths, &self.config.roots);
        if let Some(missing) = (discovery.issues.iter()).find(|i| self.paths.contains(&i.path)) {
            return Err(SuiteError::Path {
                path: missing.path.clone(),
                message: missing.message.clone(),
            });
        }
        warnings.extend(discovery.issues.iter().map(|issue| SuiteWarning {
            path: Some(issue.path.clone()),
            message: format!("skipped: {}", issue.message),
            no_files: false,
        }));
        if discovery.files.is_empty() {
            let searched = if self.paths.is_empty() {
                &self.config.roots
            } else {
                &self.paths
            };
            let searched: Vec<String> = searched.iter().map(|p| p.display().to_string()).collect();
            warnings.push(SuiteWarning {
                path: None,
                message: format!(
                    "no scenario files (*.clnrm.toml, *.clnrm.toml.tera) found in {}",
                    searched.join(", ")
                ),
                no_files: true,
            });
        }
        Ok(discovery)
    }
}

/// The tests of these reports, each with its report and `[meta] ignore`.
pub(crate) fn plan_reports(reports: &[Arc<FileReport>]) -> Vec<SuiteTest> {
    plan(reports)
        .into_iter()
        .map(|planned| SuiteTest {
            report: Arc::clone(&reports[planned.file_index]),
            ignored: planned.ignored.clone(),
            unchanged_since: None,
            planned,
        })
        .collect()
}

/// The file `test_name` points at in the first root that has it; none when
/// no root has it (no test can have that name).
fn exact_file(test_name: &str, roots: &[PathBuf]) -> Discovery {
    let path_part = test_name.split("::").next().unwrap_or(test_name);
    let found = roots.iter().find_map(|root| {
        let path = root.join(path_part);
        path.is_file().then(|| DiscoveredFile {
            name: path_part.to_string(),
            path,
            root: root.clone(),
        })
    });
    Discovery {
        files: found.into_iter().collect(),
        issues: Vec::new(),
    }
}

/// `CLNRM_SKIP_UNAVAILABLE` and no engine answers: the container scenarios
/// are ignored (listed as ignored too, so nextest agrees), with the reason.
fn skip_what_needs_an_engine(
    tests: &mut [SuiteTest],
    settings: &RunSettings,
    warnings: &mut Vec<SuiteWarning>,
) {
    let needs = |t: &SuiteTest| needs_engine(&t.planned, &t.report, settings);
    if !tests.iter().any(needs) {
        return;
    }
    let Err(reason) = engine_status() else {
        return;
    };
    let reason = reason.to_string();
    for test in tests.iter_mut().filter(|t| needs(t)) {
        test.ignored.get_or_insert_with(|| reason.clone());
    }
    warnings.push(SuiteWarning {
        path: None,
        message: format!("container scenarios ignored (CLNRM_SKIP_UNAVAILABLE): {reason}"),
        no_files: false,
    });
}

impl Suite {
    /// The test named `name`.
    pub fn test(&self, name: &str) -> Option<&SuiteTest> {
        self.tests.iter().find(|t| t.name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exact_name_reads_only_the_file_it_points_at() {
        let dir = tempfile::tempdir().expect("tempdir");
        let roots = [dir.path().join("one"), dir.path().join("two")];
        std::fs::create_dir_all(roots[1].join("db")).expect("mkdir");
        std::fs::write(roots[1].join("db/a.clnrm.toml"), "").expect("write");
        std::fs::write(roots[1].join("b.clnrm.toml"), "").expect("write");
        let found = exact_file("db/a.clnrm.toml::select[os=debian]", &roots);
        let names: Vec<&str> = found.files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["db/a.clnrm.toml"]);
        assert_eq!(found.files[0].root, roots[1]);
        // No root has it: no test can have that name.
        assert!(exact_file("nope.clnrm.toml::x", &roots).files.is_empty());
    }
}
