//! What the watch tests share: a real `cargo clnrm watch` on a temporary
//! folder, read line by line as JSON. Each test binary uses a part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Long enough for any event on a loaded machine; tests wait for lines, not times.
pub const PATIENCE: Duration = Duration::from_secs(20);
/// How long "no output" is watched for.
pub const QUIET: Duration = Duration::from_millis(400);

pub const VALID: &str =
    "[meta]\nname = \"NAME\"\n\n[[steps]]\nname = \"greets\"\ncommand = [\"echo\",\"hello\"]\n";

pub fn valid(name: &str) -> String {
    VALID.replace("NAME", name)
}

/// A system-wide inotify setting changed by one test at a time; the other
/// watch tests hold the lock shared, so none starts a watcher meanwhile.
pub fn inotify_lock(exclusive: bool) -> std::fs::File {
    let path = std::env::temp_dir().join("clnrm-watch-tests.lock");
    let file = std::fs::File::create(path).expect("lock file");
    if exclusive {
        file.lock().expect("lock");
    } else {
        file.lock_shared().expect("lock");
    }
    file
}

pub struct Watch {
    pub child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<Value>,
    pub seen: Vec<Value>,
    _lock: std::fs::File,
}

impl Watch {
    pub fn start(dir: &Path, extra: &[&str]) -> Watch {
        Self::start_locked(dir, extra, inotify_lock(false))
    }

    pub fn start_locked(dir: &Path, extra: &[&str], lock: std::fs::File) -> Watch {
        Self::start_with(dir, extra, lock, None)
    }

    /// With its result store in `target` (as `CARGO_TARGET_DIR`).
    pub fn start_in(dir: &Path, extra: &[&str], target: &Path) -> Watch {
        Self::start_with(dir, extra, inotify_lock(false), Some(target))
    }

    fn start_with(dir: &Path, extra: &[&str], lock: std::fs::File, target: Option<&Path>) -> Watch {
        let mut command = Command::new(env!("CARGO_BIN_EXE_cargo-clnrm"));
        if let Some(target) = target {
            command.env("CARGO_TARGET_DIR", target);
        }
        Self::start_command(command, dir, extra, lock)
    }

    /// `command` (the binary, or a wrapper that runs it) as `watch`.
    pub fn start_command(
        mut command: Command,
        dir: &Path,
        extra: &[&str],
        lock: std::fs::File,
    ) -> Watch {
        let mut child = command
            .args([
                "clnrm",
                "watch",
                "--message-format",
                "json",
                "--root",
                "root",
            ])
            .args(extra)
            .current_dir(dir)
            .env_remove("CLNRM_ROOTS")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start watch");
        let stdout = child.stdout.take().expect("stdout");
        let (send, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
                if send.send(value).is_err() {
                    break;
                }
            }
        });
        let stdin = child.stdin.take();
        let mut watch = Watch {
            child,
            stdin,
            lines,
            seen: Vec::new(),
            _lock: lock,
        };
        watch.next_of("watch-started");
        watch
    }

    /// The next line with this reason; earlier lines are kept in `seen`.
    pub fn next_of(&mut self, reason: &str) -> Value {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line["reason"] == reason {
                        return line;
                    }
                }
                Err(e) => panic!("no `{reason}` line ({e:?}); seen: {:#?}", self.seen),
            }
        }
    }

    /// [`next_of`](Self::next_of), or `None` when it did not come in time.
    pub fn try_next_of(&mut self, reason: &str) -> Option<Value> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.lines.recv_timeout(left).ok()?;
            self.seen.push(line.clone());
            if line["reason"] == reason {
                return Some(line);
            }
        }
    }

    /// Every line until none came for `QUIET`.
    pub fn until_quiet(&mut self) -> Vec<Value> {
        let mut out = Vec::new();
        loop {
            match self.lines.recv_timeout(QUIET) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    out.push(line);
                }
                Err(RecvTimeoutError::Timeout) => return out,
                Err(RecvTimeoutError::Disconnected) => panic!("watch ended: {:#?}", self.seen),
            }
        }
    }

    pub fn key(&mut self, key: &str) {
        let stdin = self.stdin.as_mut().expect("stdin");
        stdin.write_all(key.as_bytes()).expect("key");
        stdin.flush().expect("flush");
    }

    /// Ctrl-C: a clean stop, exit code 0.
    pub fn stop(mut self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).expect("SIGINT");
        self.next_of("watch-finished");
        let status = self.child.wait().expect("wait");
        assert_eq!(status.code(), Some(0), "{:#?}", self.seen);
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The first changed node of a `diff` line without a matrix.
pub fn first_changed_node(diff: &Value) -> &Value {
    &diff["combinations"][0]["diff"]["changed"][0]
}

/// The first changed field of that node (`field`, `old`, `new`).
pub fn first_change(diff: &Value) -> &Value {
    &first_changed_node(diff)["fields"][0]
}

pub fn reasons(lines: &[Value]) -> Vec<String> {
    lines
        .iter()
        .map(|l| l["reason"].as_str().unwrap_or_default().to_string())
        .collect()
}

pub fn validated_names(lines: &[Value]) -> Vec<String> {
    let mut names: Vec<String> = lines
        .iter()
        .filter(|l| l["reason"] == "validated")
        .map(|l| l["name"].as_str().unwrap_or_default().to_string())
        .collect();
    names.sort();
    names
}

/// A temp dir with `root/` holding the given files.
pub fn tree(files: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("root");
    std::fs::create_dir_all(&root).expect("root");
    for (name, text) in files {
        let path = root.join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("dir");
        std::fs::write(path, text).expect("write");
    }
    (dir, root)
}
