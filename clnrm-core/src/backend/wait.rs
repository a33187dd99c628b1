//! Watching a scenario's services: waiting until they are ready (health
//! checks, `wait_for_span`) and reading their output.

use std::time::{Duration, Instant};

use futures_util::StreamExt;

use super::cancel::CancelToken;
use super::error::BackendError;
use super::step::StepRequest;
use super::world::ContainerBackend;
use crate::spans::has_span;

/// How often a service's output is read while waiting for its span.
const SPAN_POLL: Duration = Duration::from_millis(100);

impl ContainerBackend {
    /// Runs the health check until it passes, within its retries.
    pub(super) fn wait_healthy(
        &self,
        service: &str,
        check: &super::spec::HealthCheckSpec,
        cancel: &CancelToken,
    ) -> Result<(), BackendError> {
        let container = self
            .service_container(service)
            .unwrap_or_default()
            .to_string();
        let interval = check.interval.unwrap_or(Duration::from_millis(500));
        let retries = check.retries.unwrap_or(30).max(1);
        let request = StepRequest {
            argv: check.cmd.clone(),
            env: Vec::new(),
            workdir: None,
            stdin: None,
            timeout: check.timeout.unwrap_or(Duration::from_secs(5)),
            service: Some(service.to_string()),
        };
        let mut last = String::new();
        let started = Instant::now();
        for attempt in 1..=retries {
            match self
                .runtime
                .block_on(self.exec(&container, &request, cancel))
            {
                Ok(output) if output.exit_code == Some(0) => {
                    tracing::debug!(%service, attempt, elapsed_ms = started.elapsed().as_millis() as u64, "service healthy");
                    return Ok(());
                }
                Ok(output) => {
                    last = format!(
                        "exit code {:?}: {}{}",
                        output.exit_code,
                        output.stdout.trim(),
                        output.stderr.trim()
                    );
                }
                Err(e) => last = e.to_string(),
            }
            if cancel.is_cancelled() {
                break;
            }
            if attempt < retries {
                std::thread::sleep(interval);
            }
        }
        Err(BackendError::Engine(format!(
            "service `{service}` did not pass its health check {:?} after {retries} tries (last: {last})",
            check.cmd
        )))
    }

    /// Reads the service's stdout until it shows a span named `span`, or
    /// the span receiver (when spans are collected) has one, the service
    /// exits, or `deadline` passes.
    pub(super) fn wait_for_span(
        &self,
        service: &str,
        span: &str,
        deadline: Instant,
        cancel: &CancelToken,
    ) -> Result<(), BackendError> {
        let container = self.service_container(service).unwrap_or_default();
        let has_it = |output: &str| {
            has_span(output, span)
                || (self.span_receiver.as_ref())
                    .is_some_and(|r| r.spans().iter().any(|s| s.name == span))
        };
        loop {
            let mut output = self.output_of(container, None, false);
            if has_it(&output) {
                return Ok(());
            }
            let running = self
                .runtime
                .block_on(self.docker.inspect_container(container, None))
                .ok()
                .and_then(|c| c.state?.running)
                .unwrap_or(false);
            if !running {
                // The output above may have been read before the service's
                // last lines; once it has stopped its log is complete.
                output = self.output_of(container, None, false);
                if has_it(&output) {
                    return Ok(());
                }
            }
            let problem = if !running {
                Some("exited first")
            } else if Instant::now() >= deadline {
                Some("timed out (the scenario's timeout)")
            } else if cancel.is_cancelled() {
                Some("was cancelled")
            } else {
                None
            };
            if let Some(problem) = problem {
                let last: Vec<&str> = output.lines().rev().take(5).collect();
                let last: Vec<&str> = last.into_iter().rev().collect();
                return Err(BackendError::Engine(format!(
                    "service `{service}` {problem} before printing a span named `{span}` (its last output: {:?})",
                    last.join("\n")
                )));
            }
            std::thread::sleep(SPAN_POLL);
        }
    }

    /// The last `lines` of each service's output, for failure reports.
    pub fn service_logs(&self, lines: usize) -> Vec<(String, String)> {
        self.services
            .iter()
            .map(|(service, container)| {
                (
                    service.clone(),
                    self.output_of(container, Some(lines), true),
                )
            })
            .collect()
    }

    /// A container's stdout (and stderr), the last `tail` lines or all of it.
    pub(super) fn output_of(&self, container: &str, tail: Option<usize>, stderr: bool) -> String {
        let tail = tail.map_or_else(|| "all".to_string(), |n| n.to_string());
        let options = bollard::query_parameters::LogsOptionsBuilder::default()
            .stdout(true)
            .stderr(stderr)
            .tail(&tail)
            .build();
        let collect = async {
            let mut text = Vec::new();
            let mut stream = self.docker.logs(container, Some(options));
            while let Some(Ok(chunk)) = stream.next().await {
                text.extend_from_slice(&chunk.into_bytes());
            }
            text
        };
        let text = self
            .runtime
            .block_on(async { tokio::time::timeout(Duration::from_secs(5), collect).await })
            .unwrap_or_default();
        String::from_utf8_lossy(&text).into_owned()
    }
}
