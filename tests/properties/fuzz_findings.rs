//! What the fuzz targets (`fuzz/`, `scripts/fuzz.sh`) found, fed again
//! byte for byte: each input under `tests/fixtures/fuzz/TARGET/` once broke
//! the reader that target fuzzes, and must now end in a located error.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clnrm_core::diagnostic::Code;
use clnrm_core::discover::DiscoveredFile;
use clnrm_core::pipeline::{FileReport, Pipeline};
use clnrm_core::prepare::prepare;
use clnrm_core::render::TemplateReader;
use clnrm_core::scenario::parse_scenario;
use clnrm_core::tree::{SpanFileErrorKind, read_span_file};

fn finding(target: &str, name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/fuzz")
        .join(target)
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every input kept for `target`, for the checks that hold for all of them.
fn findings(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/fuzz")
        .join(target);
    let mut found: Vec<_> = std::fs::read_dir(&dir)
        .map(|entries| entries.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    found.sort();
    found
        .into_iter()
        .map(|path| {
            let bytes = std::fs::read(&path).expect("read");
            (path, bytes)
        })
        .collect()
}

/// A pretty-printed export cut short, ending in a newline: serde places the
/// end of input on line 108 of a 107-line file.
#[test]
fn span_file_cut_short_after_its_last_newline_is_placed_on_its_last_line() {
    let text = String::from_utf8(finding(
        "span_file",
        "end-of-input-after-the-last-line.json",
    ))
    .expect("utf-8");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 107);
    let e = read_span_file(&text).expect_err("cut short");
    assert!(matches!(e.kind, SpanFileErrorKind::NotJson(_)), "{e}");
    assert_eq!(e.line, 107, "{e}");
    assert_eq!(e.column, Some(lines[106].chars().count() + 1), "{e}");
}

#[test]
fn every_span_file_finding_ends_at_a_place_the_file_has() {
    for (path, bytes) in findings("span_file") {
        let text = String::from_utf8_lossy(&bytes);
        let Err(e) = read_span_file(&text) else {
            continue;
        };
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            (1..=lines.len().max(1)).contains(&e.line),
            "{}: line {} of {}",
            path.display(),
            e.line,
            lines.len()
        );
        let width = lines.get(e.line - 1).map_or(0, |l| l.chars().count());
        assert!(
            e.column.is_none_or(|c| (1..=width + 1).contains(&c)),
            "{}: column {:?} of {width}",
            path.display(),
            e.column
        );
    }
}

/// A key of 87 empty dotted parts (`.......name`): the TOML parser says
/// "recursion limit" and gives no place; the error is placed at the key.
#[test]
fn a_key_of_empty_dotted_parts_is_too_deep_at_its_place() {
    let bytes = finding("scenario_parse", "key-of-empty-dotted-parts.clnrm.toml");
    let text = String::from_utf8_lossy(&bytes);
    let parsed = parse_scenario(&text);
    let deep = (parsed.diagnostics.iter())
        .find(|d| d.message == "invalid TOML: recursion limit")
        .expect("the nesting error");
    assert_eq!(deep.code, Code::TomlSyntax);
    let span = deep.span.clone().expect("a place");
    assert!(text[span].starts_with(&".".repeat(87)), "{deep:?}");
}

#[test]
fn every_scenario_parse_finding_is_reported_in_place() {
    for (path, bytes) in findings("scenario_parse") {
        let text = String::from_utf8_lossy(&bytes);
        let prepared = prepare(&text);
        let parsed = parse_scenario(&text);
        for d in prepared.diagnostics.iter().chain(&parsed.diagnostics) {
            let span = d.span.clone();
            assert!(
                span.is_some_and(|s| s.start <= s.end && s.end <= text.len()),
                "{}: {d:?}",
                path.display()
            );
        }
    }
}

/// The templates after the NUL bytes of a pipeline target's input.
#[derive(Debug)]
struct Beside(HashMap<PathBuf, String>);

impl TemplateReader for Beside {
    fn read(&self, path: &Path) -> std::io::Result<Option<String>> {
        Ok(self.0.get(path).cloned())
    }
}

