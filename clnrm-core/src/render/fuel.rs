//! Fuel for Tera: a rendering may take so many loop iterations and macro
//! calls, and one its caller has given up on stops at the next of them.
//!
//! Tera has no hook into its loops: a nest of loops over a few hundred
//! values writes nothing and calls nothing, so neither the output cap nor
//! `range`'s count sees it, and a rendering abandoned at its deadline would
//! spin on, on its worker thread, for minutes. So the template gets a hook:
//! right after each `{% for %}` and `{% macro %}` tag, on the same line, a
//! call of [`FUEL_FUNCTION`] that writes nothing and trims whitespace as
//! that tag does (`-%}` is followed by `{{- ... -}}`), so the output is the
//! same byte for byte.

use std::borrow::Cow;

use super::dialect::{find_tag_start, find_unquoted};

/// The function called once per loop iteration and macro call.
pub(crate) const FUEL_FUNCTION: &str = "__clnrm_fuel";
const CALL: &str = "{{ __clnrm_fuel() }}";
const CALL_TRIMMED: &str = "{{- __clnrm_fuel() -}}";

/// Loop iterations and macro calls one rendering may take (all together).
pub(crate) const FUEL: usize = 200_000;

/// The template with a [`FUEL_FUNCTION`] call after every `for` and `macro`
/// tag; unchanged when it has none. `{% raw %}` blocks and comments are left
/// as written.
pub(crate) fn add_fuel(text: &str) -> Cow<'_, str> {
    if !text.contains("for") && !text.contains("macro") {
        return Cow::Borrowed(text);
    }
    let mut out = String::new();
    let mut done = 0;
    let mut from = 0;
    while let Some(start) = find_tag_start(&text[from..]).map(|s| from + s) {
        let body_start = start + 2;
        let close = if text[start..].starts_with("{{") {
            "}}"
        } else {
            "%}"
        };
        let Some(body_len) = find_unquoted(&text[body_start..], close) else {
            break;
        };
        let body = &text[body_start..body_start + body_len];
        let end = body_start + body_len + 2;
        from = end;
        if close == "}}" {
            continue;
        }
        let keyword = body
            .trim_start_matches('-')
            .trim_start()
            .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
            .next()
            .unwrap_or_default();
        match keyword {
            "raw" => {
                // Skip to the end of the raw block: nothing in it is a tag.
                from = text[end..].find("endraw").map_or(text.len(), |i| end + i);
            }
            "for" | "macro" => {
                out.push_str(&text[done..end]);
                out.push_str(if body.ends_with('-') {
                    CALL_TRIMMED
                } else {
                    CALL
                });
                done = end;
            }
            _ => {}
        }
    }
    if done == 0 {
        return Cow::Borrowed(text);
    }
    out.push_str(&text[done..]);
    Cow::Owned(out)
}

/// A line of a fueled template without its fuel calls, and a 1-based
/// column (in characters) of it where the line has it without them: a
/// place inside a call is where the call was put.
pub(crate) fn without_fuel(line: &str, column: usize) -> (String, usize) {
    let mut text = String::with_capacity(line.len());
    let mut kept_chars = 0;
    let mut mapped = None;
    // Characters of `line` passed so far.
    let mut read = 0;
    let mut rest = line;
    loop {
        let next = [CALL, CALL_TRIMMED]
            .into_iter()
            .filter_map(|call| rest.find(call).map(|at| (at, call)))
            .min();
        let kept = next.map_or(rest, |(at, _)| &rest[..at]);
        let count = kept.chars().count();
        if mapped.is_none() && column <= read + count {
            mapped = Some(kept_chars + column.saturating_sub(read));
        }
        text.push_str(kept);
        kept_chars += count;
        read += count;
        let Some((at, call)) = next else { break };
        if mapped.is_none() && column <= read + call.len() {
            mapped = Some(kept_chars + 1);
        }
        read += call.len();
        rest = &rest[at + call.len()..];
    }
    let column = mapped.unwrap_or(kept_chars + column.saturating_sub(read));
    (text, column.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loops_and_macros_get_a_call_that_trims_as_their_tag_does() {
        assert_eq!(
            add_fuel("{% for x in l %}{{ x }}{% endfor %}"),
            "{% for x in l %}{{ __clnrm_fuel() }}{{ x }}{% endfor %}"
        );
        assert_eq!(
            add_fuel("{%- for x in l -%}\n  a{%- endfor %}"),
            "{%- for x in l -%}{{- __clnrm_fuel() -}}\n  a{%- endfor %}"
        );
        assert_eq!(
            add_fuel("{% macro m(a=\"%}\") %}b{% endmacro m %}"),
            "{% macro m(a=\"%}\") %}{{ __clnrm_fuel() }}b{% endmacro m %}"
        );
    }

    #[test]
    fn raw_blocks_comments_and_other_tags_are_left_alone() {
        for text in [
            "{% raw %}{% for x in l %}{% endraw %}",
            "{# {% for x in l %} #}",
            "{% if formal %}{{ format }}{% endif %}",
            "for = 1\nmacro = 2",
        ] {
            assert_eq!(add_fuel(text), text);
        }
        assert_eq!(
            add_fuel("{% raw %}{% for %}{% endraw %}{% for y in l %}{% endfor %}"),
            "{% raw %}{% for %}{% endraw %}{% for y in l %}{{ __clnrm_fuel() }}{% endfor %}"
        );
    }

    #[test]
    fn places_on_a_fueled_line_are_where_the_file_has_them() {
        let original = "{% for x in l %}{{ x | é }}{% endfor %}";
        let fueled = add_fuel(original);
        let at = |column| without_fuel(&fueled, column);
        assert_eq!(at(3).0, original);
        assert_eq!(at(3).1, 3, "before the call");
        assert_eq!(at(17).1, 17, "inside the call: where it was put");
        let after = "{% for x in l %}{{ __clnrm_fuel() }}{{ x | "
            .chars()
            .count()
            + 1;
        assert_eq!(at(after).1, "{% for x in l %}{{ x | ".chars().count() + 1);
        assert_eq!(without_fuel("no calls", 4), ("no calls".to_string(), 4));
    }
}
