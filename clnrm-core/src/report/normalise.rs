//! A report with what changes from run to run taken out: durations, times,
//! random ids, ports, temporary folders and the workspace's absolute paths,
//! and its objects' keys in one order. Two runs of the same scenarios that
//! behave the same give the same normalised report, byte for byte; its
//! SHA-256 is the report's digest.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use regex::{Captures, Regex};
use serde_json::{Map, Value};

/// What [`Normaliser::text`] puts in place of each volatile part.
pub mod placeholder {
    /// A run's container or network name, `clnrm-<pid>-<hex>-<hex>`.
    pub const NAME: &str = "clnrm-<name>";
    /// A scenario's temporary folder, `<temp dir>/clnrm-XXXXXX`.
    pub const TEMP: &str = "<tmp>";
    pub const UUID: &str = "<uuid>";
    /// 12, 16, 32 or 64 hex digits: container ids, span and trace ids, image digests.
    pub const ID: &str = "<id>";
    pub const TIME: &str = "<time>";
    pub const PORT: &str = "<port>";
    /// An address of a private network (the engine's networks differ from run to run).
    pub const IP: &str = "<ip>";
}

/// Replaces the volatile parts of a report. Build it once per run: it knows
/// the working directory (the base of relative paths) and the temporary
/// folders.
#[derive(Debug, Clone)]
pub struct Normaliser {
    /// Absolute folders written as relative paths: the working directory.
    bases: Vec<String>,
    /// Folders whose `clnrm-XXXXXX` children are scenarios' temporary folders.
    temp_roots: Vec<String>,
}

impl Default for Normaliser {
    fn default() -> Self {
        Self::new()
    }
}

fn folder_text(path: &Path) -> Option<String> {
    let text = path.to_str()?.trim_end_matches('/');
    (!text.is_empty()).then(|| text.to_string())
}

impl Normaliser {
    /// Temporary folders under the system's temporary directory (and
    /// `/tmp`); no base for relative paths.
    pub fn new() -> Self {
        let mut temp_roots: Vec<String> = [std::env::temp_dir(), PathBuf::from("/tmp")]
            .iter()
            .filter_map(|p| folder_text(p))
            .collect();
        temp_roots.dedup();
        Self {
            bases: Vec::new(),
            temp_roots,
        }
    }

    /// Paths under `base` (the working directory) are written relative to it:
    /// `<base>/target/debug/app` becomes `target/debug/app`, `<base>` itself `.`.
    pub fn relative_to(mut self, base: &Path) -> Self {
        let mut bases: Vec<PathBuf> = vec![base.to_path_buf()];
        // The same folder by its real name (a symlinked temporary directory).
        if let Ok(real) = base.canonicalize()
            && real != base
        {
            bases.push(real);
        }
        self.bases
            .extend(bases.iter().filter_map(|p| folder_text(p)));
        // The longest first, so a folder inside another is taken whole.
        self.bases.sort_by_key(|b| std::cmp::Reverse(b.len()));
        self
    }

    /// `text` with its volatile parts replaced by [`placeholder`]s.
    pub fn text(&self, text: &str) -> String {
        let mut out = text.to_string();
        for base in &self.bases {
            out = without_base(&out, base);
        }
        out = names().replace_all(&out, placeholder::NAME).into_owned();
        for root in &self.temp_roots {
            out = temp_folders(root)
                .replace_all(&out, placeholder::TEMP)
                .into_owned();
        }
        out = uuids().replace_all(&out, placeholder::UUID).into_owned();
        out = ids().replace_all(&out, placeholder::ID).into_owned();
        out = times().replace_all(&out, placeholder::TIME).into_owned();
        out = ports()
            .replace_all(&out, |c: &Captures<'_>| {
                format!("{}:{}", &c["host"], placeholder::PORT)
            })
            .into_owned();
        private_ips()
            .replace_all(&out, placeholder::IP)
            .into_owned()
    }

    /// `value` normalised: every `duration_ms` is 0, every string (never a
    /// key) goes through [`text`](Self::text), and every object's keys are in
    /// sorted order (whatever order the map type keeps).
    pub fn value(&self, value: &Value) -> Value {
        match value {
            Value::String(s) => Value::String(self.text(s)),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.value(v)).collect()),
            Value::Object(map) => {
                let normalised = map.iter().map(|(key, v)| {
                    let v = match (key.as_str(), v) {
                        ("duration_ms", Value::Number(_)) => Value::from(0),
                        _ => self.value(v),
                    };
                    (key.clone(), v)
                });
                Value::Object(sorted(normalised.collect()))
            }
            other => other.clone(),
        }
    }
}

