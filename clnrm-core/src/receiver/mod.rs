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

/// A running receiver; dropping it stops it.
pub struct Receiver {
    address: SocketAddr,
    server: Arc<tiny_http::Server>,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl Receiver {
    /// Listens on a free port of `ip` (loopback for steps on the host; a
    /// scenario network's gateway for its containers).
    pub fn start(ip: IpAddr) -> std::io::Result<Self> {
        let server = tiny_http::Server::http(SocketAddr::new(ip, 0)).map_err(|e| {
            std::io::Error::other(format!("the span receiver cannot listen on {ip}: {e}"))
        })?;
        let address = server
            .server_addr()
            .to_ip()
            .ok_or_else(|| std::io::Error::other("the span receiver has no IP address"))?;
        let server = Arc::new(server);
        let shared = Arc::new(Shared::default());
        let thread = {
            let (server, shared) = (Arc::clone(&server), Arc::clone(&shared));
            std::thread::Builder::new()
                .name("clnrm-otlp-receiver".into())
                .spawn(move || serve(&server, &shared))?
        };
        tracing::debug!(%address, "span receiver listening");
        Ok(Self {
            address,
            server,
            shared,
            thread: Some(thread),
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// `http://ADDRESS:PORT`, the base of `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
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

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
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
