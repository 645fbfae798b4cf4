//! "Did you mean …?" for near-miss keywords.

/// The closest candidate to `word`, when one is close enough to be a typo.
pub fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let word = word.to_ascii_lowercase();
    candidates
        .iter()
        .map(|c| (strsim::damerau_levenshtein(&word, c), *c))
        .filter(|(distance, c)| *distance <= max_distance(c.len().max(word.len())))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, c)| c)
}

fn max_distance(len: usize) -> usize {
    match len {
        0..=3 => 1,
        4..=7 => 2,
        _ => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::did_you_mean;

    #[test]
    fn finds_typos_but_not_unrelated_words() {
        let keywords = ["default_backend", "use_backend", "bind", "balance"];
        assert_eq!(
            did_you_mean("defualt_backend", &keywords),
            Some("default_backend")
        );
        assert_eq!(did_you_mean("bnid", &keywords), Some("bind"));
        assert_eq!(did_you_mean("frobnicate", &keywords), None);
    }
}
