//! How a scenario's containers reach the span receiver on this machine: the
//! receiver listens on the scenario network's gateway address too, which
//! every container knows by host name. An internal network still has no
//! route out: the gateway is the host's own end of the bridge.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use bollard::query_parameters::StopContainerOptionsBuilder;

use super::engine::engine_reason;
use super::error::BackendError;
use super::spec::SpanRoute;
use super::world::ContainerBackend;

/// The OTLP/HTTP port, tried first on the gateway (each scenario network has
/// its own gateway address), so `http://NAME:4318` works as it does with a
/// collector; any free port when it is taken.
pub(crate) const OTLP_HTTP_PORT: u16 = 4318;

/// What works instead, said wherever collecting from containers cannot be.
const INSTEAD: &str = "spans from steps on the host are collected: run the steps there with `backend = \"local\"` in `[meta]`";

impl ContainerBackend {
    /// Listens on the network's gateway, and gives every container created
    /// from now on the receiver's host names.
    pub(super) fn route_spans(&mut self, route: &SpanRoute) -> Result<(), BackendError> {
        let gateway = self.network_gateway()?;
        let address = route
            .receiver
            .listen(gateway, &[OTLP_HTTP_PORT])
            .map_err(|e| {
                BackendError::Engine(format!(
                    "spans cannot be collected from containers: {e} (the scenario network's gateway; is the engine in a virtual machine?); {INSTEAD}"
                ))
            })?;
        self.extra_hosts = (route.host_names.iter())
            .map(|name| format!("{name}:{gateway}"))
            .collect();
        let name = route.host_names.first().map_or("", String::as_str);
        self.span_endpoint = Some(format!("http://{name}:{}", address.port()));
        self.span_receiver = Some(Arc::clone(&route.receiver));
        tracing::debug!(%address, "span receiver reachable from the containers");
        Ok(())
    }

    /// Whether [`stop_services`](Self::stop_services) stopped them.
    pub fn services_stopped(&self) -> bool {
        (self.services_stopped).load(std::sync::atomic::Ordering::Relaxed)
    }

    /// `OTEL_EXPORTER_OTLP_ENDPOINT` for steps in the scenario's containers,
    /// when spans are collected.
    pub fn span_endpoint(&self) -> Option<&str> {
        self.span_endpoint.as_deref()
    }

    /// A service's environment: the route's variables and the endpoint,
    /// then the service's own `env`, which wins.
    pub(super) fn with_span_env(
        &self,
        own: &[(String, String)],
        route: &SpanRoute,
    ) -> Vec<(String, String)> {
        let endpoint = self
            .span_endpoint
            .iter()
            .map(|e| ("OTEL_EXPORTER_OTLP_ENDPOINT".to_string(), e.to_string()));
        let mut env: Vec<(String, String)> = (route.env.iter().cloned())
            .chain(endpoint)
            .filter(|(key, _)| !own.iter().any(|(k, _)| k == key))
            .collect();
        env.extend(own.iter().cloned());
        env
    }

    /// The gateway address of the scenario's network.
    fn network_gateway(&self) -> Result<IpAddr, BackendError> {
        let name = self.network_name().unwrap_or_default();
        let network = self
            .runtime
            .block_on(self.docker.inspect_network(name, None))
            .map_err(|e| {
                BackendError::Engine(format!(
                    "cannot read the scenario's network: {}",
                    engine_reason(e)
                ))
            })?;
        let gateway = (network.ipam.and_then(|i| i.config).unwrap_or_default())
            .into_iter()
            .filter_map(|c| c.gateway?.parse::<IpAddr>().ok())
            .find(IpAddr::is_ipv4);
        gateway.ok_or_else(|| {
            BackendError::Engine(format!(
                "spans cannot be collected from containers: the engine gave the scenario's network no gateway address; {INSTEAD}"
            ))
        })
    }

    /// Stops the services gracefully (SIGTERM, then SIGKILL after `grace`),
    /// all at once, so their SDKs flush what they hold before spans are
    /// judged. Teardown removes them afterwards as always.
    pub fn stop_services(&self, grace: Duration) {
        if self.services.is_empty() {
            return;
        }
        (self.services_stopped).store(true, std::sync::atomic::Ordering::Relaxed);
        let seconds = i32::try_from(grace.as_secs()).unwrap_or(i32::MAX).max(1);
        let stops = self.services.iter().map(|(_, container)| {
            let options = StopContainerOptionsBuilder::default().t(seconds).build();
            self.docker.stop_container(container, Some(options))
        });
        let limit = grace + Duration::from_secs(5);
        let stopped = self.runtime.block_on(async {
            tokio::time::timeout(limit, futures_util::future::join_all(stops)).await
        });
        tracing::debug!(finished = stopped.is_ok(), "services stopped");
    }
}

/// Collecting spans from containers needs the engine on this machine: its
/// containers reach the receiver through the network's gateway, here.
pub(super) fn refuse_remote_engine() -> Result<(), BackendError> {
    match remote_engine(std::env::var("DOCKER_HOST").ok().as_deref()) {
        Some(remote) => Err(BackendError::Engine(format!(
            "spans cannot be collected from containers: the engine is not on this machine (DOCKER_HOST={remote}), so its containers cannot reach clnrm's span receiver; {INSTEAD}"
        ))),
        None => Ok(()),
    }
}

/// The engine's address when it is not on this machine (`tcp://`, `ssh://`
/// or `http(s)://` to a host other than loopback); `None` for a local socket.
fn remote_engine(docker_host: Option<&str>) -> Option<String> {
    let host = docker_host?;
    let rest = ["tcp://", "ssh://", "http://", "https://"]
        .iter()
        .find_map(|scheme| host.strip_prefix(scheme))?;
    let authority = rest.split('/').next().unwrap_or_default();
    let authority = authority.rsplit('@').next().unwrap_or_default();
    let name = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    let local = name == "localhost" || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    (!local).then(|| host.to_string())
}

#[cfg(test)]
mod tests {
    use super::remote_engine;

    #[test]
    fn only_an_engine_on_another_machine_is_remote() {
        for local in [
            None,
            Some("unix:///var/run/docker.sock"),
            Some("tcp://127.0.0.1:2375"),
            Some("tcp://localhost:2376"),
            Some("tcp://[::1]:2375"),
            Some("npipe:////./pipe/docker_engine"),
        ] {
            assert_eq!(remote_engine(local), None, "{local:?}");
        }
        for remote in [
            "tcp://10.0.0.5:2376",
            "ssh://me@build-box",
            "https://docker.example.com:2376",
        ] {
            assert_eq!(remote_engine(Some(remote)).as_deref(), Some(remote));
        }
    }
}
