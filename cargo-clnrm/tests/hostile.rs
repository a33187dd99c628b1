//! `cargo clnrm validate` on files clnrm must not trust: each gives an error
//! at its place (or with the next step to take) or is skipped with a reason,
//! and none crashes, hangs or blocks the run.

mod cli_support;
mod hostile_support;

use std::path::Path;

use hostile_support::*;
use serde_json::Value;

/// `validate --message-format json PATHS` in `dir`: the output and its lines.
fn validate_json(dir: &Path, paths: &[&str]) -> (std::process::Output, Vec<Value>) {
    let mut command = cli_support::binary(dir);
    command.args(["clnrm", "validate", "--message-format", "json"]);
    command.args(paths);
    let output = run_with_deadline(command);
    let lines = cli_support::json_lines(&output);
    (output, lines)
}

/// The diagnostics of the file whose path ends in `name`.
fn diagnostics_of<'a>(lines: &'a [Value], name: &str) -> Vec<&'a Value> {
    (lines.iter())
        .filter(|l| l["reason"] == "diagnostic")
        .filter(|l| l["file"].as_str().is_some_and(|f| f.ends_with(name)))
        .collect()
}

/// The one error of `name`: its code, line, column, message and help.
fn only_error<'a>(lines: &'a [Value], name: &str) -> &'a Value {
    let found = diagnostics_of(lines, name);
    assert_eq!(found.len(), 1, "{name}: {found:#?}");
    assert_eq!(found[0]["severity"], "error", "{name}: {:#?}", found[0]);
    found[0]
}

fn place(d: &Value) -> (Option<u64>, Option<u64>) {
    (d["line"].as_u64(), d["column"].as_u64())
}

fn message(d: &Value) -> &str {
    d["message"].as_str().unwrap_or_default()
}

#[test]
fn deeply_nested_toml_is_refused_at_its_place() {
    let dir = open_tempdir();
    let root = dir.path().join("root");
    let header = "[meta]\nname = \"deep\"\n";
    let step = "[[steps]]\nname = \"s\"\ncommand = [\"true\"]\n";
    write(
        &root.join("arrays.clnrm.toml"),
        nested_arrays(100_000) + header,
    );
    write(
        &root.join("tables.clnrm.toml"),
        nested_tables(100_000) + header,
    );
    let key = vec!["a"; 100_000].join(".");
    write(
        &root.join("dotted.clnrm.toml"),
        format!("{header}{key} = 1\n"),
    );
    write(
        &root.join("header.clnrm.toml"),
        format!("{header}[{key}]\n"),
    );
    write(
        &root.join("vars.clnrm.toml"),
        format!("{header}[vars]\n{}", multiplied(79, 79)),
    );
    // Enough files to be read on several threads (smaller stacks).
    for i in 0..4 {
        write(
            &root.join(format!("step{i}.clnrm.toml")),
            format!("{header}{step}{}", multiplied(79, 79)),
        );
    }
    let (output, lines) = validate_json(dir.path(), &["root"]);
    assert_clean_exit(&output, &[1]);
    let expected: &[(&str, &str, u64)] = &[
        ("arrays.clnrm.toml", "toml-syntax", 1),
        ("tables.clnrm.toml", "toml-syntax", 1),
        ("dotted.clnrm.toml", "toml-syntax", 3),
        ("header.clnrm.toml", "toml-syntax", 3),
        ("vars.clnrm.toml", "invalid-vars", 4),
        ("step0.clnrm.toml", "toml-syntax", 6),
        ("step3.clnrm.toml", "toml-syntax", 6),
    ];
    for (name, code, line) in expected {
        let d = only_error(&lines, name);
        assert_eq!(d["code"], *code, "{name}: {d:#}");
        assert_eq!(place(d).0, Some(*line), "{name}: {d:#}");
        assert!(place(d).1.is_some(), "{name}: {d:#}");
        let help = d["help"].as_str().unwrap_or_default();
        assert!(
            help.contains("64 levels") && help.contains("flatten"),
            "{name}: {d:#}"
        );
    }
    // The multiplied nesting is clnrm's own limit, at the first value past it.
    let vars = only_error(&lines, "vars.clnrm.toml");
    assert!(
        message(vars).contains("nested more than 64 levels deep"),
        "{vars:#}"
    );
    let dotted = only_error(&lines, "dotted.clnrm.toml");
    assert_eq!(place(dotted), (Some(3), Some(1)), "{dotted:#}");
}

