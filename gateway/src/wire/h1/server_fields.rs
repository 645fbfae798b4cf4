//! A server response's end-to-end fields kept as the bytes the server
//! wrote, with where each name and value lies.
//!
//! Most responses pass through the gateway with their fields untouched:
//! no `http-response` rule, no persistence cookie, no trace. Building an
//! `http::HeaderMap` for them (a name lookup, a value check, a hashed
//! insertion and a drop per field) and writing it out again is work they
//! do not need (docs/performance.md, "A server's response fields are no
//! longer made into a `HeaderMap`"). Here they are only located;
//! they are written out from the bytes, and made into a map
//! ([`ServerFields::to_header_map`]) only when something needs one.

use std::ops::Range;

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue};

/// Where one field's name and value lie in the head. A head is at most
/// [`super::buffer_limits::max_head`] bytes (`tune.bufsize` is at most
/// 65536, and a field ends before the head's last CRLF), so `u16` offsets
/// hold them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FieldSpan {
    name_start: u16,
    name_end: u16,
    value_start: u16,
    value_end: u16,
}

impl FieldSpan {
    /// A field at these offsets of a head; `None` past what `u16` holds
    /// (never, in a head of at most `tune.bufsize` bytes).
    pub(crate) fn new(name: Range<usize>, value: Range<usize>) -> Option<Self> {
        Some(FieldSpan {
            name_start: u16::try_from(name.start).ok()?,
            name_end: u16::try_from(name.end).ok()?,
            value_start: u16::try_from(value.start).ok()?,
            value_end: u16::try_from(value.end).ok()?,
        })
    }

    fn name(&self) -> Range<usize> {
        usize::from(self.name_start)..usize::from(self.name_end)
    }

    fn value(&self) -> Range<usize> {
        usize::from(self.value_start)..usize::from(self.value_end)
    }
}

/// The fields, in the order the server wrote them, names in lower case.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServerFields {
    /// The head as read (status line included); the spans point into it.
    head: Bytes,
    spans: Vec<FieldSpan>,
    /// What the hop-by-hop fields left out weigh in HAProxy's `%B`
    /// ([`ServerFields::left_out_size`]).
    left_out: u32,
}

impl ServerFields {
    /// The fields of `head` at `spans`, which httparse located: their
    /// names are tokens and their values hold no control character but
    /// tab, which is what `http` accepts too ([`Self::to_header_map`]
    /// relies on it). The names are put in lower case, in place: the form
    /// they are written out in (as hyper and HAProxy write them), and
    /// the one `HeaderName` reads fastest.
    ///
    /// # Panics
    ///
    /// When a span is not inside `head` (a caller's bug).
    pub(crate) fn from_head(mut head: BytesMut, spans: Vec<FieldSpan>) -> Self {
        for span in &spans {
            head[span.name()].make_ascii_lowercase();
            assert!(span.value().end <= head.len());
        }
        ServerFields {
            head: head.freeze(),
            spans,
            left_out: 0,
        }
    }

    /// The head the fields lie in.
    pub fn head(&self) -> &Bytes {
        &self.head
    }

    /// Keeps the fields for which `keep(name, value)` says so.
    pub fn retain(&mut self, mut keep: impl FnMut(&[u8], &[u8]) -> bool) {
        let head = &self.head;
        self.spans
            .retain(|s| keep(&head[s.name()], &head[s.value()]));
    }

    /// What the hop-by-hop fields the reader left out weigh in the byte
    /// count of HAProxy's log (`%B`), which counts the message as its own
    /// parser keeps it: each field's name and value, `Connection` without
    /// its `close` and `keep-alive` tokens (and not at all when nothing
    /// else is left), `Transfer-Encoding` not here (it is counted with
    /// the chunked framing, which the gateway may add itself).
    pub fn left_out_size(&self) -> u64 {
        u64::from(self.left_out)
    }

    /// Adds to [`Self::left_out_size`].
    pub(crate) fn add_left_out(&mut self, size: usize) {
        self.left_out = self
            .left_out
            .saturating_add(u32::try_from(size).unwrap_or(u32::MAX));
    }

    pub fn len(&self) -> usize {
        self.spans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Each field's name (in lower case) and value.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        self.spans
            .iter()
            .map(|s| (&self.head[s.name()], &self.head[s.value()]))
    }

