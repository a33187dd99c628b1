//! The OTLP protobuf decoder (`ExportTraceServiceRequest`, as the receiver
//! gets it): any bytes decode or are refused, and what decodes is written
//! and read back unchanged.
#![no_main]

use clnrm_core::spans::from_protobuf;
use clnrm_fuzz::check_round_trip;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(spans) = from_protobuf(data) {
        check_round_trip(&spans);
    }
});
