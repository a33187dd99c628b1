//! The render stage: whole-file Tera rendering with the variables, functions,
//! macro library and budget of the scenario format.

mod budget;
mod context;
mod dialect;
mod engine;
mod functions;
mod imports;
mod library;
mod linemap;
mod substitute;
mod worker;

pub use budget::{BudgetViolation, RenderBudget, check_source};
pub use context::{
    BUILTIN_VARS, DEFAULT_RUNNER_IMAGE, ENV_VAR_PREFIX, RenderContext, VarInputs, lower_layers,
};
pub use engine::{RenderRequest, Rendered, TemplateEngine};
pub use functions::RANGE_BUDGET;
pub use imports::{Dependency, Resolved, imported_names};
pub use library::MACRO_LIBRARY;
pub use linemap::LineMap;

/// Whether text must go through the template engine: `.tera` files, and any
/// file that contains template syntax.
pub fn needs_rendering(path: &std::path::Path, text: &str) -> bool {
    path.extension().is_some_and(|e| e == "tera") || text.contains("{{") || text.contains("{%")
}
