//! The condition language of `.if`, `.elif` and `-cc`, read as HAProxy 2.6
//! reads it.
//!
//! HAProxy first cuts the line into words like any other line (quotes,
//! escapes and `"${VAR}"` are applied there), joins the words after the
//! directive with single spaces, and parses that text:
//!
//! ```text
//! condition := and ( '||' and )*          (empty text: false)
//! and       := term ( '&&' term )*        ('&&' binds tighter than '||')
//! term      := '!'* ( number | '(' condition ')' | predicate [ '(' args ')' ] )
//! ```
//!
//! Numbers are read like C's `strtol` (`0x10`, `010`, `-1`): zero is false,
//! anything else true. A plain word is not a condition. The predicates and
//! their arguments are in [`super::predicate`].
//!
//! Parsing and evaluating are separate so that, as in HAProxy, an operand
//! that `&&`/`||` never reaches is never evaluated.

use crate::env::Environment;
use crate::suggest::did_you_mean;

use super::identity;
use super::predicate::{read_arguments, Predicate, PredicateCall};

/// How deep HAProxy lets a condition nest (`MAX_CFG_RECURSION`). Every `||`,
/// `&&` and parenthesis spends from it exactly as HAProxy's recursive
/// descent does, so the same conditions are "too deep" in both.
const DEPTH_BUDGET: i32 = 1024;

/// A parsed condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// A number: zero is false.
    Constant(bool),
    /// `!A`: the opposite.
    Not(Box<Condition>),
    /// A predicate: `defined(X)`, `streq(A,B)`…
    Predicate(PredicateCall),
    /// `A && B && …`, evaluated left to right until one is false.
    All(Vec<Condition>),
    /// `A || B || …`, evaluated left to right until one is true.
    Any(Vec<Condition>),
}

/// What is wrong with a condition, and where in its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionError {
    /// Byte offset in the condition text.
    pub at: usize,
    /// Length in bytes of the offending text (at least 1 when shown).
    pub len: usize,
    /// What is wrong, in one sentence.
    pub message: String,
    /// How to fix it, when known.
    pub help: Option<String>,
}

impl ConditionError {
    pub(super) fn new(at: usize, len: usize, message: impl Into<String>) -> Self {
        ConditionError {
            at,
            len,
            message: message.into(),
            help: None,
        }
    }

    pub(super) fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

impl Condition {
    /// Parses the text of a condition (the words after `.if`, joined by
    /// spaces). The empty text is false.
    pub fn parse(text: &str) -> Result<Condition, ConditionError> {
        if text.is_empty() {
            return Ok(Condition::Constant(false));
        }
        let mut parser = Parser {
            text: text.as_bytes(),
            pos: 0,
        };
        let condition = parser.condition(DEPTH_BUDGET, None)?;
        parser.skip_blanks();
        if parser.pos < parser.text.len() {
            let (at, len, token) = parser.token_at(parser.pos);
            return Err(ConditionError::new(
                at,
                len,
                format!("unexpected '{token}' after the condition"),
            )
            .help("join conditions with '&&' or '||' (not 'and', 'or', '&', '|'), and write predicates as name(args) with no space before '('"));
        }
        Ok(condition)
    }

