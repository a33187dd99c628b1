//! What `-v` and `-vv` show of a run: the scenario, its images, services,
//! steps and teardown, with durations, on stderr; results stay on stdout.

use std::process::{Command, Output};

fn run(dir: &std::path::Path, verbosity: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cargo-clnrm"));
    command
        .arg("clnrm")
        .args(verbosity)
        .args(["run", "."])
        .current_dir(dir)
        .env_remove("CLNRM_LOG")
        .env_remove("CLNRM_ROOTS");
    command.output().expect("run cargo-clnrm")
}

#[test]
fn verbose_runs_log_each_stage_with_durations_and_never_their_results() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("a.clnrm.toml"),
        "[meta]\nname = \"logged\"\nimage = \"clnrm-busybox:latest\"\n[service.web]\nimage = \"clnrm-busybox:latest\"\nargs = [\"sleep\", \"60\"]\nhealth_check = { cmd = [\"true\"] }\n[[steps]]\nname = \"say\"\ncommand = [\"echo\", \"hi\"]\n",
    )
    .expect("write");
    let debug = run(dir.path(), &["-vv"]);
    assert_eq!(
        debug.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&debug.stdout)
    );
    let log = String::from_utf8_lossy(&debug.stderr);
    for line in [
        "scenario{name=logged}: clnrm_core::backend::world: image ready image=clnrm-busybox:latest",
        "service started service=web",
        "service healthy service=web attempt=1 elapsed_ms=",
        "scenario{name=logged}:step{name=say}: clnrm_core::executor::scenario: step finished exit_code=Some(0) elapsed_ms=",
        "scenario finished failed=false elapsed_ms=",
        "teardown containers=2 finished=true elapsed_ms=",
    ] {
        assert!(log.contains(line), "no `{line}` in:\n{log}");
    }
    assert!(
        !log.contains("hyper"),
        "other crates stay at warn under -vv:\n{log}"
    );
    // Results never go through the log: stdout is the same at any verbosity.
    let info = run(dir.path(), &["-v"]);
    let info_log = String::from_utf8_lossy(&info.stderr);
    assert!(
        info_log.contains("scenario finished") && !info_log.contains("step finished"),
        "{info_log}"
    );
    let quiet = run(dir.path(), &["-q"]);
    assert!(
        quiet.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&quiet.stderr)
    );
    // The same lines but for durations (`[ 0.4s]`, `finished in 0.4s`).
    let strip = |o: &Output| -> Vec<String> {
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter(|l| !l.starts_with("finished in"))
            .map(|l| match (l.find('['), l.find(']')) {
                (Some(open), Some(close)) => format!("{}{}", &l[..open], &l[close + 1..]),
                _ => l.to_string(),
            })
            .collect()
    };
    assert_eq!(strip(&debug), strip(&quiet));
}
