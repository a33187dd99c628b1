//! The engine `cargo clnrm run` talks to: `DOCKER_HOST` naming an engine over
//! TCP (here the local engine behind a forwarder the test runs), and the
//! pull policy on the command line and in the environment.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The local engine's socket, which the forwarder exposes over TCP.
fn engine_socket() -> String {
    std::env::var("DOCKER_HOST")
        .ok()
        .and_then(|h| h.strip_prefix("unix://").map(String::from))
        .unwrap_or_else(|| "/var/run/docker.sock".into())
}

/// TCP on 127.0.0.1 -> the engine's Unix socket, a thread pair per
/// connection: what a remote engine looks like to the client. Stops when
/// dropped.
struct Forwarder {
    port: u16,
    connections: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl Forwarder {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("address").port();
        let connections = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (count, stopped) = (connections.clone(), stop.clone());
        let socket = engine_socket();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { break };
                let Ok(engine) = UnixStream::connect(&socket) else {
                    continue;
                };
                count.fetch_add(1, Ordering::SeqCst);
                let (client_in, engine_in) = (
                    client.try_clone().expect("clone"),
                    engine.try_clone().expect("clone"),
                );
                std::thread::spawn(move || {
                    pump(client_in, &engine);
                    let _ = engine.shutdown(Shutdown::Write);
                });
                std::thread::spawn(move || {
                    pump(engine_in, &client);
                    let _ = client.shutdown(Shutdown::Write);
                });
            }
        });
        Self {
            port,
            connections,
            stop,
        }
    }

    fn docker_host(&self) -> String {
        format!("tcp://127.0.0.1:{}", self.port)
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accepting thread, which then sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Copies until either side closes.
fn pump(mut from: impl Read, mut to: impl Write) {
    let mut buffer = [0u8; 16 * 1024];
    while let Ok(n) = from.read(&mut buffer) {
        if n == 0 || to.write_all(&buffer[..n]).is_err() {
            break;
        }
    }
}

fn write(dir: &Path, name: &str, content: &str) {
    std::fs::write(dir.join(name), content).expect("write");
}

fn run_with_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cargo-clnrm"));
    command
        .arg("clnrm")
        .arg("run")
        .args(args)
        .current_dir(dir)
        .env_remove("CLNRM_ROOTS")
        .env_remove("CLNRM_PULL");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("run cargo-clnrm")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Containers or networks (`kind`: "ps -a" or "network ls") labelled with
/// process `pid`, on the local engine (the same one the forwarder reaches).
fn labelled(kind: &[&str], pid: u32) -> usize {
    let out = Command::new("docker")
        .args(kind)
        .args(["-q", "--filter", &format!("label=clnrm.pid={pid}")])
        .output()
        .expect("docker");
    String::from_utf8_lossy(&out.stdout).lines().count()
}

#[test]
fn a_scenario_runs_on_the_engine_docker_host_names() {
    let forwarder = Forwarder::start();
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "remote.clnrm.toml",
        r#"[meta]
name = "remote"
image = "clnrm-busybox:latest"
[service.web]
image = "clnrm-busybox:latest"
args = ["sh", "-c", "echo over tcp > /srv/index.html && exec httpd -f -p 8080 -h /srv"]
health_check = { cmd = ["wget", "-q", "-O", "-", "http://127.0.0.1:8080/"], interval = "100ms", retries = 50 }
[[steps]]
name = "fetch"
command = ["wget", "-q", "-O", "-", "http://web:8080/"]
expected_output_regex = "^over tcp$"
[[steps]]
name = "stdin"
command = ["cat"]
stdin = "through the forwarder"
expected_output_regex = "^through the forwarder$"
"#,
    );
    let out = run_with_env(
        dir.path(),
        &["."],
        &[("DOCKER_HOST", &forwarder.docker_host())],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("1 passed, 0 failed"), "{}", text(&out));
    assert!(
        forwarder.connections.load(Ordering::SeqCst) > 0,
        "the run went through the forwarder"
    );
}

