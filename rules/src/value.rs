//! Sample values: what a fetch returns and a pattern is matched against.

use std::net::IpAddr;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Str(String),
    Int(i64),
    Ip(IpAddr),
    Bool(bool),
}

impl Value {
    /// The value as text, as HAProxy converts it for string matches and logs.
    pub fn to_text(&self) -> String {
        match self {
            Value::Str(s) => s.clone(),
            Value::Int(n) => n.to_string(),
            Value::Ip(ip) => ip.to_string(),
            Value::Bool(b) => (*b as u8).to_string(),
        }
    }

    /// [`Value::to_text`] without a copy for string samples.
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Value::Str(s) => std::borrow::Cow::Borrowed(s),
            other => std::borrow::Cow::Owned(other.to_text()),
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
