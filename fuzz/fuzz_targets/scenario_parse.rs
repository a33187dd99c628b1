//! The reader and parser: a scenario file's raw text through `prepare`
//! (`[vars]`, `[matrix]`, `[determinism]` read before rendering) and
//! `parse_scenario` (TOML -> the model and its diagnostics).
#![no_main]

use clnrm_core::prepare::prepare;
use clnrm_core::scenario::{accepted_keys, parse_scenario};
use clnrm_core::source::SourceFile;
use clnrm_fuzz::check_diagnostics;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let source = SourceFile::new("fuzz.clnrm.toml", text.as_ref());
    let prepared = prepare(&text);
    check_diagnostics(&prepared.diagnostics, &source);
    assert!(
        !prepared.combinations.is_empty(),
        "at least the empty combination"
    );
    let parsed = parse_scenario(&text);
    check_diagnostics(&parsed.diagnostics, &source);
    // Everything these two stages report is about a place in the text.
    for d in prepared.diagnostics.iter().chain(&parsed.diagnostics) {
        assert!(d.span.is_some(), "a diagnostic without a place: {d:?}");
    }
    if parsed.file.is_none() {
        assert!(
            parsed.diagnostics.iter().any(|d| d.is_error()),
            "no model and no error"
        );
    }
    accepted_keys(&text);
});
