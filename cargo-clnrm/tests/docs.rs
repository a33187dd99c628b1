//! Keeps the user documentation in `docs/` in step with the code.
//!
//! Each test collects names from the code (diagnostic codes, commands and their
//! flags, configuration keys, environment variables, scenario keys) and fails,
//! listing every missing name, when a document does not mention one of them in
//! backticks.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use clnrm_core::config::{CONFIG_KEYS, ENVIRONMENT};
use clnrm_core::diagnostic::Code;

mod docs_support;
use docs_support::*;

#[test]
fn every_diagnostic_code_is_documented() {
    let spans = code_spans(&read_doc("diagnostics.md"));
    let missing: BTreeSet<String> = Code::ALL
        .iter()
        .map(|code| code.as_str().to_string())
        .filter(|name| !spans.contains(name))
        .collect();
    assert_documented(
        "diagnostics.md",
        "diagnostic codes",
        "document each as `code`, with its meaning, its fix and an example message",
        &missing,
    );
}

/// The long flags (`--color`, ...) on the option lines of a `--help` text.
fn long_flags(help: &str) -> BTreeSet<String> {
    help.lines()
        .map(str::trim_start)
        .filter(|line| line.starts_with('-'))
        .flat_map(|line| line.split_whitespace())
        .map(|word| word.trim_end_matches(['.', ',']))
        .filter(|word| {
            word.strip_prefix("--").is_some_and(|name| {
                !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            })
        })
        .map(str::to_string)
        .collect()
}

/// The output of `cargo-clnrm clnrm <args> --help`.
fn help(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_cargo-clnrm"))
        .arg("clnrm")
        .args(args)
        .arg("--help")
        .env("NO_COLOR", "1")
        .output()
        .expect("cargo-clnrm runs");
    assert!(
        output.status.success(),
        "`cargo-clnrm clnrm {} --help` failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("help is UTF-8")
}

/// The commands listed under "Commands:" in the top-level help, `help` left out,
/// so a new command cannot go undocumented.
fn subcommands() -> Vec<String> {
    let top = help(&[]);
    let commands: Vec<String> = top
        .lines()
        .skip_while(|line| line.trim() != "Commands:")
        .skip(1)
        .take_while(|line| !line.trim().is_empty())
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect();
    assert!(
        commands.iter().any(|c| c == "validate"),
        "no commands found in the help of `cargo clnrm`; has the help layout changed?\n{top}"
    );
    commands
}

#[test]
fn every_command_line_flag_is_documented() {
    let cli = read_doc("cli.md");
    // A flag counts as documented when a code span starts with it: `--var <KEY=VALUE>`.
    let documented: BTreeSet<String> = code_spans(&cli)
        .iter()
        .filter_map(|span| span.split([' ', '=']).next().map(str::to_string))
        .collect();
    let mut missing = BTreeSet::new();
    for subcommand in subcommands() {
        // Each command has its own section, headed "## `cargo clnrm <command>`".
        if !cli.contains(&format!("## `cargo clnrm {subcommand}`")) {
            missing.insert(format!(
                "the section \"## `cargo clnrm {subcommand}`\" (a command)"
            ));
        }
        let flags = long_flags(&help(&[&subcommand]));
        assert!(
            flags.contains("--help"),
            "no flags found in the help of `{subcommand}`; has the help layout changed?\n{flags:?}"
        );
        for flag in flags {
            if !documented.contains(&flag) {
                missing.insert(format!("{flag} (cargo clnrm {subcommand})"));
            }
        }
    }
    assert_documented(
        "cli.md",
        "commands or command-line flags",
        "give each command a section \"## `cargo clnrm <command>`\" and write each flag as `--flag` in its table",
        &missing,
    );
}

#[test]
fn every_configuration_key_is_documented() {
    let spans = code_spans(&read_doc("cli.md"));
    let missing: BTreeSet<String> = CONFIG_KEYS
        .iter()
        .map(|key| key.to_string())
        .filter(|key| !spans.contains(key))
        .collect();
    assert_documented(
        "cli.md",
        "configuration keys of [package.metadata.clnrm]",
        "write each as `key` in the configuration table",
        &missing,
    );
}

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// The `CLNRM_*` variables the crates read, with the file that reads each:
/// `var("CLNRM_X")` and `var_os("CLNRM_X")` in their sources.
fn environment_variables_read() -> BTreeSet<(String, PathBuf)> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for krate in ["clnrm-core", "clnrm-harness", "cargo-clnrm"] {
        rust_files(&workspace.join(krate).join("src"), &mut files);
    }
    let mut found = BTreeSet::new();
    for file in files {
        let source = std::fs::read_to_string(&file).expect("source is UTF-8");
        for call in ["var(\"", "var_os(\"", "switch(\""] {
            for (at, _) in source.match_indices(call) {
                let rest = &source[at + call.len()..];
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                    .collect();
                if name.starts_with("CLNRM_") && rest[name.len()..].starts_with('"') {
                    let relative = file.strip_prefix(&workspace).unwrap_or(&file);
                    found.insert((name, relative.to_path_buf()));
                }
            }
        }
    }
    found
}

