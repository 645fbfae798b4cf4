//! The predicates of HAProxy 2.6's conditions, what Switchyard answers to
//! each, and how their arguments are read.
//!
//! Arguments are read as HAProxy's `make_arg_list()` reads string
//! arguments: split at `,`, ended by `)`, with a second level of quoting
//! (`'…'`, `"…"`, `\`) that only text which survived the line's own quoting
//! can use, and blanks kept.

use std::cmp::Ordering;

use crate::env::Environment;

use super::condition::ConditionError;
use super::identity;

/// A predicate with its arguments, and where its name is in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PredicateCall {
    /// Which predicate.
    pub predicate: Predicate,
    /// Its arguments, with quotes removed and escapes read (one empty
    /// argument when written without parentheses).
    pub args: Vec<String>,
    /// Byte offset of the name in the condition text.
    pub at: usize,
}

/// The predicates of HAProxy 2.6.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Predicate {
    /// `defined(NAME)`: the environment variable exists, even empty.
    Defined,
    /// `feature(NAME)`: see [`identity::has_feature`].
    Feature,
    /// `streq(A,B)`: the two strings are equal.
    StrEq,
    /// `strneq(A,B)`: the two strings differ.
    StrNeq,
    /// `version_atleast(V)`: see [`identity::compare_version`].
    VersionAtLeast,
    /// `version_before(V)`.
    VersionBefore,
    /// `openssl_version_atleast(V)`: false, the TLS library is not OpenSSL.
    OpensslVersionAtLeast,
    /// `openssl_version_before(V)`: false, the TLS library is not OpenSSL.
    OpensslVersionBefore,
    /// `ssllib_name_startswith(NAME)`: false, there is no OpenSSL-like library.
    SslLibNameStartsWith,
}

impl Predicate {
    /// Every predicate, for listing them in messages.
    pub const ALL: [Predicate; 9] = [
        Predicate::Defined,
        Predicate::Feature,
        Predicate::StrEq,
        Predicate::StrNeq,
        Predicate::VersionAtLeast,
        Predicate::VersionBefore,
        Predicate::OpensslVersionAtLeast,
        Predicate::OpensslVersionBefore,
        Predicate::SslLibNameStartsWith,
    ];

    /// The name written in a condition (`version_atleast`).
    pub fn name(self) -> &'static str {
        match self {
            Predicate::Defined => "defined",
            Predicate::Feature => "feature",
            Predicate::StrEq => "streq",
            Predicate::StrNeq => "strneq",
            Predicate::VersionAtLeast => "version_atleast",
            Predicate::VersionBefore => "version_before",
            Predicate::OpensslVersionAtLeast => "openssl_version_atleast",
            Predicate::OpensslVersionBefore => "openssl_version_before",
            Predicate::SslLibNameStartsWith => "ssllib_name_startswith",
        }
    }

    /// How it is written with its arguments, for help messages.
    fn usage(self) -> String {
        match self {
            Predicate::StrEq | Predicate::StrNeq => format!("{}(A,B)", self.name()),
            _ => format!("{}(X)", self.name()),
        }
    }

    fn arity(self) -> usize {
        match self {
            Predicate::StrEq | Predicate::StrNeq => 2,
            _ => 1,
        }
    }

    pub(super) fn from_name(name: &[u8]) -> Option<Predicate> {
        Predicate::ALL
            .into_iter()
            .find(|p| p.name().as_bytes() == name)
    }
}

impl PredicateCall {
    pub(super) fn evaluate(&self, env: &Environment) -> Result<bool, ConditionError> {
        let arg = |i: usize| self.args.get(i).map(String::as_str).unwrap_or_default();
        Ok(match self.predicate {
            Predicate::Defined => env.is_defined(arg(0)),
            Predicate::Feature => identity::has_feature(arg(0)),
            Predicate::StrEq => arg(0) == arg(1),
            Predicate::StrNeq => arg(0) != arg(1),
            Predicate::VersionAtLeast => {
                identity::compare_version(arg(0)) != Some(Ordering::Greater)
            }
            Predicate::VersionBefore => {
                identity::compare_version(arg(0)) == Some(Ordering::Greater)
            }
            // TLS is rustls: there is no OpenSSL version to be at least
            // or before anything, so both are false (and the usual guard
            // `feature(OPENSSL) && openssl_version_atleast(1.1.1)` too).
            Predicate::OpensslVersionAtLeast | Predicate::OpensslVersionBefore => false,
            Predicate::SslLibNameStartsWith => false,
        })
    }
}

