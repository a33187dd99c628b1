//! `cargo clnrm diff`, the real binary: scenario files, span files, a git
//! revision against the working copy; exit 0 equal, 1 different, 2 bad input.

mod cli_support;

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

use cli_support::*;
use clnrm_core::spans::{Attributes, Kind, Span, to_otlp_json_lines};

const STEPS: &str = r#"[meta]
name = "shop"
backend = "local"

[[scenario]]
name = "checkout"

[[scenario.steps]]
name = "pay"
command = ["echo", "paid"]
expected_output_regex = "^paid$"

[[scenario.steps]]
name = "ship"
command = ["echo", "shipped"]
"#;

fn diff_in(dir: &Path, args: &[&str]) -> Output {
    let mut all = vec!["diff"];
    all.extend_from_slice(args);
    clnrm(dir, &all)
}

fn code(out: &Output) -> Option<i32> {
    out.status.code()
}

/// Both outputs, for assertion messages.
fn shown(out: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    )
}

#[test]
fn equal_scenario_files_exit_0_with_no_changes() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(&dir.path().join("a.clnrm.toml"), STEPS);
    // Comments and layout are no change.
    let b = STEPS.replace("[[scenario]]", "# the one scenario\n[[scenario]]\n");
    write(&dir.path().join("b.clnrm.toml"), &b);
    let out = diff_in(dir.path(), &["a.clnrm.toml", "b.clnrm.toml"]);
    assert_eq!(code(&out), Some(0), "{}", shown(&out));
    assert_eq!(text(&out.stdout), "(no changes)\n");
}

#[test]
fn a_changed_step_and_an_added_scenario_exit_1_and_are_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(&dir.path().join("a.clnrm.toml"), STEPS);
    let b = STEPS.replace(r#"["echo", "paid"]"#, r#"["echo", "paid twice"]"#)
        + "\n[[scenario]]\nname = \"refund\"\nrun = \"true\"\n";
    write(&dir.path().join("b.clnrm.toml"), &b);
    let out = diff_in(dir.path(), &["a.clnrm.toml", "b.clnrm.toml"]);
    assert_eq!(code(&out), Some(1), "{}", shown(&out));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("+ scenario:refund\n"), "{stdout}");
    assert!(
        stdout.contains(
            r#"~ scenario:checkout/step:pay (command: ["echo","paid"] -> ["echo","paid twice"])"#
        ),
        "{stdout}"
    );
    assert!(
        stdout.ends_with("2 added, 0 removed, 1 changed, 0 moved\n"),
        "{stdout}"
    );
    // No colour unless asked for; `--color always` paints the signs' lines.
    assert!(!stdout.contains('\u{1b}'), "{stdout}");
    let out = diff_in(
        dir.path(),
        &["a.clnrm.toml", "b.clnrm.toml", "--color", "always"],
    );
    assert!(
        text(&out.stdout).contains("\u{1b}[32m+ scenario:refund\u{1b}[0m"),
        "{}",
        shown(&out)
    );
}

#[test]
fn matrix_combinations_are_compared_by_label() {
    let dir = tempfile::tempdir().expect("tempdir");
    let template = "[matrix]\nwho = [\"a\", \"b\"]\n[meta]\nname = \"m\"\nbackend = \"local\"\n\
                    [[scenario]]\nname = \"greets\"\nrun = \"echo {{ who }}\"\n";
    write(&dir.path().join("a.clnrm.toml.tera"), template);
    let b = template.replace(r#"["a", "b"]"#, r#"["a", "c"]"#);
    write(&dir.path().join("b.clnrm.toml.tera"), &b);
    let out = diff_in(dir.path(), &["a.clnrm.toml.tera", "b.clnrm.toml.tera"]);
    assert_eq!(code(&out), Some(1), "{}", shown(&out));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("[who=c]\n+ header\n"), "{stdout}");
    assert!(stdout.contains("[who=b]\n- header\n"), "{stdout}");
    assert!(!stdout.contains("[who=a]"), "{stdout}");
    let out = diff_in(
        dir.path(),
        &[
            "a.clnrm.toml.tera",
            "b.clnrm.toml.tera",
            "--message-format",
            "json",
        ],
    );
    let json = &json_lines(&out)[0];
    assert_eq!(json["added"][0]["combination"], "who=c");
}

