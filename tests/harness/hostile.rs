//! The harness discovering files it must not trust (the example's test
//! binary, pointed at a package of hostile files): `--list` and a run finish,
//! a broken file is one failing test whose message says where, and what is
//! not a file is skipped with a warning said once.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::{Example, example_binaries};

const OK: &str =
    "[meta]\nname = \"ok\"\nbackend = \"local\"\n[[steps]]\nname = \"s\"\ncommand = [\"true\"]\n";

/// A package folder (others may enter it) with `files` under `tests/clnrm/`.
fn package(files: &[(&str, &[u8])]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    std::fs::write(
        dir.path().join("Cargo.toml"),
        "[package]\nname = \"hostile\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .expect("manifest");
    // Where the harness keeps results: writable by whoever runs it.
    let target = dir.path().join("target");
    std::fs::create_dir_all(&target).expect("target");
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let root = dir.path().join("tests/clnrm");
    std::fs::create_dir_all(&root).expect("root");
    for (name, content) in files {
        let path = root.join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, content).expect("write");
    }
    (dir, root)
}

/// The test binary as cargo starts it, for the package at `dir`.
fn harness(program: &Path, prefix: &[String], dir: &Path, args: &[&str]) -> Output {
    let mut command = match prefix.split_first() {
        Some((first, rest)) => {
            let mut c = Command::new(first);
            c.args(rest).arg(program);
            c
        }
        None => Command::new(program),
    };
    command
        .args(args)
        .current_dir(dir)
        .env("CARGO_MANIFEST_DIR", dir)
        .env("CARGO_TARGET_DIR", dir.join("target"))
        .env("HOME", dir)
        .env_remove("CLNRM_JUNIT")
        .env_remove("CLNRM_ROOTS")
        .env_remove("CLNRM_RESULT_DIR")
        .env_remove("CLNRM_TRACE_DIR")
        .env_remove("NEXTEST")
        .env_remove("NEXTEST_EXECUTION_MODE")
        .env_remove("NEXTEST_TEST_NAME");
    clnrm_tests::run_with_deadline(command)
}

