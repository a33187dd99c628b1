//! The original tool's template dialect, rewritten into what Tera 1 parses.
//!
//! Files written for the original call macros with positional arguments
//! (`m::service("db", image)`), pass map literals (`env={"K": v}`) and put
//! `{{ var }}` inside string arguments. Tera accepts none of these, so before
//! parsing, inside template tags only:
//! - positional macro arguments become keyword arguments, named from the
//!   macro's own signature;
//! - a map literal `{k: v, ...}` becomes `dict(pairs=[k, v, ...])`;
//! - a string argument containing `{{ x }}` becomes a concatenation `"..." ~ x ~ "..."`.
//!
//! Text outside tags (the TOML itself) is never touched, and no line is added
//! or removed, so line numbers stay those of the file the user wrote.

use std::collections::HashMap;
use std::sync::OnceLock;

use regex::Regex;

use super::imports::Dependency;
use super::library::{MACRO_LIBRARY, MACRO_LIBRARY_TEXT};

fn import_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r#"\{%-?\s*import\s+["']([^"']+)["']\s+as\s+([A-Za-z_][A-Za-z0-9_]*)"#)
            .expect("static regex")
    })
}

fn macro_signature_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"\{%-?\s*macro\s+([A-Za-z_][A-Za-z0-9_]*)\s*\(([^)]*)\)").expect("static regex")
    })
}

/// alias -> macro name -> parameter names in order.
type Signatures = HashMap<String, HashMap<String, Vec<String>>>;

fn signatures(text: &str, dependencies: &[Dependency]) -> Signatures {
    let mut out = Signatures::new();
    for caps in import_regex().captures_iter(text) {
        let (Some(name), Some(alias)) = (caps.get(1), caps.get(2)) else {
            continue;
        };
        let library = dependencies
            .iter()
            .find(|d| d.name == name.as_str())
            .map(|d| &*d.text)
            .or((name.as_str() == MACRO_LIBRARY).then_some(MACRO_LIBRARY_TEXT));
        let Some(library) = library else { continue };
        let macros = macro_signature_regex()
            .captures_iter(library)
            .filter_map(|c| {
                let params = split_top_level(c.get(2)?.as_str(), ',')
                    .into_iter()
                    .map(|p| p.split('=').next().unwrap_or_default().trim().to_string())
                    .filter(|p| !p.is_empty())
                    .collect();
                Some((c.get(1)?.as_str().to_string(), params))
            })
            .collect();
        out.insert(alias.as_str().to_string(), macros);
    }
    out
}

/// Rewrites the original dialect; returns the text unchanged when there is none.
pub(crate) fn rewrite(text: &str, dependencies: &[Dependency]) -> String {
    // Comment lines first, so a hoisted import never joins a comment line.
    let text = hoist_imports(&protect_comment_lines(text));
    if !text.contains("::") && !text.contains(": ") {
        return text;
    }
    let text = text.as_str();
    let sigs = signatures(text, dependencies);
    let mut out = String::with_capacity(text.len() + 64);
    let mut rest = text;
    while let Some(start) = find_tag_start(rest) {
        let (open, close) = if rest[start..].starts_with("{{") {
            ("{{", "}}")
        } else {
            ("{%", "%}")
        };
        out.push_str(&rest[..start + 2]);
        let body_start = start + 2;
        let Some(body_len) = find_unquoted(&rest[body_start..], close) else {
            out.push_str(&rest[body_start..]);
            return out;
        };
        let body = &rest[body_start..body_start + body_len];
        if open == "{%"
            && body
                .trim_start()
                .trim_start_matches('-')
                .trim_start()
                .starts_with("raw")
        {
            // Leave `{% raw %}...{% endraw %}` exactly as written.
            let after = body_start + body_len + 2;
            let end = rest[after..]
                .find("endraw")
                .map_or(rest.len(), |i| after + i);
            out.push_str(&rest[body_start..end]);
            rest = &rest[end..];
            continue;
        }
        out.push_str(&rewrite_expr(body, &sigs));
        out.push_str(close);
        rest = &rest[body_start + body_len + 2..];
    }
    out.push_str(rest);
    out
}

fn import_tag_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r#"\{%-?\s*import\s+["'][^"']+["']\s+as\s+[A-Za-z_][A-Za-z0-9_]*\s*-?%\}"#)
            .expect("static regex")
    })
}

/// Tera wants `{% import %}` before any content; the original's files put
/// comments first. The tags move to the start of line 1, so no line moves.
fn hoist_imports(text: &str) -> String {
    let tags: Vec<_> = import_tag_regex().find_iter(text).collect();
    let already_first = tags
        .iter()
        .try_fold(0usize, |at, m| {
            text[at..m.start()].trim().is_empty().then_some(m.end())
        })
        .is_some();
    if tags.is_empty() || already_first {
        return text.to_string();
    }
    let mut out: String = tags.iter().map(|m| m.as_str()).collect();
    let mut last = 0;
    for m in &tags {
        out.push_str(&text[last..m.start()]);
        last = m.end();
    }
    out.push_str(&text[last..]);
    out
}

