//! The first bytes of a TLS connection as `req.ssl_hello_type` and
//! `req.ssl_sni` read them, without terminating TLS: the record header, the
//! handshake header, and the `server_name` extension of a ClientHello
//! (RFC 8446 §4.1.2, RFC 6066 §3). Like HAProxy, only the first record is
//! read. Every length is checked against the bytes present: bad input gives
//! [`Peek::NotTls`], too few bytes [`Peek::Incomplete`], never a panic.

/// What the buffered bytes say so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Peek<T> {
    /// More bytes could still change the answer.
    Incomplete,
    /// Not a TLS handshake record (or a malformed one): no value, final.
    NotTls,
    Found(T),
}

const HANDSHAKE: u8 = 0x16;
const CLIENT_HELLO: u8 = 1;
const SERVER_NAME: u16 = 0;
const HOST_NAME: u8 = 0;

/// A cursor over a byte slice that never reads past its end.
struct Cursor<'a> {
    bytes: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.bytes.len() {
            return None;
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }
    /// A block preceded by its length on `width` bytes.
    fn block(&mut self, width: usize) -> Option<&'a [u8]> {
        let len = match width {
            1 => self.u8()? as usize,
            _ => self.u16()? as usize,
        };
        self.take(len)
    }
}

/// HAProxy's `req.ssl_hello_type`: the handshake type (1 ClientHello,
/// 2 ServerHello) once the whole handshake message is buffered.
pub fn hello_type(buf: &[u8]) -> Peek<u8> {
    let Some(&first) = buf.first() else {
        return Peek::Incomplete;
    };
    // SSLv3/TLS record types (change_cipher_spec..application_data, 0xFF).
    if !((0x14..=0x17).contains(&first) || first == 0xFF) {
        return Peek::NotTls;
    }
    if buf.len() < 9 {
        return Peek::Incomplete;
    }
    if buf[1] < 3 || u16::from_be_bytes([buf[3], buf[4]]) < 4 {
        return Peek::NotTls;
    }
    let hs_len = u32::from_be_bytes([0, buf[6], buf[7], buf[8]]) as usize;
    if buf.len() < 9 + hs_len {
        return Peek::Incomplete;
    }
    Peek::Found(buf[5])
}

/// HAProxy's `req.ssl_sni`: the host name a ClientHello asks for;
/// `Found(None)` when the hello is complete and names no host.
pub fn client_hello_sni(buf: &[u8]) -> Peek<Option<String>> {
    if buf.is_empty() {
        return Peek::Incomplete;
    }
    if buf[0] != HANDSHAKE {
        return Peek::NotTls;
    }
    if buf.len() < 5 {
        return Peek::Incomplete;
    }
    if buf[1] < 3 {
        return Peek::NotTls;
    }
    let record_len = u16::from_be_bytes([buf[3], buf[4]]) as usize;
    if record_len < 4 {
        return Peek::NotTls;
    }
    let Some(record) = buf.get(5..5 + record_len) else {
        return Peek::Incomplete;
    };
    if record[0] != CLIENT_HELLO {
        return Peek::NotTls;
    }
    let hs_len = u32::from_be_bytes([0, record[1], record[2], record[3]]) as usize;
    // A hello longer than its first record is read as far as the record goes.
    let body = &record[4..record.len().min(4 + hs_len)];
    match server_name(body) {
        Some(name) => Peek::Found(name),
        None => Peek::NotTls,
    }
}

