//! Cuts one physical line into [`Word`]s with the `line` rule of
//! `config.pest`, applying HAProxy's quoting, escapes and `${VAR}` expansion.
//!
//! This is the only module that walks the `line` rule's pairs.

use pest::iterators::Pair;
use pest::Parser;

use crate::diagnostic::Diagnostic;
use crate::env::Environment;
use crate::span::{FileId, Span};
use crate::word::Word;

pub(crate) use grammar::{ConfigGrammar, Rule};

/// The parser pest derives from `config.pest`, in a module of its own so
/// that the generated `Rule` enum stays inside the crate.
mod grammar {
    #[derive(pest_derive::Parser)]
    #[grammar = "config.pest"]
    pub(crate) struct ConfigGrammar;
}

/// The words of one line; empty for blank and comment-only lines.
pub fn lex_line(
    text: &str,
    file: FileId,
    line: u32,
    env: &Environment,
) -> Result<Vec<Word>, Diagnostic> {
    let at = |byte: usize, len_bytes: usize| -> Span {
        let column = text[..byte].chars().count() as u32 + 1;
        let len = text[byte..byte + len_bytes].chars().count() as u32;
        Span::new(file, line, column, len)
    };
    let pairs = match ConfigGrammar::parse(Rule::line, text) {
        Ok(pairs) => pairs,
        Err(_) => return Err(explain_failure(text, &at)),
    };
    let mut words = Vec::new();
    for pair in pairs.flatten().filter(|p| p.as_rule() == Rule::word) {
        let start = pair.as_span().start();
        let len = pair.as_str().len();
        let mut word = Word::new(String::new(), at(start, len));
        for part in pair.into_inner() {
            append_part(part, env, &mut word, &at, false)?;
        }
        words.push(word);
    }
    Ok(words)
}

