//! The discover stage: find scenario files under paths or configured roots.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use walkdir::WalkDir;

use crate::source::special_file_kind;

/// File name endings that mark a scenario file.
pub(crate) const SCENARIO_SUFFIXES: &[&str] = &[".clnrm.toml", ".clnrm.toml.tera"];

/// One scenario file and the root its test name is relative to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct DiscoveredFile {
    /// Path relative to the root, forward slashes: the first part of test names.
    pub name: String,
    pub path: PathBuf,
    pub root: PathBuf,
}

/// Something discovery passed over (a symlink loop, an unreadable folder, a
/// FIFO named like a scenario file), with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveryIssue {
    pub path: PathBuf,
    pub message: String,
}

#[derive(Debug, Clone, Default)]
pub struct Discovery {
    pub files: Vec<DiscoveredFile>,
    pub(crate) issues: Vec<DiscoveryIssue>,
}

impl Discovery {
    /// What was passed over, and why; drivers say each once.
    pub fn issues(&self) -> &[DiscoveryIssue] {
        &self.issues
    }
}

pub fn is_scenario_file(path: &Path) -> bool {
    path.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
        SCENARIO_SUFFIXES
            .iter()
            .any(|s| n.ends_with(s) && n.len() > s.len())
    })
}

/// Folders discovery never enters: `target/` and hidden ones.
pub fn is_skipped_dir(name: &str) -> bool {
    name == "target" || (name.starts_with('.') && name != "." && name != "..")
}

/// The test name of `path` relative to `root`, with forward slashes.
pub fn test_path_name(path: &Path, root: &Path) -> String {
    let relative = path.strip_prefix(root).unwrap_or(path);
    relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Finds scenario files. Explicit paths win over roots; a file named
/// explicitly is a scenario whatever its name. A file inside a root is named
/// relative to that root, so every command names it as the harness does.
pub fn discover(paths: &[PathBuf], roots: &[PathBuf]) -> Discovery {
    let mut discovery = Discovery::default();
    let search: Vec<PathBuf> = if paths.is_empty() {
        roots.to_vec()
    } else {
        paths.to_vec()
    };
    for start in &search {
        if start.is_file() {
            let root = root_for(start, roots)
                .unwrap_or_else(|| start.parent().map(Path::to_path_buf).unwrap_or_default());
            discovery.files.push(DiscoveredFile {
                name: test_path_name(start, &root),
                path: start.clone(),
                root,
            });
            continue;
        }
        if !start.exists() {
            if !paths.is_empty() {
                discovery.issues.push(DiscoveryIssue {
                    path: start.clone(),
                    message: dangling_link(start).unwrap_or_else(|| missing(start)),
                });
            }
            continue;
        }
        walk(start, roots, &mut discovery);
    }
    // Root by root (as configured), then by name: one package's tests stay together.
    let root_rank = |f: &DiscoveredFile| {
        search
            .iter()
            .position(|s| f.path.starts_with(s))
            .unwrap_or(usize::MAX)
    };
    discovery
        .files
        .sort_by(|a, b| (root_rank(a), &a.name, &a.path).cmp(&(root_rank(b), &b.name, &b.path)));
    discovery.files.dedup_by(|a, b| a.path == b.path);
    discovery.issues.sort_by(|a, b| a.path.cmp(&b.path));
    discovery.issues.dedup();
    discovery
}

fn root_for(path: &Path, roots: &[PathBuf]) -> Option<PathBuf> {
    // Roots are absolute; a path given on the command line may be relative.
    let absolute = std::path::absolute(path).ok()?;
    roots
        .iter()
        .filter(|root| absolute.starts_with(root))
        .max_by_key(|root| root.components().count())
        .map(|root| {
            // Name the file relative to the root, in the spelling the path was given.
            let depth = absolute.components().count() - root.components().count();
            let mut prefix = path.to_path_buf();
            for _ in 0..depth {
                prefix.pop();
            }
            prefix
        })
}

fn walk(dir: &Path, roots: &[PathBuf], discovery: &mut Discovery) {
    let root = root_for(dir, roots).unwrap_or_else(|| dir.to_path_buf());
    // Folders searched, by their real path: a link to a folder searched
    // already (the root's parent, a sibling) would find its files twice.
    let mut searched: HashSet<PathBuf> = HashSet::new();
    let mut repeats: Vec<DiscoveryIssue> = Vec::new();
    let walker = WalkDir::new(dir)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            if !e.file_type().is_dir() {
                return true;
            }
            if e.depth() > 0 && e.file_name().to_str().is_some_and(is_skipped_dir) {
                return false;
            }
            let Ok(real) = std::fs::canonicalize(e.path()) else {
                return true;
            };
            if searched.insert(real.clone()) {
                return true;
            }
            repeats.push(DiscoveryIssue {
                path: e.path().to_path_buf(),
                message: format!(
                    "a symlink to {}, which is searched already; not followed",
                    real.display()
                ),
            });
            false
        });
    for entry in walker {
        let entry = match entry {
            Ok(entry) => entry,
            Err(error) => {
                discovery.issues.extend(walk_issue(&error, dir));
                continue;
            }
        };
        let file_type = entry.file_type();
        let named = entry.depth() == 0 || is_scenario_file(entry.path());
        if file_type.is_file() && named {
            let root = root_for(entry.path(), roots).unwrap_or_else(|| root.clone());
            discovery.files.push(DiscoveredFile {
                name: test_path_name(entry.path(), &root),
                path: entry.path().to_path_buf(),
                root: root.clone(),
            });
        } else if named && let Some(kind) = special_file_kind(file_type) {
            // Never opened: a FIFO would block the reader until a writer came.
            discovery.issues.push(DiscoveryIssue {
                path: entry.path().to_path_buf(),
                message: format!("{kind}, not a regular file"),
            });
        }
    }
    discovery.issues.extend(repeats);
}

