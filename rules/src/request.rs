//! What rules can see of a request. The gateway implements [`RequestFacts`]
//! over hyper's request parts without copying; fixtures and `explain` use
//! [`OwnedRequest`]. Both go through the same decision function.

use std::net::SocketAddr;

/// A request as the rules see it.
pub trait RequestFacts {
    /// The request method as sent (`GET`, `PURGE`…).
    fn method(&self) -> &str;
    /// The request target as received (origin-form or absolute-form).
    fn target(&self) -> &str;
    /// "1.0", "1.1" or "2.0".
    fn version(&self) -> &str;
    /// Every header line in order: (lowercase name, value).
    fn for_each_header<'s>(&'s self, f: &mut dyn FnMut(&'s str, &'s [u8]));
    /// The client's address: the peer, or the one a PROXY header carried.
    fn src(&self) -> SocketAddr;
    /// The address the client connected to (the bind's, or the PROXY header's
    /// destination).
    fn dst(&self) -> SocketAddr;
    /// TLS facts of the client connection, when it is TLS.
    fn tls(&self) -> Option<&TlsFacts> {
        None
    }
    /// The client's first bytes, buffered for `tcp-request content` rules
    /// (`req.len`, `req.payload`, `req.ssl_sni`…); `None` for an HTTP
    /// request, whose payload fetches see no data.
    fn payload(&self) -> Option<&[u8]> {
        None
    }
    /// Whether [`RequestFacts::payload`] can still grow: false once the
    /// inspect delay expired, the buffer is full or the client stopped
    /// sending. Fetches on a payload that may grow answer "not yet".
    fn payload_may_grow(&self) -> bool {
        false
    }
    /// The server that answered (its name and id), for `srv_name` and
    /// `srv_id` in `http-response` rules; `None` before one is chosen.
    fn server(&self) -> Option<(&str, u32)> {
        None
    }
    /// The transaction's variables (`set-var`, `var()`); `None` where
    /// the configuration uses none.
    fn vars(&self) -> Option<&std::sync::Arc<crate::vars::Vars>> {
        None
    }
    /// `Authorization: Basic` credentials already decoded, if any.
    fn basic_credentials(&self) -> Option<(String, String)> {
        let mut found = None;
        self.for_each_header(&mut |name, value| {
            if found.is_none() && name == "authorization" {
                found = decode_basic(value);
            }
        });
        found
    }
}

/// What the TLS handshake of the client connection settled, for the
/// `ssl_fc_*` and `ssl_c_*` fetches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsFacts {
    /// The server name the client asked for (`ssl_fc_sni`).
    pub sni: Option<String>,
    /// The protocol agreed by ALPN (`ssl_fc_alpn`).
    pub alpn: Option<String>,
    /// The TLS version by OpenSSL's name (`TLSv1.3`, `ssl_fc_protocol`).
    pub protocol: Option<String>,
    /// The suite, by OpenSSL's name (`ssl_fc_cipher`).
    pub cipher: Option<String>,
    /// The client's certificate, when it showed one (`ssl_c_*`).
    pub client: Option<Box<ClientCertFacts>>,
}

/// A verified client certificate as HAProxy's `ssl_c_*` fetches give it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientCertFacts {
    /// `ssl_c_s_dn`: OpenSSL's one-line form, `/C=FR/O=Example/CN=name`.
    pub subject_dn: String,
    /// `ssl_c_i_dn`.
    pub issuer_dn: String,
    /// `ssl_c_notbefore`, as the certificate writes it (`YYMMDDhhmmssZ`).
    pub not_before: String,
    /// `ssl_c_notafter`.
    pub not_after: String,
}

/// Path of a target: without query; for absolute-form, without scheme and
/// authority (HAProxy's `path`).
pub fn path_of(target: &str) -> &str {
    let without_query = target.split_once('?').map(|(p, _)| p).unwrap_or(target);
    if without_query.starts_with('/') {
        // Origin form, the common case: no authority to skip.
        return without_query;
    }
    match without_query.find("://") {
        Some(i) => {
            let rest = &without_query[i + 3..];
            rest.find('/').map(|j| &rest[j..]).unwrap_or("/")
        }
        None => without_query,
    }
}