/// Every object of `value` with its keys in sorted order.
pub(crate) fn with_sorted_keys(value: Value) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.into_iter().map(with_sorted_keys).collect()),
        Value::Object(map) => Value::Object(sorted(
            map.into_iter()
                .map(|(k, v)| (k, with_sorted_keys(v)))
                .collect(),
        )),
        other => other,
    }
}

fn sorted(mut entries: Vec<(String, Value)>) -> Map<String, Value> {
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    entries.into_iter().collect()
}

/// `<base>/x` as `x`, and `<base>` alone (not a longer name) as `.`.
fn without_base(text: &str, base: &str) -> String {
    let text = text.replace(&format!("{base}/"), "");
    let alone = Regex::new(&format!(r"{}(?P<after>[^\w.\-]|$)", regex::escape(base)));
    match alone {
        Ok(alone) => alone.replace_all(&text, ".${after}").into_owned(),
        Err(_) => text,
    }
}

fn cached(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pattern).expect("a valid pattern"))
}

/// `clnrm-<pid>-<8 hex>` (a run) and `clnrm-<pid>-<8 hex>-<8 hex>` (its
/// containers and networks).
fn names() -> &'static Regex {
    static CELL: OnceLock<Regex> = OnceLock::new();
    cached(&CELL, r"\bclnrm-\d+-[0-9a-f]{8}(?:-[0-9a-f]{8})?\b")
}

/// A scenario's temporary folder under `root` (tempfile's six characters).
fn temp_folders(root: &str) -> Regex {
    Regex::new(&format!(
        r"{}/clnrm-[A-Za-z0-9]{{6}}\b",
        regex::escape(root)
    ))
    .expect("an escaped folder is a valid pattern")
}

fn uuids() -> &'static Regex {
    static CELL: OnceLock<Regex> = OnceLock::new();
    cached(
        &CELL,
        r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b",
    )
}

/// Exactly 12 (a short container id), 16 (a span id), 32 (a trace id) or 64
/// (a container id, a SHA-256) lowercase hex digits.
fn ids() -> &'static Regex {
    static CELL: OnceLock<Regex> = OnceLock::new();
    cached(
        &CELL,
        r"\b(?:[0-9a-f]{64}|[0-9a-f]{32}|[0-9a-f]{16}|[0-9a-f]{12})\b",
    )
}

/// RFC 3339 times (and the same with a space), with or without fractions and zone.
fn times() -> &'static Regex {
    static CELL: OnceLock<Regex> = OnceLock::new();
    cached(
        &CELL,
        r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2}\b)?",
    )
}

/// The port of an address (`127.0.0.1:PORT`, `localhost:PORT`, `[::1]:PORT`)
/// or of an endpoint (`http://host:PORT`).
fn ports() -> &'static Regex {
    static CELL: OnceLock<Regex> = OnceLock::new();
    cached(
        &CELL,
        r"(?P<host>\b\d{1,3}(?:\.\d{1,3}){3}|\blocalhost|\[[0-9A-Fa-f:.]*\]|://[A-Za-z0-9._\-]+):\d{1,5}\b",
    )
}

