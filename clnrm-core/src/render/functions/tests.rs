//! What each function gives, what it refuses, and when a rendering counts
//! as deterministic.

use crate::render::context::RenderContext;
use crate::render::engine::{RenderRequest, Rendered, TemplateEngine};
use crate::scenario::Determinism;

const FROZEN: &str = "2025-06-01T12:00:00Z";

fn render_under(
    template: &str,
    seed: Option<u64>,
    clock: Option<&str>,
) -> Result<Rendered, String> {
    let context = RenderContext::new(serde_json::Map::new(), &[], &Default::default());
    let determinism = Determinism {
        seed,
        freeze_clock: clock.map(str::to_string),
    };
    TemplateEngine::default()
        .render(RenderRequest {
            template,
            dependencies: &[],
            context: &context,
            determinism: &determinism,
        })
        .map_err(|d| d.message)
}

/// Rendered under `[determinism] seed = 1` and a frozen clock.
fn render(template: &str) -> String {
    render_under(template, Some(1), Some(FROZEN))
        .unwrap_or_else(|e| panic!("{template}: {e}"))
        .text
}

fn error(template: &str) -> String {
    render_under(template, Some(1), Some(FROZEN)).expect_err(template)
}

#[test]
fn random_and_time_functions_without_determinism_are_not_cacheable() {
    for call in [
        "fake_name()",
        "uuid_v4()",
        "ulid()",
        "now_unix()",
        "pick(list=[1, 2])",
    ] {
        let template = format!("{{{{ {call} }}}}");
        let free = render_under(&template, None, None).expect(call);
        assert!(!free.deterministic, "{call} used real randomness or time");
        let pinned = render_under(&template, Some(3), Some(FROZEN)).expect(call);
        assert!(pinned.deterministic, "{call} under [determinism]");
    }
    // A call's own seed is enough for the random ones.
    let own = render_under("{{ fake_name(seed=3) }}{{ rand_hex(seed=1) }}", None, None);
    assert!(own.expect("renders").deterministic);
}

#[test]
fn calls_without_a_seed_draw_in_turn_from_the_files_seed() {
    let twice = render("{{ fake_word() }} {{ fake_word() }} {{ fake_word() }}");
    let words: Vec<&str> = twice.split(' ').collect();
    assert!(words[0] != words[1] || words[1] != words[2], "{twice}");
    assert_eq!(
        twice,
        render("{{ fake_word() }} {{ fake_word() }} {{ fake_word() }}")
    );
    // A call's own seed: the same value wherever it stands.
    assert_eq!(
        render("{{ fake_name(seed=9) }}"),
        render("{{ fake_word() }}{{ fake_name(seed=9) }}")
            .trim_start_matches(&render("{{ fake_word() }}"))
    );
}

#[test]
fn the_time_functions_tell_the_frozen_time() {
    assert_eq!(render("{{ now_rfc3339() }}"), FROZEN);
    assert_eq!(render("{{ now_unix() }}"), "1748779200");
    assert_eq!(render("{{ now_ms() }}"), "1748779200000");
    assert_eq!(
        render("{{ now_plus(seconds=-60) }}"),
        "2025-06-01T11:59:00Z"
    );
    assert_eq!(
        render("{{ date_rfc3339(offset_seconds=86400) }}"),
        "2025-06-02T12:00:00Z"
    );
    assert_eq!(render("{{ date_rfc3339() }}"), FROZEN);
    // uuid_v7 and ulid carry the time in their first 48 bits.
    let v7 = render("{{ uuid_v7() }}");
    assert!(v7.starts_with("01972b5c-ee00-7"), "{v7}");
    assert_eq!(&render("{{ ulid() }}")[..10], "01JWNNSVG0");
    assert!(render("{{ uuid_v7(time=\"1970-01-01T00:00:01Z\") }}").starts_with("00000000-03e8-7"));
    assert!(
        error("{{ now_plus(seconds=999999999999) }}").contains("outside the years 1970 to 9999")
    );
    assert!(error("{{ now_plus() }}").contains("`now_plus` needs a `seconds` argument"));
}

