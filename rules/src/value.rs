//! Sample values: what a fetch returns, a converter transforms and a
//! pattern is matched against, with HAProxy's types and implicit casts.

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A sample. Strings borrow from the request where they can (a header, the
/// path), so matching a request copies nothing; converters and composed
/// fetches (`base`) make owned ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value<'a> {
    Str(Cow<'a, str>),
    /// HAProxy's `bin`: bytes that need not be text (`req.payload`,
    /// `sha1`, `b64dec`).
    Bin(Cow<'a, [u8]>),
    Int(i64),
    Ip(IpAddr),
    Bool(bool),
}

/// HAProxy's sample types (`SMP_T_*`): what a fetch or converter declares
/// it returns or takes, so a converter chain is checked when the
/// configuration is loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SampleType {
    /// Whatever comes (a converter that takes any type).
    Any,
    Bool,
    /// A signed 64-bit integer.
    Sint,
    /// An address, IPv4 or IPv6 (`src`).
    Addr,
    Ipv4,
    Ipv6,
    Str,
    Bin,
    /// An HTTP method (`method`); carried as its text.
    Meth,
}

impl SampleType {
    /// The type's name as HAProxy prints it.
    pub fn name(self) -> &'static str {
        match self {
            SampleType::Any => "any",
            SampleType::Bool => "bool",
            SampleType::Sint => "sint",
            SampleType::Addr => "addr",
            SampleType::Ipv4 => "ipv4",
            SampleType::Ipv6 => "ipv6",
            SampleType::Str => "str",
            SampleType::Bin => "bin",
            SampleType::Meth => "meth",
        }
    }

    /// Whether a sample of this type can be cast to `to`: HAProxy's
    /// `sample_casts` table (src/sample.c), where an address of either
    /// family (`addr`) casts as the family it turns out to be.
    pub fn casts_to(self, to: SampleType) -> bool {
        use SampleType::*;
        if to == Any || self == Any || self == to {
            return true;
        }
        match self {
            Bool => matches!(to, Sint | Str),
            Sint => matches!(to, Bool | Addr | Ipv4 | Ipv6 | Str | Bin),
            Addr => matches!(to, Ipv4 | Ipv6 | Str | Bin),
            Ipv4 => matches!(to, Sint | Addr | Ipv6 | Str | Bin),
            Ipv6 => matches!(to, Addr | Ipv4 | Str | Bin),
            Str => true,
            Bin => matches!(to, Str | Meth),
            Meth => matches!(to, Str | Bin),
            Any => true,
        }
    }
}

impl<'a> Value<'a> {
    /// The value's type now (an address is the family it is).
    pub fn sample_type(&self) -> SampleType {
        match self {
            Value::Str(_) => SampleType::Str,
            Value::Bin(_) => SampleType::Bin,
            Value::Int(_) => SampleType::Sint,
            Value::Ip(IpAddr::V4(_)) => SampleType::Ipv4,
            Value::Ip(IpAddr::V6(_)) => SampleType::Ipv6,
            Value::Bool(_) => SampleType::Bool,
        }
    }

    /// The value cast to `to` as HAProxy casts it between a fetch and a
    /// converter; `None` when the cast fails (a string that is no address)
    /// or does not exist.
    pub fn cast(self, to: SampleType) -> Option<Value<'a>> {
        use SampleType as T;
        let from = self.sample_type();
        if to == T::Any || to == from || (to == T::Addr && matches!(self, Value::Ip(_))) {
            return Some(self);
        }
        if !from.casts_to(to) {
            return None;
        }
        Some(match (self, to) {
            (Value::Bool(b), T::Sint) => Value::Int(b as i64),
            (v, T::Str | T::Meth) => Value::Str(v.into_text()),
            (Value::Int(n), T::Bool) => Value::Bool(n != 0),
            (Value::Int(n), T::Addr | T::Ipv4) => Value::Ip(IpAddr::V4(Ipv4Addr::from(n as u32))),
            (Value::Int(n), T::Ipv6) => {
                Value::Ip(IpAddr::V6(Ipv4Addr::from(n as u32).to_ipv6_mapped()))
            }
            (Value::Int(n), T::Bin) => Value::Bin(Cow::Owned(n.to_be_bytes().to_vec())),
            (Value::Ip(IpAddr::V4(ip)), T::Sint) => Value::Int(i64::from(u32::from(ip))),
            (Value::Ip(IpAddr::V4(ip)), T::Ipv6) => Value::Ip(IpAddr::V6(ip.to_ipv6_mapped())),
            (Value::Ip(IpAddr::V6(ip)), T::Ipv4) => Value::Ip(IpAddr::V4(ip.to_ipv4_mapped()?)),
            (Value::Ip(IpAddr::V4(ip)), T::Bin) => Value::Bin(Cow::Owned(ip.octets().to_vec())),
            (Value::Ip(IpAddr::V6(ip)), T::Bin) => Value::Bin(Cow::Owned(ip.octets().to_vec())),
            (Value::Str(s), T::Sint) => Value::Int(read_int64(s.as_bytes())?),
            (Value::Str(s), T::Bool) => Value::Bool(read_int64(s.as_bytes())? != 0),
            (Value::Str(s), T::Addr) => Value::Ip(s.parse::<IpAddr>().ok()?),
            (Value::Str(s), T::Ipv4) => Value::Ip(IpAddr::V4(s.parse::<Ipv4Addr>().ok()?)),
            (Value::Str(s), T::Ipv6) => Value::Ip(IpAddr::V6(s.parse::<Ipv6Addr>().ok()?)),
            (Value::Str(s), T::Bin) => Value::Bin(match s {
                Cow::Borrowed(s) => Cow::Borrowed(s.as_bytes()),
                Cow::Owned(s) => Cow::Owned(s.into_bytes()),
            }),
            _ => return None,
        })
    }

    /// The value as text, owned or borrowed as it was: [`Value::text`]
    /// without the borrow of `self`.
    pub fn into_text(self) -> Cow<'a, str> {
        match self {
            Value::Str(s) => s,
            Value::Bin(Cow::Borrowed(b)) => bin_text(b),
            Value::Bin(Cow::Owned(b)) => Cow::Owned(bin_text(&b).into_owned()),
            other => Cow::Owned(other.text().into_owned()),
        }
    }

    /// The value's bytes: a string's, or a binary sample's.
    pub fn bytes(&self) -> Cow<'_, [u8]> {
        match self {
            Value::Bin(b) => Cow::Borrowed(b.as_ref()),
            other => match other.text() {
                Cow::Borrowed(s) => Cow::Borrowed(s.as_bytes()),
                Cow::Owned(s) => Cow::Owned(s.into_bytes()),
            },
        }
    }
}

