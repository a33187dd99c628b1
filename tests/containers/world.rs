//! A scenario's world as a whole: service volumes. (That exactly the
//! declared ones are mounted, and teardown when the code holding the world
//! panics, are tested in the core, next to the world.)

use super::{default_settings, our_containers, our_networks, report, run_file, serial, stdout};

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
