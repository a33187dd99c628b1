//! Never panics, never hangs: arbitrary and mutated scenario files go through
//! prepare, render, parse, validate and plan, and every diagnostic they produce
//! points inside the file.

use std::path::PathBuf;

use clnrm_core::discover::DiscoveredFile;
use clnrm_core::pipeline::Pipeline;
use clnrm_core::plan::plan;
use proptest::prelude::*;

mod fuzz_findings;
mod span_batches;

const SEEDS: &[&str] = &[
    include_str!("../fixtures/compat/basic-health-check.clnrm.toml"),
    include_str!("../fixtures/compat/prd_otel_workflow.clnrm.toml"),
    include_str!("../fixtures/compat/timeout_scenarios.clnrm.toml"),
    include_str!("../fixtures/compat/vars_rendering.clnrm.toml.tera"),
    include_str!("../fixtures/compat/legitimate_self_test.clnrm.toml"),
];

/// Fragments that stress the tokenizers of both TOML and Tera.
const FRAGMENTS: &[&str] = &[
    "{{",
    "}}",
    "{%",
    "%}",
    "{#",
    "[[",
    "]]",
    "[",
    "]",
    "=",
    "\"",
    "'''",
    "\n",
    "::",
    "{ a = 1 }",
    "{% for i in range(end=1000000000) %}x{% endfor %}",
    "{% if %}",
    "{{ m::service(\"a\") }}",
    "{% import \"_macros.toml.tera\" as m %}",
    "{{ env(name=\"CLNRM_NOPE\") }}",
    "[vars]\nx = {{",
    "[matrix]\na = [1,2]\n",
    "é",
    "\u{0}",
    "\\u0000",
    "[[scenario]]\nname = \"s\"\n",
    "timeout = \"0s\"",
    "expected_output_regex = \"(\"",
    "{{ uuid_v4() }}",
    "{{ fake(kind=\"name.full\", n=10000) }}",
    "{{ now_plus(seconds=-99999999999) }}",
    "{{ uuid_v7(time=-1) }}",
    "{{ sample(list=[1], k=99) }}",
    "{{ fake_string(len=1048576) }}",
    "{{ fake_password(min=0, max=1) }}",
    "{{ weighted(pairs=[1]) }}",
    "{{ seq(name=\"a\", step=9223372036854775807) }}{{ seq(name=\"a\") }}{{ seq(name=\"a\") }}",
    "{{ now_rfc3339() }}",
    "{% raw %}",
];

#[derive(Debug, Clone)]
enum Edit {
    Delete(usize, usize),
    Insert(usize, usize),
    DuplicateLine(usize),
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    prop::collection::vec(
        prop_oneof![
            (any::<usize>(), 0usize..64).prop_map(|(a, n)| Edit::Delete(a, n)),
            (any::<usize>(), 0..FRAGMENTS.len()).prop_map(|(a, f)| Edit::Insert(a, f)),
            any::<usize>().prop_map(Edit::DuplicateLine),
        ],
        1..8,
    )
}

fn boundary(text: &str, at: usize) -> usize {
    let mut at = at % (text.len() + 1);
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn apply(seed: &str, edits: &[Edit]) -> String {
    let mut text = seed.to_string();
    for edit in edits {
        match *edit {
            Edit::Delete(at, n) => {
                let start = boundary(&text, at);
                let end = boundary(&text, start + n);
                if end > start {
                    text.replace_range(start..end, "");
                }
            }
            Edit::Insert(at, f) => {
                let at = boundary(&text, at);
                text.insert_str(at, FRAGMENTS[f]);
            }
            Edit::DuplicateLine(n) => {
                let lines: Vec<&str> = text.lines().collect();
                if !lines.is_empty() {
                    let line = lines[n % lines.len()].to_string();
                    text.push('\n');
                    text.push_str(&line);
                }
            }
        }
    }
    text
}

fn check(text: String, name: &str) {
    let pipeline = Pipeline::default();
    let discovered = DiscoveredFile {
        name: name.to_string(),
        path: PathBuf::from(name),
        root: PathBuf::new(),
    };
    let report = pipeline.process_text(&discovered, text);
    for d in &report.diagnostics {
        if let Some(span) = &d.span {
            assert!(
                span.start <= span.end && span.end <= report.source.text().len(),
                "{d:?} outside the file"
            );
        }
    }
    let tests = plan(std::slice::from_ref(&report));
    assert!(!tests.is_empty(), "every file is at least one test");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,400}") {
        check(text.clone(), "fuzz.clnrm.toml");
        check(text, "fuzz.clnrm.toml.tera");
    }

    #[test]
    fn mutated_scenarios_never_panic(seed in 0..SEEDS.len(), edits in edits()) {
        let name = if seed == 3 { "fuzz.clnrm.toml.tera" } else { "fuzz.clnrm.toml" };
        check(apply(SEEDS[seed], &edits), name);
    }
}

#[test]
fn hostile_templates_end_in_errors() {
    let hostile = [
        "{% for a in range(end=100000) %}{% for b in range(end=100000) %}{% endfor %}{% endfor %}",
        "{% macro a() %}{{ self::a() }}{% endmacro a %}{{ self::a() }}",
        &"{% if true %}".repeat(200),
        &format!("{{{{ {} }}}}", "(".repeat(5000)),
        "{% for a in range(end=99999) %}{{ a }}xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx{% endfor %}{% for a in range(end=99999) %}{% endfor %}",
    ];
    for template in hostile {
        let started = std::time::Instant::now();
        let pipeline = Pipeline::default();
        let discovered = DiscoveredFile {
            name: "h.clnrm.toml.tera".into(),
            path: PathBuf::from("h.clnrm.toml.tera"),
            root: PathBuf::new(),
        };
        let report =
            pipeline.process_text(&discovered, format!("[meta]\nname = \"h\"\n{template}\n"));
        assert!(report.has_errors(), "{template:.60}: no error");
        // A generous bound: the budget is 2 s; this only catches a hang.
        assert!(
            started.elapsed().as_secs() < 30,
            "{template:.60}: took {:?}",
            started.elapsed()
        );
    }
}
