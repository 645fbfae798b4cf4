//! Match methods and compiled pattern sets: what `-m`, `-i` and the ACL
//! keyword suffixes (`_beg`, `_reg`…) mean, and how patterns test a value.

use std::borrow::Cow;
use std::collections::HashSet;
use std::net::IpAddr;

use std::sync::{Arc, OnceLock};

use memchr::memmem::Finder;
use regex::{RegexSet, RegexSetBuilder};

use crate::value::Value;

/// How an ACL line compares its sample with its patterns: HAProxy's `-m`
/// method, or the one a keyword suffix (`_beg`, `_reg`…) or the fetch's
/// default implies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MatchMethod {
    /// `str`: the whole value equals a pattern.
    Str,
    /// `beg`: the value starts with a pattern.
    Beg,
    /// `end`: the value ends with a pattern.
    End,
    /// `sub`: the value contains a pattern.
    Sub,
    /// `reg`: a regular expression matches somewhere in the value.
    Reg,
    /// `dom`: the pattern appears as whole dot- or slash-delimited words (host
    /// names).
    Dom,
    /// `dir`: the pattern appears as whole slash-delimited segments (paths).
    Dir,
    /// `len`: the value's length lies in one of the integer ranges.
    Len,
    /// `found`: the sample exists, whatever its value; the line has no patterns.
    Found,
    /// `int`: the value, an integer, lies in one of the ranges.
    Int,
    /// `ip`: the value, an address, lies in one of the networks.
    Ip,
    /// `bool`: the value is true (a non-zero integer); the line has no patterns.
    Bool,
    /// `bin`: the value's bytes equal a pattern written in hexadecimal.
    Bin,
}

impl MatchMethod {
    /// The method named `name` (`-m NAME`), or `None` for a name HAProxy does
    /// not know.
    pub fn parse(name: &str) -> Option<MatchMethod> {
        Some(match name {
            "str" => MatchMethod::Str,
            "beg" => MatchMethod::Beg,
            "end" => MatchMethod::End,
            "sub" => MatchMethod::Sub,
            "reg" => MatchMethod::Reg,
            "dom" => MatchMethod::Dom,
            "dir" => MatchMethod::Dir,
            "len" => MatchMethod::Len,
            "found" => MatchMethod::Found,
            "int" => MatchMethod::Int,
            "ip" => MatchMethod::Ip,
            "bool" => MatchMethod::Bool,
            "bin" => MatchMethod::Bin,
            _ => return None,
        })
    }
}

/// An integer range `a:b`, `a:`, `:b`, or an operator form (`ge 3`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntRange {
    /// The lowest value in the range (`i64::MIN` when open below).
    pub min: i64,
    /// The highest value in the range (`i64::MAX` when open above).
    pub max: i64,
}

impl IntRange {
    fn contains(&self, n: i64) -> bool {
        self.min <= n && n <= self.max
    }
}

/// Patterns compiled for one match method.
#[derive(Debug, Clone)]
pub enum Matcher {
    /// Exact strings; lowercased when case-insensitive.
    Str {
        /// The patterns, for one hash lookup per value.
        set: HashSet<String>,
        /// Compare lower-cased (`-i`): the value is folded before the lookup.
        icase: bool,
    },
    /// Prefixes (`beg`).
    Beg {
        /// The prefixes; lower-cased with `-i`.
        list: Vec<String>,
        /// Compare lower-cased (`-i`).
        icase: bool,
    },
    /// Suffixes (`end`).
    End {
        /// The suffixes; lower-cased with `-i`.
        list: Vec<String>,
        /// Compare lower-cased (`-i`).
        icase: bool,
    },
    /// Substrings (`sub`).
    Sub {
        /// A searcher per pattern; lower-cased with `-i`.
        list: Vec<Finder<'static>>,
        /// Compare lower-cased (`-i`).
        icase: bool,
    },
    /// Patterns without their leading and trailing delimiters (one left
    /// empty never matches).
    Dom {
        /// A searcher per pattern, built once.
        list: Vec<Finder<'static>>,
        /// Compare lower-cased (`-i`).
        icase: bool,
    },
    /// Slash-delimited path segments (`dir`).
    Dir {
        /// Patterns without their outer slashes, a searcher each.
        list: Vec<Finder<'static>>,
        /// Compare lower-cased (`-i`).
        icase: bool,
    },
    /// All regexes of the ACL in one set.
    Reg(Arc<LineRegexes>),
    /// `len`: the ranges the value's length must fall in.
    Len(Vec<IntRange>),
    /// `int`: the ranges the integer value must fall in.
    Int(Vec<IntRange>),
    /// `ip`: networks as address and prefix length.
    Ip(Vec<(IpAddr, u8)>),
    /// `-m found`: any value matches.
    Found,
    /// `-m bool`: a non-zero value matches.
    Bool,
    /// `-m bin`: the byte strings the value must equal.
    Bin(Vec<Vec<u8>>),
}

