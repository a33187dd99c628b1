//! The span-line reader: a program's stdout (or a lenient span file), span
//! objects and OTLP JSON exports one a line among any other output.
#![no_main]

use clnrm_core::spans::spans_in_lines;
use clnrm_fuzz::check_round_trip;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let found = spans_in_lines(&text);
    assert!(found.invalid_lines <= text.lines().count());
    check_round_trip(&found.spans);
});
