//! The container backend against the real engine (no mocks): one runner
//! container per scenario, steps exec'd as argv, nothing left behind.
//! Needs a Docker engine and the fixture image (`scripts/fixture-images.sh`).

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use clnrm_core::discover::DiscoveredFile;
use clnrm_core::executor::{RunSettings, ScenarioRun, run_scenario, run_scenario_in};
use clnrm_core::pipeline::Pipeline;

mod binaries;
mod images;
mod spans;
mod world;

/// The leak checks count this process's containers: one test at a time.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

fn run(toml: &str) -> ScenarioRun {
    run_with("", toml)
}

/// `meta` is added to the `[meta]` table (e.g. `backend = "local"`).
fn run_with(meta: &str, toml: &str) -> ScenarioRun {
    let report = Pipeline::default().process_text(
        &DiscoveredFile {
            name: "c.clnrm.toml".into(),
            path: PathBuf::from("c.clnrm.toml"),
            root: PathBuf::new(),
        },
        format!("[meta]\nname = \"c\"\nimage = \"clnrm-busybox:latest\"\n{meta}\n{toml}"),
    );
    assert!(!report.has_errors(), "{:?}", report.diagnostics);
    let file = report.variants[0].file.clone().expect("parsed");
    run_scenario(
        &file,
        0,
        &RunSettings::from_config(&clnrm_core::config::Config::default()),
    )
}

/// Writes `toml` as `name` in `dir` and runs its first scenario from there,
/// as `cargo clnrm run` does (relative paths are the file's folder's).
fn run_file(dir: &std::path::Path, toml: &str, settings: &RunSettings) -> ScenarioRun {
    let path = dir.join("s.clnrm.toml");
    std::fs::write(&path, toml).expect("write the scenario");
    let report = Pipeline::default().process(&DiscoveredFile {
        name: "s.clnrm.toml".into(),
        path,
        root: dir.to_path_buf(),
    });
    assert!(!report.has_errors(), "{:?}", report.diagnostics);
    let file = report.variants[0].file.clone().expect("parsed");
    run_scenario_in(&file, 0, dir, settings)
}

fn default_settings() -> RunSettings {
    RunSettings::from_config(&clnrm_core::config::Config::default())
}

fn report(run: &ScenarioRun) -> String {
    run.failure_report()
}

fn stdout(run: &ScenarioRun, step: usize) -> String {
    run.steps[step].output.as_ref().expect("ran").stdout.clone()
}

/// Containers this test process created that still exist.
fn our_containers() -> usize {
    let out = Command::new("docker")
        .args([
            "ps",
            "-a",
            "-q",
            "--filter",
            &format!("label=clnrm.pid={}", std::process::id()),
        ])
        .output()
        .expect("docker ps");
    String::from_utf8_lossy(&out.stdout).lines().count()
}

