//! `cargo bench -p clnrm-benches --bench render_cache`
//!
//! What a render-cache HIT costs for a typical template (same template, same
//! context): `CacheKey::new` (SHA-256 of the template and its imports) plus
//! `RenderCache::get`, in microseconds per hit. Target: < 10 us. Baseline: a
//! full render of the same template (`TemplateEngine::render`, what a miss
//! costs), measured in the same run. Also reported, for context: the lookup
//! including building the `RenderContext` (the pipeline builds one per file
//! before it can compute the key), and `Pipeline::process_text` on a hit.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::hint::black_box;
use std::process::ExitCode;
use std::time::Duration;

use clnrm_benches::{Summary, env_count, time, us};
use clnrm_core::cache::CacheKey;
use clnrm_core::discover::DiscoveredFile;
use clnrm_core::pipeline::Pipeline;
use clnrm_core::prepare::prepare;
use clnrm_core::render::{LineMap, RenderContext, RenderRequest, TemplateEngine, lower_layers};
use clnrm_core::scenario::parse_scenario;
use clnrm_core::validate::{ValidateOptions, validate};

const TARGET: Duration = Duration::from_micros(10);

/// A typical scenario template: `[vars]`, the shipped macros, a loop.
const TEMPLATE: &str = r#"{% import "_macros.toml.tera" as m %}
[meta]
name = "typical"
description = "a typical templated scenario"
tags = ["bench"]

[vars]
image = "clnrm-busybox:latest"
greeting = "hello"
words = ["alpha", "beta", "gamma"]

{{ m::service(id="db", image=vars.image) }}

[service.app]
plugin = "generic_container"
image = "{{ vars.image }}"

[[scenario]]
name = "typical"
{% for word in vars.words %}
[[scenario.steps]]
name = "say_{{ word }}"
command = ["echo", "{{ vars.greeting }} {{ word }}"]
service = "{% if loop.first %}db{% else %}app{% endif %}"
expected_output_regex = "^{{ vars.greeting }} {{ word }}$"
{% endfor %}
"#;

