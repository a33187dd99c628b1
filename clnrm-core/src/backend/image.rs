//! Named images: checked and pulled under the pull policy, and the next step
//! when one is missing. [`ImageSpec`] says named or built (`build.rs`).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::query_parameters::CreateImageOptionsBuilder;
use futures_util::StreamExt;

use super::cancel::CancelToken;
use super::engine::{engine_reason, engine_unreachable};
use super::error::BackendError;

/// A pull that sends nothing for this long is given up (an unreachable
/// registry can leave the engine waiting on a connection).
pub(crate) const PULL_STALL_LIMIT: Duration = Duration::from_secs(20);
/// Longest a pull may take in all, however steadily it progresses.
pub(crate) const PULL_LIMIT: Duration = Duration::from_secs(10 * 60);
/// How often a pull or a build checks the cancellation token.
pub(crate) const POLL: Duration = Duration::from_millis(100);

/// When named images are pulled from a registry (`--pull`, `pull`, `CLNRM_PULL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PullPolicy {
    /// Only images already on the engine's machine are used.
    Never,
    /// An image missing from the machine is pulled; one there is used as is.
    #[default]
    Missing,
    /// Every image is pulled before use, even one already there.
    Always,
}

impl PullPolicy {
    /// The spellings `parse` accepts.
    pub const NAMES: &'static [&'static str] = &["never", "missing", "always"];

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "never" => Some(Self::Never),
            "missing" => Some(Self::Missing),
            "always" => Some(Self::Always),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Never => "never",
            Self::Missing => "missing",
            Self::Always => "always",
        }
    }
}

impl std::fmt::Display for PullPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a container's image comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageSpec {
    /// `name:tag`: on the machine, or pulled under the pull policy.
    Named(String),
    /// Built from a context folder (absolute), with an optional Dockerfile
    /// path inside it (default `Dockerfile`).
    Build {
        context: PathBuf,
        dockerfile: Option<String>,
    },
}

impl ImageSpec {
    pub fn named(name: impl Into<String>) -> Self {
        Self::Named(name.into())
    }
}

/// Whether the engine has `image`; an engine that does not answer is an error.
pub(crate) async fn exists(docker: &Docker, image: &str) -> Result<bool, BackendError> {
    match docker.inspect_image(image).await {
        Ok(_) => Ok(true),
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(false),
        Err(e @ bollard::errors::Error::DockerResponseServerError { .. }) => {
            Err(BackendError::Engine(format!(
                "the engine refused to look up image `{image}`: {e}"
            )))
        }
        Err(e) => Err(engine_unreachable(e)),
    }
}

/// Longest the engine may take to say which images it has.
const LOOKUP_LIMIT: Duration = Duration::from_secs(5);

/// The ids of named images on the engine, `None` for a name it does not
/// have: one connection, the names asked at once. Pulls nothing.
pub fn image_ids(names: &[String]) -> Result<Vec<Option<String>>, BackendError> {
    let (runtime, docker) = super::engine::connect()?;
    runtime.block_on(async {
        let asks = names.iter().map(|name| docker.inspect_image(name));
        // Lookups are quick; an engine that takes longer is not answering.
        let answers = tokio::time::timeout(LOOKUP_LIMIT, futures_util::future::join_all(asks))
            .await
            .map_err(|_| engine_unreachable("no answer within 5 s"))?;
        (names.iter().zip(answers))
            .map(|(name, answer)| match answer {
                Ok(image) => Ok(Some(image.id.unwrap_or_else(|| name.clone()))),
                Err(bollard::errors::Error::DockerResponseServerError {
                    status_code: 404, ..
                }) => Ok(None),
                Err(e @ bollard::errors::Error::DockerResponseServerError { .. }) => {
                    Err(BackendError::Engine(format!(
                        "the engine refused to look up image `{name}`: {e}"
                    )))
                }
                Err(e) => Err(engine_unreachable(e)),
            })
            .collect()
    })
}

/// Makes sure the engine has the named `image`, pulling it as `pull` says.
pub(crate) async fn ensure_named(
    docker: &Docker,
    image: &str,
    pull: PullPolicy,
    cancel: &CancelToken,
) -> Result<(), BackendError> {
    let here = match pull {
        PullPolicy::Always => None,
        _ => Some(exists(docker, image).await?),
    };
    let missing = |why: String| BackendError::Image {
        image: image.to_string(),
        message: format!("{why}: {}", how_to_get(image)),
    };
    match (pull, here) {
        (_, Some(true)) => Ok(()),
        (PullPolicy::Never, _) => Err(missing(format!(
            "image `{image}` is not available locally and pulling is off (pull policy `never`)"
        ))),
        (PullPolicy::Missing, _) => pull_image(docker, image, cancel).await.map_err(|reason| {
            missing(format!(
                "image `{image}` is not available locally and pulling it failed ({reason})"
            ))
        }),
        (PullPolicy::Always, _) => pull_image(docker, image, cancel).await.map_err(|reason| {
            let mut error = missing(format!(
                "image `{image}` could not be pulled (pull policy `always`: {reason})"
            ));
            if let BackendError::Image { message, .. } = &mut error {
                message.push_str(", or use the local image with `--pull missing`");
            }
            error
        }),
    }
}

