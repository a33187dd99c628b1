//! Why a scenario could not start: what this version cannot run, or what
//! the machine lacks.

pub(super) enum Unavailable {
    /// Something this version cannot run: always a failure.
    Unsupported(String),
    /// The machine is not ready (no engine, no image, no disk); with the
    /// place in the file that asked for what is missing, when one did.
    Setup(String, Option<std::ops::Range<usize>>),
}

impl Unavailable {
    /// As the run records it: never a pass, whatever `expect_failure` says.
    pub(super) fn into_unchecked(self) -> super::record::Unchecked {
        use crate::outcome::FailureKind;
        match self {
            Unavailable::Unsupported(message) => super::record::Unchecked {
                kind: FailureKind::Unsupported,
                message,
                span: None,
            },
            Unavailable::Setup(message, span) => super::record::Unchecked {
                kind: FailureKind::Unavailable,
                message,
                span,
            },
        }
    }
}