#[test]
fn steps_run_as_argv_in_the_runner_container() {
    let _serial = serial();
    let r = run(r#"[[steps]]
name = "spaces"
command = ["echo", "a  b"]
[[steps]]
name = "verbatim"
command = ["printf", "%s|", "$HOME", "'q'", "\"d\"", "two\nlines"]
[[steps]]
name = "env_workdir_stdin"
command = ["sh", "-c", "echo $GREETING; pwd; cat"]
env = { GREETING = "hi" }
workdir = "tmp"
stdin = "from stdin"
[[steps]]
name = "no_network"
command = ["ls", "/sys/class/net"]
"#);
    assert!(!r.failed(), "{}", report(&r));
    assert_eq!(stdout(&r, 0), "a  b\n", "one argument, never re-split");
    assert_eq!(stdout(&r, 1), "$HOME|'q'|\"d\"|two\nlines|");
    assert_eq!(stdout(&r, 2), "hi\n/tmp\nfrom stdin");
    assert_eq!(
        stdout(&r, 3).trim(),
        "lo",
        "a scenario without services has no network"
    );
    assert_eq!(our_containers(), 0);
}

#[test]
fn failures_are_reported_and_the_container_removed() {
    let _serial = serial();
    let r = run("[[steps]]\nname = \"a\"\ncommand = [\"sh\", \"-c\", \"exit 1\"]\n");
    assert!(
        report(&r).contains("expected exit code 0, was 1"),
        "{}",
        report(&r)
    );
    let missing = run("[[steps]]\nname = \"a\"\ncommand = [\"clnrm-no-such-program\"]\n");
    assert!(
        report(&missing).contains("`clnrm-no-such-program`: command not found"),
        "{}",
        report(&missing)
    );
    assert_eq!(our_containers(), 0);
}

#[test]
fn a_hanging_step_is_killed_at_its_timeout() {
    let _serial = serial();
    let started = Instant::now();
    let r = run(
        "[[steps]]\nname = \"hangs\"\ncommand = [\"sleep\", \"30\"]\ntimeout = \"500ms\"\n[[steps]]\nname = \"never\"\ncommand = [\"true\"]\n",
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(r.steps.len(), 1);
    assert!(
        report(&r).contains("timed out after 500ms"),
        "{}",
        report(&r)
    );
    assert_eq!(our_containers(), 0);
}

#[test]
fn the_hermetic_claim_holds_in_a_container() {
    let _serial = serial();
    let r = run(
        "[[steps]]\nname = \"a\"\ncommand = [\"true\"]\n[assertions]\nexecution_should_be_hermetic = true\n",
    );
    assert!(!r.failed(), "{}", report(&r));
}

/// Networks this test process created that still exist.
fn our_networks() -> usize {
    let out = Command::new("docker")
        .args([
            "network",
            "ls",
            "-q",
            "--filter",
            &format!("label=clnrm.pid={}", std::process::id()),
        ])
        .output()
        .expect("docker network ls");
    String::from_utf8_lossy(&out.stdout).lines().count()
}

const WEB: &str = r#"[service.web]
image = "clnrm-busybox:latest"
args = ["sh", "-c", "echo hello > /srv/index.html && exec httpd -f -p 8080 -h /srv"]
env = { MODE = "test" }
health_check = { cmd = ["wget", "-q", "-O", "-", "http://127.0.0.1:8080/"], interval = "100ms", retries = 50 }
"#;

#[test]
fn services_are_reachable_by_id_on_the_scenarios_own_network() {
    let _serial = serial();
    let r = run(&format!(
        "{WEB}[[steps]]\nname = \"fetch\"\ncommand = [\"wget\", \"-q\", \"-O\", \"-\", \"http://web:8080/\"]\n[[steps]]\nname = \"in_service\"\nservice = \"web\"\ncommand = [\"sh\", \"-c\", \"echo $MODE\"]\n[[steps]]\nname = \"no_route_out\"\ncommand = [\"sh\", \"-c\", \"wget -q -T 2 -O - http://1.1.1.1/ || echo unreachable\"]\n"
    ));
    assert!(!r.failed(), "{}", report(&r));
    assert_eq!(stdout(&r, 0), "hello\n");
    assert_eq!(stdout(&r, 1), "test\n");
    assert!(stdout(&r, 2).contains("unreachable"), "{}", stdout(&r, 2));
    assert_eq!((our_containers(), our_networks()), (0, 0));
}

#[test]
fn a_service_that_never_gets_healthy_fails_clearly_and_leaves_nothing() {
    let _serial = serial();
    let r = run(r#"[service.db]
image = "clnrm-busybox:latest"
args = ["sleep", "60"]
health_check = { cmd = ["false"], interval = "50ms", retries = 3 }
[[steps]]
name = "a"
command = ["true"]
"#);
    let text = report(&r);
    assert!(
        text.contains("service `db` did not pass its health check [\"false\"] after 3 tries"),
        "{text}"
    );
    assert!(
        r.steps.is_empty(),
        "no step runs against an unhealthy service"
    );
    assert_eq!((our_containers(), our_networks()), (0, 0));
}

#[test]
fn limits_apply_to_the_containers() {
    let _serial = serial();
    let r = run(r#"[limits]
memory_mb = 64
cpu_millicores = 500
[[steps]]
name = "memory"
command = ["sh", "-c", "cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes"]
"#);
    assert!(!r.failed(), "{}", report(&r));
    assert_eq!(stdout(&r, 0).trim(), (64 * 1024 * 1024).to_string());
}

#[test]
fn a_failure_shows_the_services_output_with_secrets_masked() {
    let _serial = serial();
    let r = run(r#"[service.web]
image = "clnrm-busybox:latest"
args = ["sh", "-c", "echo starting with token=$API_TOKEN; exec sleep 60"]
env = { API_TOKEN = "s3cr3t-value" }
[[steps]]
name = "fails"
command = ["sh", "-c", "echo password=$DB_PASSWORD; exit 1"]
env = { DB_PASSWORD = "hunter2-pw" }
"#);
    let text = report(&r);
    assert!(
        text.contains("--- service `web` (last lines of its output) ---"),
        "{text}"
    );
    assert!(text.contains("starting with token=***"), "{text}");
    assert!(text.contains("password=***"), "{text}");
    assert!(
        !text.contains("s3cr3t-value") && !text.contains("hunter2-pw"),
        "{text}"
    );
    assert_eq!((our_containers(), our_networks()), (0, 0));
}

#[test]
fn steps_on_the_host_reach_services_through_published_ports() {
    let _serial = serial();
    let r = run_with(
        "backend = \"local\"",
        &format!(
            "{WEB}ports = [8080]\n[[steps]]\nname = \"env\"\ncommand = [\"sh\", \"-c\", \"echo $CLNRM_SERVICE_WEB_HOST; echo $CLNRM_SERVICE_WEB_PORT_8080; wget -q -O - http://127.0.0.1:$CLNRM_SERVICE_WEB_PORT_8080/ || curl -sf http://127.0.0.1:$CLNRM_SERVICE_WEB_PORT_8080/\"]\n"
        ),
    );
    assert!(!r.failed(), "{}", report(&r));
    let out = stdout(&r, 0);
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("127.0.0.1"));
    let port: u16 = lines
        .next()
        .and_then(|p| p.parse().ok())
        .expect("a published port");
    assert!(port > 0);
    assert_eq!(
        lines.next(),
        Some("hello"),
        "the host reaches the service: {out}"
    );
    assert_eq!((our_containers(), our_networks()), (0, 0));
}

#[test]
fn the_crates_binaries_are_mounted_read_only_at_the_same_path() {
    let _serial = serial();
    let binary = std::env::current_exe().expect("this test binary");
    let path = binary.display().to_string();
    let processed = Pipeline::default().process_text(
        &DiscoveredFile {
            name: "b.clnrm.toml".into(),
            path: PathBuf::from("b.clnrm.toml"),
            root: PathBuf::new(),
        },
        format!(
            "[meta]\nname = \"b\"\nimage = \"clnrm-busybox:latest\"\n[[steps]]\nname = \"there\"\ncommand = [\"test\", \"-f\", \"{path}\"]\n[[steps]]\nname = \"read_only\"\ncommand = [\"sh\", \"-c\", \"touch '{path}' 2>/dev/null && echo writable || echo read-only\"]\n"
        ),
    );
    let file = processed.variants[0].file.clone().expect("parsed");
    let mut settings = RunSettings::from_config(&clnrm_core::config::Config::default());
    settings.binaries = vec![binary];
    let r = run_scenario(&file, 0, &settings);
    assert!(!r.failed(), "{}", report(&r));
    assert_eq!(stdout(&r, 1), "read-only\n");
    assert_eq!(our_containers(), 0);
}

#[test]
fn a_binary_named_twice_is_mounted_once() {
    let _serial = serial();
    let binary = std::env::current_exe().expect("this test binary");
    let processed = Pipeline::default().process_text(
        &DiscoveredFile {
            name: "d.clnrm.toml".into(),
            path: PathBuf::from("d.clnrm.toml"),
            root: PathBuf::new(),
        },
        format!(
            "[meta]\nname = \"d\"\nimage = \"clnrm-busybox:latest\"\n[[steps]]\nname = \"a\"\ncommand = [\"test\", \"-f\", \"{}\"]\n",
            binary.display()
        ),
    );
    let file = processed.variants[0].file.clone().expect("parsed");
    let mut settings = RunSettings::from_config(&clnrm_core::config::Config::default());
    // Cargo's CARGO_BIN_EXE_ and the build found in target/ often name the same file.
    settings.binaries = vec![binary.clone(), binary];
    let r = run_scenario(&file, 0, &settings);
    assert!(!r.failed(), "{}", report(&r));
}

#[test]
fn a_binary_the_scenario_does_not_name_is_not_mounted() {
    let _serial = serial();
    let binary = std::env::current_exe().expect("this test binary");
    let folder = binary.parent().expect("its folder").display().to_string();
    let processed = Pipeline::default().process_text(
        &DiscoveredFile {
            name: "n.clnrm.toml".into(),
            path: PathBuf::from("n.clnrm.toml"),
            root: PathBuf::new(),
        },
        format!(
            "[meta]\nname = \"n\"\nimage = \"clnrm-busybox:latest\"\n[[steps]]\nname = \"look\"\ncommand = [\"sh\", \"-c\", \"test -e '{folder}' && echo there || echo absent\"]\n"
        ),
    );
    let file = processed.variants[0].file.clone().expect("parsed");
    let mut settings = RunSettings::from_config(&clnrm_core::config::Config::default());
    settings.binaries = vec![binary];
    let r = run_scenario(&file, 0, &settings);
    assert!(!r.failed(), "{}", report(&r));
    assert_eq!(
        stdout(&r, 0),
        "absent\n",
        "nothing of the crate's build is mounted"
    );
}

/// A service that starts serving after a pause, then prints its `ready` span.
const SLOW_SPAN_SERVICE: &str = r#"[service.web]
image = "clnrm-busybox:latest"
args = ["sh", "-c", "mkdir -p /w && echo up > /w/index.html && sleep 1 && httpd -p 8080 -h /w && echo '{\"name\":\"ready\",\"trace_id\":\"t1\",\"span_id\":\"s1\"}' && exec sleep 600"]
wait_for_span = "ready"
"#;

#[test]
fn steps_wait_for_a_services_span() {
    let _serial = serial();
    // Without the wait, the fetch would find nothing listening yet.
    let r = run(&format!(
        "{SLOW_SPAN_SERVICE}[[steps]]\nname = \"fetch\"\ncommand = [\"wget\", \"-q\", \"-O\", \"-\", \"http://web:8080/\"]\n"
    ));
    assert!(!r.failed(), "{}", report(&r));
    assert_eq!(stdout(&r, 0), "up\n");
    assert_eq!((our_containers(), our_networks()), (0, 0));
}

#[test]
fn a_span_that_never_comes_fails_at_the_scenario_timeout_and_leaves_nothing() {
    let _serial = serial();
    let r = run_with(
        "timeout = \"2s\"",
        &(SLOW_SPAN_SERVICE.replace("wait_for_span = \"ready\"", "wait_for_span = \"never\"")
            + "[[steps]]\nname = \"a\"\ncommand = [\"true\"]\n"),
    );
    let text = report(&r);
    assert!(
        text.contains(
            "service `web` timed out (the scenario's timeout) before printing a span named `never`"
        ),
        "{text}"
    );
    assert!(r.steps.is_empty(), "no step runs before the span");
    assert_eq!((our_containers(), our_networks()), (0, 0));
}

#[test]
fn a_service_that_exits_before_its_span_fails_at_once() {
    let _serial = serial();
    let r = run(r#"[service.web]
image = "clnrm-busybox:latest"
args = ["sh", "-c", "echo '{\"name\":\"other\",\"span_id\":\"1\"}'; echo bye"]
wait_for_span = "ready"
[[steps]]
name = "a"
command = ["true"]
"#);
    let text = report(&r);
    assert!(
        text.contains("service `web` exited first before printing a span named `ready`"),
        "{text}"
    );
    assert!(text.contains("bye"), "its last output is shown: {text}");
    assert_eq!((our_containers(), our_networks()), (0, 0));
}

/// `api` is declared first but `depends_on` `db`, which serves only after a
/// second: `api` fetches from `db` as it starts, so it sees the page only
/// if `db` was started and healthy before it.
#[test]
fn services_start_after_what_they_depend_on_is_healthy_in_their_working_dir() {
    let _serial = serial();
    let r = run(r#"[service.api]
image = "clnrm-busybox:latest"
depends_on = ["db"]
working_dir = "/tmp"
args = ["sh", "-c", "wget -q -O seen http://db:8080/; exec sleep 600"]

[service.db]
image = "clnrm-busybox:latest"
args = ["sh", "-c", "sleep 1; echo ready > /srv/index.html && exec httpd -f -p 8080 -h /srv"]
health_check = { cmd = ["wget", "-q", "-O", "-", "http://127.0.0.1:8080/"], interval = "100ms", retries = 50 }

[[steps]]
name = "what_api_saw"
service = "api"
command = ["sh", "-c", "pwd; cat seen"]
"#);
    assert!(!r.failed(), "{}", report(&r));
    assert_eq!(stdout(&r, 0), "/tmp\nready\n");
    assert_eq!((our_containers(), our_networks()), (0, 0));
}

/// The original's files declare services that print a line and exit, then
/// run steps "in" them: each such step runs in a fresh container made like
/// the service's, and says so.
#[test]
fn a_step_in_a_service_that_exited_runs_in_a_fresh_container_of_it() {
    let _serial = serial();
    let r = run(r#"[service.app]
image = "clnrm-busybox:latest"
args = ["sh", "-c", "echo 'Container ready'"]
env = { GREETING = "hi" }
working_dir = "/tmp"

[[steps]]
name = "env_and_dir"
service = "app"
command = ["sh", "-c", "sleep 1; echo $GREETING $NAME; pwd"]
env = { NAME = "step" }

[[steps]]
name = "stdin"
service = "app"
command = ["cat"]
stdin = "fed\n"

[[steps]]
name = "exit_code"
service = "app"
command = ["sh", "-c", "exit 3"]
expected_exit_code = 3

[[steps]]
name = "fails"
service = "app"
command = ["false"]
"#);
    assert_eq!(stdout(&r, 0), "hi step\n/tmp\n");
    assert_eq!(stdout(&r, 1), "fed\n");
    assert!(r.steps[2].passed(), "{}", report(&r));
    let text = report(&r);
    assert!(
        text.contains("expected exit code 0, was 1 (it ran in a fresh container of service `app`, whose own container had exited (as `docker compose run` does))"),
        "{text}"
    );
    assert_eq!((our_containers(), our_networks()), (0, 0));
}

#[test]
fn a_service_that_exited_with_an_error_fails_with_its_code_and_output() {
    let _serial = serial();
    let r = run(r#"[service.bad]
image = "clnrm-busybox:latest"
args = ["sh", "-c", "echo cannot bind; exit 4"]

[[steps]]
name = "in_bad"
service = "bad"
command = ["true"]
"#);
    let text = report(&r);
    assert!(r.failed());
    assert!(text.contains("service `bad` exited with code 4"), "{text}");
    assert!(text.contains("cannot bind"), "{text}");
    assert_eq!((our_containers(), our_networks()), (0, 0));
}