/// Why a pattern could not be compiled.
pub type PatternError = String;

impl Matcher {
    /// Compiles `patterns` for `method`, folding them when `icase`; the error
    /// says which pattern is bad and why (a PCRE-only regex construct, an
    /// integer or address that does not parse).
    pub fn compile(
        method: MatchMethod,
        patterns: &[String],
        icase: bool,
    ) -> Result<Matcher, PatternError> {
        let fold = |p: &String| if icase { p.to_lowercase() } else { p.clone() };
        Ok(match method {
            MatchMethod::Str => Matcher::Str {
                set: patterns.iter().map(fold).collect(),
                icase,
            },
            MatchMethod::Beg => Matcher::Beg {
                list: patterns.iter().map(fold).collect(),
                icase,
            },
            MatchMethod::End => Matcher::End {
                list: patterns.iter().map(fold).collect(),
                icase,
            },
            MatchMethod::Sub => Matcher::Sub {
                list: patterns
                    .iter()
                    .map(|p| Finder::new(&fold(p)).into_owned())
                    .collect(),
                icase,
            },
            MatchMethod::Dom => Matcher::Dom {
                list: delimited_finders(patterns.iter().map(fold), is_dom_delimiter),
                icase,
            },
            MatchMethod::Dir => Matcher::Dir {
                list: delimited_finders(patterns.iter().map(fold), is_dir_delimiter),
                icase,
            },
            MatchMethod::Reg => {
                for p in patterns {
                    check_regex(p)?;
                }
                Matcher::Reg(Arc::new(LineRegexes {
                    patterns: patterns.to_vec(),
                    icase,
                    set: OnceLock::new(),
                }))
            }
            MatchMethod::Len => Matcher::Len(parse_ints(patterns)?),
            MatchMethod::Int => Matcher::Int(parse_ints(patterns)?),
            MatchMethod::Ip => Matcher::Ip(
                patterns
                    .iter()
                    .map(|p| parse_ip(p))
                    .collect::<Result<_, _>>()?,
            ),
            MatchMethod::Found => Matcher::Found,
            MatchMethod::Bool => Matcher::Bool,
            MatchMethod::Bin => Matcher::Bin(
                patterns
                    .iter()
                    .map(|p| parse_hex(p))
                    .collect::<Result<_, _>>()?,
            ),
        })
    }

    /// Whether any of `values` matches any pattern.
    pub fn matches(&self, values: &[Value]) -> bool {
        match self {
            Matcher::Found => !values.is_empty(),
            _ => values.iter().any(|v| self.matches_one(v)),
        }
    }

