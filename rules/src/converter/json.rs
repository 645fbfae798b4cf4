//! JSON converters: `json` escapes a string for a JSON document,
//! `json_query` reads a value out of one.

use std::borrow::Cow;

use crate::value::{SampleType, Value};

/// A JSON converter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Json {
    /// `json([ascii|utf8|utf8s|utf8p|utf8ps])`: the string escaped for a
    /// JSON string; the `utf8` modes write non-ASCII characters as
    /// `\uXXXX`, `ascii` each byte above 127 as `\u00XX`.
    Escape {
        /// Bytes above 127 are characters of UTF-8 (else single bytes).
        utf8: bool,
    },
    /// `json_query(path[,int])`: the value at a JSONPath (`$.a.b`,
    /// `$.a[0]`, `\.` for a dot in a key).
    Query {
        /// The keys and indexes from the root.
        path: Vec<Step>,
        /// `int`: the value must be an integer and is returned as one.
        int: bool,
    },
}

/// One step of a JSONPath.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// `.key`
    Key(String),
    /// `[n]`
    Index(usize),
}

impl Json {
    /// The converter called `name`, or `None` when it is not of this family.
    pub fn parse(name: &str, args: &[String]) -> Option<Result<Json, String>> {
        Some(match name {
            "json" => match args.first().map(String::as_str).unwrap_or("") {
                "" | "ascii" => Ok(Json::Escape { utf8: false }),
                "utf8" | "utf8s" | "utf8p" | "utf8ps" => Ok(Json::Escape { utf8: true }),
                other => Err(format!(
                    "unexpected input code type '{other}'. Allowed value are 'ascii', 'utf8', 'utf8s', 'utf8p' and 'utf8ps'"
                )),
            },
            "json_query" => (|| {
                let path = parse_path(args.first().map(String::as_str).unwrap_or(""))?;
                let int = match args.get(1).map(String::as_str).unwrap_or("") {
                    "" => false,
                    "int" => true,
                    other => {
                        return Err(format!("output_type '{other}' is not supported (only 'int')"))
                    }
                };
                Ok(Json::Query { path, int })
            })(),
            _ => return None,
        })
    }

    /// (input, output) types.
    pub fn types(&self) -> (SampleType, SampleType) {
        match self {
            Json::Escape { .. } => (SampleType::Str, SampleType::Str),
            Json::Query { .. } => (SampleType::Str, SampleType::Any),
        }
    }

    /// The converter applied to a string.
    pub fn apply<'r>(&self, value: Value<'r>) -> Option<Value<'r>> {
        let text = value.into_text();
        match self {
            Json::Escape { utf8 } => Some(Value::Str(Cow::Owned(escape(&text, *utf8)))),
            Json::Query { path, int } => {
                let doc: serde_json::Value = serde_json::from_str(&text).ok()?;
                let mut at = &doc;
                for step in path {
                    at = match step {
                        Step::Key(k) => at.get(k.as_str())?,
                        Step::Index(i) => at.get(*i)?,
                    };
                }
                if *int {
                    return at.as_i64().map(Value::Int);
                }
                Some(match at {
                    serde_json::Value::String(s) => Value::Str(Cow::Owned(s.clone())),
                    serde_json::Value::Bool(b) => Value::Bool(*b),
                    serde_json::Value::Number(n) => match n.as_i64() {
                        Some(i) => Value::Int(i),
                        None => Value::Str(Cow::Owned(n.to_string())),
                    },
                    serde_json::Value::Null => return None,
                    other => Value::Str(Cow::Owned(other.to_string())),
                })
            }
        }
    }
}

/// A JSONPath of keys and indexes from `$`.
fn parse_path(path: &str) -> Result<Vec<Step>, String> {
    let rest = path
        .strip_prefix('$')
        .ok_or_else(|| format!("invalid json path '{path}': it starts with '$'"))?;
    let mut steps = Vec::new();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '.' => {
                let mut key = String::new();
                while let Some(&c) = chars.peek() {
                    match c {
                        '.' | '[' => break,
                        '\\' => {
                            chars.next();
                            key.extend(chars.next());
                        }
                        c => {
                            key.push(c);
                            chars.next();
                        }
                    }
                }
                if key.is_empty() {
                    return Err(format!("invalid json path '{path}': empty key"));
                }
                steps.push(Step::Key(key));
            }
            '[' => {
                let digits: String = chars.by_ref().take_while(|c| *c != ']').collect();
                let index = digits
                    .trim()
                    .parse()
                    .map_err(|_| format!("invalid json path '{path}': bad index '{digits}'"))?;
                steps.push(Step::Index(index));
            }
            other => return Err(format!("invalid json path '{path}': unexpected '{other}'")),
        }
    }
    Ok(steps)
}

/// The string escaped for a JSON string (HAProxy also escapes `/`).
fn escape(text: &str, utf8: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '/' => out.push_str("\\/"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if c.is_ascii() => out.push(c),
            c if utf8 => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{u:04x}"));
                }
            }
            c => {
                let mut bytes = [0u8; 4];
                for b in c.encode_utf8(&mut bytes).bytes() {
                    out.push_str(&format!("\\u00{b:02x}"));
                }
            }
        }
    }
    out
}
