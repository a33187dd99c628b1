//! What a test depends on, as the executor would run it: the list a result
//! store digests to tell "unchanged" ([`crate::results`]). Listed from the
//! model alone: nothing is started, built or read here.

use std::path::{Path, PathBuf};

use crate::scenario::{Backend, ImageSource, ScenarioFile};
use crate::suite::SuiteTest;

use super::RunSettings;
use super::mapping::build_spec;

/// Everything a test's run depends on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TestInputs {
    /// Labelled texts that count as they are: the rendered scenario, its
    /// templates, the settings and the environment steps get.
    pub texts: Vec<(String, String)>,
    /// Files and folders on this machine whose content counts: programs
    /// the steps name, service volumes, image build contexts.
    pub paths: Vec<PathBuf>,
    /// Named images, whose ids on the engine count.
    pub images: Vec<String>,
}

/// What `test` depends on under `settings`; `None` for a test of a file
/// with errors, which never counts as unchanged.
pub fn test_inputs(test: &SuiteTest, settings: &RunSettings) -> Option<TestInputs> {
    let target = test.planned.target?;
    let report = &test.report;
    let variant = report.variants.get(target.variant)?;
    let file = variant.file.as_ref()?;
    let scenario = file.scenarios.get(target.scenario)?;
    let dir = report.discovered.path.parent().unwrap_or(Path::new("."));
    let backend = settings.backend.unwrap_or(file.header.backend);

    let mut inputs = TestInputs::default();
    let mut text = |label: &str, value: &str| inputs.texts.push((label.into(), value.into()));
    text("clnrm", env!("CARGO_PKG_VERSION"));
    text("test", test.name());
    let rendered = variant.rendered.as_ref().unwrap_or(&report.source);
    text("scenario", rendered.text());
    for dependency in &report.dependencies {
        text(&format!("template:{}", dependency.name), &dependency.text);
    }
    text("backend", &format!("{backend:?}"));
    text(
        "timeouts",
        &format!(
            "{:?} {:?}",
            settings.step_timeout, settings.scenario_timeout
        ),
    );
    // The environment steps get besides their own `env` (format.md, Environment).
    for name in std::iter::once("PATH").chain(settings.env_passthrough.iter().map(String::as_str)) {
        let value = std::env::var(name).unwrap_or_else(|_| "\0unset".into());
        text(&format!("env:{name}"), &value);
    }

    let commands = scenario.steps.iter().map(|s| &s.command.value);
    for command in commands {
        inputs
            .paths
            .extend(named_programs(command, backend, &settings_path()));
    }
    images_and_contexts(file, dir, backend, settings, scenario, &mut inputs);
    inputs.paths.sort();
    inputs.paths.dedup();
    inputs.images.sort();
    inputs.images.dedup();
    Some(inputs)
}

/// clnrm's own `PATH`, which host steps get.
fn settings_path() -> String {
    std::env::var("PATH").unwrap_or_default()
}

/// The files on this machine a command names: every absolute path among its
/// words (also inside a `sh -c` script) that is a file, and on the host the
/// program found on `PATH`. In a container a bare name is the image's.
fn named_programs(command: &[String], backend: Backend, path: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for word in command.iter().flat_map(|arg| arg.split_whitespace()) {
        let word = word.trim_matches(|c| matches!(c, '"' | '\'' | ';' | '(' | ')'));
        if word.starts_with('/') && Path::new(word).is_file() {
            found.push(PathBuf::from(word));
        }
    }
    if backend == Backend::Local
        && let Some(program) = command.first().filter(|p| !p.contains('/'))
        && let Some(on_path) = crate::backend::find_on_path(path, program)
    {
        found.push(on_path);
    }
    found
}

/// The runner's image (on the container backend, when a step runs in it),
/// the services' images, their build contexts and their volumes.
fn images_and_contexts(
    file: &ScenarioFile,
    dir: &Path,
    backend: Backend,
    settings: &RunSettings,
    scenario: &crate::scenario::Scenario,
    inputs: &mut TestInputs,
) {
    let image = |source: Option<&ImageSource>, inputs: &mut TestInputs| match source {
        Some(ImageSource::Image(named)) => inputs.images.push(named.value.clone()),
        Some(ImageSource::Build(build)) => {
            if let crate::backend::ImageSpec::Build { context, .. } = build_spec(build, dir) {
                inputs.paths.push(context);
            }
        }
        None => {}
    };
    let runner_steps = scenario.steps.iter().any(|s| s.service.is_none());
    if backend == Backend::Container && runner_steps {
        match (&file.header.build, &file.header.image) {
            (Some(build), _) => image(Some(&ImageSource::Build(build.clone())), inputs),
            (None, Some(named)) => inputs.images.push(named.value.clone()),
            (None, None) => inputs.images.push(settings.default_image.clone()),
        }
    }
    for service in file.services.iter().filter(|s| !s.is_collector()) {
        image(service.image.as_ref(), inputs);
        for volume in &service.volumes {
            inputs.paths.push(dir.join(&volume.host_path));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::suite::SuiteBuilder;

    fn inputs_of(dir: &Path, text: &str) -> TestInputs {
        std::fs::write(dir.join("s.clnrm.toml"), text).expect("write");
        let config = Config {
            roots: vec![dir.to_path_buf()],
            ..Config::default()
        };
        let suite = SuiteBuilder::new(config).build().expect("suite");
        test_inputs(&suite.tests[0], &suite.settings).expect("inputs")
    }

    #[test]
    fn images_contexts_volumes_and_named_files_are_listed() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("data")).expect("mkdir");
        std::fs::create_dir(dir.path().join("ctx")).expect("mkdir");
        let tool = dir.path().join("tool");
        std::fs::write(&tool, "").expect("write");
        let inputs = inputs_of(
            dir.path(),
            &format!(
                "[meta]\nname = \"s\"\nimage = \"runner:1\"\n\n\
                 [services.db]\nimage = \"db:2\"\nvolumes = [\"data:/data\"]\n\n\
                 [services.api]\nbuild = \"ctx\"\n\n\
                 [[steps]]\nname = \"a\"\ncommand = [\"sh\", \"-c\", \"{} --flag\"]\n",
                tool.display()
            ),
        );
        assert_eq!(
            inputs.images,
            vec!["db:2".to_string(), "runner:1".to_string()]
        );
        let real = |p: &str| dir.path().join(p).canonicalize().expect("real");
        assert!(inputs.paths.contains(&tool), "{:?}", inputs.paths);
        assert!(
            inputs.paths.contains(&dir.path().join("data")),
            "{:?}",
            inputs.paths
        );
        assert!(inputs.paths.contains(&real("ctx")), "{:?}", inputs.paths);
        let labels: Vec<&str> = inputs.texts.iter().map(|(l, _)| l.as_str()).collect();
        for label in [
            "clnrm", "test", "scenario", "backend", "timeouts", "env:PATH",
        ] {
            assert!(labels.contains(&label), "{labels:?}");
        }
    }

    #[test]
    fn a_host_step_counts_the_program_it_finds_on_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let inputs = inputs_of(
            dir.path(),
            "[meta]\nname = \"s\"\nbackend = \"local\"\n\n[[steps]]\nname = \"a\"\ncommand = [\"sh\", \"-c\", \"true\"]\n",
        );
        assert!(
            inputs
                .paths
                .iter()
                .any(|p| p.file_name().is_some_and(|n| n == "sh")),
            "{:?}",
            inputs.paths
        );
        assert!(inputs.images.is_empty(), "no engine on the local backend");
    }
}
