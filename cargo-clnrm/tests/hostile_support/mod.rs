//! What the hostile-input tests share: a tree of files clnrm must not trust
//! (FIFOs, sockets, link loops, deep nesting, bytes that are not text), a
//! deadline on every run (a hang must fail the test, not stall the suite),
//! and a way to run the binary as an unprivileged user (root reads every
//! file, so a denied read needs someone else).
#![allow(dead_code)]

use std::ffi::OsString;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// `nobody`, on Debian and most others.
pub const NOBODY: u32 = 65534;

pub const VALID: &str = "[meta]\nname = \"ok\"\n[[steps]]\nname = \"s\"\ncommand = [\"true\"]\n";

// Not every test binary that includes this module runs commands.
#[allow(unused_imports)]
pub use clnrm_tests::run_with_deadline;

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Neither a panic nor a crash: a clean exit with one of clnrm's codes.
pub fn assert_clean_exit(output: &Output, codes: &[i32]) {
    let stderr = text(&output.stderr);
    assert!(
        !stderr.contains("panicked") && !stderr.contains("overflow"),
        "{stderr}"
    );
    assert!(
        output.status.code().is_some_and(|c| codes.contains(&c)),
        "exit {:?}, expected one of {codes:?}\nstdout:\n{}\nstderr:\n{stderr}",
        output.status,
        text(&output.stdout)
    );
}

/// A temporary folder others may enter (tempfile makes it private).
pub fn open_tempdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    dir
}

pub fn write(path: &Path, content: impl AsRef<[u8]>) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, content).expect("write");
}

pub fn fifo(path: &Path) {
    nix::unistd::mkfifo(path, nix::sys::stat::Mode::from_bits_truncate(0o644)).expect("mkfifo");
}

/// A bound Unix socket at `path`; it exists while the listener lives.
pub fn socket(path: &Path) -> std::os::unix::net::UnixListener {
    std::os::unix::net::UnixListener::bind(path).expect("bind")
}

pub fn symlink(target: impl AsRef<Path>, link: &Path) {
    std::os::unix::fs::symlink(target, link).expect("symlink");
}

/// `x = [[[...1...]]]` nested `depth` deep.
pub fn nested_arrays(depth: usize) -> String {
    format!("x = {}1{}\n", "[".repeat(depth), "]".repeat(depth))
}

/// `x = {a={a=...1...}}` nested `depth` deep.
pub fn nested_tables(depth: usize) -> String {
    format!("x = {}1{}\n", "{a=".repeat(depth), "}".repeat(depth))
}

/// 79-part dotted keys inside 79 levels of inline tables: each is within
/// the `toml` parser's limits, together they nest thousands of levels deep.
pub fn multiplied(key_parts: usize, levels: usize) -> String {
    let key = vec!["a"; key_parts].join(".");
    let mut value = "1".to_string();
    for _ in 0..levels {
        value = format!("{{{key} = {value}}}");
    }
    format!("{key} = {value}\n")
}

/// How to run a program as `nobody`, if this machine has one.
#[derive(Debug, Clone)]
pub struct Unprivileged {
    /// The program and arguments that run the rest as `nobody`; empty when
    /// the tests do not run as root (then the tests' own user is denied).
    prefix: Vec<OsString>,
}

impl Unprivileged {
    /// Whether these tests run as root.
    pub fn running_as_root() -> bool {
        std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
    }

    /// [`find`](Self::find), or `None` after printing why the test that
    /// asked does not run (where the test's output is shown).
    pub fn find_or_skip() -> Option<Self> {
        Self::find()
            .map_err(|reason| {
                let _ = std::io::Write::write_all(
                    &mut std::io::stderr(),
                    format!("skipped: {reason}\n").as_bytes(),
                );
            })
            .ok()
    }

    /// `setpriv` or `runuser`, whichever works; `None` (with the reason)
    /// when running as root and neither can drop privileges.
    pub fn find() -> Result<Self, String> {
        if !Self::running_as_root() {
            return Ok(Self { prefix: Vec::new() });
        }
        let nobody = NOBODY.to_string();
        let candidates: Vec<Vec<OsString>> = vec![
            [
                "setpriv",
                "--reuid",
                &nobody,
                "--regid",
                &nobody,
                "--clear-groups",
                "--",
            ]
            .map(OsString::from)
            .to_vec(),
            ["runuser", "-u", "nobody", "--"]
                .map(OsString::from)
                .to_vec(),
        ];
        for prefix in candidates {
            let works = Command::new(&prefix[0])
                .args(&prefix[1..])
                .args(["sh", "-c", "test \"$(id -u)\" != 0"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if works {
                return Ok(Self { prefix });
            }
        }
        Err("running as root, and neither `setpriv` nor `runuser` can drop privileges".into())
    }

    /// `program args...` as the unprivileged user, in `dir`.
    pub fn command(&self, program: &Path, dir: &Path) -> Command {
        let mut command = match self.prefix.split_first() {
            Some((first, rest)) => {
                let mut c = Command::new(first);
                c.args(rest).arg(program);
                c
            }
            None => Command::new(program),
        };
        command
            .current_dir(dir)
            .env("HOME", dir)
            .env_remove("CLNRM_LOG")
            .env_remove("CLNRM_STRICT")
            .env_remove("CLNRM_ROOTS");
        command
    }

    /// `program`, where the unprivileged user can run it: the program itself
    /// when they can, else a copy in `dir` (a build folder under a private
    /// home is out of their reach).
    pub fn reachable(&self, program: &Path, dir: &Path) -> PathBuf {
        let runs = self
            .command(program, dir)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if runs {
            return program.to_path_buf();
        }
        let copy = dir.join(program.file_name().expect("file name"));
        std::fs::copy(program, &copy).expect("copy the program");
        std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        copy
    }
}

/// Makes `path` unreadable (and a folder unsearchable) for anyone but root:
/// the unprivileged user, or the tests' own user when they are not root.
pub fn deny(path: &Path) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o000)).expect("chmod");
}

/// Gives the owner its rights back (so the temporary folder can be removed).
pub fn allow(path: &Path) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}
