//! Cleaning up after runs that were killed (SIGKILL) before their teardown:
//! whatever carries the `clnrm.run` label, from a process of this host that is
//! no longer alive. A live run's containers are never touched.

use std::collections::HashMap;

use bollard::Docker;
use bollard::query_parameters::{
    ListContainersOptionsBuilder, ListNetworksOptionsBuilder, RemoveContainerOptionsBuilder,
};

use super::engine::{engine_unreachable, run_labels};
use super::error::BackendError;

/// What `clean` removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Removed {
    pub containers: Vec<String>,
    pub networks: Vec<String>,
    /// Left alone: their run is alive, or belongs to another host.
    pub kept: usize,
}

/// True when the labels name a process of this host that no longer runs.
fn is_orphan(labels: &HashMap<String, String>, host: &str) -> bool {
    let same_host = labels.get("clnrm.host").is_some_and(|h| h == host);
    let dead = labels
        .get("clnrm.pid")
        .and_then(|pid| pid.parse::<u32>().ok())
        .is_some_and(|pid| !std::path::Path::new(&format!("/proc/{pid}")).exists());
    same_host && dead
}

/// Removes the containers, then the networks, of dead runs on this host.
pub fn clean_leftovers() -> Result<Removed, BackendError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| BackendError::Engine(format!("cannot start the engine client: {e}")))?;
    let docker = Docker::connect_with_defaults().map_err(engine_unreachable)?;
    let host = run_labels().remove("clnrm.host").unwrap_or_default();
    let filters = HashMap::from([("label", vec!["clnrm.run"])]);
    runtime.block_on(async {
        let mut removed = Removed::default();
        let containers = docker
            .list_containers(Some(
                ListContainersOptionsBuilder::default()
                    .all(true)
                    .filters(&filters)
                    .build(),
            ))
            .await
            .map_err(engine_unreachable)?;
        for container in containers {
            let (Some(id), Some(labels)) = (container.id, container.labels) else {
                continue;
            };
            if !is_orphan(&labels, &host) {
                removed.kept += 1;
                continue;
            }
            let options = RemoveContainerOptionsBuilder::default()
                .force(true)
                .v(true)
                .build();
            if docker.remove_container(&id, Some(options)).await.is_ok() {
                removed.containers.push(id);
            }
        }
        let networks = docker
            .list_networks(Some(
                ListNetworksOptionsBuilder::default()
                    .filters(&filters)
                    .build(),
            ))
            .await
            .map_err(engine_unreachable)?;
        for network in networks {
            let (Some(name), Some(labels)) = (network.name, network.labels) else {
                continue;
            };
            if !is_orphan(&labels, &host) {
                removed.kept += 1;
                continue;
            }
            if docker.remove_network(&name).await.is_ok() {
                removed.networks.push(name);
            }
        }
        Ok(removed)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_dead_processes_of_this_host_are_orphans() {
        let labels = |pid: &str, host: &str| {
            HashMap::from([
                ("clnrm.pid".to_string(), pid.to_string()),
                ("clnrm.host".to_string(), host.to_string()),
            ])
        };
        let me = std::process::id().to_string();
        assert!(
            !is_orphan(&labels(&me, "h"), "h"),
            "a live run is never touched"
        );
        assert!(is_orphan(&labels("4194303", "h"), "h"));
        assert!(
            !is_orphan(&labels("4194303", "other"), "h"),
            "another host's run is not ours to judge"
        );
        assert!(!is_orphan(&HashMap::new(), "h"));
    }
}
