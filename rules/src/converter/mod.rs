//! Converters applied after a fetch (`hdr(host),lower,map(hosts.map)`),
//! HAProxy 2.6's list (configuration.txt 7.3.1), one file per family:
//! arithmetic, encodings, hashes, strings, network, time, JSON and maps.
//! Each converter declares the type it takes and the type it returns, so
//! a chain is checked when the configuration is loaded; its input is cast
//! to the type it takes when it runs (`value.rs`).

mod args;
mod arithmetic;
mod encoding;
mod hashes;
mod json;
mod map;
mod network;
mod strings;
mod time;

use std::sync::Arc;

pub use args::{NoVars, Operand, VarLookup};
pub use map::{EntryRef, MapEntries, MapEntry, MapFile};
pub use time::civil_from_days;

use crate::pattern::{MatchMethod, Matcher};
use crate::value::{SampleType, Value};

/// A converter after a fetch (`hdr(host),lower,map(hosts.map)`).
#[derive(Debug, Clone)]
pub enum Converter {
    /// `lower`: the value lower-cased.
    Lower,
    /// `upper`: the value upper-cased.
    Upper,
    /// `map*`: the value of the first entry whose key matches the input.
    Map {
        /// How keys are matched against the input (`map_beg`: by prefix…).
        method: MatchMethod,
        /// The map file, shared with the runtime API.
        map: Arc<MapFile>,
        /// What is returned when no key matches; `None`: the sample is dropped.
        default: Option<String>,
    },
    /// `add`, `sub`, `mul`, `div`, `mod`, `neg`, `and`, `or`, `xor`,
    /// `cpl`, `not`, `bool`, `even`, `odd`.
    Arith(arithmetic::Arith),
    /// `base64`, `b64dec`, `ub64enc`, `ub64dec`, `hex`, `hex2i`, `bytes`,
    /// `url_dec`, `url_enc`, `be2dec`, `be2hex`.
    Encoding(encoding::Encoding),
    /// `djb2`, `sdbm`, `wt6`, `crc32`, `crc32c`, `xxh3`, `xxh32`, `xxh64`,
    /// `sha1`, `sha2`, `digest`, `hmac`, `secure_memcmp`.
    Hash(hashes::Hash),
    /// `length`, `ltrim`, `rtrim`, `field`, `word`, `regsub`, `concat`,
    /// `strcmp`, `add_item`, `iif`, `host_only`, `port_only`.
    Text(strings::Text),
    /// `ipmask`.
    Network(network::Network),
    /// `http_date`, `utime`.
    Time(time::Time),
    /// `json`, `json_query`.
    Json(json::Json),
}

/// Every converter name this build compiles; others are refused at load.
pub const CONVERTER_NAMES: &[&str] = &[
    "lower",
    "upper",
    "map",
    "map_str",
    "map_beg",
    "map_end",
    "map_sub",
    "map_dom",
    "map_dir",
    "map_reg",
    "map_int",
    "map_ip",
    "add",
    "sub",
    "mul",
    "div",
    "mod",
    "neg",
    "and",
    "or",
    "xor",
    "cpl",
    "not",
    "bool",
    "even",
    "odd",
    "base64",
    "b64dec",
    "ub64enc",
    "ub64dec",
    "hex",
    "hex2i",
    "bytes",
    "url_dec",
    "url_enc",
    "be2dec",
    "be2hex",
    "djb2",
    "sdbm",
    "wt6",
    "crc32",
    "crc32c",
    "xxh3",
    "xxh32",
    "xxh64",
    "sha1",
    "sha2",
    "digest",
    "hmac",
    "secure_memcmp",
    "length",
    "ltrim",
    "rtrim",
    "field",
    "word",
    "regsub",
    "concat",
    "strcmp",
    "add_item",
    "iif",
    "host_only",
    "port_only",
    "ipmask",
    "http_date",
    "utime",
    "json",
    "json_query",
];

