//! "Did you mean": the known name closest to a misspelt one.

/// The candidate closest to `name`, when it is close enough to be a typo.
pub(crate) fn closest<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::jaro_winkler(name, c), *c))
        .filter(|(score, c)| *score >= 0.85 || strsim::damerau_levenshtein(name, c) <= 1)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::closest;

    #[test]
    fn typos_find_their_key() {
        assert_eq!(
            closest("comand", &["name", "command", "service"]),
            Some("command")
        );
        assert_eq!(
            closest("enviroment", &["env", "environment"]),
            Some("environment")
        );
        assert_eq!(closest("zzz", &["name", "command"]), None);
    }
}
