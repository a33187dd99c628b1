//! How a `cargo nextest` run ended, said in words (nextest's documented exit
//! codes, from `nextest-metadata`), and, when a name filter matched no test,
//! the closest test names (from nextest's own test list).

use std::process::Command;

use nextest_metadata::{NextestExitCode, TestListSummary};

/// Names offered when a filter matches nothing.
const CLOSEST: usize = 3;

/// What a nextest exit code means, for the line `cargo clnrm test` adds.
pub fn meaning(code: i32) -> Option<&'static str> {
    Some(match code {
        NextestExitCode::OK => return None,
        NextestExitCode::NO_TESTS_RUN => "no test matched",
        NextestExitCode::TEST_RUN_FAILED => "tests failed",
        NextestExitCode::BUILD_FAILED => "the build failed",
        NextestExitCode::TEST_LIST_CREATION_FAILED => "the tests could not be listed",
        NextestExitCode::INVALID_FILTERSET => "the filter is not a valid filterset",
        NextestExitCode::SETUP_SCRIPT_FAILED => "a setup script failed",
        NextestExitCode::INCOMPLETE_RUN => "the run was cut short",
        _ => return None,
    })
}

/// The test names of a `cargo nextest list --message-format json` run of
/// `list` (the same selection as the run, without its name filter).
pub fn listed(mut list: Command) -> Vec<String> {
    list.args(["--message-format", "json"]);
    let Ok(out) = list.output() else {
        return Vec::new();
    };
    let Ok(summary) = serde_json::from_slice::<TestListSummary>(&out.stdout) else {
        return Vec::new();
    };
    (summary.rust_suites.values())
        .flat_map(|suite| {
            suite
                .test_cases
                .keys()
                .map(|name| name.as_str().to_string())
        })
        .collect()
}

/// The names nearest to `filter` (nextest's name filter matches a part of
/// a name), best first.
pub fn closest<'a>(filter: &str, names: &'a [String]) -> Vec<&'a str> {
    let mut scored: Vec<(f64, &str)> = (names.iter())
        .map(|name| {
            // A name scores by its best-matching part, as the filter matches parts.
            let best = (name.split([':', '.', '[', ']', '=', '_', '-']))
                .chain(std::iter::once(name.as_str()))
                .filter(|part| !part.is_empty())
                .map(|part| strsim::jaro_winkler(filter, part))
                .fold(0.0, f64::max);
            (best, name.as_str())
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    scored
        .into_iter()
        .take(CLOSEST)
        .map(|(_, name)| name)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nextests_exit_codes_are_said() {
        assert_eq!(meaning(4), Some("no test matched"));
        assert_eq!(meaning(100), Some("tests failed"));
        assert_eq!(meaning(101), Some("the build failed"));
        assert_eq!(meaning(0), None);
        assert_eq!(meaning(1), None);
    }

    #[test]
    fn the_closest_names_come_first() {
        let names: Vec<String> = [
            "steps.clnrm.toml::argv_and_output",
            "services.clnrm.toml::fetch_by_host_name",
            "first.clnrm.toml::echo",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(closest("ecoh", &names)[0], "first.clnrm.toml::echo");
        assert_eq!(
            closest("fetch_host", &names)[0],
            "services.clnrm.toml::fetch_by_host_name"
        );
        assert_eq!(closest("x", &names).len(), 3);
    }
}