    /// Whether `value` matches any pattern (`-m found`: any value does).
    pub(crate) fn matches_one(&self, value: &Value) -> bool {
        // Borrowed where it can be: a string sample is matched in place.
        let text = |icase: bool| {
            let t = value.text();
            if icase {
                fold_case(t)
            } else {
                t
            }
        };
        match self {
            Matcher::Str { set, icase } => set.contains(text(*icase).as_ref()),
            Matcher::Beg { list, icase } => {
                let t = text(*icase);
                list.iter().any(|p| t.starts_with(p.as_str()))
            }
            Matcher::End { list, icase } => {
                let t = text(*icase);
                list.iter().any(|p| t.ends_with(p.as_str()))
            }
            Matcher::Sub { list, icase } => {
                let t = text(*icase);
                list.iter().any(|p| p.find(t.as_bytes()).is_some())
            }
            Matcher::Dom { list, icase } => {
                let t = text(*icase);
                list.iter()
                    .any(|p| delimited_match(t.as_bytes(), p, is_dom_delimiter))
            }
            Matcher::Dir { list, icase } => {
                let t = text(*icase);
                list.iter()
                    .any(|p| delimited_match(t.as_bytes(), p, is_dir_delimiter))
            }
            Matcher::Reg(line) => line.is_match(&value.text()),
            Matcher::Len(ranges) => {
                let len = value.text().chars().count() as i64;
                ranges.iter().any(|r| r.contains(len))
            }
            Matcher::Int(ranges) => value
                .as_int()
                .is_some_and(|n| ranges.iter().any(|r| r.contains(n))),
            Matcher::Ip(nets) => value
                .as_ip()
                .is_some_and(|ip| nets.iter().any(|(net, len)| contains(*net, *len, ip))),
            Matcher::Found => true,
            Matcher::Bool => value.as_int().is_some_and(|n| n != 0),
            Matcher::Bin(list) => {
                let bytes = match value {
                    Value::Bin(b) => Cow::Borrowed(b.as_ref()),
                    other => match other.clone().cast(crate::value::SampleType::Bin) {
                        Some(Value::Bin(b)) => Cow::Owned(b.into_owned()),
                        _ => return false,
                    },
                };
                list.iter().any(|p| p.as_slice() == bytes.as_ref())
            }
        }
    }
}

/// The regexes of one ACL line, compiled into a set when first matched on
/// their own: a line in a pattern group is answered by the group's engine
/// and its own set is built only for the reference evaluation, which keeps
/// 10,000 regex lines from costing 10,000 compiled programs at startup.
#[derive(Debug)]
pub struct LineRegexes {
    patterns: Vec<String>,
    icase: bool,
    set: OnceLock<Option<RegexSet>>,
}

impl LineRegexes {
    fn is_match(&self, text: &str) -> bool {
        let set = self.set.get_or_init(|| {
            // Checked pattern by pattern when compiled; the group's engine,
            // with the same limit, holds them all.
            RegexSetBuilder::new(&self.patterns)
                .case_insensitive(self.icase)
                .size_limit(crate::multi_regex::PROGRAM_LIMIT)
                .build()
                .ok()
        });
        set.as_ref().is_some_and(|s| s.is_match(text))
    }
}

/// `text` lower-cased for a `-i` match, copied only when it has something
/// to fold (the result is `to_lowercase`'s either way).
pub(crate) fn fold_case(text: Cow<'_, str>) -> Cow<'_, str> {
    if !text.is_ascii() || text.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(text.to_lowercase())
    } else {
        text
    }
}

pub(crate) fn is_dom_delimiter(c: u8) -> bool {
    matches!(c, b'/' | b'?' | b'.' | b':')
}

pub(crate) fn is_dir_delimiter(c: u8) -> bool {
    matches!(c, b'/' | b'?')
}

/// `dom`/`dir` patterns without their outer delimiters, ready to search.
fn delimited_finders(
    patterns: impl Iterator<Item = String>,
    is_delim: fn(u8) -> bool,
) -> Vec<Finder<'static>> {
    patterns
        .map(|p| Finder::new(&trim_delimiters(&p, is_delim)).into_owned())
        .collect()
}

/// A `dom`/`dir` pattern without its leading and trailing delimiters.
pub(crate) fn trim_delimiters(pattern: &str, is_delim: fn(u8) -> bool) -> String {
    pattern
        .trim_matches(|c: char| c.is_ascii() && is_delim(c as u8))
        .to_owned()
}

