//! The dates HAProxy appends to an inserted persistence cookie when
//! `maxidle` or `maxlife` is set: `SRV|LAST|FIRST`, each date the Unix time
//! in 4-second steps written as 5 base64 characters, most significant
//! first (HAProxy's `s30tob64`). Cookies set by HAProxy keep working after
//! a switch to Switchyard, and the other way round.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// A date as written in a cookie: `(unix_seconds + 3) / 4`, 30 bits.
pub fn encode(unix_seconds: i64) -> String {
    encode_steps(((unix_seconds + 3) >> 2) as u32)
}

/// An already-stepped date (a first date carried over from the request).
pub fn encode_steps(steps: u32) -> String {
    (0..5)
        .map(|i| ALPHABET[((steps >> (24 - 6 * i)) & 0x3f) as usize] as char)
        .collect()
}

/// The Unix time (a multiple of 4) a 5-character date stands for; `None`
/// for anything else, and for 0, which HAProxy treats as "no date".
pub fn decode(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    if bytes.len() != 5 {
        return None;
    }
    let mut steps: i64 = 0;
    for &b in bytes {
        let digit = ALPHABET.iter().position(|&c| c == b)? as i64;
        steps = (steps << 6) | digit;
    }
    (steps > 0).then_some(steps << 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_in_four_second_steps() {
        let now = 1_795_000_001;
        let text = encode(now);
        assert_eq!(text.len(), 5);
        let back = decode(&text).unwrap();
        assert_eq!(back % 4, 0);
        assert!(back >= now && back < now + 4, "{back} for {now}");
    }

    #[test]
    fn matches_haproxys_s30tob64() {
        // s30tob64(1) = "AAAAB", s30tob64(64) = "AAABA", the top 6 bits first.
        assert_eq!(encode_steps(1), "AAAAB");
        assert_eq!(encode_steps(64), "AAABA");
        assert_eq!(encode_steps(0x3fff_ffff), "/////");
        assert_eq!(decode("AAABA"), Some(64 << 2));
    }

    #[test]
    fn rejects_what_is_not_a_date() {
        assert_eq!(decode("AAAA"), None);
        assert_eq!(decode("AA-AA"), None);
        assert_eq!(decode("AAAAA"), None);
        assert_eq!(decode("ÄAAA"), None);
    }
}
