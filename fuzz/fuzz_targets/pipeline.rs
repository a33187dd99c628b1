//! The validator: a whole file through prepare -> render -> parse ->
//! validate -> plan, as `cargo clnrm validate` takes it. Templates after NUL
//! bytes in the input are the files beside it (and make it a `.tera` file).
#![no_main]

use std::path::Path;
use std::sync::Arc;

use clnrm_core::discover::DiscoveredFile;
use clnrm_core::pipeline::Pipeline;
use clnrm_core::plan::plan;
use clnrm_fuzz::{DIR, check_diagnostics, split_input};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (text, templates) = split_input(data);
    let name = if data.contains(&0) {
        "fuzz.clnrm.toml.tera"
    } else {
        "fuzz.clnrm.toml"
    };
    let discovered = DiscoveredFile {
        name: name.into(),
        path: Path::new(DIR).join(name),
        root: DIR.into(),
    };
    let pipeline = Pipeline::default().with_template_reader(Arc::new(templates));
    let report = pipeline.process_text(&discovered, text);
    check_diagnostics(&report.diagnostics, &report.source);
    let tests = plan(std::slice::from_ref(&report));
    assert!(!tests.is_empty(), "every file is at least one test");
});