/// `dom`/`dir`: the pattern appears in the value as whole delimited tokens
/// (every occurrence is tried, overlapping ones too).
fn delimited_match(text: &[u8], pattern: &Finder<'_>, is_delim: fn(u8) -> bool) -> bool {
    let len = pattern.needle().len();
    if len == 0 {
        return false;
    }
    let mut start = 0;
    while let Some(pos) = pattern.find(&text[start..]) {
        let at = start + pos;
        let end = at + len;
        let before_ok = at == 0 || is_delim(text[at - 1]);
        let after_ok = end == text.len() || is_delim(text[end]);
        if before_ok && after_ok {
            return true;
        }
        start = at + 1;
    }
    false
}

/// Refuses what PCRE has and the `regex` crate does not, with the reason.
/// The syntax is checked here; the size of the compiled program when the
/// line's pattern group is built ([`crate::pattern_sets`]).
fn check_regex(pattern: &str) -> Result<(), PatternError> {
    match regex_syntax::Parser::new().parse(pattern) {
        Ok(_) => Ok(()),
        Err(e) => {
            let why = if pattern.contains("(?=")
                || pattern.contains("(?!")
                || pattern.contains("(?<=")
                || pattern.contains("(?<!")
            {
                "look-around assertions are not supported by switchyard's regex engine (linear-time matching has none)".to_owned()
            } else if pattern.contains("\\1") || pattern.contains("\\2") {
                "backreferences are not supported by switchyard's regex engine (linear-time matching has none)".to_owned()
            } else {
                e.to_string()
                    .lines()
                    .last()
                    .unwrap_or_default()
                    .trim()
                    .to_owned()
            };
            Err(format!("invalid regex '{pattern}': {why}"))
        }
    }
}

/// Integer patterns: `3`, `1:5`, `:5`, `1:`, and `eq|ge|gt|le|lt N`.
fn parse_ints(patterns: &[String]) -> Result<Vec<IntRange>, PatternError> {
    let mut out = Vec::new();
    let mut op: Option<&str> = None;
    for p in patterns {
        if matches!(p.as_str(), "eq" | "ge" | "gt" | "le" | "lt") {
            op = Some(p.as_str());
            continue;
        }
        let num = |s: &str| {
            s.parse::<i64>()
                .map_err(|_| format!("'{p}' is not an integer"))
        };
        let range = match op {
            Some("ge") => IntRange {
                min: num(p)?,
                max: i64::MAX,
            },
            Some("gt") => IntRange {
                min: num(p)?.saturating_add(1),
                max: i64::MAX,
            },
            Some("le") => IntRange {
                min: i64::MIN,
                max: num(p)?,
            },
            Some("lt") => IntRange {
                min: i64::MIN,
                max: num(p)?.saturating_sub(1),
            },
            _ => match p.split_once(':') {
                Some((a, b)) => IntRange {
                    min: if a.is_empty() { i64::MIN } else { num(a)? },
                    max: if b.is_empty() { i64::MAX } else { num(b)? },
                },
                None => {
                    let n = num(p)?;
                    IntRange { min: n, max: n }
                }
            },
        };
        out.push(range);
    }
    Ok(out)
}

/// A `-m bin` pattern: hexadecimal digits, two a byte (HAProxy's
/// `parse_binary`).
pub(crate) fn parse_hex(p: &str) -> Result<Vec<u8>, PatternError> {
    if !p.len().is_multiple_of(2) {
        return Err(format!("'{p}' : odd number of characters"));
    }
    let digit = |c: u8| {
        (c as char)
            .to_digit(16)
            .ok_or_else(|| format!("'{}' : illegal character in '{p}'", c as char))
    };
    p.as_bytes()
        .chunks(2)
        .map(|pair| Ok((digit(pair[0])? << 4 | digit(pair[1])?) as u8))
        .collect()
}

fn parse_ip(p: &str) -> Result<(IpAddr, u8), PatternError> {
    switchyard_grammar::ast::value::parse_network_text(p)
        .ok_or_else(|| format!("'{p}' is not an IP address or network"))
}

