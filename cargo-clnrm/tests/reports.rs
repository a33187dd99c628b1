//! Report files with the real binary: `run --report-dir` and each scenario
//! file's `[report]`, and under `[determinism]` the same bytes from two runs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use sha2::{Digest, Sha256};

fn clnrm(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cargo-clnrm"))
        .arg("clnrm")
        .args(args)
        .current_dir(dir)
        .env_remove("CLNRM_ROOTS")
        .output()
        .expect("run cargo-clnrm")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn write(dir: &Path, name: &str, content: &str) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(&path, content).expect("write");
    path
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&read(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn scenario(name: &str, command: &str, extra: &str) -> String {
    format!(
        "[meta]\nname = \"{name}\"\nbackend = \"local\"\n{extra}\n[[steps]]\nname = \"s\"\ncommand = {command}\n"
    )
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn is_digest_file(text: &str) -> bool {
    text.len() == 65
        && text.ends_with('\n')
        && text[..64]
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

#[test]
fn report_dir_writes_the_json_junit_and_digest_of_the_whole_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "a.clnrm.toml", &scenario("a", "[\"true\"]", ""));
    write(
        dir.path(),
        "b.clnrm.toml",
        &scenario("b", "[\"sh\", \"-c\", \"echo oops >&2; exit 3\"]", ""),
    );
    write(
        dir.path(),
        "c.clnrm.toml",
        &scenario("c", "[\"true\"]", "ignore = \"not today\""),
    );
    let out = clnrm(
        dir.path(),
        &[
            "run",
            ".",
            "--report-dir",
            "reports/ci",
            "--message-format",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    // The JSON lines on stdout are what they were: nothing about the files.
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), 4, "{}", text(&out));

    let reports = dir.path().join("reports/ci");
    let report = json(&reports.join("report.json"));
    assert_eq!(report["format_version"], 1);
    assert_eq!(
        report["summary"],
        serde_json::json!({"tests": 3, "passed": 1, "failed": 1, "ignored": 1, "skipped": 0, "not_run": 0})
    );
    let tests = report["tests"].as_array().expect("tests");
    let names: Vec<&str> = tests
        .iter()
        .map(|t| t["name"].as_str().expect("name"))
        .collect();
    assert_eq!(
        names,
        ["a.clnrm.toml::a", "b.clnrm.toml::b", "c.clnrm.toml::c"]
    );
    assert_eq!(tests[0]["outcome"], "passed");
    assert_eq!(tests[2]["outcome"], "ignored");
    assert_eq!(tests[2]["ignore_reason"], "not today");

    // The failing test's failures are data, as in its `test-finished` line.
    let failed = &tests[1];
    assert_eq!(failed["outcome"], "failed");
    // As `run` prints places: the path given, joined with the file's.
    assert_eq!(failed["location"]["file"], "./b.clnrm.toml");
    let failure = &failed["failures"][0];
    assert_eq!(failure["kind"], "exit-code");
    assert_eq!(failure["step"], "s");
    assert_eq!(failure["expected"], "0");
    assert_eq!(failure["actual"], "3");
    assert_eq!(failure["output"]["stderr"], "oops\n");
    assert_eq!(failure["command"][0], "sh");
    let line = lines
        .iter()
        .find(|l| l["name"] == "b.clnrm.toml::b")
        .expect("the failing test's line");
    assert_eq!(failed["failures"], line["failures"]);
    assert_eq!(failed["message"], line["message"]);

    let junit = read(&reports.join("junit.xml"));
    assert_eq!(junit.matches("<testcase").count(), 3, "{junit}");
    assert_eq!(junit.matches("<failure").count(), 1, "{junit}");
    assert_eq!(junit.matches("<skipped").count(), 1, "{junit}");
    assert!(
        junit.contains(r#"message="step `s` failed: expected exit code 0, was 3""#),
        "{junit}"
    );

    let digest = read(&reports.join("report.sha256"));
    assert!(is_digest_file(&digest), "{digest:?}");
    // Not under `[determinism]`: the file is as it ran, the digest is of its
    // normalised form.
    assert_ne!(
        digest[..64],
        sha256_hex(&read(&reports.join("report.json")))
    );
}

#[test]
fn a_report_table_writes_next_to_its_file_and_creates_folders() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "sub/a.clnrm.toml",
        &scenario(
            "a",
            "[\"false\"]",
            "\n[report]\njson = \"out/deep/r.json\"\njunit = \"out/r.xml\"\ndigest = \"r.sha256\"\n",
        ),
    );
    write(dir.path(), "b.clnrm.toml", &scenario("b", "[\"true\"]", ""));
    // From the folder above, and from another folder: the same place.
    let runs = [
        (dir.path().to_path_buf(), ".", "sub/a.clnrm.toml::a"),
        (dir.path().join("sub"), "a.clnrm.toml", "a.clnrm.toml::a"),
    ];
    for (cwd, path, name) in runs {
        let sub = dir.path().join("sub");
        let _ = std::fs::remove_dir_all(sub.join("out"));
        let out = clnrm(&cwd, &["run", path]);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        let report = json(&sub.join("out/deep/r.json"));
        // Only the tests of the file that names it.
        assert_eq!(report["summary"]["tests"], 1, "{report}");
        assert_eq!(report["tests"][0]["name"], name);
        assert_eq!(report["tests"][0]["failures"][0]["kind"], "exit-code");
        let junit = read(&sub.join("out/r.xml"));
        assert_eq!(junit.matches("<testcase").count(), 1, "{junit}");
        assert!(is_digest_file(&read(&sub.join("r.sha256"))));
    }
    // The file without `[report]` wrote nothing, and the run no folder of its own.
    let mut files: Vec<String> = walk(dir.path());
    files.sort();
    assert_eq!(
        files,
        [
            "b.clnrm.toml",
            "sub/a.clnrm.toml",
            "sub/out/deep/r.json",
            "sub/out/r.xml",
            "sub/r.sha256"
        ]
    );
}

fn walk(root: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut folders = vec![root.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                folders.push(path);
            } else {
                let relative = path.strip_prefix(root).expect("inside");
                found.push(relative.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    found
}

/// A failing step whose output changes on every run: its temporary folder,
/// a port from its pid, a random span-like id, the time, and a seeded UUID.
const VOLATILE: &str = r#"["sh", "-c", "pwd; echo listening on 127.0.0.1:$((10000 + $$ % 50000)); head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \\n'; echo; date -u +%Y-%m-%dT%H:%M:%SZ; echo {{ uuid_v4() }}; exit 1"]"#;

#[test]
fn under_determinism_two_runs_give_the_same_bytes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let extra = "\n[determinism]\nseed = 42\nfreeze_clock = \"2025-01-01T00:00:00Z\"\n\n[report]\njson = \"out/r.json\"\ndigest = \"out/r.sha256\"\n";
    write(
        dir.path(),
        "volatile.clnrm.toml",
        &scenario("volatile", VOLATILE, extra),
    );
    let run = |report_dir: &str| {
        let out = clnrm(dir.path(), &["run", ".", "--report-dir", report_dir]);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        let files = [
            dir.path().join("out/r.json"),
            dir.path().join("out/r.sha256"),
            dir.path().join(report_dir).join("report.json"),
            dir.path().join(report_dir).join("report.sha256"),
        ];
        (text(&out), files.map(|f| read(&f)))
    };
    let (first_output, first) = run("one");
    let (second_output, second) = run("two");
    // What the step printed differed (the pid, the random bytes) ...
    assert_ne!(first_output, second_output);
    // ... and the reports did not.
    assert_eq!(first, second);
    let [json_file, digest_file, run_json, run_digest] = &first;
    assert!(
        json_file.contains("listening on 127.0.0.1:<port>"),
        "{json_file}"
    );
    assert!(json_file.contains("\"stdout\": \"<tmp>\\n"), "{json_file}");
    assert!(
        json_file.contains("\\n<id>\\n<time>\\n<uuid>\\n"),
        "{json_file}"
    );
    assert!(json_file.contains("\"duration_ms\": 0"), "{json_file}");
    // Normalised, the JSON file is what its digest is of: `sha256sum` agrees.
    assert_eq!(digest_file[..64], sha256_hex(json_file));
    assert_eq!(run_digest[..64], sha256_hex(run_json));
    assert_eq!(json_file, run_json, "one file's tests, one document");
}

#[test]
fn without_determinism_the_json_is_as_it_ran_and_the_digest_still_agrees() {
    let dir = tempfile::tempdir().expect("tempdir");
    let extra = "\n[report]\njson = \"r.json\"\ndigest = \"r.sha256\"\n";
    write(
        dir.path(),
        "volatile.clnrm.toml",
        &scenario("volatile", VOLATILE, extra),
    );
    let run = || {
        let out = clnrm(dir.path(), &["run", "."]);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        (
            read(&dir.path().join("r.json")),
            read(&dir.path().join("r.sha256")),
        )
    };
    let (first_json, first_digest) = run();
    let (second_json, second_digest) = run();
    assert_ne!(first_json, second_json);
    assert!(!first_json.contains("<port>"), "{first_json}");
    let report: Value = serde_json::from_str(&first_json).expect("json");
    let stdout = report["tests"][0]["failures"][0]["output"]["stdout"]
        .as_str()
        .expect("stdout");
    assert!(
        stdout.contains("listening on 127.0.0.1:") && !stdout.contains("<"),
        "{stdout}"
    );
    assert_eq!(first_digest, second_digest);
}

#[test]
fn a_container_scenario_under_determinism_gives_the_same_report_twice() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The runner's hostname is its container id; its address is on the
    // scenario's own network.
    write(
        dir.path(),
        "box.clnrm.toml",
        "[meta]\nname = \"box\"\nimage = \"clnrm-busybox:latest\"\n\n[determinism]\n\n[report]\njson = \"r.json\"\n\n[[steps]]\nname = \"s\"\ncommand = [\"sh\", \"-c\", \"hostname; cat /proc/sys/kernel/random/uuid; exit 1\"]\n",
    );
    let run = || {
        let out = clnrm(dir.path(), &["run", "."]);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        (text(&out), read(&dir.path().join("r.json")))
    };
    let (first_output, first) = run();
    let (second_output, second) = run();
    assert_ne!(first_output, second_output);
    assert_eq!(first, second);
    assert!(
        first.contains("\"stdout\": \"<id>\\n<uuid>\\n\""),
        "{first}"
    );
}

#[test]
fn an_empty_or_repeated_report_path_is_an_error_of_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "a.clnrm.toml",
        &scenario(
            "a",
            "[\"true\"]",
            "\n[report]\njson = \"\"\njunit = \"r.out\"\ndigest = \"r.out\"\n",
        ),
    );
    let out = clnrm(dir.path(), &["validate", "."]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let said = text(&out);
    assert!(said.contains("`report.json` is empty"), "{said}");
    assert!(
        said.contains("`report.digest` names the same file as another report"),
        "{said}"
    );
}
