//! A signalled test process leaves nothing behind: steps killed, containers removed.

use std::process::Command;

use crate::support::{failing_fixtures_binary, nextest_of_failing_fixtures, workspace};

#[test]
fn a_signalled_test_process_kills_its_steps() {
    let binary = failing_fixtures_binary();
    let fixtures = workspace().join("tests/fixtures/failing");
    for signal in [
        nix::sys::signal::Signal::SIGTERM,
        nix::sys::signal::Signal::SIGINT,
    ] {
        let mut child = Command::new(&binary)
            .args(["--ignored", "--exact", "signalled.clnrm.toml::signalled"])
            .current_dir(&fixtures)
            .env("CARGO_MANIFEST_DIR", &fixtures)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("spawn");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while clnrm_tests::count_processes(&["sleep", "1019"]) == 0
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert_eq!(
            clnrm_tests::count_processes(&["sleep", "1019"]),
            1,
            "the step started"
        );
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), signal)
            .expect("signal");
        let started = std::time::Instant::now();
        let status = child.wait().expect("wait");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(3),
            "{signal}: {:?}",
            started.elapsed()
        );
        assert!(!status.success(), "{signal}: a cancelled test fails");
        assert_eq!(
            clnrm_tests::count_processes(&["sleep", "1019"]),
            0,
            "{signal}: the step's process is gone"
        );
    }
}

#[test]
fn a_signalled_test_process_removes_its_containers() {
    let binary = failing_fixtures_binary();
    let fixtures = workspace().join("tests/fixtures/failing");
    let mut child = Command::new(&binary)
        .args([
            "--ignored",
            "--exact",
            "signalled-container.clnrm.toml::signalled_container",
        ])
        .current_dir(&fixtures)
        .env("CARGO_MANIFEST_DIR", &fixtures)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let pid = child.id();
    let containers = || containers_of(pid);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while clnrm_tests::count_processes(&["sleep", "1022"]) == 0
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(containers(), 1, "the runner container is up");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .expect("signal");
    let status = child.wait().expect("wait");
    assert!(!status.success());
    assert_eq!(containers(), 0, "the container is removed");
}

#[test]
fn a_killed_test_process_leaves_containers_that_the_next_run_removes() {
    let binary = failing_fixtures_binary();
    let fixtures = workspace().join("tests/fixtures/failing");
    let test = |exact: &str| {
        let mut command = Command::new(&binary);
        (command.args(["--include-ignored", "--exact", exact]))
            .current_dir(&fixtures)
            .env("CARGO_MANIFEST_DIR", &fixtures)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        command
    };
    let mut child = test("signalled-container.clnrm.toml::signalled_container")
        .spawn()
        .expect("spawn");
    let pid = child.id();
    let containers = || containers_of(pid);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while containers() == 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(containers(), 1, "the runner container is up");
    // No teardown can run: the container outlives its process.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("signal");
    child.wait().expect("wait");
    // No teardown ran (SIGKILL). Not asserted that the container is still
    // there: another test's process, starting now, may sweep it first.
    // The next test process that starts a container sweeps it away.
    let next = test("container-exit.clnrm.toml::container_exit")
        .status()
        .expect("the next test");
    assert_eq!(next.code(), Some(101), "that test fails on purpose");
    assert_eq!(containers(), 0, "the killed process's container is gone");
}

#[test]
fn killing_nextest_with_its_test_process_leaves_containers_that_the_next_run_removes() {
    // As a cancelled CI job goes: `cargo nextest run` and every process
    // under it killed at once (SIGKILL), no teardown anywhere.
    let binary = failing_fixtures_binary();
    let mut nextest = nextest_of_failing_fixtures()
        .args(["--run-ignored", "all", "--no-tests", "fail"])
        .args([
            "-E",
            "test(=signalled-container.clnrm.toml::signalled_container)",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn cargo nextest");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let test_process = loop {
        let tree = descendants(nextest.id());
        if let Some(&pid) = tree.iter().find(|&&pid| containers_of(pid) > 0) {
            break pid;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no container under nextest"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    for pid in std::iter::once(nextest.id()).chain(descendants(nextest.id())) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    nextest.wait().expect("wait");
    // The killed test process is nobody's child here: wait until it is gone.
    let gone = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::path::Path::new(&format!("/proc/{test_process}")).exists()
        && std::time::Instant::now() < gone
    {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // No teardown ran; another test's process, starting now, may sweep the
    // container before the next run below does (so it is not asserted here).
    // The next clnrm process that starts a container sweeps it away.
    let fixtures = workspace().join("tests/fixtures/failing");
    let next = Command::new(&binary)
        .args(["--exact", "container-exit.clnrm.toml::container_exit"])
        .current_dir(&fixtures)
        .env("CARGO_MANIFEST_DIR", &fixtures)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("the next test");
    assert_eq!(next.code(), Some(101), "that test fails on purpose");
    assert_eq!(
        containers_of(test_process),
        0,
        "the killed run's container is gone"
    );
}

/// Every process below `pid`, from `/proc`.
fn descendants(pid: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = (std::fs::read_dir("/proc").into_iter().flatten().flatten())
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|p| {
            let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).ok()?;
            let after_name = &stat[stat.rfind(')')? + 1..];
            let parent = after_name.split_whitespace().nth(1)?.parse().ok()?;
            Some((p, parent))
        })
        .collect();
    let mut found = vec![pid];
    let mut n = 0;
    while n < found.len() {
        let of = found[n];
        found.extend(
            parents
                .iter()
                .filter(|(_, parent)| *parent == of)
                .map(|(p, _)| *p),
        );
        n += 1;
    }
    found.remove(0);
    found
}

/// The containers (any state) that process `pid` created.
fn containers_of(pid: u32) -> usize {
    let label = format!("label=clnrm.pid={pid}");
    let out = Command::new("docker")
        .args(["ps", "-aq", "--filter", &label])
        .output()
        .expect("docker ps");
    String::from_utf8_lossy(&out.stdout).lines().count()
}