fn said(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Whether libtest's output has `test NAME ... RESULT` (names are padded).
fn reported(all: &str, name: &str, result: &str) -> bool {
    all.lines().any(|line| {
        line.strip_prefix("test ")
            .and_then(|rest| rest.split_once(" ..."))
            .is_some_and(|(n, r)| n.trim() == name && r.trim() == result)
    })
}

fn assert_no_crash(output: &Output) {
    let all = said(output);
    assert!(
        !all.contains("panicked") && !all.contains("overflow"),
        "{all}"
    );
    assert!(output.status.code().is_some(), "killed by a signal: {all}");
}

/// 79-part dotted keys inside 79 levels of inline tables.
fn multiplied() -> String {
    let key = vec!["a"; 79].join(".");
    let mut value = "1".to_string();
    for _ in 0..79 {
        value = format!("{{{key} = {value}}}");
    }
    format!("{key} = {value}\n")
}

#[test]
fn hostile_files_become_failing_tests_or_skips_and_nothing_hangs() {
    let Example { test, .. } = example_binaries();
    let deep = format!("{OK}{}", multiplied());
    let operators = format!("{OK}x = {{{{ {}1 }}}}\n", "1 + ".repeat(100_000));
    let (dir, root) = package(&[
        ("ok.clnrm.toml", OK.as_bytes()),
        ("deep.clnrm.toml", deep.as_bytes()),
        ("operators.clnrm.toml.tera", operators.as_bytes()),
        (
            "latin1.clnrm.toml",
            b"[meta]\nname = \"\xe2\x9c\x93x\xff\"\n",
        ),
        ("nul.clnrm.toml", b"[meta]\nname = \"n\"\n# \0\n"),
    ]);
    let mode = nix::sys::stat::Mode::from_bits_truncate(0o644);
    nix::unistd::mkfifo(&root.join("x.clnrm.toml"), mode).expect("mkfifo");
    let _socket =
        std::os::unix::net::UnixListener::bind(root.join("sock.clnrm.toml")).expect("bind");
    std::os::unix::fs::symlink("nowhere", root.join("dangling.clnrm.toml")).expect("link");
    std::os::unix::fs::symlink("b", root.join("a.clnrm.toml")).expect("link");
    std::os::unix::fs::symlink("a.clnrm.toml", root.join("b")).expect("link");
    std::fs::create_dir_all(root.join("sub")).expect("sub");
    std::os::unix::fs::symlink("..", root.join("sub/up")).expect("link");
    let big = std::fs::File::create(root.join("big.clnrm.toml")).expect("create");
    big.set_len(100 << 20).expect("grow");

    let list = harness(&test, &[], dir.path(), &["--list"]);
    assert_no_crash(&list);
    assert!(list.status.success(), "{}", said(&list));
    let listed = String::from_utf8_lossy(&list.stdout).into_owned();
    for name in [
        "ok.clnrm.toml::ok: test",
        "big.clnrm.toml: test",
        "deep.clnrm.toml: test",
        "latin1.clnrm.toml: test",
        "nul.clnrm.toml: test",
        "operators.clnrm.toml.tera: test",
    ] {
        assert!(listed.lines().any(|l| l == name), "{name}:\n{listed}");
    }
    for skipped in [
        "x.clnrm.toml",
        "sock.clnrm.toml",
        "dangling.clnrm.toml",
        "a.clnrm.toml:",
    ] {
        assert!(
            !listed.contains(&format!("\n{skipped}")),
            "{skipped}:\n{listed}"
        );
    }
    let warnings = String::from_utf8_lossy(&list.stderr).into_owned();
    for warning in [
        "x.clnrm.toml: skipped: a FIFO, not a regular file",
        "sock.clnrm.toml: skipped: a Unix socket, not a regular file",
        "dangling.clnrm.toml: skipped: a dangling symlink",
        "a.clnrm.toml: skipped: a symlink loop",
        "sub/up: skipped: a symlink loop",
    ] {
        assert_eq!(
            warnings.matches(warning).count(),
            1,
            "{warning}:\n{warnings}"
        );
    }

    let run = harness(&test, &[], dir.path(), &["--test-threads", "2"]);
    assert_no_crash(&run);
    assert_eq!(run.status.code(), Some(101), "{}", said(&run));
    let all = said(&run);
    let root = root.display();
    assert!(reported(&all, "ok.clnrm.toml::ok", "ok"), "{all}");
    for failed in [
        "big.clnrm.toml",
        "deep.clnrm.toml",
        "latin1.clnrm.toml",
        "nul.clnrm.toml",
    ] {
        assert!(reported(&all, failed, "FAILED"), "{failed}:\n{all}");
    }
    for expected in [
        format!(
            "{root}/latin1.clnrm.toml:2:11: error[io]: the file is not text: invalid UTF-8 (byte 0xff)"
        ),
        format!("{root}/nul.clnrm.toml:3:3: error[io]: the file is not text: a NUL byte"),
        format!("{root}/deep.clnrm.toml:7:"),
        format!("{root}/operators.clnrm.toml.tera:7:"),
        format!(
            "{root}/big.clnrm.toml: error[io]: cannot read the file: the file is 104857600 bytes"
        ),
        "1 passed; 5 failed".to_string(),
    ] {
        assert!(all.contains(&expected), "{expected}:\n{all}");
    }
}

#[test]
fn unreadable_files_and_folders_are_failing_tests_and_warnings_for_an_unprivileged_user() {
    let running_as_root = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
    let prefix: Vec<String> = if running_as_root {
        [
            "setpriv",
            "--reuid",
            "65534",
            "--regid",
            "65534",
            "--clear-groups",
            "--",
        ]
        .map(String::from)
        .to_vec()
    } else {
        Vec::new()
    };
    if running_as_root
        && !Command::new("setpriv")
            .args(&prefix[1..])
            .args(["sh", "-c", "test \"$(id -u)\" != 0"])
            .status()
            .is_ok_and(|s| s.success())
    {
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            b"skipped: running as root, and `setpriv` cannot drop privileges\n",
        );
        return;
    }
    let Example { test, .. } = example_binaries();
    let (dir, root) = package(&[
        ("ok.clnrm.toml", OK.as_bytes()),
        ("secret.clnrm.toml", OK.as_bytes()),
        ("closed/inside.clnrm.toml", OK.as_bytes()),
    ]);
    // The test binary where the unprivileged user can run it.
    let program = dir.path().join("clnrm-test");
    std::fs::copy(&test, &program).expect("copy the test binary");
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let none = std::fs::Permissions::from_mode(0o000);
    std::fs::set_permissions(root.join("secret.clnrm.toml"), none.clone()).expect("chmod");
    std::fs::set_permissions(root.join("closed"), none).expect("chmod");
    let run = harness(&program, &prefix, dir.path(), &[]);
    for path in ["secret.clnrm.toml", "closed"] {
        let all = std::fs::Permissions::from_mode(0o755);
        std::fs::set_permissions(root.join(path), all).expect("chmod");
    }
    assert_no_crash(&run);
    let all = said(&run);
    assert_eq!(run.status.code(), Some(101), "{all}");
    let root = root.display();
    assert!(reported(&all, "ok.clnrm.toml::ok", "ok"), "{all}");
    assert!(reported(&all, "secret.clnrm.toml", "FAILED"), "{all}");
    for expected in [
        format!(
            "{root}/secret.clnrm.toml: error[io]: cannot read the file: permission denied (help: make it readable"
        ),
        format!("warning: {root}/closed: skipped: cannot read this folder: permission denied"),
    ] {
        assert!(all.contains(&expected), "{expected}:\n{all}");
    }
    assert_eq!(all.matches("closed: skipped").count(), 1, "{all}");
}