/// A span of trace `trace` with id `trace`+`id`.
fn span(trace: &str, name: &str, id: &str, parent: Option<&str>, start: u64) -> Span {
    let mut s = Span::default();
    s.trace_id = format!("{trace:0>32}");
    s.span_id = format!("{trace}{id:0>14}");
    s.parent_span_id = parent.map(|p| format!("{trace}{p:0>14}"));
    s.name = name.into();
    s.kind = Kind::Server;
    s.start_unix_nano = Some(start);
    s.end_unix_nano = Some(start + 5);
    s.attributes = Attributes::from([("amount".into(), "10".into())]);
    s.resource = Arc::new(Attributes::from([("service.name".into(), "shop".into())]));
    s
}

/// `checkout` with `payment.charge` and `inventory.reserve` (with `db.query`).
fn trace(ids: &str) -> Vec<Span> {
    vec![
        span(ids, "checkout", "1", None, 100),
        span(ids, "payment.charge", "2", Some("1"), 110),
        span(ids, "inventory.reserve", "3", Some("1"), 120),
        span(ids, "db.query", "4", Some("3"), 130),
    ]
}

#[test]
fn span_files_name_each_changed_added_and_moved_span() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        &dir.path().join("old.jsonl"),
        &to_otlp_json_lines(&trace("aa")),
    );
    let mut new = trace("bb");
    new[1].attributes.insert("amount".into(), "12".into());
    // `db.query` now runs under `payment.charge`.
    new[3].parent_span_id = Some(new[1].span_id.clone());
    new.push(span("bb", "fraud.check", "5", Some("2"), 115));
    write(&dir.path().join("new.jsonl"), &to_otlp_json_lines(&new));
    let out = diff_in(dir.path(), &["old.jsonl", "new.jsonl"]);
    assert_eq!(code(&out), Some(1), "{}", shown(&out));
    let stdout = text(&out.stdout);
    assert_eq!(
        stdout,
        "+ checkout/payment.charge/fraud.check\n\
         ~ checkout/payment.charge (attr.amount: \"10\" -> \"12\")\n\
         > checkout/payment.charge/db.query moved from checkout/inventory.reserve\n\
         1 added, 0 removed, 1 changed, 1 moved\n"
    );
    let out = diff_in(
        dir.path(),
        &["old.jsonl", "new.jsonl", "--message-format", "json"],
    );
    assert_eq!(code(&out), Some(1));
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 1, "one document: {}", shown(&out));
    let json = &lines[0];
    assert_eq!(json["reason"], "diff-finished");
    assert_eq!(json["format_version"], 1);
    assert_eq!(json["input"], "spans");
    assert_eq!(json["equal"], false);
    assert_eq!(json["removed"], serde_json::json!([]));
    assert_eq!(
        json["added"][0]["id"],
        "checkout/payment.charge/fraud.check"
    );
    assert_eq!(json["added"][0]["kind"], "span");
    let changed = &json["changed"][0];
    assert_eq!(changed["fields"][0]["field"], "attr.amount");
    assert_eq!(changed["fields"][0]["old"], "\"10\"");
    assert_eq!(changed["fields"][0]["new"], "\"12\"");
    assert_eq!(json["moved"][0]["old_parent"], "checkout/inventory.reserve");
    assert_eq!(json["moved"][0]["parent"], "checkout/payment.charge");
}

/// `checkout` with one `http.request` per path, 10 apart.
fn requests(ids: &str, paths: &[&str]) -> Vec<Span> {
    let mut spans = vec![span(ids, "checkout", "1", None, 100)];
    for (k, path) in paths.iter().enumerate() {
        let start = 110 + 10 * k as u64;
        let mut request = span(ids, "http.request", &(k + 2).to_string(), Some("1"), start);
        request.attributes.insert("path".into(), (*path).into());
        spans.push(request);
    }
    spans
}

