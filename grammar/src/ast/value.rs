//! Scalar arguments: HAProxy times (`us ms s m h d`, milliseconds by
//! default), sizes (`k m g`), integers and on/off words.

use std::time::Duration;

use pest::Parser;

use crate::diagnostic::Diagnostic;
use crate::lexer::{ConfigGrammar, Rule};
use crate::word::Word;

/// A time such as `3s` or `500` (milliseconds).
pub fn parse_time(word: &Word) -> Result<Duration, Diagnostic> {
    parse_time_in(word, "ms")
}

/// A time whose bare numbers are seconds (`clitcpka-idle 30`), as a few
/// keywords take them.
pub fn parse_time_seconds(word: &Word) -> Result<Duration, Diagnostic> {
    parse_time_in(word, "s")
}

fn parse_time_in(word: &Word, default_unit: &'static str) -> Result<Duration, Diagnostic> {
    let invalid = || {
        Diagnostic::error(word.span, format!("invalid time value '{}'", word.text)).with_help(
            format!("write a number with an optional unit: us, ms, s, m, h or d ({default_unit} when none is written), e.g. 5s"),
        )
    };
    let pairs = ConfigGrammar::parse(Rule::time_value, &word.text).map_err(|_| invalid())?;
    let (mut number, mut unit) = ("", default_unit);
    for pair in pairs.flatten() {
        match pair.as_rule() {
            Rule::number => number = pair.as_str(),
            Rule::time_unit => unit = pair.as_str(),
            _ => {}
        }
    }
    let n: u64 = number.parse().map_err(|_| invalid())?;
    let micros = match unit {
        "us" => Some(n),
        "ms" => n.checked_mul(1_000),
        "s" => n.checked_mul(1_000_000),
        "m" => n.checked_mul(60_000_000),
        "h" => n.checked_mul(3_600_000_000),
        _ => n.checked_mul(86_400_000_000),
    };
    // HAProxy keeps times in milliseconds on 32 bits: about 24.8 days.
    match micros {
        Some(us) if us / 1_000 <= i32::MAX as u64 => Ok(Duration::from_micros(us)),
        _ => Err(Diagnostic::error(
            word.span,
            format!("time value '{}' is too large", word.text),
        )
        .with_help("the largest time HAProxy accepts is 2147483647ms (about 24 days)")),
    }
}

/// A size such as `16k` or `1m` (binary multiples, as HAProxy).
pub fn parse_size(word: &Word) -> Result<u64, Diagnostic> {
    let invalid = || {
        Diagnostic::error(word.span, format!("invalid size '{}'", word.text))
            .with_help("write a number with an optional unit k, m or g, e.g. 16k")
    };
    let pairs = ConfigGrammar::parse(Rule::size_value, &word.text).map_err(|_| invalid())?;
    let (mut number, mut shift) = (0u64, 0u32);
    for pair in pairs.flatten() {
        match pair.as_rule() {
            Rule::number => number = pair.as_str().parse().map_err(|_| invalid())?,
            Rule::size_unit => {
                shift = match pair.as_str().to_ascii_lowercase().as_str() {
                    "k" => 10,
                    "m" => 20,
                    _ => 30,
                }
            }
            _ => {}
        }
    }
    number.checked_mul(1u64 << shift).ok_or_else(invalid)
}

/// A non-negative integer no larger than `max`.
pub fn parse_uint(word: &Word, what: &str, max: u64) -> Result<u64, Diagnostic> {
    match word.text.parse::<u64>() {
        Ok(n) if n <= max => Ok(n),
        Ok(_) => Err(Diagnostic::error(
            word.span,
            format!("{what} '{}' is out of range", word.text),
        )
        .with_help(format!("use a value from 0 to {max}"))),
        Err(_) => Err(Diagnostic::error(
            word.span,
            format!("{what} expects an integer, not '{}'", word.text),
        )
        .with_help(format!("write a whole number from 0 to {max}"))),
    }
}

/// An IPv4 or IPv6 network: `127.0.0.1`, `10.0.0.0/8`, `::1/128`, or the
/// IPv4 mask form `10.0.0.0/255.0.0.0`. Returns the address and prefix length.
pub fn parse_network(word: &Word) -> Result<(std::net::IpAddr, u8), Diagnostic> {
    parse_network_text(&word.text).ok_or_else(|| {
        Diagnostic::error(word.span, format!("invalid network '{}'", word.text))
            .with_help("write an address with an optional prefix length, e.g. 10.0.0.0/8 or ::1")
    })
}

/// [`parse_network`] on plain text.
pub fn parse_network_text(text: &str) -> Option<(std::net::IpAddr, u8)> {
    use std::net::IpAddr;
    let (addr, prefix) = match text.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (text, None),
    };
    let ip: IpAddr = addr.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let len = match prefix {
        None => max,
        Some(p) => match p.parse::<u8>() {
            Ok(n) if n <= max => n,
            Ok(_) => return None,
            Err(_) => {
                let mask: std::net::Ipv4Addr = p.parse().ok()?;
                let bits = u32::from(mask);
                if !ip.is_ipv4() || bits.leading_ones() + bits.trailing_zeros() != 32 {
                    return None;
                }
                bits.leading_ones() as u8
            }
        },
    };
    Some((ip, len))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::span::Span;

    fn w(s: &str) -> Word {
        Word::new(s, Span::default())
    }

    #[test]
    fn times_use_haproxy_units_with_milliseconds_by_default() {
        assert_eq!(parse_time(&w("3s")).unwrap(), Duration::from_secs(3));
        assert_eq!(parse_time(&w("250")).unwrap(), Duration::from_millis(250));
        assert_eq!(parse_time(&w("10us")).unwrap(), Duration::from_micros(10));
        assert_eq!(parse_time(&w("2m")).unwrap(), Duration::from_secs(120));
        assert_eq!(parse_time(&w("1h")).unwrap(), Duration::from_secs(3600));
        assert_eq!(parse_time(&w("1d")).unwrap(), Duration::from_secs(86400));
        assert!(parse_time(&w("10x"))
            .unwrap_err()
            .message
            .contains("invalid time"));
        assert!(parse_time(&w("s")).is_err());
        assert!(parse_time(&w("30d"))
            .unwrap_err()
            .message
            .contains("too large"));
    }

    #[test]
    fn sizes_are_binary_multiples() {
        assert_eq!(parse_size(&w("16k")).unwrap(), 16 * 1024);
        assert_eq!(parse_size(&w("1M")).unwrap(), 1 << 20);
        assert_eq!(parse_size(&w("42")).unwrap(), 42);
        assert!(parse_size(&w("1t")).is_err());
    }
}
