//! Conditions as written: the words of a `.if` line, or the text given to
//! `-cc`, joined into the one text HAProxy parses, with errors pointed back
//! at the words they came from.

use crate::diagnostic::Diagnostic;
use crate::env::Environment;
use crate::lexer::lex_line;
use crate::span::{FileId, Span};
use crate::word::Word;

use super::condition::{Condition, ConditionError};

/// Evaluates the condition written in `words` (those after the directive),
/// joined with single spaces as HAProxy joins them.
pub(super) fn evaluate_words(
    directive: &Word,
    words: &[Word],
    env: &Environment,
) -> Result<bool, Diagnostic> {
    evaluate_joined(directive.span, words, Blanks::default(), env)
}

/// Blanks around the words that HAProxy keeps in the joined text: `-cc`
/// turns a leading or trailing run of blanks into one space.
#[derive(Debug, Default, Clone, Copy)]
struct Blanks {
    leading: bool,
    trailing: bool,
}

fn evaluate_joined(
    fallback: Span,
    words: &[Word],
    blanks: Blanks,
    env: &Environment,
) -> Result<bool, Diagnostic> {
    let mut text = String::new();
    if blanks.leading {
        text.push(' ');
    }
    let mut starts = Vec::with_capacity(words.len());
    for (i, word) in words.iter().enumerate() {
        if i > 0 {
            text.push(' ');
        }
        starts.push(text.len());
        text.push_str(&word.text);
    }
    if blanks.trailing {
        text.push(' ');
    }
    Condition::parse(&text)
        .and_then(|condition| condition.evaluate(env))
        .map_err(|e| {
            let span = locate(words, &starts, &e, fallback);
            let mut diag = Diagnostic::error(span, e.message);
            if let Some(help) = e.help {
                diag = diag.with_help(help);
            }
            diag
        })
}

/// The span of an error at a byte offset of the joined condition text: the
/// exact characters when the word was written as is (unquoted, so its text
/// is what the file says), the whole word otherwise, and just after a word
/// when the error is in the blank after it.
fn locate(words: &[Word], starts: &[usize], error: &ConditionError, fallback: Span) -> Span {
    let Some(index) = starts.iter().rposition(|&start| start <= error.at) else {
        return words.first().map_or(fallback, |w| w.span);
    };
    let word = &words[index];
    let offset = error.at - starts[index];
    if offset >= word.text.len() {
        return Span {
            column: word.span.column + word.span.len,
            len: 1,
            ..word.span
        };
    }
    let written_as_is = !word.quoted && word.text.chars().count() as u32 == word.span.len;
    let (Some(before), true) = (word.text.get(..offset), written_as_is) else {
        return word.span;
    };
    let end = (offset + error.len.max(1)).min(word.text.len());
    let len = word
        .text
        .get(offset..end)
        .map_or(1, |s| s.chars().count().max(1));
    Span {
        column: word.span.column + before.chars().count() as u32,
        len: len as u32,
        ..word.span
    }
}

/// Evaluates `condition` as `switchyard -cc` does, which is how
/// `haproxy -cc` does it: the text is cut into words like a configuration
/// line (quotes, escapes and `"${VAR}"` apply) except that `#` starts no
/// comment, and the words are joined with single spaces, a leading or
/// trailing blank counting as one space (so a blank condition is malformed,
/// while the empty one is false).
pub fn evaluate_condition_text(condition: &str, env: &Environment) -> Result<bool, Diagnostic> {
    let (escaped, inserted) = escape_hashes(condition);
    let unshift = |diag: Diagnostic| unshift(diag, &inserted);
    let words = lex_line(&escaped, FileId(0), 1, env).map_err(unshift)?;
    let length = escaped.chars().count() as u32;
    let blanks = Blanks {
        leading: words
            .first()
            .map_or(!condition.is_empty(), |w| w.span.column > 1),
        trailing: words
            .last()
            .is_some_and(|w| w.span.column + w.span.len <= length),
    };
    let fallback = Span::new(FileId(0), 1, 1, 1);
    evaluate_joined(fallback, &words, blanks, env).map_err(unshift)
}

