//! A frontend's captures for its log line, as HAProxy takes and prints
//! them: `capture request|response header` (the last field of the name),
//! the slots `http-request capture` fills, and `capture cookie` (the first
//! cookie whose name begins with the prefix, as `name=value`). `%hr`/`%hs`
//! print the slots in braces separated by `|`, `%hrl`/`%hsl` separated by
//! spaces; `%CC`/`%CS` the cookies.

use std::sync::Arc;

use http::{HeaderMap, HeaderName};
use switchyard_grammar::ast::capture::{CaptureSource, Captures};

/// The values of a message's fields of a name, each passed in order.
pub type FieldValues<'a> = &'a dyn Fn(&HeaderName, &mut dyn FnMut(&[u8]));

/// One slot as the request path fills it.
#[derive(Debug)]
struct Slot {
    /// The header it takes, `None` for a slot only `capture` rules fill
    /// (any slot takes what a rule stores in it).
    header: Option<HeaderName>,
    len: usize,
}

/// What a frontend captures (built once per configuration).
#[derive(Debug)]
pub struct CaptureSpec {
    request: Vec<Slot>,
    response: Vec<Slot>,
    /// `capture cookie`: the name's beginning and the length kept.
    cookie: Option<(String, usize)>,
}

/// One request's captured values.
#[derive(Debug, Clone)]
pub struct Captured {
    spec: Arc<CaptureSpec>,
    /// By request slot; `None`: nothing captured.
    pub request: Vec<Option<Vec<u8>>>,
    /// By response slot.
    pub response: Vec<Option<Vec<u8>>>,
    /// `%CC`: `name=value` from the request's `Cookie`.
    pub request_cookie: Option<String>,
    /// `%CS`: `name=value` from the response's `Set-Cookie`.
    pub response_cookie: Option<String>,
}

impl CaptureSpec {
    /// The frontend's captures; `None` when it has none.
    pub fn of(captures: &Captures) -> Option<Arc<CaptureSpec>> {
        if captures.is_empty() {
            return None;
        }
        let slots = |list: &[switchyard_grammar::ast::capture::CaptureSlot]| {
            list.iter()
                .map(|s| Slot {
                    // A name no field can have (HAProxy takes any word)
                    // captures nothing.
                    header: match &s.source {
                        CaptureSource::Header(name) => HeaderName::from_bytes(name.as_bytes()).ok(),
                        CaptureSource::Declared => None,
                    },
                    len: s.len,
                })
                .collect()
        };
        Some(Arc::new(CaptureSpec {
            request: slots(&captures.request),
            response: slots(&captures.response),
            cookie: captures.cookie.as_ref().map(|c| (c.prefix.clone(), c.len)),
        }))
    }

    /// The request header slots, taken from the request as received
    /// (before any rule), as HAProxy takes them.
    pub fn start(self: &Arc<Self>, headers: &HeaderMap) -> Captured {
        let request = self
            .request
            .iter()
            .map(|slot| {
                let name = slot.header.as_ref()?;
                let last = headers.get_all(name).iter().next_back()?;
                Some(cut(last.as_bytes(), slot.len))
            })
            .collect();
        Captured {
            spec: self.clone(),
            request,
            response: vec![None; self.response.len()],
            request_cookie: None,
            response_cookie: None,
        }
    }
}

impl Captured {
    /// What `http-request capture` rules stored: each in its request slot,
    /// cut to the slot's length; a slot this frontend does not have (a
    /// backend's rule) is ignored, as HAProxy ignores it.
    pub fn store_rule_captures(&mut self, captured: Vec<(usize, String)>) {
        for (id, text) in captured {
            if let (Some(slot), Some(value)) = (self.spec.request.get(id), self.request.get_mut(id))
            {
                *value = Some(cut(text.as_bytes(), slot.len));
            }
        }
    }

    /// `capture cookie` on the request's `Cookie` fields (once the request
    /// goes to a backend, as HAProxy takes it).
    pub fn request_cookie(&mut self, headers: &HeaderMap) {
        let Some((prefix, len)) = &self.spec.cookie else {
            return;
        };
        self.request_cookie = headers
            .get_all(http::header::COOKIE)
            .iter()
            .flat_map(|v| v.as_bytes().split(|&b| b == b';'))
            .find_map(|pair| cookie_pair(pair, prefix, *len));
    }

    /// The response header slots and the response cookie, from a server's
    /// response before the `http-response` rules; `values` gives the
    /// values of the fields of a name, in order.
    pub fn response(&mut self, values: FieldValues<'_>) {
        let spec = self.spec.clone();
        for (slot, value) in spec.response.iter().zip(&mut self.response) {
            if let Some(name) = &slot.header {
                values(name, &mut |v| *value = Some(cut(v, slot.len)));
            }
        }
        if let Some((prefix, len)) = &spec.cookie {
            let mut first = None;
            values(&http::header::SET_COOKIE, &mut |v| {
                if first.is_none() {
                    // The first pair of the field: its attributes are not
                    // cookies.
                    let pair = v.split(|&b| b == b';').next().unwrap_or_default();
                    first = cookie_pair(pair, prefix, *len);
                }
            });
            self.response_cookie = first;
        }
    }

