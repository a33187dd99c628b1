//! `cargo clnrm run`: scenario files run in-process with the real binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn clnrm(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cargo-clnrm"))
        .arg("clnrm")
        .args(args)
        .current_dir(dir)
        .env_remove("CLNRM_ROOTS")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .output()
        .expect("run cargo-clnrm")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn write(dir: &Path, name: &str, content: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).expect("write");
    path
}

fn scenario(name: &str, command: &str, extra: &str) -> String {
    format!(
        "[meta]\nname = \"{name}\"\nbackend = \"local\"\n{extra}\n[[steps]]\nname = \"s\"\ncommand = {command}\n"
    )
}

#[test]
fn passing_and_failing_files_end_with_the_closing_line_and_exit_code() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "a.clnrm.toml", &scenario("a", "[\"true\"]", ""));
    write(
        dir.path(),
        "b.clnrm.toml",
        &scenario("b", "[\"sh\", \"-c\", \"exit 1\"]", ""),
    );
    write(
        dir.path(),
        "c.clnrm.toml",
        &scenario("c", "[\"true\"]", "ignore = \"not today\""),
    );
    let out = clnrm(dir.path(), &["run", "."]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert_eq!(
        text.lines().last(),
        Some("1 passed, 1 failed, 1 ignored"),
        "{text}"
    );
    assert!(
        text.contains("FAIL") && text.contains("expected exit code 0, was 1"),
        "{text}"
    );
    let only_good = clnrm(dir.path(), &["run", "a.clnrm.toml"]);
    assert_eq!(only_good.status.code(), Some(0));
    assert_eq!(
        stdout(&only_good).lines().last(),
        Some("1 passed, 0 failed")
    );
}

#[test]
fn tags_select_and_json_reports_each_test() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "a.clnrm.toml",
        &scenario("a", "[\"true\"]", "tags = [\"smoke\"]"),
    );
    write(
        dir.path(),
        "b.clnrm.toml",
        &scenario("b", "[\"false\"]", "tags = [\"slow\"]"),
    );
    let out = clnrm(
        dir.path(),
        &["run", ".", "--tag", "smoke", "--message-format", "json"],
    );
    assert_eq!(out.status.code(), Some(0));
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(lines[0]["reason"], "test-finished");
    assert_eq!(lines[0]["name"], "a.clnrm.toml::a");
    assert_eq!(lines[0]["passed"], true);
    assert_eq!(lines[1]["reason"], "run-finished");
    assert_eq!(lines[1]["passed"], 1);
}

