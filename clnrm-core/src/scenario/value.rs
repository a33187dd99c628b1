//! One TOML value with its span and dotted path, read as the type a key
//! needs (strings, numbers, lists, string maps, durations); a wrong type or
//! value is reported rather than returned.

use std::ops::Range;
use std::time::Duration;

use toml::de::DeValue;

use super::diagnostics::Diagnostics;
use super::spanned::Spanned;
use crate::diagnostic::{Code, Diagnostic};

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
