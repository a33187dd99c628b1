//! How deep macro calls go across a scenario and the templates it imports.
//! Each file is checked on its own for recursion and long chains (see
//! `budget`), but a chain can go on in the file a macro imports, and Tera
//! renders every call on the stack of the call that made it: 32 macros deep
//! in each of 8 imported files, each with nested blocks and long
//! expressions, overflows the render thread's stack. So the chain is
//! followed through the imports too, without recursion.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::OnceLock;

use regex::Regex;

use super::budget::macro_regex;
use super::imports::Dependency;
use crate::diagnostic::{Code, Diagnostic};

fn import_alias_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r#"\{%-?\s*import\s+["']([^"']+)["']\s+as\s+([A-Za-z_][A-Za-z0-9_]*)"#)
            .expect("static regex")
    })
}

fn call_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"\b([A-Za-z_][A-Za-z0-9_]*)\s*::\s*([A-Za-z_][A-Za-z0-9_]*)\s*\(")
            .expect("static regex")
    })
}

/// One call in a template: the template it resolves to, the macro, where.
struct Call {
    template: usize,
    name: String,
    span: Range<usize>,
}

/// The calls in `text`, resolved through its imports (`self::` is `text`'s
/// own template); calls to namespaces it does not import are left out.
fn calls_in(text: &str, own: usize, imports: &HashMap<&str, usize>) -> Vec<Call> {
    (call_regex().captures_iter(text))
        .filter_map(|c| {
            let (whole, namespace, name) = (c.get(0)?, c.get(1)?.as_str(), c.get(2)?);
            let template = match namespace {
                "self" => own,
                alias => *imports.get(alias)?,
            };
            Some(Call {
                template,
                name: name.as_str().to_string(),
                span: whole.range(),
            })
        })
        .collect()
}

/// Refuses a chain of more than `max` macros calling each other, counted
/// from any call outside a macro (in the scenario, or in a template it
/// includes), through every template imported on the way.
pub(crate) fn check_call_depth(
    scenario: &str,
    dependencies: &[Dependency],
    max: usize,
) -> Result<(), Diagnostic> {
    let texts: Vec<&str> = (dependencies.iter().map(|d| &*d.text))
        .chain(std::iter::once(scenario))
        .collect();
    let names: HashMap<&str, usize> = (dependencies.iter().enumerate())
        .map(|(i, d)| (d.name.as_str(), i))
        .collect();
    // Every macro of every template with the calls in its body, and the
    // calls outside macros.
    let mut macros: HashMap<(usize, String), usize> = HashMap::new();
    let mut bodies: Vec<Vec<Call>> = Vec::new();
    let mut roots: Vec<(usize, Call)> = Vec::new();
    for (t, text) in texts.iter().enumerate() {
        let imports: HashMap<&str, usize> = (import_alias_regex().captures_iter(text))
            .filter_map(|c| Some((c.get(2)?.as_str(), *names.get(c.get(1)?.as_str())?)))
            .collect();
        let mut defined: Vec<(Range<usize>, usize)> = Vec::new();
        let mut open: Option<(String, usize)> = None;
        for caps in macro_regex().captures_iter(text) {
            let Some(whole) = caps.get(0) else { continue };
            match (caps.get(1), open.take()) {
                (Some(name), _) => open = Some((name.as_str().to_string(), whole.start())),
                (None, Some((name, start))) => {
                    let index = *macros.entry((t, name)).or_insert_with(|| {
                        bodies.push(Vec::new());
                        bodies.len() - 1
                    });
                    defined.push((start..whole.end(), index));
                }
                (None, None) => {}
            }
        }
        for call in calls_in(text, t, &imports) {
            // Macros do not nest: bodies are in order, and at most the last
            // one that starts before the call holds it.
            let before = defined.partition_point(|(body, _)| body.start <= call.span.start);
            match before.checked_sub(1).map(|i| &defined[i]) {
                Some((body, index)) if body.contains(&call.span.start) => {
                    bodies[*index].push(call);
                }
                _ => roots.push((t, call)),
            }
        }
    }
    let target = |call: &Call| macros.get(&(call.template, call.name.clone())).copied();
    let edges: Vec<Vec<usize>> = (bodies.iter())
        .map(|calls| calls.iter().filter_map(target).collect())
        .collect();
    let chain = chain_lengths(&edges).lengths;
    let too_deep = (roots.iter()).find(|(_, call)| target(call).is_some_and(|m| chain[m] > max));
    let Some((t, call)) = too_deep else {
        return Ok(());
    };
    let d = Diagnostic::error(
        Code::RenderBudget,
        format!("render budget: macros call each other more than {max} deep"),
    )
    .with_help("a chain of calls goes on through the templates that are imported; call fewer macros from inside other macros");
    Err(if *t == texts.len() - 1 {
        d.at(call.span.clone())
    } else {
        d.with_note(format!("from `{}`", dependencies[*t].name))
    })
}