    /// Evaluates the condition; only the operands that `&&` and `||` reach
    /// are evaluated, so `feature(OPENSSL) && openssl_version_atleast(1.1.1)`
    /// is simply false here.
    pub fn evaluate(&self, env: &Environment) -> Result<bool, ConditionError> {
        match self {
            Condition::Constant(value) => Ok(*value),
            Condition::Not(inner) => Ok(!inner.evaluate(env)?),
            Condition::Predicate(call) => call.evaluate(env),
            Condition::All(terms) => {
                for term in terms {
                    if !term.evaluate(env)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Condition::Any(terms) => {
                for term in terms {
                    if term.evaluate(env)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
        }
    }
}

/// A cursor over the condition text.
struct Parser<'a> {
    text: &'a [u8],
    pos: usize,
}

/// The operator or parenthesis a missing operand should have followed.
type After = Option<(&'static str, usize)>;

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.get(self.pos).copied()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.text.len()
    }

    /// HAProxy skips only spaces and tabs between the parts of a condition.
    fn skip_blanks(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, operator: &[u8]) -> bool {
        if self.text[self.pos.min(self.text.len())..].starts_with(operator) {
            self.pos += operator.len();
            true
        } else {
            false
        }
    }

    /// `and ( '||' and )*`.
    fn condition(&mut self, mut depth: i32, mut after: After) -> Result<Condition, ConditionError> {
        let mut any = Vec::new();
        loop {
            self.expect_operand(depth, after)?;
            any.push(self.and(depth - 1, after)?);
            self.skip_blanks();
            let operator = self.pos;
            if !self.eat(b"||") {
                break;
            }
            self.skip_blanks();
            after = Some(("||", operator));
            depth -= 1;
        }
        Ok(flatten(any, Condition::Any))
    }

    /// `term ( '&&' term )*`.
    fn and(&mut self, mut depth: i32, mut after: After) -> Result<Condition, ConditionError> {
        let mut all = Vec::new();
        loop {
            self.expect_operand(depth, after)?;
            all.push(self.term(depth - 1, after)?);
            self.skip_blanks();
            let operator = self.pos;
            if !self.eat(b"&&") {
                break;
            }
            self.skip_blanks();
            after = Some(("&&", operator));
            depth -= 1;
        }
        Ok(flatten(all, Condition::All))
    }

    /// Fails when the text ends where an operand must be, or when the depth
    /// budget is spent.
    fn expect_operand(&self, depth: i32, after: After) -> Result<(), ConditionError> {
        if self.at_end() {
            return Err(self.missing(after));
        }
        if depth <= 0 {
            return Err(self.too_deep());
        }
        Ok(())
    }

    fn term(&mut self, depth: i32, after: After) -> Result<Condition, ConditionError> {
        self.skip_blanks();
        self.expect_operand(depth, after)?;
        let mut negate = false;
        let mut after = after;
        while self.peek() == Some(b'!') {
            after = Some(("!", self.pos));
            negate = !negate;
            self.pos += 1;
            self.skip_blanks();
        }
        let term = if let Some(value) = self.number() {
            Condition::Constant(value)
        } else if self.peek() == Some(b'(') {
            self.parenthesized(depth)?
        } else {
            self.predicate(after)?
        };
        Ok(if negate {
            Condition::Not(Box::new(term))
        } else {
            term
        })
    }

    /// `'(' condition ')'`, and the blanks after it.
    fn parenthesized(&mut self, depth: i32) -> Result<Condition, ConditionError> {
        let open = self.pos;
        self.pos += 1;
        self.skip_blanks();
        let inner = self.condition(depth - 1, Some(("(", open)))?;
        self.skip_blanks();
        if self.peek() != Some(b')') {
            return Err(
                ConditionError::new(open, 1, "unclosed '(' in the condition")
                    .help("add the ')' that closes it"),
            );
        }
        self.pos += 1;
        self.skip_blanks();
        Ok(inner)
    }

    /// A number as C's `strtol(…, 0)` reads it; `None` (and nothing
    /// consumed) when there is no digit here.
    fn number(&mut self) -> Option<bool> {
        let text = self.text;
        let mut i = self.pos;
        while text.get(i).is_some_and(|&b| identity::is_c_space(b)) {
            i += 1;
        }
        if matches!(text.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let hex = text.get(i) == Some(&b'0')
            && matches!(text.get(i + 1), Some(b'x' | b'X'))
            && text.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
        let is_digit: fn(&u8) -> bool = if hex {
            i += 2;
            u8::is_ascii_hexdigit
        } else if text.get(i) == Some(&b'0') {
            |b| (b'0'..=b'7').contains(b)
        } else {
            u8::is_ascii_digit
        };
        let start = i;
        let mut nonzero = false;
        while let Some(b) = text.get(i).filter(|b| is_digit(b)) {
            nonzero |= *b != b'0';
            i += 1;
        }
        if i == start {
            return None;
        }
        self.pos = i;
        Some(nonzero)
    }

    /// A predicate name, up to a space or `(` as in HAProxy, and its
    /// arguments.
    fn predicate(&mut self, after: After) -> Result<Condition, ConditionError> {
        let at = self.pos;
        let rest = &self.text[at..];
        let name_len = rest
            .iter()
            .position(|&b| b == b' ' || b == b'(')
            .unwrap_or(rest.len());
        let name = &rest[..name_len];
        let Some(predicate) = Predicate::from_name(name) else {
            return Err(self.not_a_condition(at, name, after));
        };
        self.pos += name_len;
        let args = read_arguments(self.text, &mut self.pos, predicate, at)?;
        Ok(Condition::Predicate(PredicateCall {
            predicate,
            args,
            at,
        }))
    }

    fn missing(&self, after: After) -> ConditionError {
        match after {
            Some(("(", at)) => ConditionError::new(at, 1, "missing condition inside '( )'")
                .help("write a condition between the parentheses, or remove them"),
            Some((operator, at)) => ConditionError::new(
                at,
                operator.len(),
                format!("missing condition after '{operator}'"),
            )
            .help("write a condition after it, or remove it"),
            None => ConditionError::new(self.pos, 1, "missing condition")
                .help("write a condition such as 1, defined(VAR) or streq(\"$VAR\",value)"),
        }
    }

    fn too_deep(&self) -> ConditionError {
        ConditionError::new(self.pos, 1, "condition nested too deeply")
            .help("HAProxy reads at most 1024 levels of '&&', '||' and parentheses; split the condition into nested .if blocks")
    }

    /// The word at `at` is neither a number, a parenthesis nor a predicate.
    fn not_a_condition(&self, at: usize, name: &[u8], after: After) -> ConditionError {
        let is_word = name
            .first()
            .is_some_and(|&b| b.is_ascii_alphabetic() || b == b'_')
            && name
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if is_word {
            let name = String::from_utf8_lossy(name);
            let names: Vec<&str> = Predicate::ALL.iter().map(|p| p.name()).collect();
            let help = match did_you_mean(&name, &names) {
                Some(near) => format!("did you mean '{near}'?"),
                None => "the predicates are defined, feature, streq, strneq, version_atleast, version_before, openssl_version_atleast, openssl_version_before and ssllib_name_startswith; a plain word is not a condition, quote a variable as streq(\"$VAR\",value)".to_owned(),
            };
            return ConditionError::new(at, name.len(), format!("unknown predicate '{name}'"))
                .help(help);
        }
        if self.at_end() || (name.first() == Some(&b')') && after.is_some()) {
            return self.missing(after);
        }
        let (at, len, token) = self.token_at(at);
        ConditionError::new(at, len, format!("expected a condition, found '{token}'"))
            .help("a condition is a number, a predicate such as defined(VAR), '!' and a condition, or a condition in parentheses")
    }

    /// The text from `at` to the next blank, for messages.
    fn token_at(&self, at: usize) -> (usize, usize, String) {
        let rest = &self.text[at.min(self.text.len())..];
        let len = rest
            .iter()
            .position(|&b| b == b' ' || b == b'\t')
            .unwrap_or(rest.len())
            .max(1)
            .min(rest.len());
        (at, len, String::from_utf8_lossy(&rest[..len]).into_owned())
    }
}

/// One operand stands for itself; several are joined by `join`.
fn flatten(mut terms: Vec<Condition>, join: fn(Vec<Condition>) -> Condition) -> Condition {
    if terms.len() == 1 {
        terms.pop().unwrap_or(Condition::Constant(false))
    } else {
        join(terms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Environment {
        let mut env = Environment::new();
        env.set("SET", "yes");
        env.set("EMPTY", "");
        env
    }

    fn eval(text: &str) -> Result<bool, String> {
        Condition::parse(text)
            .and_then(|c| c.evaluate(&env()))
            .map_err(|e| e.message)
    }

    fn truth(text: &str) -> bool {
        eval(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
    }

    fn error(text: &str) -> ConditionError {
        match Condition::parse(text).and_then(|c| c.evaluate(&env())) {
            Err(e) => e,
            Ok(v) => panic!("{text:?} evaluated to {v}, expected an error"),
        }
    }

    #[test]
    fn numbers_as_strtol_reads_them() {
        for text in ["", "0", "00", "-0", "0x0", " 0", "+0"] {
            assert!(!truth(text), "{text:?}");
        }
        for text in [
            "1",
            "2",
            "-1",
            "+1",
            "01",
            "0x10",
            "99999999999999999999",
            "  1",
            "1  ",
        ] {
            assert!(truth(text), "{text:?}");
        }
        for text in ["0x", "08", "1abc", "1.5", "1e3", "0 1", "1 2"] {
            assert!(error(text).message.contains("unexpected"), "{text:?}");
        }
    }

    #[test]
    fn plain_words_are_not_conditions() {
        assert_eq!(error("abc").message, "unknown predicate 'abc'");
        assert_eq!(error("yes").message, "unknown predicate 'yes'");
        assert_eq!(
            error("DEFINED(SET)").help.unwrap(),
            "did you mean 'defined'?"
        );
        assert!(error("definedx(SET)").message.contains("'definedx'"));
    }

    #[test]
    fn negation() {
        assert!(truth("!0"));
        assert!(!truth("!1"));
        assert!(!truth("! 1"));
        assert!(truth("!!1"));
        assert!(!truth("! ! 0 "));
        assert!(truth("!defined(NOPE)"));
        assert!(truth("! (0 || 0)"));
        assert_eq!(error("!").message, "missing condition after '!'");
        assert_eq!(error("!!").message, "missing condition after '!'");
    }

    #[test]
    fn and_or_with_precedence_and_parentheses() {
        assert!(!truth("1 && 0"));
        assert!(!truth("1&&0"));
        assert!(truth("1 || 0"));
        assert!(truth("0||1"));
        assert!(!truth("0 || 0"));
        assert!(truth("1 && 0 || 1"), "(1 && 0) || 1");
        assert!(!truth("0 || 1 && 0"), "0 || (1 && 0)");
        assert!(!truth("(0 || 1) && 0"));
        assert!(truth("((1))"));
        assert!(truth("( 1 )"));
        assert!(truth("defined(SET)&&1"));
    }

    #[test]
    fn operator_errors() {
        assert_eq!(error("1 &&").message, "missing condition after '&&'");
        assert_eq!(error("1 ||").message, "missing condition after '||'");
        assert_eq!(error("&& 1").message, "expected a condition, found '&&'");
        assert_eq!(error("|| 1").message, "expected a condition, found '||'");
        assert_eq!(
            error("1 && && 1").message,
            "expected a condition, found '&&'"
        );
        assert_eq!(error("1 &&& 1").message, "expected a condition, found '&'");
        assert!(error("1 & 0").message.contains("unexpected '&'"));
        assert!(error("1 | 0").message.contains("unexpected '|'"));
        assert!(error("1 and 0").message.contains("unexpected 'and'"));
        assert_eq!(error(" ").message, "missing condition");
    }

    #[test]
    fn parenthesis_errors() {
        let e = error("(1");
        assert_eq!(
            (e.at, e.message.as_str()),
            (0, "unclosed '(' in the condition")
        );
        let e = error("1 && (defined(SET) || (0)");
        assert_eq!(e.at, 5);
        assert_eq!(error("()").message, "missing condition inside '( )'");
        assert_eq!(error("( )").message, "missing condition inside '( )'");
        assert!(error("1)").message.contains("unexpected ')'"));
        assert!(error("(1))").message.contains("unexpected ')'"));
    }

    #[test]
    fn evaluation_stops_at_the_first_decisive_operand() {
        assert!(!truth("0 && openssl_version_before(1)"));
        assert!(truth("1 || openssl_version_before(1)"));
        assert!(!truth("1 && openssl_version_before(1)"));
    }

    #[test]
    fn depth_budget_matches_haproxy() {
        let parens = |n: usize| format!("{}1{}", "(".repeat(n), ")".repeat(n));
        assert!(truth(&parens(340)));
        assert_eq!(error(&parens(341)).message, "condition nested too deeply");
        let chain = |n: usize, op: &str| format!("{}1", format!("1{op}").repeat(n));
        assert!(truth(&chain(1021, "&&")));
        assert!(error(&chain(1022, "&&")).message.contains("too deeply"));
        assert!(truth(&chain(1021, "||")));
        assert!(error(&chain(1022, "||")).message.contains("too deeply"));
        assert!(!truth(&format!("{}1", "!".repeat(3001))));
        assert!(Condition::parse(&"(".repeat(100_000)).is_err());
    }

    #[test]
    fn errors_point_at_the_offending_text() {
        let e = error("defined(SET) && fooo(1)");
        assert_eq!((e.at, e.len), (16, 4));
        let e = error("1 2");
        assert_eq!((e.at, e.len), (2, 1));
        let e = error("streq(a)");
        assert_eq!((e.at, e.len), (0, 5));
    }

    #[test]
    fn never_panics_on_odd_text() {
        for text in [
            "(",
            ")",
            "!",
            "!(",
            "((",
            "streq(",
            "streq(,",
            "streq('",
            "streq(\"",
            "\\",
            "é",
            "!é",
            "(é",
            "streq(é,é)",
            "1 é",
            "0x",
            "-",
            "+",
            "- 1",
            "\u{0}",
            "defined(\u{0})",
            "1 |",
            "1 &",
            "version_atleast(-)",
            "version_atleast(2.6-dev)",
            "version_atleast(--)",
        ] {
            let _ = Condition::parse(text).and_then(|c| c.evaluate(&env()));
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics(pieces in proptest::collection::vec(proptest::sample::select(vec![
            "(", ")", "!", " ", "&&", "||", "&", "|", "0", "1", "0x", "-", ",", "'", "\"", "\\",
            "defined", "feature", "streq", "version_atleast", "version_before", "openssl_version_atleast",
            "SET", "2.6", "-dev", "é", "\t",
        ]), 0..24)) {
            let text: String = pieces.concat();
            let _ = Condition::parse(&text).and_then(|c| c.evaluate(&env()));
        }
    }
}
