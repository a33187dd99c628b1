//! Every template function of the original exists, under its name, reading
//! the arguments it read (`fixtures/compat/template-functions.txt`, the list
//! taken from its source), and a seeded, frozen file renders the same in
//! every fresh process state.

use std::path::PathBuf;

use clnrm_core::discover::DiscoveredFile;
use clnrm_core::pipeline::Pipeline;

const LIST: &str = include_str!("../fixtures/compat/template-functions.txt");

/// `name(a, b)` lines: the name and the arguments it reads.
fn functions() -> Vec<(&'static str, Vec<&'static str>)> {
    LIST.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|line| {
            let (name, rest) = line.split_once('(').expect("name(args)");
            let args = rest.trim_end_matches(')').split(", ");
            (name, args.filter(|a| !a.is_empty()).collect())
        })
        .collect()
}

/// An example value for argument `arg` of `function`, as template text.
fn example(function: &str, arg: &str) -> &'static str {
    match (function, arg) {
        ("env", "name") => "\"HOME\"",
        ("seq", "name") => "\"port\"",
        ("uuid_v5", "name") => "\"example.com\"",
        ("fake_int_range", "min") => "10",
        ("fake_int_range", "max") => "20",
        (_, "min") => "2",
        (_, "max") => "5",
        (_, "map") => "dict(pairs=[\"user\", \"alice smith\", \"tier\", 2])",
        (_, "value") => "dict(pairs=[\"a\", 1])",
        // Tera has no nested list literals: the pairs come from `[vars]`.
        (_, "pairs") => "vars.pairs",
        (_, "list") => "[1, 2, 3, 4, 5]",
        (_, "kind") => "\"address.city\"",
        (_, "s") => "\"My Name\"",
        (_, "ns") => "\"dns\"",
        (_, "time") => "\"2024-01-01T00:00:00Z\"",
        (_, "trace_id") => "\"4bf92f3577b34da6a3ce929d0e0e4736\"",
        (_, "span_id") => "\"00f067aa0ba902b7\"",
        (_, "sampled") => "false",
        (_, "seed") => "7",
        (_, "n") => "3",
        (_, "k") => "2",
        (_, "len") => "5",
        (_, "count") => "4",
        (_, "ratio") => "30",
        (_, "offset_seconds") => "3600",
        (_, "seconds") => "90",
        (_, "start") => "8000",
        (_, "step") => "10",
        (function, arg) => panic!("no example for `{arg}` of `{function}`"),
    }
}

/// Arguments a call cannot leave out.
fn is_required(function: &str, arg: &str) -> bool {
    matches!(
        (function, arg),
        ("baggage", "map")
            | ("env", "name")
            | ("fake", "kind")
            | ("fake_uuid_seeded", "seed")
            | ("kebab" | "slug" | "snake" | "sha256", "s")
            | ("now_plus", "seconds")
            | ("pick" | "shuffle" | "sample", "list")
            | ("sample", "k")
            | ("seq", "name")
            | ("toml_encode", "value")
            | ("uuid_v5", "name" | "ns")
            | ("weighted", "pairs")
    )
}

fn call(function: &str, args: &[&str]) -> String {
    let args: Vec<String> = (args.iter())
        .map(|arg| format!("{arg}={}", example(function, arg)))
        .collect();
    format!("{function}({})", args.join(", "))
}

/// What `call` renders to (as JSON text), in a fresh pipeline (no cache
/// shared with another rendering), under `[determinism] seed = seed` with a
/// frozen clock.
fn render(call: &str, seed: u64) -> Result<String, String> {
    render_json(call, seed).map(|json| match serde_json::from_str(&json) {
        Ok(serde_json::Value::String(text)) => text,
        _ => json,
    })
}

/// `render`, the value as JSON text.
fn render_json(call: &str, seed: u64) -> Result<String, String> {
    let text = format!(
        "[meta]\nname = \"f\"\n\n[determinism]\nseed = {seed}\nfreeze_clock = \"2025-06-01T12:00:00Z\"\n\n\
         [vars]\npairs = [[\"a\", 1], [\"b\", 3]]\n\n\
         [[steps]]\nname = \"s\"\ncommand = [\"echo\", {{{{ toml_encode(value={call} | json_encode()) }}}}]\n"
    );
    let discovered = DiscoveredFile {
        name: "f.clnrm.toml.tera".into(),
        path: PathBuf::from("f.clnrm.toml.tera"),
        root: PathBuf::new(),
    };
    let report = Pipeline::default().process_text(&discovered, text);
    let errors: Vec<String> = (report.diagnostics.iter())
        .filter(|d| d.is_error())
        .map(|d| {
            format!(
                "{}{}",
                d.message,
                d.help
                    .as_deref()
                    .map(|h| format!(" ({h})"))
                    .unwrap_or_default()
            )
        })
        .collect();
    if !errors.is_empty() {
        return Err(errors.join("; "));
    }
    let file = report.variants[0].file.as_ref().ok_or("no model")?;
    Ok(file.scenarios[0].steps[0].command.value[1].clone())
}