#[test]
fn ids_have_their_formats() {
    let v4 = render("{{ uuid_v4() }}");
    assert_eq!(
        uuid::Uuid::parse_str(&v4).map(|u| u.get_version_num()),
        Ok(4)
    );
    assert_eq!(
        render("{{ fake_uuid_seeded(seed=5) }}"),
        render("{{ uuid_v4(seed=5) }}")
    );
    assert_eq!(
        render("{{ uuid_v5(ns=\"dns\", name=\"python.org\") }}"),
        "886313e1-3b8a-5372-9b90-0c9aee199e5d"
    );
    assert_eq!(
        render("{{ uuid_v5(ns=\"6ba7b810-9dad-11d1-80b4-00c04fd430c8\", name=\"python.org\") }}"),
        "886313e1-3b8a-5372-9b90-0c9aee199e5d"
    );
    assert!(error("{{ uuid_v5(ns=\"nope\", name=\"x\") }}").contains("`ns` must be a UUID"));
    assert_eq!(render("{{ ulid() }}").len(), 26);
    let hex = render("{{ rand_hex(n=40) }}");
    assert!(
        hex.len() == 40 && hex.bytes().all(|b| b.is_ascii_hexdigit()),
        "{hex}"
    );
    assert_eq!(render("{{ trace_id() }}").len(), 32);
    assert_eq!(render("{{ span_id() }}").len(), 16);
    let header = render("{{ traceparent() }}");
    let parts: Vec<&str> = header.split('-').collect();
    assert_eq!(
        parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
        [2, 32, 16, 2]
    );
    assert_eq!((parts[0], parts[3]), ("00", "01"));
    assert!(render("{{ traceparent(sampled=0) }}").ends_with("-00"));
    let bad = error("{{ traceparent(trace_id=\"00000000000000000000000000000000\") }}");
    assert!(
        bad.contains("`trace_id` must be 32 lowercase hex digits, not all zeros"),
        "{bad}"
    );
}

#[test]
fn baggage_is_a_w3c_header() {
    let header = render("{{ baggage(map=dict(pairs=[\"user\", \"a b,c;d%\", \"n\", 2])) }}");
    assert_eq!(header, "n=2,user=a%20b%2Cc%3Bd%25");
    let bad = error("{{ baggage(map=dict(pairs=[\"a key\", \"v\"])) }}");
    assert!(bad.contains("the key `a key` is not a token"), "{bad}");
    assert!(error("{{ baggage(map=[1]) }}").contains("`map` must be a map"));
}

#[test]
fn choices_from_lists() {
    let list = "[1, 2, 3, 4, 5]";
    let picked = render(&format!("{{{{ pick(list={list}) }}}}"));
    assert!(
        ["1", "2", "3", "4", "5"].contains(&picked.as_str()),
        "{picked}"
    );
    assert!(error("{{ pick(list=[]) }}").contains("`pick`: `list` is empty"));
    let mut shuffled: Vec<String> =
        render(&format!("{{{{ shuffle(list={list}) | join(sep=\",\") }}}}"))
            .split(',')
            .map(str::to_string)
            .collect();
    shuffled.sort();
    assert_eq!(shuffled, ["1", "2", "3", "4", "5"]);
    for seed in 0..20 {
        let sample = render(&format!(
            "{{{{ sample(list={list}, k=3, seed={seed}) | join(sep=\",\") }}}}"
        ));
        let mut items: Vec<&str> = sample.split(',').collect();
        items.sort();
        items.dedup();
        assert_eq!(items.len(), 3, "{sample}: three different elements");
    }
    assert!(
        error(&format!("{{{{ sample(list={list}, k=6) }}}}")).contains("more than the list's 5")
    );
    assert!(error("{{ sample(list=[1]) }}").contains("`sample` needs a `k` argument"));
}

