//! The container world against the real engine: exactly the declared
//! volumes are mounted, and a panic while the world is alive leaves nothing.
//! Needs a Docker engine and `clnrm-busybox:latest` (`scripts/fixture-images.sh`).

use std::process::Command;
use std::sync::Mutex;

use super::{BindMount, CancelToken, ContainerBackend, ImageSpec, ServiceSpec, WorldSpec};

/// The counts below are of this process's containers: one test at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// This process's containers or networks (`docker ps -a` or `docker network ls`).
fn ours(what: &[&str]) -> usize {
    let label = format!("label=clnrm.pid={}", std::process::id());
    let out = Command::new("docker")
        .args(what)
        .args(["-q", "--filter", &label])
        .output()
        .expect("docker");
    String::from_utf8_lossy(&out.stdout).lines().count()
}

fn our_containers() -> usize {
    ours(&["ps", "-a"])
}

fn our_networks() -> usize {
    ours(&["network", "ls"])
}

fn service(volumes: Vec<BindMount>) -> ServiceSpec {
    ServiceSpec {
        id: "db".into(),
        image: ImageSpec::named("clnrm-busybox:latest"),
        args: vec!["sleep".into(), "600".into()],
        env: Vec::new(),
        health_check: None,
        wait_for_span: None,
        ports: Vec::new(),
        volumes,
        working_dir: None,
        depends_on: Vec::new(),
    }
}

/// The mounts of a running container, as `type source destination rw` lines, sorted.
fn mounts_of(container: &str) -> Vec<String> {
    let out = Command::new("docker")
        .args([
            "inspect",
            "--format",
            "{{range .Mounts}}{{.Type}} {{.Source}} {{.Destination}} {{.RW}}\n{{end}}",
            container,
        ])
        .output()
        .expect("docker inspect");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    lines.sort();
    lines
}

#[test]
fn only_the_declared_volumes_are_mounted() {
    let _serial = serial();
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("data")).expect("mkdir");
    let data = dir.path().join("data").canonicalize().expect("canonical");
    let spec = WorldSpec {
        runner: Some(ImageSpec::named("clnrm-busybox:latest")),
        services: vec![service(vec![BindMount {
            host: data.clone(),
            container: "/data".into(),
            read_only: true,
        }])],
        ..WorldSpec::default()
    };
    let world = ContainerBackend::start(&spec, &CancelToken::new()).expect("started");
    let service = world.service_container("db").expect("db runs");
    assert_eq!(
        mounts_of(service),
        vec![format!("bind {} /data false", data.display())]
    );
    let runner = world.runner_id().expect("a runner");
    assert_eq!(
        mounts_of(runner),
        Vec::<String>::new(),
        "the runner gets none"
    );
    drop(world);
    assert_eq!((our_containers(), our_networks()), (0, 0));
}

/// One field of `docker inspect` of `container`, by Go template.
fn inspect(container: &str, format: &str) -> String {
    let out = Command::new("docker")
        .args(["inspect", "--format", format, container])
        .output()
        .expect("docker inspect");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn containers_are_unprivileged_on_their_own_network_and_publish_on_loopback_only() {
    let _serial = serial();
    let mut web = service(Vec::new());
    web.ports = vec![8080];
    let spec = WorldSpec {
        runner: Some(ImageSpec::named("clnrm-busybox:latest")),
        services: vec![web],
        publish: true,
        ..WorldSpec::default()
    };
    let world = ContainerBackend::start(&spec, &CancelToken::new()).expect("started");
    let network = world
        .network_name()
        .expect("a network of its own")
        .to_string();
    for container in [
        world.service_container("db").expect("db"),
        world.runner_id().expect("runner"),
    ] {
        assert_eq!(inspect(container, "{{.HostConfig.Privileged}}"), "false");
        assert_eq!(inspect(container, "{{.HostConfig.CapAdd}}"), "[]");
        assert_eq!(inspect(container, "{{.HostConfig.NetworkMode}}"), network);
        assert_eq!(inspect(container, "{{.HostConfig.PidMode}}"), "");
        assert_eq!(inspect(container, "{{.HostConfig.IpcMode}}"), "private");
    }
    let bindings = inspect(
        world.service_container("db").expect("db"),
        "{{range $port, $b := .HostConfig.PortBindings}}{{range $b}}{{$port}}={{.HostIp}} {{end}}{{end}}",
    );
    assert_eq!(bindings, "8080/tcp=127.0.0.1", "published on loopback only");
    drop(world);
    assert_eq!((our_containers(), our_networks()), (0, 0));
}

#[test]
fn a_panic_while_the_world_is_alive_leaves_nothing_behind() {
    let _serial = serial();
    assert_eq!((our_containers(), our_networks()), (0, 0));
    let spec = WorldSpec {
        runner: Some(ImageSpec::named("clnrm-busybox:latest")),
        services: vec![service(Vec::new())],
        ..WorldSpec::default()
    };
    let holder = std::thread::spawn(move || {
        let _world = ContainerBackend::start(&spec, &CancelToken::new()).expect("started");
        assert_eq!(
            (our_containers(), our_networks()),
            (2, 1),
            "the runner, the service and their network are up"
        );
        panic!("the code holding the scenario's world panicked");
    });
    let joined = holder.join();
    let message = joined
        .expect_err("the holder panicked")
        .downcast::<&str>()
        .map(|m| m.to_string())
        .unwrap_or_default();
    assert!(
        message.contains("holding the scenario's world"),
        "{message}"
    );
    assert_eq!((our_containers(), our_networks()), (0, 0));
}
