//! Where steps run. The executor talks to a `Backend`; `local` runs argv as
//! host processes, the container backend execs into containers.
//!
//! The container backend's files, each using only those before it: `engine`,
//! `image`, `build`, `spec`, `world`, then `exec`, `wait` and `fresh` (a step
//! in a fresh container of a service that has exited).

mod build;
mod cancel;
mod engine;
mod error;
mod exec;
mod files;
mod fresh;
mod image;
mod leftovers;
mod linking;
mod local;
mod slots;
mod span_route;
mod spec;
mod step;
mod wait;
mod world;
#[cfg(test)]
mod world_tests;

pub use cancel::CancelToken;
pub use image::{PullPolicy, image_ids};
pub use leftovers::{Removed, clean_leftovers};
pub use step::{StepEnd, StepOutput};

pub(crate) use engine::engine_status;
pub(crate) use error::BackendError;
pub(crate) use image::ImageSpec;
pub(crate) use local::{LocalBackend, find_on_path};
pub(crate) use spec::{
    BindMount, ContainerLimits, HealthCheckSpec, ServiceSpec, SpanRoute, WorldSpec,
};
pub(crate) use step::{Backend, StepRequest};
pub(crate) use world::ContainerBackend;
