//! Typed, span-keeping access to a parsed TOML table.
//!
//! A [`TableReader`] remembers every key it was asked for, so that when it is
//! finished it can report the keys nobody asked for as unknown, with a
//! "did you mean" taken from the keys that table does know. That is how a typo
//! such as `comand` can never silently assert nothing.

use std::ops::Range;

use toml::de::{DeTable, DeValue};

use super::diagnostics::Diagnostics;
use super::spanned::Spanned;
use super::suggest::closest;
use super::value::{RawValue, ValueRef};
use crate::diagnostic::{Code, Diagnostic};

/// Keys that only document a table; accepted wherever a user would write them.
pub(crate) const DOC_KEYS: &[&str] = &["description", "author", "tags", "version"];

impl<'t, 'i> ValueRef<'t, 'i> {
    /// The value as a table, read with a [`TableReader`].
    pub(crate) fn table(&self) -> Option<TableReader<'t, 'i>> {
        match self.value {
            DeValue::Table(table) => Some(TableReader::new(
                table,
                self.span(),
                self.diags,
                self.path().to_string(),
            )),
            _ => {
                self.wrong_type("a table");
                None
            }
        }
    }
}

/// Reads one table; call [`TableReader::finish`] to report unknown keys.
pub(crate) struct TableReader<'t, 'i> {
    table: &'t DeTable<'i>,
    span: Range<usize>,
    diags: &'t Diagnostics,
    path: String,
    asked: Vec<&'static str>,
    /// Which entries (by position) were taken.
    used: Vec<bool>,
    hints: &'static [(&'static str, &'static str)],
}

impl<'t, 'i> TableReader<'t, 'i> {
    pub(crate) fn new(
        table: &'t DeTable<'i>,
        span: Range<usize>,
        diags: &'t Diagnostics,
        path: String,
    ) -> Self {
        Self {
            table,
            span,
            diags,
            path,
            asked: Vec::new(),
            used: vec![false; table.len()],
            hints: &[],
        }
    }

    /// Keys that are not part of this table but say where the thing belongs.
    pub(crate) fn with_hints(mut self, hints: &'static [(&'static str, &'static str)]) -> Self {
        self.hints = hints;
        self
    }

    pub(crate) fn span(&self) -> Range<usize> {
        self.span.clone()
    }

