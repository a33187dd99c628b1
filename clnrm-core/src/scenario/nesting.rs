//! A nesting limit for parsed TOML. The `toml` parser refuses inline
//! tables and arrays nested more than 80 deep, and dotted keys of more than
//! 80 parts, but the two multiply: 80 levels of inline tables under 80-part
//! dotted keys parse into a value thousands of levels deep, and every
//! recursive walk over it (reading `[vars]` into the render context, the
//! model, dropping it) would overflow the stack. No scenario needs more than
//! a handful of levels.

use std::ops::Range;

use toml::de::{DeTable, DeValue};

/// Tables and arrays may be nested this deep (the document is level 0).
pub(crate) const MAX_TOML_NESTING: usize = 64;

/// What the limit says, for the message of a diagnostic.
pub(crate) fn nesting_message() -> String {
    format!("tables and arrays are nested more than {MAX_TOML_NESTING} levels deep")
}

pub(crate) const NESTING_HELP: &str = "scenario files are read with tables and arrays nested at most 64 levels deep (each part of a dotted key is a level); flatten the structure";

/// The place of the first value nested deeper than [`MAX_TOML_NESTING`],
/// found without recursion.
pub(crate) fn too_deep(root: &DeTable<'_>) -> Option<Range<usize>> {
    type Level<'t, 'i> = (&'t DeValue<'i>, Range<usize>, usize);
    fn push_table<'t, 'i>(stack: &mut Vec<Level<'t, 'i>>, table: &'t DeTable<'i>, depth: usize) {
        // Implicit tables of dotted keys have no span of their own.
        for (key, value) in table.iter().rev() {
            let span = Some(value.span())
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| key.span());
            stack.push((value.get_ref(), span, depth));
        }
    }
    let mut stack = Vec::new();
    push_table(&mut stack, root, 1);
    while let Some((value, span, depth)) = stack.pop() {
        let container = matches!(value, DeValue::Table(_) | DeValue::Array(_));
        if container && depth > MAX_TOML_NESTING {
            return Some(span);
        }
        match value {
            DeValue::Table(table) => push_table(&mut stack, table, depth + 1),
            DeValue::Array(array) => {
                for item in array.iter().rev() {
                    stack.push((item.get_ref(), item.span(), depth + 1));
                }
            }
            _ => {}
        }
    }
    None
}

/// Help for the `toml` parser's own nesting limits, whose messages
/// ("recursion limit", "cannot recurse further") do not say what to change.
pub(crate) fn parser_limit_help(message: &str) -> Option<&'static str> {
    message.contains("recurs").then_some(NESTING_HELP)
}

/// The `toml` parser's own refusal of a dotted key with too many parts
/// comes without a place: the first key with that many parts, found in the
/// text (a key in a table header, or before `=`).
pub(crate) fn long_dotted_key(message: &str, text: &str) -> Option<Range<usize>> {
    if message != "recursion limit" {
        return None;
    }
    let mut start = 0;
    for line in text.split_inclusive('\n') {
        let key = line
            .split(['=', ']', '#'])
            .next()
            .unwrap_or_default()
            .trim_end();
        if dots_outside_quotes(key) >= 80 {
            let indent = key.len() - key.trim_start().trim_start_matches('[').len();
            return Some(start + indent..start + key.len());
        }
        start += line.len();
    }
    None
}

fn dots_outside_quotes(key: &str) -> usize {
    let mut quote = None;
    let mut dots = 0;
    for c in key.chars() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '.') => dots += 1,
            _ => {}
        }
    }
    dots
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deepest(text: &str) -> Option<Range<usize>> {
        let (root, errors) = DeTable::parse_recoverable(text);
        assert!(errors.is_empty(), "{errors:?}");
        too_deep(root.get_ref())
    }

    #[test]
    fn the_help_names_the_limit() {
        assert!(NESTING_HELP.contains(&MAX_TOML_NESTING.to_string()));
    }

    #[test]
    fn values_past_the_limit_are_found_where_they_start() {
        let ok = format!("x = {}1{}", "[".repeat(64), "]".repeat(64));
        assert_eq!(deepest(&ok), None);
        let deep = format!("x = {}1{}", "[".repeat(65), "]".repeat(65));
        assert_eq!(deepest(&deep), Some(4 + 64..4 + 64 + 3));
    }

    #[test]
    fn dotted_keys_count_as_levels() {
        let key = vec!["a"; 40].join(".");
        let text = format!("{key} = {{ {key} = 1 }}");
        let span = deepest(&text).expect("too deep");
        assert!(span.start >= key.len(), "{span:?}");
        let fine = format!("[{key}]\nb = 1");
        assert_eq!(deepest(&fine), None);
    }

    #[test]
    fn the_parsers_own_key_limit_is_located() {
        let key = vec!["a"; 100].join(".");
        let text = format!("[meta]\n  {key} = 1\n");
        let header = format!("[{key}]\n");
        assert_eq!(
            long_dotted_key("recursion limit", &header),
            Some(1..1 + key.len())
        );
        assert_eq!(
            long_dotted_key("recursion limit", &text),
            Some(9..9 + key.len())
        );
        let quoted = format!("\"{}\" = 1", ".".repeat(100));
        assert_eq!(long_dotted_key("recursion limit", &quoted), None);
        assert_eq!(long_dotted_key("other", &text), None);
    }
}
