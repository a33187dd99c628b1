//! Limits that keep a hostile or broken template from hanging or crashing a run.
//!
//! Tera has no fuel of its own, so the budget is enforced around it: the source
//! is checked for size, nesting and recursive macros before parsing, `range` is
//! counted (see `functions`), the output is capped while it is written, and the
//! whole rendering runs on a worker thread with a deadline.

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

fn macro_regex() -> &'static Regex {
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
    check_macro_recursion(source)
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

/// Deep brackets inside tags would exhaust the template parser's stack.
fn check_bracket_nesting(source: &str, max: usize) -> Result<(), BudgetViolation> {
    let bytes = source.as_bytes();
    let mut depth = 0usize;
    let mut in_tag = false;
    for (i, pair) in bytes.windows(2).enumerate() {
        match pair {
            [b'{', b'{' | b'%'] => in_tag = true,
            [b'}' | b'%', b'}'] => {
                in_tag = false;
                depth = 0;
            }
            [b'(' | b'[' | b'{', _] if in_tag => {
                depth += 1;
                if depth > max {
                    return Err(BudgetViolation {
                        message: format!(
                            "render budget: expressions are nested more than {max} deep"
                        ),
                        span: i..i + 1,
                    });
                }
            }
            [b')' | b']', _] if in_tag => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// A macro that calls itself (directly or through another macro of the same
/// file) would recurse without end; Tera has no depth limit.
fn check_macro_recursion(source: &str) -> Result<(), BudgetViolation> {
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
    for (name, span, _) in &macros {
        let mut seen = vec![name.as_str()];
        let mut frontier = vec![name.as_str()];
        while let Some(current) = frontier.pop() {
            let Some((_, _, calls)) = macros.iter().find(|(n, _, _)| n == current) else {
                continue;
            };
            for callee in calls {
                if callee == name {
                    return Err(BudgetViolation {
                        message: format!(
                            "render budget: macro `{name}` calls itself; recursive macros are not allowed"
                        ),
                        span: span.start..span.start + 2,
                    });
                }
                if !seen.contains(&callee.as_str()) {
                    seen.push(callee);
                    frontier.push(callee);
                }
            }
        }
    }
    Ok(())
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