/// A TOML comment line is documentation: `{{ x }}` written there (the original's
/// files do that) is kept as text instead of failing the render.
fn protect_comment_lines(text: &str) -> std::borrow::Cow<'_, str> {
    let is_protected = |line: &str| {
        let trimmed = line.trim_start();
        trimmed.starts_with('#')
            && trimmed.contains("{{")
            && !trimmed.contains("{%")
            && !trimmed.contains("%}")
    };
    if !text.lines().any(is_protected) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 64);
    for line in text.split_inclusive('\n') {
        if is_protected(line) {
            let body = line.trim_end_matches(['\n', '\r']);
            out.push_str("{% raw %}");
            out.push_str(body);
            out.push_str("{% endraw %}");
            out.push_str(&line[body.len()..]);
        } else {
            out.push_str(line);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Where the next `{{` or `{%` tag starts; comments are skipped whole.
pub(super) fn find_tag_start(text: &str) -> Option<usize> {
    let mut from = 0;
    loop {
        let at = from + text[from..].find('{')?;
        match text.as_bytes().get(at + 1) {
            Some(b'{' | b'%') => return Some(at),
            Some(b'#') => {
                // A comment: skip it whole.
                from = text[at..].find("#}").map_or(text.len(), |i| at + i + 2);
                if from >= text.len() {
                    return None;
                }
            }
            _ => from = at + 1,
        }
    }
}

/// Position of `needle` outside string literals.
pub(super) fn find_unquoted(text: &str, needle: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if b == b'"' || b == b'\'' || b == b'`' => quote = Some(b),
            None if bytes[i..].starts_with(needle.as_bytes()) => return Some(i),
            None => {}
        }
        i += 1;
    }
    None
}

/// Splits at `sep` outside strings and brackets.
fn split_top_level(text: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    let mut last = 0;
    for (i, c) in text.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '"' | '\'' | '`' => quote = Some(c),
                '(' | '[' | '{' => depth += 1,
                ')' | ']' | '}' => depth -= 1,
                c if c == sep && depth == 0 => {
                    parts.push(&text[last..i]);
                    last = i + c.len_utf8();
                }
                _ => {}
            },
        }
    }
    parts.push(&text[last..]);
    parts
}

/// Index just past the bracket matching the one at `open` (`text[open]`).
fn matching_close(text: &str, open: usize) -> Option<usize> {
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    for (i, c) in text[open..].char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '"' | '\'' | '`' => quote = Some(c),
                '(' | '[' | '{' => depth += 1,
                ')' | ']' | '}' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(open + i + 1);
                    }
                }
                _ => {}
            },
        }
    }
    None
}

fn macro_call_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        // Anchored: tried at each word start, so it must not scan ahead.
        Regex::new(r"^([A-Za-z_][A-Za-z0-9_]*)::([A-Za-z_][A-Za-z0-9_]*)\s*\(")
            .expect("static regex")
    })
}

fn keyword_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=[^=]").expect("static regex"))
}

/// Rewrites one expression (the inside of a tag, or an argument).
fn rewrite_expr(expr: &str, sigs: &Signatures) -> String {
    let mut out = String::with_capacity(expr.len());
    let mut i = 0;
    while i < expr.len() {
        let rest = &expr[i..];
        let c = rest.chars().next().unwrap_or_default();
        if c == '"' || c == '\'' || c == '`' {
            let end = rest[1..].find(c).map_or(rest.len(), |e| e + 2);
            out.push_str(&rest[..end]);
            i += end;
            continue;
        }
        if let Some(caps) = macro_call_regex().captures(rest)
            && let (Some(alias), Some(name), Some(whole)) = (caps.get(1), caps.get(2), caps.get(0))
        {
            let open = whole.end() - 1;
            if let Some(close) = matching_close(rest, open) {
                let params = sigs.get(alias.as_str()).and_then(|m| m.get(name.as_str()));
                out.push_str(&rest[..open + 1]);
                out.push_str(&rewrite_args(&rest[open + 1..close - 1], params, sigs));
                out.push(')');
                i += close;
                continue;
            }
        }
        if c == '{'
            && let Some(close) = matching_close(rest, 0)
        {
            out.push_str(&map_literal(&rest[1..close - 1], sigs));
            i += close;
            continue;
        }
        // Identifiers are copied whole so `a::b` inside a longer name is not split.
        let word_len = rest
            .char_indices()
            .find(|(_, ch)| !(ch.is_alphanumeric() || *ch == '_'))
            .map_or(rest.len(), |(j, _)| j)
            .max(c.len_utf8());
        out.push_str(&rest[..word_len]);
        i += word_len;
    }
    out
}