/// HAProxy converters this build knows and refuses, with the reason.
const REFUSED: &[(&str, &str)] = &[
    (
        "ltime",
        "local time zones are not read by switchyard yet (utime formats in UTC)",
    ),
    (
        "debug",
        "its traces go to HAProxy's ring buffers, which switchyard has not",
    ),
    (
        "aes_gcm_dec",
        "AES-GCM decryption is not built (switchyard has no OpenSSL)",
    ),
    (
        "protobuf",
        "protocol buffers are not decoded by switchyard yet",
    ),
    ("ungrpc", "gRPC messages are not decoded by switchyard yet"),
    (
        "mqtt_field_value",
        "MQTT messages are not decoded by switchyard yet",
    ),
    (
        "mqtt_is_valid",
        "MQTT messages are not decoded by switchyard yet",
    ),
    (
        "fix_tag_value",
        "FIX messages are not decoded by switchyard yet",
    ),
    (
        "fix_is_valid",
        "FIX messages are not decoded by switchyard yet",
    ),
];

/// Why a converter could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConverterError {
    /// No converter has this name.
    #[error("unknown converter '{0}'")]
    Unknown(String),
    /// A converter of HAProxy's that this build refuses.
    #[error("converter '{0}' is not supported by switchyard yet: {1}")]
    Refused(String, &'static str),
    /// Its arguments are wrong: HAProxy's "invalid args in converter".
    #[error("invalid args in converter '{0}' : {1}")]
    BadArgs(String, String),
}

impl Converter {
    /// Builds the converter called `name` with its arguments (map
    /// converters, which need their file, are built by [`Converter::map`]).
    pub fn parse(name: &str, args: &[String]) -> Result<Converter, ConverterError> {
        if let Some((_, why)) = REFUSED.iter().find(|(n, _)| *n == name) {
            return Err(ConverterError::Refused(name.to_owned(), why));
        }
        let bad = |e: String| ConverterError::BadArgs(name.to_owned(), e);
        let no_args = || {
            if args.iter().any(|a| !a.is_empty()) {
                Err(ConverterError::BadArgs(
                    name.to_owned(),
                    format!("converter '{name}' does not support any args"),
                ))
            } else {
                Ok(())
            }
        };
        let built = match name {
            "lower" => no_args().map(|_| Converter::Lower)?,
            "upper" => no_args().map(|_| Converter::Upper)?,
            _ => {
                if let Some(c) = arithmetic::Arith::parse(name, args) {
                    Converter::Arith(c.map_err(bad)?)
                } else if let Some(c) = encoding::Encoding::parse(name, args) {
                    Converter::Encoding(c.map_err(bad)?)
                } else if let Some(c) = hashes::Hash::parse(name, args) {
                    Converter::Hash(c.map_err(bad)?)
                } else if let Some(c) = strings::Text::parse(name, args) {
                    Converter::Text(c.map_err(bad)?)
                } else if let Some(c) = network::Network::parse(name, args) {
                    Converter::Network(c.map_err(bad)?)
                } else if let Some(c) = time::Time::parse(name, args) {
                    Converter::Time(c.map_err(bad)?)
                } else if let Some(c) = json::Json::parse(name, args) {
                    Converter::Json(c.map_err(bad)?)
                } else {
                    return Err(ConverterError::Unknown(name.to_owned()));
                }
            }
        };
        Ok(built)
    }

    /// The method a `map_*` converter matches keys with.
    pub fn map_method(name: &str) -> Option<MatchMethod> {
        Some(match name {
            "map" | "map_str" => MatchMethod::Str,
            "map_beg" => MatchMethod::Beg,
            "map_end" => MatchMethod::End,
            "map_sub" => MatchMethod::Sub,
            "map_dom" => MatchMethod::Dom,
            "map_dir" => MatchMethod::Dir,
            "map_reg" => MatchMethod::Reg,
            "map_int" => MatchMethod::Int,
            "map_ip" => MatchMethod::Ip,
            _ => return None,
        })
    }

