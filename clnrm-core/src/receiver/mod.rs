//! The embedded OTLP/HTTP receiver a scenario's programs export their spans
//! to: `POST /v1/traces` with protobuf or JSON bodies (gzip or not), answered
//! with the status codes the OTLP specification gives; logs and metrics are
//! accepted and dropped. It runs on a thread of its own for the scenario's
//! life, and says when the programs have gone quiet ([`Receiver::settle`]).

mod request;

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::spans::Span;

/// The largest body accepted (a bigger one gets 413).
pub const MAX_BODY_BYTES: u64 = 16 * 1024 * 1024;

/// What the receiver has taken in so far.
#[derive(Debug, Default)]
struct Collected {
    spans: Vec<Span>,
    /// Bodies refused (not OTLP, too large, an unknown type), for the report.
    warnings: Vec<String>,
    last_request: Option<Instant>,
}

#[derive(Debug, Default)]
struct Shared {
    collected: Mutex<Collected>,
    arrived: Condvar,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Collected> {
        self.collected.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One address the receiver listens on, with the thread that serves it.
struct Listener {
    address: SocketAddr,
    server: Arc<tiny_http::Server>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A running receiver; dropping it stops it. It may listen on several
/// addresses (loopback for steps on the host, a scenario network's gateway
/// for its containers), all feeding one set of spans.
pub struct Receiver {
    /// Never empty: the first is the address `start` was given.
    listeners: Mutex<Vec<Listener>>,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver")
            .field("addresses", &self.addresses())
            .finish_non_exhaustive()
    }
}

impl Receiver {
    /// Listens on a free port of `ip` (loopback for steps on the host; a
    /// scenario network's gateway for its containers).
    pub fn start(ip: IpAddr) -> std::io::Result<Self> {
        let receiver = Self {
            listeners: Mutex::default(),
            shared: Arc::default(),
        };
        receiver.listen(ip, &[])?;
        Ok(receiver)
    }

    /// Listens on `ip` too, on the first of `ports` that is free there, else
    /// on any free port; returns the address.
    pub fn listen(&self, ip: IpAddr, ports: &[u16]) -> std::io::Result<SocketAddr> {
        let server = bind(ip, ports)?;
        let address = server
            .server_addr()
            .to_ip()
            .ok_or_else(|| std::io::Error::other("the span receiver has no IP address"))?;
        let server = Arc::new(server);
        let thread = {
            let (server, shared) = (Arc::clone(&server), Arc::clone(&self.shared));
            std::thread::Builder::new()
                .name("clnrm-otlp-receiver".into())
                .spawn(move || serve(&server, &shared))?
        };
        tracing::debug!(%address, "span receiver listening");
        self.lock_listeners().push(Listener {
            address,
            server,
            thread: Some(thread),
        });
        Ok(address)
    }

    fn lock_listeners(&self) -> std::sync::MutexGuard<'_, Vec<Listener>> {
        self.listeners.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The address `start` listens on.
    pub fn address(&self) -> SocketAddr {
        self.lock_listeners()[0].address
    }

    /// Every address listened on, the first one first.
    pub fn addresses(&self) -> Vec<SocketAddr> {
        self.lock_listeners().iter().map(|l| l.address).collect()
    }

    /// `http://ADDRESS:PORT` of [`Receiver::address`], the base of
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address())
    }

    /// Waits until no request came for `idle` (the programs flushed), at
    /// most `cap` from now: what is judged is never a partial set that a
    /// moment more would have completed, and a program that never flushes
    /// cannot hold the run.
    pub fn settle(&self, idle: Duration, cap: Duration) {
        let deadline = Instant::now() + cap;
        let mut collected = self.shared.lock();
        loop {
            let now = Instant::now();
            let quiet_since = collected.last_request.map_or(Duration::MAX, |t| now - t);
            if quiet_since >= idle || now >= deadline {
                return;
            }
            let wait = (idle - quiet_since).min(deadline - now);
            collected = match self.shared.arrived.wait_timeout(collected, wait) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }

    /// The spans received so far, in arrival order.
    pub fn spans(&self) -> Vec<Span> {
        self.shared.lock().spans.clone()
    }

    /// Why bodies were refused, in arrival order.
    pub fn warnings(&self) -> Vec<String> {
        self.shared.lock().warnings.clone()
    }
}

/// A server on the first of `ports` free on `ip`, else on any free port.
fn bind(ip: IpAddr, ports: &[u16]) -> std::io::Result<tiny_http::Server> {
    let mut last = None;
    for port in ports.iter().chain(&[0]) {
        match tiny_http::Server::http(SocketAddr::new(ip, *port)) {
            Ok(server) => return Ok(server),
            Err(e) => last = Some(e),
        }
    }
    let reason = last.map_or_else(String::new, |e| format!(": {e}"));
    Err(std::io::Error::other(format!(
        "the span receiver cannot listen on {ip}{reason}"
    )))
}

fn serve(server: &tiny_http::Server, shared: &Shared) {
    for mut incoming in server.incoming_requests() {
        let (answer, taken) = request::handle(&mut incoming);
        // Recorded before the answer goes out: an exporter that saw its 200
        // (or its refusal) finds it counted.
        {
            let mut collected = shared.lock();
            match taken {
                Ok(spans) => collected.spans.extend(spans),
                Err(warning) => collected.warnings.push(warning),
            }
            collected.last_request = Some(Instant::now());
        }
        shared.arrived.notify_all();
        if let Err(e) = incoming.respond(answer) {
            tracing::debug!(error = %e, "span receiver: cannot answer");
        }
    }
}

#[cfg(test)]
mod tests;
