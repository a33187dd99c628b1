//! The renderer: a template with imports, includes and macros (the shipped
//! library, or the in-memory templates after NUL bytes in the input), under
//! the default render budget.
#![no_main]

use std::path::Path;
use std::sync::Arc;

use clnrm_core::render::{RenderContext, RenderRequest, TemplateEngine};
use clnrm_core::scenario::Determinism;
use clnrm_core::source::SourceFile;
use clnrm_fuzz::{DIR, check_diagnostics, split_input};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value, json};

/// A few variables of each JSON type, as `[vars]` and a matrix give them.
fn context() -> RenderContext {
    let vars: Map<String, Value> = [
        ("svc", json!("shop")),
        ("image", json!("debian:trixie-slim")),
        ("n", json!(3)),
        ("ratio", json!(1.5)),
        ("on", json!(true)),
        ("list", json!(["a", "b"])),
        ("table", json!({"k": "v", "n": 2})),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let matrix = [("os".to_string(), json!("linux"))];
    let bins = [("app".to_string(), "/bin/app".to_string())].into();
    RenderContext::new(vars, &matrix, &bins)
}

fuzz_target!(|data: &[u8]| {
    let (template, templates) = split_input(data);
    let engine = TemplateEngine::default().with_reader(Arc::new(templates));
    let path = Path::new(DIR).join("fuzz.clnrm.toml.tera");
    let source = SourceFile::new(&path, template.as_str());
    let resolved = engine.dependencies_of(&template, &path);
    if let Some(error) = resolved.error {
        check_diagnostics(&[error], &source);
        return;
    }
    let context = context();
    // Frozen, as `[determinism]` makes it: a rendering is reproducible.
    let determinism = Determinism {
        seed: Some(7),
        freeze_clock: Some("2025-01-01T00:00:00Z".into()),
    };
    let request = RenderRequest {
        template: &template,
        dependencies: &resolved.dependencies,
        context: &context,
        determinism: &determinism,
    };
    match engine.render(request) {
        Ok(rendered) => assert!(rendered.text.len() <= engine.budget().max_output_bytes),
        Err(error) => check_diagnostics(&[error], &source),
    }
});