#[test]
fn deeply_nested_templates_are_refused_at_their_place() {
    let dir = open_tempdir();
    let root = dir.path().join("root");
    let valid = |body: &str| format!("{VALID}{body}\n");
    write(
        &root.join("ifs.clnrm.toml.tera"),
        valid(&("{% if true %}".repeat(40_000) + "x" + &"{% endif %}".repeat(40_000))),
    );
    let blocks: String = (0..2_000).map(|i| format!("{{% block b{i} %}}")).collect();
    write(
        &root.join("blocks.clnrm.toml.tera"),
        valid(&(blocks + &"{% endblock %}".repeat(2_000))),
    );
    write(
        &root.join("operators.clnrm.toml.tera"),
        valid(&format!("x = {{{{ {}1 }}}}", "1 + ".repeat(100_000))),
    );
    // A `}}` inside a string does not end the tag: the brackets after it count.
    write(
        &root.join("quoted.clnrm.toml.tera"),
        valid(&format!(
            "x = {{{{ \"}}}}\" ~ {}1{} }}}}",
            "(".repeat(50_000),
            ")".repeat(50_000)
        )),
    );
    // 5,000 macros, each calling the next.
    let chain: String = (0..5_000)
        .map(|i| {
            format!(
                "{{% macro m{i}() %}}{{{{ self::m{}() }}}}{{% endmacro m{i} %}}\n",
                i + 1
            )
        })
        .collect::<String>()
        + "{% macro m5000() %}1{% endmacro m5000 %}\n";
    write(&root.join("_chain.tera"), chain);
    write(
        &root.join("macros.clnrm.toml.tera"),
        format!(
            "{{% import \"_chain.tera\" as c %}}\n{}",
            valid("x = {{ c::m0() }}")
        ),
    );
    // Short chains in each file, too long through eight imports.
    for k in 0..8 {
        let mut text = String::new();
        if k < 7 {
            text.push_str(&format!("{{% import \"_link{}.tera\" as next %}}\n", k + 1));
        }
        for i in 0..5 {
            let call = match (i, k) {
                (4, 7) => "1".to_string(),
                (4, _) => "{{ next::m0() }}".to_string(),
                _ => format!("{{{{ self::m{}() }}}}", i + 1),
            };
            text.push_str(&format!(
                "{{% macro m{i}() %}}{call}{{% endmacro m{i} %}}\n"
            ));
        }
        write(&root.join(format!("_link{k}.tera")), text);
    }
    write(
        &root.join("linked.clnrm.toml.tera"),
        format!(
            "{{% import \"_link0.tera\" as l %}}\n{}",
            valid("x = {{ l::m0() }}")
        ),
    );
    // Imports nested twelve deep.
    for k in 0..12 {
        write(
            &root.join(format!("_nest{k}.tera")),
            format!("{{% import \"_nest{}.tera\" as n %}}\n", k + 1),
        );
    }
    write(&root.join("_nest12.tera"), "");
    write(
        &root.join("imports.clnrm.toml.tera"),
        format!("{{% import \"_nest0.tera\" as n %}}\n{VALID}"),
    );
    // Arithmetic on a macro call reaches an `unreachable!` inside Tera.
    write(
        &root.join("engine.clnrm.toml.tera"),
        format!(
            "{{% macro one() %}}1{{% endmacro one %}}\n{}",
            valid("x = {{ 1 + self::one() }}")
        ),
    );
    let (output, lines) = validate_json(dir.path(), &["root"]);
    assert_clean_exit(&output, &[1]);
    let expected: &[(&str, &str, Option<u64>, &str)] = &[
        (
            "ifs.clnrm.toml.tera",
            "render-budget",
            Some(6),
            "blocks are nested more than 32 deep",
        ),
        (
            "blocks.clnrm.toml.tera",
            "render-budget",
            Some(6),
            "blocks are nested more than 32 deep",
        ),
        (
            "operators.clnrm.toml.tera",
            "render-budget",
            Some(6),
            "more than 64 operators",
        ),
        (
            "quoted.clnrm.toml.tera",
            "render-budget",
            Some(6),
            "expressions are nested more than 32 deep",
        ),
        (
            "macros.clnrm.toml.tera",
            "render-budget",
            Some(1),
            "starts a chain of more than 32 macros",
        ),
        (
            "linked.clnrm.toml.tera",
            "render-budget",
            Some(7),
            "macros call each other more than 32 deep",
        ),
        (
            "imports.clnrm.toml.tera",
            "render-budget",
            Some(1),
            "imports are nested more than 8 deep",
        ),
        (
            "engine.clnrm.toml.tera",
            "template-error",
            None,
            "the template engine failed",
        ),
    ];
    for (name, code, line, says) in expected {
        let d = only_error(&lines, name);
        assert_eq!(d["code"], *code, "{name}: {d:#}");
        assert_eq!(place(d).0, *line, "{name}: {d:#}");
        assert!(message(d).contains(says), "{name}: {d:#}");
    }
}

