//! One module per subcommand; `workspace` holds what they share.

pub mod list;
pub mod run;
pub mod validate;
mod workspace;
