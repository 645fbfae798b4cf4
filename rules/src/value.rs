//! Sample values: what a fetch returns and a pattern is matched against.

use std::borrow::Cow;
use std::net::IpAddr;

/// A sample. Strings borrow from the request where they can (a header, the
/// path), so matching a request copies nothing; converters and composed
/// fetches (`base`) make owned ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value<'a> {
    Str(Cow<'a, str>),
    Int(i64),
    Ip(IpAddr),
    Bool(bool),
}

impl Value<'_> {
    /// The value as text, as HAProxy converts it for string matches and logs.
    pub fn to_text(&self) -> String {
        self.text().into_owned()
    }

    /// [`Value::to_text`] without a copy for string samples.
    pub fn text(&self) -> Cow<'_, str> {
        match self {
            Value::Str(s) => Cow::Borrowed(s.as_ref()),
            Value::Int(n) => Cow::Owned(n.to_string()),
            Value::Ip(ip) => Cow::Owned(ip.to_string()),
            Value::Bool(b) => Cow::Owned((*b as u8).to_string()),
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(n) => Some(*n),
            Value::Bool(b) => Some(*b as i64),
            Value::Str(s) => s.trim().parse().ok(),
            Value::Ip(_) => None,
        }
    }

    pub fn as_ip(&self) -> Option<IpAddr> {
        match self {
            Value::Ip(ip) => Some(*ip),
            Value::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }
}
