//! `cargo clnrm init`: a clnrm test target, the dev-dependency, and a first
//! scenario that passes on any machine. Never overwrites; says what it did.

use std::io::Write;
use std::path::Path;

use toml_edit::{ArrayOfTables, DocumentMut, InlineTable, Item, Table, value};

use crate::cli::InitArgs;
use crate::error::{CliError, exit};

const TEST_TARGET: &str = "clnrm";

const HARNESS_MAIN: &str = "//! Every scenario under tests/clnrm/ is a test: `cargo test`, `cargo nextest run`.\nclnrm_harness::main!();\n";

const FIRST_SCENARIO: &str = r#"# A first scenario: it runs on the host, so it passes on any machine.
# Run it with `cargo test` (or `cargo nextest run`, or `cargo clnrm test`).
[meta]
name = "first"
backend = "local"

[[scenario]]
name = "echo"

[[scenario.steps]]
name = "says_hello"
command = ["echo", "hello"]
expected_output_regex = "^hello$"

# The same in a container (needs a Docker engine and the image, built locally):
#
# [meta]
# name = "in_a_container"
# image = "clnrm-busybox:latest"
#
# [service.web]
# image = "clnrm-busybox:latest"
# args = ["httpd", "-f", "-p", "8080"]
#
# [[scenario]]
# name = "fetch"
#
# [[scenario.steps]]
# name = "get"
# command = ["wget", "-q", "-O", "-", "http://web:8080/"]
"#;

pub fn run(args: &InitArgs, stdout: &mut dyn Write) -> Result<u8, CliError> {
    let manifest_path = args.path.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest_path).map_err(|e| {
        CliError::Usage(format!(
            "no crate at `{}` ({e}): run `cargo clnrm init` in a crate's folder, or `cargo new` one first",
            args.path.display()
        ))
    })?;
    let mut manifest: DocumentMut = text.parse().map_err(|e| {
        CliError::Usage(format!(
            "`{}` is not valid TOML: {e}",
            manifest_path.display()
        ))
    })?;
    if manifest.get("package").is_none() {
        return Err(CliError::Usage(format!(
            "`{}` has no [package]: run `cargo clnrm init` in a member crate",
            manifest_path.display()
        )));
    }
    let mut changes = Vec::new();
    if add_test_target(&mut manifest) {
        changes.push("added `[[test]] name = \"clnrm\"` with `harness = false`");
    }
    if add_dev_dependency(&mut manifest, args.harness_path.as_deref()) {
        changes.push("added the dev-dependency `clnrm-harness`");
    }
    if changes.is_empty() {
        writeln!(
            stdout,
            "   kept {} (already set up)",
            manifest_path.display()
        )?;
    } else {
        std::fs::write(&manifest_path, manifest.to_string())?;
        writeln!(
            stdout,
            "updated {}: {}",
            manifest_path.display(),
            changes.join(", ")
        )?;
    }
    create(&args.path.join("tests/clnrm.rs"), HARNESS_MAIN, stdout)?;
    create(
        &args.path.join("tests/clnrm/first.clnrm.toml"),
        FIRST_SCENARIO,
        stdout,
    )?;
    writeln!(
        stdout,
        "next: `cargo test --test clnrm` runs the scenarios in tests/clnrm/"
    )?;
    Ok(exit::SUCCESS)
}

fn create(path: &Path, content: &str, stdout: &mut dyn Write) -> Result<(), CliError> {
    if path.exists() {
        writeln!(
            stdout,
            "   kept {} (exists; not overwritten)",
            path.display()
        )?;
        return Ok(());
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, content)?;
    writeln!(stdout, "created {}", path.display())?;
    Ok(())
}

/// Adds the `[[test]]` target unless one named `clnrm` exists.
fn add_test_target(manifest: &mut DocumentMut) -> bool {
    let tests = manifest
        .entry("test")
        .or_insert(Item::ArrayOfTables(ArrayOfTables::new()));
    let Some(tests) = tests.as_array_of_tables_mut() else {
        return false;
    };
    if tests
        .iter()
        .any(|t| t.get("name").and_then(|n| n.as_str()) == Some(TEST_TARGET))
    {
        return false;
    }
    let mut target = Table::new();
    target["name"] = value(TEST_TARGET);
    target["harness"] = value(false);
    tests.push(target);
    true
}

fn add_dev_dependency(manifest: &mut DocumentMut, harness_path: Option<&Path>) -> bool {
    let deps = manifest
        .entry("dev-dependencies")
        .or_insert(Item::Table(Table::new()));
    let Some(deps) = deps.as_table_like_mut() else {
        return false;
    };
    if deps.contains_key("clnrm-harness") {
        return false;
    }
    let dependency = match harness_path {
        Some(path) => {
            let mut table = InlineTable::new();
            let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
            table.insert("path", absolute.to_string_lossy().as_ref().into());
            value(table)
        }
        None => value(env!("CARGO_PKG_VERSION")),
    };
    deps.insert("clnrm-harness", dependency);
    true
}
