//! `cargo clnrm init`: a clnrm test target, the dev-dependency, and a first
//! scenario that passes on any machine. Never overwrites; says what it did.

use std::io::Write;
use std::path::{Path, PathBuf};

use toml_edit::{ArrayOfTables, DocumentMut, InlineTable, Item, Table, value};

use crate::cli::InitArgs;
use crate::error::{CliError, exit};

const TEST_TARGET: &str = "clnrm";

const HARNESS_MAIN: &str = "//! Every scenario under tests/clnrm/ is a test: `cargo test`, `cargo nextest run`.\nclnrm_harness::main!();\n";

const FIRST_SCENARIO: &str = include_str!("init/first.clnrm.toml");

const CONTAINER_SCENARIO: &str = include_str!("init/container.clnrm.toml");

/// The crate's binary in the default runner container; `BIN` stands for
/// the `bin.<name>` reference.
const BINARY_SCENARIO: &str = include_str!("init/binary.clnrm.toml");

/// [`BINARY_SCENARIO`] for the binary `name`, expecting `cargo new`'s
/// greeting when the binary is `cargo new`'s.
fn binary_scenario(name: &str, prints_hello: bool) -> String {
    // Tera reads `a-b` as a subtraction: such names take the bracket form.
    let reference = if name.contains('-') {
        format!("bin['{name}']")
    } else {
        format!("bin.{name}")
    };
    let mut text = BINARY_SCENARIO.replace("BIN", &reference);
    if prints_hello {
        text.push_str("expected_output_regex = \"^Hello, world!$\"\n");
    }
    text
}