    /// The values of the fields named `name` (in lower case).
    pub fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        // Lengths first: most fields are passed over without a look at
        // their bytes.
        self.spans
            .iter()
            .filter(move |s| usize::from(s.name_end - s.name_start) == name.len())
            .filter(move |s| &self.head[s.name()] == name.as_bytes())
            .map(|s| &self.head[s.value()])
    }

    /// Whether a field is named `name` (in lower case).
    pub fn contains(&self, name: &str) -> bool {
        self.values(name).next().is_some()
    }

    /// Removes every field named `name` (in lower case).
    pub fn remove(&mut self, name: &str) {
        self.retain(|n, _| n != name.as_bytes());
    }

    /// The fields as a map, in order. The values share the head's bytes.
    pub fn to_header_map(&self) -> HeaderMap {
        let mut map = HeaderMap::with_capacity(self.spans.len());
        for s in &self.spans {
            let name = HeaderName::from_bytes(&self.head[s.name()]);
            let value = HeaderValue::from_maybe_shared(self.head.slice(s.value()));
            // httparse checked both with http's own rules (see
            // `from_head`): never refused; were one ever, it would be left
            // out rather than fail the response.
            if let (Ok(name), Ok(value)) = (name, value) {
                map.append(name, value);
            }
        }
        map
    }

    /// Appends the fields as header lines. A line the server wrote as
    /// `name: value` is copied as it is, and a run of them in one copy (a
    /// typical head is one run, broken only where a hop-by-hop field was
    /// left out); other spacing is written anew.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let head = &self.head[..];
        let mut run = 0..0;
        for s in &self.spans {
            let (name, value) = (s.name(), s.value());
            let line_end = value.end + 2;
            let as_is = value.start == name.end + 2
                && head.get(name.end..value.start) == Some(b": ")
                && head.get(value.end..line_end) == Some(b"\r\n");
            if as_is && run.end == name.start && !run.is_empty() {
                run.end = line_end;
                continue;
            }
            out.extend_from_slice(&head[run]);
            if as_is {
                run = name.start..line_end;
            } else {
                run = 0..0;
                out.extend_from_slice(&head[name]);
                out.extend_from_slice(b": ");
                out.extend_from_slice(&head[value]);
                out.extend_from_slice(b"\r\n");
            }
        }
        out.extend_from_slice(&head[run]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fields of a head written as `Name: value` lines after a status
    /// line, located as the response head reader locates them.
    fn fields(lines: &[&str]) -> ServerFields {
        let mut text = String::from("HTTP/1.1 200 OK\r\n");
        let mut spans = Vec::new();
        for line in lines {
            let (name, value) = line.split_once(':').unwrap();
            let start = text.len();
            let value_start = start + name.len() + 1 + (value.len() - value.trim_start().len());
            spans.push(
                FieldSpan::new(
                    start..start + name.len(),
                    value_start..value_start + value.trim().len(),
                )
                .unwrap(),
            );
            text.push_str(line);
            text.push_str("\r\n");
        }
        ServerFields::from_head(BytesMut::from(text.as_str()), spans)
    }

    #[test]
    fn fields_are_written_in_order_with_names_in_lower_case() {
        let f = fields(&[
            "Server: o",
            "X-A:1",
            "Set-Cookie: a=1",
            "x-a:  2 ",
            "Date: d",
        ]);
        let mut out = Vec::new();
        f.encode(&mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "server: o\r\nx-a: 1\r\nset-cookie: a=1\r\nx-a: 2\r\ndate: d\r\n"
        );
    }

    #[test]
    fn lines_left_out_break_a_run_of_copied_lines() {
        let mut f = fields(&["A: 1", "B: 2", "Connection: close", "C: 3", "D: 4"]);
        f.remove("connection");
        let mut out = Vec::new();
        f.encode(&mut out);
        assert_eq!(out, b"a: 1\r\nb: 2\r\nc: 3\r\nd: 4\r\n");
        f.retain(|name, _| name != b"a" && name != b"d");
        out.clear();
        f.encode(&mut out);
        assert_eq!(out, b"b: 2\r\nc: 3\r\n");
        f.retain(|_, _| false);
        out.clear();
        f.encode(&mut out);
        assert!(out.is_empty() && f.is_empty());
    }

    #[test]
    fn the_map_holds_every_field_in_order() {
        let f = fields(&["Server: o", "X-A: 1", "Date: d", "X-A: 2"]);
        let map = f.to_header_map();
        assert_eq!(map.len(), 4);
        let xa: Vec<_> = map.get_all("x-a").iter().collect();
        assert_eq!(xa, ["1", "2"]);
        assert_eq!(map["server"], "o");
    }

    #[test]
    fn names_are_in_lower_case_for_lookup_and_removal() {
        let mut f = fields(&["Content-Length: 3", "X: y", "content-length: 3"]);
        assert_eq!(f.values("content-length").count(), 2);
        f.remove("content-length");
        assert!(!f.contains("content-length"));
        assert_eq!(f.len(), 1);
        assert_eq!(f.iter().next(), Some((&b"x"[..], &b"y"[..])));
    }
}
