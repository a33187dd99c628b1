//! The command line, as clap structs. Option structs turn into core settings
//! in the command modules; nothing here does work.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Hermetic integration tests from TOML scenarios.
#[derive(Debug, Parser)]
#[command(
    name = "cargo clnrm",
    bin_name = "cargo clnrm",
    version,
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// The headings every command's help uses, in cargo's words.
const DISPLAY: &str = "Display Options";
const SELECTION: &str = "Package Selection";
const MANIFEST: &str = "Manifest Options";

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Coloring: auto, always, never (also CARGO_TERM_COLOR; NO_COLOR is honoured)
    #[arg(long, value_enum, global = true, value_name = "WHEN", help_heading = DISPLAY)]
    pub color: Option<ColorWhen>,
    /// More log output (-v info, -vv debug, -vvv trace); CLNRM_LOG overrides
    #[arg(short, long, action = clap::ArgAction::Count, global = true, help_heading = DISPLAY)]
    pub verbose: u8,
    /// Only errors in the log
    #[arg(short, long, global = true, conflicts_with = "verbose", help_heading = DISPLAY)]
    pub quiet: bool,
}

/// Which workspace and which of its packages, as cargo's own commands take them.
#[derive(Debug, Args, Default, Clone)]
pub struct WorkspaceArgs {
    /// Only the scenarios of these packages (repeatable; default: the package here,
    /// or every member at a workspace root)
    #[arg(short = 'p', long = "package", value_name = "SPEC", help_heading = SELECTION)]
    pub packages: Vec<String>,
    /// Path to Cargo.toml (default: the one of the current directory or above)
    #[arg(long, value_name = "PATH", help_heading = MANIFEST)]
    pub manifest_path: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum MessageFormat {
    /// Readable text, diagnostics in the style of rustc
    #[default]
    Human,
    /// One JSON object per line, with cargo's `reason` field
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check scenario files without running anything (no containers)
    #[command(visible_alias = "dry-run")]
    Validate(ValidateArgs),
    /// List the tests the scenario files define, as the harness names them
    List(ListArgs),
    /// Run scenario files directly, without compiling anything
    Run(RunArgs),
    /// Build and run the crate's clnrm test targets (nextest when installed, else cargo test)
    Test(TestArgs),
    /// Validate (and with --run, run) scenario files again on every save
    Watch(WatchArgs),
    /// Compare two scenario files, two span files, or a file at a git revision with its working copy
    Diff(DiffArgs),
    /// Add a clnrm test target and a first scenario to the crate here
    Init(InitArgs),
    /// Remove containers and networks left by killed runs (never a live run's), or with --results the stored results
    Clean(CleanArgs),
}

/// Which files, and how they are read.
#[derive(Debug, Args)]
pub struct InputArgs {
    #[command(flatten)]
    pub workspace: WorkspaceArgs,
    /// Scenario files or folders (default: the configured scenario roots)
    #[arg(value_name = "PATHS")]
    pub paths: Vec<PathBuf>,
    /// Set a template variable, overriding `[vars]` (repeatable)
    #[arg(long = "var", value_name = "KEY=VALUE", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,
    /// Output format
    #[arg(long, value_enum, default_value_t, value_name = "FMT", help_heading = DISPLAY)]
    pub message_format: MessageFormat,
    /// Scenario root to search instead of the configured ones (repeatable; also CLNRM_ROOTS)
    #[arg(long = "root", value_name = "DIR")]
    pub roots: Vec<PathBuf>,
    /// Treat unverified `[assertions]` claims as errors (also CLNRM_STRICT)
    #[arg(long)]
    pub strict: bool,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub input: InputArgs,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub input: InputArgs,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Scenarios to run at once (default: the number of CPUs)
    #[arg(short = 'j', long = "jobs", value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
    /// Stop at the first failure, cancelling the scenarios still running
    #[arg(long)]
    pub fail_fast: bool,
    /// Only scenarios whose `[meta] tags` include TAG (repeatable: any of them)
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// Run ignored scenarios too
    #[arg(long)]
    pub include_ignored: bool,
    /// Run every scenario on this backend, whatever `[meta] backend` says
    #[arg(long, value_enum, value_name = "BACKEND")]
    pub backend: Option<BackendChoice>,
    /// Leave a failed scenario's containers running and say how to reach them
    #[arg(long)]
    pub keep_on_failure: bool,
    /// Most containers running at once, across processes (default: CPUs; also CLNRM_MAX_CONTAINERS)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub max_containers: Option<u16>,
    /// When to pull images from a registry (default: missing; also CLNRM_PULL)
    #[arg(long, value_enum, value_name = "WHEN")]
    pub pull: Option<PullChoice>,
    /// Write the run's trace (clnrm's own spans and the programs') to FILE, as OTLP JSON
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    /// Write the run's report.json, junit.xml and report.sha256 in DIR (created if missing)
    #[arg(long, value_name = "DIR")]
    pub report_dir: Option<PathBuf>,
    /// Skip scenarios that passed before with exactly the same inputs (reported as skipped)
    #[arg(long)]
    pub changed: bool,
}

#[derive(Debug, Args)]
pub struct CleanArgs {
    /// Empty the result store instead (what `run --changed` skips by); needs no engine
    #[arg(long)]
    pub results: bool,
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Also run the scenarios whose rendered content changed
    #[arg(long)]
    pub run: bool,
    /// Scenarios to run at once with --run (default: 1)
    #[arg(short = 'j', long = "jobs", value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
    /// Run every scenario on this backend, whatever `[meta] backend` says
    #[arg(long, value_enum, value_name = "BACKEND")]
    pub backend: Option<BackendChoice>,
    /// Clear the screen before each round of feedback (on a terminal)
    #[arg(long)]
    pub clear: bool,
    /// Print the render cache's hits, misses and hit rate after each file
    #[arg(long)]
    pub stats: bool,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The old file: a scenario file, or a span file (OTLP JSON lines or document, span objects)
    #[arg(value_name = "A")]
    pub old: PathBuf,
    /// The new file, of the same kind as A (not with --rev)
    #[arg(
        value_name = "B",
        required_unless_present = "rev",
        conflicts_with = "rev"
    )]
    pub new: Option<PathBuf>,
    /// Compare A as git has it at this revision with A in the working copy
    #[arg(long, value_name = "REV")]
    pub rev: Option<String>,
    /// Set a template variable, overriding `[vars]` (repeatable)
    #[arg(long = "var", value_name = "KEY=VALUE", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,
    /// Output format
    #[arg(long, value_enum, default_value_t, value_name = "FMT", help_heading = DISPLAY)]
    pub message_format: MessageFormat,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The crate to set up (default: the current directory)
    #[arg(
        long,
        value_name = "DIR",
        default_value = ".",
        conflicts_with = "manifest_path"
    )]
    pub path: PathBuf,
    /// Path to the Cargo.toml of the crate to set up (instead of --path)
    #[arg(long, value_name = "PATH", help_heading = MANIFEST)]
    pub manifest_path: Option<PathBuf>,
    /// Depend on clnrm-harness by path (a checkout) instead of by version
    #[arg(long, value_name = "DIR")]
    pub harness_path: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct TestArgs {
    /// Run only tests whose name contains FILTER (passed to the runner)
    #[arg(value_name = "FILTER")]
    pub filter: Option<String>,
    #[command(flatten)]
    pub workspace: WorkspaceArgs,
    /// Only scenarios whose `[meta] tags` include TAG (repeatable: any of them)
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// Write a JUnit XML report, one testcase per scenario (the same under either runner)
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Add `file` and `line` to the report's test cases (outside junit-10.xsd; GitLab, CircleCI and Buildkite read them)
    #[arg(long, requires = "junit")]
    pub junit_locations: bool,
    /// Use `cargo test` even when cargo-nextest is installed
    #[arg(long)]
    pub no_nextest: bool,
    /// Arguments for the runner (nextest or the test binaries), after `--`
    #[arg(last = true, value_name = "ARGS")]
    pub runner_args: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendChoice {
    Local,
    Container,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PullChoice {
    /// Only images already on the machine
    Never,
    /// Pull an image that is not on the machine
    Missing,
    /// Pull every image before use
    Always,
}

fn parse_var(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("`{text}` is not KEY=VALUE")),
    }
}
