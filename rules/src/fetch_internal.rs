//! Fetches that read no request: constants (`str()`, `int()`, `bool()`,
//! `ipv4()`, `ipv6()`, `bin()`) and the process's state (`env()`,
//! `date()`, `now`, `rand()`, `uuid()`, `hostname`), HAProxy's section
//! 7.3.2.

use std::borrow::Cow;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::fetch::Kind;
use crate::keyword::FetchError;
use crate::value::{SampleType, Value};

/// A fetch of constants or process state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InternalFetch {
    /// `str()`, `int()`, `bool()`, `ipv4()`, `ipv6()`, `bin()`, and
    /// `hostname` (read once, when the configuration is loaded, as HAProxy
    /// does).
    Constant(Value<'static>),
    /// `env(NAME)`: the variable's value when the rule runs.
    Env(String),
    /// `date([offset[,unit]])`: the time since the epoch, shifted by
    /// `offset` seconds, in the unit (`s`, `ms`, `us`).
    Date {
        /// Seconds added to the current time.
        offset: i64,
        /// How many of the unit a second holds (1, 1000, 1000000).
        per_second: i64,
    },
    /// `rand([range])`: a random integer below `range` (2^32 without).
    Rand(u64),
    /// `uuid([4])`: a random version-4 UUID.
    Uuid,
}

/// The fetch called `name`, if it is one of these; `Ok(None)` for other
/// names.
pub fn resolve(name: &str, args: &[String]) -> Result<Option<InternalFetch>, FetchError> {
    let arg = |i: usize| args.get(i).map(String::as_str).filter(|a| !a.is_empty());
    let needed = |what: &'static str| arg(0).ok_or(FetchError::MissingArgument(what));
    let bad = |what: String| FetchError::Invalid(format!("fetch method '{name}' : {what}"));
    let constant = |v: Value<'static>| Ok(Some(InternalFetch::Constant(v)));
    match name {
        "str" => constant(Value::Str(Cow::Owned(
            args.first().cloned().unwrap_or_default(),
        ))),
        "int" => {
            let text = needed("an integer, e.g. int(42)")?;
            let n = text
                .trim()
                .parse::<i64>()
                .map_err(|_| bad(format!("'{text}' is not an integer")))?;
            constant(Value::Int(n))
        }
        "bool" => match needed("true or false, e.g. bool(true)")? {
            "true" | "1" => constant(Value::Bool(true)),
            "false" | "0" => constant(Value::Bool(false)),
            other => Err(bad(format!(
                "'{other}' is not a boolean (true, false, 1, 0)"
            ))),
        },
        "ipv4" => {
            let text = needed("an IPv4 address, e.g. ipv4(127.0.0.1)")?;
            let ip: Ipv4Addr = text
                .parse()
                .map_err(|_| bad(format!("'{text}' is not an IPv4 address")))?;
            constant(Value::Ip(IpAddr::V4(ip)))
        }
        "ipv6" => {
            let text = needed("an IPv6 address, e.g. ipv6(::1)")?;
            let ip: Ipv6Addr = text
                .parse()
                .map_err(|_| bad(format!("'{text}' is not an IPv6 address")))?;
            constant(Value::Ip(IpAddr::V6(ip)))
        }
        "bin" => {
            let text = needed("hexadecimal bytes, e.g. bin(0a1b)")?;
            let bytes = crate::pattern::parse_hex(text).map_err(bad)?;
            constant(Value::Bin(Cow::Owned(bytes)))
        }
        "hostname" => constant(Value::Str(Cow::Owned(hostname()))),
        "env" => Ok(Some(InternalFetch::Env(
            needed("a variable name, e.g. env(HOME)")?.to_owned(),
        ))),
        "date" => {
            let offset = match arg(0) {
                Some(o) => o
                    .trim()
                    .parse()
                    .map_err(|_| bad(format!("'{o}' is not an offset in seconds")))?,
                None => 0,
            };
            let per_second = match arg(1).unwrap_or("s") {
                "s" => 1,
                "ms" => 1_000,
                "us" => 1_000_000,
                other => return Err(bad(format!("'{other}' is not a unit (s, ms, us)"))),
            };
            Ok(Some(InternalFetch::Date { offset, per_second }))
        }
        "now" => Ok(Some(InternalFetch::Date {
            offset: 0,
            per_second: 1,
        })),
        "rand" => {
            let range = match arg(0) {
                Some(r) => r
                    .trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|r| *r > 0)
                    .ok_or_else(|| bad(format!("'{r}' is not a positive range")))?,
                None => 1 << 32,
            };
            Ok(Some(InternalFetch::Rand(range)))
        }
        "uuid" => match arg(0) {
            None | Some("4") => Ok(Some(InternalFetch::Uuid)),
            Some(v) => Err(bad(format!("unsupported UUID version '{v}' (only 4)"))),
        },
        _ => Ok(None),
    }
}