/// Reads the arguments of `predicate` (named at byte `at`) from `text`,
/// starting at `*pos` (just after the name) and leaving `*pos` after them.
/// As HAProxy's `make_arg_list()` does for string arguments: without `(`,
/// one empty argument; otherwise arguments split at `,` up to `)`, with
/// quotes removed and `\\`, `\'`, `\"`, `\ `, `\r`, `\n`, `\t` unescaped.
pub(super) fn read_arguments(
    text: &[u8],
    pos: &mut usize,
    predicate: Predicate,
    at: usize,
) -> Result<Vec<String>, ConditionError> {
    let name = predicate.name();
    let wanted = predicate.arity();
    let bare = text.get(*pos) != Some(&b'(');
    if !bare {
        *pos += 1;
    }
    let mut args = Vec::new();
    loop {
        let arg = if bare {
            Vec::new()
        } else {
            read_argument(text, pos, predicate, at)?
        };
        args.push(String::from_utf8_lossy(&arg).into_owned());
        if bare || *pos >= text.len() || text.get(*pos) == Some(&b')') || args.len() >= wanted {
            break;
        }
        *pos += 1; // the comma
    }
    let usage = predicate.usage();
    if args.len() < wanted {
        let message = if bare {
            format!("'{name}' needs its arguments in parentheses")
        } else {
            format!("'{name}' expects {wanted} arguments (got {})", args.len())
        };
        return Err(ConditionError::new(at, name.len(), message).help(format!("write {usage}")));
    }
    if bare {
        return Ok(args);
    }
    match text.get(*pos) {
        Some(b')') => {
            *pos += 1;
            Ok(args)
        }
        Some(_) => Err(ConditionError::new(
            at,
            name.len(),
            format!(
                "'{name}' expects {wanted} argument{} (got more)",
                if wanted == 1 { "" } else { "s" }
            ),
        )
        .help(format!(
            "write {usage}; quote an argument that contains ',' as '\"a,b\"' inside single quotes"
        ))),
        None => Err(ConditionError::new(
            at,
            name.len(),
            format!("missing ')' after the arguments of '{name}'"),
        )
        .help(format!("write {usage}"))),
    }
}

/// One argument, up to an unquoted `,` or `)` or the end of the text.
fn read_argument(
    text: &[u8],
    pos: &mut usize,
    predicate: Predicate,
    at: usize,
) -> Result<Vec<u8>, ConditionError> {
    let (mut single, mut double) = (false, false);
    let mut arg = Vec::new();
    while let Some(b) = text.get(*pos).copied() {
        match b {
            b'"' if !single => double = !double,
            b'\'' if !double => single = !single,
            b'\\' if !single => {
                let escaped = match text.get(*pos + 1) {
                    None => {
                        let name = predicate.name();
                        return Err(ConditionError::new(
                            at,
                            name.len(),
                            format!("the arguments of '{name}' end with a lone '\\'"),
                        )
                        .help("write '\\\\' for a backslash"));
                    }
                    Some(&c @ (b'\\' | b' ' | b'"' | b'\'')) => Some(c),
                    Some(b'r') => Some(b'\r'),
                    Some(b'n') => Some(b'\n'),
                    Some(b't') => Some(b'\t'),
                    Some(_) => None,
                };
                match escaped {
                    Some(c) => {
                        arg.push(c);
                        *pos += 1;
                    }
                    None => arg.push(b'\\'),
                }
            }
            b',' | b')' if !single && !double => break,
            _ => arg.push(b),
        }
        *pos += 1;
    }
    Ok(arg)
}

#[cfg(test)]
mod tests {
    use super::super::condition::Condition;
    use super::*;

    fn env() -> Environment {
        let mut env = Environment::new();
        env.set("SET", "yes");
        env.set("EMPTY", "");
        env
    }

    fn truth(text: &str) -> bool {
        Condition::parse(text)
            .and_then(|c| c.evaluate(&env()))
            .unwrap_or_else(|e| panic!("{text:?}: {}", e.message))
    }

    fn error(text: &str) -> ConditionError {
        match Condition::parse(text).and_then(|c| c.evaluate(&env())) {
            Err(e) => e,
            Ok(v) => panic!("{text:?} evaluated to {v}, expected an error"),
        }
    }

