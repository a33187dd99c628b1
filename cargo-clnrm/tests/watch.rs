//! `cargo clnrm watch` with a real watcher on temporary folders: what each
//! kind of save prints, read from its JSON lines.

mod watch_support;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use watch_support::*;

#[test]
fn an_edit_is_validated_and_diffed_and_a_comment_is_only_a_comment() {
    let (dir, root) = tree(&[("a.clnrm.toml", &valid("a"))]);
    let mut watch = Watch::start(dir.path(), &[]);
    let file = root.join("a.clnrm.toml");
    std::fs::write(&file, valid("a").replace("hello", "bye")).expect("edit");
    let validated = watch.next_of("validated");
    assert_eq!(validated["name"], "a.clnrm.toml");
    assert_eq!(validated["errors"], 0);
    assert!(validated["elapsed_ms"].as_f64().is_some());
    let diff = watch.next_of("diff");
    assert_eq!(diff["comment_only"], false);
    let changed = first_changed_node(&diff);
    assert_eq!(changed["id"], "scenario:a/step:greets");
    assert_eq!(changed["fields"][0]["new"], "[\"echo\",\"bye\"]");
    std::fs::write(
        &file,
        format!("# a note\n{}", valid("a").replace("hello", "bye")),
    )
    .expect("comment");
    watch.next_of("validated");
    assert_eq!(watch.next_of("diff")["comment_only"], true);
    watch.stop();
}

#[test]
fn touch_identical_rewrite_and_open_without_change_print_nothing() {
    let (dir, root) = tree(&[("a.clnrm.toml", &valid("a"))]);
    let mut watch = Watch::start(dir.path(), &[]);
    let file = root.join("a.clnrm.toml");
    let status = Command::new("touch").arg(&file).status().expect("touch");
    assert!(status.success());
    std::fs::write(&file, valid("a")).expect("identical rewrite");
    std::fs::OpenOptions::new()
        .append(true)
        .open(&file)
        .expect("open for writing");
    assert_eq!(watch.until_quiet(), Vec::<Value>::new());
    watch.stop();
}

#[test]
fn a_vim_style_save_through_a_backup_is_one_change() {
    let (dir, root) = tree(&[("a.clnrm.toml", &valid("a"))]);
    let mut watch = Watch::start(dir.path(), &[]);
    let file = root.join("a.clnrm.toml");
    let backup = root.join("a.clnrm.toml~");
    std::fs::rename(&file, &backup).expect("move to backup");
    std::fs::write(&file, valid("a").replace("hello", "vim")).expect("write new");
    std::fs::remove_file(&backup).expect("drop backup");
    let lines = watch.until_quiet();
    assert_eq!(reasons(&lines), ["validated", "diff"], "{lines:#?}");
    watch.stop();
}

#[test]
fn sed_in_place_renames_a_temporary_file_into_place() {
    let (dir, root) = tree(&[("a.clnrm.toml", &valid("a"))]);
    let mut watch = Watch::start(dir.path(), &[]);
    let status = Command::new("sed")
        .args(["-i", "s/hello/sed/"])
        .arg(root.join("a.clnrm.toml"))
        .status()
        .expect("sed");
    assert!(status.success());
    let lines = watch.until_quiet();
    assert_eq!(reasons(&lines), ["validated", "diff"], "{lines:#?}");
    assert_eq!(first_change(&lines[1])["new"], "[\"echo\",\"sed\"]");
    watch.stop();
}

#[test]
fn truncate_then_write_never_reports_the_empty_file() {
    let (dir, root) = tree(&[("a.clnrm.toml", &valid("a"))]);
    let mut watch = Watch::start(dir.path(), &[]);
    let file = root.join("a.clnrm.toml");
    // One descriptor: truncated, a pause, then the text.
    let mut handle = std::fs::File::create(&file).expect("truncate");
    std::thread::sleep(Duration::from_millis(30));
    handle
        .write_all(valid("a").replace("hello", "one").as_bytes())
        .expect("write");
    drop(handle);
    // Two descriptors: truncated and closed, then written and closed.
    std::fs::File::create(&file).expect("truncate and close");
    std::thread::sleep(Duration::from_millis(5));
    std::fs::write(&file, valid("a").replace("hello", "two")).expect("write");
    let lines = watch.until_quiet();
    assert!(
        lines
            .iter()
            .all(|l| l["errors"] != 1 && l["reason"] != "diagnostic"),
        "{lines:#?}"
    );
    let last_diff = lines
        .iter()
        .rev()
        .find(|l| l["reason"] == "diff")
        .expect("a diff");
    assert_eq!(first_change(last_diff)["new"], "[\"echo\",\"two\"]");
    watch.stop();
}