impl Value<'_> {
    /// The value as text, as HAProxy converts it for string matches and logs.
    pub fn to_text(&self) -> String {
        self.text().into_owned()
    }

    /// [`Value::to_text`] without a copy for string samples. Binary samples
    /// end at their first NUL byte, as HAProxy's `bin` to `str` cast has it.
    pub fn text(&self) -> Cow<'_, str> {
        match self {
            Value::Str(s) => Cow::Borrowed(s.as_ref()),
            Value::Bin(b) => bin_text(b),
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
            Value::Ip(_) | Value::Bin(_) => None,
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

/// A binary sample read as a string: up to the first NUL, invalid UTF-8
/// replaced.
fn bin_text(b: &[u8]) -> Cow<'_, str> {
    let end = memchr::memchr(0, b).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end])
}

/// HAProxy's `read_int64`: an optional sign and the digits that follow,
/// stopping at the first other byte (`12ab` is 12); `None` for nothing.
pub fn read_int64(text: &[u8]) -> Option<i64> {
    if text.is_empty() {
        return None;
    }
    let (negative, digits) = match text[0] {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let mut n: i64 = 0;
    for d in digits.iter().take_while(|b| b.is_ascii_digit()) {
        let d = i64::from(d - b'0');
        n = n
            .wrapping_mul(10)
            .wrapping_add(if negative { -d } else { d });
    }
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn casts_follow_haproxy_table() {
        use SampleType::*;
        assert!(Str.casts_to(Sint) && Sint.casts_to(Bin) && Ipv4.casts_to(Sint));
        assert!(!Bool.casts_to(Addr) && !Bin.casts_to(Sint) && !Ipv6.casts_to(Sint));
        assert!(!Meth.casts_to(Sint) && Bin.casts_to(Str) && Addr.casts_to(Ipv4));
    }

    #[test]
    fn casts_convert_values() {
        use SampleType::*;
        let s = |t: &str| Value::Str(t.to_owned().into());
        assert_eq!(s("12ab").cast(Sint), Some(Value::Int(12)));
        assert_eq!(s("-7").cast(Sint), Some(Value::Int(-7)));
        assert_eq!(s("").cast(Sint), None);
        assert_eq!(s("10.0.0.1").cast(Sint), Some(Value::Int(10)));
        assert_eq!(
            s("10.0.0.1").cast(Ipv4).and_then(|v| v.cast(Sint)),
            Some(Value::Int(0x0a00_0001))
        );
        assert_eq!(
            Value::Int(1).cast(Bin),
            Some(Value::Bin(vec![0, 0, 0, 0, 0, 0, 0, 1].into()))
        );
        assert_eq!(Value::Bin(b"ab\0cd"[..].into()).cast(Str), Some(s("ab")));
        assert_eq!(
            Value::Ip("::ffff:1.2.3.4".parse().unwrap()).cast(Ipv4),
            Some(Value::Ip("1.2.3.4".parse().unwrap()))
        );
        assert_eq!(Value::Ip("::1".parse().unwrap()).cast(Ipv4), None);
        assert_eq!(Value::Bool(true).cast(Bin), None);
        assert_eq!(Value::Int(3).cast(Bool), Some(Value::Bool(true)));
    }
}
