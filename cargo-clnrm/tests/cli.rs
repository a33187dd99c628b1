//! The real binary, run as cargo runs it: exit codes, formats, colours, roots.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("workspace root")
}

fn fixtures() -> PathBuf {
    workspace().join("tests/fixtures")
}

/// The binary with a clean colour and configuration environment.
fn binary(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cargo-clnrm"));
    command
        .current_dir(dir)
        .env_remove("CARGO_TERM_COLOR")
        .env_remove("NO_COLOR")
        .env_remove("CLNRM_LOG")
        .env_remove("CLNRM_STRICT")
        .env_remove("CLNRM_ROOTS");
    command
}

/// `cargo-clnrm clnrm <args>` in `dir`, as cargo runs it.
fn clnrm(dir: &Path, args: &[&str]) -> Output {
    binary(dir)
        .arg("clnrm")
        .args(args)
        .output()
        .expect("run cargo-clnrm")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn json_lines(output: &Output) -> Vec<serde_json::Value> {
    text(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

#[test]
fn every_command_has_help() {
    for args in [
        &["--help"][..],
        &["validate", "--help"],
        &["dry-run", "--help"],
        &["list", "--help"],
    ] {
        let out = clnrm(&workspace(), args);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        assert!(text(&out.stdout).contains("Usage: cargo clnrm"), "{args:?}");
    }
}

#[test]
fn runs_directly_without_the_cargo_prefix() {
    let out = binary(&workspace())
        .args(["validate", "--help"])
        .output()
        .expect("run");
    assert!(out.status.success());
}

#[test]
fn usage_errors_exit_2() {
    let out = clnrm(&workspace(), &["validate", "--no-such-flag"]);
    assert_eq!(out.status.code(), Some(2));
    let out = clnrm(&workspace(), &["validate", "does/not/exist.clnrm.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("does/not/exist.clnrm.toml"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_bad_manifest_is_a_setup_error_with_its_cause() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("Cargo.toml"), "[package\nname = 1").expect("write");
    let out = clnrm(dir.path(), &["validate"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("error: the clnrm configuration could not be loaded"),
        "{stderr}"
    );
    assert!(stderr.contains("Caused by:"), "{stderr}");
}

#[test]
fn valid_files_exit_0_and_warnings_do_not_fail() {
    let out = clnrm(
        &fixtures(),
        &["validate", "compat/basic-health-check.clnrm.toml"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("warning[clnrm::unverified-claim]"),
        "{stderr}"
    );
    assert!(
        stderr.contains("validated 1 file: 0 with errors; 0 errors, 3 warnings"),
        "{stderr}"
    );
}

#[test]
fn strict_turns_unverified_claims_into_errors() {
    let file = "compat/basic-health-check.clnrm.toml";
    let flagged = clnrm(&fixtures(), &["validate", "--strict", file]);
    assert_eq!(flagged.status.code(), Some(1));
    let from_env = binary(&fixtures())
        .args(["clnrm", "validate", file])
        .env("CLNRM_STRICT", "1")
        .output()
        .expect("run");
    assert_eq!(from_env.status.code(), Some(1));
}

type Place = (String, usize, usize);

/// The `# expect: <code> <line>:<col>` comments of a fixture.
fn expectations(source: &str) -> Vec<Place> {
    source
        .lines()
        .filter_map(|l| l.strip_prefix("# expect: "))
        .map(|l| {
            let (code, at) = l.split_once(' ').expect("code and place");
            let (line, col) = at.split_once(':').expect("line:col");
            (
                code.to_string(),
                line.parse().expect("line"),
                col.parse().expect("col"),
            )
        })
        .collect()
}

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
            .filter(|v| v["reason"] == "diagnostic" && v["severity"] == "error")
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

#[test]
fn colour_follows_flag_and_environment() {
    let file = "invalid/typo-key.clnrm.toml";
    let coloured = clnrm(&fixtures(), &["validate", "--color", "always", file]);
    assert!(text(&coloured.stderr).contains('\u{1b}'));
    let forced = binary(&fixtures())
        .args(["clnrm", "validate", file])
        .env("CARGO_TERM_COLOR", "always")
        .output()
        .expect("run");
    assert!(text(&forced.stderr).contains('\u{1b}'));
    let plain = binary(&fixtures())
        .args(["clnrm", "validate", file])
        .env("NO_COLOR", "1")
        .output()
        .expect("run");
    assert!(!text(&plain.stderr).contains('\u{1b}'));
}

#[test]
fn a_broken_file_never_stops_the_others() {
    let out = clnrm(
        &fixtures(),
        &["validate", "--message-format", "json", "compat"],
    );
    assert_eq!(out.status.code(), Some(1));
    let lines = json_lines(&out);
    let finished = lines.last().expect("summary line");
    assert_eq!(finished["reason"], "validate-finished");
    assert_eq!(finished["files"], 6);
    let files_with_errors: std::collections::BTreeSet<_> = lines
        .iter()
        .filter(|v| v["severity"] == "error")
        .map(|v| v["file"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(files_with_errors.len(), 1, "{files_with_errors:?}");
}

fn write(path: &Path, content: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, content).expect("write");
}

const SCENARIO: &str = "[meta]\nname = \"NAME\"\n[[scenario]]\nname = \"first\"\nrun = \"true\"\n[[scenario]]\nname = \"second\"\nrun = \"true\"\n";

#[test]
fn list_names_tests_from_every_member_of_a_virtual_workspace() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    write(
        &root.join("Cargo.toml"),
        "[workspace]\nmembers = [\"a\", \"b\"]\n",
    );
    write(&root.join("a/Cargo.toml"), "[package]\nname = \"a\"\n");
    write(
        &root.join("b/Cargo.toml"),
        "[package]\nname = \"b\"\n[package.metadata.clnrm]\nroots = [\"scenarios\"]\n",
    );
    write(
        &root.join("a/tests/clnrm/z.clnrm.toml"),
        &SCENARIO.replace("NAME", "z"),
    );
    write(
        &root.join("a/tests/clnrm/sub/m.clnrm.toml.tera"),
        "[meta]\nname = \"m\"\n[matrix]\nos = [\"x\", \"y\"]\n[[steps]]\nname = \"s\"\ncommand = [\"echo\", \"{{ os }}\"]\n",
    );
    write(
        &root.join("a/tests/clnrm/target/skip.clnrm.toml"),
        &SCENARIO.replace("NAME", "skip"),
    );
    write(&root.join("b/scenarios/broken.clnrm.toml"), "[meta\n");
    let out = clnrm(root, &["list"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout).lines().collect::<Vec<_>>(),
        [
            "sub/m.clnrm.toml.tera::m[os=x]",
            "sub/m.clnrm.toml.tera::m[os=y]",
            "z.clnrm.toml::first",
            "z.clnrm.toml::second",
            "broken.clnrm.toml",
        ]
    );
    // From inside a member: only its own roots.
    let out = clnrm(&root.join("b"), &["list"]);
    assert_eq!(text(&out.stdout).trim(), "broken.clnrm.toml");
}

#[test]
fn list_json_gives_places_for_editors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    write(&root.join("Cargo.toml"), "[package]\nname = \"p\"\n");
    let scenario = SCENARIO.replace("NAME", "a").replace(
        "[meta]\n",
        "[meta]\nignore = \"flaky\"\ntags = [\"smoke\"]\n",
    );
    write(&root.join("tests/clnrm/a.clnrm.toml"), &scenario);
    let out = clnrm(root, &["list", "--message-format", "json"]);
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["reason"], "test");
    assert_eq!(lines[0]["name"], "a.clnrm.toml::first");
    assert_eq!(lines[0]["line"], 6);
    assert_eq!(lines[0]["column"], 8);
    assert_eq!(lines[0]["ignored"], true);
    assert_eq!(lines[0]["ignore_reason"], "flaky");
    assert_eq!(lines[0]["tags"][0], "smoke");
    assert_eq!(lines[1]["line"], 9);
}

#[test]
fn root_flag_replaces_the_configured_roots() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    write(&root.join("Cargo.toml"), "[package]\nname = \"p\"\n");
    write(
        &root.join("tests/clnrm/a.clnrm.toml"),
        &SCENARIO.replace("NAME", "a"),
    );
    write(
        &root.join("other/b.clnrm.toml"),
        &SCENARIO.replace("NAME", "b"),
    );
    let out = clnrm(root, &["list", "--root", "other"]);
    assert_eq!(
        text(&out.stdout).lines().collect::<Vec<_>>(),
        ["b.clnrm.toml::first", "b.clnrm.toml::second"]
    );
}

#[test]
fn list_honours_strict_like_validate() {
    let file = "compat/basic-health-check.clnrm.toml";
    let relaxed = clnrm(&fixtures(), &["list", file]);
    assert!(text(&relaxed.stdout).contains("::optimus_prime_health_check"));
    let strict = clnrm(&fixtures(), &["list", "--strict", file]);
    assert_eq!(text(&strict.stdout).trim(), "basic-health-check.clnrm.toml");
}

#[test]
fn warnings_are_json_lines_in_json_mode() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(&dir.path().join("Cargo.toml"), "[package]\nname = \"p\"\n");
    let out = clnrm(dir.path(), &["validate", "--message-format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let lines = json_lines(&out);
    assert_eq!(lines[0]["reason"], "warning");
    assert!(
        lines[0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("no scenario files")
    );
    assert_eq!(lines[1]["reason"], "validate-finished");
    assert!(text(&out.stderr).is_empty(), "{}", text(&out.stderr));
}

#[test]
fn logging_follows_verbosity_and_clnrm_log_and_stays_on_stderr() {
    let file = "compat/basic-health-check.clnrm.toml";
    let quiet = clnrm(&fixtures(), &["list", file]);
    assert!(!text(&quiet.stderr).contains("scenario roots"));
    let verbose = clnrm(&fixtures(), &["-vv", "list", file]);
    assert!(
        text(&verbose.stderr).contains("scenario roots"),
        "{}",
        text(&verbose.stderr)
    );
    let from_env = binary(&fixtures())
        .args(["clnrm", "-q", "list", file])
        .env("CLNRM_LOG", "cargo_clnrm=debug")
        .output()
        .expect("run");
    assert!(text(&from_env.stderr).contains("scenario roots"));
    // Results never go through the log: stdout is the same list either way.
    assert_eq!(text(&verbose.stdout), text(&quiet.stdout));
}

#[test]
fn validate_needs_no_build_of_the_crates_binaries() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    write(&root.join("Cargo.toml"), "[package]\nname = \"tool\"\n");
    write(&root.join("src/main.rs"), "fn main() {}\n");
    write(
        &root.join("tests/clnrm/a.clnrm.toml.tera"),
        "[meta]\nname = \"a\"\n[[steps]]\nname = \"s\"\ncommand = [\"{{ bin.tool }}\"]\n",
    );
    let out = binary(root)
        .env_remove("CARGO_TARGET_DIR")
        .args(["clnrm", "validate"])
        .output()
        .expect("run cargo-clnrm");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!root.join("target").exists(), "validate built nothing");
    // A name that is no binary of the crate is still an error at its place.
    write(
        &root.join("tests/clnrm/a.clnrm.toml.tera"),
        "[meta]\nname = \"a\"\n[[steps]]\nname = \"s\"\ncommand = [\"{{ bin.nope }}\"]\n",
    );
    let out = binary(root)
        .env_remove("CARGO_TARGET_DIR")
        .args(["clnrm", "validate"])
        .output()
        .expect("run cargo-clnrm");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("a.clnrm.toml.tera:5:16"),
        "{}",
        text(&out.stderr)
    );
}

/// A scenario that passes only if `bin.<name>` is `expected`, for each pair.
fn bin_paths_scenario(pairs: &[(&str, PathBuf)]) -> String {
    let mut text = String::from("[meta]\nname = \"bins\"\nbackend = \"local\"\n");
    for (name, expected) in pairs {
        let escaped = expected.display().to_string().replace('.', "\\\\.");
        text.push_str(&format!(
            "[[steps]]\nname = \"{name}\"\ncommand = [\"echo\", \"{{{{ bin.{name} }}}}\"]\nexpected_output_regex = \"^{escaped}$\"\n"
        ));
    }
    text
}

#[test]
fn bin_names_every_binary_cargo_builds_where_cargo_puts_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().canonicalize().expect("canonical");
    write(
        &root.join("Cargo.toml"),
        "[workspace]\nmembers = [\"app\", \"helper\"]\nresolver = \"2\"\n",
    );
    write(
        &root.join(".cargo/config.toml"),
        "[build]\ntarget-dir = \"out\"\n",
    );
    write(
        &root.join("app/Cargo.toml"),
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[[bin]]\nname = \"extra\"\npath = \"tools/extra.rs\"\n",
    );
    for file in ["src/main.rs", "src/bin/tool/main.rs", "tools/extra.rs"] {
        write(&root.join("app").join(file), "fn main() {}\n");
    }
    write(
        &root.join("helper/Cargo.toml"),
        "[package]\nname = \"helper\"\nversion = \"0.1.0\"\nedition = \"2021\"\nautobins = false\n\n[[bin]]\nname = \"only\"\npath = \"src/bin/only.rs\"\n",
    );
    for file in ["src/bin/only.rs", "src/bin/hidden.rs"] {
        write(&root.join("helper").join(file), "fn main() {}\n");
    }
    let app = root.join("app");
    let scenario = app.join("tests/clnrm/bins.clnrm.toml.tera");
    let run = |env: &[(&str, &str)]| {
        let mut command = binary(&app);
        command
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("CLNRM_PROFILE");
        for (k, v) in env {
            command.env(k, v);
        }
        command.args(["clnrm", "run"]).output().expect("run")
    };
    let names = ["app", "tool", "extra", "only"];
    let expect_in = |folder: PathBuf| -> Vec<(&str, PathBuf)> {
        names.iter().map(|n| (*n, folder.join(n))).collect()
    };

    // `build.target-dir` from cargo's configuration, the dev profile.
    write(
        &scenario,
        &bin_paths_scenario(&expect_in(root.join("out/debug"))),
    );
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));

    // CARGO_TARGET_DIR wins over the configuration; a profile's own folder.
    let elsewhere = root.join("elsewhere");
    write(
        &scenario,
        &bin_paths_scenario(&expect_in(elsewhere.join("release"))),
    );
    let out = run(&[
        ("CARGO_TARGET_DIR", elsewhere.to_str().expect("utf-8")),
        ("CLNRM_PROFILE", "release"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));

    // `autobins = false`: a file under src/bin/ is no binary.
    write(
        &scenario,
        &bin_paths_scenario(&[("hidden", root.join("out/debug/hidden"))]),
    );
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("bin.hidden"),
        "{}",
        text(&out.stdout)
    );
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
