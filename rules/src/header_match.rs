//! Which header fields a `del-header NAME [-m str|beg|end|sub|reg]` names,
//! compiled once at load time and shared by the request and response sides.

use crate::pattern::{MatchMethod, Matcher, PatternError};
use crate::value::Value;

/// A compiled `del-header` name test. Field names are compared lowercased
/// (HTTP field names are case-insensitive; both engines hold them in lower
/// case); a `-m reg` pattern is matched as written against the lowercase
/// name, as HAProxy does with its lowercase header names.
#[derive(Debug, Clone)]
pub struct HeaderNameMatch {
    /// The name or pattern as configured (lowercased except for `reg`).
    pattern: String,
    method: MatchMethod,
    /// `None` for the plain (exact name) form: a string compare suffices.
    matcher: Option<Matcher>,
}

impl HeaderNameMatch {
    /// Compiles `pattern` for `method` (`None`: the exact field name).
    pub fn compile(
        pattern: &str,
        method: Option<MatchMethod>,
    ) -> Result<HeaderNameMatch, PatternError> {
        let method = method.unwrap_or(MatchMethod::Str);
        let pattern = match method {
            MatchMethod::Reg => pattern.to_owned(),
            _ => pattern.to_ascii_lowercase(),
        };
        let matcher = match method {
            MatchMethod::Str => None,
            m => Some(Matcher::compile(m, std::slice::from_ref(&pattern), false)?),
        };
        Ok(HeaderNameMatch {
            pattern,
            method,
            matcher,
        })
    }

    /// Whether the field called `name` (lowercase) is one to delete.
    pub fn matches(&self, name: &str) -> bool {
        match &self.matcher {
            None => name.eq_ignore_ascii_case(&self.pattern),
            Some(m) => m.matches_one(&Value::Str(name.into())),
        }
    }

    /// The exact field name when the match is a plain name, so callers can
    /// use an indexed removal.
    pub fn exact_name(&self) -> Option<&str> {
        self.matcher.is_none().then_some(self.pattern.as_str())
    }
}

impl PartialEq for HeaderNameMatch {
    fn eq(&self, other: &HeaderNameMatch) -> bool {
        self.pattern == other.pattern && self.method == other.method
    }
}

impl Eq for HeaderNameMatch {}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, method: Option<MatchMethod>) -> HeaderNameMatch {
        HeaderNameMatch::compile(p, method).unwrap()
    }

    #[test]
    fn each_method_selects_the_names_haproxy_deletes() {
        assert!(m("X-Str1", None).matches("x-str1"));
        assert!(!m("x-str1", None).matches("x-str10"));
        assert!(m("x-beg", Some(MatchMethod::Beg)).matches("x-beg2"));
        assert!(!m("x-beg", Some(MatchMethod::Beg)).matches("y-x-beg"));
        assert!(m("end1", Some(MatchMethod::End)).matches("x-end1"));
        assert!(!m("end1", Some(MatchMethod::End)).matches("x-end2"));
        assert!(m("sub", Some(MatchMethod::Sub)).matches("x-sub2"));
        assert!(m("^x.reg.$", Some(MatchMethod::Reg)).matches("x-reg1"));
        assert!(!m("^x.reg.$", Some(MatchMethod::Reg)).matches("x-always"));
    }

    #[test]
    fn only_the_plain_form_has_an_exact_name() {
        assert_eq!(m("X-A", None).exact_name(), Some("x-a"));
        assert_eq!(m("x-a", Some(MatchMethod::Beg)).exact_name(), None);
    }
}
