//! Whole-file Tera rendering under a budget.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use regex::Regex;
use tera::Tera;

use super::budget::{RenderBudget, check_source, unclosed_block};
use super::calls::check_call_depth;
use super::context::RenderContext;
use super::dialect;
use super::fuel::{add_fuel, without_fuel};
use super::functions::{self, RenderState};
use super::imports::{self, Dependency, Resolved, find_cycle};
use super::library::{MACRO_LIBRARY, MACRO_LIBRARY_TEXT};
use super::reader::{FileSystem, TemplateReader};
use super::{substitute, worker};
use crate::diagnostic::{Code, Diagnostic};
use crate::scenario::Determinism;
use crate::source::{Location, SourceFile};

/// Name of the template being rendered.
const SCENARIO: &str = "__scenario__";

/// What the template is rendered from.
#[derive(Debug, Clone, Copy)]
pub struct RenderRequest<'a> {
    pub template: &'a str,
    pub dependencies: &'a [Dependency],
    pub context: &'a RenderContext,
    pub determinism: &'a Determinism,
}

/// A successful rendering.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub text: String,
    /// False when the output used the real clock or real randomness.
    pub deterministic: bool,
    pub env_reads: Vec<(String, Option<String>)>,
}

/// Renders scenario templates; cheap to create and to share between threads.
#[derive(Debug, Clone)]
pub struct TemplateEngine {
    budget: RenderBudget,
    /// Where imported templates are read from (the file system by default).
    reader: Arc<dyn TemplateReader>,
}

/// Tera with our functions, filters and the shipped macro library: built on
/// the first rendering that needs Tera (parsing the library costs milliseconds,
/// which a run of plain files, or `--exact` on one, should not pay).
fn base() -> &'static Arc<Tera> {
    static BASE: OnceLock<Arc<Tera>> = OnceLock::new();
    BASE.get_or_init(|| {
        let mut tera = Tera::default();
        tera.autoescape_on(vec![]);
        functions::register(&mut tera);
        tera.add_raw_template(MACRO_LIBRARY, MACRO_LIBRARY_TEXT)
            .expect("the shipped macro library parses (tested)");
        Arc::new(tera)
    })
}

impl Default for TemplateEngine {
    fn default() -> Self {
        Self::new(RenderBudget::default())
    }
}

impl TemplateEngine {
    pub fn new(budget: RenderBudget) -> Self {
        Self {
            budget,
            reader: Arc::new(FileSystem),
        }
    }

    /// Imported templates are read by `reader` rather than from the file system.
    pub fn with_reader(self, reader: Arc<dyn TemplateReader>) -> Self {
        Self { reader, ..self }
    }

    pub fn budget(&self) -> &RenderBudget {
        &self.budget
    }

    /// Renders one template. Diagnostics point into `request.template`.
    pub fn render(&self, request: RenderRequest<'_>) -> Result<Rendered, Diagnostic> {
        if let Err(v) = check_source(request.template, &self.budget) {
            return Err(Diagnostic::error(Code::RenderBudget, v.message).at(v.span));
        }
        // The pipeline resolves dependencies with located errors; this guards
        // every other caller (and `[vars]` strings) against what would crash.
        for dependency in request.dependencies {
            if let Err(v) = check_source(&dependency.text, &self.budget) {
                return Err(Diagnostic::error(Code::RenderBudget, v.message)
                    .with_note(format!("in `{}`", dependency.name)));
            }
        }
        if let Some(cycle) = find_cycle(SCENARIO, request.template, request.dependencies) {
            let cycle = cycle.replace(SCENARIO, "the template");
            return Err(Diagnostic::error(Code::TemplateError, cycle).with_help(
                "a template may not import, include or extend itself, directly or through others",
            ));
        }
        check_call_depth(
            request.template,
            request.dependencies,
            self.budget.max_nesting,
        )?;
        if let Some(text) = substitute::try_render(
            request.template,
            &request.context.context,
            self.budget.max_output_bytes,
        ) {
            return Ok(Rendered {
                text,
                deterministic: true,
                env_reads: Vec::new(),
            });
        }
        let rewrite = |text: &str| {
            let rewritten = dialect::rewrite(text, request.dependencies);
            add_fuel(&rewritten).into_owned()
        };
        let template = rewrite(request.template);
        let mut templates: Vec<(String, String)> = request
            .dependencies
            .iter()
            .map(|d| (d.name.clone(), rewrite(&d.text)))
            .collect();
        templates.push((SCENARIO.to_string(), template.clone()));
        let job = worker::Job {
            base: Arc::clone(base()),
            templates,
            context: request.context.context.clone(),
            state: RenderState::new(
                request.determinism.freeze_clock.clone(),
                request.determinism.seed,
            ),
            output_limit: self.budget.max_output_bytes,
        };
        match worker::render(job, self.budget.time) {
            worker::Outcome::Done(Ok((bytes, state))) => Ok(Rendered {
                text: String::from_utf8_lossy(&bytes).into_owned(),
                deterministic: !state.nondeterministic,
                env_reads: state.env_reads,
            }),
            worker::Outcome::Done(Err(error)) => {
                Err(describe(&error).into_diagnostic(request.template, &template))
            }
            worker::Outcome::Unavailable(reason) => Err(Diagnostic::error(
                Code::TemplateError,
                format!("cannot render: {reason}"),
            )),
            worker::Outcome::TimedOut => Err(Diagnostic::error(
                Code::RenderBudget,
                format!(
                    "render budget: rendering took longer than {:?}",
                    self.budget.time
                ),
            )
            .with_help("look for loops over large ranges or lists")),
        }
    }
}

