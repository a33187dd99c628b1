//! Why a scenario could not start: what this version cannot run, or what
//! the machine lacks.

pub(super) enum Unavailable {
    /// Something this version cannot run: always a failure.
    Unsupported(String),
    /// The machine is not ready (no engine, no image, no disk); with the
    /// place in the file that asked for what is missing, when one did.
    Setup(String, Option<std::ops::Range<usize>>),
}