/// Why the walk passed over a path, when it matters: a folder it could not
/// enter, or a link named like a scenario file that leads nowhere. Other
/// broken links are no scenario files and pass silently.
fn walk_issue(error: &walkdir::Error, dir: &Path) -> Option<DiscoveryIssue> {
    let path = error.path().unwrap_or(dir).to_path_buf();
    if let Some(ancestor) = error.loop_ancestor() {
        return Some(DiscoveryIssue {
            message: format!(
                "a symlink loop (it leads back to {}); not followed",
                ancestor.display()
            ),
            path,
        });
    }
    let is_dir = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir());
    if !is_dir && !is_scenario_file(&path) && path != dir {
        return None;
    }
    let io = error.io_error();
    let message = if let Some(dangling) = dangling_link(&path) {
        dangling
    } else if io.is_some_and(|e| e.kind() == std::io::ErrorKind::PermissionDenied) {
        if is_dir {
            "cannot read this folder: permission denied; make it readable (for example `chmod a+rx`) to have its scenario files checked".into()
        } else {
            "permission denied".into()
        }
    } else if io.and_then(std::io::Error::raw_os_error) == Some(nix::errno::Errno::ELOOP as i32) {
        "a symlink loop (too many levels of symbolic links)".into()
    } else {
        io.map_or_else(|| error.to_string(), ToString::to_string)
    };
    Some(DiscoveryIssue { path, message })
}

/// Why `path`, named on the command line, is not there to search.
fn missing(path: &Path) -> String {
    match std::fs::metadata(path) {
        Err(e) if e.raw_os_error() == Some(nix::errno::Errno::ELOOP as i32) => {
            "a symlink loop (too many levels of symbolic links)".into()
        }
        _ => "no such file or directory".into(),
    }
}

/// "a dangling symlink ..." when `path` is a link whose target does not exist.
fn dangling_link(path: &Path) -> Option<String> {
    let target = std::fs::read_link(path).ok()?;
    let gone = std::fs::metadata(path)
        .err()
        .is_some_and(|e| e.kind() == std::io::ErrorKind::NotFound);
    gone.then(|| {
        format!(
            "a dangling symlink (its target {} does not exist)",
            target.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenario_suffixes() {
        assert!(is_scenario_file(Path::new("a/b.clnrm.toml")));
        assert!(is_scenario_file(Path::new("b.clnrm.toml.tera")));
        assert!(!is_scenario_file(Path::new(".clnrm.toml")));
        assert!(!is_scenario_file(Path::new("b.toml")));
    }

    #[test]
    fn finds_sorted_skips_target_and_hidden_and_survives_loops() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for p in [
            "b.clnrm.toml",
            "a/z.clnrm.toml.tera",
            "a/y.clnrm.toml",
            "target/t.clnrm.toml",
            ".git/h.clnrm.toml",
            "a/notes.toml",
        ] {
            let path = root.join(p);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "").unwrap();
        }
        #[cfg(unix)]
        std::os::unix::fs::symlink(root, root.join("a/loop")).unwrap();
        let found = discover(&[], &[root.to_path_buf()]);
        let names: Vec<_> = found.files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            ["a/y.clnrm.toml", "a/z.clnrm.toml.tera", "b.clnrm.toml"]
        );
        #[cfg(unix)]
        assert!(found.issues.iter().any(|i| i.message.contains("loop")));
    }

    #[cfg(unix)]
    #[test]
    fn what_is_not_a_file_is_an_issue_with_its_reason_and_never_opened() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("ok.clnrm.toml"), "").unwrap();
        let mode = nix::sys::stat::Mode::S_IRWXU;
        nix::unistd::mkfifo(&root.join("x.clnrm.toml"), mode).unwrap();
        nix::unistd::mkfifo(&root.join("notes.fifo"), mode).unwrap();
        std::os::unix::fs::symlink("nowhere", root.join("d.clnrm.toml")).unwrap();
        std::os::unix::fs::symlink("nowhere", root.join("other")).unwrap();
        std::fs::create_dir(root.join("sub")).unwrap();
        std::os::unix::fs::symlink(root, root.join("sub/again")).unwrap();
        let found = discover(&[], &[root.to_path_buf()]);
        assert_eq!(found.files.len(), 1);
        let issues: Vec<(String, &str)> = (found.issues().iter())
            .map(|i| (test_path_name(&i.path, root), i.message.as_str()))
            .collect();
        assert_eq!(
            issues,
            [
                (
                    "d.clnrm.toml".to_string(),
                    "a dangling symlink (its target nowhere does not exist)"
                ),
                (
                    "sub/again".to_string(),
                    &*format!(
                        "a symlink loop (it leads back to {}); not followed",
                        root.display()
                    )
                ),
                ("x.clnrm.toml".to_string(), "a FIFO, not a regular file"),
            ]
        );
        // Named on its own, a FIFO is an issue too (whatever its name).
        let named = discover(&[root.join("notes.fifo")], &[]);
        assert_eq!(named.issues()[0].message, "a FIFO, not a regular file");
        std::os::unix::fs::symlink("l2", root.join("l1")).unwrap();
        std::os::unix::fs::symlink("l1", root.join("l2")).unwrap();
        let looped = discover(&[root.join("l1")], &[]);
        assert_eq!(
            looped.issues()[0].message,
            "a symlink loop (too many levels of symbolic links)"
        );
    }

    #[test]
    fn explicit_files_count_whatever_their_name() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("old.toml");
        std::fs::write(&file, "").unwrap();
        let found = discover(&[file], &[]);
        assert_eq!(found.files[0].name, "old.toml");
    }
}
