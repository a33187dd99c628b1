//! Tests of the tree as a whole: built from scenario text, then diffed.

use super::*;
use crate::scenario::parse_scenario;

fn tree(text: &str) -> ExpectationTree {
    let file = parse_scenario(text).file.expect("TOML parses");
    ExpectationTree::from_file(&file)
}

/// One scenario `s` with steps that run `echo <name>`.
fn steps(names: &[&str]) -> String {
    let mut text = "[meta]\nname = \"demo\"\n[[scenario]]\nname = \"s\"\n".to_owned();
    for n in names {
        text += &format!("[[scenario.steps]]\nname = \"{n}\"\ncommand = [\"echo\", \"{n}\"]\n");
    }
    text
}

fn ids(list: &[NodeChange]) -> Vec<&str> {
    list.iter().map(|c| c.id.as_str()).collect()
}

#[test]
fn identical_trees_have_an_empty_diff() {
    let base = steps(&["a", "b", "c"]);
    let d = diff(&tree(&base), &tree(&base));
    assert!(d.is_empty(), "{d}");
    assert_eq!(d.to_string(), "(no changes)\n");
}

#[test]
fn tree_has_ids_in_declaration_order() {
    let t = tree(&steps(&["a", "b", "c"]));
    let s = t.find("scenario:s").expect("scenario node");
    let kids: Vec<&str> = s.children.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        kids,
        [
            "scenario:s/step:a",
            "scenario:s/step:b",
            "scenario:s/step:c"
        ]
    );
    let a = &s.children[0];
    assert_eq!((a.kind, a.label.as_str()), (NodeKind::Step, "step a"));
    assert_eq!(a.fields["command"], r#"["echo","a"]"#);
    assert_eq!(a.fields["expected_exit_code"], "0");
    assert!(t.find("header").is_some());
}

#[test]
fn added_and_removed_steps() {
    let (abc, ac) = (tree(&steps(&["a", "b", "c"])), tree(&steps(&["a", "c"])));
    let d = diff(&abc, &ac);
    assert_eq!(ids(&d.removed), ["scenario:s/step:b"]);
    assert!(
        d.added.is_empty() && d.changed.is_empty() && d.moved.is_empty(),
        "{d}"
    );
    assert_eq!(d.to_string(), "- scenario:s/step:b\n");
    let d = diff(&ac, &abc);
    assert_eq!(ids(&d.added), ["scenario:s/step:b"]);
    assert!(
        d.removed.is_empty() && d.changed.is_empty() && d.moved.is_empty(),
        "{d}"
    );
    assert_eq!(d.to_string(), "+ scenario:s/step:b\n");
}

#[test]
fn changed_field_reports_name_and_values() {
    let old = steps(&["a"]);
    let new = old.replace(r#"["echo", "a"]"#, r#"["echo", "z"]"#);
    let d = diff(&tree(&old), &tree(&new));
    assert_eq!(ids(&d.changed), ["scenario:s/step:a"]);
    let expected = FieldChange {
        field: "command".into(),
        old: Some(r#"["echo","a"]"#.into()),
        new: Some(r#"["echo","z"]"#.into()),
    };
    assert_eq!(d.changed[0].fields, [expected]);
    let shown = r#"~ scenario:s/step:a (command: ["echo","a"] -> ["echo","z"])"#;
    assert_eq!(d.to_string(), format!("{shown}\n"));
    let json = serde_json::to_value(&d).expect("serializes");
    assert_eq!(json["changed"][0]["fields"][0]["field"], "command");
}

#[test]
fn reordered_step_is_moved() {
    let d = diff(
        &tree(&steps(&["a", "b", "c"])),
        &tree(&steps(&["c", "a", "b"])),
    );
    assert_eq!(ids(&d.moved), ["scenario:s/step:c"]);
    assert!(d.added.is_empty() && d.removed.is_empty() && d.changed.is_empty());
    assert_eq!(d.to_string(), "> scenario:s/step:c moved\n");
}

#[test]
fn repeated_span_names_get_distinct_ids() {
    let spans =
        "[[expect.span]]\nname = \"http\"\n[[expect.span]]\nname = \"http\"\nkind = \"server\"\n";
    let t = tree(&format!("{}{spans}", steps(&["a"])));
    let first = t.find("expect.span:http").expect("first");
    let second = t.find("expect.span:http#2").expect("second");
    assert!(!first.fields.contains_key("kind"));
    assert_eq!(second.fields["kind"], r#""server""#);
}

#[test]
fn comment_only_change_is_an_empty_diff() {
    let commented = r#"
# a file comment
[meta]
name = "demo"   # the name

[[scenario]]
# the only scenario
name = "s"
[[scenario.steps]]
name = "a"
command = ["echo",   "a"] # trailing
[[scenario.steps]]
name = "b"
command = [
  "echo",
  "b",
]
"#;
    let d = diff(&tree(&steps(&["a", "b"])), &tree(commented));
    assert!(d.is_empty(), "{d}");
}

#[test]
fn removed_scenario_lists_children_but_displays_compactly() {
    let other = steps(&["a"]).replace("name = \"s\"", "name = \"t\"");
    let d = diff(&tree(&steps(&["a", "b", "c"])), &tree(&other));
    assert_eq!(d.removed.len(), 4);
    assert_eq!(d.to_string(), "- scenario:s\n+ scenario:t\n");
}