#[test]
fn the_list_has_all_82_functions_of_the_original() {
    assert_eq!(functions().len(), 82);
}

#[test]
fn every_function_of_the_original_renders_with_every_argument_it_read() {
    let mut failures = Vec::new();
    for (function, args) in functions() {
        let full = call(function, &args);
        // With every argument given (`seed=` among them), the file's own
        // seed changes nothing; without `seed=`, it is what it draws from.
        let other_seed = if args.contains(&"seed") { 2 } else { 1 };
        match (render(&full, 1), render(&full, other_seed)) {
            (Ok(a), Ok(b)) if a.is_empty() || a == "\"\"" => {
                failures.push(format!("{full}: rendered nothing ({a}, {b})"));
            }
            // Every argument given (`seed=` among them): the file's own seed
            // changes nothing.
            (Ok(a), Ok(b)) if a != b => failures.push(format!("{full}: {a} then {b}")),
            (Ok(_), Ok(_)) => {}
            (Err(e), _) | (_, Err(e)) => failures.push(format!("{full}: {e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_seeded_frozen_file_renders_the_same_every_time_and_its_seed_decides() {
    let mut failures = Vec::new();
    let (mut random, mut changed) = (0, 0);
    for (function, args) in functions() {
        let required: Vec<&str> = (args.iter().copied())
            .filter(|a| is_required(function, a))
            .collect();
        let minimal = call(function, &required);
        let first = render(&minimal, 1);
        let again = render(&minimal, 1);
        match (&first, &again) {
            (Ok(a), Ok(b)) if a == b => {}
            _ => failures.push(format!("{minimal}: {first:?} then {again:?}")),
        }
        // Random functions without `seed=` draw from `[determinism] seed`.
        let draws = args.contains(&"seed") && !required.contains(&"seed");
        if draws && let (Ok(a), Ok(b)) = (&first, render(&minimal, 2)) {
            random += 1;
            changed += usize::from(*a != b);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // A few have so few values that two seeds may agree (a boolean, a
    // colour, a title); nearly all must not.
    assert!(random >= 60, "{random} random functions");
    assert!(
        changed * 10 >= random * 9,
        "another [determinism] seed changed only {changed} of {random}"
    );
}

/// The example tables of docs/format.md (after `<!-- examples: ... -->`):
/// each row's call and what it gives.
fn documented_examples() -> Vec<(String, String)> {
    let doc = include_str!("../../docs/format.md");
    let mut examples = Vec::new();
    for table in doc.split("<!-- examples: ").skip(1) {
        let rows = table.lines().skip(3).take_while(|l| l.starts_with('|'));
        for row in rows {
            let row = row.replace("\\|", "\u{1}");
            let cells: Vec<String> = (row.split('|'))
                .map(|c| c.trim().trim_matches('`').replace('\u{1}', "|"))
                .collect();
            examples.push((cells[1].clone(), cells[2].clone()));
        }
    }
    examples
}

#[test]
fn the_examples_in_the_format_docs_render_as_shown() {
    let examples = documented_examples();
    assert!(examples.len() >= 40, "{} examples", examples.len());
    let wrong: Vec<String> = (examples.iter())
        .filter_map(|(call, shown)| match render(call, 1) {
            Ok(given) if given == *shown => None,
            given => Some(format!("{call}: shown `{shown}`, gives {given:?}")),
        })
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn every_function_of_the_original_is_in_the_format_docs() {
    let doc = include_str!("../../docs/format.md");
    let missing: Vec<&str> = (functions().into_iter())
        .map(|(name, _)| name)
        .filter(|name| !doc.contains(&format!("`{name}")))
        .collect();
    assert!(missing.is_empty(), "not documented: {missing:?}");
}

#[test]
fn every_function_of_the_original_is_in_the_migration_guide() {
    let guide = include_str!("../../docs/migration.md");
    let missing: Vec<&str> = (functions().into_iter())
        .map(|(name, _)| name)
        .filter(|name| !guide.contains(&format!("`{name}`")))
        .collect();
    assert!(missing.is_empty(), "not in docs/migration.md: {missing:?}");
}
