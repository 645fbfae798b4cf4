//! The runtime API's command syntax (HAProxy's `stats socket` lines): a
//! line split into commands and words, the access levels, and the
//! arguments server commands take. What the commands do lives in the
//! binary's `runtime_api` module.

/// What a socket lets its clients do (`level` on `stats socket`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Read-only: `show …`, `get …`.
    User,
    /// Also maps and ACL entries (HAProxy's default for a socket).
    Operator,
    /// Everything, servers included.
    Admin,
}

impl Level {
    pub fn parse(text: &str) -> Option<Level> {
        Some(match text {
            "user" => Level::User,
            "operator" => Level::Operator,
            "admin" => Level::Admin,
            _ => return None,
        })
    }
}

/// Splits a line into commands (on `;`) and words (on spaces and tabs); a
/// backslash makes the next character literal.
pub fn split_line(line: &str) -> Vec<Vec<String>> {
    let mut commands = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next() {
                    word.push(next);
                    in_word = true;
                }
            }
            ' ' | '\t' | ';' => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
                if c == ';' {
                    commands.push(std::mem::take(&mut words));
                }
            }
            _ => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    commands.push(words);
    // `a;;b` and a trailing `;` hold no command; a blank line holds one
    // empty command (HAProxy answers it with the help text).
    if commands.len() > 1 {
        commands.retain(|c| !c.is_empty());
    }
    commands
}

/// Writes `word` so that `split_line` reads it back as one word.
pub fn escape_word(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    for c in word.chars() {
        if matches!(c, '\\' | ' ' | '\t' | ';') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `BACKEND/SERVER`, as the server commands take it.
pub fn split_server(arg: Option<&String>) -> Result<(&str, &str), String> {
    arg.and_then(|a| a.split_once('/'))
        .ok_or_else(|| "Require 'backend/server'.".to_owned())
}

/// The highest weight a server may have.
pub const MAX_WEIGHT: u32 = 256;

/// A weight as `set weight` and `set server … weight` take it: `N`, or
/// `N%` of the configured weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightArg {
    Absolute(u32),
    Percent(u64),
}

impl WeightArg {
    /// Reads `N` (0 to 256) or `N%` (N ≥ 0), with HAProxy's messages.
    pub fn parse(text: Option<&String>) -> Result<WeightArg, String> {
        let text = text.ok_or("Require <weight> or <weight%>.")?;
        let (number, relative) = match text.strip_suffix('%') {
            Some(n) => (n, true),
            None => (text.as_str(), false),
        };
        let value: i64 = number
            .parse()
            .map_err(|_| "Empty weight string empty or preceded by garbage".to_owned())?;
        if relative {
            let value =
                u64::try_from(value).map_err(|_| "Relative weight must be positive.".to_owned())?;
            return Ok(WeightArg::Percent(value));
        }
        match u32::try_from(value) {
            Ok(w) if w <= MAX_WEIGHT => Ok(WeightArg::Absolute(w)),
            _ => Err("Absolute weight can only be between 0 and 256 inclusive.".into()),
        }
    }

    /// The weight this gives a server configured with `initial`: a
    /// percentage is capped at 256 however large it is.
    pub fn resolve(self, initial: u32) -> u32 {
        match self {
            WeightArg::Absolute(w) => w,
            WeightArg::Percent(p) => {
                let w = u64::from(initial).saturating_mul(p) / 100;
                w.min(u64::from(MAX_WEIGHT)) as u32
            }
        }
    }
}

/// `set maxconn server … N`: a non-negative number.
pub fn parse_maxconn(text: Option<&String>) -> Result<u32, String> {
    text.and_then(|v| v.parse().ok())
        .ok_or_else(|| "maxconn string empty or preceded by garbage".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn lines_split_into_commands_and_words() {
        assert_eq!(
            split_line("show backend; get weight be/s1"),
            vec![
                words(&["show", "backend"]),
                words(&["get", "weight", "be/s1"])
            ]
        );
        assert_eq!(
            split_line(r"add map m.map a\;b x\ y"),
            vec![words(&["add", "map", "m.map", "a;b", "x y"])]
        );
        assert_eq!(split_line("a;;b;"), vec![words(&["a"]), words(&["b"])]);
        assert_eq!(split_line(""), vec![Vec::<String>::new()]);
    }

    #[test]
    fn escaped_words_read_back_whole() {
        let given = words(&["a b", "c;d", "e\\", "\t", "é"]);
        let line: Vec<String> = given.iter().map(|w| escape_word(w)).collect();
        assert_eq!(split_line(&line.join(" ")), vec![given]);
    }

    #[test]
    fn levels_are_ordered() {
        assert!(Level::User < Level::Operator && Level::Operator < Level::Admin);
        assert_eq!(Level::parse("operator"), Some(Level::Operator));
        assert_eq!(Level::parse("root"), None);
    }

    #[test]
    fn weights_absolute_and_relative() {
        let arg = |t: &str| WeightArg::parse(Some(&t.to_owned()));
        assert_eq!(arg("10"), Ok(WeightArg::Absolute(10)));
        assert!(arg("257").is_err() && arg("-1").is_err() && arg("x").is_err());
        assert!(arg("-5%").is_err());
        assert_eq!(arg("50%").unwrap().resolve(10), 5);
        assert_eq!(arg("1000%").unwrap().resolve(100), 256);
    }

    /// Seen while moving this parser out of the binary: a huge percentage
    /// overflowed `initial × N` (a panic in debug builds, a wrapped weight
    /// in release).
    #[test]
    fn a_huge_percentage_is_capped_not_overflowed() {
        let huge = WeightArg::parse(Some(&"9223372036854775807%".to_owned())).unwrap();
        assert_eq!(huge.resolve(256), 256);
        assert_eq!(huge.resolve(0), 0);
    }

    #[test]
    fn maxconn_is_a_plain_number() {
        assert_eq!(parse_maxconn(Some(&"100".to_owned())), Ok(100));
        assert!(parse_maxconn(Some(&"-1".to_owned())).is_err());
        assert!(parse_maxconn(None).is_err());
    }
}