/// The `server_name` of a ClientHello body; `None` when malformed.
fn server_name(body: &[u8]) -> Option<Option<String>> {
    let mut c = Cursor { bytes: body };
    c.take(2 + 32)?; // legacy_version, random
    c.block(1)?; // legacy_session_id
    c.block(2)?; // cipher_suites
    c.block(1)?; // legacy_compression_methods
    if c.bytes.is_empty() {
        // SSLv3-style hello without extensions.
        return Some(None);
    }
    let mut extensions = Cursor { bytes: c.block(2)? };
    while !extensions.bytes.is_empty() {
        let kind = extensions.u16()?;
        let data = extensions.block(2)?;
        if kind != SERVER_NAME {
            continue;
        }
        let mut list = Cursor {
            bytes: Cursor { bytes: data }.block(2)?,
        };
        while !list.bytes.is_empty() {
            let name_type = list.u8()?;
            let name = list.block(2)?;
            if name_type == HOST_NAME && !name.is_empty() {
                return Some(Some(String::from_utf8_lossy(name).into_owned()));
            }
        }
        return Some(None);
    }
    Some(None)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A ClientHello record naming `sni` (when given), with a few other
    /// extensions around it, as a TLS 1.3 client sends it.
    pub fn client_hello(sni: Option<&str>) -> Vec<u8> {
        let mut ext = Vec::new();
        // supported_versions: TLS 1.3
        ext.extend([0x00, 0x2b, 0x00, 0x03, 0x02, 0x03, 0x04]);
        if let Some(name) = sni {
            let n = name.as_bytes();
            let entry_len = 3 + n.len();
            ext.extend([0x00, 0x00]);
            ext.extend(((entry_len + 2) as u16).to_be_bytes());
            ext.extend((entry_len as u16).to_be_bytes());
            ext.push(0);
            ext.extend((n.len() as u16).to_be_bytes());
            ext.extend(n);
        }
        // ALPN h2
        ext.extend([0x00, 0x10, 0x00, 0x05, 0x00, 0x03, 0x02, b'h', b'2']);
        let mut body = vec![0x03, 0x03];
        body.extend([7u8; 32]);
        body.push(32);
        body.extend([9u8; 32]);
        body.extend([0x00, 0x02, 0x13, 0x01]);
        body.extend([0x01, 0x00]);
        body.extend((ext.len() as u16).to_be_bytes());
        body.extend(ext);
        let mut hs = vec![CLIENT_HELLO];
        hs.extend(&(body.len() as u32).to_be_bytes()[1..]);
        hs.extend(body);
        let mut record = vec![HANDSHAKE, 0x03, 0x01];
        record.extend((hs.len() as u16).to_be_bytes());
        record.extend(hs);
        record
    }

    #[test]
    fn finds_the_server_name() {
        let hello = client_hello(Some("a.example"));
        assert_eq!(
            client_hello_sni(&hello),
            Peek::Found(Some("a.example".into()))
        );
        assert_eq!(hello_type(&hello), Peek::Found(1));
        assert_eq!(client_hello_sni(&client_hello(None)), Peek::Found(None));
    }

    #[test]
    fn every_prefix_is_incomplete() {
        let hello = client_hello(Some("b.example"));
        for cut in 0..hello.len() {
            assert_eq!(client_hello_sni(&hello[..cut]), Peek::Incomplete, "{cut}");
            assert_eq!(hello_type(&hello[..cut]), Peek::Incomplete, "{cut}");
        }
    }

    #[test]
    fn other_protocols_are_not_tls() {
        assert_eq!(client_hello_sni(b"GET / HTTP/1.1\r\n"), Peek::NotTls);
        assert_eq!(hello_type(b"GET / HTTP/1.1\r\n"), Peek::NotTls);
        assert_eq!(client_hello_sni(b"SSH-2.0-OpenSSH"), Peek::NotTls);
        // SSLv2-era version byte.
        assert_eq!(
            client_hello_sni(&[0x16, 0x02, 0x00, 0x00, 0x10]),
            Peek::NotTls
        );
    }

    #[test]
    fn lengths_that_lie_are_refused() {
        let mut hello = client_hello(Some("c.example"));
        // The extensions block claims more than the hello holds.
        let ext_len_at = 5 + 4 + 2 + 32 + 1 + 32 + 2 + 2 + 2;
        hello[ext_len_at] = 0xff;
        assert_eq!(client_hello_sni(&hello), Peek::NotTls);
    }

    #[test]
    fn bytes_after_the_record_do_not_matter() {
        let mut hello = client_hello(Some("d.example"));
        hello.extend(b"trailing application bytes");
        assert_eq!(
            client_hello_sni(&hello),
            Peek::Found(Some("d.example".into()))
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..600)) {
            let _ = client_hello_sni(&bytes);
            let _ = hello_type(&bytes);
        }

        #[test]
        fn mutated_hellos_never_panic(at in 0usize..200, value: u8, sni in "[a-z]{1,20}") {
            let mut hello = client_hello(Some(&sni));
            let i = at % hello.len();
            hello[i] = value;
            let _ = client_hello_sni(&hello);
            let _ = hello_type(&hello);
        }
    }
}
