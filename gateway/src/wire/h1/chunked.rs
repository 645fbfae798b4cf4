//! Decoding a chunked body (RFC 9112, section 7.1) as it arrives: the
//! chunks' data is handed on without copies (split off the connection's
//! buffer), sizes and extensions are checked, trailers are read and dropped
//! (as HAProxy does when the client did not ask for them with `TE`).

use bytes::{Buf, Bytes, BytesMut};

/// The longest trailer section accepted.
pub const MAX_TRAILERS: usize = 16_384;

/// The longest chunk-size line accepted, extensions and CRLF included.
const MAX_SIZE_LINE: usize = 4096;

/// Where the decoder stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Expecting a chunk-size line.
    Size,
    /// Inside a chunk's data, this many bytes left.
    Data(u64),
    /// Expecting the CRLF after a chunk's data.
    DataEnd,
    /// After the last chunk: trailer lines until an empty one; the bytes
    /// of trailers read so far.
    Trailers(usize),
    Done,
}

/// What one step of decoding gave.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Some of a chunk's data.
    Data(Bytes),
    /// More bytes are needed from the connection.
    NeedMore,
    /// The body ended (the last chunk and the trailers have been read).
    Done,
}

/// The chunked body is malformed: the connection cannot be trusted further.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed chunked body: {0}")]
pub struct ChunkError(&'static str);

/// A chunked body's decoder.
#[derive(Debug, Clone)]
pub struct Decoder {
    state: State,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder { state: State::Size }
    }
}

impl Decoder {
    /// Checks the start of a chunked body (what arrived with the head)
    /// without consuming it: an error there is known before the response
    /// head is passed on, so the client can get a 502 instead of a cut
    /// body, as HAProxy answers.
    pub fn check_start(bytes: &[u8]) -> Result<(), ChunkError> {
        Decoder::first_size_read(bytes).map(|_| ())
    }

    /// Checks the start of a chunked body like [`Decoder::check_start`],
    /// and says whether its first chunk-size line is whole in `bytes`: a
    /// client's body is passed on only once it is, so that a size the
    /// decoder refuses is refused before the server hears of the request,
    /// however TCP split the bytes.
    pub fn first_size_read(bytes: &[u8]) -> Result<bool, ChunkError> {
        let mut decoder = Decoder::default();
        let mut copy = BytesMut::from(bytes);
        loop {
            match decoder.step(&mut copy)? {
                Step::Data(_) => {}
                Step::Done => return Ok(true),
                // A size line taken is the only way bytes are consumed
                // before the first chunk's data.
                Step::NeedMore => return Ok(copy.len() < bytes.len()),
            }
        }
    }

    /// Whether the whole body has been read.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Decodes from the front of `buf`, consuming what it uses.
    pub fn step(&mut self, buf: &mut BytesMut) -> Result<Step, ChunkError> {
        loop {
            match self.state {
                State::Size => match take_size_line(buf)? {
                    Some(0) => self.state = State::Trailers(0),
                    Some(size) => self.state = State::Data(size),
                    None => return Ok(Step::NeedMore),
                },
                State::Data(left) => {
                    if buf.is_empty() {
                        return Ok(Step::NeedMore);
                    }
                    let n = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
                    let data = buf.split_to(n).freeze();
                    let left = left - n as u64;
                    self.state = if left == 0 {
                        State::DataEnd
                    } else {
                        State::Data(left)
                    };
                    return Ok(Step::Data(data));
                }
                State::DataEnd => {
                    if buf.len() < 2 {
                        return Ok(Step::NeedMore);
                    }
                    if &buf[..2] != b"\r\n" {
                        return Err(ChunkError("chunk data not followed by CRLF"));
                    }
                    buf.advance(2);
                    self.state = State::Size;
                }
                State::Trailers(seen) => {
                    let Some(end) = buf.windows(2).position(|w| w == b"\r\n") else {
                        if seen + buf.len() > MAX_TRAILERS {
                            return Err(ChunkError("trailers too long"));
                        }
                        return Ok(Step::NeedMore);
                    };
                    if seen + end + 2 > MAX_TRAILERS {
                        return Err(ChunkError("trailers too long"));
                    }
                    // A trailer is a field: a name, then a colon (HAProxy
                    // answers 502 to anything else).
                    let line = &buf[..end];
                    let field = line.iter().position(|b| *b == b':').is_some_and(|colon| {
                        colon > 0 && line[..colon].iter().all(|b| b.is_ascii_graphic())
                    });
                    if end > 0 && !field {
                        return Err(ChunkError("trailer line that is not a field"));
                    }
                    buf.advance(end + 2);
                    self.state = if end == 0 {
                        State::Done
                    } else {
                        State::Trailers(seen + end + 2)
                    };
                }
                State::Done => return Ok(Step::Done),
            }
        }
    }
}

