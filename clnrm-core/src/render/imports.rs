//! The templates a scenario imports, includes or extends: found beside it
//! (or the shipped macro library), checked against the budget, and refused
//! when they form a cycle. Tera follows a cycle until its thread's stack
//! overflows, which aborts the process, so no cycle ever reaches it.

use std::collections::HashSet;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use regex::Regex;

use super::budget::{RenderBudget, check_source};
use super::library::MACRO_LIBRARY;
use super::reader::TemplateReader;
use crate::diagnostic::{Code, Diagnostic};
use crate::source::SourceFile;

/// Imports may be nested this deep.
const MAX_IMPORT_DEPTH: usize = 8;

/// A template the rendered file imports, includes or extends.
#[derive(Debug, Clone)]
pub struct Dependency {
    pub name: String,
    /// `None` for the shipped macro library.
    pub path: Option<PathBuf>,
    pub text: Arc<str>,
}

/// What was found of a file's templates, and the first problem on the way.
#[derive(Debug, Clone, Default)]
pub struct Resolved {
    /// Every template read, also when `error` is set (watch re-validates the
    /// file when one of them changes, for instance to break a cycle).
    pub dependencies: Vec<Dependency>,
    /// Located at the file's own tag that leads to the problem.
    pub error: Option<Diagnostic>,
}

fn tag_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r#"\{%-?\s*(?:import|include|extends)\s+["']([^"']+)["']"#)
            .expect("static regex")
    })
}

/// The names a template imports, includes or extends, found or not (watch
/// re-renders a file when one of them appears).
pub fn imported_names(template: &str) -> impl Iterator<Item = &str> {
    (tag_regex().captures_iter(template)).filter_map(|c| c.get(1).map(|m| m.as_str()))
}

/// `a -> b -> a`.
fn cycle_text(chain: &[String], back_to: &str) -> String {
    let mut names: Vec<&str> = chain.iter().map(String::as_str).collect();
    names.push(back_to);
    format!("import cycle: {}", names.join(" -> "))
}

fn cycle_diagnostic(chain: &[String], back_to: &str, local: bool) -> Diagnostic {
    let d = Diagnostic::error(Code::TemplateError, cycle_text(chain, back_to));
    if local && back_to == MACRO_LIBRARY {
        d.with_help(format!(
            "a `{MACRO_LIBRARY}` beside the scenario takes the place of the shipped macro library, so importing `{MACRO_LIBRARY}` from it imports itself; give the local file another name to use both"
        ))
    } else {
        d.with_help(
            "a template may not import, include or extend itself, directly or through others",
        )
    }
}

struct Resolver<'a> {
    budget: &'a RenderBudget,
    reader: &'a dyn TemplateReader,
    found: Vec<Dependency>,
    seen: HashSet<String>,
    /// The templates being read, outermost first (the file itself first).
    chain: Vec<String>,
}

