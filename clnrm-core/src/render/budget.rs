//! Limits that keep a hostile or broken template from hanging or crashing a run.
//!
//! Tera has no fuel of its own, so the budget is enforced around it: the source
//! is checked for size, nesting, operator chains and recursive macros before
//! parsing, `range` is counted (see `functions`), loop iterations and macro
//! calls are counted (see `fuel`), the output is capped while it is written,
//! and the whole rendering runs on a worker thread with a deadline.

use std::collections::HashMap;
use std::io::{self, Write};
use std::ops::Range;
use std::sync::OnceLock;
use std::time::Duration;

use regex::Regex;

/// Limits for one rendering.
#[derive(Debug, Clone, Copy)]
pub struct RenderBudget {
    pub max_source_bytes: usize,
    pub max_output_bytes: usize,
    pub max_nesting: usize,
    pub time: Duration,
}

impl Default for RenderBudget {
    fn default() -> Self {
        Self {
            max_source_bytes: 1 << 20,
            max_output_bytes: 4 << 20,
            max_nesting: 32,
            time: Duration::from_secs(2),
        }
    }
}

/// A budget violation found before rendering, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetViolation {
    pub message: String,
    pub span: Range<usize>,
}

fn block_tag_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"\{%-?\s*(end)?(for|if|macro|block|filter|raw)\b").expect("static regex")
    })
}

pub(crate) fn macro_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"\{%-?\s*macro\s+([A-Za-z_][A-Za-z0-9_]*)|\{%-?\s*endmacro")
            .expect("static regex")
    })
}

fn self_call_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"\bself\s*::\s*([A-Za-z_][A-Za-z0-9_]*)\s*\(").expect("static regex")
    })
}

/// Checks size, block nesting, bracket nesting and macro recursion.
pub fn check_source(source: &str, budget: &RenderBudget) -> Result<(), BudgetViolation> {
    if source.len() > budget.max_source_bytes {
        return Err(BudgetViolation {
            message: format!(
                "render budget: the template is {} bytes; the limit is {}",
                source.len(),
                budget.max_source_bytes
            ),
            span: 0..0,
        });
    }
    check_block_nesting(source, budget.max_nesting)?;
    check_bracket_nesting(source, budget.max_nesting)?;
    check_macro_recursion(source, budget.max_nesting)
}

fn check_block_nesting(source: &str, max: usize) -> Result<(), BudgetViolation> {
    let mut depth = 0usize;
    for caps in block_tag_regex().captures_iter(source) {
        if caps.get(1).is_some() {
            depth = depth.saturating_sub(1);
        } else {
            depth += 1;
            if depth > max {
                let m = caps.get(0).map_or(0..0, |m| m.range());
                return Err(BudgetViolation {
                    message: format!("render budget: blocks are nested more than {max} deep"),
                    span: m,
                });
            }
        }
    }
    Ok(())
}

/// The innermost block (`if`, `for`, `macro`, ...) still open at the end of
/// the source, with the offset of its tag; for "the template does not parse"
/// at the end of a file. Comments and `raw` blocks are skipped.
pub(crate) fn unclosed_block(source: &str) -> Option<(String, usize)> {
    let comments: Vec<Range<usize>> = comment_regex()
        .find_iter(source)
        .map(|m| m.range())
        .collect();
    let mut open: Vec<(String, usize)> = Vec::new();
    for caps in block_tag_regex().captures_iter(source) {
        let (Some(tag), Some(kind)) = (caps.get(0), caps.get(2)) else {
            continue;
        };
        if comments.iter().any(|c| c.contains(&tag.start())) {
            continue;
        }
        let in_raw = open.last().is_some_and(|(k, _)| k == "raw");
        match caps.get(1) {
            Some(_) if !in_raw || kind.as_str() == "raw" => {
                open.pop();
            }
            None if !in_raw => open.push((kind.as_str().to_string(), tag.start())),
            _ => {}
        }
    }
    open.pop()
}

fn comment_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"(?s)\{#.*?#\}").expect("static regex"))
}

/// Binary operators (`+`, `and`, ...) one tag may chain: each is a level of
/// the expression tree, which Tera evaluates recursively, so a long enough
/// chain (`1 + 1 + ...`) overflows the render thread's stack.
pub(crate) const MAX_OPERATORS: usize = 64;

/// Deep brackets inside tags would exhaust the template parser's stack,
/// and long operator chains the renderer's. String literals are skipped (a
/// `}}` inside one does not end the tag), and so are comments.
fn check_bracket_nesting(source: &str, max: usize) -> Result<(), BudgetViolation> {
    let bytes = source.as_bytes();
    let mut i = 0;
    while i + 1 < bytes.len() {
        match &bytes[i..i + 2] {
            b"{#" => {
                i = source[i..]
                    .find("#}")
                    .map_or(bytes.len(), |end| i + end + 2);
            }
            b"{{" | b"{%" => i = check_tag(source, i + 2, max)?,
            _ => i += 1,
        }
    }
    Ok(())
}