/// Where clnrm-harness comes from, and what init says of it.
enum HarnessSource {
    Path(PathBuf, &'static str),
    Version(&'static str),
}

/// Whether `clnrm-harness` of this version is on the crates registry.
const HARNESS_PUBLISHED: bool = false;

/// `--harness-path`, else the checkout this cargo-clnrm was built from
/// (`cargo install --path`), else the registry's version once published.
fn harness_source(given: Option<&Path>) -> Result<HarnessSource, CliError> {
    if let Some(path) = given {
        let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        if !path.join("Cargo.toml").is_file() {
            return Err(CliError::Usage(format!(
                "--harness-path `{}` has no Cargo.toml: give the folder of clnrm-harness in a clnrm checkout",
                path.display()
            )));
        }
        return Ok(HarnessSource::Path(path, "as --harness-path says"));
    }
    let checkout = Path::new(env!("CARGO_MANIFEST_DIR")).join("../clnrm-harness");
    let manifest = std::fs::read_to_string(checkout.join("Cargo.toml")).unwrap_or_default();
    if manifest.contains("name = \"clnrm-harness\"") {
        let path = checkout.canonicalize().unwrap_or(checkout);
        return Ok(HarnessSource::Path(
            path,
            "from the checkout this cargo-clnrm was built from",
        ));
    }
    if HARNESS_PUBLISHED {
        return Ok(HarnessSource::Version(env!("CARGO_PKG_VERSION")));
    }
    Err(CliError::Usage(format!(
        "clnrm-harness {} is not on the crates registry yet, and the checkout this cargo-clnrm was built from is gone: pass `--harness-path DIR` (the folder clnrm-harness in a clnrm checkout)",
        env!("CARGO_PKG_VERSION")
    )))
}

pub fn run(args: &InitArgs, stdout: &mut dyn Write) -> Result<u8, CliError> {
    let crate_dir = match &args.manifest_path {
        Some(manifest) => manifest.parent().unwrap_or(Path::new(".")).to_path_buf(),
        None => args.path.clone(),
    };
    let manifest_path = crate_dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest_path).map_err(|e| {
        CliError::Usage(format!(
            "no crate at `{}` ({e}): run `cargo clnrm init` in a crate's folder, or `cargo new` one first",
            crate_dir.display()
        ))
    })?;
    let mut manifest: DocumentMut = text.parse().map_err(|e| {
        CliError::Usage(format!(
            "`{}` is not valid TOML: {e}",
            manifest_path.display()
        ))
    })?;
    let Some(package) = manifest
        .get("package")
        .and_then(|p| p.get("name"))
        .and_then(|n| n.as_str())
        .map(String::from)
    else {
        return Err(CliError::Usage(format!(
            "`{}` has no [package] with a name: run `cargo clnrm init` in a member crate",
            manifest_path.display()
        )));
    };
    let mut changes = Vec::new();
    if add_test_target(&mut manifest) {
        changes.push("added `[[test]] name = \"clnrm\"` with `harness = false`".to_string());
    }
    let source = harness_source(args.harness_path.as_deref())?;
    if let Some(change) = set_dev_dependency(&mut manifest, &source, args.harness_path.is_some())? {
        changes.push(change);
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
    let scenarios = crate_dir.join("tests/clnrm");
    create(&crate_dir.join("tests/clnrm.rs"), HARNESS_MAIN, stdout)?;
    create(&scenarios.join("first.clnrm.toml"), FIRST_SCENARIO, stdout)?;
    create(
        &scenarios.join("container.clnrm.toml"),
        CONTAINER_SCENARIO,
        stdout,
    )?;
    // Asked of cargo once the test target's file exists (cargo checks it).
    let binaries = clnrm_core::binaries::Binaries::of_package(&manifest_path, "dev");
    if binaries.get().contains_key(&package) {
        let main = std::fs::read_to_string(crate_dir.join("src/main.rs")).unwrap_or_default();
        let prints_hello = main.contains("println!(\"Hello, world!\");");
        create(
            &scenarios.join("binary.clnrm.toml"),
            &binary_scenario(&package, prints_hello),
            stdout,
        )?;
    }
    writeln!(
        stdout,
        "next: `cargo test --test clnrm` runs the scenarios in tests/clnrm/; `cargo test --test clnrm -- --ignored` runs the ones in containers (a Docker engine)"
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

/// Adds the `clnrm-harness` dev-dependency, or points an existing one at
/// `source` when `--harness-path` asks; says what changed.
fn set_dev_dependency(
    manifest: &mut DocumentMut,
    source: &HarnessSource,
    asked: bool,
) -> Result<Option<String>, CliError> {
    let deps = manifest
        .entry("dev-dependencies")
        .or_insert(Item::Table(Table::new()));
    let Some(deps) = deps.as_table_like_mut() else {
        return Err(CliError::Usage(
            "`dev-dependencies` in Cargo.toml is not a table".into(),
        ));
    };
    let existing = deps.get("clnrm-harness");
    if existing.is_some() && !asked {
        return Ok(None);
    }
    if existing.is_some_and(|e| e.get("workspace").and_then(Item::as_bool) == Some(true)) {
        return Err(CliError::Usage(
            "the dev-dependency `clnrm-harness` is inherited from the workspace (`workspace = true`): change it in the workspace's Cargo.toml, `[workspace.dependencies]`".into(),
        ));
    }
    let (dependency, said) = match source {
        HarnessSource::Path(path, why) => {
            let mut table = InlineTable::new();
            table.insert("path", path.to_string_lossy().as_ref().into());
            (
                value(table),
                format!("clnrm-harness at {} ({why})", path.display()),
            )
        }
        HarnessSource::Version(version) => (
            value(*version),
            format!("clnrm-harness {version} from the crates registry"),
        ),
    };
    let verb = if existing.is_some() {
        "pointed the dev-dependency"
    } else {
        "added the dev-dependency"
    };
    if existing.is_some_and(|e| e.to_string().trim() == dependency.to_string().trim()) {
        return Ok(None);
    }
    deps.insert("clnrm-harness", dependency);
    Ok(Some(format!("{verb} {said}")))
}
