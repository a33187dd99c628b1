//! The variables a template sees, layered by precedence:
//! `--var` overrides > the file's `[vars]` > environment > built-in defaults.
//!
//! Variables are visible at top level and as `vars.*`; a matrix combination's
//! values at top level and as `matrix.*`; the crate's binaries as `bin.<name>`.

use std::collections::BTreeMap;

use serde_json::{Map, Value as Json};
use sha2::{Digest, Sha256};

/// The runner image used when a scenario names none.
pub const DEFAULT_RUNNER_IMAGE: &str = "debian:trixie-slim";

/// Built-in variables of the original tool: (name, environment variable, default).
pub const BUILTIN_VARS: &[(&str, &str, &str)] = &[
    ("svc", "SERVICE_NAME", "clnrm"),
    ("env", "ENV", "ci"),
    ("endpoint", "OTEL_ENDPOINT", "http://localhost:4318"),
    ("exporter", "OTEL_TRACES_EXPORTER", "stdout"),
    ("image", "CLNRM_IMAGE", DEFAULT_RUNNER_IMAGE),
    ("freeze_clock", "FREEZE_CLOCK", "2025-01-01T00:00:00Z"),
    ("token", "OTEL_TOKEN", ""),
];

/// Any variable can also come from the environment as `CLNRM_VAR_<NAME>`.
pub const ENV_VAR_PREFIX: &str = "CLNRM_VAR_";

/// Inputs from outside the file.
#[derive(Debug, Clone, Default)]
pub struct VarInputs {
    /// `--var k=v`, highest precedence.
    pub overrides: Vec<(String, String)>,
    /// `bin.<name>`: paths of the crate's own binaries that cargo named
    /// (`CARGO_BIN_EXE_<name>`).
    pub bins: BTreeMap<String, String>,
    /// The crate's binaries as cargo builds them, asked for only when a
    /// template may use `bin` (see [`VarInputs::bins_for`]).
    pub crate_binaries: crate::binaries::Binaries,
}

impl VarInputs {
    /// Adds the crate's binaries (see `Config::binaries`) for names nothing
    /// else named.
    pub fn with_binaries(mut self, binaries: &crate::binaries::Binaries) -> Self {
        self.crate_binaries = binaries.clone();
        self
    }

    /// Picks up `CARGO_BIN_EXE_<name>` and nextest's `NEXTEST_BIN_EXE_<name>`
    /// as the test runners set them.
    pub fn with_cargo_bins(mut self) -> Self {
        for (name, path) in crate::binaries::named_in_env() {
            self.bins.insert(name, path.to_string_lossy().into_owned());
        }
        self
    }

    /// `bin.<name>` for templates whose texts are `texts`: the crate's
    /// binaries are looked up only when one of them mentions `bin`.
    pub fn bins_for<'a>(
        &self,
        texts: impl IntoIterator<Item = &'a str>,
    ) -> BTreeMap<String, String> {
        let mut bins = self.bins.clone();
        if texts.into_iter().any(|t| t.contains("bin")) {
            for (name, path) in self.crate_binaries.get() {
                bins.entry(name.clone())
                    .or_insert_with(|| path.to_string_lossy().into_owned());
            }
        }
        bins
    }
}

/// The environment and default layers, below the file's own `[vars]`.
pub fn lower_layers() -> Map<String, Json> {
    let mut map = Map::new();
    for (name, env_var, default) in BUILTIN_VARS {
        let value = std::env::var(env_var).unwrap_or_else(|_| default.to_string());
        map.insert(name.to_string(), Json::String(value));
    }
    for (key, value) in std::env::vars() {
        if let Some(name) = key.strip_prefix(ENV_VAR_PREFIX) {
            map.insert(name.to_ascii_lowercase(), Json::String(value));
        }
    }
    map
}

/// A finished template context with its content hash (for the render cache).
#[derive(Debug, Clone)]
pub struct RenderContext {
    pub(crate) context: tera::Context,
    hash: [u8; 32],
}

impl RenderContext {
    /// Builds the context from resolved variables and a matrix combination.
    pub fn new(
        vars: Map<String, Json>,
        matrix: &[(String, Json)],
        bins: &BTreeMap<String, String>,
    ) -> Self {
        let mut top = vars.clone();
        let matrix_map: Map<String, Json> = matrix.iter().cloned().collect();
        for (k, v) in &matrix_map {
            top.insert(k.clone(), v.clone());
        }
        top.insert("vars".into(), Json::Object(vars));
        top.insert("matrix".into(), Json::Object(matrix_map));
        top.insert(
            "bin".into(),
            Json::Object(
                bins.iter()
                    .map(|(k, v)| (k.clone(), Json::String(v.clone())))
                    .collect(),
            ),
        );
        let root = Json::Object(top);
        // serde_json's map is ordered, so equal contexts hash equally.
        let hash = Sha256::digest(root.to_string().as_bytes()).into();
        let context = tera::Context::from_value(root).unwrap_or_default();
        Self { context, hash }
    }

    pub fn hash(&self) -> [u8; 32] {
        self.hash
    }
}