/// Checks one tag whose content starts at `start`; returns where it ends.
fn check_tag(source: &str, start: usize, max: usize) -> Result<usize, BudgetViolation> {
    let bytes = source.as_bytes();
    let (mut depth, mut operators) = (0usize, 0usize);
    let mut i = start;
    while i < bytes.len() {
        let b = bytes[i];
        let next = bytes.get(i + 1).copied();
        let mut token = i..i + 1;
        let mut operator = false;
        match b {
            b'}' | b'%' if next == Some(b'}') => return Ok(i + 2),
            b'"' | b'\'' | b'`' => {
                // Tera strings have no escapes: the next same quote ends one.
                let close = source[i + 1..].find(b as char);
                token = i..close.map_or(bytes.len(), |end| i + end + 2);
            }
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return Err(BudgetViolation {
                        message: format!(
                            "render budget: expressions are nested more than {max} deep"
                        ),
                        span: token,
                    });
                }
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            // `{{-` and `-}}` trim whitespace; they are no operators.
            b'-' if i == start || matches!(next, Some(b'}' | b'%')) => {}
            b'+' | b'-' | b'*' | b'/' | b'%' => operator = true,
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                let word = source[i..]
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .map_or(bytes.len(), |n| i + n);
                token = i..word;
                operator = matches!(&source[token.clone()], "and" | "or");
            }
            _ => {}
        }
        if operator {
            operators += 1;
            if operators > MAX_OPERATORS {
                return Err(BudgetViolation {
                    message: format!(
                        "render budget: one tag chains more than {MAX_OPERATORS} operators; split the expression with `{{% set %}}`"
                    ),
                    span: token,
                });
            }
        }
        i = token.end;
    }
    Ok(i)
}

/// A macro that calls itself (directly or through another macro of the same
/// file) would recurse without end; Tera has no depth limit. A long chain of
/// macros calling the next one recurses as deep, so chains are limited to
/// `max` macros. The call graph is walked once, without recursion: a file
/// may hold thousands of macros.
fn check_macro_recursion(source: &str, max: usize) -> Result<(), BudgetViolation> {
    let mut macros: Vec<(String, Range<usize>, Vec<String>)> = Vec::new();
    let mut open: Option<(String, usize)> = None;
    for caps in macro_regex().captures_iter(source) {
        let whole = caps.get(0).map_or(0..0, |m| m.range());
        match (caps.get(1), open.take()) {
            (Some(name), _) => open = Some((name.as_str().to_string(), whole.start)),
            (None, Some((name, start))) => {
                let body = &source[start..whole.end];
                let calls = self_call_regex()
                    .captures_iter(body)
                    .filter_map(|c| c.get(1).map(|m| m.as_str().to_string()))
                    .collect();
                macros.push((name, start..whole.end, calls));
            }
            (None, None) => {}
        }
    }
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (i, (name, _, _)) in macros.iter().enumerate() {
        index.entry(name.as_str()).or_insert(i);
    }
    let calls: Vec<Vec<usize>> = (macros.iter())
        .map(|(_, _, calls)| {
            calls
                .iter()
                .filter_map(|c| index.get(c.as_str()).copied())
                .collect()
        })
        .collect();
    let at = |i: usize| macros[i].1.start..macros[i].1.start + 2;
    let chains = super::calls::chain_lengths(&calls);
    if let Some(callee) = chains.first_cycle {
        let name = &macros[callee].0;
        return Err(BudgetViolation {
            message: format!(
                "render budget: macro `{name}` calls itself; recursive macros are not allowed"
            ),
            span: at(callee),
        });
    }
    let chain = chains.lengths;
    // The first macro in the file that starts too long a chain: the head of it.
    match chain.iter().position(|&length| length > max) {
        Some(head) => Err(BudgetViolation {
            message: format!(
                "render budget: macro `{}` starts a chain of more than {max} macros calling each other",
                macros[head].0
            ),
            span: at(head),
        }),
        None => Ok(()),
    }
}

/// A writer that refuses to grow past a limit.
#[derive(Debug)]
pub(crate) struct CappedWriter {
    pub buffer: Vec<u8>,
    pub limit: usize,
}

