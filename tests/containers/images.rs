//! Images: the pull policy against an engine with no registry, and images
//! built from a context folder (`build`), tagged by content and reused.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use clnrm_core::backend::PullPolicy;

use super::{default_settings, our_containers, our_networks, report, run_file, serial, stdout};

fn docker(args: &[&str]) -> String {
    let out = Command::new("docker").args(args).output().expect("docker");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Built images whose context is `context`: (tag, last time a tag was set).
fn built_from(context: &Path) -> Vec<(String, String)> {
    let context = context.canonicalize().expect("context");
    let ids = docker(&[
        "images",
        "-q",
        "--no-trunc",
        "--filter",
        &format!("label=clnrm.build.context={}", context.display()),
    ]);
    let mut found: Vec<(String, String)> = ids
        .lines()
        .map(|id| {
            let tags = docker(&[
                "image",
                "inspect",
                "--format",
                "{{join .RepoTags \" \"}}",
                id,
            ]);
            let tagged = docker(&[
                "image",
                "inspect",
                "--format",
                "{{.Metadata.LastTagTime}}",
                id,
            ]);
            (tags, tagged)
        })
        .collect();
    found.sort();
    found.dedup();
    found
}

/// Removes the images built from these contexts when the test ends, however.
struct RemoveBuilt(Vec<std::path::PathBuf>);

impl Drop for RemoveBuilt {
    fn drop(&mut self) {
        for context in &self.0 {
            for (tags, _) in built_from(context) {
                for tag in tags.split_whitespace() {
                    docker(&["rmi", "-f", tag]);
                }
            }
        }
    }
}

fn scenario_with_image(image: &str) -> String {
    format!(
        "[meta]\nname = \"pull\"\nimage = \"{image}\"\n[[steps]]\nname = \"a\"\ncommand = [\"echo\", \"ran\"]\n"
    )
}

#[test]
fn the_pull_policy_decides_and_a_missing_image_is_one_clear_message() {
    let _serial = serial();
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = format!("clnrm-no-such-image-{:08x}:1", std::process::id());
    let mut settings = default_settings();

    settings.pull = PullPolicy::Never;
    let r = run_file(dir.path(), &scenario_with_image(&missing), &settings);
    assert!(
        report(&r).contains(&format!(
            "image `{missing}` is not available locally and pulling is off (pull policy `never`): pull it where a registry answers (`docker pull {missing}`), or build it (`docker build -t {missing} DIR`"
        )),
        "{}",
        report(&r)
    );
    let local = run_file(
        dir.path(),
        &scenario_with_image("clnrm-busybox:latest"),
        &settings,
    );
    assert!(
        !local.failed(),
        "a local image needs no pull: {}",
        report(&local)
    );

    // The default: a missing image is pulled, which fails at once without a registry.
    settings.pull = PullPolicy::Missing;
    let started = Instant::now();
    let r = run_file(dir.path(), &scenario_with_image(&missing), &settings);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "bounded: {:?}",
        started.elapsed()
    );
    let text = report(&r);
    assert!(
        text.contains(&format!(
            "image `{missing}` is not available locally and pulling it failed ("
        )) && text.contains(&format!("`docker pull {missing}`")),
        "{text}"
    );
    assert_eq!(
        text.matches("is not available locally").count(),
        1,
        "one message: {text}"
    );
    let local = run_file(
        dir.path(),
        &scenario_with_image("clnrm-busybox:latest"),
        &settings,
    );
    assert!(!local.failed(), "{}", report(&local));
    assert_eq!(stdout(&local, 0), "ran\n");

    // `always` pulls even a local image; this one is in no registry.
    settings.pull = PullPolicy::Always;
    let r = run_file(
        dir.path(),
        &scenario_with_image("clnrm-busybox:latest"),
        &settings,
    );
    assert!(
        report(&r)
            .contains("image `clnrm-busybox:latest` could not be pulled (pull policy `always`: ")
            && report(&r).contains("or use the local image with `--pull missing`"),
        "{}",
        report(&r)
    );
    assert_eq!((our_containers(), our_networks()), (0, 0));
}

