//! A signalled test process leaves nothing behind: steps killed, containers removed.

use std::process::Command;

use crate::support::{failing_fixtures_binary, workspace};

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
    assert_eq!(containers(), 1, "left behind by the killed process");
    // The next test process that starts a container sweeps it away.
    let next = test("container-exit.clnrm.toml::container_exit")
        .status()
        .expect("the next test");
    assert_eq!(next.code(), Some(101), "that test fails on purpose");
    assert_eq!(containers(), 0, "the killed process's container is gone");
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