#[test]
fn every_environment_variable_is_read_in_the_configuration_module() {
    let read = environment_variables_read();
    // Guards against a scan that stopped finding anything (the test would pass vacuously).
    for expected in [
        "CLNRM_JUNIT",
        "CLNRM_TAGS",
        "CLNRM_ROOTS",
        "CLNRM_SKIP_UNAVAILABLE",
    ] {
        assert!(
            read.iter().any(|(name, _)| name == expected),
            "the source scan did not find `{expected}`; found:\n{read:#?}"
        );
    }
    let elsewhere: Vec<_> = read
        .iter()
        .filter(|(_, file)| !file.starts_with("clnrm-core/src/config"))
        .collect();
    assert!(
        elsewhere.is_empty(),
        "read outside clnrm-core/src/config/ (add an accessor there): {elsewhere:#?}"
    );
    let listed: BTreeSet<&str> = ENVIRONMENT.iter().map(|v| v.name).collect();
    let unlisted: Vec<_> = read
        .iter()
        .filter(|(name, _)| !listed.contains(name.as_str()))
        .collect();
    assert!(
        unlisted.is_empty(),
        "read but not in `ENVIRONMENT`: {unlisted:#?}"
    );
}

/// The cells of the rows of cli.md's environment table, by variable.
fn environment_table() -> Vec<Vec<String>> {
    let doc = read_doc("cli.md");
    let section = doc
        .split("### Environment variables")
        .nth(1)
        .and_then(|rest| rest.split("\n### ").next())
        .expect("cli.md has a section \"Environment variables\"");
    section
        .lines()
        .take_while(|l| !l.starts_with("Other variables"))
        .filter(|l| l.starts_with("| `CLNRM_"))
        .map(|l| {
            l.trim()
                .trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect()
}

#[test]
fn the_environment_table_says_what_the_code_reads() {
    let rows = environment_table();
    let names: Vec<String> = rows
        .iter()
        .map(|r| r[0].trim_matches('`').to_string())
        .collect();
    let expected: Vec<String> = ENVIRONMENT.iter().map(|v| v.name.to_string()).collect();
    assert_eq!(
        names, expected,
        "cli.md's environment table, one row per variable, in order"
    );
    for (row, var) in rows.iter().zip(ENVIRONMENT) {
        assert_eq!(
            row.len(),
            4,
            "{row:?}: variable | flag | manifest key | format"
        );
        let flag_ok = match var.flag {
            Some(flag) => row[1].contains(&format!("`{flag}`")),
            None => row[1].is_empty(),
        };
        assert!(
            flag_ok,
            "{}: the flag column should say {:?}: {row:?}",
            var.name, var.flag
        );
        let key_ok = match var.key {
            Some(key) => row[2] == format!("`{key}`") && CONFIG_KEYS.contains(&key),
            None => row[2].is_empty(),
        };
        assert!(
            key_ok,
            "{}: the key column should say {:?}: {row:?}",
            var.name, var.key
        );
    }
}

#[test]
fn the_index_links_every_page() {
    let index = read_doc("README.md");
    let mut pages: Vec<String> = std::fs::read_dir(docs_dir())
        .expect("docs/ exists")
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".md") && name != "README.md")
        .collect();
    pages.sort();
    let missing: BTreeSet<String> = pages
        .into_iter()
        .filter(|page| !index.contains(&format!("]({page})")))
        .collect();
    assert_documented(
        "README.md",
        "pages",
        "link each as [page](page.md)",
        &missing,
    );
}