    /// `%hr`/`%hs` (`list`: `%hrl`/`%hsl`) into `out`; `false` when the
    /// frontend has no slot on that side (the field prints nothing).
    pub fn render(&self, response: bool, list: bool, quote: bool, out: &mut String) -> bool {
        let values = if response {
            &self.response
        } else {
            &self.request
        };
        if values.is_empty() {
            return false;
        }
        if list {
            for (n, value) in values.iter().enumerate() {
                if n > 0 {
                    out.push(' ');
                }
                if quote {
                    out.push('"');
                }
                match value {
                    Some(v) => encode(v, out),
                    None if !quote => out.push('-'),
                    None => {}
                }
                if quote {
                    out.push('"');
                }
            }
            return true;
        }
        if quote {
            out.push('"');
        }
        out.push('{');
        for (n, value) in values.iter().enumerate() {
            if n > 0 {
                out.push('|');
            }
            if let Some(v) = value {
                encode(v, out);
            }
        }
        out.push('}');
        if quote {
            out.push('"');
        }
        true
    }
}

/// `name=value` of one cookie pair when its name begins with `prefix`,
/// cut to `len` bytes.
fn cookie_pair(pair: &[u8], prefix: &str, len: usize) -> Option<String> {
    let pair = pair.trim_ascii();
    // The prefix may end with `=` for an exact name: it is compared with
    // the pair's start, as HAProxy compares it.
    if !pair.starts_with(prefix.as_bytes()) || !pair.contains(&b'=') {
        return None;
    }
    Some(String::from_utf8_lossy(&cut(pair, len)).into_owned())
}

fn cut(value: &[u8], len: usize) -> Vec<u8> {
    value[..value.len().min(len)].to_vec()
}

/// HAProxy's header encoding in logs: control bytes, bytes from 127 and
/// `"#{|}` as `#` and two uppercase hex digits.
fn encode(value: &[u8], out: &mut String) {
    for &b in value {
        if !(32..127).contains(&b) || matches!(b, b'"' | b'#' | b'{' | b'|' | b'}') {
            out.push('#');
            out.push(char::from(b"0123456789ABCDEF"[(b >> 4) as usize]));
            out.push(char::from(b"0123456789ABCDEF"[(b & 15) as usize]));
        } else {
            out.push(char::from(b));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_grammar::ast::capture::{CaptureSlot, CookieCapture};
    use switchyard_grammar::Span;

    fn spec() -> Arc<CaptureSpec> {
        let slot = |source, len| CaptureSlot {
            source,
            len,
            span: Span::default(),
        };
        CaptureSpec::of(&Captures {
            request: vec![
                slot(CaptureSource::Header("host".into()), 5),
                slot(CaptureSource::Declared, 3),
                slot(CaptureSource::Header("x-none".into()), 5),
            ],
            response: vec![slot(CaptureSource::Header("x-r".into()), 40)],
            cookie: Some(CookieCapture {
                prefix: "SESS".into(),
                len: 10,
            }),
        })
        .unwrap()
    }

    fn rendered(c: &Captured, response: bool, list: bool, quote: bool) -> String {
        let mut out = String::new();
        c.render(response, list, quote, &mut out);
        out
    }

    #[test]
    fn slots_print_as_haproxy_prints_them() {
        let mut headers = HeaderMap::new();
        headers.append("host", "first.example".parse().unwrap());
        headers.append("host", "last.example".parse().unwrap());
        let mut c = spec().start(&headers);
        c.store_rule_captures(vec![(1, "abcdef".into()), (7, "no such slot".into())]);
        assert_eq!(rendered(&c, false, false, false), "{last.|abc|}");
        assert_eq!(rendered(&c, false, false, true), "\"{last.|abc|}\"");
        assert_eq!(rendered(&c, false, true, false), "last. abc -");
        assert_eq!(rendered(&c, false, true, true), "\"last.\" \"abc\" \"\"");
        c.response(&|name, f| {
            if name == "x-r" {
                f(b"a{b}|c\"d#e\x01\xff")
            }
        });
        assert_eq!(
            rendered(&c, true, false, false),
            "{a#7Bb#7D#7Cc#22d#23e#01#FF}"
        );
    }

    #[test]
    fn the_first_cookie_whose_name_begins_with_the_prefix() {
        let mut headers = HeaderMap::new();
        headers.append(
            "cookie",
            "a=1; SESSIONID=0123456789abc; SESS2=x".parse().unwrap(),
        );
        let mut c = spec().start(&headers);
        c.request_cookie(&headers);
        assert_eq!(c.request_cookie.as_deref(), Some("SESSIONID="));
        c.response(&|name, f| {
            if name == http::header::SET_COOKIE {
                f(b"other=1; path=/");
                f(b"SESS=abc; path=/; HttpOnly");
                f(b"SESS=later");
            }
        });
        assert_eq!(c.response_cookie.as_deref(), Some("SESS=abc"));
    }

    #[test]
    fn a_frontend_without_slots_on_a_side_prints_nothing_there() {
        let only_cookie = CaptureSpec::of(&Captures {
            cookie: Some(CookieCapture {
                prefix: "A".into(),
                len: 5,
            }),
            ..Default::default()
        })
        .unwrap();
        let c = only_cookie.start(&HeaderMap::new());
        let mut out = String::new();
        assert!(!c.render(false, false, false, &mut out));
        assert!(out.is_empty());
        assert!(CaptureSpec::of(&Captures::default()).is_none());
    }
}