#[test]
fn a_span_inserted_among_repeated_siblings_is_one_added_span() {
    let dir = tempfile::tempdir().expect("tempdir");
    let old = requests("aa", &["/a", "/b", "/c"]);
    write(&dir.path().join("old.jsonl"), &to_otlp_json_lines(&old));
    // A retry of `/a` between the first and the second request.
    let new = requests("bb", &["/a", "/a", "/b", "/c"]);
    write(&dir.path().join("new.jsonl"), &to_otlp_json_lines(&new));
    let out = diff_in(dir.path(), &["old.jsonl", "new.jsonl"]);
    assert_eq!(code(&out), Some(1), "{}", shown(&out));
    assert_eq!(
        text(&out.stdout),
        "+ checkout/http.request#4\n1 added, 0 removed, 0 changed, 0 moved\n"
    );
    let out = diff_in(
        dir.path(),
        &["old.jsonl", "new.jsonl", "--message-format", "json"],
    );
    let json = &json_lines(&out)[0];
    assert_eq!(json["added"].as_array().map(Vec::len), Some(1), "{json}");
    assert_eq!(json["added"][0]["parent"], "checkout");
    assert_eq!(json["changed"], serde_json::json!([]));
}

#[test]
fn other_span_ids_with_the_same_tree_exit_0() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        &dir.path().join("a.jsonl"),
        &to_otlp_json_lines(&trace("aa")),
    );
    // Another run: other ids, one document pretty-printed over many lines.
    let other = to_otlp_json_lines(&trace("cc"));
    let value: serde_json::Value = serde_json::from_str(other.trim()).expect("json");
    let pretty = serde_json::to_string_pretty(&value).expect("pretty");
    write(&dir.path().join("b.json"), &pretty);
    let out = diff_in(dir.path(), &["a.jsonl", "b.json"]);
    assert_eq!(code(&out), Some(0), "{}", shown(&out));
    assert_eq!(text(&out.stdout), "(no changes)\n");
    let out = diff_in(
        dir.path(),
        &["a.jsonl", "b.json", "--message-format", "json"],
    );
    assert_eq!(code(&out), Some(0));
    assert_eq!(json_lines(&out)[0]["equal"], true);
}

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args([
            "-c",
            "user.name=clnrm",
            "-c",
            "user.email=clnrm@example.com",
        ])
        .args(args)
        .current_dir(dir)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .output()
        .expect("git runs");
    assert!(
        status.status.success(),
        "git {args:?}: {}",
        text(&status.stderr)
    );
}

#[test]
fn a_file_at_a_git_revision_against_its_working_copy() {
    let repo = tempfile::tempdir().expect("tempdir");
    let file = repo.path().join("tests/clnrm/shop.clnrm.toml");
    write(&file, STEPS);
    git(repo.path(), &["init", "-q"]);
    git(repo.path(), &["add", "."]);
    git(repo.path(), &["commit", "-q", "-m", "shop"]);
    // Run from the repository root, the file in a folder below it.
    let out = diff_in(
        repo.path(),
        &["--rev", "HEAD", "tests/clnrm/shop.clnrm.toml"],
    );
    assert_eq!(code(&out), Some(0), "{}", shown(&out));
    write(&file, &STEPS.replace("\"ship\"", "\"deliver\""));
    let out = diff_in(
        repo.path(),
        &["--rev", "HEAD", "tests/clnrm/shop.clnrm.toml"],
    );
    assert_eq!(code(&out), Some(1), "{}", shown(&out));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("- scenario:checkout/step:ship\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("+ scenario:checkout/step:deliver\n"),
        "{stdout}"
    );
    let out = diff_in(
        &repo.path().join("tests"),
        &[
            "--rev",
            "HEAD",
            "clnrm/shop.clnrm.toml",
            "--message-format",
            "json",
        ],
    );
    let json = &json_lines(&out)[0];
    assert_eq!(json["old"], "HEAD:clnrm/shop.clnrm.toml");
    assert_eq!(json["new"], "clnrm/shop.clnrm.toml");
    // A revision or a path git does not know: exit 2 with git's reason.
    let out = diff_in(
        repo.path(),
        &["--rev", "no-such-rev", "tests/clnrm/shop.clnrm.toml"],
    );
    assert_eq!(code(&out), Some(2), "{}", shown(&out));
    assert!(text(&out.stderr).contains("no-such-rev"), "{}", shown(&out));
    write(&repo.path().join("new.clnrm.toml"), STEPS);
    let out = diff_in(repo.path(), &["--rev", "HEAD", "new.clnrm.toml"]);
    assert_eq!(code(&out), Some(2), "{}", shown(&out));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("cannot read `new.clnrm.toml` at revision `HEAD`")
            && stderr.contains("fatal:"),
        "{stderr}"
    );
    // --rev takes one file.
    let out = diff_in(
        repo.path(),
        &["--rev", "HEAD", "a.clnrm.toml", "b.clnrm.toml"],
    );
    assert_eq!(code(&out), Some(2), "{}", shown(&out));
}