#[test]
fn a_test_nextest_listed_whose_file_went_fails_instead_of_passing_unrun() {
    let Example { test, .. } = example_binaries();
    let (dir, root) = package(&[("ok.clnrm.toml", OK.as_bytes())]);
    let one_test = |name: &str| {
        let mut command = Command::new(&test);
        command
            .args(["--exact", name])
            .current_dir(dir.path())
            .env("CARGO_MANIFEST_DIR", dir.path())
            .env("CARGO_TARGET_DIR", dir.path().join("target"))
            .env_remove("CLNRM_ROOTS")
            .env_remove("CLNRM_TRACE_DIR")
            .env("NEXTEST", "1")
            .env("NEXTEST_EXECUTION_MODE", "process-per-test")
            .env("NEXTEST_TEST_NAME", name);
        clnrm_tests::run_with_deadline(command)
    };
    let out = one_test("ok.clnrm.toml::ok");
    assert!(out.status.success(), "{}", said(&out));
    // Listed, then removed (or renamed) before nextest started its process.
    std::fs::remove_file(root.join("ok.clnrm.toml")).expect("remove");
    let out = one_test("ok.clnrm.toml::ok");
    let all = said(&out);
    assert_eq!(out.status.code(), Some(101), "{all}");
    assert!(reported(&all, "ok.clnrm.toml::ok", "FAILED"), "{all}");
    assert!(
        all.contains("its scenario file `ok.clnrm.toml` is gone or no longer defines it"),
        "{all}"
    );
    // By hand, `--exact` naming nothing runs nothing, as libtest does.
    let by_hand = harness(&test, &[], dir.path(), &["--exact", "ok.clnrm.toml::ok"]);
    assert!(by_hand.status.success(), "{}", said(&by_hand));
    assert!(said(&by_hand).contains("0 passed"), "{}", said(&by_hand));
}