/// Whether `ip` lies in `net/len`; IPv4 patterns also match IPv4-mapped IPv6.
pub fn contains(net: IpAddr, len: u8, ip: IpAddr) -> bool {
    let ip = crate::fetch::canonical(ip);
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(a)) => {
            let mask = if len == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(len))
            };
            u32::from(n) & mask == u32::from(a) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(a)) => {
            let mask = if len == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(len))
            };
            u128::from(n) & mask == u128::from(a) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(method: MatchMethod, pats: &[&str], icase: bool) -> Matcher {
        Matcher::compile(
            method,
            &pats.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            icase,
        )
        .unwrap()
    }
    fn s(v: &str) -> Vec<Value<'_>> {
        vec![Value::Str(v.into())]
    }

    #[test]
    fn string_methods() {
        assert!(m(MatchMethod::Str, &["Example.com"], true).matches(&s("EXAMPLE.COM")));
        assert!(!m(MatchMethod::Str, &["Example.com"], false).matches(&s("example.com")));
        assert!(m(MatchMethod::Beg, &["/api"], false).matches(&s("/api/v1")));
        assert!(m(MatchMethod::End, &[".css"], false).matches(&s("/a.css")));
        assert!(m(MatchMethod::Sub, &["bot"], true).matches(&s("GoogleBot/2")));
        assert!(m(MatchMethod::Reg, &["^/v[0-9]+/"], false).matches(&s("/v2/x")));
    }

    #[test]
    fn dom_and_dir_match_whole_tokens() {
        let dom = m(MatchMethod::Dom, &["example.com"], false);
        assert!(dom.matches(&s("www.example.com")));
        assert!(dom.matches(&s("example.com:8080")));
        assert!(!dom.matches(&s("notexample.com")));
        let dir = m(MatchMethod::Dir, &["img"], false);
        assert!(dir.matches(&s("/static/img/a.png")));
        assert!(!dir.matches(&s("/static/imgs/a.png")));
    }

    #[test]
    fn integers_lengths_ips() {
        let ints = m(MatchMethod::Int, &["ge", "10"], false);
        assert!(ints.matches(&[Value::Int(10)]) && !ints.matches(&[Value::Int(9)]));
        let range = m(MatchMethod::Int, &["1:5", "9"], false);
        assert!(
            range.matches(&[Value::Int(3)])
                && range.matches(&[Value::Int(9)])
                && !range.matches(&[Value::Int(7)])
        );
        assert!(m(MatchMethod::Len, &["3"], false).matches(&s("abc")));
        let ip = m(MatchMethod::Ip, &["127.0.0.0/8", "::1"], false);
        assert!(ip.matches(&[Value::Ip("127.1.2.3".parse().unwrap())]));
        assert!(ip.matches(&[Value::Ip("::ffff:127.0.0.1".parse().unwrap())]));
        assert!(!ip.matches(&[Value::Ip("10.0.0.1".parse().unwrap())]));
        assert!(Matcher::compile(MatchMethod::Int, &["x".into()], false).is_err());
    }

    #[test]
    fn binary_patterns_match_bytes() {
        let bin = m(MatchMethod::Bin, &["0B0080", "6869"], false);
        assert!(bin.matches(&[Value::Bin(vec![0x0b, 0x00, 0x80].into())]));
        assert!(bin.matches(&[Value::Str("hi".into())]));
        assert!(!bin.matches(&[Value::Bin(vec![0x0b, 0x00].into())]));
        assert!(Matcher::compile(MatchMethod::Bin, &["abc".into()], false).is_err());
        assert!(Matcher::compile(MatchMethod::Bin, &["zz".into()], false).is_err());
    }

    #[test]
    fn unsupported_regexes_say_why() {
        let e = Matcher::compile(MatchMethod::Reg, &["^(?!admin)".into()], false).unwrap_err();
        assert!(e.contains("look-around"), "{e}");
        let e = Matcher::compile(MatchMethod::Reg, &["(a)\\1".into()], false).unwrap_err();
        assert!(e.contains("backreferences"), "{e}");
        let e = Matcher::compile(MatchMethod::Reg, &["^/(api".into()], false).unwrap_err();
        assert!(e.starts_with("invalid regex"), "{e}");
    }
}
