//! `cargo clnrm test`: finds the workspace's clnrm harness targets and runs
//! them with nextest (when installed) or `cargo test`, exiting as the runner does.

use std::path::{Path, PathBuf};
use std::process::Command;

use cargo_metadata::{Metadata, Package, TargetKind};

use crate::cli::TestArgs;
use crate::error::CliError;

mod ending;
mod junit;
mod reports;

/// A `harness = false` test target of a package that uses clnrm-harness.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HarnessTarget {
    pub package: String,
    pub target: String,
    pub manifest_dir: PathBuf,
}

/// `[[test]]` names with `harness = false` in a manifest (cargo metadata omits `harness`).
fn harnessless_tests(manifest: &Path) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(manifest) else {
        return Vec::new();
    };
    let Ok(value) = text.parse::<toml::Table>() else {
        return Vec::new();
    };
    value
        .get("test")
        .and_then(|t| t.as_array())
        .map(|tests| {
            tests
                .iter()
                .filter(|t| t.get("harness").and_then(|h| h.as_bool()) == Some(false))
                .filter_map(|t| t.get("name")?.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn uses_harness(package: &Package) -> bool {
    package
        .dependencies
        .iter()
        .any(|d| d.name == "clnrm-harness")
}

/// The harness targets of the workspace members (or of `packages`), in metadata order.
pub fn harness_targets(metadata: &Metadata, packages: &[String]) -> Vec<HarnessTarget> {
    metadata
        .workspace_packages()
        .into_iter()
        .filter(|p| packages.is_empty() || packages.iter().any(|name| *name == *p.name))
        .filter(|p| uses_harness(p))
        .flat_map(|package| {
            let manifest = package.manifest_path.as_std_path();
            let harnessless = harnessless_tests(manifest);
            package
                .targets
                .iter()
                // `test = false` targets are not part of the suite (cargo test skips them too).
                .filter(|t| {
                    t.kind.contains(&TargetKind::Test) && t.test && harnessless.contains(&t.name)
                })
                .map(|t| HarnessTarget {
                    package: package.name.to_string(),
                    target: t.name.clone(),
                    manifest_dir: manifest.parent().map(Path::to_path_buf).unwrap_or_default(),
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Inside a member crate, its own targets (as cargo test does); at the
/// workspace root, every member's.
fn current_package(metadata: &Metadata) -> Option<String> {
    let cwd = std::env::current_dir().ok()?;
    if cwd == metadata.workspace_root.as_std_path() {
        return None;
    }
    metadata
        .workspace_packages()
        .into_iter()
        .filter(|p| {
            p.manifest_path
                .parent()
                .is_some_and(|dir| cwd.starts_with(dir.as_std_path()))
        })
        .max_by_key(|p| p.manifest_path.as_str().len())
        .map(|p| p.name.to_string())
}

fn nextest_installed() -> bool {
    Command::new(cargo())
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// `cargo nextest <subcommand>` of the clnrm targets: the packages and a
/// filterset of their binaries.
fn nextest(args: &TestArgs, targets: &[HarnessTarget], subcommand: &str) -> Command {
    let mut command = Command::new(cargo());
    command.args(["nextest", subcommand]);
    if let Some(manifest) = &args.workspace.manifest_path {
        command.arg("--manifest-path").arg(manifest);
    }
    for target in targets {
        command.args(["-p", &target.package]);
    }
    let filterset: Vec<String> = targets
        .iter()
        .map(|t| format!("binary_id({}::{})", t.package, t.target))
        .collect();
    command.args(["-E", &filterset.join(" | ")]);
    command
}

/// Says how nextest ended (it still decides the exit code); when a name
/// filter matched nothing, names the closest tests.
fn say_the_ending(
    args: &TestArgs,
    targets: &[HarnessTarget],
    code: i32,
    stderr: &mut dyn std::io::Write,
) -> Result<(), CliError> {
    let Some(meaning) = ending::meaning(code) else {
        return Ok(());
    };
    writeln!(
        stderr,
        "cargo clnrm test: {meaning} (cargo nextest exited with {code})"
    )?;
    if code == nextest_metadata::NextestExitCode::NO_TESTS_RUN
        && let Some(filter) = &args.filter
    {
        let mut list = nextest(args, targets, "list");
        list.stderr(std::process::Stdio::null());
        let names = ending::listed(list);
        let closest = ending::closest(filter, &names);
        if !closest.is_empty() {
            writeln!(
                stderr,
                "no test name contains `{filter}`; the closest: {}",
                closest.join(", ")
            )?;
        }
    }
    Ok(())
}

pub fn run(args: &TestArgs, stderr: &mut dyn std::io::Write) -> Result<u8, CliError> {
    let metadata = super::workspace::metadata(&args.workspace)?;
    let packages = if args.workspace.packages.is_empty() {
        current_package(&metadata).into_iter().collect()
    } else {
        super::workspace::check_members(&metadata, &args.workspace.packages)?;
        args.workspace.packages.clone()
    };
    let targets = harness_targets(&metadata, &packages);
    if targets.is_empty() {
        return Err(CliError::Usage(
            "no clnrm test targets here: run `cargo clnrm init` to add one (a `[[test]]` with `harness = false` using clnrm-harness)"
                .into(),
        ));
    }
    let tags = args.tags.join(",");
    let use_nextest = !args.no_nextest && nextest_installed();
    writeln!(
        stderr,
        "running {} clnrm target{} with {}",
        targets.len(),
        if targets.len() == 1 { "" } else { "s" },
        if use_nextest {
            "cargo nextest"
        } else {
            "cargo test"
        }
    )?;
    // Each test binary (each test, under nextest) records its tests here.
    let scratch = tempfile::tempdir()?;
    let results = scratch.path().join("results");
    let code = if use_nextest {
        let mut command = nextest(args, &targets, "run");
        command.arg("--no-fail-fast");
        if let Some(filter) = &args.filter {
            command.arg(filter);
        }
        if !args.runner_args.is_empty() {
            command.arg("--").args(&args.runner_args);
        }
        if !args.tags.is_empty() {
            command.env("CLNRM_TAGS", &tags);
        }
        // Always: the `[report]` files are written from these records.
        command.env("CLNRM_RESULT_DIR", &results);
        let code = command.status()?.code().unwrap_or(101);
        say_the_ending(args, &targets, code, stderr)?;
        code
    } else {
        let mut code = 0;
        for target in &targets {
            let mut command = Command::new(cargo());
            command.args(["test", "-p", &target.package, "--test", &target.target]);
            if let Some(manifest) = &args.workspace.manifest_path {
                command.arg("--manifest-path").arg(manifest);
            }
            command.arg("--");
            command
                .args(args.filter.iter())
                .args(&args.runner_args)
                .env("CLNRM_TAGS", &tags);
            if args.junit.is_some() {
                command.env("CLNRM_RESULT_DIR", &results);
            }
            let status = command.status()?;
            if code == 0 {
                code = status.code().unwrap_or(101);
            }
        }
        code
    };
    if let Some(junit) = &args.junit {
        junit::write(&results, junit, args.junit_locations)?;
    }
    if use_nextest {
        reports::write(&targets, &results, &args.tags).map_err(CliError::Usage)?;
    }
    Ok(u8::try_from(code).unwrap_or(101))
}