    #[test]
    fn defined() {
        assert!(truth("defined(SET)"));
        assert!(truth("defined(EMPTY)"), "defined even when empty");
        assert!(!truth("defined(NOPE)"));
        assert!(!truth("defined()"));
        assert!(!truth("defined"), "a bare predicate has one empty argument");
        assert!(!truth("defined( SET )"), "arguments keep their spaces");
        assert!(truth("defined('SET')"), "and lose their quotes");
        assert!(error("defined(SET,NOPE)")
            .message
            .contains("expects 1 argument (got more)"));
        assert!(error("defined(SET").message.contains("missing ')'"));
        assert!(error("defined (SET)")
            .message
            .contains("unexpected '(SET)'"));
        assert!(error("defined(SET)x").message.contains("unexpected 'x'"));
    }

    #[test]
    fn feature() {
        assert!(truth("feature(THREAD)"));
        assert!(truth("feature(SWITCHYARD)"));
        assert!(truth("feature(OPENSSL)"), "TLS is provided, by rustls");
        assert!(truth("feature(PCRE2)") && truth("feature(PCRE)"));
        assert!(!truth("feature(openssl)"));
        assert!(!truth("feature(NOPE)"));
        assert!(!truth("feature()"));
        assert!(!truth("feature"));
    }

    #[test]
    fn streq_and_strneq() {
        assert!(truth("streq(a,a)"));
        assert!(!truth("streq(a,b)"));
        assert!(!truth("streq(a, a)"), "the space is part of the argument");
        assert!(truth("streq(a b,a b)"));
        assert!(truth("streq(,)"));
        assert!(!truth("streq(a,)"));
        assert!(!truth("streq(,a)"));
        assert!(truth("streq(\"a,b\",'a,b')"), "quoted commas");
        assert!(error("streq(\"a)b\",a\\)b)")
            .message
            .contains("unexpected 'b)'"));
        assert!(truth(r#"streq(a\"b,'a"b')"#), "escaped quote");
        assert!(truth(r"streq(a\qb,a\qb)"), "a lone backslash stays");
        assert!(truth(r"streq(\\,'\')"));
        assert!(truth("strneq(a,b)"));
        assert!(!truth("strneq(a,a)"));
        assert!(error("streq(a)")
            .message
            .contains("expects 2 arguments (got 1)"));
        assert!(error("streq()")
            .message
            .contains("expects 2 arguments (got 1)"));
        assert!(error("streq")
            .message
            .contains("needs its arguments in parentheses"));
        assert!(error("streq(a,b,c)").message.contains("(got more)"));
        assert!(error("streq(a)b,a)").message.contains("(got 1)"));
        assert!(error("streq(\"a,b)").message.contains("(got 1)"));
        assert!(error("streq(a,b\\").message.contains("lone '\\'"));
    }

    #[test]
    fn versions_compare_with_2_6() {
        for text in [
            "version_atleast(2.6)",
            "version_atleast(2.4)",
            "version_atleast(2.4-dev19)",
            "version_atleast(2.6-dev1)",
            "version_atleast(2.6.0)",
            "version_atleast( 2.6)",
            "version_atleast(abc)",
            "version_atleast()",
            "version_atleast",
            "version_before(2.7)",
            "version_before(3)",
            "version_before(2.6.1)",
        ] {
            assert!(truth(text), "{text}");
        }
        for text in [
            "version_atleast(2.6.1)",
            "version_atleast(2.7)",
            "version_atleast(-1)",
            "version_before(2.6)",
            "version_before(2.6-dev1)",
            "version_before(2)",
            "version_before(abc)",
            "version_before()",
        ] {
            assert!(!truth(text), "{text}");
        }
    }

    #[test]
    fn tls_library_predicates() {
        // TLS is provided (feature(OPENSSL)) by rustls, which is no OpenSSL:
        // no version of it to compare.
        assert!(!truth("ssllib_name_startswith(OpenSSL)"));
        assert!(!truth("openssl_version_atleast(1.1.1)"));
        assert!(!truth("openssl_version_before(3.0.0)"));
        assert!(!truth("feature(OPENSSL) && openssl_version_atleast(1.1.1)"));
        assert!(truth("1 || openssl_version_atleast(1.1.1)"));
    }
}
