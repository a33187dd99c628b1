//! One module per subcommand; `workspace` holds what they share.

pub mod clean;
pub mod diff;
pub mod init;
pub mod list;
pub mod run;
pub mod test;
pub mod validate;
pub(crate) mod workspace;
