//! The shipped macro library: its template name and its text, compiled in.

/// Name of the shipped macro library.
pub const MACRO_LIBRARY: &str = "_macros.toml.tera";

/// The shipped macro library's text.
pub(crate) const MACRO_LIBRARY_TEXT: &str = include_str!("_macros.toml.tera");