/// Writes `\#` for every `#` outside quotes, so that the line lexer keeps it
/// as text; returns the new text and the character index of each inserted
/// backslash.
fn escape_hashes(text: &str) -> (String, Vec<u32>) {
    let mut out = String::with_capacity(text.len());
    let mut inserted = Vec::new();
    let mut quote: Option<char> = None;
    let mut count = 0u32;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, '#') => {
                inserted.push(count);
                out.push('\\');
                count += 1;
            }
            (None | Some('"'), '\\') => {
                out.push(c);
                count += 1;
                if let Some(next) = chars.next() {
                    out.push(next);
                    count += 1;
                }
                continue;
            }
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            _ => {}
        }
        out.push(c);
        count += 1;
    }
    (out, inserted)
}

/// Moves a span computed on the escaped text back onto the text as given.
fn unshift(mut diag: Diagnostic, inserted: &[u32]) -> Diagnostic {
    if let Some(span) = diag.span.as_mut() {
        let start = span.column.saturating_sub(1);
        let before = inserted.iter().filter(|&&i| i < start).count() as u32;
        let within = inserted
            .iter()
            .filter(|&&i| i >= start && i < start + span.len)
            .count() as u32;
        span.column -= before;
        span.len = span.len.saturating_sub(within).max(1);
    }
    diag
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Environment {
        let mut env = Environment::new();
        env.set("HOME", "/root");
        env
    }

    fn cc(text: &str) -> Result<bool, (u32, String)> {
        evaluate_condition_text(text, &env()).map_err(|d| (d.span.unwrap().column, d.message))
    }

    #[test]
    fn cc_cuts_the_text_into_words_like_a_line() {
        assert_eq!(cc("streq(\"$HOME\",/root)"), Ok(true));
        assert_eq!(cc("streq('$HOME',/root)"), Ok(false));
        assert_eq!(cc("defined(HOME) && !defined(NOPE)"), Ok(true));
        assert_eq!(
            cc("streq(a  b,a b)"),
            Ok(true),
            "blanks collapse to one space"
        );
        assert_eq!(cc("streq(\"a  b\",\"a b\")"), Ok(false));
        assert_eq!(cc("\"1\""), Ok(true));
        assert_eq!(
            cc("\"0 1\"").unwrap_err().1,
            "unexpected '1' after the condition"
        );
        assert!(cc("streq(\"a,b)").unwrap_err().1.contains("unterminated"));
    }

    #[test]
    fn cc_blank_and_empty_conditions() {
        assert_eq!(cc(""), Ok(false));
        assert_eq!(cc("\"\""), Ok(false));
        assert_eq!(cc("  1"), Ok(true));
        assert_eq!(cc("1  "), Ok(true));
        for blank in [" ", "  ", "\t", "\"\" ", " \"\""] {
            assert_eq!(cc(blank).unwrap_err().1, "missing condition", "{blank:?}");
        }
    }

    #[test]
    fn cc_has_no_comments() {
        assert_eq!(
            cc("1 # x"),
            Err((3, "unexpected '#' after the condition".into()))
        );
        assert_eq!(cc("1 #x").unwrap_err().0, 3);
        assert_eq!(cc("# x").unwrap_err().0, 1);
        assert_eq!(cc("streq(\"#\",'#')"), Ok(true));
        assert_eq!(cc("streq(\\#,'#')"), Ok(true));
        let (column, message) = cc("streq(#,#) && fooo(1)").unwrap_err();
        assert_eq!((column, message.as_str()), (15, "unknown predicate 'fooo'"));
    }

    #[test]
    fn cc_errors_point_into_the_text() {
        assert_eq!(
            cc("1 && fooo(1)"),
            Err((6, "unknown predicate 'fooo'".into()))
        );
        assert_eq!(cc("1 &&"), Err((3, "missing condition after '&&'".into())));
        assert_eq!(cc("(1").unwrap_err().0, 1);
    }

    #[test]
    fn escaping_hashes() {
        assert_eq!(escape_hashes("a#b"), ("a\\#b".to_owned(), vec![1]));
        assert_eq!(
            escape_hashes("'#'\"#\"\\#"),
            ("'#'\"#\"\\#".to_owned(), vec![])
        );
        assert_eq!(escape_hashes("é#"), ("é\\#".to_owned(), vec![1]));
    }
}
