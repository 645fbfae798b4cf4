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

/// [`always_bit`] of `Connection`.
pub const CONNECTION_BIT: u8 = 1;
/// [`always_bit`] of `Transfer-Encoding`.
pub const TRANSFER_ENCODING_BIT: u8 = 1 << 2;

/// Removes hop-by-hop fields from `headers`.
///
/// This runs twice per request (request and response), so it is built for
/// the common cases: one pass over the field names tells which of
/// [`ALWAYS`] are present (usually none, or `Connection` alone), and only
/// those are removed; a `Connection` option is looked up (which does not
/// allocate) before it is named.
pub fn strip(headers: &mut HeaderMap) {
    let present = present_bits(headers);
    strip_present(headers, present);
}

/// Removes hop-by-hop fields from a request's `headers`, but `TE:
/// trailers`: as HAProxy does, a `TE` listing `trailers` reaches the
/// server as `te: trailers` alone, in its place (its other codings are
/// this connection's business). `TE` is looked up only when the pass over
/// the names saw one.
pub fn strip_request(headers: &mut HeaderMap) {
    let mut present = present_bits(headers);
    let trailers = present & TE_BIT != 0
        && headers
            .get_all(TE)
            .iter()
            .any(|v| super::lists_token(v.as_bytes(), "trailers"));
    if trailers {
        // `insert` keeps the first field's place.
        headers.insert(TE, http::HeaderValue::from_static("trailers"));
        present &= !TE_BIT;
    }
    strip_present(headers, present);
}

/// The length of a `Connection` value once HAProxy's HTTP/1 parser has
/// taken out its `close` and `keep-alive` tokens (`h1_parse_connection_header`):
/// the value as written up to the end of the last token kept while none was
/// taken out yet, then each further token kept after a `,`. Zero when no
/// token is left (HAProxy then drops the field).
pub fn connection_len_without_close_and_keep_alive(value: &[u8]) -> usize {
    let lws = |b: u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    // `len` is the kept value's length, `consumed` where the last token
    // looked at ended: while they agree, nothing was taken out.
    let (mut len, mut consumed, mut at) = (0, 0, 0);
    while at < value.len() {
        if lws(value[at]) {
            at += 1;
            continue;
        }
        let end = value[at..]
            .iter()
            .position(|b| *b == b',')
            .map_or(value.len(), |p| at + p);
        let mut word = &value[at..end];
        while let Some((last, rest)) = word.split_last() {
            if !lws(*last) {
                break;
            }
            word = rest;
        }
        let dropped =
            word.eq_ignore_ascii_case(b"keep-alive") || word.eq_ignore_ascii_case(b"close");
        if !dropped {
            if len == consumed {
                len = end;
            } else {
                len += usize::from(len > 0) + word.len();
            }
        }
        consumed = end;
        at = end + 1;
    }
    len
}

/// [`always_bit`] of `TE`.
const TE_BIT: u8 = 1 << 1;

/// Which of [`ALWAYS`] `headers` holds, as [`always_bit`]s.
fn present_bits(headers: &HeaderMap) -> u8 {
    let mut present = 0u8;
    for name in headers.keys() {
        present |= always_bit(name);
    }
    present
}

/// Removes the fields of [`ALWAYS`] in `present`, and those a `Connection`
/// field names.
fn strip_present(headers: &mut HeaderMap, present: u8) {
    if present == 0 {
        return;
    }
    if present & CONNECTION_BIT != 0 {
        let mut named = Vec::new();
        for value in headers.get_all(CONNECTION) {
            present_options(headers, value.as_bytes(), &mut named);
        }
        remove_all(headers, named);
    }
    // By constant where there is one: a name given as text is parsed first.
    for (bit, name) in [CONNECTION, TE, TRANSFER_ENCODING, UPGRADE]
        .iter()
        .enumerate()
    {
        if present & (1 << bit) != 0 {
            headers.remove(name);
        }
    }
    for (bit, name) in ALWAYS.iter().enumerate().skip(4) {
        if present & (1 << bit) != 0 {
            headers.remove(*name);
        }
    }
}

/// Whether a `Connection` value names a field beyond [`ALWAYS`] (which go
/// anyway): only then is [`remove_options`] worth calling. `close` counts,
/// since a field may bear that name.
pub fn names_options(connection: &[u8]) -> bool {
    options(connection).next().is_some()
}

/// The fields one `Connection` value names beyond [`ALWAYS`] (which go
/// anyway), as written.
pub fn options(connection: &[u8]) -> impl Iterator<Item = &[u8]> {
    connection
        .split(|b| *b == b',')
        .map(<[u8]>::trim_ascii)
        .filter(|token| !token.is_empty() && !is_always(token))
}

/// Removes the fields one `Connection` value names.
pub fn remove_options(headers: &mut HeaderMap, connection: &[u8]) {
    let mut named = Vec::new();
    present_options(headers, connection, &mut named);
    remove_all(headers, named);
}

fn remove_all(headers: &mut HeaderMap, named: Vec<HeaderName>) {
    for name in named {
        headers.remove(name);
    }
}

/// Adds to `named` the fields of `headers` that one `Connection` value
/// names (most name none: `close` is an option, seldom a field). The
/// names are compared in one pass, cheaper than a lookup for a message's
/// few fields, and a field is named (which allocates) only when present.
fn present_options(headers: &HeaderMap, connection: &[u8], named: &mut Vec<HeaderName>) {
    for token in options(connection) {
        let present = headers
            .keys()
            .any(|name| name.as_str().as_bytes().eq_ignore_ascii_case(token));
        if present {
            if let Ok(name) = HeaderName::from_bytes(token) {
                named.push(name);
            }
        }
    }
}

