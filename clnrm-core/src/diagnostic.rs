//! Problems found in a scenario file, with their place in the source.
//!
//! Diagnostics are data: the core never prints them. The CLI renders them
//! rustc-style or as JSON; the harness turns them into failing tests.

use std::fmt;
use std::ops::Range;
use std::path::Path;

use crate::source::{Location, SourceFile};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

macro_rules! codes {
    ($($variant:ident => $name:literal: $doc:literal,)*) => {
        /// Every diagnostic code; `docs/diagnostics.md` documents each one.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
        pub enum Code {
            $(#[doc = $doc] $variant,)*
        }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The stable name printed in output and JSON (`clnrm::<name>`).
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $name,)* }
            }

            /// One line saying what the code means.
            pub fn summary(self) -> &'static str {
                match self { $(Code::$variant => $doc,)* }
            }
        }
    };
}

codes! {
    Io => "io": "the file could not be read",
    TomlSyntax => "toml-syntax": "the rendered text is not valid TOML",
    WrongType => "wrong-type": "a value has the wrong type (a string where a list is expected, ...)",
    UnknownKey => "unknown-key": "a key or table the format does not know (with a suggestion when one is close)",
    MissingKey => "missing-key": "a required key is absent",
    MissingHeader => "missing-header": "neither `[meta]` nor `[test.metadata]` is present",
    ConflictingKeys => "conflicting-keys": "two spellings of the same thing are both present (`[service]` and `[services]`, ...)",
    UndefinedService => "undefined-service": "a step or scenario names a service that is not defined",
    DuplicateName => "duplicate-name": "two services, scenarios or steps share a name",
    InvalidRegex => "invalid-regex": "an output expectation is not a valid regular expression",
    InvalidDuration => "invalid-duration": "a duration is not a positive number of seconds or a string such as \"500ms\"",
    InvalidPort => "invalid-port": "a port is not 1-65535 or a \"HOST:CONTAINER\" string",
    InvalidVolume => "invalid-volume": "a volume lacks an absolute `container_path` or a `host_path`",
    InvalidValue => "invalid-value": "a value is outside the accepted set (an unknown backend, span kind, status, ...)",
    InvalidCommand => "invalid-command": "a command is empty or a `run` string cannot be split into words",
    UnsupportedPlugin => "unsupported-plugin": "a service plugin this version does not run; use `generic_container`",
    EmptyScenario => "empty-scenario": "a scenario has no steps and no `run`",
    InvalidVars => "invalid-vars": "`[vars]`, `[matrix]` or `[determinism]` is not plain TOML or has a wrong shape",
    TemplateError => "template-error": "the Tera template does not parse or does not render",
    RenderBudget => "render-budget": "rendering exceeded its budget (time, output size, loop count or nesting)",
    EngineSocket => "engine-socket": "a volume mounts the container engine's socket: the container can then control the engine (and the host)",
    DeprecatedKey => "deprecated-key": "an older spelling that still works; the message names the current one",
    UnverifiedClaim => "unverified-claim": "an `[assertions]` claim no check stands behind (an error under strict mode)",
    NotSupportedYet => "not-supported-yet": "an expectation this version cannot check; the scenario fails rather than pass unchecked",
    UncheckedKey => "unchecked-key": "a key that is accepted but not checked (`concurrent`, `logs:` artifacts, parts of `policy`): a warning, an error under strict mode",
    PolicyViolation => "policy-violation": "a step breaks its scenario's `policy` (a disallowed command)",
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem, located in the file the user wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Diagnostic {
    pub severity: Severity,
    pub code: Code,
    pub message: String,
    /// Byte range in the source file the diagnostic belongs to.
    pub span: Option<Range<usize>>,
    pub help: Option<String>,
    pub notes: Vec<String>,
}

impl Diagnostic {
    pub fn error(code: Code, message: impl Into<String>) -> Self {
        Self::new(Severity::Error, code, message)
    }

    pub fn warning(code: Code, message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, code, message)
    }

    fn new(severity: Severity, code: Code, message: impl Into<String>) -> Self {
        Self {
            severity,
            code,
            message: message.into(),
            span: None,
            help: None,
            notes: Vec::new(),
        }
    }

    pub fn at(mut self, span: Range<usize>) -> Self {
        self.span = Some(span);
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// A diagnostic together with the file it belongs to, ready to show.
#[derive(Debug, Clone)]
pub struct LocatedDiagnostic<'a> {
    pub diagnostic: &'a Diagnostic,
    pub file: &'a Path,
    pub location: Option<Location>,
}

impl<'a> LocatedDiagnostic<'a> {
    pub fn new(diagnostic: &'a Diagnostic, source: &'a SourceFile) -> Self {
        Self {
            diagnostic,
            file: source.path(),
            location: diagnostic.span.as_ref().map(|s| source.location(s.start)),
        }
    }
}

impl fmt::Display for LocatedDiagnostic<'_> {
    /// `path:line:col: error[code]: message`, the one-line form used in test output.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(loc) = self.location {
            write!(f, ":{}:{}", loc.line, loc.column)?;
        }
        let d = self.diagnostic;
        write!(f, ": {}[{}]: {}", d.severity, d.code, d.message)?;
        if let Some(help) = &d.help {
            write!(f, " (help: {help})")?;
        }
        Ok(())
    }
}

/// Counts of errors and warnings in a set of diagnostics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub errors: usize,
    pub warnings: usize,
}

impl Tally {
    pub fn of<'a>(diagnostics: impl IntoIterator<Item = &'a Diagnostic>) -> Self {
        diagnostics.into_iter().fold(Tally::default(), |mut t, d| {
            match d.severity {
                Severity::Error => t.errors += 1,
                Severity::Warning => t.warnings += 1,
            }
            t
        })
    }
}
