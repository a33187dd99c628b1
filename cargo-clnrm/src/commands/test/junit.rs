//! JUnit for `cargo clnrm test`: nextest's own report completed with each
//! scenario's file and line, or the harness's per-binary reports merged.

use std::collections::HashMap;
use std::path::Path;

use clnrm_core::config::{Config, ConfigOverrides};
use clnrm_core::discover::discover;
use clnrm_core::pipeline::{Pipeline, process_all};
use clnrm_core::plan::plan;
use clnrm_core::render::VarInputs;
use clnrm_core::validate::ValidateOptions;

use super::HarnessTarget;

/// Where nextest writes its reports: `[store] dir` of the workspace's
/// `.config/nextest.toml`, else `target/nextest`, under the workspace root
/// (not cargo's target dir: `CARGO_TARGET_DIR` does not move it).
pub fn nextest_store_dir(workspace_root: &Path) -> std::path::PathBuf {
    let configured = std::fs::read_to_string(workspace_root.join(".config/nextest.toml"))
        .ok()
        .and_then(|text| text.parse::<toml::Table>().ok())
        .and_then(|config| {
            config
                .get("store")?
                .get("dir")?
                .as_str()
                .map(std::path::PathBuf::from)
        });
    workspace_root.join(configured.unwrap_or_else(|| "target/nextest".into()))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Test name -> (file, line), for every scenario of the targets' packages.
fn locations(targets: &[HarnessTarget]) -> HashMap<String, (String, usize)> {
    let mut found = HashMap::new();
    for target in targets {
        let Ok(config) = Config::load(&target.manifest_dir, &ConfigOverrides::default()) else {
            continue;
        };
        let files = discover(&[], &config.roots).files;
        let inputs = VarInputs::default()
            .with_cargo_bins()
            .with_binaries(&config.binaries);
        let pipeline = Pipeline::new(
            inputs,
            ValidateOptions {
                strict: config.strict,
            },
        );
        let reports = process_all(&pipeline, &files);
        for test in plan(&reports) {
            let file = reports[test.file_index]
                .source
                .path()
                .to_string_lossy()
                .into_owned();
            found.insert(test.name, (file, test.location.line));
        }
    }
    found
}

pub fn complete_nextest_report(
    written: &Path,
    out: &Path,
    targets: &[HarnessTarget],
) -> std::io::Result<()> {
    let mut xml = std::fs::read_to_string(written)?;
    for (name, (file, line)) in locations(targets) {
        let tag = format!("<testcase name=\"{}\"", escape(&name));
        xml = xml.replace(
            &tag,
            &format!("{tag} file=\"{}\" line=\"{line}\"", escape(&file)),
        );
    }
    std::fs::write(out, xml)
}

/// One report from the per-binary ones (`CLNRM_JUNIT` of each test binary).
pub fn merge(reports: &[std::path::PathBuf], out: &Path) -> std::io::Result<()> {
    let mut suites = String::new();
    for report in reports {
        // A binary that did not build wrote nothing; the runner said why.
        let Ok(xml) = std::fs::read_to_string(report) else {
            continue;
        };
        if let (Some(start), Some(end)) = (xml.find("<testsuite "), xml.rfind("</testsuite>")) {
            suites.push_str(&xml[start..end + "</testsuite>".len()]);
            suites.push('\n');
        }
    }
    let tests = suites.matches("<testcase").count();
    let failures = suites.matches("<failure").count();
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"clnrm\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\">\n{suites}</testsuites>\n"
    );
    std::fs::write(out, xml)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nextest_stores_under_the_workspace_root_or_where_its_config_says() {
        let root = tempfile::tempdir().expect("tempdir");
        assert_eq!(
            nextest_store_dir(root.path()),
            root.path().join("target/nextest")
        );
        std::fs::create_dir_all(root.path().join(".config")).expect("mkdir");
        std::fs::write(
            root.path().join(".config/nextest.toml"),
            "[store]\ndir = \"out/nextest-store\"\n",
        )
        .expect("write");
        assert_eq!(
            nextest_store_dir(root.path()),
            root.path().join("out/nextest-store")
        );
    }
}
