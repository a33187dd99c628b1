//! What the documentation tests share: reading docs/ and its code spans.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

pub fn docs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs")
}

pub fn read_doc(name: &str) -> String {
    let path = docs_dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The inline code spans (`like this`) of a markdown text, fenced blocks excluded.
pub fn code_spans(markdown: &str) -> BTreeSet<String> {
    let mut spans = BTreeSet::new();
    let mut in_fence = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        // Between backticks on one line: every second piece is code.
        let pieces: Vec<&str> = line.split('`').collect();
        for pair in pieces[1..].chunks(2) {
            if let [code, _after] = pair {
                spans.insert(code.trim().to_string());
            }
        }
    }
    spans
}

/// Identifier-like words inside code spans: `[expect.span]` gives `expect` and `span`.
pub fn code_words(markdown: &str) -> BTreeSet<String> {
    code_spans(markdown)
        .iter()
        .flat_map(|span| {
            span.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .filter(|w| !w.is_empty())
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Fails with one message naming the document and every missing item.
pub fn assert_documented(doc: &str, what: &str, hint: &str, missing: &BTreeSet<String>) {
    assert!(
        missing.is_empty(),
        "docs/{doc} is missing these {what}; {hint}:\n  {}\n",
        missing.iter().cloned().collect::<Vec<_>>().join("\n  ")
    );
}