#[test]
fn jobs_run_scenarios_at_once_and_fail_fast_cancels_the_rest() {
    let dir = tempfile::tempdir().expect("tempdir");
    for i in 0..4 {
        write(
            dir.path(),
            &format!("s{i}.clnrm.toml"),
            &scenario(&format!("s{i}"), "[\"sleep\", \"0.5\"]", ""),
        );
    }
    let started = Instant::now();
    let out = clnrm(dir.path(), &["run", ".", "-j", "4"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    // Four half-second scenarios at once take well under their 2 s in sequence.
    assert!(
        started.elapsed() < Duration::from_millis(1800),
        "{:?}",
        started.elapsed()
    );

    write(
        dir.path(),
        "a-fails.clnrm.toml",
        &scenario("fails", "[\"false\"]", ""),
    );
    let out = clnrm(dir.path(), &["run", ".", "-j", "1", "--fail-fast"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stdout(&out).lines().last(),
        Some("0 passed, 1 failed, 4 not run"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn the_backend_flag_overrides_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Passes only in the runner container, whose first process keeps it alive.
    write(
        dir.path(),
        "a.clnrm.toml",
        "[meta]\nname = \"a\"\n[[steps]]\nname = \"s\"\ncommand = [\"grep\", \"-q\", \"2147483647\", \"/proc/1/cmdline\"]\n",
    );
    let container = clnrm(dir.path(), &["run", "."]);
    assert_eq!(container.status.code(), Some(0), "{}", stdout(&container));
    let local = clnrm(dir.path(), &["run", ".", "--backend", "local"]);
    assert_eq!(local.status.code(), Some(1), "{}", stdout(&local));
}

fn sleeps(marker: &str) -> usize {
    std::fs::read_dir("/proc")
        .expect("proc")
        .filter_map(|e| std::fs::read(e.ok()?.path().join("cmdline")).ok())
        .filter(|c| String::from_utf8_lossy(c) == format!("sleep\u{0}{marker}\u{0}"))
        .count()
}

#[test]
fn ctrl_c_and_sigterm_stop_the_run_and_leave_no_process() {
    for (signal, marker) in [
        (nix::sys::signal::Signal::SIGINT, "613"),
        (nix::sys::signal::Signal::SIGTERM, "614"),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        write(
            dir.path(),
            "slow.clnrm.toml",
            &scenario("slow", &format!("[\"sleep\", \"{marker}\"]"), ""),
        );
        let mut child = Command::new(env!("CARGO_BIN_EXE_cargo-clnrm"))
            .args(["clnrm", "run", "."])
            .current_dir(dir.path())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn");
        let deadline = Instant::now() + Duration::from_secs(10);
        while sleeps(marker) == 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(sleeps(marker), 1, "the step started");
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), signal)
            .expect("signal");
        let started = Instant::now();
        let status = child.wait().expect("wait");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{signal}: took {:?}",
            started.elapsed()
        );
        assert_eq!(status.code(), Some(130), "{signal}");
        assert_eq!(sleeps(marker), 0, "{signal}: the step's process is gone");
    }
}

#[test]
fn an_unreachable_engine_is_one_clear_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "a.clnrm.toml",
        "[meta]\nname = \"a\"\n[[steps]]\nname = \"s\"\ncommand = [\"true\"]\n",
    );
    let out = Command::new(env!("CARGO_BIN_EXE_cargo-clnrm"))
        .args(["clnrm", "run", "."])
        .current_dir(dir.path())
        .env("DOCKER_HOST", "unix:///nonexistent/clnrm.sock")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("cannot reach the Docker engine at unix:///nonexistent/clnrm.sock"),
        "{text}"
    );
    assert!(
        text.contains("start Docker, or point DOCKER_HOST at a running engine"),
        "{text}"
    );
}

/// Containers that process `pid` created and that still exist.
fn clnrm_containers(pid: u32) -> usize {
    let out = Command::new("docker")
        .args(["ps", "-aq", "--filter", &format!("label=clnrm.pid={pid}")])
        .output()
        .expect("docker ps");
    String::from_utf8_lossy(&out.stdout).lines().count()
}

#[test]
fn ctrl_c_removes_the_scenarios_containers() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "slow.clnrm.toml",
        "[meta]\nname = \"slow\"\n[[steps]]\nname = \"s\"\ncommand = [\"sleep\", \"60\"]\n",
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_cargo-clnrm"))
        .args(["clnrm", "run", "."])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(20);
    while clnrm_containers(child.id()) == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        clnrm_containers(child.id()) > 0,
        "the runner container started"
    );
    std::thread::sleep(Duration::from_millis(300));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .expect("signal");
    let pid = child.id();
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(130));
    assert_eq!(clnrm_containers(pid), 0, "nothing left behind");
}