impl TemplateEngine {
    /// Finds the templates `template` imports, beside `dir` first, then the
    /// shipped library. Errors point at the import tag.
    pub fn dependencies(
        &self,
        template: &str,
        dir: Option<&Path>,
    ) -> Result<Vec<Dependency>, Diagnostic> {
        let resolved = imports::resolve(template, "the scenario", dir, &self.budget, &*self.reader);
        match resolved.error {
            Some(d) => Err(d),
            None => Ok(resolved.dependencies),
        }
    }

    /// The templates of the file at `path` (whose text is `template`): an
    /// import of the file itself is a cycle too.
    pub fn dependencies_of(&self, template: &str, path: &Path) -> Resolved {
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        imports::resolve(template, &name, path.parent(), &self.budget, &*self.reader)
    }
}

/// A Tera error, flattened to what a diagnostic needs.
#[derive(Debug)]
struct RenderFailure {
    message: String,
    template: Option<String>,
    location: Option<Location>,
    budget: bool,
    /// The template does not parse (rather than does not render).
    parse: bool,
}

fn location_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"--> (\d+):(\d+)").expect("static regex"))
}

fn template_name_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"'([^']+)'").expect("static regex"))
}

fn describe(error: &tera::Error) -> RenderFailure {
    let mut chain = vec![error.to_string()];
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        chain.push(inner.to_string());
        source = inner.source();
    }
    let joined = chain.join("\n");
    let location = location_regex().captures(&joined).and_then(|c| {
        Some(Location {
            line: c.get(1)?.as_str().parse().ok()?,
            column: c.get(2)?.as_str().parse().ok()?,
        })
    });
    let template = template_name_regex()
        .captures(&chain[0])
        .and_then(|c| c.get(1))
        .map(|m| m.as_str().to_string());
    // The most specific message is the innermost; pest's `= expected ...` line says most.
    let detail = chain
        .iter()
        .rev()
        .find_map(|m| {
            m.lines()
                .find_map(|l| l.trim().strip_prefix("= ").map(str::to_string))
        })
        .or_else(|| {
            chain
                .last()
                .map(|m| m.lines().next().unwrap_or_default().to_string())
        })
        .unwrap_or_default();
    let parse = chain[0].starts_with("Failed to parse");
    let headline = if parse {
        "the template does not parse"
    } else {
        "the template does not render"
    };
    let detail = detail
        .replace(&format!(" while rendering '{SCENARIO}'"), "")
        .replace(&format!("'{SCENARIO}'"), "the template");
    let message = if detail.is_empty() {
        headline.to_string()
    } else {
        format!("{headline}: {detail}")
    };
    RenderFailure {
        budget: joined.contains("render budget"),
        parse,
        message,
        template,
        location,
    }
}

fn backtick_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"`([^`]+)`").expect("static regex"))
}

