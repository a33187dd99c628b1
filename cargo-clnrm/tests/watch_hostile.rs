//! `cargo clnrm watch` among files it must not trust: FIFOs and sockets
//! (never opened), link loops, files that vanish or change kind, bytes that
//! are not text, huge and deeply nested files, unreadable files and folders.
//! Each is said once, and watch keeps answering.

mod hostile_support;
mod watch_support;

use std::path::Path;

use hostile_support::{Unprivileged, allow, deny, fifo, nested_arrays, socket, symlink};
use serde_json::Value;
use watch_support::*;

/// The `watch-note` messages seen so far that contain `text`.
fn notes<'a>(watch: &'a Watch, text: &str) -> Vec<&'a str> {
    (watch.seen.iter())
        .filter(|l| l["reason"] == "watch-note")
        .filter_map(|l| l["message"].as_str())
        .filter(|m| m.contains(text))
        .collect()
}

/// The next `watch-note` containing `text`.
fn next_note(watch: &mut Watch, text: &str) -> String {
    loop {
        let note = watch.next_of("watch-note");
        let message = note["message"].as_str().unwrap_or_default();
        if message.contains(text) {
            return message.to_string();
        }
    }
}

/// The next `validated` line of `file`, with the diagnostics before it.
fn next_validated(watch: &mut Watch, file: &Path) -> (Value, Vec<Value>) {
    loop {
        let start = watch.seen.len();
        let line = watch.next_of("validated");
        if line["file"] == file.to_string_lossy().as_ref() {
            let diagnostics = (watch.seen[start..].iter())
                .filter(|l| l["reason"] == "diagnostic" && l["file"] == line["file"])
                .cloned()
                .collect();
            return (line, diagnostics);
        }
    }
}

/// Watch still answers: a new valid file is validated.
fn still_answers(watch: &mut Watch, root: &Path, name: &str) {
    let file = root.join(name);
    std::fs::write(&file, valid(name)).expect("write");
    let (line, _) = next_validated(watch, &file);
    assert_eq!(line["errors"], 0, "{line}");
}

#[test]
fn fifos_sockets_and_link_loops_are_said_once_and_never_opened() {
    let (dir, root) = tree(&[("ok.clnrm.toml", &valid("ok"))]);
    fifo(&root.join("x.clnrm.toml"));
    let _socket = socket(&root.join("sock.clnrm.toml"));
    symlink("nowhere", &root.join("dangling.clnrm.toml"));
    symlink("b", &root.join("a.clnrm.toml"));
    symlink("a.clnrm.toml", &root.join("b"));
    std::fs::create_dir_all(root.join("sub")).expect("sub");
    symlink("..", &root.join("sub/up"));
    let mut watch = Watch::start(dir.path(), &[]);
    for said in [
        "x.clnrm.toml: skipped: a FIFO, not a regular file",
        "sock.clnrm.toml: skipped: a Unix socket, not a regular file",
        "dangling.clnrm.toml: skipped: a dangling symlink",
        "a.clnrm.toml: skipped: a symlink loop",
        "sub/up: skipped: a symlink loop",
    ] {
        assert_eq!(notes(&watch, said).len(), 1, "{said}: {:#?}", watch.seen);
    }
    still_answers(&mut watch, &root, "first.clnrm.toml");

    // Made while watch runs: nothing ever completes a write to them.
    fifo(&root.join("later.clnrm.toml"));
    next_note(&mut watch, "later.clnrm.toml: skipped: a FIFO");
    let _later = socket(&root.join("later-sock.clnrm.toml"));
    next_note(&mut watch, "later-sock.clnrm.toml: skipped: a Unix socket");
    still_answers(&mut watch, &root, "second.clnrm.toml");

    // A scenario replaced by a FIFO goes away, and is said to be skipped.
    let ok = root.join("ok.clnrm.toml");
    std::fs::remove_file(&ok).expect("rm");
    fifo(&ok);
    next_note(&mut watch, "ok.clnrm.toml: skipped: a FIFO");
    let removed = watch.next_of("removed");
    assert_eq!(removed["name"], "ok.clnrm.toml", "{removed}");
    std::fs::remove_file(&ok).expect("rm");
    std::fs::write(&ok, valid("ok")).expect("back");
    let (line, _) = next_validated(&mut watch, &ok);
    assert_eq!(line["errors"], 0, "{line}");
    // Each skip was said once.
    assert_eq!(notes(&watch, "x.clnrm.toml: skipped").len(), 1);
    assert_eq!(notes(&watch, "later.clnrm.toml: skipped").len(), 1);
    watch.stop();
}