#[test]
fn a_hundred_megabyte_file_is_refused_by_its_size() {
    let dir = open_tempdir();
    let root = dir.path().join("root");
    std::fs::create_dir_all(&root).expect("root");
    // Sparse: as large as a real one to everything that asks, quick to make.
    let big = std::fs::File::create(root.join("big.clnrm.toml")).expect("create");
    big.set_len(100 << 20).expect("grow");
    let template = std::fs::File::create(root.join("_big.tera")).expect("create");
    template.set_len(100 << 20).expect("grow");
    write(
        &root.join("imports-big.clnrm.toml.tera"),
        format!("{{% import \"_big.tera\" as b %}}\n{VALID}"),
    );
    // Under the limit, but not TOML on any line.
    write(&root.join("garbage.clnrm.toml"), "=\n".repeat(2_000_000));
    let (output, lines) = validate_json(dir.path(), &["root"]);
    assert_clean_exit(&output, &[1]);
    let big = only_error(&lines, "big.clnrm.toml");
    assert_eq!(big["code"], "io", "{big:#}");
    assert_eq!(
        message(big),
        "cannot read the file: the file is 104857600 bytes; clnrm reads files of up to 4194304 bytes"
    );
    assert!(
        big["help"].as_str().unwrap_or_default().contains("split"),
        "{big:#}"
    );
    let import = only_error(&lines, "imports-big.clnrm.toml.tera");
    assert_eq!(place(import).0, Some(1), "{import:#}");
    assert!(
        message(import).contains("clnrm reads files of up to"),
        "{import:#}"
    );
    let garbage = only_error(&lines, "garbage.clnrm.toml");
    assert_eq!(place(garbage), (Some(1), Some(1)), "{garbage:#}");
    assert!(
        garbage["notes"][0]
            .as_str()
            .unwrap_or_default()
            .contains("only the first syntax error"),
        "{garbage:#}"
    );
}

#[test]
fn invalid_utf8_and_nul_bytes_are_located_at_the_first_bad_byte() {
    let dir = open_tempdir();
    let root = dir.path().join("root");
    write(
        &root.join("latin1.clnrm.toml"),
        b"[meta]\nname = \"\xe2\x9c\x93x\xff\"\n".as_slice(),
    );
    write(
        &root.join("nul.clnrm.toml"),
        b"[meta]\nname = \"n\"\n# a \0 in a comment\n".as_slice(),
    );
    write(&root.join("_latin1.tera"), b"ok\nab\xe9\n".as_slice());
    write(
        &root.join("imports.clnrm.toml.tera"),
        format!("{VALID}{{% include \"_latin1.tera\" %}}\n"),
    );
    let (output, lines) = validate_json(dir.path(), &["root"]);
    assert_clean_exit(&output, &[1]);
    let latin1 = only_error(&lines, "latin1.clnrm.toml");
    assert_eq!(
        (latin1["code"].as_str(), place(latin1)),
        (Some("io"), (Some(2), Some(11)))
    );
    assert_eq!(
        message(latin1),
        "the file is not text: invalid UTF-8 (byte 0xff)"
    );
    let nul = only_error(&lines, "nul.clnrm.toml");
    assert_eq!(
        (nul["code"].as_str(), place(nul)),
        (Some("io"), (Some(3), Some(5)))
    );
    assert_eq!(message(nul), "the file is not text: a NUL byte");
    let import = only_error(&lines, "imports.clnrm.toml.tera");
    assert_eq!(place(import).0, Some(6), "{import:#}");
    assert!(
        message(import).contains("invalid UTF-8 (byte 0xe9) at line 2, column 3"),
        "{import:#}"
    );
    // The human form shows the line, the bad byte replaced.
    let mut command = cli_support::binary(dir.path());
    command.args(["clnrm", "validate", "root/latin1.clnrm.toml"]);
    let human = run_with_deadline(command);
    let said = text(&human.stderr);
    assert!(said.contains("latin1.clnrm.toml:2:11"), "{said}");
    assert!(said.contains("name = \"✓x\u{fffd}\""), "{said}");
}