/// An input of the `pipeline` target, processed as that target does
/// (`fuzz/src/lib.rs`): the scenario up to the first NUL byte, a `.tera`
/// file when it has one, the parts after it the templates beside it.
fn process_as_the_pipeline_target(bytes: &[u8]) -> FileReport {
    let dir = Path::new("/clnrm-fuzz");
    let text = String::from_utf8_lossy(bytes);
    let mut parts = text.split('\0');
    let scenario = parts.next().unwrap_or_default().to_string();
    let names = ["a.tera", "b.tera", "_macros.toml.tera"];
    let templates = (names.iter().zip(parts))
        .map(|(name, text)| (dir.join(name), text.to_string()))
        .collect();
    let name = if bytes.contains(&0) {
        "fuzz.clnrm.toml.tera"
    } else {
        "fuzz.clnrm.toml"
    };
    let discovered = DiscoveredFile {
        name: name.into(),
        path: dir.join(name),
        root: dir.into(),
    };
    Pipeline::default()
        .with_template_reader(Arc::new(Beside(templates)))
        .process_text(&discovered, scenario)
}

/// 256 matrix combinations, each a nest of three loops over 300 values that
/// writes nothing: every rendering ran to its 2 s deadline, and each one
/// abandoned there spun on in its worker thread, until the file took ten
/// minutes and the process ran out of memory. Now the first rendering runs
/// out of fuel at once, and the other combinations are not rendered.
#[test]
fn a_matrix_of_loop_nests_ends_in_one_budget_error_at_once() {
    let started = Instant::now();
    let report = process_as_the_pipeline_target(&finding("pipeline", "matrix-of-loop-nests.tera"));
    let errors: Vec<_> = report.diagnostics.iter().filter(|d| d.is_error()).collect();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    let error = errors[0];
    assert_eq!(error.code, Code::RenderBudget, "{error:?}");
    assert!(
        error
            .message
            .contains("`for` loops and macro calls may run at most"),
        "{error:?}"
    );
    assert_eq!(
        error.notes,
        ["the other 255 matrix combinations were not rendered"]
    );
    let place = report
        .source
        .location(error.span.clone().expect("located").start);
    assert_eq!((place.line, place.column), (10, 4), "at the outer `for`");
    // Generous: this only catches the renderings running to their deadlines.
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn every_pipeline_finding_is_located_and_planned() {
    for (path, bytes) in findings("pipeline") {
        let report = process_as_the_pipeline_target(&bytes);
        assert!(report.has_errors(), "{}: no error", path.display());
        for d in &report.diagnostics {
            if let Some(span) = &d.span {
                assert!(
                    span.start <= span.end && span.end <= report.source.text().len(),
                    "{}: {d:?} outside the file",
                    path.display()
                );
            }
        }
        assert!(!clnrm_core::plan::plan(std::slice::from_ref(&report)).is_empty());
    }
}

/// Nesting the fuzzers' inputs are too short for: each is refused with a
/// located error (TOML's own depth limit, which says where a dotted key is
/// too long only through `scenario::nesting`; the render budget's nesting
/// limits), on a test thread's small stack, instead of overflowing it.
#[test]
fn deep_nesting_is_refused_at_its_place() {
    let deep = 100_000;
    let cases = [
        (
            "arrays",
            format!(
                "[meta]\nname = \"n\"\nx = {}{}\n",
                "[".repeat(deep),
                "]".repeat(deep)
            ),
        ),
        (
            "inline tables",
            format!(
                "[meta]\nname = \"n\"\nx = {}1{}\n",
                "{a = ".repeat(deep),
                "}".repeat(deep)
            ),
        ),
        (
            "dotted keys",
            format!("[meta]\nname = \"n\"\n[vars]\n{}b = 1\n", "a.".repeat(deep)),
        ),
        (
            "a dotted table header",
            format!("[meta]\nname = \"n\"\n[{}b]\n", "a.".repeat(deep)),
        ),
        (
            "arrays in [vars]",
            format!(
                "[vars]\nx = {}{}\n[meta]\nname = \"n\"\n",
                "[".repeat(deep),
                "]".repeat(deep)
            ),
        ),
        (
            "`not` in a tag",
            format!("[meta]\nname = \"{{{{ {}true }}}}\"\n", "not ".repeat(deep)),
        ),
        (
            "blocks",
            format!("[meta]\nname = \"n\"\n{}\n", "{% if true %}".repeat(1_000)),
        ),
        (
            "brackets in a tag",
            format!("[meta]\nname = \"{{{{ {}1 }}}}\"\n", "(".repeat(deep)),
        ),
    ];
    for (what, text) in cases {
        let discovered = DiscoveredFile {
            name: "deep.clnrm.toml".into(),
            path: PathBuf::from("deep.clnrm.toml"),
            root: PathBuf::new(),
        };
        let report = Pipeline::default().process_text(&discovered, text);
        let error = report.diagnostics.iter().find(|d| d.is_error());
        let Some(error) = error else {
            panic!("{what}: no error");
        };
        assert!(error.span.is_some(), "{what}: {error:?} has no place");
    }
}