impl InternalFetch {
    /// The HAProxy type of the samples.
    pub fn sample_type(&self) -> SampleType {
        match self {
            InternalFetch::Constant(v) => v.sample_type(),
            InternalFetch::Env(_) | InternalFetch::Uuid => SampleType::Str,
            InternalFetch::Date { .. } | InternalFetch::Rand(_) => SampleType::Sint,
        }
    }

    /// The type that picks an ACL's default match method.
    pub fn kind(&self) -> Kind {
        match self.sample_type() {
            SampleType::Sint => Kind::Int,
            SampleType::Bool => Kind::Bool,
            SampleType::Bin => Kind::Bin,
            SampleType::Ipv4 | SampleType::Ipv6 | SampleType::Addr => Kind::Ip,
            _ => Kind::Str,
        }
    }

    /// The fetch's sample now.
    pub fn value<'r>(&self, out: &mut dyn FnMut(Value<'r>)) {
        match self {
            InternalFetch::Constant(v) => out(v.clone()),
            InternalFetch::Env(name) => {
                if let Ok(v) = std::env::var(name) {
                    out(Value::Str(Cow::Owned(v)))
                }
            }
            InternalFetch::Date { offset, per_second } => {
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default();
                let since = match per_second {
                    1 => now.as_secs() as i64,
                    1_000 => now.as_millis() as i64,
                    _ => now.as_micros() as i64,
                };
                out(Value::Int(
                    since.saturating_add(offset.saturating_mul(*per_second)),
                ))
            }
            InternalFetch::Rand(range) => out(Value::Int((random_u64() % range) as i64)),
            InternalFetch::Uuid => out(Value::Str(Cow::Owned(uuid_v4()))),
        }
    }
}

/// 64 random bits: SipHash under a fresh random key of the standard
/// library's (each `RandomState` differs), which needs no extra crate
/// for values that only need to be unpredictable.
pub(crate) fn random_u64() -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos() as u64,
    );
    hasher.finish()
}

/// A random UUID, version 4, variant 1, in its 8-4-4-4-12 form.
fn uuid_v4() -> String {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&random_u64().to_be_bytes());
    b[8..].copy_from_slice(&random_u64().to_be_bytes());
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// The machine's name as `gethostname` gives it on Linux.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(f: &InternalFetch) -> Value<'static> {
        let mut got = None;
        f.value(&mut |v| {
            got = Some(v.cast(SampleType::Any).map(|v| match v {
                Value::Str(s) => Value::Str(Cow::Owned(s.into_owned())),
                other => other,
            }))
        });
        got.flatten().unwrap()
    }

    fn fetch(name: &str, args: &[&str]) -> InternalFetch {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        resolve(name, &args).ok().flatten().unwrap()
    }

    #[test]
    fn constants_have_their_types() {
        assert_eq!(one(&fetch("int", &["-3"])), Value::Int(-3));
        assert_eq!(one(&fetch("bool", &["true"])), Value::Bool(true));
        assert_eq!(one(&fetch("str", &["a b"])), Value::Str("a b".into()));
        assert_eq!(
            one(&fetch("bin", &["00ff"])),
            Value::Bin(vec![0, 255].into())
        );
        assert_eq!(fetch("ipv6", &["::1"]).sample_type(), SampleType::Ipv6);
        assert!(resolve("int", &["x".into()]).is_err());
        assert!(resolve("bin", &["abc".into()]).is_err());
        assert!(resolve("date", &["0".into(), "h".into()]).is_err());
        assert!(matches!(resolve("nope", &[]), Ok(None)));
    }

    #[test]
    fn process_state_fetches() {
        let Value::Int(now) = one(&fetch("date", &[])) else {
            panic!()
        };
        let Value::Int(later) = one(&fetch("date", &["10", "ms"])) else {
            panic!()
        };
        assert!(later >= now * 1000 + 10_000);
        for _ in 0..100 {
            let Value::Int(r) = one(&fetch("rand", &["7"])) else {
                panic!()
            };
            assert!((0..7).contains(&r));
        }
        let Value::Str(u) = one(&fetch("uuid", &[])) else {
            panic!()
        };
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert_ne!(one(&fetch("uuid", &[])), Value::Str(u));
        std::env::set_var("SWITCHYARD_FETCH_TEST", "yes");
        assert_eq!(
            one(&fetch("env", &["SWITCHYARD_FETCH_TEST"])),
            Value::Str("yes".into())
        );
    }
}
