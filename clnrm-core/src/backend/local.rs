//! The local backend: each step is a host process in its own process group,
//! so a timeout or cancellation kills everything it started.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use super::cancel::CancelToken;
use super::error::BackendError;
use super::step::{Backend, StepEnd, StepOutput, StepRequest};

/// How often a quiet step is checked for its deadline, cancellation, and a
/// program that exited while something it started keeps its pipes open.
const TICK: Duration = Duration::from_millis(20);

#[derive(Debug, Clone, Copy, Default)]
pub struct LocalBackend;

/// The program as the step's own `PATH` finds it. Looking it up here (rather
/// than letting the child do it) lets the standard library use `posix_spawn`,
/// which is several times cheaper than fork + exec for a cleared environment.
fn resolve(program: &str, env: &[(String, String)], workdir: &Path) -> Option<PathBuf> {
    if program.contains('/') {
        // `./tool` means the step's directory, as in a shell there.
        return Some(workdir.join(program));
    }
    let path = env
        .iter()
        .rev()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.as_str())?;
    find_on_path(path, program)
}

/// The first executable `program` in the folders of `path`, as a step on
/// the host would start it.
pub(crate) fn find_on_path(path: &str, program: &str) -> Option<PathBuf> {
    // Found programs are remembered per PATH: most steps run the same few.
    static FOUND: OnceLock<Mutex<HashMap<(String, String), PathBuf>>> = OnceLock::new();
    let found = FOUND.get_or_init(Default::default);
    let key = (path.to_string(), program.to_string());
    if let Some(hit) = found.lock().ok().and_then(|m| m.get(&key).cloned()) {
        return Some(hit);
    }
    let resolved = std::env::split_paths(path)
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))?;
    if let Ok(mut map) = found.lock() {
        map.insert(key, resolved.clone());
    }
    Some(resolved)
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

impl Backend for LocalBackend {
    fn run_step(
        &self,
        request: &StepRequest,
        cancel: &CancelToken,
    ) -> Result<StepOutput, BackendError> {
        let (program, args) = request
            .argv
            .split_first()
            .ok_or(BackendError::EmptyCommand)?;
        let workdir = request.workdir.as_deref().unwrap_or(Path::new("."));
        if !workdir.is_dir() {
            // Otherwise spawning fails with ENOENT and blames the program.
            return Err(BackendError::MissingWorkdir(workdir.to_path_buf()));
        }
        let executable =
            resolve(program, &request.env, workdir).ok_or_else(|| BackendError::NotFound {
                program: program.clone(),
            })?;
        let started = Instant::now();
        let mut command = Command::new(&executable);
        command
            .arg0(program)
            .args(args)
            .env_clear()
            .envs(request.env.iter().map(|(k, v)| (k, v)))
            .current_dir(workdir)
            .stdin(if request.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let mut child = command.spawn().map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => BackendError::NotFound {
                program: program.clone(),
            },
            _ => BackendError::Spawn {
                program: program.clone(),
                source,
            },
        })?;
        if let (Some(mut pipe), Some(text)) = (child.stdin.take(), request.stdin.clone()) {
            // A program that does not read its input must not block us: write on the side.
            std::thread::spawn(move || {
                let _ = pipe.write_all(text.as_bytes());
            });
        }
        let group = Pid::from_raw(child.id() as i32);
        let (end, (status, stdout, stderr)) = drive(child, request.timeout, cancel, started);
        // Whatever the step left running in its group goes too: nothing outlives the step.
        let _ = killpg(group, Signal::SIGKILL);
        let text = |bytes: Vec<u8>| String::from_utf8_lossy(&bytes).into_owned();
        Ok(StepOutput {
            end,
            exit_code: status.and_then(|s| s.code()),
            signal: status.and_then(|s| s.signal()),
            stdout: text(stdout),
            stderr: text(stderr),
            duration: started.elapsed(),
            killed_for_memory: None,
            note: None,
        })
    }
}

type Finished = (Option<ExitStatus>, Vec<u8>, Vec<u8>);

/// Reads both pipes on the calling thread until they close, ending the step's
/// group at its deadline or on cancellation, then reaps it. No extra thread:
/// this is on every step's path.
fn drive(
    mut child: Child,
    timeout: Duration,
    cancel: &CancelToken,
    started: Instant,
) -> (StepEnd, Finished) {
    let group = Pid::from_raw(child.id() as i32);
    // As plain files, so both pipes are one type.
    let mut stdout = child
        .stdout
        .take()
        .map(|p| std::fs::File::from(OwnedFd::from(p)));
    let mut stderr = child
        .stderr
        .take()
        .map(|p| std::fs::File::from(OwnedFd::from(p)));
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let mut buffer = [0u8; 8192];
    let mut end = StepEnd::Exited;
    let mut killed = false;
    while stdout.is_some() || stderr.is_some() {
        let left = timeout.saturating_sub(started.elapsed());
        let tick = if killed { TICK } else { left.min(TICK) };
        let mut fds: Vec<PollFd<'_>> = [&stdout, &stderr]
            .into_iter()
            .flatten()
            .map(|pipe| PollFd::new(pipe.as_fd(), PollFlags::POLLIN))
            .collect();
        let ready = poll(
            &mut fds,
            PollTimeout::try_from(tick).unwrap_or(PollTimeout::MAX),
        )
        .unwrap_or(0);
        let readable: Vec<bool> = fds.iter().map(|fd| fd.any().unwrap_or(true)).collect();
        drop(fds);
        if ready == 0 {
            if !killed {
                if started.elapsed() >= timeout {
                    end = StepEnd::TimedOut;
                } else if cancel.is_cancelled() {
                    end = StepEnd::Cancelled;
                } else if !matches!(child.try_wait(), Ok(Some(_))) {
                    continue;
                }
            }
            // At the deadline, on cancel, or after the program exited while
            // something it started keeps the pipes open: end the group.
            let _ = killpg(group, Signal::SIGKILL);
            killed = true;
            continue;
        }
        let mut flags = readable.into_iter();
        for (pipe, sink) in [(&mut stdout, &mut out), (&mut stderr, &mut err)] {
            let Some(reader) = pipe.as_mut() else {
                continue;
            };
            if !flags.next().unwrap_or(false) {
                continue;
            }
            match reader.read(&mut buffer) {
                Ok(0) | Err(_) => *pipe = None,
                Ok(n) => sink.extend_from_slice(&buffer[..n]),
            }
        }
    }
    // The pipes are closed; the program may still run (it closed them itself).
    // The exit status follows the pipes' closing within microseconds: yield a
    // few times before sleeping, so a finished step is not held up.
    let mut pause = Duration::from_micros(50);
    let mut spins = 0;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Err(_) => break None,
            Ok(None) => {}
        }
        if !killed && (started.elapsed() >= timeout || cancel.is_cancelled()) {
            end = if started.elapsed() >= timeout {
                StepEnd::TimedOut
            } else {
                StepEnd::Cancelled
            };
            let _ = killpg(group, Signal::SIGKILL);
            killed = true;
        }
        if spins < 200 {
            spins += 1;
            std::thread::yield_now();
            continue;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(TICK);
    };
    (end, (status, out, err))
}
