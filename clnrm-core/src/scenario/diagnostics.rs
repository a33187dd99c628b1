//! The diagnostics readers collect while they walk one document, and, for
//! documentation checks, the key paths they ask for.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::sync::OnceLock;

use crate::diagnostic::Diagnostic;

/// Collects diagnostics while readers walk the document.
#[derive(Debug, Default)]
pub(crate) struct Diagnostics(RefCell<Vec<Diagnostic>>, RefCell<Option<BTreeSet<String>>>);

impl Diagnostics {
    /// Also records every key readers ask for (see [`super::accepted_keys`]).
    pub(crate) fn recording_keys() -> Self {
        Self(RefCell::default(), RefCell::new(Some(BTreeSet::new())))
    }

    pub(crate) fn record_key(&self, table: &str, key: &str) {
        if let Some(keys) = self.1.borrow_mut().as_mut() {
            let table = index_regex().replace_all(table, "");
            keys.insert(if table.is_empty() {
                key.to_string()
            } else {
                format!("{table}.{key}")
            });
        }
    }

    pub(crate) fn take_keys(&self) -> BTreeSet<String> {
        self.1.borrow_mut().take().unwrap_or_default()
    }

    pub(crate) fn push(&self, diagnostic: Diagnostic) {
        self.0.borrow_mut().push(diagnostic);
    }

    pub(crate) fn into_vec(self) -> Vec<Diagnostic> {
        self.0.into_inner()
    }
}

fn index_regex() -> &'static regex::Regex {
    static RE: OnceLock<regex::Regex> = OnceLock::new();
    RE.get_or_init(|| regex::Regex::new(r"\[\d+\]").expect("static regex"))
}