fn rewrite_args(args: &str, params: Option<&Vec<String>>, sigs: &Signatures) -> String {
    if args.trim().is_empty() {
        return args.to_string();
    }
    let parts = split_top_level(args, ',');
    let mut rewritten = Vec::with_capacity(parts.len());
    for (position, part) in parts.iter().enumerate() {
        if part.trim().is_empty() {
            continue;
        }
        if let Some(caps) = keyword_regex().captures(part)
            && let Some(key) = caps.get(1)
        {
            let value = &part[part.find('=').map_or(0, |e| e + 1)..];
            rewritten.push(format!("{}={}", key.as_str(), argument_value(value, sigs)));
            continue;
        }
        match params.and_then(|p| p.get(position)) {
            Some(name) => rewritten.push(format!("{name}={}", argument_value(part, sigs))),
            // Unknown macro or too many arguments: leave it for Tera to report.
            None => rewritten.push(part.trim().to_string()),
        }
    }
    rewritten.join(", ")
}

/// A string argument with `{{ x }}` inside becomes a concatenation.
fn argument_value(value: &str, sigs: &Signatures) -> String {
    let trimmed = value.trim();
    let quoted = trimmed.len() >= 2
        && (trimmed.starts_with('"') && trimmed.ends_with('"')
            || trimmed.starts_with('\'') && trimmed.ends_with('\''));
    if quoted && trimmed.contains("{{") {
        let quote = &trimmed[..1];
        let inner = &trimmed[1..trimmed.len() - 1];
        let mut pieces = Vec::new();
        let mut rest = inner;
        while let Some(open) = rest.find("{{") {
            let Some(close) = rest[open..].find("}}") else {
                break;
            };
            pieces.push(format!("{quote}{}{quote}", &rest[..open]));
            pieces.push(rest[open + 2..open + close].trim().to_string());
            rest = &rest[open + close + 2..];
        }
        pieces.push(format!("{quote}{rest}{quote}"));
        return pieces.join(" ~ ");
    }
    rewrite_expr(trimmed, sigs)
}

fn map_literal(body: &str, sigs: &Signatures) -> String {
    let mut items = Vec::new();
    for entry in split_top_level(body, ',') {
        if entry.trim().is_empty() {
            continue;
        }
        let kv = split_top_level(entry, ':');
        let [key, value] = kv.as_slice() else {
            // Not a map entry; keep the original text for Tera to report.
            return format!("{{{body}}}");
        };
        items.push(rewrite_expr(key.trim(), sigs));
        items.push(rewrite_expr(value.trim(), sigs));
    }
    format!("dict(pairs=[{}])", items.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rw(text: &str) -> String {
        rewrite(text, &[])
    }

    #[test]
    fn positional_macro_arguments_get_their_names() {
        let text = "{% import \"_macros.toml.tera\" as m %}\n{{ m::service(\"db\", image, env={\"A\": x}) }}\n";
        assert_eq!(
            rw(text),
            "{% import \"_macros.toml.tera\" as m %}\n{{ m::service(id=\"db\", image=image, env=dict(pairs=[\"A\", x])) }}\n"
        );
    }

    #[test]
    fn template_strings_in_arguments_become_concatenations() {
        let text = "{% import \"_macros.toml.tera\" as m %}{{ m::scenario(\"s\", \"svc\", \"echo {{ a }} and {{ b }}\") }}";
        assert!(
            rw(text).contains("run=\"echo \" ~ a ~ \" and \" ~ b ~ \"\""),
            "{}",
            rw(text)
        );
    }

    #[test]
    fn toml_outside_tags_is_untouched() {
        let text = "env = { \"A\" = \"b\" }\nx = \"a::b\"\n{{ y }}";
        assert_eq!(rw(text), text);
    }

    #[test]
    fn template_syntax_in_comment_lines_is_kept_as_text() {
        assert_eq!(
            rw("# use {{ vars.x }}\na = 1\n"),
            "{% raw %}# use {{ vars.x }}{% endraw %}\na = 1\n"
        );
    }

    #[test]
    fn imports_move_to_the_start_without_moving_lines() {
        let text = "# doc\n{% import \"_macros.toml.tera\" as m %}\nx = 1\n";
        let out = hoist_imports(text);
        assert_eq!(
            out,
            "{% import \"_macros.toml.tera\" as m %}# doc\n\nx = 1\n"
        );
        assert_eq!(out.lines().count(), text.lines().count());
    }

    #[test]
    fn a_comment_on_line_one_stays_a_comment_when_imports_move() {
        let text = "# doc {{ not_a_var }}\n{% import \"_macros.toml.tera\" as m %}\nx = 1\n";
        let out = rw(text);
        assert!(out.starts_with("{% import \"_macros.toml.tera\" as m %}{% raw %}# doc {{ not_a_var }}{% endraw %}\n"), "{out}");
    }

    #[test]
    fn raw_blocks_are_untouched() {
        let text = "{% raw %}{{ m::x(\"a\") }}{% endraw %}";
        assert_eq!(rw(text), text);
    }
}
