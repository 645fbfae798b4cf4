//! Hop-by-hop header fields (RFC 9110, section 7.6.1): they describe one
//! connection and are not forwarded, nor are the fields `Connection` names.

use http::header::{HeaderName, CONNECTION, TE, TRANSFER_ENCODING, UPGRADE};
use http::HeaderMap;

const KEEP_ALIVE: &str = "keep-alive";
const PROXY_CONNECTION: &str = "proxy-connection";

/// The hop-by-hop fields every message loses, whatever `Connection` says.
const ALWAYS: [&str; 6] = [
    "connection",
    "te",
    "transfer-encoding",
    "upgrade",
    KEEP_ALIVE,
    PROXY_CONNECTION,
];

/// Removes hop-by-hop fields from `headers`.
///
/// This runs twice per request (request and response), so it is built for
/// the common cases: one pass over the field names tells which of
/// [`ALWAYS`] are present (usually none, or `Connection` alone), and only
/// those are removed; a `Connection` option is looked up (which does not
/// allocate) before it is named.
pub fn strip(headers: &mut HeaderMap) {
    let mut present = 0u8;
    for name in headers.keys() {
        present |= always_bit(name);
    }
    if present == 0 {
        return;
    }
    if present & 1 != 0 {
        let mut named: Vec<HeaderName> = Vec::new();
        for value in headers.get_all(CONNECTION) {
            let Ok(value) = value.to_str() else { continue };
            for token in value.split(',').map(str::trim) {
                let listed = ALWAYS.iter().any(|a| token.eq_ignore_ascii_case(a));
                if listed || token.is_empty() || !headers.contains_key(token) {
                    continue;
                }
                if let Ok(name) = HeaderName::from_bytes(token.as_bytes()) {
                    named.push(name);
                }
            }
        }
        for name in named {
            headers.remove(name);
        }
    }
    for (bit, name) in ALWAYS.iter().enumerate() {
        if present & (1 << bit) != 0 {
            headers.remove(*name);
        }
    }
}

pub use switchyard::h1_wire::lists_token;

/// The bit of `name` in [`ALWAYS`], or 0 for any other field.
fn always_bit(name: &HeaderName) -> u8 {
    if name == CONNECTION {
        1
    } else if name == TE {
        1 << 1
    } else if name == TRANSFER_ENCODING {
        1 << 2
    } else if name == UPGRADE {
        1 << 3
    } else if name.as_str() == KEEP_ALIVE {
        1 << 4
    } else if name.as_str() == PROXY_CONNECTION {
        1 << 5
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_found_whatever_their_case_and_spacing() {
        assert!(lists_token(b"keep-alive, Upgrade", "upgrade"));
        assert!(lists_token(b"CLOSE", "close"));
        assert!(!lists_token(b"closed, x-close-me", "close"));
    }

    #[test]
    fn removes_listed_and_standard_hop_by_hop_fields() {
        let mut h = HeaderMap::new();
        h.insert("connection", "keep-alive, X-Secret".parse().unwrap());
        h.insert("keep-alive", "timeout=5".parse().unwrap());
        h.insert("x-secret", "1".parse().unwrap());
        h.insert("te", "trailers".parse().unwrap());
        h.insert("host", "a.example".parse().unwrap());
        strip(&mut h);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key("host"));
    }

    #[test]
    fn a_message_without_hop_by_hop_fields_is_left_alone() {
        let mut h = HeaderMap::new();
        h.insert("host", "a.example".parse().unwrap());
        h.insert("x-keep", "1".parse().unwrap());
        strip(&mut h);
        assert_eq!(h.len(), 2);
    }

    #[test]
    fn keep_alive_fields_go_even_without_connection() {
        let mut h = HeaderMap::new();
        h.insert("keep-alive", "timeout=5".parse().unwrap());
        h.insert("proxy-connection", "keep-alive".parse().unwrap());
        h.insert("transfer-encoding", "chunked".parse().unwrap());
        h.insert("x-keep", "1".parse().unwrap());
        strip(&mut h);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key("x-keep"));
    }

    #[test]
    fn fields_named_by_connection_options_go_too() {
        let mut h = HeaderMap::new();
        h.insert("connection", "close".parse().unwrap());
        h.append("connection", "Keep-Alive, x-a".parse().unwrap());
        h.insert("x-a", "1".parse().unwrap());
        h.insert("close", "named by an option".parse().unwrap());
        h.insert("x-b", "1".parse().unwrap());
        strip(&mut h);
        assert!(!h.contains_key("connection"));
        assert!(!h.contains_key("x-a"));
        // RFC 9110 7.6.1: a field with the name of a connection option goes.
        assert!(!h.contains_key("close"));
        assert_eq!(h.len(), 1);
    }
}