/// Addresses of private networks (10/8, 172.16/12, 192.168/16), where the
/// engine puts scenario networks.
fn private_ips() -> &'static Regex {
    static CELL: OnceLock<Regex> = OnceLock::new();
    cached(
        &CELL,
        r"\b(?:10(?:\.\d{1,3}){3}|172\.(?:1[6-9]|2\d|3[01])(?:\.\d{1,3}){2}|192\.168(?:\.\d{1,3}){2})\b",
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn normaliser() -> Normaliser {
        Normaliser {
            bases: Vec::new(),
            temp_roots: vec!["/tmp".into(), "/var/tmp/me".into()],
        }
        .relative_to(Path::new("/work/app"))
    }

    #[test]
    fn ids_names_and_temporary_folders_become_placeholders() {
        let n = normaliser();
        assert_eq!(
            n.text("in /tmp/clnrm-Ab3dE9/out.txt and /var/tmp/me/clnrm-zzzzzz"),
            "in <tmp>/out.txt and <tmp>"
        );
        // Not a scenario's folder: another name, or not six characters.
        assert_eq!(
            n.text("/tmp/clnrm-busybox /tmp/other-Ab3dE9"),
            "/tmp/clnrm-busybox /tmp/other-Ab3dE9"
        );
        assert_eq!(
            n.text("kept runner clnrm-4242-0a1b2c3d-deadbeef of run clnrm-4242-0a1b2c3d"),
            "kept runner clnrm-<name> of run clnrm-<name>"
        );
        let container = "0123456789abcdef".repeat(4);
        assert_eq!(
            n.text(&format!(
                "docker exec -it {container} sh; short 0123456789ab; span 00f067aa0ba902b7; trace 4bf92f3577b34da6a3ce929d0e0e4736"
            )),
            "docker exec -it <id> sh; short <id>; span <id>; trace <id>"
        );
        // Other lengths, capitals and words with other letters stay.
        assert_eq!(
            n.text("0123456789abc 0123456789ABCDEF deadbeef cafe-0123456789abcdefg"),
            "0123456789abc 0123456789ABCDEF deadbeef cafe-0123456789abcdefg"
        );
        assert_eq!(
            n.text("id 3f2b8a1e-9c4d-4e5f-8a6b-7c8d9e0f1a2b."),
            "id <uuid>."
        );
    }

    #[test]
    fn times_ports_and_private_addresses_become_placeholders() {
        let n = normaliser();
        assert_eq!(
            n.text(
                "at 2025-01-01T00:00:00Z, 2025-06-30T12:34:56.789+02:00 and 2025-06-30 12:34:56"
            ),
            "at <time>, <time> and <time>"
        );
        assert_eq!(
            n.text("listening on 127.0.0.1:49153, [::1]:8080, localhost:3000 and http://clnrm-otlp:4318/v1/traces"),
            "listening on 127.0.0.1:<port>, [::1]:<port>, localhost:<port> and http://clnrm-otlp:<port>/v1/traces"
        );
        assert_eq!(
            n.text("web at 172.18.0.3:80, 10.0.0.7 and 192.168.1.20"),
            "web at <ip>:<port>, <ip> and <ip>"
        );
        // A place in a file is not an address; public addresses and versions stay.
        assert_eq!(
            n.text("tests/clnrm/a.clnrm.toml:5:1 version 1.2.3 dns 8.8.8.8 172.32.0.1"),
            "tests/clnrm/a.clnrm.toml:5:1 version 1.2.3 dns 8.8.8.8 172.32.0.1"
        );
    }

    #[test]
    fn the_workspace_is_written_relative() {
        let n = normaliser();
        assert_eq!(
            n.text(
                "/work/app/target/debug/greet ran in /work/app; /work/app2 and /work/app.bak stay"
            ),
            "target/debug/greet ran in .; /work/app2 and /work/app.bak stay"
        );
        assert_eq!(
            n.text("[\"/work/app\"]"),
            "[\".\"]",
            "a base alone, before punctuation"
        );
    }

    #[test]
    fn durations_are_zero_strings_normalised_and_keys_sorted() {
        let n = normaliser();
        let value = json!({
            "tests": [{"name": "a", "duration_ms": 1234, "message": "on 127.0.0.1:5000"}],
            "format_version": 1,
            "duration_ms": "not a number stays",
        });
        let normalised = n.value(&value);
        assert_eq!(
            normalised,
            json!({
                "duration_ms": "not a number stays",
                "format_version": 1,
                "tests": [{"duration_ms": 0, "message": "on 127.0.0.1:<port>", "name": "a"}],
            })
        );
        let keys: Vec<&String> = normalised.as_object().expect("object").keys().collect();
        assert_eq!(keys, ["duration_ms", "format_version", "tests"]);
        // Idempotent: a normalised report normalises to itself.
        assert_eq!(n.value(&normalised), normalised);
    }

    #[test]
    fn keys_are_sorted_whatever_order_they_came_in() {
        let mut map = Map::new();
        map.insert("b".into(), json!({"z": 1, "a": 2}));
        map.insert("a".into(), json!([{"y": 1, "x": 2}]));
        let text = serde_json::to_string(&with_sorted_keys(Value::Object(map))).expect("json");
        assert_eq!(text, r#"{"a":[{"x":2,"y":1}],"b":{"a":2,"z":1}}"#);
    }
}