impl RenderFailure {
    /// Locates the failure in the original template text.
    fn into_diagnostic(self, original: &str, rewritten: &str) -> Diagnostic {
        let code = if self.budget {
            Code::RenderBudget
        } else {
            Code::TemplateError
        };
        let mut diagnostic = Diagnostic::error(code, self.message.clone());
        if self.message.contains("`bin.") {
            diagnostic = diagnostic.with_help(
                "`bin.<name>` names a binary target of the crate or of its workspace's members, as `cargo metadata` lists them: check the name, and run from the crate's folder",
            );
        }
        let in_scenario = self.template.as_deref().is_none_or(|t| t == SCENARIO);
        if !in_scenario {
            if let (Some(name), Some(loc)) = (&self.template, self.location) {
                diagnostic =
                    diagnostic.with_note(format!("in `{name}` at {}:{}", loc.line, loc.column));
            }
            return diagnostic;
        }
        if let Some(loc) = self.location {
            // The dialect rewrite keeps lines, so a line of the rewritten text is a
            // line of the original; fuel calls are the only change on many of them.
            let original_file = SourceFile::new("", original);
            let line = loc.line.min(original_file.line_count());
            let rewritten_line = rewritten.lines().nth(line - 1).unwrap_or_default();
            let (unfueled, column) = without_fuel(rewritten_line, loc.column);
            let same_line = Some(unfueled.as_str()) == original.lines().nth(line - 1);
            let column = if same_line { column } else { 1 };
            let offset = original_file.offset_of(Location { line, column });
            let at_end = original[offset.min(original.len())..].trim().is_empty();
            if self.parse
                && at_end
                && let Some((kind, opened)) = unclosed_block(original)
            {
                let at = original_file.location(opened);
                diagnostic = diagnostic.with_note(format!(
                    "the `{kind}` block opened at {}:{} is never closed: add `{{% end{kind} %}}`",
                    at.line, at.column
                ));
            }
            return diagnostic.at(offset..offset);
        }
        let token = backtick_regex()
            .captures_iter(&self.message)
            .filter_map(|c| c.get(1))
            .map(|m| m.as_str().to_string())
            .find_map(|token| find_in_tags(original, &token));
        match token {
            Some(span) => diagnostic.at(span),
            None => diagnostic,
        }
    }
}

