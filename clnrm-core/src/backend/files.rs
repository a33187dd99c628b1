//! Files read back out of the runner container after the steps (span files
//! a scenario names), through the engine's archive API: no tool in the
//! image is needed.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use futures_util::StreamExt;

use super::engine::engine_reason;
use super::error::BackendError;
use super::world::ContainerBackend;

/// The largest file read back (a span file bigger than this is cut off).
const MAX_FILE_BYTES: usize = 64 * 1024 * 1024;

impl ContainerBackend {
    /// The contents of `path` in the runner container; a relative path is
    /// taken from the image's working directory (`/` when it names none).
    pub fn read_runner_file(&self, path: &Path) -> Result<Vec<u8>, BackendError> {
        let runner = self.runner.as_deref().ok_or_else(|| {
            BackendError::Engine("the scenario has no runner container to read from".into())
        })?;
        let path = if path.is_absolute() {
            path.to_path_buf()
        } else {
            Path::new(&self.runner_workdir(runner)).join(path)
        };
        let options = bollard::query_parameters::DownloadFromContainerOptionsBuilder::default()
            .path(&path.to_string_lossy())
            .build();
        let fetch = async {
            let mut archive = Vec::new();
            let mut stream = self.docker.download_from_container(runner, Some(options));
            while let Some(chunk) = stream.next().await {
                archive.extend_from_slice(&chunk?);
                if archive.len() > MAX_FILE_BYTES + 64 * 1024 {
                    break;
                }
            }
            Ok::<_, bollard::errors::Error>(archive)
        };
        let archive = self
            .runtime
            .block_on(async { tokio::time::timeout(Duration::from_secs(30), fetch).await })
            .map_err(|_| BackendError::Engine(format!("reading {} timed out", path.display())))?
            .map_err(|e| {
                BackendError::Engine(format!(
                    "cannot read {} in the runner container: {}",
                    path.display(),
                    engine_reason(e)
                ))
            })?;
        first_file(&archive).ok_or_else(|| {
            BackendError::Engine(format!(
                "{} in the runner container is not a file",
                path.display()
            ))
        })
    }

    fn runner_workdir(&self, runner: &str) -> String {
        let inspected = self
            .runtime
            .block_on(self.docker.inspect_container(runner, None))
            .ok();
        inspected
            .and_then(|c| c.config?.working_dir)
            .filter(|dir| !dir.is_empty())
            .unwrap_or_else(|| "/".into())
    }
}

/// The first regular file of a tar archive.
fn first_file(archive: &[u8]) -> Option<Vec<u8>> {
    let mut archive = tar::Archive::new(archive);
    let mut entry = archive
        .entries()
        .ok()?
        .filter_map(Result::ok)
        .find(|e| e.header().entry_type().is_file())?;
    let mut contents = Vec::new();
    (&mut entry)
        .take(MAX_FILE_BYTES as u64)
        .read_to_end(&mut contents)
        .ok()?;
    Some(contents)
}
