//! A scenario's world as a whole: service volumes (exactly the declared
//! ones), and teardown when the code holding the world panics.

use std::process::Command;

use clnrm_core::backend::{CancelToken, ContainerBackend, ImageSpec, ServiceSpec, WorldSpec};

use super::{default_settings, our_containers, our_networks, report, run_file, serial, stdout};

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
fn a_service_reads_its_mounted_host_folder_and_read_only_holds() {
    let _serial = serial();
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("site")).expect("mkdir");
    std::fs::write(dir.path().join("site/index.html"), "from the host\n").expect("write");
    std::fs::create_dir(dir.path().join("scratch")).expect("mkdir");
    let r = run_file(
        dir.path(),
        r#"[meta]
name = "volumes"
image = "clnrm-busybox:latest"
[service.web]
image = "clnrm-busybox:latest"
args = ["sh", "-c", "exec httpd -f -p 8080 -h /srv/site"]
volumes = [{ host_path = "site", container_path = "/srv/site", read_only = true }, "scratch:/scratch"]
health_check = { cmd = ["wget", "-q", "-O", "-", "http://127.0.0.1:8080/"], interval = "100ms", retries = 50 }
[[steps]]
name = "served_from_the_host_folder"
command = ["wget", "-q", "-O", "-", "http://web:8080/index.html"]
[[steps]]
name = "read_only"
service = "web"
command = ["sh", "-c", "echo x > /srv/site/new 2>/dev/null && echo writable || echo read-only"]
[[steps]]
name = "read_write"
service = "web"
command = ["sh", "-c", "echo written > /scratch/out"]
"#,
        &default_settings(),
    );
    assert!(!r.failed(), "{}", report(&r));
    assert_eq!(stdout(&r, 0), "from the host\n");
    assert_eq!(stdout(&r, 1), "read-only\n");
    assert!(!dir.path().join("site/new").exists());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("scratch/out")).expect("written through"),
        "written\n"
    );
    assert_eq!((our_containers(), our_networks()), (0, 0));
}

#[test]
fn only_the_declared_volumes_are_mounted() {
    let _serial = serial();
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("data")).expect("mkdir");
    let data = dir.path().join("data").canonicalize().expect("canonical");
    let spec = WorldSpec {
        runner: Some(ImageSpec::named("clnrm-busybox:latest")),
        services: vec![ServiceSpec {
            id: "db".into(),
            image: ImageSpec::named("clnrm-busybox:latest"),
            args: vec!["sleep".into(), "600".into()],
            env: Vec::new(),
            health_check: None,
            wait_for_span: None,
            ports: Vec::new(),
            volumes: vec![clnrm_core::backend::BindMount {
                host: data.clone(),
                container: "/data".into(),
                read_only: true,
            }],
        }],
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

#[test]
fn a_missing_host_path_fails_before_anything_starts() {
    let _serial = serial();
    let dir = tempfile::tempdir().expect("tempdir");
    let r = run_file(
        dir.path(),
        r#"[meta]
name = "missing"
[service.db]
image = "clnrm-busybox:latest"
args = ["sleep", "600"]
volumes = ["absent:/data:ro"]
[[steps]]
name = "a"
command = ["true"]
"#,
        &default_settings(),
    );
    let text = report(&r);
    assert!(
        text.contains("service `db`: volume `/data` (host_path `")
            && text.contains("absent`): No such file or directory"),
        "{text}"
    );
    assert!(r.steps.is_empty());
    assert!(
        !dir.path().join("absent").exists(),
        "a missing path is never created"
    );
    assert_eq!((our_containers(), our_networks()), (0, 0));
}

#[test]
fn a_panic_while_the_world_is_alive_leaves_nothing_behind() {
    let _serial = serial();
    assert_eq!((our_containers(), our_networks()), (0, 0));
    let spec = WorldSpec {
        runner: Some(ImageSpec::named("clnrm-busybox:latest")),
        services: vec![ServiceSpec {
            id: "db".into(),
            image: ImageSpec::named("clnrm-busybox:latest"),
            args: vec!["sleep".into(), "600".into()],
            env: Vec::new(),
            health_check: None,
            wait_for_span: None,
            ports: Vec::new(),
            volumes: Vec::new(),
        }],
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