fn docker_out(args: &[&str]) -> String {
    let out = Command::new("docker").args(args).output().expect("docker");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `clean` takes every dead run's objects, kept ones included: the tests
/// that keep containers past their run, and those that clean, one at a time.
static KEPT_OR_CLEANING: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn kept_or_cleaning() -> std::sync::MutexGuard<'static, ()> {
    KEPT_OR_CLEANING.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
fn clean_removes_a_killed_runs_leftovers_and_never_a_live_one() {
    let _one_at_a_time = kept_or_cleaning();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").expect("hostname");
    let host = host.trim();
    // A run that was killed: its pid no longer exists (above any pid in use).
    // Kept on purpose (`--keep-on-failure`), so that only `clean` takes it,
    // not the sweep of another test's run meanwhile.
    let dead = [
        "--label",
        "clnrm.run=killed",
        "--label",
        "clnrm.pid=4194303",
        "--label",
        "clnrm.keep-on-failure=true",
        "--label",
    ];
    let host_label = format!("clnrm.host={host}");
    let mut args = vec!["run", "-d"];
    args.extend(dead);
    args.extend([host_label.as_str(), "clnrm-busybox:latest", "sleep", "60"]);
    let orphan = docker_out(&args);
    let network = format!("clnrm-test-orphan-{}", std::process::id());
    let mut net_args = vec!["network", "create"];
    net_args.extend(dead);
    net_args.extend([host_label.as_str(), network.as_str()]);
    docker_out(&net_args);
    // A live run: this test process.
    let live_pid = format!("clnrm.pid={}", std::process::id());
    let live = docker_out(&[
        "run",
        "-d",
        "--label",
        "clnrm.run=live",
        "--label",
        &live_pid,
        "--label",
        &host_label,
        "clnrm-busybox:latest",
        "sleep",
        "60",
    ]);
    let out = Command::new(env!("CARGO_BIN_EXE_cargo-clnrm"))
        .args(["clnrm", "clean"])
        .output()
        .expect("clean");
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains(&format!("removed container {}", &orphan[..12])),
        "{text}"
    );
    assert!(
        text.contains(&format!("removed network {network}")),
        "{text}"
    );
    let still_there = docker_out(&[
        "ps",
        "-aq",
        "--no-trunc",
        "--filter",
        "label=clnrm.run=live",
    ]);
    assert_eq!(still_there, live, "a live run's container is never touched");
    docker_out(&["rm", "-f", &live]);
}

/// Networks that process `pid` created and that still exist.
fn clnrm_networks(pid: u32) -> usize {
    let filter = format!("label=clnrm.pid={pid}");
    docker_out(&["network", "ls", "-q", "--filter", &filter])
        .lines()
        .count()
}

/// `cargo clnrm run .` in `dir`, with the container slots in `slots` (a cap
/// of its own, so the runs of one test never wait on each other).
fn run_command(dir: &Path, slots: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cargo-clnrm"));
    (command.args(["clnrm", "run", "."]))
        .current_dir(dir)
        .env("CLNRM_SLOT_DIR", slots)
        .env("CLNRM_MAX_CONTAINERS", "6")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

/// [`run_command`] started; returns once its two containers are up.
fn started_run(dir: &Path, slots: &Path) -> std::process::Child {
    let child = run_command(dir, slots).spawn().expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(30);
    while clnrm_containers(child.id()) < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        clnrm_containers(child.id()),
        2,
        "the service and the runner"
    );
    child
}