/// The first occurrence of `token` inside a `{{ }}` or `{% %}` tag.
fn find_in_tags(text: &str, token: &str) -> Option<std::ops::Range<usize>> {
    let mut from = 0;
    while let Some(rel) = text[from..].find(token) {
        let at = from + rel;
        let open = text[..at].rfind("{{").max(text[..at].rfind("{%"));
        let close = text[..at].rfind("}}").max(text[..at].rfind("%}"));
        if open.is_some() && open > close {
            return Some(at..at + token.len());
        }
        from = at + token.len().max(1);
    }
    None
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn render(engine: &TemplateEngine, template: &str) -> Result<Rendered, Diagnostic> {
        let context = RenderContext::new(serde_json::Map::new(), &[], &Default::default());
        engine.render(RenderRequest {
            template,
            dependencies: &[],
            context: &context,
            determinism: &Determinism::default(),
        })
    }

    #[test]
    fn a_render_past_its_deadline_is_abandoned_and_the_next_one_works() {
        let engine = TemplateEngine::new(RenderBudget {
            time: Duration::from_millis(1),
            ..RenderBudget::default()
        });
        let slow =
            "{% for a in range(end=300) %}{% for b in range(end=300) %}{% endfor %}{% endfor %}";
        let err = render(&engine, slow).expect_err("times out");
        assert_eq!(err.code, Code::RenderBudget);
        let engine = TemplateEngine::default();
        assert_eq!(render(&engine, "a{{ 1 + 1 }}").expect("renders").text, "a2");
    }

    #[test]
    fn loops_that_write_nothing_still_run_out_of_fuel_at_their_tag() {
        let context = RenderContext::new(
            serde_json::Map::from_iter([("l".to_string(), serde_json::json!(vec!["x"; 300]))]),
            &[],
            &Default::default(),
        );
        let nest = "[meta]\n{% for a in l %}{% for b in l %}{% for c in l %}{% endfor %}{% endfor %}{% endfor %}\n";
        let started = std::time::Instant::now();
        let err = TemplateEngine::default()
            .render(RenderRequest {
                template: nest,
                dependencies: &[],
                context: &context,
                determinism: &Determinism::default(),
            })
            .expect_err("27 million iterations");
        assert_eq!(err.code, Code::RenderBudget, "{err:?}");
        assert!(err.message.contains("at most 200000 times"), "{err:?}");
        assert_eq!(err.span, Some(10..13), "at the first `for`: {err:?}");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "before the deadline"
        );
    }

    #[test]
    fn an_error_after_a_loop_tag_keeps_its_column() {
        let engine = TemplateEngine::default();
        let looped =
            render(&engine, "x\n{% for x in [1] %}{{ x | }}{% endfor %}").expect_err("bad");
        // The same columns, without a loop.
        let plain = render(&engine, "x\n{% if true %}     {{ x | }}{% endif %}").expect_err("bad");
        assert!(looped.span.is_some(), "{looped:?}");
        assert_eq!(looped.span, plain.span, "{looped:?} / {plain:?}");
    }

    #[test]
    fn fuel_leaves_the_output_as_it_was() {
        let engine = TemplateEngine::default();
        let cases = [
            ("{%- for x in [1,2] -%}\n  {{ x }}\n{%- endfor %}", "12"),
            ("{% for x in [1,2] %}\n  {{ x }}{% endfor %}", "\n  1\n  2"),
            (
                "{% macro m(x) -%}\n <{{ x }}>{%- endmacro m %}{{ self::m(x=1) }}|{% for x in [] %}a{% else %}none{% endfor %}",
                "<1>|none",
            ),
        ];
        for (template, expected) in cases {
            assert_eq!(
                render(&engine, template).expect("renders").text,
                expected,
                "{template}"
            );
        }
    }

    #[test]
    fn a_failed_render_leaves_the_worker_clean() {
        let engine = TemplateEngine::default();
        assert!(render(&engine, "{{ missing }}").is_err());
        assert!(render(&engine, "{% import \"_macros.toml.tera\" as m %}ok").is_ok());
        assert_eq!(render(&engine, "x").expect("renders").text, "x");
    }

    #[test]
    fn a_template_importing_itself_is_a_cycle_at_its_tag() {
        let dir = tempfile::tempdir().expect("tempdir");
        let own = "{% import \"_macros.toml.tera\" as m %}\n";
        std::fs::write(dir.path().join(MACRO_LIBRARY), own).expect("write");
        let scenario = "[meta]\n{% import \"_macros.toml.tera\" as m %}\n";
        let path = dir.path().join("a.clnrm.toml.tera");
        let resolved = TemplateEngine::default().dependencies_of(scenario, &path);
        let error = resolved.error.expect("a cycle");
        assert_eq!(error.code, Code::TemplateError);
        assert_eq!(
            error.message,
            "import cycle: a.clnrm.toml.tera -> _macros.toml.tera -> _macros.toml.tera"
        );
        assert_eq!(error.span, Some(7..36));
        assert_eq!(error.notes, ["in `_macros.toml.tera` at 1:1"]);
        assert!(
            error
                .help
                .is_some_and(|h| h.contains("shipped macro library"))
        );
        assert_eq!(resolved.dependencies.len(), 1, "what was read is kept");
        let itself =
            TemplateEngine::default().dependencies_of(own, &dir.path().join(MACRO_LIBRARY));
        assert_eq!(
            itself.error.expect("a cycle").message,
            "import cycle: _macros.toml.tera -> _macros.toml.tera"
        );
    }

    #[test]
    fn a_cycle_through_two_files_and_a_diamond() {
        let dir = tempfile::tempdir().expect("tempdir");
        let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text);
        write("a.tera", "{% include \"b.tera\" %}").expect("write");
        write("b.tera", "{% include \"a.tera\" %}").expect("write");
        write("c.tera", "{% include \"d.tera\" %}").expect("write");
        write("d.tera", "d").expect("write");
        let engine = TemplateEngine::default();
        let path = dir.path().join("s.clnrm.toml.tera");
        let cycle = engine.dependencies_of("{% include \"a.tera\" %}", &path);
        assert_eq!(
            cycle.error.expect("a cycle").message,
            "import cycle: s.clnrm.toml.tera -> a.tera -> b.tera -> a.tera"
        );
        let diamond = "{% include \"c.tera\" %}{% include \"d.tera\" %}";
        let fine = engine.dependencies_of(diamond, &path);
        assert!(fine.error.is_none(), "{:?}", fine.error);
        assert_eq!(fine.dependencies.len(), 2);
    }
}
