//! `bin.<name>`: the crate's binaries as cargo builds them, named by
//! `validate` and `run` without a build.

mod cli_support;

#[allow(unused_imports)]
use std::path::{Path, PathBuf};
#[allow(unused_imports)]
use std::process::{Command, Output};

use cli_support::*;

#[test]
fn validate_needs_no_build_of_the_crates_binaries() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    write(&root.join("Cargo.toml"), "[package]\nname = \"tool\"\n");
    write(&root.join("src/main.rs"), "fn main() {}\n");
    write(
        &root.join("tests/clnrm/a.clnrm.toml.tera"),
        "[meta]\nname = \"a\"\n[[steps]]\nname = \"s\"\ncommand = [\"{{ bin.tool }}\"]\n",
    );
    let out = binary(root)
        .env_remove("CARGO_TARGET_DIR")
        .args(["clnrm", "validate"])
        .output()
        .expect("run cargo-clnrm");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!root.join("target").exists(), "validate built nothing");
    // A name that is no binary of the crate is still an error at its place.
    write(
        &root.join("tests/clnrm/a.clnrm.toml.tera"),
        "[meta]\nname = \"a\"\n[[steps]]\nname = \"s\"\ncommand = [\"{{ bin.nope }}\"]\n",
    );
    let out = binary(root)
        .env_remove("CARGO_TARGET_DIR")
        .args(["clnrm", "validate"])
        .output()
        .expect("run cargo-clnrm");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("a.clnrm.toml.tera:5:16"),
        "{}",
        text(&out.stderr)
    );
}

/// A scenario that passes only if `bin.<name>` is `expected`, for each pair.
fn bin_paths_scenario(pairs: &[(&str, PathBuf)]) -> String {
    let mut text = String::from("[meta]\nname = \"bins\"\nbackend = \"local\"\n");
    for (name, expected) in pairs {
        let escaped = expected.display().to_string().replace('.', "\\\\.");
        text.push_str(&format!(
            "[[steps]]\nname = \"{name}\"\ncommand = [\"echo\", \"{{{{ bin.{name} }}}}\"]\nexpected_output_regex = \"^{escaped}$\"\n"
        ));
    }
    text
}

#[test]
fn bin_names_every_binary_cargo_builds_where_cargo_puts_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().canonicalize().expect("canonical");
    write(
        &root.join("Cargo.toml"),
        "[workspace]\nmembers = [\"app\", \"helper\"]\nresolver = \"2\"\n",
    );
    write(
        &root.join(".cargo/config.toml"),
        "[build]\ntarget-dir = \"out\"\n",
    );
    write(
        &root.join("app/Cargo.toml"),
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[[bin]]\nname = \"extra\"\npath = \"tools/extra.rs\"\n",
    );
    for file in ["src/main.rs", "src/bin/tool/main.rs", "tools/extra.rs"] {
        write(&root.join("app").join(file), "fn main() {}\n");
    }
    write(
        &root.join("helper/Cargo.toml"),
        "[package]\nname = \"helper\"\nversion = \"0.1.0\"\nedition = \"2021\"\nautobins = false\n\n[[bin]]\nname = \"only\"\npath = \"src/bin/only.rs\"\n",
    );
    for file in ["src/bin/only.rs", "src/bin/hidden.rs"] {
        write(&root.join("helper").join(file), "fn main() {}\n");
    }
    let app = root.join("app");
    let scenario = app.join("tests/clnrm/bins.clnrm.toml.tera");
    let run = |env: &[(&str, &str)]| {
        let mut command = binary(&app);
        command
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("CLNRM_PROFILE");
        for (k, v) in env {
            command.env(k, v);
        }
        command.args(["clnrm", "run"]).output().expect("run")
    };
    let names = ["app", "tool", "extra", "only"];
    let expect_in = |folder: PathBuf| -> Vec<(&str, PathBuf)> {
        names.iter().map(|n| (*n, folder.join(n))).collect()
    };

    // `build.target-dir` from cargo's configuration, the dev profile.
    write(
        &scenario,
        &bin_paths_scenario(&expect_in(root.join("out/debug"))),
    );
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));

    // CARGO_TARGET_DIR wins over the configuration; a profile's own folder.
    let elsewhere = root.join("elsewhere");
    write(
        &scenario,
        &bin_paths_scenario(&expect_in(elsewhere.join("release"))),
    );
    let out = run(&[
        ("CARGO_TARGET_DIR", elsewhere.to_str().expect("utf-8")),
        ("CLNRM_PROFILE", "release"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));

    // `autobins = false`: a file under src/bin/ is no binary.
    write(
        &scenario,
        &bin_paths_scenario(&[("hidden", root.join("out/debug/hidden"))]),
    );
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("bin.hidden"),
        "{}",
        text(&out.stdout)
    );
}