/// Which part of a request target a rule rewrites or a fetch reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UriPart {
    /// The path, without the query string (`path`, `set-path`).
    Path,
    /// The path and the query string (`pathq`, `set-pathq`).
    PathQuery,
    /// The target as received (`url`, `replace-uri`).
    Whole,
}

impl UriPart {
    /// `target` as (what comes before the part, the part, what comes after):
    /// the scheme and authority of an absolute-form target come before the
    /// path, the `?query` after it.
    pub fn split(self, target: &str) -> (&str, &str, &str) {
        if self == UriPart::Whole {
            return ("", target, "");
        }
        let path_start = if target.starts_with('/') {
            0
        } else {
            match target.find("://") {
                Some(i) => {
                    let authority = i + 3;
                    target[authority..]
                        .find(['/', '?'])
                        .map_or(target.len(), |j| authority + j)
                }
                None => 0,
            }
        };
        let (before, rest) = target.split_at(path_start);
        match self {
            UriPart::Path => {
                let end = rest.find('?').unwrap_or(rest.len());
                (before, &rest[..end], &rest[end..])
            }
            _ => (before, rest, ""),
        }
    }
}

/// The query string (after `?`), if any.
pub fn query_of(target: &str) -> Option<&str> {
    target.split_once('?').map(|(_, q)| q)
}

fn decode_basic(value: &[u8]) -> Option<(String, String)> {
    let text = std::str::from_utf8(value).ok()?.trim();
    let (scheme, encoded) = text.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64_decode(encoded.trim())?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, pass) = decoded.split_once(':')?;
    Some((user.to_owned(), pass.to_owned()))
}

/// Standard base64 (RFC 4648), its padding optional: credentials are
/// taken with or without their `=` (trailing bits ignored), as before the
/// `base64` crate decoded them.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    use base64::Engine;
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::RequireNone)
            .with_decode_allow_trailing_bits(true),
    );
    LENIENT.decode(text.trim_end_matches('=')).ok()
}

/// A request owned in memory: fixtures, `explain`, tests, benchmarks.
#[derive(Debug, Clone)]
pub struct OwnedRequest {
    /// The method as sent.
    pub method: String,
    /// The request target (origin-form or absolute-form).
    pub target: String,
    /// The version as the rules see it: `1.0`, `1.1` or `2.0`.
    pub version: String,
    /// (lowercase name, value), in order.
    pub headers: Vec<(String, String)>,
    /// The client's address.
    pub src: SocketAddr,
    /// The address the client connected to.
    pub dst: SocketAddr,
    /// The client connection's TLS facts; `None` for plain TCP.
    pub tls: Option<TlsFacts>,
    /// The body after the head (a fixture's lines after the blank line); no
    /// fetch reads it, as no HTTP fetch here waits for a body.
    pub body: Vec<u8>,
    /// The transaction's variables, when the rules use any.
    pub vars: Option<std::sync::Arc<crate::vars::Vars>>,
}

impl OwnedRequest {
    /// A `GET` of `target` over HTTP/1.1 from 127.0.0.1 to port 80, with no
    /// headers: the start of most tests.
    pub fn get(target: &str) -> OwnedRequest {
        OwnedRequest {
            method: "GET".into(),
            target: target.into(),
            version: "1.1".into(),
            headers: Vec::new(),
            src: "127.0.0.1:40000".parse().expect("literal"),
            dst: "127.0.0.1:80".parse().expect("literal"),
            tls: None,
            body: Vec::new(),
            vars: None,
        }
    }

    /// Adds a header line (the name lower-cased, as [`RequestFacts`] gives it).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers
            .push((name.to_ascii_lowercase(), value.to_owned()));
        self
    }
}

