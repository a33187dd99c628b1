//! The OTLP JSON decoder (an export body, or one `TracesData` document):
//! any JSON decodes leniently or is refused, and what decodes is written and
//! read back unchanged.
#![no_main]

use clnrm_core::spans::from_otlp_json;
use clnrm_fuzz::check_round_trip;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(document) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    if let Some(spans) = from_otlp_json(&document) {
        check_round_trip(&spans);
    }
});