#[test]
fn a_hanging_step_on_a_remote_engine_is_killed_at_its_timeout_and_removed() {
    let forwarder = Forwarder::start();
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "hangs.clnrm.toml",
        r#"[meta]
name = "hangs"
image = "clnrm-busybox:latest"
[service.db]
image = "clnrm-busybox:latest"
args = ["sleep", "600"]
[[steps]]
name = "hangs"
command = ["sleep", "600"]
timeout = "1s"
"#,
    );
    let started = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_cargo-clnrm"))
        .args(["clnrm", "run", "."])
        .current_dir(dir.path())
        .env_remove("CLNRM_ROOTS")
        .env("DOCKER_HOST", forwarder.docker_host())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let pid = child.id();
    let out = child.wait_with_output().expect("wait");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "killed at its limit, not after the 600 s sleep: {:?}",
        started.elapsed()
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("timed out after 1s"), "{}", text(&out));
    assert!(forwarder.connections.load(Ordering::SeqCst) > 0);
    assert_eq!(
        (
            labelled(&["ps", "-a"], pid),
            labelled(&["network", "ls"], pid)
        ),
        (0, 0),
        "the scenario's containers and network are removed"
    );
}

#[test]
fn an_engine_that_does_not_answer_is_named_with_its_address() {
    // A port nothing listens on (bound, then released).
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "a.clnrm.toml",
        "[meta]\nname = \"a\"\n[[steps]]\nname = \"s\"\ncommand = [\"true\"]\n",
    );
    let address = format!("tcp://127.0.0.1:{port}");
    let out = run_with_env(dir.path(), &["."], &[("DOCKER_HOST", &address)]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains(&format!("cannot reach the Docker engine at {address}")),
        "{}",
        text(&out)
    );
}

#[test]
fn the_pull_flag_and_clnrm_pull_choose_the_policy() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "missing.clnrm.toml",
        "[meta]\nname = \"missing\"\nimage = \"clnrm-no-such-image:0\"\n[[steps]]\nname = \"s\"\ncommand = [\"true\"]\n",
    );
    let never = run_with_env(dir.path(), &["--pull", "never", "."], &[]);
    assert_eq!(never.status.code(), Some(1));
    assert!(
        text(&never).contains("pulling is off (pull policy `never`)"),
        "{}",
        text(&never)
    );
    // The flag wins over the variable.
    let flag_wins = run_with_env(
        dir.path(),
        &["--pull", "never", "."],
        &[("CLNRM_PULL", "always")],
    );
    assert!(text(&flag_wins).contains("(pull policy `never`)"));
    let from_env = run_with_env(dir.path(), &["."], &[("CLNRM_PULL", "never")]);
    assert!(
        text(&from_env).contains("(pull policy `never`)"),
        "{}",
        text(&from_env)
    );
    let default = run_with_env(dir.path(), &["."], &[]);
    assert!(
        text(&default).contains("is not available locally and pulling it failed ("),
        "{}",
        text(&default)
    );
    let bad = run_with_env(dir.path(), &["."], &[("CLNRM_PULL", "sometimes")]);
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
    assert!(
        text(&bad).contains("CLNRM_PULL") && text(&bad).contains("never, missing or always"),
        "{}",
        text(&bad)
    );
}

#[test]
fn collecting_spans_from_containers_on_an_engine_elsewhere_is_refused_saying_what_works() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "spans.clnrm.toml",
        r#"[meta]
name = "spans"
image = "clnrm-busybox:latest"
[[steps]]
name = "export"
command = ["true"]
[expect.counts]
spans_total = { gte = 1 }
"#,
    );
    // 192.0.2.1 (TEST-NET-1) is never this machine; the refusal comes before
    // any connection is tried.
    let out = run_with_env(
        dir.path(),
        &["."],
        &[("DOCKER_HOST", "tcp://192.0.2.1:2376")],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains(
            "spans cannot be collected from containers: the engine is not on this machine (DOCKER_HOST=tcp://192.0.2.1:2376)"
        ) && text(&out).contains("`backend = \"local\"`"),
        "{}",
        text(&out)
    );
}
