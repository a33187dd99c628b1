//! Helpers shared by the end-to-end tests.

use std::path::{Path, PathBuf};

use clnrm_core::discover::{DiscoveredFile, test_path_name};
use clnrm_core::pipeline::{FileReport, Pipeline};

/// The folder of checked-in fixtures.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// Runs one fixture file through the pipeline, named relative to `fixtures/`.
pub fn process_fixture(relative: &str) -> FileReport {
    let root = fixtures();
    let path = root.join(relative);
    let discovered = DiscoveredFile {
        name: test_path_name(&path, &root),
        path,
        root,
    };
    Pipeline::default().process(&discovered)
}

/// Processes on this machine whose command line is exactly `argv`
/// (to prove a run left none of its processes behind).
pub fn count_processes(argv: &[&str]) -> usize {
    let wanted: String = argv.iter().map(|a| format!("{a}\u{0}")).collect();
    std::fs::read_dir("/proc")
        .map(|entries| {
            entries
                .filter_map(|e| std::fs::read(e.ok()?.path().join("cmdline")).ok())
                .filter(|cmdline| String::from_utf8_lossy(cmdline) == wanted)
                .count()
        })
        .unwrap_or(0)
}

/// Validates a JUnit report against `tests/schemas/junit-10.xsd` with the
/// Python validator `scripts/test-tools.sh` installs (xmlschema, from PyPI).
/// Panics with the validator's errors, or with the set-up step when it is missing.
pub fn assert_valid_junit(report: &Path) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let python = root.join("target/test-tools/venv/bin/python");
    assert!(
        python.is_file(),
        "the JUnit schema validator is not installed: run `bash scripts/test-tools.sh` (the README's test command does)"
    );
    let out = std::process::Command::new(&python)
        .arg(root.join("scripts/validate-junit.py"))
        .arg(root.join("tests/schemas/junit-10.xsd"))
        .arg(report)
        .output()
        .expect("run the JUnit schema validator");
    assert!(
        out.status.success(),
        "{} is not valid against junit-10.xsd:\n{}{}",
        report.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A JUnit report with its times taken out, to compare two runs.
pub fn without_times(xml: &str) -> String {
    let mut out = String::with_capacity(xml.len());
    let mut rest = xml;
    while let Some(start) = rest.find(" time=\"") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 7..];
        rest = after.find('"').map_or("", |end| &after[end + 1..]);
    }
    out.push_str(rest);
    out
}

/// Longer than any run takes on a loaded machine; only a hang reaches it.
pub const DEADLINE: std::time::Duration = std::time::Duration::from_secs(120);

/// Runs `command` to its end (stdin empty, output captured), or kills it at
/// [`DEADLINE`] and panics: the input made it hang.
pub fn run_with_deadline(mut command: std::process::Command) -> std::process::Output {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start");
    let pipe = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = r.read_to_end(&mut bytes);
            bytes
        })
    };
    let stdout = pipe(Box::new(child.stdout.take().expect("stdout")));
    let stderr = pipe(Box::new(child.stderr.take().expect("stderr")));
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{command:?} did not finish within {DEADLINE:?}: it hangs on this input");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    std::process::Output {
        status,
        stdout: stdout.join().expect("stdout"),
        stderr: stderr.join().expect("stderr"),
    }
}
