//! Images built from a context folder through the engine's API (`build`).
//!
//! The folder is sent as a tar archive that depends only on the paths,
//! contents, kinds and executable bits of its files (no times or owners), and
//! the image is tagged with a hash of that archive: a context that did not
//! change is built once and then reused, by every process on the machine.

use std::collections::{HashMap, VecDeque};
use std::path::{Component, Path};
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::query_parameters::BuildImageOptionsBuilder;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use tokio::runtime::Runtime;

use super::cancel::CancelToken;
use super::engine::{engine_reason, engine_unreachable};
use super::error::BackendError;
use super::image::{BUILD_REPOSITORY, POLL, PullPolicy, exists};

/// Lines of the build's output shown when it fails.
const OUTPUT_LINES: usize = 20;
/// Longest a build may take.
const BUILD_LIMIT: Duration = Duration::from_secs(10 * 60);

/// One build at a time in a process: scenarios sharing a context (parallel
/// scenarios of one file) wait for the first build and reuse its image.
static BUILDING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Builds (or reuses) the image of `context` and returns its name.
pub(crate) fn build(
    runtime: &Runtime,
    docker: &Docker,
    context: &Path,
    dockerfile: Option<&str>,
    pull: PullPolicy,
    cancel: &CancelToken,
) -> Result<String, BackendError> {
    let dockerfile = dockerfile.unwrap_or("Dockerfile");
    let failed = |why: String| {
        BackendError::Engine(format!(
            "cannot build the image of `{}`: {why}",
            context.display()
        ))
    };
    if !context.is_dir() {
        return Err(failed("the build context is not a folder".into()));
    }
    let inside = Path::new(dockerfile)
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if !inside || !context.join(dockerfile).is_file() {
        return Err(failed(format!(
            "the Dockerfile `{dockerfile}` is not a file inside the build context"
        )));
    }
    let archive = context_archive(context)
        .map_err(|e| failed(format!("cannot read the build context: {e}")))?;
    let hash = content_hash(dockerfile, &archive);
    let tag = format!("{BUILD_REPOSITORY}:{}", &hash[..16]);
    let _one_build = BUILDING.lock().unwrap_or_else(|e| e.into_inner());
    // `always` builds again, pulling the base images anew.
    if pull != PullPolicy::Always && runtime.block_on(exists(docker, &tag))? {
        tracing::debug!(%tag, context = %context.display(), "reusing the built image");
        return Ok(tag);
    }
    tracing::info!(%tag, context = %context.display(), "building an image");
    let labels = HashMap::from([
        ("clnrm.build.hash".to_string(), hash.clone()),
        (
            "clnrm.build.context".to_string(),
            context.display().to_string(),
        ),
    ]);
    let mut options = BuildImageOptionsBuilder::default()
        .dockerfile(dockerfile)
        .t(&tag)
        .rm(true)
        // The intermediate containers of a failed step are removed too.
        .forcerm(true)
        .labels(&labels);
    if pull == PullPolicy::Always {
        options = options.pull("1");
    }
    let mut output: VecDeque<String> = VecDeque::with_capacity(OUTPUT_LINES);
    let result = runtime.block_on(async {
        let body = bollard::body_full(archive.into());
        let mut progress = docker.build_image(options.build(), None, Some(body));
        let started = Instant::now();
        loop {
            match tokio::time::timeout(POLL, progress.next()).await {
                Ok(None) => return Ok(()),
                Ok(Some(Ok(info))) => {
                    for line in info.stream.iter().flat_map(|s| s.lines()) {
                        if !line.trim().is_empty() {
                            if output.len() == OUTPUT_LINES {
                                output.pop_front();
                            }
                            output.push_back(line.trim_end().to_string());
                        }
                    }
                }
                Ok(Some(Err(e @ bollard::errors::Error::DockerStreamError { .. })))
                | Ok(Some(Err(e @ bollard::errors::Error::DockerResponseServerError { .. }))) => {
                    return Err(engine_reason(e));
                }
                Ok(Some(Err(e))) => return Err(engine_unreachable(e).to_string()),
                Err(_) => {}
            }
            // Dropping the stream closes the connection, which ends the build.
            if cancel.is_cancelled() {
                return Err("cancelled".into());
            }
            if started.elapsed() >= BUILD_LIMIT {
                return Err(format!(
                    "not done within {}",
                    humantime::format_duration(BUILD_LIMIT)
                ));
            }
        }
    });
    let result = match result {
        Ok(()) if runtime.block_on(exists(docker, &tag))? => Ok(tag),
        Ok(()) => Err("the engine ended the build without an image".to_string()),
        Err(reason) => Err(reason),
    };
    result.map_err(|reason| {
        let mut message = format!(
            "building the image of `{}` failed: {reason}",
            context.display()
        );
        if !output.is_empty() {
            message.push_str("\n--- last lines of the build output ---\n");
            message.push_str(&Vec::from(output).join("\n"));
        }
        BackendError::Engine(message)
    })
}

/// The context folder as a tar archive, entries sorted by path, with fixed
/// times and owners (`HeaderMode::Deterministic`), symlinks kept as links.
fn context_archive(context: &Path) -> Result<Vec<u8>, String> {
    let mut archive = tar::Builder::new(Vec::new());
    archive.mode(tar::HeaderMode::Deterministic);
    archive.follow_symlinks(false);
    let entries = walkdir::WalkDir::new(context)
        .follow_links(false)
        .sort_by_file_name()
        .min_depth(1);
    for entry in entries {
        let entry = entry.map_err(|e| e.to_string())?;
        let relative = entry
            .path()
            .strip_prefix(context)
            .map_err(|e| e.to_string())?;
        archive
            .append_path_with_name(entry.path(), relative)
            .map_err(|e| format!("`{}`: {e}", entry.path().display()))?;
    }
    archive.into_inner().map_err(|e| e.to_string())
}

/// SHA-256 of the Dockerfile's path and the context archive, in hex.
fn content_hash(dockerfile: &str, archive: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(dockerfile.as_bytes());
    hasher.update([0]);
    hasher.update(archive);
    hex::encode(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash_of(dir: &Path) -> String {
        content_hash("Dockerfile", &context_archive(dir).unwrap())
    }

    #[test]
    fn the_hash_follows_content_not_times() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/a.txt"), "a").unwrap();
        let first = hash_of(dir.path());
        // Rewriting the same bytes (a new modification time) changes nothing.
        std::thread::sleep(Duration::from_millis(20));
        std::fs::write(dir.path().join("sub/a.txt"), "a").unwrap();
        assert_eq!(hash_of(dir.path()), first);
        std::fs::write(dir.path().join("sub/a.txt"), "b").unwrap();
        let changed = hash_of(dir.path());
        assert_ne!(changed, first);
        std::fs::write(dir.path().join("sub/a.txt"), "a").unwrap();
        std::fs::rename(dir.path().join("sub/a.txt"), dir.path().join("sub/c.txt")).unwrap();
        assert_ne!(hash_of(dir.path()), first, "a renamed file is a change");
        assert_ne!(
            content_hash("other/Dockerfile", &context_archive(dir.path()).unwrap()),
            hash_of(dir.path()),
            "so is another Dockerfile"
        );
    }
}
