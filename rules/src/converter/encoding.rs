//! Encodings between bytes and text: base64 and its URL form, hexadecimal,
//! big-endian integers, URL percent-encoding, byte ranges.

use std::borrow::Cow;

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine;

use super::args::{int_arg, opt_int_arg};
use crate::value::{SampleType, Value};

/// URL-safe base64 without padding on output, with or without on input,
/// as HAProxy's `ub64enc`/`ub64dec`.
const URL_SAFE: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// An encoding converter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Encoding {
    /// `base64`: bytes to standard base64.
    Base64,
    /// `b64dec`: standard base64 to bytes.
    B64Dec,
    /// `ub64enc`: bytes to URL-safe base64 without padding.
    Ub64Enc,
    /// `ub64dec`: URL-safe base64 to bytes.
    Ub64Dec,
    /// `hex`: bytes to upper-case hexadecimal.
    Hex,
    /// `hex2i`: hexadecimal digits to an integer.
    Hex2i,
    /// `bytes(offset[,length])`: a range of the bytes.
    Bytes {
        /// Where the range starts.
        offset: usize,
        /// How many bytes; `None`: to the end.
        length: Option<usize>,
    },
    /// `url_dec([in_form])`: percent-decoding; `+` is a space in the
    /// query, or everywhere with `in_form`.
    UrlDec {
        /// `+` means a space from the start.
        in_form: bool,
    },
    /// `url_enc([query])`: percent-encoding of all but the unreserved
    /// characters.
    UrlEnc,
    /// `be2dec(separator,chunk_size[,truncate])`: big-endian chunks as
    /// decimal integers.
    Be2Dec {
        /// Written between two chunks.
        separator: String,
        /// Bytes in a chunk (1 to 8).
        chunk: usize,
        /// Whether a last, shorter chunk is dropped.
        truncate: bool,
    },
    /// `be2hex([separator[,chunk_size[,truncate]]])`: chunks in
    /// upper-case hexadecimal.
    Be2Hex {
        /// Written between two chunks.
        separator: String,
        /// Bytes in a chunk.
        chunk: usize,
        /// Whether a last, shorter chunk is dropped.
        truncate: bool,
    },
}

impl Encoding {
    /// The converter called `name`, or `None` when it is not of this family.
    pub fn parse(name: &str, args: &[String]) -> Option<Result<Encoding, String>> {
        let flag = |i: usize| opt_int_arg(args, i, 0, "0 or 1").map(|n| n != 0);
        let sep = |i: usize| args.get(i).cloned().unwrap_or_default();
        Some(match name {
            "base64" => Ok(Encoding::Base64),
            "b64dec" => Ok(Encoding::B64Dec),
            "ub64enc" => Ok(Encoding::Ub64Enc),
            "ub64dec" => Ok(Encoding::Ub64Dec),
            "hex" => Ok(Encoding::Hex),
            "hex2i" => Ok(Encoding::Hex2i),
            "bytes" => (|| {
                let offset = int_arg(args, 0, "an offset")?;
                let length = opt_int_arg(args, 1, -1, "a length")?;
                if offset < 0 {
                    return Err(format!("negative offset {offset}"));
                }
                Ok(Encoding::Bytes {
                    offset: offset as usize,
                    length: (length >= 0).then_some(length as usize),
                })
            })(),
            "url_dec" => flag(0).map(|in_form| Encoding::UrlDec { in_form }),
            "url_enc" => match args.first().map(String::as_str).unwrap_or("") {
                "" | "query" => Ok(Encoding::UrlEnc),
                other => Err(format!("unexpected encoding type '{other}' (only 'query')")),
            },
            "be2dec" => (|| {
                let chunk = int_arg(args, 1, "a chunk size")?;
                if !(1..=8).contains(&chunk) {
                    return Err(format!("chunk size {chunk} is out of range (1 to 8)"));
                }
                Ok(Encoding::Be2Dec {
                    separator: sep(0),
                    chunk: chunk as usize,
                    truncate: flag(2)?,
                })
            })(),
            "be2hex" => (|| {
                let chunk = opt_int_arg(args, 1, 1, "a chunk size")?;
                if chunk < 0 {
                    return Err(format!("negative chunk size {chunk}"));
                }
                Ok(Encoding::Be2Hex {
                    separator: sep(0),
                    chunk: chunk.max(1) as usize,
                    truncate: flag(2)?,
                })
            })(),
            _ => return None,
        })
    }

