//! Throwaway crates for the harness benches: generated in a temporary
//! directory, built with `cargo test --no-run` into the workspace's target
//! directory, and their test binaries run directly.
//!
//! Both kinds of crate are their own workspace (an empty `[workspace]`) and
//! carry a `.cargo/config.toml` with the workspace's dev profile for
//! dependencies (`debug = false`), so the compiled dependencies in
//! `<workspace>/target/debug` are reused.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// The package name of the harness crate with `scenarios` scenarios.
fn harness_package(scenarios: usize) -> String {
    format!("clnrm-bench-harness-{scenarios}")
}

const PLAIN_PACKAGE: &str = "clnrm-bench-plain";

/// The clnrm workspace (the folder above `benches/`).
pub fn workspace_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("benches/ lies in the workspace")
        .to_path_buf()
}

/// The workspace's target directory: `CARGO_TARGET_DIR` when set (relative to
/// the workspace), else `<workspace>/target`.
pub fn target_dir() -> PathBuf {
    let workspace = workspace_dir();
    std::env::var_os("CARGO_TARGET_DIR")
        .map(|t| workspace.join(t))
        .unwrap_or_else(|| workspace.join("target"))
}

/// The file name of scenario `i` (`t0042.clnrm.toml`); its one test is named
/// `t0042.clnrm.toml::t0042`.
pub fn scenario_file(i: usize) -> String {
    format!("t{i:04}.clnrm.toml")
}

/// The test name of scenario `i`, as the harness names it.
pub fn scenario_test(i: usize) -> String {
    format!("{}::t{i:04}", scenario_file(i))
}

/// The parts both kinds of crate share: an empty `[workspace]` table (so the
/// crate is not taken for a member of an enclosing workspace), an empty
/// `src/lib.rs`, and `.cargo/config.toml` with the workspace's dependency
/// profile.
fn crate_skeleton(dir: &Path, manifest: &str) {
    std::fs::create_dir_all(dir.join("src")).expect("create src/");
    std::fs::create_dir_all(dir.join("tests")).expect("create tests/");
    std::fs::create_dir_all(dir.join(".cargo")).expect("create .cargo/");
    std::fs::write(dir.join("Cargo.toml"), manifest).expect("write Cargo.toml");
    std::fs::write(dir.join("src/lib.rs"), "").expect("write src/lib.rs");
    std::fs::write(
        dir.join(".cargo/config.toml"),
        "[profile.dev.package.\"*\"]\ndebug = false\n",
    )
    .expect("write .cargo/config.toml");
}

/// Writes, in `dir/<package>`, a crate whose `tests/clnrm.rs` is
/// `clnrm_harness::main!();`, with `scenarios` trivial local scenarios
/// (`command = ["true"]`) in `tests/clnrm/`; depends on clnrm-harness by
/// absolute path and starts from the workspace's `Cargo.lock`. Returns the
/// crate's folder.
pub fn harness_crate(dir: &Path, scenarios: usize) -> PathBuf {
    let package = harness_package(scenarios);
    let crate_dir = dir.join(&package);
    let harness = workspace_dir().join("clnrm-harness");
    let manifest = format!(
        r#"[package]
name = "{package}"
version = "0.0.0"
edition = "2024"
publish = false

[workspace]

[[test]]
name = "clnrm"
harness = false

[dev-dependencies]
clnrm-harness = {{ path = {harness:?} }}
"#,
        harness = harness.to_string_lossy()
    );
    crate_skeleton(&crate_dir, &manifest);
    std::fs::copy(
        workspace_dir().join("Cargo.lock"),
        crate_dir.join("Cargo.lock"),
    )
    .expect("copy the workspace's Cargo.lock");
    std::fs::write(
        crate_dir.join("tests/clnrm.rs"),
        "clnrm_harness::main!();\n",
    )
    .expect("write tests/clnrm.rs");
    let scenarios_dir = crate_dir.join("tests/clnrm");
    std::fs::create_dir_all(&scenarios_dir).expect("create tests/clnrm/");
    for i in 0..scenarios {
        let text = format!(
            "[meta]\nname = \"t{i:04}\"\nbackend = \"local\"\n\n[[steps]]\nname = \"s\"\ncommand = [\"true\"]\n"
        );
        std::fs::write(scenarios_dir.join(scenario_file(i)), text).expect("write a scenario");
    }
    crate_dir
}

/// Writes, in `dir/clnrm-bench-plain`, a crate without dependencies whose
/// `tests/plain.rs` holds `tests` `#[test]` functions, each spawning `true`
/// with `std::process::Command` and asserting it succeeded. Returns the
/// crate's folder.
pub fn plain_crate(dir: &Path, tests: usize) -> PathBuf {
    let crate_dir = dir.join(PLAIN_PACKAGE);
    let manifest = format!(
        r#"[package]
name = "{PLAIN_PACKAGE}"
version = "0.0.0"
edition = "2024"
publish = false

[workspace]

[[test]]
name = "plain"
"#
    );
    crate_skeleton(&crate_dir, &manifest);
    let mut source = String::from("use std::process::Command;\n");
    for i in 0..tests {
        let _ = write!(
            source,
            "\n#[test]\nfn t{i:04}() {{\n    let status = Command::new(\"true\").status().expect(\"spawn true\");\n    assert!(status.success(), \"true exited with {{status}}\");\n}}\n"
        );
    }
    std::fs::write(crate_dir.join("tests/plain.rs"), source).expect("write tests/plain.rs");
    crate_dir
}

/// A test executable built by [`build_test_binary`], and every file cargo
/// produced for the throwaway package (to delete afterwards).
#[derive(Debug, Clone)]
pub struct TestBinary {
    pub executable: PathBuf,
    pub files: Vec<PathBuf>,
    pub build_time: Duration,
}

