//! The render stage: whole-file Tera rendering with the variables, functions,
//! macro library and budget of the scenario format.

mod budget;
mod calls;
mod context;
mod dialect;
mod engine;
mod fuel;
mod functions;
mod imports;
mod library;
mod linemap;
mod reader;
mod substitute;
mod worker;

pub use context::{RenderContext, lower_layers};

pub(crate) use context::VarInputs;
pub use engine::{RenderRequest, TemplateEngine};
pub use imports::{Dependency, imported_names};
pub use linemap::LineMap;
pub use reader::{FileSystem, TemplateReader};

pub(crate) use context::DEFAULT_RUNNER_IMAGE;
pub(crate) use engine::Rendered;

/// Whether text must go through the template engine: `.tera` files, and any
/// file that contains template syntax.
pub(crate) fn needs_rendering(path: &std::path::Path, text: &str) -> bool {
    path.extension().is_some_and(|e| e == "tera") || text.contains("{{") || text.contains("{%")
}