#[test]
fn a_killed_runs_containers_and_network_go_with_the_next_run_and_a_live_run_keeps_its_own() {
    let scenario = "[meta]\nname = \"slow\"\n[service.db]\nimage = \"clnrm-busybox:latest\"\nargs = [\"sleep\", \"600\"]\n[[steps]]\nname = \"s\"\ncommand = [\"sleep\", \"600\"]\n";
    let (killed_dir, live_dir, next_dir, slots) = (
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    );
    write(killed_dir.path(), "slow.clnrm.toml", scenario);
    write(live_dir.path(), "slow.clnrm.toml", scenario);
    let mut killed = started_run(killed_dir.path(), slots.path());
    let mut live = started_run(live_dir.path(), slots.path());
    let (killed_pid, live_pid) = (killed.id(), live.id());
    killed.kill().expect("SIGKILL");
    killed.wait().expect("wait");
    // No teardown ran (SIGKILL). Not asserted that its containers are still
    // there: another test's run, starting now, may sweep them first.
    write(
        next_dir.path(),
        "quick.clnrm.toml",
        "[meta]\nname = \"quick\"\n[[steps]]\nname = \"s\"\ncommand = [\"true\"]\n",
    );
    let next = run_command(next_dir.path(), slots.path())
        .status()
        .expect("the next run");
    assert_eq!(next.code(), Some(0));
    assert_eq!(
        (clnrm_containers(killed_pid), clnrm_networks(killed_pid)),
        (0, 0),
        "the next run removed what the killed one left"
    );
    assert_eq!(
        (clnrm_containers(live_pid), clnrm_networks(live_pid)),
        (2, 1),
        "a live run's containers are never touched"
    );
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(live_pid as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .expect("signal");
    assert_eq!(live.wait().expect("wait").code(), Some(130));
    assert_eq!(
        (clnrm_containers(live_pid), clnrm_networks(live_pid)),
        (0, 0)
    );
}

#[test]
fn keep_on_failure_leaves_the_containers_and_says_how_to_reach_them() {
    let _one_at_a_time = kept_or_cleaning();
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "fails.clnrm.toml",
        "[meta]\nname = \"fails\"\n[[steps]]\nname = \"s\"\ncommand = [\"false\"]\n",
    );
    let out = clnrm(dir.path(), &["run", ".", "--keep-on-failure"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let line = text
        .lines()
        .find(|l| l.contains("kept runner: `docker exec -it "))
        .unwrap_or_else(|| panic!("no kept container in:\n{text}"));
    let id = line
        .split("docker exec -it ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("container id");
    let running = docker_out(&["ps", "-q", "--filter", &format!("id={id}")]);
    assert!(!running.is_empty(), "the runner container is still there");
    // Its run has ended, but a later run's sweep leaves what was kept.
    write(
        dir.path(),
        "fails.clnrm.toml",
        "[meta]\nname = \"passes\"\n[[steps]]\nname = \"s\"\ncommand = [\"true\"]\n",
    );
    assert_eq!(clnrm(dir.path(), &["run", "."]).status.code(), Some(0));
    let running = docker_out(&["ps", "-q", "--filter", &format!("id={id}")]);
    assert!(!running.is_empty(), "a later run leaves the kept container");
    docker_out(&["rm", "-f", id]);
}

#[test]
fn keep_on_failure_says_a_service_was_stopped_for_its_spans() {
    let _one_at_a_time = kept_or_cleaning();
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "spans.clnrm.toml",
        "[meta]\nname = \"spans\"\n[service.db]\nimage = \"clnrm-busybox:latest\"\nargs = [\"sleep\", \"60\"]\n[[steps]]\nname = \"s\"\ncommand = [\"true\"]\n[expect.counts]\nspans_total = { gte = 1 }\n",
    );
    let out = clnrm(dir.path(), &["run", ".", "--keep-on-failure"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let line = text
        .lines()
        .find(|l| {
            l.contains(
                "kept service `db`: stopped after the steps (its spans flushed): `docker logs ",
            )
        })
        .unwrap_or_else(|| panic!("no kept service in:\n{text}"));
    let ids: Vec<&str> = (text.lines())
        .filter(|l| l.contains("kept "))
        .filter_map(|l| l.split("`docker rm -f ").nth(1)?.split('`').next())
        .collect();
    assert_eq!(ids.len(), 2, "the service and the runner: {text}");
    let stopped = docker_out(&[
        "ps",
        "-aq",
        "--filter",
        &format!("id={}", ids[0]),
        "--filter",
        "status=exited",
    ]);
    assert!(!stopped.is_empty(), "the service is kept, stopped: {line}");
    for id in ids {
        docker_out(&["rm", "-f", id]);
    }
    // The kept network: the run is over, so `clean` takes it.
    let clean = clnrm(dir.path(), &["clean"]);
    assert!(
        stdout(&clean).contains("removed network clnrm-"),
        "{}",
        stdout(&clean)
    );
}

#[test]
fn the_container_cap_holds_across_processes_and_a_big_scenario_runs_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let slots = tempfile::tempdir().expect("slot dir");
    for i in 0..2 {
        write(
            dir.path(),
            &format!("s{i}.clnrm.toml"),
            &format!(
                "[meta]\nname = \"s{i}\"\n[[steps]]\nname = \"s\"\ncommand = [\"sleep\", \"0.4\"]\n"
            ),
        );
    }
    // Two containers (a service and the runner) under a cap of one: runs alone.
    write(
        dir.path(),
        "big.clnrm.toml",
        "[meta]\nname = \"big\"\n[service.db]\nimage = \"clnrm-busybox:latest\"\nargs = [\"sleep\", \"60\"]\n[[steps]]\nname = \"s\"\ncommand = [\"true\"]\n",
    );
    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_cargo-clnrm"))
            .args(["clnrm", "run", ".", "-j", "3", "--max-containers", "1"])
            .current_dir(dir.path())
            .env("CLNRM_SLOT_DIR", slots.path())
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn")
    };
    let mut runs = [spawn(), spawn()];
    let pids: Vec<u32> = runs.iter().map(|c| c.id()).collect();
    let mut peak = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let running: usize = pids
            .iter()
            .map(|pid| {
                docker_out(&["ps", "-q", "--filter", &format!("label=clnrm.pid={pid}")])
                    .lines()
                    .count()
            })
            .sum();
        peak = peak.max(running);
        let finished = runs
            .iter_mut()
            .all(|c| c.try_wait().ok().flatten().is_some());
        if finished || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    for run in &mut runs {
        assert!(run.wait().expect("wait").success());
    }
    // The big scenario holds every slot for its two containers; nothing else
    // runs beside it, and otherwise one container at a time.
    assert!(
        (1..=2).contains(&peak),
        "peak {peak} (without the cap: up to 6)"
    );
}

#[test]
fn a_missing_image_names_its_place_in_the_file_and_the_next_step_for_that_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = format!("clnrm-test-missing-{:08x}:1", std::process::id());
    write(
        dir.path(),
        "service.clnrm.toml",
        &format!(
            "[meta]\nname = \"a\"\n\n[service.db]\nimage = \"{missing}\"\n\n[[steps]]\nname = \"s\"\nservice = \"db\"\ncommand = [\"true\"]\n"
        ),
    );
    write(
        dir.path(),
        "default.clnrm.toml",
        "[meta]\nname = \"c\"\n[[steps]]\nname = \"s\"\ncommand = [\"true\"]\n",
    );
    let out = Command::new(env!("CARGO_BIN_EXE_cargo-clnrm"))
        .args(["clnrm", "run", "service.clnrm.toml", "default.clnrm.toml"])
        .current_dir(dir.path())
        .env("CLNRM_DEFAULT_IMAGE", "clnrm-busybox:nope")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains(&format!(
            "service.clnrm.toml:5:9: image `{missing}` is not available locally and pulling it failed ("
        )),
        "the service's `image` line: {text}"
    );
    assert!(
        text.contains(&format!("`docker pull {missing}`")),
        "a name a registry can have: {text}"
    );
    assert!(
        text.contains(
            "default.clnrm.toml:1:1: image `clnrm-busybox:nope` is not available locally"
        ),
        "the default runner image, at the header: {text}"
    );
}

#[test]
fn a_crate_binary_that_was_never_built_says_to_build_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    write(
        root,
        "Cargo.toml",
        "[package]\nname = \"tool\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    );
    std::fs::create_dir_all(root.join("src")).expect("mkdir");
    write(root, "src/main.rs", "fn main() {}\n");
    std::fs::create_dir_all(root.join("tests/clnrm")).expect("mkdir");
    write(
        root,
        "tests/clnrm/a.clnrm.toml",
        "[meta]\nname = \"a\"\nbackend = \"local\"\n[[steps]]\nname = \"s\"\ncommand = [\"{{ bin.tool }}\"]\n",
    );
    let out = Command::new(env!("CARGO_BIN_EXE_cargo-clnrm"))
        .args(["clnrm", "run"])
        .current_dir(root)
        .env_remove("CLNRM_ROOTS")
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains(
            "command not found: it is the crate's binary `tool`, which is not built: run `cargo build` first"
        ),
        "{}",
        stdout(&out)
    );
}
