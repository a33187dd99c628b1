//! `cargo clnrm watch` on files with errors: each is reported at its place,
//! a fix says the file is valid again, and nothing stops the loop (import
//! cycles and recursive templates included).

mod watch_support;

use std::path::Path;

use watch_support::*;

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/cycle")
        .join(name);
    std::fs::read_to_string(path).expect("fixture")
}

#[test]
fn errors_are_reported_with_their_place_and_the_loop_goes_on() {
    let (dir, root) = tree(&[("a.clnrm.toml", &valid("a"))]);
    let mut watch = Watch::start(dir.path(), &[]);
    let file = root.join("a.clnrm.toml");
    std::fs::write(&file, valid("a").replace("command", "comand")).expect("typo");
    let errors = watch.next_of("validated")["errors"].as_u64();
    let typo = (watch.seen.iter())
        .find(|l| l["reason"] == "diagnostic" && l["code"] == "unknown-key")
        .expect("an unknown-key diagnostic");
    assert_eq!(
        (typo["line"].as_u64(), typo["column"].as_u64()),
        (Some(6), Some(1))
    );
    assert!(
        typo["help"]
            .as_str()
            .unwrap_or_default()
            .contains("command"),
        "{typo}"
    );
    assert!(errors >= Some(1));
    std::fs::write(&file, "[meta\n").expect("broken TOML");
    assert!(watch.next_of("validated")["errors"].as_u64() >= Some(1));
    std::fs::write(&file, valid("a").replace("hello", "fixed")).expect("fix");
    let fixed = watch.next_of("validated");
    assert_eq!(fixed["errors"], 0);
    // Diffed against the last valid version, not the broken ones.
    let diff = watch.next_of("diff");
    assert_eq!(first_change(&diff)["old"], "[\"echo\",\"hello\"]");
    watch.stop();
}

#[test]
fn an_edit_that_fixes_the_errors_says_the_file_is_valid_again() {
    let (dir, root) = tree(&[("a.clnrm.toml", &valid("a"))]);
    let mut watch = Watch::start(dir.path(), &[]);
    let file = root.join("a.clnrm.toml");
    std::fs::write(&file, valid("a").replace("command", "comand")).expect("typo");
    assert!(watch.next_of("validated")["errors"].as_u64() >= Some(1));
    // Back to the last valid text: a fix, not a comment-only change.
    std::fs::write(&file, valid("a")).expect("fix");
    assert_eq!(watch.next_of("validated")["errors"], 0);
    let diff = watch.next_of("diff");
    assert_eq!(diff["fixed"], true, "{diff}");
    assert_eq!(diff["comment_only"], false, "{diff}");
    assert_eq!(diff["combinations"], serde_json::json!([]));
    // A later comment is a comment again.
    std::fs::write(&file, format!("# note\n{}", valid("a"))).expect("comment");
    watch.next_of("validated");
    let diff = watch.next_of("diff");
    assert_eq!(
        (diff["fixed"].clone(), diff["comment_only"].clone()),
        (false.into(), true.into())
    );
    watch.stop();
}

#[test]
fn import_cycles_and_recursive_templates_are_errors_and_the_loop_goes_on() {
    let (dir, root) = tree(&[
        ("_macros.toml.tera", &fixture("_macros.toml.tera")),
        ("uses.clnrm.toml.tera", &fixture("uses.clnrm.toml.tera")),
        ("b.clnrm.toml", &valid("b")),
    ]);
    let mut watch = Watch::start(dir.path(), &[]);
    let started = watch.seen.last().expect("watch-started").clone();
    assert_eq!(started["files_with_errors"], 1, "{started}");
    let cycle = (watch.seen.iter())
        .find(|l| l["reason"] == "diagnostic")
        .expect("the cycle")
        .clone();
    assert_eq!(
        (
            cycle["code"].as_str(),
            cycle["line"].as_u64(),
            cycle["column"].as_u64()
        ),
        (Some("template-error"), Some(1), Some(1))
    );
    assert!(
        cycle["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("import cycle: ")
    );
    // Breaking the cycle in the library re-validates its reader.
    let library = root.join("_macros.toml.tera");
    let fixed = fixture("_macros.toml.tera").replace("{% import \"_macros.toml.tera\" as m %}", "");
    std::fs::write(&library, fixed).expect("break the cycle");
    let validated = watch.next_of("validated");
    assert_eq!(
        (validated["name"].as_str(), validated["errors"].as_u64()),
        (Some("uses.clnrm.toml.tera"), Some(0))
    );
    // A template that includes itself, and a macro that calls itself.
    let header = valid("s");
    std::fs::write(
        root.join("self.clnrm.toml.tera"),
        format!("{header}{{% include \"self.clnrm.toml.tera\" %}}\n"),
    )
    .expect("self include");
    assert_eq!(watch.next_of("validated")["errors"], 1);
    let recursive = "{% macro greet(who) %}{{ self :: greet(who=who) }}{% endmacro greet %}\n";
    std::fs::write(&library, recursive).expect("recursive macro");
    let validated = watch.next_of("validated");
    assert_eq!(validated["errors"], 1, "{validated}");
    let codes: Vec<_> = (watch.seen.iter())
        .filter(|l| l["reason"] == "diagnostic")
        .map(|l| l["code"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(codes, ["template-error", "template-error", "render-budget"]);
    watch.stop();
}
