//! Rendered TOML text -> [`ScenarioFile`], reporting every problem at once:
//! the document and its header; services and the smaller tables are read by
//! the sibling `parse_*` modules.

use std::ops::Range;
use std::time::Duration;

use toml::de::{DeTable, DeValue};

use super::diagnostics::Diagnostics;
use super::model::*;
use super::parse_expect::{read_expect, read_otel_validation};
use super::parse_services::read_services;
use super::parse_steps::{read_scenarios, read_top_level_steps};
use super::parse_tables::{
    read_assertions, read_build, read_determinism, read_limits, read_otel, read_report,
};
use super::reader::TableReader;
use super::spanned::Spanned;
use super::value::ValueRef;
use super::{NESTING_HELP, long_dotted_key, nesting_message, parser_limit_help, too_deep};
use crate::diagnostic::{Code, Diagnostic};

const TOP_LEVEL_HINTS: &[(&str, &str)] = &[
    (
        "network",
        "services already share the scenario's own network and reach each other by id; remove `network`",
    ),
    (
        "resources",
        "resource limits live in `[limits]` (`cpu_millicores`, `memory_mb`)",
    ),
    (
        "otel_expectations",
        "span expectations live in `[[expect.span]]`, `[expect.graph]`, `[expect.counts]`, ...",
    ),
];