impl Resolver<'_> {
    /// Reads the templates `text` names. An error comes with the place of
    /// the tag in `text`; the caller re-locates it when `text` is not the file.
    fn collect(
        &mut self,
        text: &str,
        dir: Option<&Path>,
    ) -> Result<(), (Diagnostic, Range<usize>)> {
        for caps in tag_regex().captures_iter(text) {
            let (Some(tag), Some(name)) = (caps.get(0), caps.get(1)) else {
                continue;
            };
            let span = tag.range();
            let name = name.as_str();
            let fail = |d: Diagnostic| Err((d, span.clone()));
            let beside = dir.map(|d| d.join(name));
            if self.chain.iter().any(|c| c == name) {
                // Only the help for the macro library says whether it is local.
                let local = name == MACRO_LIBRARY
                    && (beside.as_deref())
                        .is_some_and(|p| matches!(self.reader.read(p), Ok(Some(_))));
                return fail(cycle_diagnostic(&self.chain, name, local));
            }
            if self.seen.contains(name) {
                continue;
            }
            if self.chain.len() > MAX_IMPORT_DEPTH {
                return fail(Diagnostic::error(
                    Code::RenderBudget,
                    format!("render budget: imports are nested more than {MAX_IMPORT_DEPTH} deep"),
                ));
            }
            let read = match &beside {
                Some(path) => self.reader.read(path),
                None => Ok(None),
            };
            let text = match read {
                Ok(text) => text,
                Err(e) => {
                    let path = (beside.as_deref())
                        .map(|p| (self.reader.named(p)).unwrap_or_else(|| p.display().to_string()))
                        .unwrap_or_default();
                    return fail(Diagnostic::error(
                        Code::TemplateError,
                        format!("cannot read `{path}`: {e}"),
                    ));
                }
            };
            let dependency = match text {
                Some(text) => Dependency {
                    name: name.to_string(),
                    path: beside,
                    text: text.into(),
                },
                None if name == MACRO_LIBRARY => {
                    self.seen.insert(name.to_string());
                    continue;
                }
                None => {
                    let d = Diagnostic::error(Code::TemplateError, format!("template `{name}` not found"))
                        .with_help(format!(
                            "put `{name}` beside the scenario file, or import the shipped `{MACRO_LIBRARY}`"
                        ));
                    let looked = beside.as_deref().and_then(|p| self.reader.named(p));
                    return fail(match looked {
                        Some(looked) => d.with_note(format!("looked for `{looked}`")),
                        None => d,
                    });
                }
            };
            if let Err(v) = check_source(&dependency.text, self.budget) {
                return fail(
                    Diagnostic::error(Code::RenderBudget, v.message)
                        .with_note(format!("in `{name}`")),
                );
            }
            self.seen.insert(name.to_string());
            let nested_dir = (dependency.path.as_deref())
                .and_then(Path::parent)
                .map(Path::to_path_buf);
            let nested_text = dependency.text.clone();
            self.found.push(dependency);
            self.chain.push(name.to_string());
            let nested = self.collect(&nested_text, nested_dir.as_deref());
            self.chain.pop();
            if let Err((d, inner)) = nested {
                let at = SourceFile::new(name, &*nested_text).location(inner.start);
                let note = format!("in `{name}` at {}:{}", at.line, at.column);
                return fail(d.with_note(note));
            }
        }
        Ok(())
    }
}

/// The templates `template` (Tera name `name`, found in `dir`) imports,
/// includes or extends, read by `reader` and each checked against `budget`. The error is located
/// at the tag in `template` that leads to it.
pub(crate) fn resolve(
    template: &str,
    name: &str,
    dir: Option<&Path>,
    budget: &RenderBudget,
    reader: &dyn TemplateReader,
) -> Resolved {
    let mut resolver = Resolver {
        budget,
        reader,
        found: Vec::new(),
        seen: HashSet::new(),
        chain: vec![name.to_string()],
    };
    let error = resolver
        .collect(template, dir)
        .err()
        .map(|(d, span)| d.at(span));
    Resolved {
        dependencies: resolver.found,
        error,
    }
}

