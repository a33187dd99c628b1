//! A Unix socket in front of the machine's Docker engine that a test can cut,
//! slow down and restore, and that can refuse chosen requests, so engine
//! faults are tested against the real engine without restarting it (a second
//! daemon would take the first one's `docker0` bridge).
//!
//! Bytes are passed through as they come. Requests from clnrm to the engine
//! are framed (head, then a `Content-Length` or chunked body) only to see
//! which request a connection carries; after an `Upgrade` (an exec's
//! attached stream) the connection is passed through raw.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The machine's engine: `DOCKER_HOST`'s socket, else the default one.
fn engine_socket() -> PathBuf {
    std::env::var("DOCKER_HOST")
        .ok()
        .and_then(|h| h.strip_prefix("unix://").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("/var/run/docker.sock"))
}

/// A request the proxy answers itself instead of the engine.
#[derive(Debug, Clone)]
struct Refusal {
    method: String,
    path_contains: String,
    status: u16,
    message: String,
}

#[derive(Debug, Default)]
struct State {
    cut: AtomicBool,
    delay_ms: AtomicU64,
    refusals: Mutex<Vec<Refusal>>,
    /// Every request seen: `METHOD PATH`.
    requests: Mutex<Vec<String>>,
    /// Open connections (both ends), shut down when the engine is cut.
    open: Mutex<Vec<UnixStream>>,
}

/// The proxy; its socket is removed when it is dropped.
#[derive(Debug)]
pub struct EngineProxy {
    dir: tempfile::TempDir,
    state: Arc<State>,
}

impl EngineProxy {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("a folder for the socket");
        let listener = UnixListener::bind(dir.path().join("engine.sock")).expect("bind");
        let state = Arc::new(State::default());
        let accepting = Arc::clone(&state);
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let state = Arc::clone(&accepting);
                std::thread::spawn(move || serve(client, &state));
            }
        });
        Self { dir, state }
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("engine.sock")
    }

    /// `DOCKER_HOST` for a process to talk to the engine through the proxy.
    pub fn docker_host(&self) -> String {
        format!("unix://{}", self.socket().display())
    }

    /// The engine goes away: every open connection is cut, and new ones
    /// are closed as soon as they are made.
    pub fn cut(&self) {
        self.state.cut.store(true, Ordering::SeqCst);
        for stream in self.state.open.lock().unwrap().drain(..) {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    }

    /// The engine answers again.
    pub fn restore(&self) {
        self.state.cut.store(false, Ordering::SeqCst);
    }

    /// Every chunk passed either way waits `delay` first.
    pub fn slow(&self, delay: Duration) {
        (self.state.delay_ms).store(delay.as_millis() as u64, Ordering::SeqCst);
    }

    /// Requests `METHOD` whose path contains `path_contains` are answered
    /// with `status` and the engine's JSON error `message`, as the engine
    /// answers a request it refuses.
    pub fn refuse(&self, method: &str, path_contains: &str, status: u16, message: &str) {
        self.state.refusals.lock().unwrap().push(Refusal {
            method: method.into(),
            path_contains: path_contains.into(),
            status,
            message: message.into(),
        });
    }

    /// Every request seen so far, as `METHOD PATH`.
    pub fn requests(&self) -> Vec<String> {
        self.state.requests.lock().unwrap().clone()
    }
}

impl Drop for EngineProxy {
    fn drop(&mut self) {
        self.cut();
        let _ = std::fs::remove_file(self.socket());
    }
}

fn serve(client: UnixStream, state: &Arc<State>) {
    if state.cut.load(Ordering::SeqCst) {
        return;
    }
    let Ok(engine) = UnixStream::connect(engine_socket()) else {
        return;
    };
    {
        let mut open = state.open.lock().unwrap();
        open.extend(client.try_clone().ok());
        open.extend(engine.try_clone().ok());
    }
    let (Ok(client_out), Ok(engine_in)) = (client.try_clone(), engine.try_clone()) else {
        return;
    };
    let answers = {
        let state = Arc::clone(state);
        std::thread::spawn(move || pass_raw(engine_in, client_out, &state))
    };
    let _ = pass_requests(client, engine, state);
    let _ = answers.join();
}

/// Engine to client: bytes as they come (after the delay, if slowed).
fn pass_raw(mut from: UnixStream, mut to: UnixStream, state: &State) {
    let mut buffer = [0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        wait(state);
        if state.cut.load(Ordering::SeqCst) || to.write_all(&buffer[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(std::net::Shutdown::Write);
}

fn wait(state: &State) {
    let delay = state.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        std::thread::sleep(Duration::from_millis(delay));
    }
}

/// Client to engine, request by request: a refused request is answered
/// here (its body read and dropped); after an upgrade, raw bytes.
fn pass_requests(client: UnixStream, mut engine: UnixStream, state: &State) -> std::io::Result<()> {
    let mut answer = client.try_clone()?;
    let mut reader = BufReader::new(client);
    loop {
        let mut head = Vec::new();
        loop {
            let mut line = Vec::new();
            if reader.read_until(b'\n', &mut line)? == 0 {
                return Ok(());
            }
            let end = line == b"\r\n";
            head.extend_from_slice(&line);
            if end {
                break;
            }
        }
        let text = String::from_utf8_lossy(&head).into_owned();
        let mut words = text.split_whitespace();
        let (method, path) = (
            words.next().unwrap_or("").to_string(),
            words.next().unwrap_or("").to_string(),
        );
        state
            .requests
            .lock()
            .unwrap()
            .push(format!("{method} {path}"));
        let header = |name: &str| {
            text.lines().find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.trim()
                    .eq_ignore_ascii_case(name)
                    .then(|| v.trim().to_string())
            })
        };
        let length: usize = header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let chunked =
            header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
        let upgrade = header("upgrade").is_some();
        let refusal = (state.refusals.lock().unwrap().iter())
            .find(|r| r.method == method && path.contains(&r.path_contains))
            .cloned();
        let mut body = Vec::new();
        if chunked {
            read_chunked(&mut reader, &mut body)?;
        } else {
            body.resize(length, 0);
            reader.read_exact(&mut body)?;
        }
        if let Some(refusal) = refusal {
            let json = format!("{{\"message\":{:?}}}", refusal.message);
            let response = format!(
                "HTTP/1.1 {} Refused\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{json}",
                refusal.status,
                json.len()
            );
            answer.write_all(response.as_bytes())?;
            continue;
        }
        wait(state);
        if state.cut.load(Ordering::SeqCst) {
            return Ok(());
        }
        engine.write_all(&head)?;
        engine.write_all(&body)?;
        if upgrade {
            // The exec's stream: raw from here on, what was read ahead too.
            engine.write_all(reader.buffer())?;
            let rest = reader.into_inner();
            pass_raw(rest, engine, state);
            return Ok(());
        }
    }
}

/// A chunked body, framing included, as it was sent.
fn read_chunked(reader: &mut impl BufRead, body: &mut Vec<u8>) -> std::io::Result<()> {
    loop {
        let mut size_line = Vec::new();
        reader.read_until(b'\n', &mut size_line)?;
        body.extend_from_slice(&size_line);
        let size_text = String::from_utf8_lossy(&size_line);
        let size = usize::from_str_radix(size_text.trim().split(';').next().unwrap_or("0"), 16)
            .map_err(|_| std::io::Error::other("a bad chunk size"))?;
        let mut chunk = vec![0; size + 2];
        reader.read_exact(&mut chunk)?;
        body.extend_from_slice(&chunk);
        if size == 0 {
            return Ok(());
        }
    }
}
