//! docs/format.md documents every key the scenario parser reads, in every
//! shape, checked against examples that must themselves be valid.

mod docs_support;
mod format_shapes;

use std::collections::BTreeSet;

use clnrm_core::diagnostic::Severity;
use clnrm_core::scenario::{accepted_keys, parse_scenario};
use clnrm_core::validate::{ValidateOptions, validate};
use docs_support::*;
use format_shapes::{CURRENT_SHAPE, OLDER_SHAPE};

/// The examples must stay valid, or the keys they exercise would prove nothing.
fn assert_valid(label: &str, text: &str) {
    let parsed = parse_scenario(text);
    let mut errors: Vec<String> = parsed
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| format!("{}: {}", d.code, d.message))
        .collect();
    if let Some(file) = &parsed.file {
        errors.extend(
            validate(file, ValidateOptions::default())
                .iter()
                .filter(|d| d.is_error())
                .map(|d| format!("{}: {}", d.code, d.message)),
        );
    }
    assert!(
        errors.is_empty(),
        "the {label} example in this test is not a valid scenario file:\n  {}\n",
        errors.join("\n  ")
    );
}

#[test]
fn every_scenario_key_is_documented() {
    let mut key_paths = BTreeSet::new();
    for (label, text) in [
        ("current-shape", CURRENT_SHAPE),
        ("older-shape", OLDER_SHAPE),
    ] {
        assert_valid(label, text);
        key_paths.extend(accepted_keys(text));
    }
    // Guards against a hook that stopped recording keys (the test would pass vacuously).
    for expected in ["scenario.steps.command", "expect.counts.spans_total.gte"] {
        assert!(
            key_paths.contains(expected),
            "accepted_keys did not report `{expected}`; found:\n{key_paths:#?}"
        );
    }
    let words = code_words(&read_doc("format.md"));
    let missing: BTreeSet<String> = key_paths
        .iter()
        .filter(|path| {
            let last = path.rsplit('.').next().unwrap_or(path);
            !words.contains(last)
        })
        .cloned()
        .collect();
    assert_documented(
        "format.md",
        "scenario keys (dotted paths as the parser reads them)",
        "add the last part of each to the table of its section, as `key`",
        &missing,
    );
}
