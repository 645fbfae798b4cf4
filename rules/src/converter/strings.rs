//! String converters: lengths, trimming, fields and words, regex
//! substitution, concatenation and comparison with variables, `iif`, and
//! the host and port of a `Host` value.

use std::borrow::Cow;

use regex::{Regex, RegexBuilder};

use super::args::{int_arg, opt_int_arg, VarLookup};
use crate::value::{SampleType, Value};

/// A string converter.
#[derive(Debug, Clone)]
pub enum Text {
    /// `length`: the length in bytes.
    Length,
    /// `ltrim(chars)`: those characters removed from the start.
    Ltrim(String),
    /// `rtrim(chars)`: those characters removed from the end.
    Rtrim(String),
    /// `field(index,delimiters[,count])`: fields cut at each delimiter.
    Field(Cut),
    /// `word(index,delimiters[,count])`: words between runs of delimiters.
    Word(Cut),
    /// `regsub(regex,replacement[,flags])`.
    Regsub {
        /// The compiled regex (`i` flag: case-insensitive).
        regex: Regex,
        /// The replacement in the `regex` crate's syntax (`\1` as `${1}`).
        replacement: String,
        /// `g` flag: every match, not only the first.
        global: bool,
    },
    /// `concat([start[,var[,end]]])`.
    Concat {
        /// Written before the sample.
        start: String,
        /// The variable written after it (nothing when unset).
        var: Option<String>,
        /// Written last.
        end: String,
    },
    /// `strcmp(var)`: 0 when equal, else the sign of the comparison.
    Strcmp(String),
    /// `add_item(delimiter[,var[,suffix]])`.
    AddItem {
        /// Written between the sample and what follows, when both exist.
        delimiter: String,
        /// The variable appended (nothing when unset).
        var: Option<String>,
        /// Appended last.
        suffix: String,
    },
    /// `iif(true,false)`: one string or the other for a boolean.
    Iif(String, String),
    /// `host_only`: a `Host` value without its port.
    HostOnly,
    /// `port_only`: the port of a `Host` value (0 without).
    PortOnly,
}

/// Where `field` and `word` cut and what they keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cut {
    /// Which field (1 the first, -1 the last).
    pub index: i64,
    /// The delimiter bytes.
    pub delimiters: Vec<u8>,
    /// How many fields from `index` (0: all that follow).
    pub count: i64,
}

impl Text {
    /// The converter called `name`, or `None` when it is not of this family.
    pub fn parse(name: &str, args: &[String]) -> Option<Result<Text, String>> {
        let arg = |i: usize| args.get(i).cloned().unwrap_or_default();
        let var = |i: usize| -> Result<Option<String>, String> {
            match args.get(i).filter(|a| !a.is_empty()) {
                None => Ok(None),
                Some(v) if super::args::is_var_name(v) => Ok(Some(v.clone())),
                Some(v) => Err(format!("'{v}' is not a variable name (txn.name…)")),
            }
        };
        let cut = || -> Result<Cut, String> {
            let index = int_arg(args, 0, "a field number")?;
            if index == 0 {
                return Err("field number must not be 0".into());
            }
            let delimiters = arg(1).into_bytes();
            if delimiters.is_empty() {
                return Err("missing argument: the delimiters".into());
            }
            let count = opt_int_arg(args, 2, 1, "a count")?;
            if count < 0 {
                return Err(format!("negative count {count}"));
            }
            Ok(Cut {
                index,
                delimiters,
                count,
            })
        };
        Some(match name {
            "length" => Ok(Text::Length),
            "ltrim" => Ok(Text::Ltrim(arg(0))),
            "rtrim" => Ok(Text::Rtrim(arg(0))),
            "field" => cut().map(Text::Field),
            "word" => cut().map(Text::Word),
            "regsub" => regsub(args),
            "concat" => var(1).map(|var| Text::Concat {
                start: arg(0),
                var,
                end: arg(2),
            }),
            "strcmp" => match var(0) {
                Ok(Some(v)) => Ok(Text::Strcmp(v)),
                Ok(None) => Err("missing argument: a variable name".into()),
                Err(e) => Err(e),
            },
            "add_item" => (|| {
                let var = var(1)?;
                if var.is_none() && arg(2).is_empty() {
                    return Err("expects a variable or a suffix".into());
                }
                Ok(Text::AddItem {
                    delimiter: arg(0),
                    var,
                    suffix: arg(2),
                })
            })(),
            "iif" => match args {
                [t, f] => Ok(Text::Iif(t.clone(), f.clone())),
                _ => Err("expects two strings: iif(when_true,when_false)".into()),
            },
            "host_only" => Ok(Text::HostOnly),
            "port_only" => Ok(Text::PortOnly),
            _ => return None,
        })
    }

