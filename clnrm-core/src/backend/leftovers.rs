//! Cleaning up after runs that were killed (SIGKILL) before their teardown:
//! whatever carries the `clnrm.run` label, from a process of this host that is
//! no longer alive. A live run's containers are never touched.
//!
//! Every process that starts containers sweeps once, in the background, so
//! what a killed run left goes with the next run on that engine; `cargo clnrm
//! clean` does the same at once, and also takes what `--keep-on-failure` kept
//! (labelled [`KEEP_LABEL`]), which the sweep leaves for the user.

use std::collections::HashMap;
use std::sync::OnceLock;

use bollard::Docker;
use bollard::query_parameters::{
    ListContainersOptionsBuilder, ListNetworksOptionsBuilder, RemoveContainerOptionsBuilder,
};

use super::engine::{engine_unreachable, run_labels};
use super::error::BackendError;

/// On what a `--keep-on-failure` run creates: the sweep leaves it.
pub(crate) const KEEP_LABEL: &str = "clnrm.keep-on-failure";

/// What `clean` removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Removed {
    pub containers: Vec<String>,
    pub networks: Vec<String>,
    /// Left alone: their run is alive, belongs to another host, or (for the
    /// sweep) was kept on purpose.
    pub kept: usize,
}

/// A process, as its labels name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Process {
    pub pid: u32,
    /// Its start time, in clock ticks since boot (`/proc/PID/stat`).
    pub started: Option<u64>,
    /// The kernel's boot id: after a reboot every pid is new.
    pub boot: Option<String>,
}

impl Process {
    pub(crate) fn me() -> Self {
        static ME: OnceLock<Process> = OnceLock::new();
        ME.get_or_init(|| {
            let pid = std::process::id();
            Self {
                pid,
                started: start_time(pid),
                boot: boot_id(),
            }
        })
        .clone()
    }

    fn from_labels(labels: &HashMap<String, String>) -> Option<Self> {
        Some(Self {
            pid: labels.get("clnrm.pid")?.parse().ok()?,
            started: labels.get("clnrm.started").and_then(|s| s.parse().ok()),
            boot: labels.get("clnrm.boot").cloned(),
        })
    }

    /// Whether this process (of this host) has ended. Labels from before
    /// start times were kept name only a pid: alive while that pid is.
    fn has_ended(&self) -> bool {
        if self.boot.is_some() && self.boot != boot_id() {
            return true;
        }
        match start_time(self.pid) {
            None => true,
            // The pid is in use again, by another process.
            Some(now) => self.started.is_some_and(|then| then != now),
        }
    }
}

/// A process's start time: field 22 of `/proc/PID/stat`, counted after the
/// command name, which may itself hold spaces and parentheses.
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(19)?.parse().ok()
}

fn boot_id() -> Option<String> {
    let id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    Some(id.trim().to_string()).filter(|id| !id.is_empty())
}

/// True when the labels name a process of this host that no longer runs.
fn is_orphan(labels: &HashMap<String, String>, host: &str) -> bool {
    let same_host = labels.get("clnrm.host").is_some_and(|h| h == host);
    same_host && Process::from_labels(labels).is_some_and(|p| p.has_ended())
}

/// What to take: everything of dead runs (`clean`), or all but what was
/// kept on purpose (the sweep).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Take {
    All,
    NotKept,
}

/// Removes the containers, then the networks, of dead runs on this host,
/// kept ones included (`cargo clnrm clean`).
pub fn clean_leftovers() -> Result<Removed, BackendError> {
    remove_dead(Take::All)
}

/// Starts this process's sweep, once: what dead runs left, except what they
/// kept on purpose, is removed in the background (waited for by
/// [`crate::background::finish`]).
pub(crate) fn sweep_once() {
    static STARTED: OnceLock<()> = OnceLock::new();
    STARTED.get_or_init(|| {
        crate::background::spawn("clnrm-sweep", || match remove_dead(Take::NotKept) {
            Ok(removed) if !removed.containers.is_empty() || !removed.networks.is_empty() => {
                tracing::info!(
                    containers = removed.containers.len(),
                    networks = removed.networks.len(),
                    "removed what killed runs left"
                );
            }
            Ok(_) => {}
            Err(e) => tracing::debug!(error = %e, "no sweep of killed runs' leftovers"),
        });
    });
}

fn remove_dead(take: Take) -> Result<Removed, BackendError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| BackendError::Engine(format!("cannot start the engine client: {e}")))?;
    let docker = Docker::connect_with_defaults().map_err(engine_unreachable)?;
    let host = run_labels().remove("clnrm.host").unwrap_or_default();
    let takes = |labels: &HashMap<String, String>| {
        is_orphan(labels, &host) && (take == Take::All || !labels.contains_key(KEEP_LABEL))
    };
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
            if !takes(&labels) {
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
            if !takes(&labels) {
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

    fn labels(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        (pairs.iter())
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn only_dead_processes_of_this_host_are_orphans() {
        let me = std::process::id().to_string();
        let my_start = start_time(std::process::id()).unwrap().to_string();
        let boot = boot_id().unwrap();
        let live = labels(&[
            ("clnrm.pid", &me),
            ("clnrm.host", "h"),
            ("clnrm.started", &my_start),
            ("clnrm.boot", &boot),
        ]);
        assert!(!is_orphan(&live, "h"), "a live run is never touched");
        assert!(
            !is_orphan(&labels(&[("clnrm.pid", &me), ("clnrm.host", "h")]), "h"),
            "labels with a pid only: alive while the pid is"
        );
        let gone = labels(&[("clnrm.pid", "4194303"), ("clnrm.host", "h")]);
        assert!(is_orphan(&gone, "h"));
        assert!(
            !is_orphan(&gone, "other"),
            "another host's run is not ours to judge"
        );
        let mut reused = live.clone();
        reused.insert("clnrm.started".into(), "1".into());
        assert!(is_orphan(&reused, "h"), "a pid now used by another process");
        let mut rebooted = live;
        rebooted.insert("clnrm.boot".into(), "another-boot".into());
        assert!(is_orphan(&rebooted, "h"), "a run from before a reboot");
        assert!(!is_orphan(&HashMap::new(), "h"));
    }

    #[test]
    fn a_start_time_is_read_past_a_name_with_spaces_and_parentheses() {
        let me = start_time(std::process::id()).expect("own start time");
        assert!(me > 0);
        assert_eq!(Process::me().started, Some(me));
        assert_eq!(start_time(4194303), None);
    }
}