    /// Builds a map converter; each key is compiled for the map's method.
    pub fn map(
        method: MatchMethod,
        map: Arc<MapFile>,
        default: Option<String>,
    ) -> Result<Converter, String> {
        for entry in &map.snapshot().list {
            Matcher::compile(method, std::slice::from_ref(&entry.key), false)
                .map_err(|e| format!("in map file '{}': {e}", map.path))?;
        }
        map.register_method(method);
        Ok(Converter::Map {
            method,
            map,
            default,
        })
    }

    /// The type the converter takes (its input is cast to it).
    pub fn input_type(&self) -> SampleType {
        match self {
            Converter::Lower | Converter::Upper => SampleType::Str,
            Converter::Map { method, .. } => match method {
                MatchMethod::Int => SampleType::Sint,
                MatchMethod::Ip => SampleType::Addr,
                _ => SampleType::Str,
            },
            Converter::Arith(c) => c.types().0,
            Converter::Encoding(c) => c.types().0,
            Converter::Hash(c) => c.types().0,
            Converter::Text(c) => c.types().0,
            Converter::Network(c) => c.types().0,
            Converter::Time(c) => c.types().0,
            Converter::Json(c) => c.types().0,
        }
    }

    /// The type the converter returns.
    pub fn output_type(&self) -> SampleType {
        match self {
            Converter::Lower | Converter::Upper | Converter::Map { .. } => SampleType::Str,
            Converter::Arith(c) => c.types().1,
            Converter::Encoding(c) => c.types().1,
            Converter::Hash(c) => c.types().1,
            Converter::Text(c) => c.types().1,
            Converter::Network(c) => c.types().1,
            Converter::Time(c) => c.types().1,
            Converter::Json(c) => c.types().1,
        }
    }

    /// The variables the converter reads (`add(txn.x)`).
    pub fn variables(&self) -> Vec<&str> {
        match self {
            Converter::Arith(c) => c.variables(),
            Converter::Hash(c) => c.variables(),
            Converter::Text(c) => c.variables(),
            _ => Vec::new(),
        }
    }

    /// Applies the converter; `None` when the sample disappears (a map
    /// miss without default, a cast that fails, a division's bad input…).
    pub fn apply<'r>(&self, value: Value<'r>) -> Option<Value<'r>> {
        self.apply_in(value, &NoVars)
    }

    /// [`Converter::apply`] with the variables its arguments may name.
    pub fn apply_in<'r>(&self, value: Value<'r>, vars: &dyn VarLookup) -> Option<Value<'r>> {
        // HAProxy's strings are bytes: the length of binary data cast to a
        // string counts them, even where they are not UTF-8.
        if let (Converter::Text(strings::Text::Length), Value::Bin(b)) = (self, &value) {
            return Some(Value::Int(memchr::memchr(0, b).unwrap_or(b.len()) as i64));
        }
        let value = value.cast(self.input_type())?;
        match self {
            Converter::Lower => Some(Value::Str(value.text().to_lowercase().into())),
            Converter::Upper => Some(Value::Str(value.text().to_uppercase().into())),
            Converter::Map {
                method,
                map,
                default,
            } => {
                let probe = [value];
                let entries = map.snapshot();
                // Exact string maps are the common case: compare directly.
                let found = if *method == MatchMethod::Str {
                    let text = probe[0].to_text();
                    entries
                        .list
                        .iter()
                        .find(|e| e.key == text)
                        .map(|e| e.value.clone())
                } else {
                    entries
                        .matchers(*method)
                        .iter()
                        .position(|m| m.matches(&probe))
                        .map(|i| entries.list[i].value.clone())
                };
                found
                    .or_else(|| default.clone())
                    .map(|s| Value::Str(s.into()))
            }
            Converter::Arith(c) => c.apply(value, vars),
            Converter::Encoding(c) => c.apply(value),
            Converter::Hash(c) => c.apply(value, vars),
            Converter::Text(c) => c.apply(value, vars),
            Converter::Network(c) => c.apply(value),
            Converter::Time(c) => c.apply(value),
            Converter::Json(c) => c.apply(value),
        }
    }
}

#[cfg(test)]
mod tests;
