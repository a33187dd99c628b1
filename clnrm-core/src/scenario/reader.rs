//! Typed, span-keeping access to a parsed TOML table.
//!
//! A [`TableReader`] remembers every key it was asked for, so that when it is
//! finished it can report the keys nobody asked for as unknown, with a
//! "did you mean" taken from the keys that table does know. That is how a typo
//! such as `comand` can never silently assert nothing.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::ops::Range;
use std::sync::OnceLock;
use std::time::Duration;

use toml::de::{DeTable, DeValue};

use super::spanned::Spanned;
use crate::diagnostic::{Code, Diagnostic};

/// Keys that only document a table; accepted wherever a user would write them.
pub(crate) const DOC_KEYS: &[&str] = &["description", "author", "tags", "version"];

/// Collects diagnostics while readers walk the document.
#[derive(Debug, Default)]
pub(crate) struct Diagnostics(RefCell<Vec<Diagnostic>>, RefCell<Option<BTreeSet<String>>>);

impl Diagnostics {
    /// Also records every key readers ask for (see [`super::accepted_keys`]).
    pub(crate) fn recording_keys() -> Self {
        Self(RefCell::default(), RefCell::new(Some(BTreeSet::new())))
    }

    fn record_key(&self, table: &str, key: &str) {
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

pub(crate) type RawValue<'i> = toml::Spanned<DeValue<'i>>;

/// One TOML value with the dotted path it was found at.
#[derive(Clone)]
pub(crate) struct ValueRef<'t, 'i> {
    pub value: &'t DeValue<'i>,
    span: (usize, usize),
    pub diags: &'t Diagnostics,
    path: String,
}

pub(crate) fn type_name(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a datetime",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

impl<'t, 'i> ValueRef<'t, 'i> {
    pub(crate) fn new(raw: &'t RawValue<'i>, diags: &'t Diagnostics, path: String) -> Self {
        let span = raw.span();
        Self {
            value: raw.get_ref(),
            span: (span.start, span.end),
            diags,
            path,
        }
    }

    pub(crate) fn span(&self) -> Range<usize> {
        self.span.0..self.span.1
    }

    pub(crate) fn path(&self) -> &str {
        &self.path
    }

    pub(crate) fn wrong_type(&self, expected: &str) {
        self.diags.push(
            Diagnostic::error(
                Code::WrongType,
                format!(
                    "`{}` must be {expected}, found {}",
                    self.path,
                    type_name(self.value)
                ),
            )
            .at(self.span()),
        );
    }

    pub(crate) fn invalid(&self, code: Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic::error(code, message).at(self.span())
    }

    pub(crate) fn string(&self) -> Option<Spanned<String>> {
        match self.value {
            DeValue::String(s) => Some(Spanned::new(s.to_string(), self.span())),
            _ => {
                self.wrong_type("a string");
                None
            }
        }
    }

    pub(crate) fn bool(&self) -> Option<bool> {
        match self.value {
            DeValue::Boolean(b) => Some(*b),
            _ => {
                self.wrong_type("a boolean");
                None
            }
        }
    }

    pub(crate) fn integer(&self) -> Option<i64> {
        match self.value {
            DeValue::Integer(i) => {
                match i64::from_str_radix(&i.as_str().replace('_', ""), i.radix()) {
                    Ok(v) => Some(v),
                    Err(_) => {
                        self.diags.push(self.invalid(
                            Code::InvalidValue,
                            format!("`{}` is out of range", self.path),
                        ));
                        None
                    }
                }
            }
            _ => {
                self.wrong_type("an integer");
                None
            }
        }
    }

    /// A non-negative integer that fits the target type.
    pub(crate) fn unsigned<T: TryFrom<i64>>(&self) -> Option<T> {
        let value = self.integer()?;
        match T::try_from(value) {
            Ok(v) if value >= 0 => Some(v),
            _ => {
                self.diags.push(self.invalid(
                    Code::InvalidValue,
                    format!(
                        "`{}` must be a non-negative integer in range, found {value}",
                        self.path
                    ),
                ));
                None
            }
        }
    }

    pub(crate) fn float(&self) -> Option<f64> {
        match self.value {
            DeValue::Float(f) => f.as_str().replace('_', "").parse().ok(),
            DeValue::Integer(_) => self.integer().map(|i| i as f64),
            _ => {
                self.wrong_type("a number");
                None
            }
        }
    }

    pub(crate) fn array(&self) -> Option<Vec<ValueRef<'t, 'i>>> {
        match self.value {
            DeValue::Array(items) => Some(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| ValueRef::new(item, self.diags, format!("{}[{i}]", self.path)))
                    .collect(),
            ),
            _ => {
                self.wrong_type("an array");
                None
            }
        }
    }

    pub(crate) fn string_list(&self) -> Option<Vec<Spanned<String>>> {
        self.strings_of("an array of strings")
    }

    /// A list of strings, or a single string taken as a one-element list.
    pub(crate) fn string_or_list(&self) -> Option<Vec<Spanned<String>>> {
        match self.value {
            DeValue::String(_) => self.string().map(|s| vec![s]),
            _ => self.strings_of("a string or an array of strings"),
        }
    }

    /// An array of strings; anything else is a wrong type named as `expected`.
    pub(crate) fn strings_of(&self, expected: &str) -> Option<Vec<Spanned<String>>> {
        let DeValue::Array(_) = self.value else {
            self.wrong_type(expected);
            return None;
        };
        let items = self.array()?;
        let strings: Vec<_> = items.iter().filter_map(|item| item.string()).collect();
        (strings.len() == items.len()).then_some(strings)
    }

    pub(crate) fn table(&self) -> Option<TableReader<'t, 'i>> {
        match self.value {
            DeValue::Table(table) => Some(TableReader::new(
                table,
                self.span(),
                self.diags,
                self.path.clone(),
            )),
            _ => {
                self.wrong_type("a table");
                None
            }
        }
    }

    /// A table of scalar values, rendered as strings (`env`, `attrs`, ...).
    pub(crate) fn string_map(&self) -> Option<Vec<(String, String)>> {
        let DeValue::Table(table) = self.value else {
            self.wrong_type("a table of strings");
            return None;
        };
        let mut out = Vec::with_capacity(table.len());
        for (key, raw) in table.iter() {
            let value = ValueRef::new(raw, self.diags, format!("{}.{}", self.path, key.get_ref()));
            let text = match value.value {
                DeValue::String(s) => s.to_string(),
                DeValue::Integer(i) => i.as_str().to_string(),
                DeValue::Float(f) => f.as_str().to_string(),
                DeValue::Boolean(b) => b.to_string(),
                _ => {
                    self.diags.push(value.invalid(
                        Code::WrongType,
                        format!(
                            "`{}.{}` must be a string, found {}",
                            self.path,
                            key.get_ref(),
                            type_name(value.value)
                        ),
                    ));
                    continue;
                }
            };
            out.push((key.get_ref().to_string(), text));
        }
        Some(out)
    }

    /// A duration: a string such as `"500ms"`, `"30s"`, `"2m"`, or an integer
    /// counting `unit`s.
    pub(crate) fn duration(&self, unit: Duration) -> Option<Spanned<Duration>> {
        let parsed = match self.value {
            DeValue::Integer(_) => self.integer().map(|n| {
                u32::try_from(n)
                    .map(|n| unit * n)
                    .map_err(|_| format!("{n} is not a positive number"))
            })?,
            DeValue::String(s) => humantime::parse_duration(s.trim())
                .map_err(|e| format!("{s:?} is not a duration ({e})")),
            _ => {
                self.wrong_type("a duration (a string such as \"30s\", or an integer)");
                return None;
            }
        };
        match parsed {
            Ok(d) if !d.is_zero() => Some(Spanned::new(d, self.span())),
            Ok(_) => {
                self.diags.push(
                    self.invalid(
                        Code::InvalidDuration,
                        format!("`{}` must be greater than zero", self.path),
                    )
                    .with_help("write a duration such as \"500ms\", \"30s\" or \"2m\""),
                );
                None
            }
            Err(reason) => {
                self.diags.push(
                    self.invalid(Code::InvalidDuration, format!("`{}`: {reason}", self.path))
                        .with_help("write a duration such as \"500ms\", \"30s\" or \"2m\"; a bare integer means seconds"),
                );
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

/// The candidate closest to `name`, when it is close enough to be a typo.
pub(crate) fn closest<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::jaro_winkler(name, c), *c))
        .filter(|(score, c)| *score >= 0.85 || strsim::damerau_levenshtein(name, c) <= 1)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::closest;

    #[test]
    fn typos_find_their_key() {
        assert_eq!(
            closest("comand", &["name", "command", "service"]),
            Some("command")
        );
        assert_eq!(
            closest("enviroment", &["env", "environment"]),
            Some("environment")
        );
        assert_eq!(closest("zzz", &["name", "command"]), None);
    }
}
