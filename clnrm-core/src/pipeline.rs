//! One file through prepare -> render -> parse -> validate, shared by every driver.

use std::sync::Arc;
use std::time::Instant;

use serde_json::{Map, Value as Json};

use crate::cache::{CacheKey, RenderCache};
use crate::diagnostic::{Code, Diagnostic};
use crate::discover::DiscoveredFile;
use crate::prepare::{Combination, prepare};
use crate::render::{
    Dependency, LineMap, RenderContext, RenderRequest, TemplateEngine, TemplateReader, VarInputs,
    lower_layers, needs_rendering,
};
use crate::scenario::{Determinism, ScenarioFile, parse_scenario};
use crate::source::{Location, ReadError, SourceFile, decode_source, read_source};
use crate::validate::{ValidateOptions, validate};

/// A file's renderings (one per matrix combination) may take this many
/// times the render budget's time together.
const FILE_RENDER_TIMES: u32 = 4;

/// One matrix combination of a file, rendered and parsed.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Variant {
    pub combination: Combination,
    /// The model; its spans point into `rendered` (or the raw text if not a template).
    pub file: Option<ScenarioFile>,
    pub rendered: Option<SourceFile>,
    pub line_map: LineMap,
    pub cache_hit: bool,
}

impl Variant {
    /// Where a model span is in the file the user wrote.
    pub fn locate(&self, raw: &SourceFile, span: std::ops::Range<usize>) -> Location {
        match &self.rendered {
            Some(rendered) => raw.location(self.line_map.map_span(rendered, raw, span).start),
            None => raw.location(span.start),
        }
    }
}

/// Everything known about one scenario file after validation.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct FileReport {
    pub discovered: DiscoveredFile,
    pub source: SourceFile,
    pub variants: Vec<Variant>,
    /// Every problem, with spans in `source`, in file order, without repeats.
    pub diagnostics: Vec<Diagnostic>,
    /// Templates read besides the file (for watch: a change there affects it).
    pub dependencies: Vec<Dependency>,
}

impl FileReport {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// The stages from reading a file to its diagnostics.
#[derive(Debug, Default)]
pub struct Pipeline {
    pub(crate) engine: TemplateEngine,
    pub cache: RenderCache,
    pub(crate) inputs: VarInputs,
    pub(crate) options: ValidateOptions,
    /// Environment and default variables, read once per process.
    lower_layers: std::sync::OnceLock<Map<String, Json>>,
}

impl Pipeline {
    pub(crate) fn new(inputs: VarInputs, options: ValidateOptions) -> Self {
        Self {
            inputs,
            options,
            ..Self::default()
        }
    }

    /// Templates the files import are read by `reader` (default: the file
    /// system); `diff --rev` reads them at the revision.
    pub fn with_template_reader(mut self, reader: Arc<dyn TemplateReader>) -> Self {
        self.engine = self.engine.with_reader(reader);
        self
    }

    /// Reads and processes one discovered file.
    pub fn process(&self, discovered: &DiscoveredFile) -> FileReport {
        self.process_read(discovered, read_source(&discovered.path))
    }

    /// Processes what reading `discovered.path` gave: its bytes, or why
    /// there are none. Bytes that are not text are an error at the first bad
    /// byte; an unreadable file is one error with the next step to take.
    pub fn process_read(
        &self,
        discovered: &DiscoveredFile,
        read: Result<Vec<u8>, ReadError>,
    ) -> FileReport {
        let error = match read.map(decode_source) {
            Ok(Ok(text)) => return self.process_text(discovered, text),
            Ok(Err(not_text)) => {
                let span = not_text.span();
                let diagnostic = Diagnostic::error(
                    Code::Io,
                    format!("the file is not text: {}", not_text.problem),
                )
                .at(span)
                .with_help(
                    "scenario files are UTF-8 text without NUL bytes; save the file as UTF-8",
                );
                return unread(discovered, not_text.text, diagnostic);
            }
            Err(error) => error,
        };
        let mut diagnostic = Diagnostic::error(Code::Io, format!("cannot read the file: {error}"));
        if let Some(step) = error.next_step() {
            diagnostic = diagnostic.with_help(step);
        }
        unread(discovered, String::new(), diagnostic)
    }