/// A cycle among templates about to be rendered, whoever resolved them: the
/// template being rendered is `root` (its Tera name), `dependencies` are known
/// by name. The first cycle found, as `a -> b -> a`.
pub(crate) fn find_cycle(
    root: &str,
    template: &str,
    dependencies: &[Dependency],
) -> Option<String> {
    fn visit(
        name: &str,
        text: &str,
        dependencies: &[Dependency],
        chain: &mut Vec<String>,
        done: &mut HashSet<String>,
    ) -> Option<String> {
        chain.push(name.to_string());
        for next in imported_names(text) {
            if chain.iter().any(|c| c == next) {
                return Some(cycle_text(chain, next));
            }
            if done.contains(next) {
                continue;
            }
            let Some(dependency) = dependencies.iter().find(|d| d.name == next) else {
                continue;
            };
            if let Some(cycle) = visit(next, &dependency.text, dependencies, chain, done) {
                return Some(cycle);
            }
        }
        chain.pop();
        done.insert(name.to_string());
        None
    }
    visit(
        root,
        template,
        dependencies,
        &mut Vec::new(),
        &mut HashSet::new(),
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::io;

    use super::super::reader::FileSystem;
    use super::*;

    /// Templates in memory, named `mem:path`; `broken` fails to read.
    #[derive(Debug, Default)]
    struct Memory(BTreeMap<PathBuf, &'static str>);

    impl TemplateReader for Memory {
        fn read(&self, path: &Path) -> io::Result<Option<String>> {
            if path.ends_with("broken.tera") {
                return Err(io::Error::other("boom"));
            }
            Ok(self.0.get(path).map(|t| t.to_string()))
        }

        fn named(&self, path: &Path) -> Option<String> {
            Some(format!("mem:{}", path.display()))
        }
    }

    fn resolve_in(reader: &dyn TemplateReader, template: &str) -> Resolved {
        let dir = Path::new("no-such-folder");
        resolve(template, "s", Some(dir), &RenderBudget::default(), reader)
    }

    #[test]
    fn imports_and_nested_imports_come_from_the_reader() {
        let memory = Memory(BTreeMap::from([
            (
                PathBuf::from("no-such-folder/m.tera"),
                "{% include \"sub/n.tera\" %}",
            ),
            (PathBuf::from("no-such-folder/sub/n.tera"), "n"),
        ]));
        let resolved = resolve_in(&memory, "{% import \"m.tera\" as m %}");
        assert!(resolved.error.is_none(), "{:?}", resolved.error);
        let found: Vec<(&str, &str)> = (resolved.dependencies.iter())
            .map(|d| (d.name.as_str(), &*d.text))
            .collect();
        assert_eq!(
            found,
            [
                ("m.tera", "{% include \"sub/n.tera\" %}"),
                ("sub/n.tera", "n")
            ]
        );
        assert_eq!(
            resolved.dependencies[1].path.as_deref(),
            Some(Path::new("no-such-folder/sub/n.tera"))
        );
    }

    #[test]
    fn what_the_reader_lacks_is_not_found_where_it_names_it() {
        let memory = Memory::default();
        // The shipped library when the reader has no local one.
        let library = resolve_in(&memory, "{% import \"_macros.toml.tera\" as m %}");
        assert!(library.error.is_none(), "{:?}", library.error);
        assert!(library.dependencies.is_empty());
        let missing = resolve_in(&memory, "x {% import \"m.tera\" as m %}");
        let error = missing.error.expect("not found");
        assert_eq!(error.message, "template `m.tera` not found");
        assert_eq!(error.span, Some(2..20), "at the tag");
        assert_eq!(error.notes, ["looked for `mem:no-such-folder/m.tera`"]);
        let broken = resolve_in(&memory, "{% include \"broken.tera\" %}");
        assert_eq!(
            broken.error.expect("unreadable").message,
            "cannot read `mem:no-such-folder/broken.tera`: boom"
        );
        // The file system names a path as it is: no note.
        let on_disk = resolve_in(&FileSystem, "{% import \"m.tera\" as m %}");
        assert!(on_disk.error.expect("not found").notes.is_empty());
    }

    fn dependency(name: &str, text: &str) -> Dependency {
        Dependency {
            name: name.into(),
            path: None,
            text: text.into(),
        }
    }

    #[test]
    fn cycles_are_found_among_given_dependencies() {
        let deps = [
            dependency("a", "{% include \"b\" %}"),
            dependency("b", "{% include \"a\" %}"),
        ];
        assert_eq!(
            find_cycle("s", "{% import \"a\" as a %}", &deps).as_deref(),
            Some("import cycle: s -> a -> b -> a")
        );
        assert_eq!(
            find_cycle("s", "{% include \"s\" %}", &[]).as_deref(),
            Some("import cycle: s -> s")
        );
        assert_eq!(
            find_cycle("s", "{% include \"d\" %}", &[dependency("d", "x")]),
            None
        );
    }
}