/// The result of parsing one rendered document.
#[derive(Debug)]
pub struct Parsed {
    /// `None` when the text is not valid TOML.
    pub file: Option<ScenarioFile>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Parses rendered scenario text. Never panics; every problem is a diagnostic.
pub fn parse_scenario(text: &str) -> Parsed {
    let (root, errors) = parse_toml(text);
    let mut diagnostics: Vec<Diagnostic> = (errors.iter().take(MAX_SYNTAX_ERRORS))
        .map(|e| syntax_diagnostic(e, text))
        .collect();
    diagnostics.extend(more_syntax_errors(errors.len(), text.len()));
    if let Some(first) = diagnostics
        .first_mut()
        .filter(|_| text.len() > MAX_RECOVERED_BYTES)
    {
        first.notes.push(only_the_first_error());
    }
    if errors.is_empty()
        && let Some(span) = too_deep(root.get_ref())
    {
        diagnostics.push(
            Diagnostic::error(Code::TomlSyntax, nesting_message())
                .at(span)
                .with_help(NESTING_HELP),
        );
    }
    if !diagnostics.is_empty() {
        // What recovery kept of a broken document is cut short: anything found
        // in it (a scenario "missing", a key "absent") would only follow from
        // the syntax error, and could come before it in the file.
        return Parsed {
            file: None,
            diagnostics,
        };
    }
    let diags = Diagnostics::default();
    let file = read_document(root.get_ref(), 0..text.len(), &diags);
    diagnostics.extend(diags.into_vec());
    Parsed {
        file: Some(file),
        diagnostics,
    }
}

/// Every key path (`scenario.steps.command`, ...) the parser reads in `text`;
/// for documentation checks. Free-form tables (`[vars]`, `env`) are not listed.
pub fn accepted_keys(text: &str) -> std::collections::BTreeSet<String> {
    let (root, _) = DeTable::parse_recoverable(text);
    let diags = Diagnostics::recording_keys();
    read_document(root.get_ref(), 0..text.len(), &diags);
    diags.take_keys()
}

/// Documents up to this size are parsed with recovery, to report every
/// syntax error at once. Recovery keeps each error it finds, a few hundred
/// bytes each, and a file that is no TOML has one or more on every line: a
/// 4 MiB one would take over a gigabyte. A larger document is parsed for its
/// first error only.
pub(crate) const MAX_RECOVERED_BYTES: usize = 128 << 10;

/// The document, and its syntax errors (all of them, or the first one of a
/// document larger than [`MAX_RECOVERED_BYTES`]).
pub(crate) fn parse_toml(text: &str) -> (toml::Spanned<DeTable<'_>>, Vec<toml::de::Error>) {
    if text.len() <= MAX_RECOVERED_BYTES {
        return DeTable::parse_recoverable(text);
    }
    match DeTable::parse(text) {
        Ok(root) => (root, Vec::new()),
        Err(first) => (toml::Spanned::new(0..0, DeTable::new()), vec![first]),
    }
}

pub(crate) fn only_the_first_error() -> String {
    format!(
        "only the first syntax error is shown: the text is larger than {} KiB",
        MAX_RECOVERED_BYTES >> 10
    )
}

/// Syntax errors reported of one document. Recovery can find one on every
/// line of a file that is no TOML at all, and a million diagnostics help no
/// one (printing them would take minutes).
pub(crate) const MAX_SYNTAX_ERRORS: usize = 100;

/// "... more syntax errors", at the end of the file, when some were left out.
pub(crate) fn more_syntax_errors(found: usize, end: usize) -> Option<Diagnostic> {
    (found > MAX_SYNTAX_ERRORS).then(|| {
        Diagnostic::error(
            Code::TomlSyntax,
            format!(
                "{} more syntax errors not shown (only the first {MAX_SYNTAX_ERRORS} are)",
                found - MAX_SYNTAX_ERRORS
            ),
        )
        .at(end..end)
        .with_help("fix the first ones; the rest may follow from them")
    })
}

fn syntax_diagnostic(error: &toml::de::Error, text: &str) -> Diagnostic {
    let message = error.message().trim_end().trim_end_matches('.');
    let mut diagnostic = Diagnostic::error(Code::TomlSyntax, format!("invalid TOML: {message}"));
    if let Some(span) = error.span().or_else(|| long_dotted_key(message, text)) {
        diagnostic = diagnostic.at(span);
    }
    if let Some(help) = parser_limit_help(message) {
        diagnostic = diagnostic.with_help(help);
    }
    diagnostic
}

fn read_document(root: &DeTable<'_>, span: Range<usize>, diags: &Diagnostics) -> ScenarioFile {
    let mut doc =
        TableReader::new(root, span.clone(), diags, String::new()).with_hints(TOP_LEVEL_HINTS);
    let header = read_header(&mut doc);
    // Plain TOML tables read before rendering (see `prepare`); any content is accepted here.
    for key in ["vars", "matrix"] {
        doc.get(key);
    }
    let determinism = doc.get("determinism").and_then(|v| read_determinism(&v));
    let services = read_services(&mut doc);
    let mut scenarios = Vec::new();
    if let Some(steps) = doc.get("steps") {
        scenarios.extend(read_top_level_steps(&steps, &header));
    }
    if let Some(list) = doc.get("scenario") {
        if !scenarios.is_empty() {
            diags.push(
                Diagnostic::error(
                    Code::ConflictingKeys,
                    "the file has both top-level `[[steps]]` and `[[scenario]]`",
                )
                .at(doc.key_span("scenario").unwrap_or(span.clone()))
                .with_help(
                    "move the top-level steps into a `[[scenario]]` with `[[scenario.steps]]`",
                ),
            );
        }
        scenarios.extend(read_scenarios(&list));
    }
    let mut expect = doc
        .get("expect")
        .map(|v| read_expect(&v))
        .unwrap_or_default();
    if let Some(old) = doc.get("otel_validation") {
        read_otel_validation(&old, &mut expect);
    }
    let assertions = doc
        .get("assertions")
        .map(|v| read_assertions(&v))
        .unwrap_or_default();
    let otel = doc.get("otel").and_then(|v| read_otel(&v));
    let report = doc.get("report").and_then(|v| read_report(&v));
    let limits = doc.get("limits").and_then(|v| read_limits(&v));
    doc.finish();
    ScenarioFile {
        header,
        services,
        scenarios,
        expect,
        assertions,
        otel,
        report,
        limits,
        determinism,
    }
}

fn read_header(doc: &mut TableReader<'_, '_>) -> Header {
    let meta = doc.get("meta");
    let test = doc.get("test");
    let test_metadata = test.as_ref().and_then(|t| {
        let mut table = t.table()?;
        let metadata = table.get("metadata");
        table.finish();
        if metadata.is_none() {
            doc.diags().push(
                Diagnostic::error(Code::MissingHeader, "`[test]` has no `metadata` table")
                    .at(t.span())
                    .with_help("write the header as `[meta]` (or the older `[test.metadata]`)"),
            );
        }
        metadata
    });
    match (meta, test_metadata) {
        (Some(meta), other) => {
            if other.is_some() {
                doc.diags().push(
                    Diagnostic::error(
                        Code::ConflictingKeys,
                        "the file has both `[meta]` and `[test.metadata]`",
                    )
                    .at(doc.key_span("test").unwrap_or(meta.span()))
                    .with_help("keep one header: `[meta]`"),
                );
            }
            read_header_table(&meta, HeaderShape::Meta)
        }
        (None, Some(metadata)) => read_header_table(&metadata, HeaderShape::TestMetadata),
        (None, None) => {
            if test.is_none() {
                doc.diags().push(
                    Diagnostic::error(Code::MissingHeader, "the file has no `[meta]` header")
                        .at(0..0)
                        .with_help("add `[meta]` with at least `name = \"...\"`"),
                );
            }
            Header::default()
        }
    }
}

fn read_header_table(value: &ValueRef<'_, '_>, shape: HeaderShape) -> Header {
    let Some(mut t) = value.table() else {
        return Header {
            shape,
            ..Header::default()
        };
    };
    let name = t
        .required_string("name")
        .unwrap_or_else(|| Spanned::new(String::new(), t.span()));
    let mut header = Header {
        shape,
        name,
        version: t.get("version").and_then(|v| scalar_text(&v)),
        description: t.string("description").map(|s| s.value),
        tags: t
            .get("tags")
            .and_then(|v| v.string_list())
            .unwrap_or_default()
            .into_iter()
            .map(|s| s.value)
            .collect(),
        timeout: t
            .get_or_deprecated("timeout", "timeout_seconds")
            .and_then(|v| v.duration(Duration::from_secs(1))),
        span: t.span(),
        ..Header::default()
    };
    if shape == HeaderShape::Meta {
        header.ignore = t.get("ignore").and_then(|v| match v.value {
            DeValue::Boolean(true) => Some(String::new()),
            DeValue::Boolean(false) => None,
            DeValue::String(reason) => Some(reason.to_string()),
            _ => {
                v.wrong_type("a boolean or a reason string");
                None
            }
        });
        header.image = t.string("image");
        header.build = t.get("build").and_then(|v| read_build(&v));
        if let (Some(image), Some(_)) = (&header.image, &header.build) {
            t.diags().push(
                Diagnostic::error(
                    Code::ConflictingKeys,
                    "`meta` sets both `image` and `build`",
                )
                .at(image.span.clone())
                .with_help("keep one: a ready image or a build context"),
            );
        }
        header.backend = t
            .get("backend")
            .and_then(|v| read_backend(&v))
            .unwrap_or_default();
        header.strict = t.bool("strict").unwrap_or(false);
    }
    t.finish();
    header
}

fn read_backend(value: &ValueRef<'_, '_>) -> Option<Backend> {
    let name = value.string()?;
    match name.value.as_str() {
        "container" => Some(Backend::Container),
        "local" => Some(Backend::Local),
        other => {
            value.diags.push(
                value
                    .invalid(Code::InvalidValue, format!("unknown backend `{other}`"))
                    .with_help("use \"container\" (the default) or \"local\""),
            );
            None
        }
    }
}

/// A version may be written as a string or a number.
fn scalar_text(value: &ValueRef<'_, '_>) -> Option<String> {
    match value.value {
        DeValue::String(s) => Some(s.to_string()),
        DeValue::Integer(i) => Some(i.as_str().to_string()),
        DeValue::Float(f) => Some(f.as_str().to_string()),
        _ => {
            value.wrong_type("a string");
            None
        }
    }
}