    /// Processes text as if read from `discovered.path`.
    pub fn process_text(&self, discovered: &DiscoveredFile, text: String) -> FileReport {
        let source = SourceFile::new(&discovered.path, text);
        let prepared = prepare(source.text());
        let mut diagnostics = prepared.diagnostics.clone();
        let mut variants = Vec::with_capacity(prepared.combinations.len());
        let mut dependencies = Vec::new();
        let templated = needs_rendering(&discovered.path, source.text());
        if templated {
            let resolved = self.engine.dependencies_of(source.text(), &discovered.path);
            dependencies = resolved.dependencies;
            diagnostics.extend(resolved.error);
        }
        let blocked = diagnostics.iter().any(Diagnostic::is_error);
        let started = Instant::now();
        let render_time = self.engine.budget().time * FILE_RENDER_TIMES;
        let combinations = prepared.combinations.len();
        for (index, combination) in prepared.combinations.iter().enumerate() {
            if blocked {
                break;
            }
            if templated && index > 0 && started.elapsed() > render_time {
                diagnostics.push(
                    Diagnostic::error(
                        Code::RenderBudget,
                        format!(
                            "render budget: rendering the {combinations} matrix combinations took longer than {render_time:?}; {index} were rendered"
                        ),
                    )
                    .at(table_span(source.text(), "[matrix]"))
                    .with_help("use fewer values, or make the template cheaper"),
                );
                break;
            }
            let before = diagnostics.len();
            let variant = if templated {
                self.render_variant(
                    &source,
                    &dependencies,
                    &prepared.vars,
                    &prepared.determinism,
                    combination,
                    &mut diagnostics,
                )
            } else {
                let parsed = parse_scenario(source.text());
                diagnostics.extend(parsed.diagnostics);
                Some(Variant {
                    combination: combination.clone(),
                    file: parsed.file,
                    rendered: None,
                    line_map: LineMap::identity(),
                    cache_hit: false,
                })
            };
            // A template past its budget in one combination is past it in
            // the others too, and each would cost as much again.
            let over = (diagnostics[before..].iter_mut()).find(|d| d.code == Code::RenderBudget);
            let over_budget = over.is_some();
            let left = combinations - index - 1;
            if let Some(over) = over
                && left > 0
            {
                over.notes.push(format!(
                    "the other {left} matrix combinations were not rendered"
                ));
            }
            let Some(variant) = variant else {
                if over_budget {
                    break;
                }
                continue;
            };
            if let Some(file) = &variant.file {
                let found = validate(file, self.options);
                diagnostics.extend(match &variant.rendered {
                    Some(rendered) => found
                        .into_iter()
                        .map(|d| map_to_template(d, rendered, &source, &variant.line_map))
                        .collect(),
                    None => found,
                });
            }
            variants.push(variant);
            if over_budget {
                break;
            }
        }
        // Under strict mode nothing passes unchecked: what the parser
        // accepted without checking it is an error too.
        let strict = self.options.strict
            || (variants.iter()).any(|v| v.file.as_ref().is_some_and(|f| f.header.strict));
        if strict {
            for d in diagnostics
                .iter_mut()
                .filter(|d| d.code == Code::NotSupportedYet)
            {
                d.severity = crate::diagnostic::Severity::Error;
            }
        }
        diagnostics.sort_by_key(|d| d.span.as_ref().map_or(0, |s| s.start));
        dedup_unordered(&mut diagnostics);
        FileReport {
            discovered: discovered.clone(),
            source,
            variants,
            diagnostics,
            dependencies,
        }
    }