/// Images the project's fixture step provides where no registry answers:
/// public names it pulls, or builds a labelled stand-in for.
pub const STAND_IN_IMAGES: &[&str] = &[crate::render::DEFAULT_RUNNER_IMAGE, "busybox:1.37"];

/// The next step for an image that is not there: a pull only for names a
/// registry can have; the build command for names that exist only locally.
pub(crate) fn how_to_get(image: &str) -> String {
    if STAND_IN_IMAGES.contains(&image) {
        format!(
            "pull it (`docker pull {image}`); where no registry answers, `bash scripts/fixture-images.sh` in clnrm's checkout builds a local stand-in under that name"
        )
    } else if is_local_only(image) {
        format!(
            "build it: `bash scripts/fixture-images.sh` in clnrm's checkout builds `{image}` (a name that exists only locally: no registry has it)"
        )
    } else {
        format!(
            "pull it where a registry answers (`docker pull {image}`), or build it (`docker build -t {image} DIR`, or `build` instead of `image` in the scenario)"
        )
    }
}

/// The repository of images built from a context (`build.rs`); the tag is
/// the start of the context's hash.
pub const BUILD_REPOSITORY: &str = "clnrm-build";

/// Images that exist only where the project's fixture step built them.
pub const LOCAL_FIXTURE_IMAGES: &[&str] = &["clnrm-busybox:latest"];

/// Names no registry has: the fixture step's own, and the tags of `build`.
fn is_local_only(image: &str) -> bool {
    LOCAL_FIXTURE_IMAGES.contains(&image) || image.starts_with(&format!("{BUILD_REPOSITORY}:"))
}

/// `name` with `:latest` when it names no tag or digest (the engine would
/// otherwise pull every tag).
fn with_tag(name: &str) -> String {
    let last = name.rsplit('/').next().unwrap_or(name);
    if last.contains(':') || name.contains('@') {
        name.to_string()
    } else {
        format!("{name}:latest")
    }
}

/// Pulls `image`, bounded: given up after `PULL_STALL_LIMIT` without a
/// message from the engine, after `PULL_LIMIT` in all, or on cancellation
/// (closing the connection ends the pull on the engine's side).
async fn pull_image(docker: &Docker, image: &str, cancel: &CancelToken) -> Result<(), String> {
    tracing::info!(%image, "pulling an image");
    let reference = with_tag(image);
    let options = CreateImageOptionsBuilder::default()
        .from_image(&reference)
        .build();
    let mut progress = docker.create_image(Some(options), None, None);
    let started = Instant::now();
    let mut heard = Instant::now();
    loop {
        match tokio::time::timeout(POLL, progress.next()).await {
            Ok(None) => break,
            Ok(Some(Ok(_))) => heard = Instant::now(),
            Ok(Some(Err(e))) => return Err(engine_reason(e)),
            Err(_) => {}
        }
        if cancel.is_cancelled() {
            return Err("cancelled".into());
        }
        if heard.elapsed() >= PULL_STALL_LIMIT {
            return Err(format!(
                "no answer from the registry within {}",
                humantime::format_duration(PULL_STALL_LIMIT)
            ));
        }
        if started.elapsed() >= PULL_LIMIT {
            return Err(format!(
                "not done within {}",
                humantime::format_duration(PULL_LIMIT)
            ));
        }
    }
    // A pull that ended without an error has the image, or says why not.
    if exists(docker, image).await.map_err(|e| e.to_string())? {
        Ok(())
    } else {
        Err("the engine ended the pull without the image".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_without_a_tag_pulls_latest_only() {
        assert_eq!(with_tag("busybox"), "busybox:latest");
        assert_eq!(with_tag("busybox:1.36"), "busybox:1.36");
        assert_eq!(
            with_tag("registry:5000/team/app"),
            "registry:5000/team/app:latest"
        );
        assert_eq!(with_tag("app@sha256:abc"), "app@sha256:abc");
    }

    #[test]
    fn the_next_step_fits_the_name() {
        assert!(how_to_get("debian:trixie-slim").contains("`docker pull debian:trixie-slim`"));
        assert!(how_to_get("debian:trixie-slim").contains("stand-in"));
        let local = how_to_get("clnrm-busybox:latest");
        assert!(
            local.contains("`bash scripts/fixture-images.sh`"),
            "{local}"
        );
        assert!(!local.contains("docker pull"), "{local}");
        let other = how_to_get("ghcr.io/team/app:1");
        assert!(
            other.contains("`docker pull ghcr.io/team/app:1`"),
            "{other}"
        );
        assert!(
            other.contains("`docker build -t ghcr.io/team/app:1 DIR`"),
            "{other}"
        );
    }

    #[test]
    fn policies_parse_by_name() {
        for name in PullPolicy::NAMES {
            assert_eq!(PullPolicy::parse(name).map(PullPolicy::as_str), Some(*name));
        }
        assert_eq!(PullPolicy::parse("sometimes"), None);
        assert_eq!(PullPolicy::default(), PullPolicy::Missing);
    }
}
