//! Diagnostics as the real binary prints them: every problem at its place,
//! once, in order, in human and JSON output alike; no input crashes it.

mod cli_support;

#[allow(unused_imports)]
use std::path::{Path, PathBuf};
#[allow(unused_imports)]
use std::process::{Command, Output};

use cli_support::*;

/// Every expected problem of every invalid fixture is reported at its place.
#[test]
fn invalid_fixtures_report_every_expected_problem_at_its_place() {
    let dir = fixtures().join("invalid");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixtures")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.to_string_lossy().contains(".clnrm.toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 10);
    for file in files {
        let expected = expectations(&std::fs::read_to_string(&file).expect("read"));
        assert!(
            !expected.is_empty(),
            "{} has no expectations",
            file.display()
        );
        let path = file.to_str().expect("utf-8");
        let out = clnrm(&dir, &["validate", "--message-format", "json", path]);
        assert_eq!(out.status.code(), Some(1), "{}", file.display());
        let found: Vec<Place> = json_lines(&out)
            .into_iter()
            .filter(|v| v["reason"] == "diagnostic")
            .map(|v| {
                assert_eq!(v["format_version"], 1);
                let number = |key: &str| v[key].as_u64().unwrap_or(0) as usize;
                let code = v["code"].as_str().expect("code").to_string();
                (code, number("line"), number("column"))
            })
            .collect();
        for e in &expected {
            assert!(
                found.contains(e),
                "{}: expected {e:?}, found {found:?}",
                file.display()
            );
        }
    }
}

#[test]
fn human_output_names_file_line_and_column_and_suggests() {
    let out = clnrm(
        &fixtures(),
        &[
            "validate",
            "invalid/typo-key.clnrm.toml",
            "--color",
            "never",
        ],
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("invalid/typo-key.clnrm.toml:9:1"),
        "{stderr}"
    );
    assert!(stderr.contains("help: did you mean `command`?"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "no colour with --color never");
}

/// The errors of `validate --message-format json` as (code, line, column), and the lines.
fn json_errors(dir: &Path, args: &[&str]) -> (Option<i32>, Vec<Place>, Vec<serde_json::Value>) {
    let mut all = vec!["validate", "--message-format", "json"];
    all.extend(args);
    let out = clnrm(dir, &all);
    let lines: Vec<_> = json_lines(&out)
        .into_iter()
        .filter(|v| v["reason"] == "diagnostic")
        .collect();
    let places = (lines.iter())
        .map(|v| {
            let number = |key: &str| v[key].as_u64().unwrap_or(0) as usize;
            let code = v["code"].as_str().unwrap_or_default().to_string();
            (code, number("line"), number("column"))
        })
        .collect();
    (out.status.code(), places, lines)
}

#[test]
fn an_unclosed_block_is_at_one_place_in_the_file_and_names_where_it_opened() {
    let file = "invalid/unclosed-block.clnrm.toml.tera";
    let (code, places, lines) = json_errors(&fixtures(), &[file]);
    assert_eq!(code, Some(1));
    assert_eq!(places, [("template-error".to_string(), 11, 27)]);
    let notes = lines[0]["notes"].to_string();
    assert!(notes.contains("the `if` block opened at 7:1"), "{notes}");
    let human = clnrm(&fixtures(), &["validate", "--color", "never", file]);
    let stderr = text(&human.stderr);
    assert!(stderr.contains(&format!("{file}:11:27")), "{stderr}");
    assert!(
        stderr.contains("note: the `if` block opened at 7:1"),
        "{stderr}"
    );
}

#[test]
fn a_toml_syntax_error_is_the_only_error_of_its_file() {
    let (code, places, _) = json_errors(&fixtures(), &["invalid/syntax-error.clnrm.toml"]);
    assert_eq!(code, Some(1));
    assert_eq!(places, [("toml-syntax".to_string(), 4, 15)]);
}

#[test]
fn every_error_of_a_step_is_reported_in_file_order() {
    let file = "invalid/empty-command-bad-regex.clnrm.toml";
    let (_, places, lines) = json_errors(&fixtures(), &[file]);
    let expected = expectations(&std::fs::read_to_string(fixtures().join(file)).expect("read"));
    assert_eq!(places, expected);
    let wrong_type = lines[2]["message"].as_str().unwrap_or_default();
    assert!(
        wrong_type.contains("a string or an array of strings"),
        "{wrong_type}"
    );
}

#[test]
fn import_cycles_and_recursion_are_located_errors_never_a_crash() {
    let cycle = fixtures().join("cycle");
    let (code, places, lines) = json_errors(&cycle, &["uses.clnrm.toml.tera", "_macros.toml.tera"]);
    assert_eq!(code, Some(1), "{lines:?}");
    assert_eq!(
        places,
        [
            ("template-error".to_string(), 1, 1),
            ("template-error".to_string(), 3, 1)
        ]
    );
    assert_eq!(lines[0]["file"], "uses.clnrm.toml.tera");
    assert_eq!(
        lines[0]["message"],
        "import cycle: uses.clnrm.toml.tera -> _macros.toml.tera -> _macros.toml.tera"
    );
    assert_eq!(
        lines[1]["message"],
        "import cycle: _macros.toml.tera -> _macros.toml.tera"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let header = "[meta]\nname = \"x\"\n[[steps]]\nname = \"s\"\ncommand = [\"true\"]\n";
    write(
        &dir.path().join("self.clnrm.toml.tera"),
        &format!("{header}{{% include \"self.clnrm.toml.tera\" %}}\n"),
    );
    write(
        &dir.path().join("macro.clnrm.toml.tera"),
        &format!("{{% macro a() %}}{{{{ self :: a() }}}}{{% endmacro a %}}\n{header}"),
    );
    let (code, places, lines) = json_errors(
        dir.path(),
        &["macro.clnrm.toml.tera", "self.clnrm.toml.tera"],
    );
    assert_eq!(code, Some(1), "{lines:?}");
    assert_eq!(
        places,
        [
            ("render-budget".to_string(), 1, 1),
            ("template-error".to_string(), 6, 1)
        ]
    );
    assert_eq!(
        lines[1]["message"],
        "import cycle: self.clnrm.toml.tera -> self.clnrm.toml.tera"
    );
}