impl TestBinary {
    /// Deletes the throwaway package's own artifacts from the shared target
    /// directory (the dependencies stay, for the next run).
    pub fn remove_artifacts(&self) {
        for file in &self.files {
            let _ = std::fs::remove_file(file);
        }
    }
}

/// `cargo test --no-run --message-format json` in `crate_dir`, in the dev
/// profile, with `CARGO_TARGET_DIR` the workspace's target directory; returns
/// the test executable (the `test`-kind artifact of the crate's own package).
pub fn build_test_binary(crate_dir: &Path) -> Result<TestBinary, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let manifest = crate_dir.join("Cargo.toml");
    let (output, build_time) = crate::time(|| {
        Command::new(&cargo)
            .args(["test", "--no-run", "--message-format", "json"])
            .arg("--manifest-path")
            .arg(&manifest)
            .current_dir(crate_dir)
            .env("CARGO_TARGET_DIR", target_dir())
            .stdin(Stdio::null())
            // Cargo's progress and warnings go to the terminal.
            .stderr(Stdio::inherit())
            .output()
    });
    let output = output.map_err(|e| format!("cannot run cargo: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "`cargo test --no-run` in {} failed ({})",
            crate_dir.display(),
            output.status
        ));
    }
    let own_manifest = std::fs::canonicalize(&manifest).unwrap_or_else(|_| manifest.clone());
    let mut executable = None;
    let mut files = Vec::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let from_this_crate = message["manifest_path"]
            .as_str()
            .is_some_and(|m| std::fs::canonicalize(m).is_ok_and(|m| m == own_manifest));
        if message["reason"] != "compiler-artifact" || !from_this_crate {
            continue;
        }
        files.extend(
            message["filenames"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|f| f.as_str().map(PathBuf::from)),
        );
        let is_test = message["target"]["kind"]
            .as_array()
            .is_some_and(|kinds| kinds.iter().any(|k| k == "test"));
        if is_test && let Some(path) = message["executable"].as_str() {
            executable = Some(PathBuf::from(path));
        }
    }
    let executable = executable.ok_or_else(|| {
        format!(
            "`cargo test --no-run` in {} reported no test executable",
            crate_dir.display()
        )
    })?;
    Ok(TestBinary {
        executable,
        files,
        build_time,
    })
}

/// The test binary at `executable` as cargo would run it: working directory
/// and `CARGO_MANIFEST_DIR` the crate's folder, no colour, and none of the
/// `CLNRM_*` variables that change what the harness reads or runs.
pub fn test_command(executable: &Path, crate_dir: &Path) -> Command {
    let mut command = Command::new(executable);
    command
        .arg("--color")
        .arg("never")
        .current_dir(crate_dir)
        .env("CARGO_MANIFEST_DIR", crate_dir)
        .stdin(Stdio::null());
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("CLNRM_") {
            command.env_remove(name);
        }
    }
    command
}

/// Runs `command` to completion (output captured) and returns the output
/// with the wall time from spawn to exit.
pub fn run_timed(command: &mut Command) -> Result<(Output, Duration), String> {
    let (output, elapsed) = crate::time(|| command.output());
    let output = output.map_err(|e| format!("cannot run {:?}: {e}", command.get_program()))?;
    Ok((output, elapsed))
}

/// libtest's summary of one run: `test result: ok. N passed; M failed; ...`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TestResult {
    pub ok: bool,
    pub passed: usize,
    pub failed: usize,
}

/// Reads libtest's `test result:` line from a test binary's stdout.
pub fn test_result(stdout: &str) -> Option<TestResult> {
    let line = stdout
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("test result: "))?;
    let (outcome, counts) = line.split_once(". ")?;
    let count = |label: &str| {
        counts.split("; ").find_map(|part| {
            let (n, what) = part.trim().split_once(' ')?;
            (what == label).then(|| n.parse().ok()).flatten()
        })
    };
    Some(TestResult {
        ok: outcome == "ok",
        passed: count("passed")?,
        failed: count("failed")?,
    })
}

/// Checks that a test run exited 0 and libtest reported `ok` with exactly
/// `expected` passed tests.
pub fn check_passed(output: &Output, expected: usize) -> Result<(), String> {
    let stdout = String::from_utf8_lossy(&output.stdout);
    match test_result(&stdout) {
        Some(r) if output.status.success() && r.ok && r.passed == expected && r.failed == 0 => {
            Ok(())
        }
        result => {
            let tail: Vec<&str> = stdout.lines().rev().take(15).collect();
            let tail: String = tail.iter().rev().fold(String::new(), |mut s, l| {
                let _ = writeln!(s, "  {l}");
                s
            });
            Err(format!(
                "expected `test result: ok. {expected} passed`, got {result:?} ({})\n\
                 last lines of stdout:\n{tail}stderr:\n{}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_test_result_line() {
        let out = "running 2 tests\ntest a ... ok\n\ntest result: ok. 500 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 1.20s\n\n";
        assert_eq!(
            test_result(out),
            Some(TestResult {
                ok: true,
                passed: 500,
                failed: 0
            })
        );
        let failed = "test result: FAILED. 499 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 1.20s";
        assert_eq!(
            test_result(failed),
            Some(TestResult {
                ok: false,
                passed: 499,
                failed: 1
            })
        );
        assert_eq!(test_result("no summary"), None);
    }

    #[test]
    fn names() {
        assert_eq!(scenario_file(7), "t0007.clnrm.toml");
        assert_eq!(scenario_test(2500), "t2500.clnrm.toml::t2500");
    }
}
