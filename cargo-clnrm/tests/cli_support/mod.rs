//! What the command-line tests share: the real binary with a clean
//! environment, its output, files, and the fixtures' expectations.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("workspace root")
}

pub fn fixtures() -> PathBuf {
    workspace().join("tests/fixtures")
}

/// The binary with a clean colour and configuration environment.
pub fn binary(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cargo-clnrm"));
    command
        .current_dir(dir)
        .env_remove("CARGO_TERM_COLOR")
        .env_remove("NO_COLOR")
        .env_remove("CLNRM_LOG")
        .env_remove("CLNRM_STRICT")
        .env_remove("CLNRM_ROOTS");
    command
}

/// `cargo-clnrm clnrm <args>` in `dir`, as cargo runs it.
pub fn clnrm(dir: &Path, args: &[&str]) -> Output {
    binary(dir)
        .arg("clnrm")
        .args(args)
        .output()
        .expect("run cargo-clnrm")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub fn json_lines(output: &Output) -> Vec<serde_json::Value> {
    text(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

pub fn write(path: &Path, content: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, content).expect("write");
}

pub const SCENARIO: &str = "[meta]\nname = \"NAME\"\n[[scenario]]\nname = \"first\"\nrun = \"true\"\n[[scenario]]\nname = \"second\"\nrun = \"true\"\n";

pub type Place = (String, usize, usize);

/// The `# expect: <code> <line>:<col>` comments of a fixture.
pub fn expectations(source: &str) -> Vec<Place> {
    source
        .lines()
        .filter_map(|l| l.strip_prefix("# expect: "))
        .map(|l| {
            let (code, at) = l.split_once(' ').expect("code and place");
            let (line, col) = at.split_once(':').expect("line:col");
            (
                code.to_string(),
                line.parse().expect("line"),
                col.parse().expect("col"),
            )
        })
        .collect()
}