/// A TCP connection as the rules see it, with no HTTP request (HTTP fetches
/// find nothing): a client's, with the bytes buffered so far, or a health
/// check's, with the server it checks.
#[derive(Debug, Clone, Copy)]
pub struct StreamFacts<'a> {
    /// The client's address.
    pub src: SocketAddr,
    /// The address the client connected to.
    pub dst: SocketAddr,
    /// The bytes the client sent so far (`tcp-request content` inspects them).
    pub payload: &'a [u8],
    /// More bytes may still come (see [`RequestFacts::payload_may_grow`]).
    pub may_grow: bool,
    /// The server at the other end, by name and id (`srv_name`, `srv_id`):
    /// a health check's; `None` for a client's connection.
    pub server: Option<(&'a str, u32)>,
}

impl RequestFacts for StreamFacts<'_> {
    fn method(&self) -> &str {
        ""
    }
    fn target(&self) -> &str {
        ""
    }
    fn version(&self) -> &str {
        ""
    }
    fn for_each_header<'s>(&'s self, _: &mut dyn FnMut(&'s str, &'s [u8])) {}
    fn src(&self) -> SocketAddr {
        self.src
    }
    fn dst(&self) -> SocketAddr {
        self.dst
    }
    fn payload(&self) -> Option<&[u8]> {
        Some(self.payload)
    }
    fn payload_may_grow(&self) -> bool {
        self.may_grow
    }
    fn server(&self) -> Option<(&str, u32)> {
        self.server
    }
}

impl RequestFacts for OwnedRequest {
    fn method(&self) -> &str {
        &self.method
    }
    fn target(&self) -> &str {
        &self.target
    }
    fn version(&self) -> &str {
        &self.version
    }
    fn for_each_header<'s>(&'s self, f: &mut dyn FnMut(&'s str, &'s [u8])) {
        for (name, value) in &self.headers {
            f(name, value.as_bytes());
        }
    }
    fn src(&self) -> SocketAddr {
        self.src
    }
    fn dst(&self) -> SocketAddr {
        self.dst
    }
    fn tls(&self) -> Option<&TlsFacts> {
        self.tls.as_ref()
    }
    fn vars(&self) -> Option<&std::sync::Arc<crate::vars::Vars>> {
        self.vars.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_split_around_the_part_a_rule_rewrites() {
        let abs = "http://h.test/a/b?x=1";
        assert_eq!(UriPart::Path.split(abs), ("http://h.test", "/a/b", "?x=1"));
        assert_eq!(
            UriPart::PathQuery.split(abs),
            ("http://h.test", "/a/b?x=1", "")
        );
        assert_eq!(UriPart::Whole.split(abs), ("", abs, ""));
        assert_eq!(UriPart::Path.split("/p?q"), ("", "/p", "?q"));
        assert_eq!(UriPart::PathQuery.split("/p?q"), ("", "/p?q", ""));
    }

    #[test]
    fn paths_and_queries() {
        assert_eq!(path_of("/a/b?x=1"), "/a/b");
        assert_eq!(path_of("http://h.example:80/p?q"), "/p");
        assert_eq!(path_of("http://h.example"), "/");
        assert_eq!(query_of("/a?x=1&y"), Some("x=1&y"));
        assert_eq!(query_of("/a"), None);
    }

    #[test]
    fn base64_is_decoded_with_or_without_padding() {
        assert_eq!(
            base64_decode("YWxhZGRpbjpvcGVuc2VzYW1l").unwrap(),
            b"aladdin:opensesame"
        );
        for text in ["QQ", "QQ==", "QQ====", "QR=="] {
            assert_eq!(base64_decode(text).unwrap(), b"A", "{text}");
        }
        for text in ["Q", "Q!==", "QQ=Q", "QQ\u{e9}"] {
            assert_eq!(base64_decode(text), None, "{text}");
        }
    }

    #[test]
    fn basic_credentials() {
        let r = OwnedRequest::get("/").header("Authorization", "Basic YWxpY2U6d29uZGVybGFuZA==");
        assert_eq!(
            r.basic_credentials(),
            Some(("alice".into(), "wonderland".into()))
        );
        let r = OwnedRequest::get("/").header("Authorization", "Basic !!!");
        assert_eq!(r.basic_credentials(), None);
    }
}