#[test]
fn a_burst_of_saves_ends_in_the_state_last_written() {
    let (dir, root) = tree(&[("a.clnrm.toml", &valid("a"))]);
    let mut watch = Watch::start(dir.path(), &[]);
    let file = root.join("a.clnrm.toml");
    // As fast as they go: on this machine, well under 50 ms for all 100.
    for i in 0..100 {
        std::fs::write(&file, valid("a").replace("hello", &format!("save{i}"))).expect("save");
    }
    let lines = watch.until_quiet();
    assert!(lines.iter().all(|l| l["errors"] != 1), "{lines:#?}");
    let last_diff = lines
        .iter()
        .rev()
        .find(|l| l["reason"] == "diff")
        .expect("a diff");
    assert_eq!(
        first_change(last_diff)["new"],
        "[\"echo\",\"save99\"]",
        "{lines:#?}"
    );
    watch.stop();
}

#[test]
fn a_shared_template_revalidates_exactly_its_readers() {
    let user = "{% import \"_shared.toml.tera\" as shared %}\n[meta]\nname = \"NAME\"\n[[steps]]\nname = \"s\"\ncommand = [\"echo\",\"{{ shared::word() }}\"]\n";
    let (dir, root) = tree(&[
        ("_shared.toml.tera", "{% macro word() %}one{% endmacro %}"),
        ("a.clnrm.toml.tera", &user.replace("NAME", "a")),
        ("b.clnrm.toml.tera", &user.replace("NAME", "b")),
        ("c.clnrm.toml.tera", &valid("c")),
    ]);
    let mut watch = Watch::start(dir.path(), &[]);
    let status = Command::new("touch")
        .arg(root.join("_shared.toml.tera"))
        .status();
    assert!(status.expect("touch").success());
    assert_eq!(
        watch.until_quiet(),
        Vec::<Value>::new(),
        "a touch changes nothing"
    );
    std::fs::write(
        root.join("_shared.toml.tera"),
        "{% macro word() %}two{% endmacro %}",
    )
    .expect("edit template");
    let lines = watch.until_quiet();
    assert_eq!(
        validated_names(&lines),
        ["a.clnrm.toml.tera", "b.clnrm.toml.tera"],
        "{lines:#?}"
    );
    watch.stop();
}

#[test]
fn files_created_deleted_and_renamed_in_and_out() {
    let (dir, root) = tree(&[("a.clnrm.toml", &valid("a"))]);
    let outside = dir.path().join("outside.clnrm.toml");
    std::fs::write(&outside, valid("o")).expect("outside");
    let mut watch = Watch::start(dir.path(), &[]);
    std::fs::write(root.join("b.clnrm.toml"), valid("b")).expect("create");
    let added = watch.next_of("validated");
    assert_eq!(
        (added["name"].as_str(), added["added"].as_bool()),
        (Some("b.clnrm.toml"), Some(true))
    );
    std::fs::create_dir(root.join("sub")).expect("new folder");
    std::fs::write(root.join("sub/c.clnrm.toml"), valid("c")).expect("file in new folder");
    assert_eq!(watch.next_of("validated")["name"], "sub/c.clnrm.toml");
    std::fs::remove_file(root.join("b.clnrm.toml")).expect("delete");
    assert_eq!(watch.next_of("removed")["name"], "b.clnrm.toml");
    std::fs::rename(&outside, root.join("in.clnrm.toml")).expect("rename in");
    assert_eq!(watch.next_of("validated")["name"], "in.clnrm.toml");
    std::fs::rename(
        root.join("in.clnrm.toml"),
        dir.path().join("out.clnrm.toml"),
    )
    .expect("rename out");
    assert_eq!(watch.next_of("removed")["name"], "in.clnrm.toml");
    // Hidden and target folders are not watched.
    for skipped in [".git", "target"] {
        std::fs::create_dir(root.join(skipped)).expect("skipped folder");
        std::fs::write(root.join(skipped).join("x.clnrm.toml"), valid("x")).expect("write");
    }
    assert_eq!(watch.until_quiet(), Vec::<Value>::new());
    watch.stop();
}