#[test]
fn the_runner_and_a_service_are_built_from_their_contexts_and_reused() {
    let _serial = serial();
    let dir = tempfile::tempdir().expect("tempdir");
    let marker = format!("{:016x}", fastrand_u64());
    std::fs::create_dir_all(dir.path().join("images/runner")).expect("mkdir");
    std::fs::write(
        dir.path().join("images/runner/Dockerfile.test"),
        "FROM clnrm-busybox:latest\nCOPY built.txt /built.txt\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("images/runner/built.txt"),
        format!("runner {marker}\n"),
    )
    .expect("write");
    std::fs::create_dir_all(dir.path().join("web")).expect("mkdir");
    std::fs::write(
        dir.path().join("web/Dockerfile"),
        "FROM clnrm-busybox:latest\nCOPY index.html /srv/index.html\nCMD [\"httpd\", \"-f\", \"-p\", \"8080\", \"-h\", \"/srv\"]\n",
    )
    .expect("write");
    std::fs::write(dir.path().join("web/index.html"), format!("web {marker}\n")).expect("write");
    let toml = r#"[meta]
name = "built"
build = { context = "images/runner", dockerfile = "Dockerfile.test" }
[service.web]
build = "web"
health_check = { cmd = ["wget", "-q", "-O", "-", "http://127.0.0.1:8080/"], interval = "100ms", retries = 50 }
[[steps]]
name = "in_the_built_runner"
command = ["cat", "/built.txt"]
[[steps]]
name = "from_the_built_service"
command = ["wget", "-q", "-O", "-", "http://web:8080/index.html"]
"#;
    let runner_context = dir.path().join("images/runner");
    let web_context = dir.path().join("web");
    let _cleanup = RemoveBuilt(vec![runner_context.clone(), web_context.clone()]);
    let first = run_file(dir.path(), toml, &default_settings());
    let built_runner = built_from(&runner_context);
    let built_web = built_from(&web_context);
    assert!(!first.failed(), "{}", report(&first));
    assert_eq!(stdout(&first, 0), format!("runner {marker}\n"));
    assert_eq!(stdout(&first, 1), format!("web {marker}\n"));
    assert_eq!(built_runner.len(), 1, "{built_runner:?}");
    assert_eq!(built_web.len(), 1, "{built_web:?}");
    for (tags, _) in built_runner.iter().chain(&built_web) {
        let tag = tags
            .strip_prefix("clnrm-build:")
            .expect("tagged clnrm-build:<hash>");
        assert_eq!(tag.len(), 16, "{tags}");
    }
    // The same content again: the images are reused, not tagged anew.
    let second = run_file(dir.path(), toml, &default_settings());
    assert!(!second.failed(), "{}", report(&second));
    assert_eq!(built_from(&runner_context), built_runner, "reused");
    assert_eq!(built_from(&web_context), built_web, "reused");
    // Changed content: a new image, under a new tag.
    std::fs::write(dir.path().join("web/index.html"), "changed\n").expect("write");
    let third = run_file(dir.path(), toml, &default_settings());
    assert!(!third.failed(), "{}", report(&third));
    assert_eq!(stdout(&third, 1), "changed\n");
    let rebuilt = built_from(&web_context);
    assert_eq!(rebuilt.len(), 2, "{rebuilt:?}");
    assert_eq!((our_containers(), our_networks()), (0, 0));
}

#[test]
fn a_failing_build_shows_its_last_lines_and_leaves_nothing() {
    let _serial = serial();
    let dir = tempfile::tempdir().expect("tempdir");
    let marker = format!("clnrm-build-marker-{:016x}", fastrand_u64());
    std::fs::create_dir(dir.path().join("bad")).expect("mkdir");
    std::fs::write(
        dir.path().join("bad/Dockerfile"),
        format!("FROM clnrm-busybox:latest\nRUN echo {marker} && exit 3\n"),
    )
    .expect("write");
    let r = run_file(
        dir.path(),
        "[meta]\nname = \"bad\"\nbuild = \"bad\"\n[[steps]]\nname = \"a\"\ncommand = [\"true\"]\n",
        &default_settings(),
    );
    let text = report(&r);
    assert!(
        text.contains("building the image of `")
            && text.contains("bad` failed: ")
            && text.contains("--- last lines of the build output ---"),
        "{text}"
    );
    assert!(
        text.lines().any(|l| l.trim() == marker),
        "the failing step's output: {text}"
    );
    assert!(r.steps.is_empty());
    // The failed step's intermediate container is removed too.
    let commands = docker(&["ps", "-a", "--no-trunc", "--format", "{{.Command}}"]);
    assert!(!commands.contains(&marker), "{commands}");
    assert_eq!(our_containers(), 0);

    let r = run_file(
        dir.path(),
        "[meta]\nname = \"nofile\"\nbuild = { context = \"bad\", dockerfile = \"../Dockerfile\" }\n[[steps]]\nname = \"a\"\ncommand = [\"true\"]\n",
        &default_settings(),
    );
    assert!(
        report(&r)
            .contains("the Dockerfile `../Dockerfile` is not a file inside the build context"),
        "{}",
        report(&r)
    );
}

/// A random number, without another dependency: the hasher's random keys.
fn fastrand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.finish()
}
