//! Where steps run. The executor talks to a [`Backend`]; `local` runs argv as
//! host processes, the container backend execs into containers.
//!
//! The container backend's files, each using only those before it: `engine`,
//! `image`, `build`, `spec`, `world`, then `exec` and `wait`.

mod build;
mod cancel;
mod engine;
mod error;
mod exec;
mod image;
mod leftovers;
mod linking;
mod local;
mod slots;
pub mod spans;
mod spec;
mod step;
mod wait;
mod world;

pub use cancel::CancelToken;
pub use engine::{engine_status, run_labels};
pub use error::BackendError;
pub use image::{BUILD_REPOSITORY, ImageSpec, PullPolicy, STAND_IN_IMAGES};
pub use leftovers::{Removed, clean_leftovers};
pub use local::LocalBackend;
pub use slots::{Slots, acquire as acquire_slots};
pub use spec::{
    BindMount, ContainerLimits, HealthCheckSpec, PublishedPort, ServiceSpec, WorldSpec,
};
pub use step::{Backend, StepEnd, StepOutput, StepRequest};
pub use world::ContainerBackend;