#[test]
fn a_root_deleted_and_recreated_is_watched_again() {
    let (dir, root) = tree(&[("a.clnrm.toml", &valid("a"))]);
    let mut watch = Watch::start(dir.path(), &[]);
    std::fs::remove_dir_all(&root).expect("delete root");
    assert_eq!(watch.next_of("removed")["name"], "a.clnrm.toml");
    std::fs::create_dir(&root).expect("recreate root");
    std::fs::write(root.join("a.clnrm.toml"), valid("a")).expect("write again");
    let back = watch.next_of("validated");
    assert_eq!(
        (back["name"].as_str(), back["added"].as_bool()),
        (Some("a.clnrm.toml"), Some(true))
    );
    std::fs::write(
        root.join("a.clnrm.toml"),
        valid("a").replace("hello", "again"),
    )
    .expect("edit");
    assert_eq!(watch.next_of("validated")["added"], false);
    watch.stop();
}

/// Sets a `/proc/sys/fs/inotify` value for a while; `None` where it cannot
/// be written (not root).
struct Sysctl {
    path: &'static str,
    old: String,
}

impl Sysctl {
    fn set(path: &'static str, value: &str) -> Option<Sysctl> {
        let old = std::fs::read_to_string(path).ok()?;
        std::fs::write(path, value).ok()?;
        Some(Sysctl { path, old })
    }
}

impl Drop for Sysctl {
    fn drop(&mut self) {
        let _ = std::fs::write(self.path, self.old.trim());
    }
}

#[test]
fn lost_events_make_everything_read_again() {
    // Freezing the watcher with SIGSTOP is how the test makes the kernel's
    // queue overflow; on a loaded machine an attempt now and then sees no
    // line at all after SIGCONT (an open question, noted for the faults
    // issue). Up to three attempts, each with a fresh watcher and tree; the
    // assertions hold for the first whose events were lost.
    for attempt in 1..=3 {
        if lost_events_attempt(attempt == 3) {
            return;
        }
    }
}

/// One attempt: `false` when no line came after the overflow (and `last`
/// is not set, which makes that a failure).
fn lost_events_attempt(last: bool) -> bool {
    let (dir, root) = tree(&[("a.clnrm.toml", &valid("a"))]);
    let lock = inotify_lock(true);
    let Some(small_queue) = Sysctl::set("/proc/sys/fs/inotify/max_queued_events", "16") else {
        // Not root: the queue size cannot be lowered; nothing to prove here.
        return true;
    };
    let mut watch = Watch::start_locked(dir.path(), &[], lock);
    drop(small_queue);
    // Stop the watcher's reading for a moment so the kernel queue overflows.
    let pid = nix::unistd::Pid::from_raw(watch.child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGSTOP).expect("SIGSTOP");
    for i in 0..40 {
        std::fs::write(root.join(format!("f{i}.clnrm.toml")), valid("f")).expect("write");
    }
    std::fs::write(
        root.join("a.clnrm.toml"),
        valid("a").replace("hello", "final"),
    )
    .expect("edit");
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGCONT).expect("SIGCONT");
    let Some(note) = (if last {
        Some(watch.next_of("watch-note"))
    } else {
        watch.try_next_of("watch-note")
    }) else {
        // Dropping the watch kills its process.
        return false;
    };
    assert!(
        note["message"]
            .as_str()
            .unwrap_or_default()
            .contains("lost events"),
        "{note}"
    );
    watch.until_quiet();
    let names = validated_names(&watch.seen);
    assert_eq!(
        names.iter().filter(|n| n.starts_with('f')).count(),
        40,
        "{names:?}"
    );
    assert!(names.contains(&"a.clnrm.toml".to_string()), "{names:?}");
    watch.stop();
    true
}