/// Takes a chunk-size line from the front of `buf`: the chunk's size, or
/// `None` until the line has arrived whole.
fn take_size_line(buf: &mut BytesMut) -> Result<Option<u64>, ChunkError> {
    // httparse reads a line without digits (`\r\n`, `;ext\r\n`) as size 0,
    // the last chunk: the body would end early and its rest be taken for
    // the next response. RFC 9112 asks for `1*HEXDIG`, as HAProxy does.
    if buf.first().is_some_and(|b| !b.is_ascii_hexdigit()) {
        return Err(ChunkError("chunk-size line without a size"));
    }
    // The length limit is checked on whole lines too, so that it holds
    // whether the line came in one read or in many.
    match httparse::parse_chunk_size(buf) {
        Ok(httparse::Status::Complete((used, _))) if used > MAX_SIZE_LINE => {
            Err(ChunkError("chunk-size line too long"))
        }
        Ok(httparse::Status::Complete((used, size))) => {
            buf.advance(used);
            Ok(Some(size))
        }
        Ok(httparse::Status::Partial) if buf.len() > MAX_SIZE_LINE => {
            Err(ChunkError("chunk-size line too long"))
        }
        Ok(httparse::Status::Partial) => Ok(None),
        Err(_) => Err(ChunkError("bad chunk-size line")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` in pieces of `piece` bytes; the data and whether the
    /// body ended, and what was left after it.
    fn decode(input: &[u8], piece: usize) -> Result<(Vec<u8>, bool, Vec<u8>), ChunkError> {
        let mut decoder = Decoder::default();
        let mut buf = BytesMut::new();
        let mut data = Vec::new();
        let mut fed = 0;
        loop {
            match decoder.step(&mut buf)? {
                Step::Data(d) => data.extend_from_slice(&d),
                Step::Done => return Ok((data, true, buf.to_vec())),
                Step::NeedMore if fed >= input.len() => return Ok((data, false, buf.to_vec())),
                Step::NeedMore => {
                    let end = (fed + piece).min(input.len());
                    buf.extend_from_slice(&input[fed..end]);
                    fed = end;
                }
            }
        }
    }

    #[test]
    fn chunks_decode_whatever_the_reads() {
        let body = b"5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-T: 1\r\n\r\nNEXT";
        for piece in [1, 2, 3, 7, 100] {
            let (data, done, rest) = decode(body, piece).unwrap();
            assert_eq!(data, b"hello, world", "piece {piece}");
            assert!(done);
            assert!(
                b"NEXT".starts_with(&rest),
                "the next response stays: {rest:?}"
            );
        }
    }

    #[test]
    fn the_start_of_a_body_is_checked_without_consuming_it() {
        assert!(Decoder::check_start(b"5\r\nhello\r\n0\r\n\r\n").is_ok());
        assert!(
            Decoder::check_start(b"5\r\nhel").is_ok(),
            "incomplete is not wrong"
        );
        assert!(Decoder::check_start(b"zz\r\n").is_err());
        assert_eq!(Decoder::first_size_read(b""), Ok(false));
        assert_eq!(Decoder::first_size_read(b"fff"), Ok(false));
        assert_eq!(Decoder::first_size_read(b"5;ext=1\r"), Ok(false));
        assert_eq!(Decoder::first_size_read(b"5\r\n"), Ok(true));
        assert_eq!(Decoder::first_size_read(b"0\r\n\r\n"), Ok(true));
        assert!(Decoder::first_size_read(b"fffffffffffffffffff\r\n").is_err());
        assert!(Decoder::check_start(b"5\r\nhelloXX").is_err());
    }

    #[test]
    fn a_cut_body_is_not_done() {
        let (data, done, _) = decode(b"5\r\nhel", 100).unwrap();
        assert_eq!(data, b"hel");
        assert!(!done);
    }

    #[test]
    fn malformed_chunks_are_errors() {
        for body in [
            &b"zz\r\n"[..],
            b"5\r\nhelloXX",
            b"ffffffffffffffffff\r\n",
            b"-1\r\n",
        ] {
            assert!(
                decode(body, 100).is_err(),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        let not_a_field = b"0\r\nnot a field\r\n\r\n";
        assert!(decode(not_a_field, 100).is_err(), "a trailer is a field");
        let endless = [b"0\r\n".as_slice(), &b"X: y\r\n".repeat(4000)].concat();
        assert!(decode(&endless, 1000).is_err(), "trailers are bounded");
    }

    #[test]
    fn the_size_line_limit_does_not_depend_on_the_reads() {
        // A line over the limit was refused when it came in small reads and
        // accepted when it came in one (found while writing the
        // `server_response` fuzz target, whose same-result-whatever-the-
        // reads check fails on it).
        let line = |ext: usize| format!("5;{}\r\nhello\r\n0\r\n\r\n", "e".repeat(ext));
        for piece in [1, 100, 5000] {
            assert!(
                decode(line(4100).as_bytes(), piece).is_err(),
                "piece {piece}"
            );
            // HAProxy takes a 2,000-byte extension; so does this.
            let (data, done, _) = decode(line(2000).as_bytes(), piece).unwrap();
            assert_eq!(
                (&data[..], done),
                (&b"hello"[..], true),
                "2,000 bytes, piece {piece}"
            );
        }
    }

    #[test]
    fn a_size_line_without_digits_is_no_last_chunk() {
        // httparse reads these as size 0: an extra CRLF after a chunk
        // would end the body and leave the rest for the next response.
        for body in [
            &b"\r\nhello"[..],
            b" \r\n\r\n",
            b";ext\r\n\r\n",
            b"5\r\nhello\r\n\r\n\r\nHTTP/1.1 200 OK\r\n",
        ] {
            assert!(
                decode(body, 100).is_err(),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