/// A tree with every kind of entry discovery must pass over.
fn special_entries(root: &Path) -> std::os::unix::net::UnixListener {
    write(&root.join("ok.clnrm.toml"), VALID);
    fifo(&root.join("x.clnrm.toml"));
    let listener = socket(&root.join("sock.clnrm.toml"));
    symlink("nowhere", &root.join("dangling.clnrm.toml"));
    symlink("b", &root.join("a.clnrm.toml"));
    symlink("a.clnrm.toml", &root.join("b"));
    std::fs::create_dir_all(root.join("sub")).expect("sub");
    symlink("..", &root.join("sub/up"));
    symlink("..", &root.join("out"));
    listener
}

#[test]
fn fifos_sockets_and_link_loops_are_skipped_with_a_reason_said_once() {
    let dir = open_tempdir();
    let root = dir.path().join("root");
    let _listener = special_entries(&root);
    let mut command = cli_support::binary(dir.path());
    command.args(["clnrm", "validate", "root"]);
    let output = run_with_deadline(command);
    assert_clean_exit(&output, &[0]);
    let said = text(&output.stderr);
    for warning in [
        "root/x.clnrm.toml: skipped: a FIFO, not a regular file",
        "root/sock.clnrm.toml: skipped: a Unix socket, not a regular file",
        "root/dangling.clnrm.toml: skipped: a dangling symlink (its target nowhere does not exist)",
        "root/a.clnrm.toml: skipped: a symlink loop (too many levels of symbolic links)",
        "root/sub/up: skipped: a symlink loop (it leads back to root); not followed",
        "root/out/root: skipped: a symlink to ",
    ] {
        assert_eq!(said.matches(warning).count(), 1, "{warning}:\n{said}");
    }
    assert!(said.contains("validated 1 file: 0 with errors"), "{said}");
    // Only entries named like scenario files (and folders) are worth a word.
    assert!(!said.contains("root/b:"), "{said}");

    // Named on the command line, a FIFO is a usage error, not a hang.
    let mut command = cli_support::binary(dir.path());
    command.args(["clnrm", "validate", "root/x.clnrm.toml"]);
    let output = run_with_deadline(command);
    assert_clean_exit(&output, &[2]);
    assert!(
        text(&output.stderr).contains("root/x.clnrm.toml`: a FIFO, not a regular file"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn a_file_that_changes_kind_or_vanishes_while_validate_runs_never_crashes_or_blocks() {
    let dir = open_tempdir();
    let root = dir.path().join("root");
    write(&root.join("ok.clnrm.toml"), VALID);
    let flip = root.join("flip.clnrm.toml");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flipper = {
        let (flip, stop) = (flip.clone(), std::sync::Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut round = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = std::fs::remove_file(&flip);
                match round % 3 {
                    0 => {
                        let _ = std::fs::write(&flip, VALID);
                    }
                    1 => {
                        let _ = nix::unistd::mkfifo(
                            &flip,
                            nix::sys::stat::Mode::from_bits_truncate(0o644),
                        );
                    }
                    _ => {}
                }
                round += 1;
                std::thread::sleep(std::time::Duration::from_micros(200));
            }
        })
    };
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..40 {
        let mut command = cli_support::binary(dir.path());
        command.args(["clnrm", "validate", "root"]);
        let output = run_with_deadline(command);
        assert_clean_exit(&output, &[0, 1]);
        let said = text(&output.stderr);
        for kind in ["gone", "FIFO", "validated 2 files", "validated 1 file"] {
            if said.contains(kind) {
                seen.insert(kind);
            }
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    flipper.join().expect("flipper");
    // Not a proof that every race was hit: what was seen was said cleanly.
    assert!(!seen.is_empty());
}

#[test]
fn unreadable_files_and_folders_are_reported_to_an_unprivileged_user() {
    let Some(unprivileged) = Unprivileged::find_or_skip() else {
        return;
    };
    let dir = open_tempdir();
    let root = dir.path().join("root");
    write(&root.join("ok.clnrm.toml"), VALID);
    write(&root.join("secret.clnrm.toml"), VALID);
    write(&root.join("closed/inside.clnrm.toml"), VALID);
    write(&root.join("listed/unsearchable.clnrm.toml"), VALID);
    let program = unprivileged.reachable(Path::new(env!("CARGO_BIN_EXE_cargo-clnrm")), dir.path());
    deny(&root.join("secret.clnrm.toml"));
    deny(&root.join("closed"));
    // Names can be listed, nothing in it opened.
    std::fs::set_permissions(
        root.join("listed"),
        std::os::unix::fs::PermissionsExt::from_mode(0o444),
    )
    .expect("chmod");
    let mut command = unprivileged.command(&program, dir.path());
    command.args(["clnrm", "validate", "--message-format", "json", "root"]);
    let output = run_with_deadline(command);
    for path in ["secret.clnrm.toml", "closed", "listed"] {
        allow(&root.join(path));
    }
    assert_clean_exit(&output, &[1]);
    let lines = cli_support::json_lines(&output);
    // The denied reads really happened: the same files are fine for root.
    let secret = only_error(&lines, "secret.clnrm.toml");
    assert_eq!(
        message(secret),
        "cannot read the file: permission denied",
        "{secret:#}"
    );
    assert!(
        secret["help"]
            .as_str()
            .unwrap_or_default()
            .contains("chmod a+r"),
        "{secret:#}"
    );
    let listed = only_error(&lines, "listed/unsearchable.clnrm.toml");
    assert_eq!(
        message(listed),
        "cannot read the file: permission denied",
        "{listed:#}"
    );
    let warnings: Vec<&Value> = lines.iter().filter(|l| l["reason"] == "warning").collect();
    let closed: Vec<&&Value> = (warnings.iter())
        .filter(|w| {
            w["file"]
                .as_str()
                .is_some_and(|f| f.ends_with("root/closed"))
        })
        .collect();
    assert_eq!(closed.len(), 1, "{warnings:#?}");
    assert!(
        closed[0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("cannot read this folder: permission denied"),
        "{closed:#?}"
    );
    assert!(diagnostics_of(&lines, "ok.clnrm.toml").is_empty());
    let finished = lines.last().expect("a last line");
    assert_eq!(finished["reason"], "validate-finished", "{finished:#}");
}

#[test]
fn diff_refuses_a_fifo_and_locates_invalid_utf8_without_blocking() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = dir.path().join("a.clnrm.toml");
    std::fs::write(&good, "[meta]\nname = \"a\"\n").expect("write");
    nix::unistd::mkfifo(&dir.path().join("pipe.json"), nix::sys::stat::Mode::S_IRWXU)
        .expect("mkfifo");
    std::fs::write(
        dir.path().join("bad.json"),
        b"{\"resourceSpans\": [\n\xff]}\n",
    )
    .expect("write");
    let diff = |a: &str, b: &str| {
        let mut command = cli_support::binary(dir.path());
        command.args(["clnrm", "diff", a, b]);
        run_with_deadline(command)
    };
    let out = diff("pipe.json", "a.clnrm.toml");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot read `pipe.json`: a FIFO, not a regular file"),
        "{stderr}"
    );
    let out = diff("a.clnrm.toml", "bad.json");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("bad.json:2:1: invalid UTF-8"), "{stderr}");
}
