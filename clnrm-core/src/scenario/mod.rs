//! The scenario model and its parser: every file shape becomes one [`ScenarioFile`].

mod expect;
mod model;
mod parse;
mod parse_expect;
mod parse_steps;
mod reader;
mod spanned;

pub use expect::*;
pub use model::*;
pub use parse::{Parsed, accepted_keys, parse_scenario};
pub use spanned::Spanned;

pub(crate) use parse::read_determinism;
pub(crate) use reader::{Diagnostics, ValueRef, closest};