/// What a walk of the macros' calls found.
pub(super) struct Chains {
    /// For each macro, how many macros its longest chain of calls holds
    /// (itself included); a cycle counts as endless.
    pub lengths: Vec<usize>,
    /// The first macro the walk found calling itself (through others or not).
    pub first_cycle: Option<usize>,
}

/// Walks the calls (`edges[m]`: the macros that macro `m` calls), without
/// recursion: a template may nest deeper than a stack.
pub(super) fn chain_lengths(edges: &[Vec<usize>]) -> Chains {
    // 0: not seen, 1: on the current path, 2: done.
    let mut state = vec![0u8; edges.len()];
    let mut chain = vec![0usize; edges.len()];
    let mut first_cycle = None;
    for first in 0..edges.len() {
        if state[first] != 0 {
            continue;
        }
        state[first] = 1;
        let mut path = vec![(first, 0usize)];
        while let Some((current, next)) = path.last_mut() {
            let current = *current;
            if let Some(&callee) = edges[current].get(*next) {
                *next += 1;
                match state[callee] {
                    0 => {
                        state[callee] = 1;
                        path.push((callee, 0));
                    }
                    1 => {
                        first_cycle.get_or_insert(callee);
                        chain[current] = usize::MAX;
                    }
                    _ => {}
                }
                continue;
            }
            let longest = edges[current].iter().map(|&c| chain[c]).max().unwrap_or(0);
            chain[current] = chain[current].max(longest.saturating_add(1));
            state[current] = 2;
            path.pop();
        }
    }
    Chains {
        lengths: chain,
        first_cycle,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dependency(name: &str, text: &str) -> Dependency {
        Dependency {
            name: name.to_string(),
            path: None,
            text: text.into(),
        }
    }

    /// `n` macros in a file, each calling the next; the last calls `last`.
    fn chain(n: usize, last: &str) -> String {
        (0..n)
            .map(|i| {
                let call = if i + 1 < n {
                    format!("{{{{ self::m{}() }}}}", i + 1)
                } else {
                    last.to_string()
                };
                format!("{{% macro m{i}() %}}{call}{{% endmacro m{i} %}}\n")
            })
            .collect()
    }

    #[test]
    fn chains_are_followed_through_imports() {
        let second = dependency("b.tera", &chain(16, "1"));
        let first = dependency(
            "a.tera",
            &format!(
                "{{% import \"b.tera\" as b %}}{}",
                chain(16, "{{ b::m0() }}")
            ),
        );
        let scenario = "{% import \"a.tera\" as a %}\nx = {{ a::m0() }}";
        let deps = [first, second];
        assert!(check_call_depth(scenario, &deps, 32).is_ok());
        let d = check_call_depth(scenario, &deps, 31).unwrap_err();
        assert_eq!(d.span, Some(34..40));
        assert!(d.message.contains("more than 31 deep"), "{d:?}");
    }

    #[test]
    fn calls_outside_macros_start_chains_and_unknown_names_end_them() {
        let scenario = format!(
            "{}{{{{ self::m0() }}}} {{{{ other::x() }}}}",
            chain(3, "{{ nope::y() }}")
        );
        assert!(check_call_depth(&scenario, &[], 3).is_ok());
        assert!(check_call_depth(&scenario, &[], 2).is_err());
    }
}