fn is_always(token: &[u8]) -> bool {
    ALWAYS
        .iter()
        .any(|a| token.eq_ignore_ascii_case(a.as_bytes()))
}

/// The bit of `name` in [`ALWAYS`], or 0 for any other field.
pub fn always_bit(name: &HeaderName) -> u8 {
    // A `HeaderName` is in lower case.
    always_bit_of(name.as_str().as_bytes())
}

/// [`always_bit`] of a name in lower case, for fields not made into
/// `HeaderName`s (`server_fields`, whose names are put in lower case as
/// they are read).
pub fn always_bit_of(lowercase_name: &[u8]) -> u8 {
    match lowercase_name {
        b"connection" => CONNECTION_BIT,
        b"te" => 1 << 1,
        b"transfer-encoding" => TRANSFER_ENCODING_BIT,
        b"upgrade" => 1 << 3,
        b"keep-alive" => 1 << 4,
        b"proxy-connection" => 1 << 5,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_values_lose_close_and_keep_alive_as_haproxy_cleans_them() {
        let len = connection_len_without_close_and_keep_alive;
        assert_eq!(len(b"close"), 0);
        assert_eq!(len(b"Keep-Alive"), 0);
        assert_eq!(len(b"keep-alive, close"), 0);
        // HAProxy 2.6.12 counted `connection` + `x-named` for this one.
        assert_eq!(len(b"keep-alive, x-named"), "x-named".len());
        // Nothing taken out before: the value as written, to the token's end.
        assert_eq!(len(b"upgrade, x-a"), "upgrade, x-a".len());
        assert_eq!(len(b"upgrade, close, x-a"), "upgrade,x-a".len());
    }

    #[test]
    fn te_trailers_alone_reaches_the_server_in_place() {
        let mut headers = HeaderMap::new();
        headers.append("host", "a".parse().unwrap());
        headers.append("te", "gzip, Trailers".parse().unwrap());
        headers.append("x-a", "1".parse().unwrap());
        headers.append("connection", "te".parse().unwrap());
        strip_request(&mut headers);
        let fields: Vec<String> = headers
            .iter()
            .map(|(n, v)| format!("{n}: {}", v.to_str().unwrap()))
            .collect();
        assert_eq!(fields, ["host: a", "te: trailers", "x-a: 1"]);
        let mut gzip_only = HeaderMap::new();
        gzip_only.append("te", "gzip".parse().unwrap());
        strip_request(&mut gzip_only);
        assert!(gzip_only.is_empty());
    }

    fn fields(list: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in list {
            h.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn tokens_are_found_whatever_their_case_and_spacing() {
        use crate::wire::h1::lists_token;
        assert!(lists_token(b"keep-alive, Upgrade", "upgrade"));
        assert!(lists_token(b"CLOSE", "close"));
        assert!(!lists_token(b"closed, x-close-me", "close"));
    }

    #[test]
    fn a_lowercase_name_has_the_bit_of_its_header_name() {
        for name in ALWAYS
            .iter()
            .chain(&["x-a", "content-length", "tee", "te-x"])
        {
            let header = HeaderName::from_bytes(name.as_bytes()).unwrap();
            assert_eq!(
                always_bit_of(name.as_bytes()),
                always_bit(&header),
                "{name}"
            );
        }
    }

    #[test]
    fn only_options_beyond_the_standard_fields_name_anything() {
        assert!(!names_options(b"keep-alive"));
        assert!(!names_options(b" Keep-Alive , upgrade,"));
        assert!(names_options(b"close"));
        assert!(names_options(b"keep-alive, X-Secret"));
    }

    #[test]
    fn removes_listed_and_standard_hop_by_hop_fields() {
        let mut h = fields(&[
            ("connection", "keep-alive, X-Secret"),
            ("keep-alive", "timeout=5"),
            ("x-secret", "1"),
            ("te", "trailers"),
            ("host", "a.example"),
        ]);
        strip(&mut h);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key("host"));
    }

    #[test]
    fn a_message_without_hop_by_hop_fields_is_left_alone() {
        let mut h = fields(&[("host", "a.example"), ("x-keep", "1")]);
        strip(&mut h);
        assert_eq!(h.len(), 2);
    }

    #[test]
    fn keep_alive_fields_go_even_without_connection() {
        let mut h = fields(&[
            ("keep-alive", "timeout=5"),
            ("proxy-connection", "keep-alive"),
            ("transfer-encoding", "chunked"),
            ("x-keep", "1"),
        ]);
        strip(&mut h);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key("x-keep"));
    }

    #[test]
    fn fields_named_by_connection_options_go_too() {
        let mut h = fields(&[
            ("connection", "close"),
            ("connection", "Keep-Alive, x-a"),
            ("x-a", "1"),
            ("close", "named by an option"),
            ("x-b", "1"),
        ]);
        strip(&mut h);
        assert!(!h.contains_key("connection"));
        assert!(!h.contains_key("x-a"));
        // RFC 9110 7.6.1: a field with the name of a connection option goes.
        assert!(!h.contains_key("close"));
        assert_eq!(h.len(), 1);
    }
}
