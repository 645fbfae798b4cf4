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

/// The error for an option word that is not one of `supported`: "not
/// supported yet" when HAProxy has it (`unsupported`), else "unknown" with
/// the nearest supported option.
pub fn unknown_option(
    word: &crate::word::Word,
    kind: &str,
    supported: &[&str],
    unsupported: &[&str],
) -> crate::diagnostic::Diagnostic {
    use crate::diagnostic::Diagnostic;
    let name = word.text.as_str();
    if unsupported.contains(&name) {
        return Diagnostic::error(
            word.span,
            format!("{kind} option '{name}' is not supported by switchyard yet"),
        )
        .with_help("remove it, or run this configuration with HAProxy");
    }
    let diag = Diagnostic::error(word.span, format!("unknown {kind} option '{name}'"));
    match did_you_mean(name, supported) {
        Some(s) => diag.with_help(format!("did you mean '{s}'?")),
        None => diag.with_help(format!("the {kind} options are: {}", supported.join(", "))),
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