    pub(crate) fn diags(&self) -> &'t Diagnostics {
        self.diags
    }

    fn child_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    fn entry(
        &self,
        key: &str,
    ) -> Option<(
        &'t toml::Spanned<std::borrow::Cow<'i, str>>,
        &'t RawValue<'i>,
    )> {
        self.position(key).and_then(|i| self.table.iter().nth(i))
    }

    fn position(&self, key: &str) -> Option<usize> {
        self.table
            .iter()
            .position(|(k, _)| k.get_ref().as_ref() == key)
    }

    fn mark_used(&mut self, key: &str) {
        if let Some(i) = self.position(key) {
            self.used[i] = true;
        }
    }

    /// Span of a key as written, for messages about the key itself.
    pub(crate) fn key_span(&self, key: &str) -> Option<Range<usize>> {
        self.entry(key).map(|(k, _)| k.span())
    }

    /// Whether the key is present (marks nothing as used).
    pub(crate) fn has(&self, key: &str) -> bool {
        self.entry(key).is_some()
    }

    /// Takes a known key.
    pub(crate) fn get(&mut self, key: &'static str) -> Option<ValueRef<'t, 'i>> {
        if !self.asked.contains(&key) {
            self.asked.push(key);
            self.diags.record_key(&self.path, key);
        }
        let index = self.position(key)?;
        self.used[index] = true;
        let (_, raw) = self.table.iter().nth(index)?;
        Some(ValueRef::new(raw, self.diags, self.child_path(key)))
    }

    /// Takes a key that also has an older spelling, warning on the older one.
    pub(crate) fn get_or_deprecated(
        &mut self,
        key: &'static str,
        old: &'static str,
    ) -> Option<ValueRef<'t, 'i>> {
        let current = self.get(key);
        let Some((old_key, raw)) = self.entry(old) else {
            return current;
        };
        self.mark_used(old);
        let path = self.child_path(old);
        let same_value = current
            .as_ref()
            .is_some_and(|c| format!("{:?}", c.value) == format!("{:?}", raw.get_ref()));
        if current.is_some() && !same_value {
            self.diags.push(
                Diagnostic::error(
                    Code::ConflictingKeys,
                    format!(
                        "both `{}` and its older spelling `{path}` are set",
                        self.child_path(key)
                    ),
                )
                .at(old_key.span())
                .with_help(format!("remove `{old}`")),
            );
            return current;
        }
        let help = if same_value {
            format!("remove `{old}`: `{key}` says the same")
        } else {
            format!("rename `{old}` to `{key}`")
        };
        self.diags.push(
            Diagnostic::warning(Code::DeprecatedKey, format!("`{path}` is deprecated"))
                .at(old_key.span())
                .with_help(help),
        );
        current.or_else(|| Some(ValueRef::new(raw, self.diags, path)))
    }

    /// Takes every entry, for free-form tables (`[assertions]`, `[vars]`, ...).
    pub(crate) fn entries(&mut self) -> Vec<(Spanned<String>, ValueRef<'t, 'i>)> {
        let table = self.table;
        self.used.iter_mut().for_each(|u| *u = true);
        table
            .iter()
            .map(|(k, raw)| {
                let key = k.get_ref().to_string();
                let path = self.child_path(&key);
                (
                    Spanned::new(key, k.span()),
                    ValueRef::new(raw, self.diags, path),
                )
            })
            .collect()
    }

    pub(crate) fn string(&mut self, key: &'static str) -> Option<Spanned<String>> {
        self.get(key)?.string()
    }

    pub(crate) fn bool(&mut self, key: &'static str) -> Option<bool> {
        self.get(key)?.bool()
    }

    pub(crate) fn string_list(&mut self, key: &'static str) -> Option<Vec<Spanned<String>>> {
        self.get(key)?.string_list()
    }

    pub(crate) fn required_string(&mut self, key: &'static str) -> Option<Spanned<String>> {
        match self.get(key) {
            Some(value) => value.string(),
            None => {
                self.missing(key);
                None
            }
        }
    }

    pub(crate) fn missing(&self, key: &str) {
        self.diags.push(
            Diagnostic::error(
                Code::MissingKey,
                format!(
                    "`{}` is missing its required key `{key}`",
                    self.display_path()
                ),
            )
            .at(self.span.clone()),
        );
    }

    pub(crate) fn display_path(&self) -> &str {
        if self.path.is_empty() {
            "the file"
        } else {
            &self.path
        }
    }

    /// Reports every key nobody asked for.
    pub(crate) fn finish(self) {
        for ((key, _), used) in self.table.iter().zip(&self.used) {
            let name = key.get_ref().as_ref();
            if *used || DOC_KEYS.contains(&name) {
                continue;
            }
            let path = self.child_path(name);
            let mut diagnostic =
                Diagnostic::error(Code::UnknownKey, format!("unknown key `{path}`")).at(key.span());
            if let Some((_, hint)) = self.hints.iter().find(|(k, _)| *k == name) {
                diagnostic = diagnostic.with_help(*hint);
            } else if let Some(suggestion) = closest(name, &self.asked) {
                diagnostic = diagnostic.with_help(format!("did you mean `{suggestion}`?"));
            } else if !self.asked.is_empty() {
                let known: Vec<String> = self.asked.iter().map(|k| format!("`{k}`")).collect();
                diagnostic = diagnostic.with_help(if self.path.is_empty() {
                    format!("the top-level tables are: {}", known.join(", "))
                } else {
                    format!("the keys of `{}` are: {}", self.path, known.join(", "))
                });
            }
            self.diags.push(diagnostic);
        }
    }
}
