//! The file's model types as the backend takes them: services, `build`
//! tables (paths taken from the file's folder), and where an image is named.

use std::path::Path;

use crate::backend::{BindMount, ContainerLimits, HealthCheckSpec, ImageSpec, ServiceSpec};
use crate::scenario::{HealthCheck, ImageBuild, ImageSource, Limits, Policy, ScenarioFile};

use super::unavailable::Unavailable;

/// The services as the container backend starts them, with paths taken from
/// `dir` (the file's folder); what it cannot do yet is named, never skipped.
pub(super) fn service_specs(
    file: &ScenarioFile,
    dir: &Path,
) -> Result<Vec<ServiceSpec>, Unavailable> {
    let mut specs = Vec::with_capacity(file.services.len());
    // Dependencies first (a cycle is a validation error, so never seen here).
    let order = crate::scenario::start_order(&file.services)
        .unwrap_or_else(|_| (0..file.services.len()).collect());
    // A collector service is no container: the span receiver answers to its id.
    let containers = (order.into_iter())
        .map(|i| &file.services[i])
        .filter(|s| !s.is_collector());
    for service in containers {
        let id = &service.id.value;
        let image = match &service.image {
            Some(ImageSource::Image(image)) => ImageSpec::named(&image.value),
            Some(ImageSource::Build(build)) => build_spec(build, dir),
            None => {
                return Err(Unavailable::Unsupported(format!(
                    "service `{id}`: a service without an image is not supported"
                )));
            }
        };
        let mut volumes = Vec::with_capacity(service.volumes.len());
        for volume in &service.volumes {
            // Bound as it is: a missing path is an error, never created.
            let host = dir.join(&volume.host_path).canonicalize().map_err(|e| {
                Unavailable::Setup(
                    format!(
                        "service `{id}`: volume `{}` (host_path `{}`): {e}",
                        volume.container_path,
                        dir.join(&volume.host_path).display()
                    ),
                    Some(service.span.clone()),
                )
            })?;
            volumes.push(BindMount {
                host,
                container: volume.container_path.clone(),
                read_only: volume.read_only,
            });
        }
        specs.push(ServiceSpec {
            id: id.clone(),
            image,
            args: service.args.clone(),
            env: service.env.clone(),
            health_check: service.health_check.as_ref().map(health_check_spec),
            ports: service.ports.iter().map(|p| p.value.container).collect(),
            volumes,
            wait_for_span: service.wait_for_span.clone(),
            working_dir: service.working_dir.as_ref().map(|d| d.value.clone()),
            depends_on: (service.depends_on.iter())
                .map(|d| d.value.clone())
                .filter(|d| file.service(d).is_some_and(|s| !s.is_collector()))
                .collect(),
        });
    }
    Ok(specs)
}

/// Where the file names `image`: a service's `image`, the header's, or the
/// header itself for the configured default runner image.
pub(super) fn image_span(file: &ScenarioFile, image: &str) -> std::ops::Range<usize> {
    let named = |source: &Option<ImageSource>| match source {
        Some(ImageSource::Image(named)) if named.value == image => Some(named.span.clone()),
        _ => None,
    };
    file.services
        .iter()
        .find_map(|s| named(&s.image))
        .or_else(|| {
            file.header
                .image
                .as_ref()
                .filter(|named| named.value == image)
                .map(|named| named.span.clone())
        })
        .unwrap_or_else(|| file.header.span.clone())
}

/// A `build` table as the backend builds it: the context taken from `dir`.
pub(super) fn build_spec(build: &ImageBuild, dir: &Path) -> ImageSpec {
    let context = dir.join(&build.context.value);
    ImageSpec::Build {
        context: context
            .canonicalize()
            .or_else(|_| std::path::absolute(&context))
            .unwrap_or(context),
        dockerfile: build.dockerfile.clone(),
    }
}

/// A service's `health_check` as the backend runs it.
fn health_check_spec(check: &HealthCheck) -> HealthCheckSpec {
    HealthCheckSpec {
        cmd: check.cmd.clone(),
        interval: check.interval,
        timeout: check.timeout,
        retries: check.retries,
    }
}

/// The file's `[limits]` as the backend applies them to every container.
/// The containers' limits: `[limits]`, and the scenario's `policy`
/// (`max_memory_mb`, `max_cpu_usage` as a fraction of a core); where both
/// set one, the smaller.
pub(super) fn container_limits(
    limits: Option<&Limits>,
    policy: Option<&Policy>,
) -> ContainerLimits {
    let smaller = |a: Option<u32>, b: Option<u32>| match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let policy_cpu = policy
        .and_then(|p| p.max_cpu_usage)
        .map(|usage| ((usage * 1000.0).round() as u32).max(1));
    ContainerLimits {
        cpu_millicores: smaller(limits.and_then(|l| l.cpu_millicores), policy_cpu),
        memory_mb: smaller(
            limits.and_then(|l| l.memory_mb),
            policy.and_then(|p| p.max_memory_mb),
        ),
    }
}
