//! The engine failing under a run, through a proxy socket in front of the
//! machine's engine (`engine_proxy`): going away mid-scenario and coming
//! back, answering slowly, refusing a create; and, on the engine itself, an
//! image removed while a scenario waits for it and a step killed for memory.
//! Each affected scenario fails naming the cause, the others pass, and
//! nothing of the run is left once the engine answers again.

mod engine_proxy;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use engine_proxy::EngineProxy;

/// A container scenario that runs `command` (a TOML array) as its step.
fn container_scenario(name: &str, command: &str) -> String {
    format!(
        "[meta]\nname = \"{name}\"\nimage = \"clnrm-busybox:latest\"\n[service.db]\nimage = \"clnrm-busybox:latest\"\nargs = [\"sleep\", \"600\"]\n[[steps]]\nname = \"s\"\ncommand = {command}\n"
    )
}

/// A scenario on the host, which needs no engine.
const LOCAL: &str = "[meta]\nname = \"local\"\nbackend = \"local\"\n[[steps]]\nname = \"s\"\ncommand = [\"true\"]\n";

/// `cargo clnrm run . -j 2` in `dir`, with a cap and slots of its own.
fn run_command(dir: &Path, slots: &Path, docker_host: Option<&str>) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cargo-clnrm"));
    (command.args(["clnrm", "run", ".", "-j", "2"]))
        .current_dir(dir)
        .env("CLNRM_SLOT_DIR", slots)
        .env("CLNRM_MAX_CONTAINERS", "4")
        .env_remove("CLNRM_ROOTS")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(host) = docker_host {
        command.env("DOCKER_HOST", host);
    }
    command
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// What process `pid` created on the engine and that still exists:
/// (containers, networks).
fn left_by(pid: u32) -> (usize, usize) {
    let label = format!("label=clnrm.pid={pid}");
    let count = |args: &[&str]| {
        let out = Command::new("docker")
            .args(args)
            .args(["-q", "--filter", &label])
            .output()
            .expect("docker");
        String::from_utf8_lossy(&out.stdout).lines().count()
    };
    (count(&["ps", "-a"]), count(&["network", "ls"]))
}

fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while !done() {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    true
}

struct Place {
    dir: tempfile::TempDir,
    slots: tempfile::TempDir,
}

impl Place {
    fn new(files: &[(&str, &str)]) -> Self {
        let place = Self {
            dir: tempfile::tempdir().expect("tempdir"),
            slots: tempfile::tempdir().expect("tempdir"),
        };
        for (name, content) in files {
            std::fs::write(place.dir.path().join(name), content).expect("write");
        }
        place
    }

    fn run(&self, docker_host: Option<&str>) -> Command {
        run_command(self.dir.path(), self.slots.path(), docker_host)
    }

    /// The run started (through `proxy` when given), and its pid.
    fn start(&self, proxy: Option<&EngineProxy>) -> (std::process::Child, u32) {
        let host = proxy.map(EngineProxy::docker_host);
        let child = self.run(host.as_deref()).spawn().expect("spawn");
        let pid = child.id();
        (child, pid)
    }
}

/// A finished run: its exit code and all it printed.
fn finished(child: std::process::Child) -> (Option<i32>, String) {
    let out = child.wait_with_output().expect("wait");
    (out.status.code(), text(&out))
}

#[test]
fn the_engine_going_away_mid_scenario_fails_that_scenario_and_nothing_is_left_once_it_is_back() {
    let proxy = EngineProxy::start();
    let place = Place::new(&[
        (
            "away.clnrm.toml",
            &container_scenario("away", "[\"sleep\", \"5\"]"),
        ),
        ("local.clnrm.toml", LOCAL),
    ]);
    let (child, pid) = place.start(Some(&proxy));
    // Cut once the step runs: its exec was started through the proxy.
    let step_started = || {
        (proxy.requests().iter())
            .any(|r| r.starts_with("POST") && r.contains("/exec/") && r.contains("/start"))
    };
    assert!(
        wait_until(Duration::from_secs(30), step_started),
        "the step started"
    );
    assert_eq!(left_by(pid).0, 2, "the service and the runner run");
    std::thread::sleep(Duration::from_millis(200));
    proxy.cut();
    std::thread::sleep(Duration::from_millis(1500));
    proxy.restore();
    let (code, text) = finished(child);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("PASS") && text.contains("local.clnrm.toml::local"),
        "{text}"
    );
    assert!(
        text.contains("FAIL") && text.contains("away.clnrm.toml::away"),
        "{text}"
    );
    assert!(
        text.contains("lost the engine while the step ran, so its end is unknown")
            && text.contains("Docker engine"),
        "the cause is named: {text}"
    );
    assert_eq!(
        left_by(pid),
        (0, 0),
        "removed once the engine answered again"
    );
}

