//! The crate's own binaries in the runner container: an ordinary (dynamically
//! linked) one runs in the default runner image; in an image without a C
//! library it fails with why and the fix; built statically it runs there.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{default_settings, report, run_file, serial, stdout};

/// Compiles a program that prints `hi from rust`, with `flags`.
fn compile(dir: &Path, name: &str, flags: &[&str]) -> PathBuf {
    let source = dir.join("hi.rs");
    std::fs::write(&source, "fn main() { println!(\"hi from rust\"); }\n").expect("write");
    let out = dir.join(name);
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let status = Command::new(rustc)
        .args(flags)
        .arg(&source)
        .arg("-o")
        .arg(&out)
        .status()
        .expect("rustc");
    assert!(status.success(), "rustc {flags:?}");
    out
}

fn scenario(image: Option<&str>, binary: &Path) -> String {
    let image = image.map_or(String::new(), |i| format!("image = \"{i}\"\n"));
    format!(
        "[meta]\nname = \"bin\"\n{image}[[steps]]\nname = \"run_it\"\ncommand = [\"{}\"]\nexpected_output_regex = \"^hi from rust$\"\n",
        binary.display()
    )
}

#[test]
fn the_crates_binary_runs_in_the_default_runner_or_says_why_not() {
    let _serial = serial();
    let dir = tempfile::tempdir().expect("tempdir");
    let dynamic = compile(dir.path(), "dynamic", &[]);
    let fully_static = compile(dir.path(), "static", &["-C", "target-feature=+crt-static"]);
    let mut settings = default_settings();
    settings.binaries = vec![dynamic.clone(), fully_static.clone()];

    let run = run_file(dir.path(), &scenario(None, &dynamic), &settings);
    assert!(
        !run.failed(),
        "the default runner has glibc: {}",
        report(&run)
    );
    assert_eq!(stdout(&run, 0), "hi from rust\n");

    let run = run_file(
        dir.path(),
        &scenario(Some("clnrm-busybox:latest"), &dynamic),
        &settings,
    );
    let text = report(&run);
    assert!(
        text.contains("is dynamically linked: it needs the loader `/lib64/ld-linux-x86-64.so.2`, which the image `clnrm-busybox:latest` does not have"),
        "{text}"
    );
    assert!(
        text.contains("-C target-feature=+crt-static"),
        "the fix: {text}"
    );

    let run = run_file(
        dir.path(),
        &scenario(Some("clnrm-busybox:latest"), &fully_static),
        &settings,
    );
    assert!(
        !run.failed(),
        "a static binary needs no loader: {}",
        report(&run)
    );
}