    /// (input, output) types.
    pub fn types(&self) -> (SampleType, SampleType) {
        use SampleType::*;
        match self {
            Text::Length | Text::Strcmp(_) | Text::PortOnly => (Str, Sint),
            Text::Iif(..) => (Bool, Str),
            _ => (Str, Str),
        }
    }

    /// The variables the converter reads.
    pub fn variables(&self) -> Vec<&str> {
        match self {
            Text::Concat { var, .. } | Text::AddItem { var, .. } => {
                var.as_deref().into_iter().collect()
            }
            Text::Strcmp(var) => vec![var.as_str()],
            _ => Vec::new(),
        }
    }

    /// The converter applied to a sample of its input type.
    pub fn apply<'r>(&self, value: Value<'r>, vars: &dyn VarLookup) -> Option<Value<'r>> {
        let var_text = |name: &Option<String>| -> String {
            name.as_deref()
                .and_then(|n| vars.var(n))
                .map(|v| v.to_text())
                .unwrap_or_default()
        };
        if let Text::Iif(yes, no) = self {
            let Value::Bool(b) = value else { return None };
            return Some(Value::Str(Cow::Owned(if b { yes } else { no }.clone())));
        }
        let Value::Str(text) = value else { return None };
        let owned = |s: String| Some(Value::Str(Cow::Owned(s)));
        match self {
            Text::Length => Some(Value::Int(text.len() as i64)),
            Text::Ltrim(chars) => Some(Value::Str(slice(text, |t| {
                let start = t.len() - t.trim_start_matches(|c| chars.contains(c)).len();
                start..t.len()
            }))),
            Text::Rtrim(chars) => Some(Value::Str(slice(text, |t| {
                0..t.trim_end_matches(|c| chars.contains(c)).len()
            }))),
            Text::Field(cut) => {
                let range = field(text.as_bytes(), cut)?;
                Some(Value::Str(slice_bytes(text, range)))
            }
            Text::Word(cut) => {
                let range = word(text.as_bytes(), cut)?;
                Some(Value::Str(slice_bytes(text, range)))
            }
            Text::Regsub {
                regex,
                replacement,
                global,
            } => owned(if *global {
                regex.replace_all(&text, replacement.as_str()).into_owned()
            } else {
                regex.replace(&text, replacement.as_str()).into_owned()
            }),
            Text::Concat { start, var, end } => {
                owned(format!("{start}{text}{}{end}", var_text(var)))
            }
            Text::Strcmp(name) => {
                let other = vars.var(name)?;
                let ordering = text.as_bytes().cmp(other.bytes().as_ref());
                Some(Value::Int(ordering as i64))
            }
            Text::AddItem {
                delimiter,
                var,
                suffix,
            } => {
                let item = var_text(var);
                let mut out = text.into_owned();
                if !out.is_empty() && (!item.is_empty() || !suffix.is_empty()) {
                    out.push_str(delimiter);
                }
                out.push_str(&item);
                out.push_str(suffix);
                owned(out)
            }
            Text::HostOnly => Some(Value::Str(slice(text, |t| 0..host_end(t)))),
            Text::PortOnly => {
                let port = &text[host_end(&text)..];
                Some(Value::Int(
                    port.strip_prefix(':')
                        .and_then(|p| p.parse::<u16>().ok())
                        .map(i64::from)
                        .unwrap_or(0),
                ))
            }
            Text::Iif(..) => None,
        }
    }
}

/// The end of the host part of a `Host` value (before `:port`; an IPv6
/// literal keeps its brackets).
fn host_end(host: &str) -> usize {
    if host.starts_with('[') {
        return host.find(']').map(|i| i + 1).unwrap_or(host.len());
    }
    host.rfind(':').unwrap_or(host.len())
}

/// `text[range]`, borrowed when `text` is.
fn slice<'r>(text: Cow<'r, str>, range: impl Fn(&str) -> std::ops::Range<usize>) -> Cow<'r, str> {
    match text {
        Cow::Borrowed(t) => Cow::Borrowed(&t[range(t)]),
        Cow::Owned(t) => Cow::Owned(t[range(&t)].to_owned()),
    }
}