    fn render_variant(
        &self,
        source: &SourceFile,
        dependencies: &[Dependency],
        file_vars: &Map<String, Json>,
        determinism: &Determinism,
        combination: &Combination,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Option<Variant> {
        let vars = match self.resolve_vars(file_vars, determinism) {
            Ok(vars) => vars,
            Err(d) => {
                diagnostics.push(d.at(vars_span(source.text())));
                return None;
            }
        };
        let bins = self
            .inputs
            .bins_for(std::iter::once(source.text()).chain(dependencies.iter().map(|d| &*d.text)));
        let context = RenderContext::new(vars, &combination.values, &bins);
        let determinism = &match self.resolve_determinism(determinism, &context) {
            Ok(resolved) => resolved,
            Err(d) => {
                diagnostics.push(
                    d.at(source
                        .text()
                        .find("[determinism]")
                        .map_or(0..0, |i| i..i + 13)),
                );
                return None;
            }
        };
        let key = CacheKey::new(source.text(), dependencies, &context);
        let (text, cache_hit) = match self.cache.get(&key) {
            Some(text) => (text, true),
            None => {
                let request = RenderRequest {
                    template: source.text(),
                    dependencies,
                    context: &context,
                    determinism,
                };
                match self.engine.render(request) {
                    Ok(rendered) => (self.cache.insert(key, &rendered), false),
                    Err(d) => {
                        diagnostics.push(d);
                        return None;
                    }
                }
            }
        };
        let rendered = SourceFile::new(source.path(), text.to_string());
        let line_map = LineMap::new(source.text(), rendered.text());
        let parsed = parse_scenario(rendered.text());
        diagnostics.extend(
            parsed
                .diagnostics
                .into_iter()
                .map(|d| map_to_template(d, &rendered, source, &line_map)),
        );
        Some(Variant {
            combination: combination.clone(),
            file: parsed.file,
            rendered: Some(rendered),
            line_map,
            cache_hit,
        })
    }

    /// A `freeze_clock` written as a template is rendered with the file's variables.
    fn resolve_determinism(
        &self,
        determinism: &Determinism,
        context: &RenderContext,
    ) -> Result<Determinism, Diagnostic> {
        let Some(clock) = determinism
            .freeze_clock
            .as_deref()
            .filter(|c| c.contains("{{"))
        else {
            return Ok(determinism.clone());
        };
        let frozen = Determinism {
            seed: determinism.seed,
            freeze_clock: None,
        };
        let request = RenderRequest {
            template: clock,
            dependencies: &[],
            context,
            determinism: &frozen,
        };
        let rendered = self.engine.render(request).map_err(|d| {
            Diagnostic::error(
                d.code,
                format!("in `[determinism]` `freeze_clock`: {}", d.message),
            )
        })?;
        let text = rendered.text.trim().to_string();
        humantime::parse_rfc3339_weak(&text).map_err(|e| {
            Diagnostic::error(
                Code::InvalidValue,
                format!(
                    "`determinism.freeze_clock` renders to {text:?}, not an RFC 3339 time ({e})"
                ),
            )
        })?;
        Ok(Determinism {
            seed: determinism.seed,
            freeze_clock: Some(text),
        })
    }

    /// `--var` > `[vars]` > environment > defaults; a `[vars]` value with
    /// template syntax (`svc = "{{ svc }}"`) is rendered against the lower layers.
    fn resolve_vars(
        &self,
        file_vars: &Map<String, Json>,
        determinism: &Determinism,
    ) -> Result<Map<String, Json>, Diagnostic> {
        let mut merged = self.lower_layers.get_or_init(lower_layers).clone();
        let needs_lower_context = file_vars
            .values()
            .any(|v| matches!(v, Json::String(s) if s.contains("{{") || s.contains("{%")));
        let lower_context = needs_lower_context.then(|| {
            let bins = self
                .inputs
                .bins_for(file_vars.values().filter_map(Json::as_str));
            RenderContext::new(merged.clone(), &[], &bins)
        });
        for (key, value) in file_vars {
            let value = match value {
                Json::String(s)
                    if let Some(lower_context) = lower_context.as_ref()
                        && (s.contains("{{") || s.contains("{%")) =>
                {
                    let request = RenderRequest {
                        template: s,
                        dependencies: &[],
                        context: lower_context,
                        determinism,
                    };
                    let rendered = self.engine.render(request).map_err(|d| {
                        Diagnostic::error(d.code, format!("in `[vars]` `{key}`: {}", d.message))
                    })?;
                    Json::String(rendered.text)
                }
                other => other.clone(),
            };
            merged.insert(key.clone(), value);
        }
        for (key, value) in &self.inputs.overrides {
            merged.insert(key.clone(), Json::String(value.clone()));
        }
        Ok(merged)
    }
}

/// The report of a file that was not processed, with the one reason why.
fn unread(discovered: &DiscoveredFile, text: String, diagnostic: Diagnostic) -> FileReport {
    FileReport {
        discovered: discovered.clone(),
        source: SourceFile::new(&discovered.path, text),
        variants: Vec::new(),
        diagnostics: vec![diagnostic],
        dependencies: Vec::new(),
    }
}

fn vars_span(text: &str) -> std::ops::Range<usize> {
    table_span(text, "[vars]")
}

fn table_span(text: &str, header: &str) -> std::ops::Range<usize> {
    text.find(header).map_or(0..0, |i| i..i + header.len())
}

fn map_to_template(
    mut d: Diagnostic,
    rendered: &SourceFile,
    template: &SourceFile,
    map: &LineMap,
) -> Diagnostic {
    if let Some(span) = d.span.take() {
        d.span = Some(map.map_span(rendered, template, span));
    }
    d
}

/// The same problem found in several matrix combinations is reported once.
fn dedup_unordered(diagnostics: &mut Vec<Diagnostic>) {
    let mut seen = std::collections::HashSet::new();
    diagnostics.retain(|d| seen.insert((d.code, d.message.clone(), d.span.clone())));
}

/// Processes files on all cores, keeping their order.
pub(crate) fn process_all(pipeline: &Pipeline, files: &[DiscoveredFile]) -> Vec<FileReport> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(files.len().max(1));
    if workers <= 1 || files.len() < 8 {
        return files.iter().map(|f| pipeline.process(f)).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut slots: Vec<Option<FileReport>> = vec![None; files.len()];
    let results = std::sync::Mutex::new(&mut slots);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(file) = files.get(i) else { break };
                    let report = pipeline.process(file);
                    results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(report);
                }
            });
        }
    });
    slots.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discover::discover;

    /// Found, then gone or swapped for a FIFO before it is read: one error
    /// with the next step, no panic, nothing opened.
    #[test]
    fn a_file_that_changes_after_discovery_is_one_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.clnrm.toml");
        std::fs::write(&path, "[meta]\nname = \"a\"\n").unwrap();
        let found = discover(&[], &[dir.path().to_path_buf()]).files;
        assert_eq!(found.len(), 1);
        let pipeline = Pipeline::default();

        std::fs::remove_file(&path).unwrap();
        let gone = pipeline.process(&found[0]);
        assert_eq!(gone.diagnostics.len(), 1);
        let d = &gone.diagnostics[0];
        assert_eq!(d.code, Code::Io);
        assert!(d.message.contains("the file is gone"), "{d:?}");
        assert!(d.help.is_some(), "{d:?}");

        nix::unistd::mkfifo(&path, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let fifo = pipeline.process(&found[0]);
        assert_eq!(
            fifo.diagnostics[0].message,
            "cannot read the file: a FIFO, not a regular file"
        );
    }

    #[test]
    fn bytes_that_are_not_text_are_an_error_at_the_first_bad_byte() {
        let found = DiscoveredFile {
            name: "a.clnrm.toml".into(),
            path: "a.clnrm.toml".into(),
            root: ".".into(),
        };
        let report = Pipeline::default().process_read(&found, Ok(b"[meta]\nx\xff".to_vec()));
        let d = &report.diagnostics[0];
        assert_eq!(
            report.source.location(d.span.clone().unwrap().start).line,
            2
        );
        assert_eq!(&report.source.text()[d.span.clone().unwrap()], "\u{fffd}");
    }
}