fn append_part(
    part: Pair<'_, Rule>,
    env: &Environment,
    word: &mut Word,
    at: &dyn Fn(usize, usize) -> Span,
    in_dquotes: bool,
) -> Result<(), Diagnostic> {
    match part.as_rule() {
        Rule::bare | Rule::dq_text | Rule::sq_text => word.text.push_str(part.as_str()),
        Rule::dq_dollar => {
            // HAProxy's `parse_line`: inside double quotes a `$` starts an
            // environment variable, whose name must start with a letter or
            // `_`; anything else is an error, not a literal `$`.
            let span = part.as_span();
            return Err(Diagnostic::error(
                at(span.start(), 1),
                "forbidden first char in environment variable name",
            )
            .with_help(
                "inside double quotes '$' starts an environment variable; for a literal '$' use single quotes ('^curl/[0-9.]+$') or escape it (\\$)",
            ));
        }
        Rule::escape => {
            word.quoted = true;
            let span = part.as_span();
            let unescaped = unescape(part.as_str(), in_dquotes).ok_or_else(|| {
                Diagnostic::error(
                    at(span.start(), span.end() - span.start()),
                    "invalid hexadecimal escape sequence",
                )
                .with_help("write two hexadecimal digits after \\x, e.g. \\x41")
            })?;
            word.text.push_str(&unescaped);
        }
        Rule::env_var => {
            let mut name = "";
            let mut default = None;
            for p in part.into_inner() {
                match p.as_rule() {
                    Rule::env_name => name = p.as_str(),
                    Rule::env_default => default = Some(&p.as_str()[1..]),
                    _ => {}
                }
            }
            match (env.get(name), default) {
                (Some(value), _) => word.text.push_str(value),
                (None, Some(default)) => word.text.push_str(default),
                (None, None) => {}
            }
        }
        Rule::dquoted | Rule::squoted => {
            word.quoted = true;
            let dquoted = part.as_rule() == Rule::dquoted;
            for inner in part.into_inner() {
                append_part(inner, env, word, at, dquoted)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// HAProxy's escapes (`parse_line`): `\x41` → `A`, `\n`, `\r`, `\t`;
/// `\\`, `\ `, `\#`, `\"` and `\'` → the character; `\$` → `$` inside
/// double quotes. Any other backslash is not an escape and stays, with the
/// character after it: `\1` remains `\1` for the regex substitutions
/// (`replace-path (.*) /foo\1`), `\d` for a regex. `None` for a `\x`
/// without two hexadecimal digits.
fn unescape(escape: &str, in_dquotes: bool) -> Option<String> {
    let rest = &escape[1..];
    Some(match rest {
        "n" => "\n".to_owned(),
        "r" => "\r".to_owned(),
        "t" => "\t".to_owned(),
        "x" => return None,
        _ if rest.starts_with('x') && rest.len() == 3 => {
            char::from(u8::from_str_radix(&rest[1..], 16).ok()?).to_string()
        }
        "\\" | " " | "#" | "\"" | "'" => rest.to_owned(),
        "$" if in_dquotes => rest.to_owned(),
        _ => escape.to_owned(),
    })
}

/// The `line` rule accepts every line except those with an unclosed quote or
/// a trailing backslash; say which, pointing at its start.
fn explain_failure(text: &str, at: &dyn Fn(usize, usize) -> Span) -> Diagnostic {
    let mut quote: Option<(char, usize)> = None;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match (quote, c) {
            (None, '#') => break,
            (None, '\\') | (Some(('"', _)), '\\') if chars.next().is_none() => {
                return Diagnostic::error(at(i, 1), "line ends with a backslash")
                    .with_help("HAProxy has no line continuation; write the directive on one line, or quote the backslash as '\\'");
            }
            (None, '"' | '\'') => quote = Some((c, i)),
            (Some((q, _)), c) if c == q => quote = None,
            _ => {}
        }
    }
    match quote {
        Some((q, i)) => {
            let kind = if q == '"' { "double" } else { "single" };
            Diagnostic::error(at(i, 1), format!("unterminated {kind} quote"))
                .with_help(format!("close the quoted text with {q}"))
        }
        None => Diagnostic::error(at(0, text.len()), "this line cannot be read as words")
            .with_help("check its quotes and backslashes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        let mut env = Environment::new();
        env.set("HOME", "/root");
        lex_line(line, FileId(0), 1, &env)
            .unwrap()
            .into_iter()
            .map(|w| w.text)
            .collect()
    }

    #[test]
    fn splits_on_blanks_and_drops_comments() {
        assert_eq!(
            words("  bind  :80\tname web # front"),
            ["bind", ":80", "name", "web"]
        );
        assert!(words("   # only a comment").is_empty());
        assert!(words("").is_empty());
    }

    #[test]
    fn quoting_and_escapes_join_into_one_word() {
        assert_eq!(words(r#"a"b c"'d e'f\ g"#), ["ab cd ef g"]);
        assert_eq!(words(r#""\x41\"" '\x41'"#), ["A\"", "\\x41"]);
        assert_eq!(words(r#"x "a#b" c\#d"#), ["x", "a#b", "c#d"]);
    }

    #[test]
    fn a_backslash_that_is_no_escape_stays_as_haproxy_keeps_it() {
        // Back-references and regex classes reach the rules whole.
        assert_eq!(
            words(r#"replace-path (.*) /foo\1 "\2\d" x\.y"#),
            ["replace-path", "(.*)", "/foo\\1", "\\2\\d", "x\\.y"]
        );
        // The escapes proper: \\, \<space>, \#, quotes, and \$ in double quotes.
        assert_eq!(
            words(r#"a\\b c\ d \"e\' "\$f" \$g"#),
            ["a\\b", "c d", "\"e'", "$f", "\\$g"]
        );
    }

    #[test]
    fn variables_expand_only_in_double_quotes() {
        assert_eq!(
            words(r#""$HOME" '$HOME' $HOME "${HOME}/x" "${NOPE-dflt}" "${NOPE}""#),
            ["/root", "$HOME", "$HOME", "/root/x", "dflt", ""]
        );
    }

    #[test]
    fn spans_point_at_the_written_word() {
        let env = Environment::new();
        let w = lex_line("  mode   forwardfor", FileId(0), 7, &env).unwrap();
        assert_eq!(w[1].span, Span::new(FileId(0), 7, 10, 10));
    }

    #[test]
    fn unterminated_quotes_are_located() {
        let env = Environment::new();
        // HAProxy 2.6.12: "forbidden first char in environment variable
        // name at position 66" for this line.
        let e = lex_line(
            r#"http-request deny if { hdr(user-agent) -m reg "^curl/[0-9.]+$" }"#,
            FileId(0),
            1,
            &env,
        )
        .unwrap_err();
        assert_eq!(
            e.message,
            "forbidden first char in environment variable name"
        );
        assert_eq!(e.span.unwrap().column, 61);
        assert!(e.help.unwrap().contains("single quotes"));
        let w = lex_line(r#"x '^a$' "b\$" "$HOME""#, FileId(0), 1, &env).unwrap();
        assert_eq!((w[1].text.as_str(), w[2].text.as_str()), ("^a$", "b$"));
        let e = lex_line(r#"acl a hdr(x) "abc"#, FileId(0), 1, &env).unwrap_err();
        assert_eq!(e.span.unwrap().column, 14);
        assert!(e.message.contains("unterminated double quote"));
        let e = lex_line(r#"x \xZZ"#, FileId(0), 1, &env).unwrap_err();
        assert!(e.message.contains("hexadecimal"));
        let e = lex_line("x y\\", FileId(0), 1, &env).unwrap_err();
        assert!(e.message.contains("backslash"));
    }
}