/// `text[range]` where the range is in bytes and may cut a character
/// (a delimiter that is part of one): then the piece is repaired.
fn slice_bytes(text: Cow<'_, str>, range: std::ops::Range<usize>) -> Cow<'_, str> {
    match text {
        Cow::Borrowed(t) => match t.get(range.clone()) {
            Some(s) => Cow::Borrowed(s),
            None => Cow::Owned(String::from_utf8_lossy(&t.as_bytes()[range]).into_owned()),
        },
        Cow::Owned(t) => Cow::Owned(String::from_utf8_lossy(&t.as_bytes()[range]).into_owned()),
    }
}

/// HAProxy's `field`: the byte range of field `index` (and the `count`
/// after it) between single delimiters; `None` when there is no such field.
pub(crate) fn field(text: &[u8], cut: &Cut) -> Option<std::ops::Range<usize>> {
    let is_delim = |b: u8| cut.delimiters.contains(&b);
    let mut count = cut.count;
    if cut.index > 0 {
        let (mut field, mut start, mut end) = (1i64, 0usize, 0usize);
        while end < text.len() {
            if is_delim(text[end]) {
                if field == cut.index {
                    if count == 1 {
                        return Some(start..end);
                    } else if count > 1 {
                        count -= 1;
                    }
                } else {
                    start = end + 1;
                    field += 1;
                }
            }
            end += 1;
        }
        (field == cut.index).then_some(start..end)
    } else {
        let (mut field, mut start, mut end) = (-1i64, text.len(), text.len());
        while start > 0 {
            if is_delim(text[start - 1]) {
                if field == cut.index {
                    if count == 1 {
                        return Some(start..end);
                    } else if count > 1 {
                        count -= 1;
                    }
                } else {
                    end = start - 1;
                    field -= 1;
                }
            }
            start -= 1;
        }
        (field == cut.index).then_some(start..end)
    }
}

/// HAProxy's `word`: like [`field`], but runs of delimiters count as one
/// and leading or trailing ones start no word.
pub(crate) fn word(text: &[u8], cut: &Cut) -> Option<std::ops::Range<usize>> {
    let is_delim = |b: u8| cut.delimiters.contains(&b);
    let mut count = cut.count;
    let (mut word, mut inword) = (0i64, false);
    if cut.index > 0 {
        let (mut start, mut end) = (0usize, 0usize);
        while end < text.len() {
            let sep = is_delim(text[end]);
            if !inword {
                if !sep {
                    if word != cut.index {
                        word += 1;
                        start = end;
                    }
                    inword = true;
                }
            } else if sep {
                if word == cut.index {
                    if count == 1 {
                        return Some(start..end);
                    } else if count > 1 {
                        count -= 1;
                    }
                }
                inword = false;
            }
            end += 1;
        }
        (word == cut.index).then_some(start..end)
    } else {
        let (mut start, mut end) = (text.len(), text.len());
        while start > 0 {
            let sep = is_delim(text[start - 1]);
            if !inword {
                if !sep {
                    if word != cut.index {
                        word -= 1;
                        end = start;
                    }
                    inword = true;
                }
            } else if sep {
                if word == cut.index {
                    if count == 1 {
                        return Some(start..end);
                    } else if count > 1 {
                        count -= 1;
                    }
                }
                inword = false;
            }
            start -= 1;
        }
        (word == cut.index).then_some(start..end)
    }
}

/// `regsub(regex,replacement[,flags])`: flags `i` and `g`; `\N` in the
/// replacement is group N.
fn regsub(args: &[String]) -> Result<Text, String> {
    let pattern = args.first().ok_or("missing argument: a regex")?;
    let flags = args.get(2).map(String::as_str).unwrap_or("");
    if let Some(bad) = flags.chars().find(|c| !matches!(c, 'i' | 'g')) {
        return Err(format!(
            "invalid regex flag '{bad}', only 'i' and 'g' are supported"
        ));
    }
    let regex = RegexBuilder::new(pattern)
        .case_insensitive(flags.contains('i'))
        .build()
        .map_err(|e| format!("invalid regex '{pattern}': {e}"))?;
    Ok(Text::Regsub {
        regex,
        replacement: replacement(args.get(1).map(String::as_str).unwrap_or("")),
        global: flags.contains('g'),
    })
}

/// HAProxy's replacement syntax (`\1`, `\\`) in the `regex` crate's
/// (`${1}`, `$$` for a dollar).
pub(crate) fn replacement(subst: &str) -> String {
    let mut out = String::with_capacity(subst.len());
    let mut chars = subst.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' => out.push_str("$$"),
            '\\' => match chars.next() {
                Some(d) if d.is_ascii_digit() => {
                    out.push_str("${");
                    out.push(d);
                    out.push('}');
                }
                Some('$') => out.push_str("$$"),
                Some(other) => out.push(other),
                None => out.push('\\'),
            },
            c => out.push(c),
        }
    }
    out
}