impl Write for CappedWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.buffer.len() + data.len() > self.limit {
            return Err(io::Error::other(format!(
                "render budget: the output exceeds {} bytes",
                self.limit
            )));
        }
        self.buffer.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_blocks_are_refused() {
        let source = "{% if x %}".repeat(40) + &"{% endif %}".repeat(40);
        let err = check_source(&source, &RenderBudget::default()).unwrap_err();
        assert!(err.message.contains("nested"));
    }

    #[test]
    fn deep_brackets_are_refused() {
        let source = format!("{{{{ {} }}}}", "(".repeat(100));
        assert!(check_source(&source, &RenderBudget::default()).is_err());
    }

    #[test]
    fn brackets_inside_a_string_do_not_hide_deep_ones() {
        let source = format!("{{{{ \"}}}}\" ~ {}1{} }}}}", "(".repeat(40), ")".repeat(40));
        let err = check_source(&source, &RenderBudget::default()).unwrap_err();
        assert!(err.message.contains("nested"), "{err:?}");
        let quoted = format!("{{{{ \"{}\" }}}}", "(".repeat(40));
        assert!(check_source(&quoted, &RenderBudget::default()).is_ok());
        let commented = format!("{{# {{{{ {} #}}", "(".repeat(40));
        assert!(check_source(&commented, &RenderBudget::default()).is_ok());
    }

    #[test]
    fn long_operator_chains_are_refused() {
        let chain = |op: &str, n: usize| format!("{{{{- 1{} -}}}}", format!(" {op} 1").repeat(n));
        for op in ["+", "-", "*", "/", "%", "and", "or"] {
            assert!(check_source(&chain(op, MAX_OPERATORS), &RenderBudget::default()).is_ok());
            let err =
                check_source(&chain(op, MAX_OPERATORS + 1), &RenderBudget::default()).unwrap_err();
            assert!(err.message.contains("operators"), "{op}: {err:?}");
        }
        // Counted per tag; names that contain `or` are no operator.
        let tags = "{{ 1 + 1 }}".repeat(MAX_OPERATORS + 1);
        assert!(check_source(&tags, &RenderBudget::default()).is_ok());
        let words = format!("{{{{ {} }}}}", "order ~ ".repeat(100));
        assert!(check_source(&words, &RenderBudget::default()).is_ok());
    }

    #[test]
    fn long_macro_chains_are_refused_and_found_fast() {
        let chain = |n: usize| {
            let mut text: String = (0..n)
                .map(|i| {
                    format!(
                        "{{% macro m{i}() %}}{{{{ self::m{}() }}}}{{% endmacro %}}\n",
                        i + 1
                    )
                })
                .collect();
            text.push_str(&format!("{{% macro m{n}() %}}1{{% endmacro %}}\n"));
            text
        };
        let budget = RenderBudget::default();
        assert!(check_source(&chain(budget.max_nesting - 1), &budget).is_ok());
        let err = check_source(&chain(budget.max_nesting), &budget).unwrap_err();
        assert!(err.message.contains("macro `m0` starts a chain"), "{err:?}");
        // Thousands of macros are one walk of the call graph.
        let many: String = (0..20_000)
            .map(|i| {
                format!(
                    "{{% macro m{i}() %}}{{{{ self::m{}() }}}}{{% endmacro %}}",
                    i % 16 + 20_000
                )
            })
            .collect();
        let budget = RenderBudget {
            max_source_bytes: usize::MAX,
            ..budget
        };
        assert!(check_source(&many, &budget).is_ok());
    }

    #[test]
    fn recursive_macros_are_refused() {
        let direct = "{% macro a(n) %}{{ self::a(n=n) }}{% endmacro a %}";
        assert!(check_source(direct, &RenderBudget::default()).is_err());
        let indirect = "{% macro a() %}{{ self::b() }}{% endmacro %}{% macro b() %}{{ self::a() }}{% endmacro %}";
        assert!(check_source(indirect, &RenderBudget::default()).is_err());
        let spaced = "{% macro a() %}{{ self :: a ( ) }}{% endmacro a %}";
        assert!(check_source(spaced, &RenderBudget::default()).is_err());
        let fine = "{% macro a() %}x{% endmacro %}{% macro b() %}{{ self::a() }}{% endmacro %}";
        assert!(check_source(fine, &RenderBudget::default()).is_ok());
    }

    #[test]
    fn the_innermost_unclosed_block_is_found() {
        let text = "{% if a %}\n{% for x in y %}{% endfor %}\n{% for z in w %}\n";
        assert_eq!(unclosed_block(text), Some(("for".to_string(), 40)));
        assert_eq!(unclosed_block("{% if a %}x{% endif %}"), None);
        let hidden = "{# {% if a %} #}{% raw %}{% if b %}{% endraw %}";
        assert_eq!(unclosed_block(hidden), None);
        assert_eq!(
            unclosed_block("x\n{%- if a -%}"),
            Some(("if".to_string(), 2))
        );
    }

    #[test]
    fn output_is_capped() {
        let mut w = CappedWriter {
            buffer: Vec::new(),
            limit: 4,
        };
        assert!(w.write_all(b"abcd").is_ok());
        assert!(w.write_all(b"e").is_err());
    }
}