fn main() -> ExitCode {
    let iterations = env_count("CLNRM_BENCH_ITERS", 100_000);
    let batches = env_count("CLNRM_BENCH_BATCHES", 7);
    let renders = env_count("CLNRM_BENCH_RENDERS", 100);

    let dir = tempfile::tempdir().expect("create a temporary directory");
    let path = dir.path().join("typical.clnrm.toml.tera");
    std::fs::write(&path, TEMPLATE).expect("write the template");
    let discovered = DiscoveredFile {
        name: "typical.clnrm.toml.tera".into(),
        path: path.clone(),
        root: dir.path().to_path_buf(),
    };
    let pipeline = Pipeline::default();
    // The engine and inputs the default pipeline has: no `bin.<name>`.
    let engine = TemplateEngine::default();
    let bins = std::collections::BTreeMap::new();

    // Warm-up: the first pass renders and inserts; it must be valid.
    let (first, first_time) = time(|| pipeline.process_text(&discovered, TEMPLATE.to_string()));
    if first.has_errors() || first.variants.len() != 1 {
        eprintln!("render_cache: FAILED: the template does not validate cleanly:");
        for d in &first.diagnostics {
            eprintln!("  {d:?}");
        }
        return ExitCode::FAILURE;
    }
    let (second, second_time) = time(|| pipeline.process_text(&discovered, TEMPLATE.to_string()));
    if !second.variants.iter().all(|v| v.cache_hit) {
        eprintln!("render_cache: FAILED: the second process_text was not a cache hit");
        return ExitCode::FAILURE;
    }
    println!(
        "render_cache: template of {} bytes, {batches} batches of {iterations} hits, {renders} renders a batch",
        TEMPLATE.len()
    );
    println!(
        "process_text: first (miss) {:.1} us, second (hit) {:.1} us",
        us(first_time),
        us(second_time)
    );

    // The same inputs the pipeline hashes: template, imports, context.
    let dependencies = engine
        .dependencies(TEMPLATE, Some(dir.path()))
        .expect("dependencies resolve");
    let prepared = prepare(TEMPLATE);
    let combination = prepared.combinations[0].values.clone();
    let vars = || {
        let mut vars = lower_layers();
        vars.extend(prepared.vars.clone());
        vars
    };
    let context = RenderContext::new(vars(), &combination, &bins);
    let key = CacheKey::new(TEMPLATE, &dependencies, &context);
    if pipeline.cache.get(&key).is_none() {
        eprintln!(
            "render_cache: FAILED: the key built here misses the entry process_text inserted"
        );
        return ExitCode::FAILURE;
    }

    // HIT: hash the template + look up.
    let hit = per_op(batches, iterations, || {
        let key = CacheKey::new(black_box(TEMPLATE), black_box(&dependencies), &context);
        black_box(pipeline.cache.get(&key)).expect("hit");
    });
    // HIT including the context the pipeline builds first (vars + RenderContext::new).
    let context_iterations = (iterations / 10).max(1);
    let hit_with_context = per_op(batches, context_iterations, || {
        let context = RenderContext::new(vars(), &combination, &bins);
        let key = CacheKey::new(black_box(TEMPLATE), &dependencies, &context);
        black_box(pipeline.cache.get(&key)).expect("hit");
    });
    let process_hit = per_op(batches, (iterations / 100).max(1), || {
        black_box(pipeline.process_text(&discovered, TEMPLATE.to_string()));
    });
    // MISS: a full render of the same template with the same context.
    let request = RenderRequest {
        template: TEMPLATE,
        dependencies: &dependencies,
        context: &context,
        determinism: &prepared.determinism,
    };
    let render = per_op(batches, renders, || {
        black_box(engine.render(request)).expect("renders");
    });

    // Where the rest of a process_text hit goes: the stages around the lookup.
    let rendered = pipeline.cache.get(&key).expect("hit").to_string();
    let stage_iterations = (iterations / 100).max(1);
    let stage_prepare = per_op(batches, stage_iterations, || {
        black_box(prepare(black_box(TEMPLATE)));
    });
    let stage_dependencies = per_op(batches, stage_iterations, || {
        black_box(engine.dependencies(TEMPLATE, Some(dir.path()))).expect("resolve");
    });
    let stage_line_map = per_op(batches, stage_iterations, || {
        black_box(LineMap::new(TEMPLATE, &rendered));
    });
    let stage_parse = per_op(batches, stage_iterations, || {
        black_box(parse_scenario(black_box(&rendered)));
    });
    let parsed = parse_scenario(&rendered).file.expect("parses");
    let stage_validate = per_op(batches, stage_iterations, || {
        black_box(validate(&parsed, ValidateOptions::default()));
    });

    let stats = pipeline.cache.stats();
    println!();
    println!("{:<44} {:>12} {:>12}", "per operation", "median", "min");
    row("cache hit: CacheKey::new + get", &hit);
    row("  + vars & RenderContext::new", &hit_with_context);
    row("Pipeline::process_text (hit)", &process_hit);
    row("full render (miss): TemplateEngine::render", &render);
    println!("stages of a process_text hit, besides the lookup:");
    row("  prepare (vars, matrix)", &stage_prepare);
    row("  TemplateEngine::dependencies", &stage_dependencies);
    row("  LineMap::new", &stage_line_map);
    row("  parse_scenario (rendered)", &stage_parse);
    row("  validate (3 steps, 3 regexes)", &stage_validate);
    let met = if hit.median < TARGET {
        "met"
    } else {
        "NOT met"
    };
    println!(
        "target: hit < {} us: {met} ({:.2} us)",
        TARGET.as_micros(),
        us(hit.median)
    );
    println!(
        "ratio render/hit (medians): {:.0}x  (hit is {:.2}% of a render)",
        render.median.as_secs_f64() / hit.median.as_secs_f64().max(1e-12),
        100.0 * hit.median.as_secs_f64() / render.median.as_secs_f64().max(1e-12)
    );
    println!(
        "cache stats: hits {}, misses {}, entries {}, hit rate {:.4}%",
        stats.hits,
        stats.misses,
        stats.entries,
        100.0 * stats.hit_rate()
    );
    ExitCode::SUCCESS
}

/// Per-operation time of each batch (batch time / iterations), summarised.
fn per_op(batches: usize, iterations: usize, mut f: impl FnMut()) -> Summary {
    f(); // warm-up
    let per_batch: Vec<Duration> = (0..batches)
        .map(|_| {
            let (_, elapsed) = time(|| {
                for _ in 0..iterations {
                    f();
                }
            });
            elapsed / iterations as u32
        })
        .collect();
    Summary::of(&per_batch)
}

fn row(label: &str, s: &Summary) {
    println!("{label:<44} {:>9.2} us {:>9.2} us", us(s.median), us(s.min));
}