#[test]
fn the_inotify_watch_limit_is_a_clear_setup_error() {
    let (dir, root) = tree(&[("a.clnrm.toml", &valid("a"))]);
    for i in 0..5 {
        std::fs::create_dir_all(root.join(format!("d{i}"))).expect("folder");
    }
    let _lock = inotify_lock(true);
    let Some(_limit) = Sysctl::set("/proc/sys/fs/inotify/max_user_watches", "1") else {
        // Not root: the limit cannot be lowered; nothing to prove here.
        return;
    };
    let out = Command::new(env!("CARGO_BIN_EXE_cargo-clnrm"))
        .args(["clnrm", "watch", "--root", "root"])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .output()
        .expect("run watch");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("fs.inotify.max_user_watches"), "{stderr}");
}

const TWO_SCENARIOS: &str = "[meta]\nname = \"two\"\nbackend = \"local\"\n\n[[scenario]]\nname = \"first\"\nrun = \"echo FIRST\"\n\n[[scenario]]\nname = \"second\"\nrun = \"echo SECOND\"\n";

#[test]
fn run_reruns_only_the_changed_scenario_and_keys_choose_the_rest() {
    let (dir, root) = tree(&[("two.clnrm.toml", TWO_SCENARIOS)]);
    let mut watch = Watch::start(dir.path(), &["--run"]);
    // Start-up runs everything.
    let mut finished = Vec::new();
    for _ in 0..2 {
        finished.push(
            watch.next_of("test-finished")["name"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        );
    }
    finished.sort();
    assert_eq!(
        finished,
        ["two.clnrm.toml::first", "two.clnrm.toml::second"]
    );
    watch.next_of("run-finished");
    std::fs::write(
        root.join("two.clnrm.toml"),
        TWO_SCENARIOS.replace("echo SECOND", "false"),
    )
    .expect("edit second");
    let result = watch.next_of("test-finished");
    assert_eq!(
        (result["name"].as_str(), result["passed"].as_bool()),
        (Some("two.clnrm.toml::second"), Some(false))
    );
    let totals = watch.next_of("run-finished");
    assert_eq!(
        (totals["passed"].as_u64(), totals["failed"].as_u64()),
        (Some(0), Some(1))
    );
    // A comment changes no scenario: nothing runs.
    std::fs::write(
        root.join("two.clnrm.toml"),
        format!("# note\n{}", TWO_SCENARIOS.replace("echo SECOND", "false")),
    )
    .expect("comment");
    let lines = watch.until_quiet();
    assert!(
        !reasons(&lines).contains(&"run-started".to_string()),
        "{lines:#?}"
    );
    // `a`: every scenario, the failed one first.
    watch.key("a");
    assert_eq!(
        watch.next_of("run-started")["name"],
        "two.clnrm.toml::second"
    );
    assert_eq!(
        watch.next_of("run-started")["name"],
        "two.clnrm.toml::first"
    );
    watch.next_of("run-finished");
    // `f`: the failed one only.
    watch.key("f");
    assert_eq!(
        watch.next_of("run-started")["name"],
        "two.clnrm.toml::second"
    );
    watch.next_of("run-finished");
    let lines = watch.until_quiet();
    assert!(
        !reasons(&lines).contains(&"run-started".to_string()),
        "{lines:#?}"
    );
    // `q`: quits, exit code 0.
    watch.key("q");
    watch.next_of("watch-finished");
    let status = watch.child.wait().expect("wait");
    assert_eq!(status.code(), Some(0));
}

/// Processes whose command line contains `marker`.
fn processes_with(marker: &str) -> usize {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .filter(|cmdline| String::from_utf8_lossy(cmdline).contains(marker))
        .count()
}

#[test]
fn ctrl_c_during_a_run_kills_the_step_and_exits_cleanly() {
    let marker = format!("{}.25", 3000 + std::process::id() % 1000);
    let hanging = format!(
        "[meta]\nname = \"hang\"\nbackend = \"local\"\n\n[[steps]]\nname = \"waits\"\ncommand = [\"sleep\", \"{marker}\"]\n"
    );
    let (dir, _root) = tree(&[("hang.clnrm.toml", &hanging)]);
    let mut watch = Watch::start(dir.path(), &["--run"]);
    watch.next_of("run-started");
    let deadline = Instant::now() + PATIENCE;
    while processes_with(&marker) == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(processes_with(&marker), 1, "the step runs");
    watch.stop();
    assert_eq!(processes_with(&marker), 0, "the step was killed");
}

#[test]
fn a_fifo_named_like_a_scenario_never_blocks_the_loop() {
    let (dir, root) = tree(&[("a.clnrm.toml", &valid("a"))]);
    let mut watch = Watch::start(dir.path(), &[]);
    // Made outside, then renamed into place: the rename is a completed write.
    let outside = dir.path().join("pipe.clnrm.toml");
    let status = Command::new("mkfifo")
        .arg(&outside)
        .status()
        .expect("mkfifo");
    assert!(status.success());
    std::fs::rename(&outside, root.join("pipe.clnrm.toml")).expect("rename in");
    std::fs::write(
        root.join("a.clnrm.toml"),
        valid("a").replace("hello", "still here"),
    )
    .expect("edit");
    assert_eq!(watch.next_of("validated")["name"], "a.clnrm.toml");
    watch.stop();
}

#[test]
fn a_restart_remembers_what_passed_and_runs_what_failed_or_changed() {
    let store = tempfile::tempdir().expect("tempdir");
    let failing = "[meta]\nname = \"bad\"\nbackend = \"local\"\n\n[[steps]]\nname = \"s\"\ncommand = [\"false\"]\n";
    let (dir, root) = tree(&[
        ("two.clnrm.toml", TWO_SCENARIOS),
        ("bad.clnrm.toml", failing),
    ]);
    let outcomes = |watch: &mut Watch| {
        let mut seen: Vec<(String, String)> = (0..3)
            .map(|_| {
                let line = watch.next_of("test-finished");
                let name = line["name"].as_str().unwrap_or_default().to_string();
                (
                    name,
                    line["outcome"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        seen.sort();
        seen
    };
    let mut first = Watch::start_in(dir.path(), &["--run"], store.path());
    let ran = outcomes(&mut first);
    first.stop();
    assert_eq!(
        ran,
        [
            ("bad.clnrm.toml::bad".to_string(), "failed".to_string()),
            ("two.clnrm.toml::first".to_string(), "passed".to_string()),
            ("two.clnrm.toml::second".to_string(), "passed".to_string()),
        ]
    );
    // Restarted with nothing changed: the passes are remembered, the failure runs.
    let mut second = Watch::start_in(dir.path(), &["--run"], store.path());
    let ran = outcomes(&mut second);
    second.stop();
    assert_eq!(
        ran,
        [
            ("bad.clnrm.toml::bad".to_string(), "failed".to_string()),
            ("two.clnrm.toml::first".to_string(), "unchanged".to_string()),
            (
                "two.clnrm.toml::second".to_string(),
                "unchanged".to_string()
            ),
        ]
    );
    // Edited while watch was away: that file's tests run again.
    std::fs::write(
        root.join("two.clnrm.toml"),
        TWO_SCENARIOS.replace("echo SECOND", "echo 2ND"),
    )
    .expect("edit");
    let mut third = Watch::start_in(dir.path(), &["--run"], store.path());
    let ran = outcomes(&mut third);
    third.stop();
    assert_eq!(ran[1].1, "passed", "{ran:?}");
    assert_eq!(ran[2].1, "passed", "{ran:?}");
}

#[test]
fn watch_run_writes_the_files_reports_when_its_runs_settle() {
    let scenario = |word: &str| {
        format!(
            "[meta]\nname = \"reported\"\nbackend = \"local\"\n\n[[steps]]\nname = \"says\"\ncommand = [\"echo\", \"{word}\"]\n\n[report]\njson = \"out/report.json\"\n"
        )
    };
    let (dir, root) = tree(&[("reported.clnrm.toml", &scenario("one"))]);
    let store = tempfile::tempdir().expect("store");
    let mut watch = Watch::start_in(dir.path(), &["--run"], store.path());
    watch.next_of("run-finished");
    let report = root.join("out/report.json");
    let first: Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("the report")).expect("json");
    assert_eq!(first["tests"][0]["name"], "reported.clnrm.toml::reported");
    assert_eq!(first["tests"][0]["outcome"], "passed");
    // Edited to fail: rerun, and the report says so once the run settles.
    std::fs::write(
        root.join("reported.clnrm.toml"),
        scenario("two").replace("command = [\"echo\", \"two\"]", "command = [\"false\"]"),
    )
    .expect("edit");
    watch.next_of("run-finished");
    let second: Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("the report")).expect("json");
    assert_eq!(second["tests"][0]["outcome"], "failed", "{second:#}");
    watch.stop();
}