#[test]
fn a_span_file_with_a_bad_line_is_a_located_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = to_otlp_json_lines(&trace("aa"));
    write(&dir.path().join("a.jsonl"), &good);
    write(
        &dir.path().join("b.jsonl"),
        &format!("{good}{good}{{\"resourceSpans\": [oops\n{good}"),
    );
    let out = diff_in(dir.path(), &["a.jsonl", "b.jsonl"]);
    assert_eq!(code(&out), Some(2), "{}", shown(&out));
    let stderr = text(&out.stderr);
    assert!(stderr.starts_with("error: b.jsonl:3:"), "{stderr}");
    assert!(stderr.contains("not JSON"), "{stderr}");
    assert!(out.stdout.is_empty(), "{}", shown(&out));
    // JSON that holds no spans (a log line) is no span file either.
    write(
        &dir.path().join("c.jsonl"),
        "{\"level\":\"info\",\"msg\":\"hi\"}\n",
    );
    let out = diff_in(dir.path(), &["a.jsonl", "c.jsonl"]);
    assert_eq!(code(&out), Some(2), "{}", shown(&out));
    assert!(
        text(&out.stderr).contains("c.jsonl:1: not OTLP JSON"),
        "{}",
        shown(&out)
    );
}

#[test]
fn a_scenario_against_a_trace_is_a_usage_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(&dir.path().join("a.clnrm.toml"), STEPS);
    write(
        &dir.path().join("trace.txt"),
        &to_otlp_json_lines(&trace("aa")),
    );
    let out = diff_in(dir.path(), &["a.clnrm.toml", "trace.txt"]);
    assert_eq!(code(&out), Some(2), "{}", shown(&out));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("cannot compare a scenario file with a span file"),
        "{stderr}"
    );
}

#[test]
fn a_missing_file_exits_2_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(&dir.path().join("a.clnrm.toml"), STEPS);
    let out = diff_in(dir.path(), &["a.clnrm.toml", "gone.clnrm.toml"]);
    assert_eq!(code(&out), Some(2), "{}", shown(&out));
    assert!(
        text(&out.stderr).contains("cannot read `gone.clnrm.toml`"),
        "{}",
        shown(&out)
    );
    let out = diff_in(dir.path(), &["a.clnrm.toml"]);
    assert_eq!(code(&out), Some(2), "B is required: {}", shown(&out));
}

#[test]
fn a_scenario_file_with_errors_exits_2_with_its_diagnostics() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(&dir.path().join("a.clnrm.toml"), STEPS);
    let broken = STEPS.replace("name = \"pay\"", "name = 3");
    write(&dir.path().join("b.clnrm.toml"), &broken);
    let out = diff_in(dir.path(), &["a.clnrm.toml", "b.clnrm.toml"]);
    assert_eq!(code(&out), Some(2), "{}", shown(&out));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("--> b.clnrm.toml:9:8"), "{stderr}");
    assert!(stderr.contains("error[clnrm::wrong-type]"), "{stderr}");
    assert!(stderr.contains("`b.clnrm.toml` has 1 error"), "{stderr}");
    let out = diff_in(
        dir.path(),
        &["a.clnrm.toml", "b.clnrm.toml", "--message-format", "json"],
    );
    assert_eq!(code(&out), Some(2));
    let json = &json_lines(&out)[0];
    assert_eq!(json["reason"], "diagnostic");
    assert_eq!(
        (json["line"].as_u64(), json["column"].as_u64()),
        (Some(9), Some(8))
    );
}