    /// (input, output) types.
    pub fn types(&self) -> (SampleType, SampleType) {
        use SampleType::*;
        match self {
            Encoding::Base64 | Encoding::Ub64Enc | Encoding::Hex => (Bin, Str),
            Encoding::B64Dec | Encoding::Ub64Dec => (Str, Bin),
            Encoding::Hex2i => (Str, Sint),
            Encoding::Bytes { .. } => (Bin, Bin),
            Encoding::UrlDec { .. } | Encoding::UrlEnc => (Str, Str),
            Encoding::Be2Dec { .. } | Encoding::Be2Hex { .. } => (Bin, Str),
        }
    }

    /// The converter applied to a sample of its input type.
    pub fn apply<'r>(&self, value: Value<'r>) -> Option<Value<'r>> {
        let bytes = value.bytes();
        let text = |s: String| Some(Value::Str(Cow::Owned(s)));
        let bin = |b: Vec<u8>| Some(Value::Bin(Cow::Owned(b)));
        match self {
            Encoding::Base64 => text(STANDARD.encode(&bytes)),
            Encoding::Ub64Enc => text(URL_SAFE.encode(&bytes)),
            Encoding::B64Dec => bin(STANDARD.decode(&bytes).ok()?),
            Encoding::Ub64Dec => bin(URL_SAFE.decode(&bytes).ok()?),
            Encoding::Hex => text(hex_upper(&bytes)),
            Encoding::Hex2i => {
                let mut n: i64 = 0;
                for b in bytes.iter() {
                    let digit = (*b as char).to_digit(16)?;
                    n = (n << 4).wrapping_add(i64::from(digit));
                }
                Some(Value::Int(n))
            }
            Encoding::Bytes { offset, length } => {
                let start = (*offset).min(bytes.len());
                let end = match length {
                    Some(l) => start.saturating_add(*l).min(bytes.len()),
                    None => bytes.len(),
                };
                bin(bytes[start..end].to_vec())
            }
            Encoding::UrlDec { in_form } => text(url_decode(&bytes, *in_form)?),
            Encoding::UrlEnc => text(url_encode(&bytes)),
            Encoding::Be2Dec {
                separator,
                chunk,
                truncate,
            } => text(chunks(&bytes, separator, *chunk, *truncate, |c| {
                c.iter()
                    .fold(0u64, |n, b| (n << 8) | u64::from(*b))
                    .to_string()
            })),
            Encoding::Be2Hex {
                separator,
                chunk,
                truncate,
            } => text(chunks(&bytes, separator, *chunk, *truncate, hex_upper)),
        }
    }
}

/// Bytes in upper-case hexadecimal, as HAProxy's `hex`.
pub(crate) fn hex_upper(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}

/// `bytes` cut in chunks of `size`, each written by `write`, joined by
/// `separator`; a last shorter chunk dropped when `truncate`.
fn chunks(
    bytes: &[u8],
    separator: &str,
    size: usize,
    truncate: bool,
    write: impl Fn(&[u8]) -> String,
) -> String {
    bytes
        .chunks(size)
        .filter(|c| !truncate || c.len() == size)
        .map(write)
        .collect::<Vec<_>>()
        .join(separator)
}

/// HAProxy's `url_decode`: `%XX` escapes decoded, `+` a space once in
/// the query (after `?`) or from the start with `in_form`; `None` for a
/// broken escape.
fn url_decode(bytes: &[u8], mut in_form: bool) -> Option<String> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hi = (*bytes.get(i + 1)? as char).to_digit(16)?;
                let lo = (*bytes.get(i + 2)? as char).to_digit(16)?;
                out.push((hi << 4 | lo) as u8);
                i += 3;
                continue;
            }
            b'+' if in_form => out.push(b' '),
            b'?' => {
                in_form = true;
                out.push(b'?');
            }
            b => out.push(b),
        }
        i += 1;
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// Percent-encoding of every byte but RFC 3986's unreserved characters.
fn url_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for b in bytes {
        if b.is_ascii_alphanumeric() || b"-._~".contains(b) {
            out.push(*b as char);
        } else {
            out.push('%');
            out.push_str(&hex_upper(&[*b]));
        }
    }
    out
}