#[test]
fn an_engine_refusing_a_create_fails_that_scenario_with_its_words_and_leaves_nothing() {
    let proxy = EngineProxy::start();
    proxy.refuse("POST", "/containers/create", 500, "no space left on device");
    let place = Place::new(&[
        (
            "refused.clnrm.toml",
            &container_scenario("refused", "[\"true\"]"),
        ),
        ("local.clnrm.toml", LOCAL),
    ]);
    let (child, pid) = place.start(Some(&proxy));
    let (code, text) = finished(child);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("local.clnrm.toml::local"), "{text}");
    assert!(
        text.contains("the engine refused service `db`")
            && text.contains("no space left on device"),
        "{text}"
    );
    assert!(
        proxy
            .requests()
            .iter()
            .any(|r| r.starts_with("POST") && r.contains("/containers/create")),
        "the create went through the proxy"
    );
    assert_eq!(left_by(pid), (0, 0), "its network is removed too");
}

#[test]
fn a_slow_engine_is_waited_for() {
    let proxy = EngineProxy::start();
    proxy.slow(Duration::from_millis(30));
    let place = Place::new(&[(
        "slow.clnrm.toml",
        &container_scenario("slow", "[\"echo\", \"through a slow engine\"]"),
    )]);
    let (child, pid) = place.start(Some(&proxy));
    let (code, text) = finished(child);
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(left_by(pid), (0, 0));
}

#[test]
fn an_image_removed_while_a_scenario_waits_for_it_fails_that_scenario_saying_so() {
    let image = format!("clnrm-fault-removed-{}:latest", std::process::id());
    let tagged = Command::new("docker")
        .args(["tag", "clnrm-busybox:latest", &image])
        .status()
        .expect("docker tag");
    assert!(tagged.success());
    // One container at a time: the second scenario waits for the first.
    let scenario = |name: &str| {
        format!(
            "[meta]\nname = \"{name}\"\nimage = \"{image}\"\n[[steps]]\nname = \"s\"\ncommand = [\"sleep\", \"2\"]\n"
        )
    };
    let place = Place::new(&[
        ("a.clnrm.toml", &scenario("a")),
        ("b.clnrm.toml", &scenario("b")),
    ]);
    let mut command = place.run(None);
    command.env("CLNRM_MAX_CONTAINERS", "1");
    let child = command.spawn().expect("spawn");
    let pid = child.id();
    assert!(wait_until(Duration::from_secs(30), || left_by(pid).0 == 1));
    let removed = Command::new("docker")
        .args(["rmi", &image])
        .output()
        .expect("docker rmi");
    assert!(
        removed.status.success(),
        "{}",
        String::from_utf8_lossy(&removed.stderr)
    );
    let (code, text) = finished(child);
    assert_eq!(code, Some(1), "{text}");
    assert_eq!(text.matches("PASS").count(), 1, "the first one: {text}");
    assert!(
        text.contains(&format!("image `{image}` is not available locally")),
        "{text}"
    );
    assert_eq!(left_by(pid), (0, 0));
}

#[test]
fn a_step_killed_for_memory_says_so_with_the_limit() {
    let place = Place::new(&[(
        "oom.clnrm.toml",
        "[meta]\nname = \"oom\"\nimage = \"clnrm-busybox:latest\"\n[limits]\nmemory_mb = 32\n[[steps]]\nname = \"eats\"\ncommand = [\"dd\", \"if=/dev/zero\", \"of=/dev/null\", \"bs=200M\", \"count=1\"]\n[[steps]]\nname = \"after\"\ncommand = [\"true\"]\n",
    )]);
    let (child, pid) = place.start(None);
    let (code, text) = finished(child);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains(
            "expected exit code 0, was 137: killed for memory, over the container's limit of 32 MB (`[limits] memory_mb`)"
        ),
        "{text}"
    );
    assert_eq!(left_by(pid), (0, 0));
}

#[test]
fn a_step_killed_otherwise_is_not_said_to_be_killed_for_memory() {
    let place = Place::new(&[(
        "killed.clnrm.toml",
        "[meta]\nname = \"killed\"\nimage = \"clnrm-busybox:latest\"\n[limits]\nmemory_mb = 64\n[[steps]]\nname = \"self\"\ncommand = [\"sh\", \"-c\", \"kill -9 $$\"]\n",
    )]);
    let out = place.run(None).output().expect("run");
    let text = text(&out);
    assert!(text.contains("expected exit code 0, was 137"), "{text}");
    assert!(!text.contains("killed for memory"), "{text}");
}