#[test]
fn json_output_has_the_four_lists() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(&dir.path().join("a.clnrm.toml"), STEPS);
    let b = STEPS.replace(
        "[[scenario.steps]]\nname = \"pay\"\ncommand = [\"echo\", \"paid\"]\nexpected_output_regex = \"^paid$\"\n\n",
        "",
    ) + "\n[[scenario.steps]]\nname = \"pay\"\ncommand = [\"echo\", \"paid\"]\nexpected_output_regex = \"^paid$\"\n";
    write(&dir.path().join("b.clnrm.toml"), &b);
    let out = diff_in(
        dir.path(),
        &["a.clnrm.toml", "b.clnrm.toml", "--message-format", "json"],
    );
    assert_eq!(code(&out), Some(1), "{}", shown(&out));
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 1, "{}", shown(&out));
    let json = &lines[0];
    assert_eq!(json["input"], "scenario");
    for list in ["added", "removed", "changed", "moved"] {
        assert!(json[list].is_array(), "{list}: {json}");
    }
    // `pay` now runs after `ship`: one of them moved.
    assert_eq!(json["moved"].as_array().map(Vec::len), Some(1), "{json}");
    assert!(json["moved"][0].get("combination").is_none(), "{json}");
}

#[test]
fn a_template_at_a_revision_imports_its_templates_at_the_revision() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path().join("repo");
    let folder = repo.join("tests/clnrm");
    // Beside the repository: read from the file system on both sides.
    write(
        &dir.path().join("outside.tera"),
        "{% macro who() %}shop{% endmacro %}",
    );
    let template = "{% import \"macros.tera\" as m %}\n\
                    {% import \"../../../outside.tera\" as o %}\n\
                    {% import \"_macros.toml.tera\" as lib %}\n\
                    [meta]\nname = \"{{ o::who() }}\"\nbackend = \"local\"\n\
                    [[scenario]]\nname = \"checkout\"\n\
                    [[scenario.steps]]\nname = \"pay\"\ncommand = [\"echo\", \"{{ m::word() }}\"]\n";
    write(&folder.join("shop.clnrm.toml.tera"), template);
    write(
        &folder.join("macros.tera"),
        "{% macro word() %}paid{% endmacro %}",
    );
    git(&repo, &["init", "-q"]);
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "shop"]);
    let rev = ["--rev", "HEAD", "tests/clnrm/shop.clnrm.toml.tera"];
    let out = diff_in(&repo, &rev);
    assert_eq!(code(&out), Some(0), "{}", shown(&out));
    assert_eq!(text(&out.stdout), "(no changes)\n");
    // Only the imported macro changes: the revision's side keeps the old one.
    write(
        &folder.join("macros.tera"),
        "{% macro word() %}paid twice{% endmacro %}",
    );
    let out = diff_in(&repo, &rev);
    assert_eq!(code(&out), Some(1), "{}", shown(&out));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(
            r#"~ scenario:checkout/step:pay (command: ["echo","paid"] -> ["echo","paid twice"])"#
        ),
        "{stdout}"
    );
    // From another folder, the file's path relative to it.
    let out = diff_in(
        &repo.join("tests"),
        &["--rev", "HEAD", "clnrm/shop.clnrm.toml.tera"],
    );
    assert_eq!(code(&out), Some(1), "{}", shown(&out));
    // An import only at the revision: deleted, and no longer imported.
    std::fs::remove_file(folder.join("macros.tera")).expect("remove");
    let inlined = template
        .replace("{% import \"macros.tera\" as m %}\n", "")
        .replace("{{ m::word() }}", "paid");
    write(&folder.join("shop.clnrm.toml.tera"), &inlined);
    let out = diff_in(&repo, &rev);
    assert_eq!(code(&out), Some(0), "{}", shown(&out));
    assert_eq!(text(&out.stdout), "(no changes)\n");
    // An import missing at the revision is not found there, though the
    // working copy has it (untracked).
    write(
        &folder.join("gone.tera"),
        "{% macro word() %}paid{% endmacro %}",
    );
    write(
        &folder.join("shop.clnrm.toml.tera"),
        &template.replace("macros.tera", "gone.tera"),
    );
    git(&repo, &["add", "tests/clnrm/shop.clnrm.toml.tera"]);
    git(&repo, &["commit", "-q", "-m", "gone"]);
    let out = diff_in(&repo, &rev);
    assert_eq!(code(&out), Some(2), "{}", shown(&out));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("template `gone.tera` not found")
            && stderr.contains("HEAD:tests/clnrm/shop.clnrm.toml.tera:1:")
            && stderr.contains("looked for `HEAD:tests/clnrm/gone.tera`"),
        "{stderr}"
    );
}