#[test]
fn weighted_never_picks_a_zero_weight_and_refuses_bad_pairs() {
    // Tera has no nested list literals: the pairs come from variables.
    let context =
        serde_json::json!({"zero": [["a", 0], ["b", 1]], "bad": [["a", -1]], "none": [["a", 0]]});
    let map = context.as_object().cloned().unwrap_or_default();
    let render_vars = |template: &str| {
        let context = RenderContext::new(map.clone(), &[], &Default::default());
        TemplateEngine::default()
            .render(RenderRequest {
                template,
                dependencies: &[],
                context: &context,
                determinism: &Determinism {
                    seed: Some(1),
                    freeze_clock: None,
                },
            })
            .map(|r| r.text)
            .map_err(|d| d.message)
    };
    for seed in 0..50 {
        let chosen = render_vars(&format!("{{{{ weighted(pairs=vars.zero, seed={seed}) }}}}"));
        assert_eq!(chosen.as_deref(), Ok("b"));
    }
    let bad = render_vars("{{ weighted(pairs=vars.bad) }}").expect_err("negative");
    assert!(
        bad.contains("weights must be non-negative numbers"),
        "{bad}"
    );
    let none = render_vars("{{ weighted(pairs=vars.none) }}").expect_err("all zero");
    assert!(none.contains("every weight is zero"), "{none}");
    let flat = render_vars("{{ weighted(pairs=[1, 2]) }}").expect_err("flat");
    assert!(flat.contains("each pair must be [value, weight]"), "{flat}");
}

#[test]
fn seq_counts_per_name_within_one_rendering() {
    let text = render(
        "{{ seq(name=\"a\", start=8000, step=10) }} {{ seq(name=\"a\") }} {{ seq(name=\"b\") }} {{ seq(name=\"a\") }}",
    );
    assert_eq!(
        text, "8000 8010 0 8020",
        "a name keeps the step it began with"
    );
    let changed =
        render("{{ seq(name=\"a\", step=5) }} {{ seq(name=\"a\", step=2) }} {{ seq(name=\"a\") }}");
    assert_eq!(changed, "0 5 7", "a step given is the step from there on");
    // A new rendering starts again.
    assert_eq!(render("{{ seq(name=\"a\", start=8000) }}"), "8000");
}

#[test]
fn fake_data_functions_and_kinds() {
    assert_eq!(
        render("{{ fake_name(seed=7) }}"),
        render("{{ fake(kind=\"name.full\", seed=7) }}")
    );
    let cities = render("{{ fake(kind=\"address.city\", n=3) | length }}");
    assert_eq!(cities, "3");
    let unknown = error("{{ fake(kind=\"name.ful\") }}");
    assert!(
        unknown.contains("unknown kind `name.ful` (did you mean `name.full`?"),
        "{unknown}"
    );
    assert_eq!(render("{{ fake_kinds() | length }}"), "27");
    for seed in 0..30 {
        let n: i64 = render(&format!(
            "{{{{ fake_int_range(min=-3, max=3, seed={seed}) }}}}"
        ))
        .parse()
        .expect("an integer");
        assert!((-3..3).contains(&n), "{n}");
        let password = render(&format!(
            "{{{{ fake_password(min=4, max=6, seed={seed}) }}}}"
        ));
        assert!((4..6).contains(&password.chars().count()), "{password}");
    }
    assert!(
        error("{{ fake_int_range(min=5, max=5) }}")
            .contains("`min` (5) must be less than `max` (5)")
    );
    assert!(error("{{ fake_bool(ratio=101) }}").contains("`ratio` may be at most 100"));
    assert_eq!(render("{{ fake_bool(ratio=0) }}"), "false");
    assert_eq!(render("{{ fake_bool(ratio=100) }}"), "true");
    assert_eq!(render("{{ fake_string(len=12) }}").len(), 12);
    assert_eq!(render("{{ fake_words(count=5) }}").split(' ').count(), 5);
    let date = render("{{ fake_date() }}");
    assert!(
        humantime::parse_rfc3339(&format!("{date}T00:00:00Z")).is_ok(),
        "{date}"
    );
    assert!(humantime::parse_rfc3339(&render("{{ fake_datetime() }}")).is_ok());
    assert!(render("{{ fake_hex_color() }}").starts_with('#'));
    assert!(render("{{ fake_email() }}").contains('@'));
    assert!(error("{{ fake_name(seed=-1) }}").contains("`seed` must be a non-negative integer"));
}

#[test]
fn case_conversions_are_functions_and_filters() {
    for name in ["snake", "kebab", "slug", "camel", "pascal"] {
        let function = render(&format!("{{{{ {name}(s=\"My Name\") }}}}"));
        let filter = render(&format!("{{{{ \"My Name\" | {name} }}}}"));
        assert_eq!(function, filter, "{name}");
    }
    assert_eq!(render("{{ kebab(s=\"My Name\") }}"), "my-name");
    assert!(error("{{ snake(s=1) }}").contains("`snake`: `s` must be a string"));
}