#[test]
fn files_that_vanish_are_not_text_huge_or_too_deep_are_errors_and_the_loop_goes_on() {
    let (dir, root) = tree(&[("a.clnrm.toml", &valid("a"))]);
    let mut watch = Watch::start(dir.path(), &[]);
    let file = root.join("a.clnrm.toml");

    std::fs::write(&file, b"[meta]\nname = \"\xff\"\n").expect("latin-1");
    let (line, diagnostics) = next_validated(&mut watch, &file);
    assert_eq!(line["errors"], 1, "{line}");
    let d = &diagnostics[0];
    assert_eq!(
        (d["code"].as_str(), d["line"].as_u64(), d["column"].as_u64()),
        (Some("io"), Some(2), Some(9)),
        "{d}"
    );

    let huge = std::fs::File::create(&file).expect("truncate");
    huge.set_len(100 << 20).expect("grow");
    drop(huge);
    let (_, diagnostics) = next_validated(&mut watch, &file);
    assert!(
        diagnostics[0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("clnrm reads files of up to 4194304 bytes"),
        "{diagnostics:#?}"
    );

    std::fs::write(&file, nested_arrays(100_000) + &valid("a")).expect("deep");
    let (_, diagnostics) = next_validated(&mut watch, &file);
    assert_eq!(diagnostics[0]["code"], "toml-syntax", "{diagnostics:#?}");
    assert_eq!(diagnostics[0]["line"], 1, "{diagnostics:#?}");

    // Made and gone at once: at most a removal, never a crash.
    for i in 0..20 {
        let brief = root.join(format!("brief{i}.clnrm.toml"));
        std::fs::write(&brief, valid("brief")).expect("write");
        std::fs::remove_file(&brief).expect("rm");
    }
    std::fs::write(&file, valid("a")).expect("fix");
    let (line, _) = next_validated(&mut watch, &file);
    assert_eq!(line["errors"], 0, "{line}");
    still_answers(&mut watch, &root, "after.clnrm.toml");
    watch.stop();
}

#[test]
fn unreadable_files_and_folders_are_said_to_an_unprivileged_user() {
    let Some(unprivileged) = Unprivileged::find_or_skip() else {
        return;
    };
    let dir = hostile_support::open_tempdir();
    let root = dir.path().join("root");
    for (name, text) in [
        ("ok.clnrm.toml", valid("ok")),
        ("secret.clnrm.toml", valid("secret")),
        ("closed/inside.clnrm.toml", valid("inside")),
    ] {
        hostile_support::write(&root.join(name), text);
    }
    // The unprivileged user may write new files here, as root may.
    std::fs::set_permissions(&root, std::os::unix::fs::PermissionsExt::from_mode(0o777))
        .expect("chmod");
    let program = unprivileged.reachable(Path::new(env!("CARGO_BIN_EXE_cargo-clnrm")), dir.path());
    deny(&root.join("secret.clnrm.toml"));
    deny(&root.join("closed"));
    let command = unprivileged.command(&program, dir.path());
    let mut watch = Watch::start_command(command, dir.path(), &[], inotify_lock(false));
    let secret = (watch.seen.iter())
        .find(|l| {
            l["reason"] == "diagnostic"
                && l["file"]
                    .as_str()
                    .is_some_and(|f| f.ends_with("secret.clnrm.toml"))
        })
        .cloned();
    let closed_notes = notes(&watch, "closed: skipped: cannot read this folder").len();
    let started = watch.seen.last().cloned().expect("watch-started");
    still_answers(&mut watch, &root, "new.clnrm.toml");
    watch.stop();
    allow(&root.join("secret.clnrm.toml"));
    allow(&root.join("closed"));
    let secret = secret.expect("a diagnostic for the unreadable file");
    assert_eq!(
        secret["message"], "cannot read the file: permission denied",
        "{secret}"
    );
    assert_eq!(closed_notes, 1);
    assert_eq!(started["files_with_errors"], 1, "{started}");
}
