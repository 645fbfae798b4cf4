//! Requests refused before anything else looks at them, because two
//! readers could understand them differently (request smuggling, routing
//! confusion). hyper already refuses what HTTP/1.1's grammar forbids
//! (bad header names and bytes, two different Content-Lengths, bad chunk
//! sizes…); these are the ambiguities it lets through. Each gets 400, as
//! HAProxy 2.6 answers them (checked by `scripts/haproxy-hostile-diff`),
//! but a transfer-coding other than `chunked` before the final `chunked`,
//! which HAProxy answers 422 ([`Refusal::status`]).

use http::header::{HOST, TRANSFER_ENCODING};
use http::request::Parts;
use switchyard::wire::h1::buffer_limits;

/// Why a request is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `Transfer-Encoding` without `chunked` last, or with it twice.
    TransferEncoding,
    /// `Transfer-Encoding` naming a coding other than `chunked` before the
    /// final `chunked` (`gzip, chunked`): HAProxy implements none, and
    /// says so (422).
    UnsupportedCoding,
    /// Several `Host` fields that disagree.
    ConflictingHost,
    /// An absolute-form target naming another host than `Host`.
    TargetHostMismatch,
    /// A target with `user:password@` (RFC 9110 §4.2.4: treat as an error).
    UserInfo,
    /// A head longer than `tune.bufsize` less `tune.maxrewrite`.
    HeadTooLong,
}

impl Refusal {
    /// The status HAProxy answers with.
    pub fn status(self) -> u16 {
        match self {
            Refusal::UnsupportedCoding => 422,
            _ => 400,
        }
    }
}

/// One pass over the fields (they are few; a lookup by name costs more
/// than comparing each name with two standard ones), which also measures
/// the head against `tune.bufsize` less `tune.maxrewrite`.
pub fn check(parts: &Parts) -> Result<(), Refusal> {
    let target = parts.uri.path_and_query().map_or(1, |pq| pq.as_str().len());
    // The request line and the empty line, as HTTP/1.1 writes them.
    let mut head_len = parts.method.as_str().len() + 1 + target + " HTTP/1.1\r\n\r\n".len();
    let mut codings = Codings::default();
    let mut host: Option<&http::HeaderValue> = None;
    let mut hosts_conflict = false;
    for (name, value) in &parts.headers {
        head_len += name.as_str().len() + value.len() + ": \r\n".len();
        if name == TRANSFER_ENCODING {
            codings.read(value.as_bytes());
        } else if name == HOST {
            match host {
                None => host = Some(value),
                Some(first) => {
                    hosts_conflict |= !value.as_bytes().eq_ignore_ascii_case(first.as_bytes())
                }
            }
        }
    }
    if head_len > buffer_limits::max_head() {
        return Err(Refusal::HeadTooLong);
    }
    codings.verdict()?;
    if hosts_conflict {
        return Err(Refusal::ConflictingHost);
    }
    if let Some(authority) = parts.uri.authority() {
        if authority.as_str().contains('@') {
            return Err(Refusal::UserInfo);
        }
        let agrees = host.is_none_or(|h| {
            h.to_str()
                .is_ok_and(|h| h.eq_ignore_ascii_case(authority.as_str()))
        });
        // HTTP/2 carries `:authority` in the URI and may repeat it in Host.
        if !agrees && parts.version < http::Version::HTTP_2 {
            return Err(Refusal::TargetHostMismatch);
        }
    }
    Ok(())
}

/// A request's transfer-codings, all `Transfer-Encoding` fields read as
/// one list, judged as HAProxy's `h1_parse_xfer_enc_header` and its H1 mux
/// judge them.
#[derive(Default)]
struct Codings {
    /// `chunked` was seen and is last so far.
    chunked_last: bool,
    /// `chunked` came twice, or another coding after it.
    misplaced: bool,
    /// A coding other than `chunked` was seen.
    other: bool,
}

impl Codings {
    fn read(&mut self, value: &[u8]) {
        for coding in value.split(|b| *b == b',') {
            let coding = coding.trim_ascii();
            if coding.is_empty() {
                continue;
            }
            if coding.eq_ignore_ascii_case(b"chunked") {
                self.misplaced |= self.chunked_last;
                self.chunked_last = true;
            } else {
                self.misplaced |= self.chunked_last;
                self.chunked_last = false;
                self.other = true;
            }
        }
    }

    fn verdict(&self) -> Result<(), Refusal> {
        if self.misplaced || (self.other && !self.chunked_last) {
            // A request's body must end chunked (RFC 9112 §6.3).
            Err(Refusal::TransferEncoding)
        } else if self.other {
            Err(Refusal::UnsupportedCoding)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(target: &str, headers: &[(&str, &str)]) -> Parts {
        let mut b = http::Request::builder().uri(target);
        for (n, v) in headers {
            b = b.header(*n, *v);
        }
        b.body(()).unwrap().into_parts().0
    }

    #[test]
    fn smuggling_shapes_are_refused() {
        assert_eq!(
            check(&parts(
                "/",
                &[("host", "a"), ("transfer-encoding", "chunked")]
            )),
            Ok(())
        );
        assert_eq!(
            check(&parts("/", &[("transfer-encoding", "Chunked")])),
            Ok(())
        );
        for te in [
            "chunked, identity",
            "chunked, chunked",
            "identity",
            "xchunked",
        ] {
            assert_eq!(
                check(&parts("/", &[("transfer-encoding", te)])),
                Err(Refusal::TransferEncoding),
                "{te}"
            );
        }
        // HAProxy 2.6.12: 422, a coding it does not implement.
        for te in ["gzip, chunked", "identity, chunked"] {
            let refusal = check(&parts("/", &[("transfer-encoding", te)]));
            assert_eq!(refusal, Err(Refusal::UnsupportedCoding), "{te}");
            assert_eq!(refusal.unwrap_err().status(), 422);
        }
        assert_eq!(
            check(&parts(
                "/",
                &[
                    ("transfer-encoding", "chunked"),
                    ("transfer-encoding", "chunked")
                ]
            )),
            Err(Refusal::TransferEncoding)
        );
    }

    #[test]
    fn a_head_longer_than_the_buffer_less_its_reserve_is_refused() {
        // HAProxy's default limit: 16384 less 1024. "GET / HTTP/1.1\r\n",
        // "x: …\r\n" and the empty line.
        let fits = "v".repeat(buffer_limits::max_head() - 16 - 5 - 2);
        assert_eq!(check(&parts("/", &[("x", &fits)])), Ok(()));
        let over = format!("{fits}v");
        assert_eq!(
            check(&parts("/", &[("x", &over)])),
            Err(Refusal::HeadTooLong)
        );
    }

    #[test]
    fn hosts_and_targets_must_agree() {
        assert_eq!(
            check(&parts("/", &[("host", "a.test"), ("host", "A.TEST")])),
            Ok(())
        );
        assert_eq!(
            check(&parts("/", &[("host", "a.test"), ("host", "b.test")])),
            Err(Refusal::ConflictingHost)
        );
        assert_eq!(
            check(&parts("http://a.test/x", &[("host", "a.test")])),
            Ok(())
        );
        assert_eq!(
            check(&parts("http://evil.test/x", &[("host", "good.test")])),
            Err(Refusal::TargetHostMismatch)
        );
        assert_eq!(
            check(&parts("http://u:p@a.test/x", &[("host", "a.test")])),
            Err(Refusal::UserInfo)
        );
    }
}
