//! The strict trace and span-file reader of `cargo clnrm diff`: two files
//! (the input split at its first NUL byte; the same file twice without one)
//! read, built into span trees and compared.
#![no_main]

use clnrm_core::tree::{diff_with_moves, looks_like_span_file, read_span_file, read_span_trees};
use clnrm_fuzz::check_round_trip;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (old, new) = text.split_once('\0').unwrap_or((&text, &text));
    looks_like_span_file(old);
    match read_span_file(old) {
        Ok(spans) => check_round_trip(&spans),
        Err(error) => {
            // The place exists in the file: a line it has, and a column on
            // that line or just past its end.
            let lines: Vec<&str> = old.lines().collect();
            assert!(
                (1..=lines.len().max(1)).contains(&error.line),
                "line {} of {}: {error}",
                error.line,
                lines.len()
            );
            let width = lines.get(error.line - 1).map_or(0, |l| l.chars().count());
            if let Some(column) = error.column {
                assert!(
                    (1..=width + 1).contains(&column),
                    "column {column} of a line of {width}: {error}"
                );
            }
            assert!(!error.to_string().is_empty());
        }
    }
    if let (Ok(old_tree), Ok(new_tree)) = read_span_trees(old, new) {
        let changes = diff_with_moves(&old_tree, &new_tree);
        if old == new {
            assert!(
                changes.is_empty(),
                "a file differs from itself: {changes:?}"
            );
        }
    }
});
