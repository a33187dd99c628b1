//! The scenario model and its parser: every file shape becomes one [`ScenarioFile`].

mod depends;
mod diagnostics;
mod expect;
mod model;
mod nesting;
mod parse;
mod parse_expect;
mod parse_policy;
mod parse_services;
mod parse_steps;
mod parse_tables;
mod reader;
mod spanned;
mod suggest;
mod value;

pub use depends::start_order;
pub use expect::*;
pub use model::*;
pub(crate) use parse::{
    MAX_RECOVERED_BYTES, MAX_SYNTAX_ERRORS, more_syntax_errors, only_the_first_error, parse_toml,
};
pub use parse::{Parsed, accepted_keys, parse_scenario};
pub use spanned::Spanned;

pub(crate) use diagnostics::Diagnostics;
pub(crate) use nesting::{
    NESTING_HELP, long_dotted_key, nesting_message, parser_limit_help, too_deep,
};
pub(crate) use parse_tables::{OTLP_HTTP_PROTOCOLS, read_determinism};
pub(crate) use suggest::closest;
pub(crate) use value::ValueRef;
