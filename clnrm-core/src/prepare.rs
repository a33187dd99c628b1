//! The prepare stage: read `[vars]`, `[matrix]` and `[determinism]` from the raw
//! text before anything is rendered, and expand the matrix into combinations.
//!
//! These tables are plain TOML by contract, so they can be read from a file
//! whose other parts are still template syntax. Lines outside them are blanked
//! (same byte length) so every span points into the original file.

use serde_json::Value as Json;
use toml::de::{DeTable, DeValue};

use crate::diagnostic::{Code, Diagnostic};
use crate::scenario::{
    Determinism, Diagnostics, NESTING_HELP, ValueRef, long_dotted_key, nesting_message,
    parser_limit_help, read_determinism, too_deep,
};
use crate::scenario::{
    MAX_RECOVERED_BYTES, MAX_SYNTAX_ERRORS, more_syntax_errors, only_the_first_error, parse_toml,
};

/// More combinations than this is almost certainly a mistake (and a slow suite).
pub(crate) const MAX_COMBINATIONS: usize = 256;

/// One `[matrix]` combination: values in declaration order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Combination {
    pub values: Vec<(String, Json)>,
}

impl Combination {
    /// `k=v,k2=v2`, the suffix of test names (without brackets).
    pub fn label(&self) -> String {
        self.values
            .iter()
            .map(|(k, v)| match v {
                Json::String(s) => format!("{k}={s}"),
                other => format!("{k}={other}"),
            })
            .collect::<Vec<_>>()
            .join(",")
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// What the prepare stage learns from the raw text.
#[derive(Debug, Clone, Default)]
pub struct Prepared {
    /// `[vars]` as written (template syntax inside values is resolved at render time).
    pub vars: serde_json::Map<String, Json>,
    /// At least one combination; the empty one when there is no `[matrix]`.
    pub combinations: Vec<Combination>,
    pub determinism: Determinism,
    pub diagnostics: Vec<Diagnostic>,
}

const PLAIN_TABLES: &[&str] = &["vars", "matrix", "determinism"];

/// The first name of a table header line (`[vars]`, `[[matrix.x]]`, `["vars"]`).
fn table_name(line: &str) -> Option<&str> {
    let rest = line.trim_start_matches([' ', '\t']).strip_prefix('[')?;
    let rest = rest
        .strip_prefix('[')
        .unwrap_or(rest)
        .trim_start_matches([' ', '\t']);
    let rest = rest.strip_prefix('"').unwrap_or(rest);
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .unwrap_or(rest.len());
    (end > 0).then(|| &rest[..end])
}

/// Keeps only the lines of the plain tables, blanking the rest byte for byte.
pub(crate) fn plain_tables_text(raw: &str) -> Option<String> {
    // Most files have none of these tables: no copy for them.
    if !PLAIN_TABLES.iter().any(|t| raw.contains(t)) {
        return None;
    }
    let mut out = String::with_capacity(raw.len());
    let mut inside = false;
    let mut any = false;
    for line in raw.split_inclusive('\n') {
        if let Some(name) = table_name(line) {
            inside = PLAIN_TABLES.contains(&name);
            any |= inside;
        } else if starts_with_template_tag(line) {
            // Template syntax never belongs to a plain table: the table ended.
            inside = false;
        }
        if inside {
            out.push_str(line);
        } else {
            // Byte for byte, so offsets stay identical (multi-byte characters too).
            out.extend(line.bytes().map(|b| match b {
                b'\n' | b'\r' => b as char,
                _ => ' ',
            }));
        }
    }
    any.then_some(out)
}

fn starts_with_template_tag(line: &str) -> bool {
    let trimmed = line.trim_start();
    ["{{", "{%", "{#"]
        .iter()
        .any(|tag| trimmed.starts_with(tag))
}

pub fn prepare(raw: &str) -> Prepared {
    let mut prepared = Prepared {
        combinations: vec![Combination::default()],
        ..Prepared::default()
    };
    let Some(text) = plain_tables_text(raw) else {
        return prepared;
    };
    let (root, errors) = parse_toml(&text);
    for error in errors.iter().take(MAX_SYNTAX_ERRORS) {
        let mut d = Diagnostic::error(
            Code::InvalidVars,
            format!(
                "`[vars]`, `[matrix]` and `[determinism]` must be plain TOML: {}",
                error.message().trim_end()
            ),
        )
        .with_help(parser_limit_help(error.message()).unwrap_or(
            "these tables are read before rendering; keep template syntax inside quoted strings",
        ));
        if let Some(span) = (error.span()).or_else(|| long_dotted_key(error.message(), &text)) {
            d = d.at(span);
        }
        prepared.diagnostics.push(d);
    }
    prepared
        .diagnostics
        .extend(more_syntax_errors(errors.len(), text.len()));
    if let Some(first) =
        (prepared.diagnostics.first_mut()).filter(|_| text.len() > MAX_RECOVERED_BYTES)
    {
        first.notes.push(only_the_first_error());
    }
    if let Some(span) = too_deep(root.get_ref()) {
        prepared.diagnostics.push(
            Diagnostic::error(Code::InvalidVars, nesting_message())
                .at(span)
                .with_help(NESTING_HELP),
        );
        return prepared;
    }
    let diags = Diagnostics::default();
    for (key, value) in root.get_ref().iter() {
        let value_ref = ValueRef::new(value, &diags, key.get_ref().to_string());
        match key.get_ref().as_ref() {
            "vars" => match value.get_ref() {
                DeValue::Table(table) => prepared.vars = table_to_json(table),
                _ => value_ref.wrong_type("a table"),
            },
            "matrix" => prepared.combinations = read_matrix(&value_ref),
            "determinism" => {
                prepared.determinism = read_determinism(&value_ref).unwrap_or_default();
            }
            _ => {}
        }
    }
    prepared.diagnostics.extend(diags.into_vec());
    prepared
}

fn read_matrix(value: &ValueRef<'_, '_>) -> Vec<Combination> {
    let mut combinations = vec![Combination::default()];
    let DeValue::Table(table) = value.value else {
        value.wrong_type("a table of value lists");
        return combinations;
    };
    for (key, raw) in table.iter() {
        let axis = ValueRef::new(raw, value.diags, format!("matrix.{}", key.get_ref()));
        let Some(items) = axis.array() else { continue };
        let mut values = Vec::with_capacity(items.len());
        for item in &items {
            match item.value {
                DeValue::Table(_) | DeValue::Array(_) => {
                    item.wrong_type("a string, number or boolean");
                }
                other => values.push(value_to_json(other)),
            }
        }
        if values.is_empty() {
            value.diags.push(
                axis.invalid(
                    Code::InvalidVars,
                    format!("`{}` has no values", axis.path()),
                )
                .with_help("list the values, e.g. `os = [\"debian\", \"alpine\"]`"),
            );
            continue;
        }
        let count = combinations.len() * values.len();
        if count > MAX_COMBINATIONS {
            value.diags.push(
                axis.invalid(
                    Code::RenderBudget,
                    format!("the matrix expands to {count} combinations; the limit is {MAX_COMBINATIONS}"),
                )
                .with_help("split the file, or use fewer values"),
            );
            return vec![Combination::default()];
        }
        combinations = combinations
            .into_iter()
            .flat_map(|combination| {
                values.iter().map(move |v| {
                    let mut next = combination.clone();
                    next.values.push((key.get_ref().to_string(), v.clone()));
                    next
                })
            })
            .collect();
    }
    combinations
}

fn table_to_json(table: &DeTable<'_>) -> serde_json::Map<String, Json> {
    table
        .iter()
        .map(|(k, v)| (k.get_ref().to_string(), value_to_json(v.get_ref())))
        .collect()
}

pub(crate) fn value_to_json(value: &DeValue<'_>) -> Json {
    match value {
        DeValue::String(s) => Json::String(s.to_string()),
        DeValue::Integer(i) => i64::from_str_radix(&i.as_str().replace('_', ""), i.radix())
            .map(Json::from)
            .unwrap_or_else(|_| Json::String(i.as_str().to_string())),
        DeValue::Float(f) => f
            .as_str()
            .replace('_', "")
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or_else(|| Json::String(f.as_str().to_string()), Json::Number),
        DeValue::Boolean(b) => Json::Bool(*b),
        DeValue::Datetime(dt) => Json::String(dt.to_string()),
        DeValue::Array(items) => {
            Json::Array(items.iter().map(|v| value_to_json(v.get_ref())).collect())
        }
        DeValue::Table(table) => Json::Object(table_to_json(table)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_plain_tables_around_template_syntax() {
        let raw = "{% import \"_macros.toml.tera\" as m %}\n[meta]\nname = \"{{ svc }}\"\n[vars]\nsvc = \"x\"\nport = 8080\n[vars.db]\nhost = \"h\"\n[determinism]\nseed = 7\n{{ m::service() }}\n";
        let prepared = prepare(raw);
        assert!(
            prepared.diagnostics.is_empty(),
            "{:?}",
            prepared.diagnostics
        );
        assert_eq!(prepared.vars["svc"], "x");
        assert_eq!(prepared.vars["port"], 8080);
        assert_eq!(prepared.vars["db"]["host"], "h");
        assert_eq!(prepared.determinism.seed, Some(7));
        assert_eq!(prepared.combinations, vec![Combination::default()]);
    }

    #[test]
    fn table_names_of_header_lines() {
        assert_eq!(table_name("[vars]\n"), Some("vars"));
        assert_eq!(table_name("  [[matrix.x]]"), Some("matrix"));
        assert_eq!(table_name("[\"determinism\"]"), Some("determinism"));
        assert_eq!(table_name("name = \"[vars]\""), None);
        assert_eq!(table_name("[ ]"), None);
    }

    #[test]
    fn blanking_keeps_offsets() {
        let raw = "[meta]\nname = \"é✓\"\n[vars]\na = 1\n";
        let text = plain_tables_text(raw).unwrap();
        assert_eq!(text.len(), raw.len());
        assert_eq!(text.find("a = 1"), raw.find("a = 1"));
    }

    #[test]
    fn matrix_expands_in_declaration_order() {
        let prepared = prepare("[matrix]\nos = [\"debian\", \"alpine\"]\nn = [1, 2]\n");
        let labels: Vec<_> = prepared
            .combinations
            .iter()
            .map(Combination::label)
            .collect();
        assert_eq!(
            labels,
            [
                "os=debian,n=1",
                "os=debian,n=2",
                "os=alpine,n=1",
                "os=alpine,n=2"
            ]
        );
    }

    #[test]
    fn bad_plain_tables_are_reported_at_their_line() {
        let raw = "[meta]\nname = \"x\"\n[vars]\nbad = {% if x %}\n";
        let prepared = prepare(raw);
        let d = &prepared.diagnostics[0];
        assert_eq!(d.code, Code::InvalidVars);
        assert!(d.span.as_ref().unwrap().start >= raw.find("bad").unwrap());
    }

    #[test]
    fn oversized_matrix_is_refused() {
        let values: Vec<String> = (0..20).map(|i| i.to_string()).collect();
        let list = values.join(", ");
        let prepared = prepare(&format!("[matrix]\na = [{list}]\nb = [{list}]\n"));
        assert_eq!(prepared.combinations.len(), 1);
        assert!(
            prepared
                .diagnostics
                .iter()
                .any(|d| d.code == Code::RenderBudget)
        );
    }
}
