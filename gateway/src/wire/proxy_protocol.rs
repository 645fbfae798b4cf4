//! The PROXY protocol (haproxy.org's proxy-protocol.txt, versions 1 and 2):
//! the header a server line with `send-proxy`/`send-proxy-v2` writes before
//! anything else, and the header a `bind … accept-proxy` reads from each
//! new connection, whose source address then stands for the client's in
//! rules, logs and X-Forwarded-For.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use switchyard_grammar::ast::server::ServerOptions;
use tokio::io::AsyncReadExt;

/// The 12 bytes that open a version 2 header.
const V2_SIGNATURE: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";
/// A version 1 line is at most 107 bytes, CRLF included.
const V1_MAX: usize = 107;
/// HAProxy accepts version 2 headers up to its buffer size; addresses and
/// a few TLVs fit well below this.
const V2_MAX_PAYLOAD: usize = 1024;

/// Why an `accept-proxy` connection was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HeaderError {
    #[error("no PROXY protocol header (the connection starts with other bytes)")]
    Missing,
    #[error("malformed PROXY protocol v1 header: {0}")]
    BadV1(&'static str),
    #[error("malformed PROXY protocol v2 header: {0}")]
    BadV2(&'static str),
    #[error("the client closed the connection before a complete PROXY protocol header")]
    Truncated,
    #[error("no complete PROXY protocol header within {0:?}")]
    Timeout(Duration),
    #[error("{0}")]
    Io(String),
}

/// The addresses a header carries: `None` for `PROXY UNKNOWN`, v2 `LOCAL`
/// and unsupported families (the connection's own addresses stay).
pub type Addresses = Option<(SocketAddr, SocketAddr)>;

/// The header for a connection from `src` to `dst`, when the server line
/// asks for one (`send-proxy-v2` wins over `send-proxy`, as in HAProxy).
pub fn header_for(options: &ServerOptions, src: SocketAddr, dst: SocketAddr) -> Option<Vec<u8>> {
    if !sends_header(options) {
        None
    } else if options.send_proxy_v2 == Some(true) {
        Some(v2_header(src, dst))
    } else {
        Some(v1_header(src, dst))
    }
}

/// Whether the server line asks for a header (`send-proxy`,
/// `send-proxy-v2`).
pub fn sends_header(options: &ServerOptions) -> bool {
    options.send_proxy_v2 == Some(true) || options.send_proxy == Some(true)
}

/// The header a health check of a `send-proxy`/`send-proxy-v2` server
/// starts with, as HAProxy 2.6 sends it: v1 names the check connection's
/// own addresses (`local` → `server`), v2 uses the `LOCAL` command. None
/// with a check `port` of its own (HAProxy then needs `check-send-proxy`,
/// which Switchyard refuses).
pub fn check_header(
    options: &ServerOptions,
    local: SocketAddr,
    server: SocketAddr,
) -> Option<Vec<u8>> {
    if options.check_port.is_some() {
        return None;
    }
    if options.send_proxy_v2 == Some(true) {
        let mut header = V2_SIGNATURE.to_vec();
        header.extend([0x20, 0x00, 0x00, 0x00]);
        Some(header)
    } else if options.send_proxy == Some(true) {
        Some(v1_header(local, server))
    } else {
        None
    }
}

/// IPv4 addresses seen on IPv6 sockets are written as IPv4, so that both
/// addresses of a header are of one family.
fn unmapped(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => SocketAddr::new(IpAddr::V4(v4), addr.port()),
            None => addr,
        },
        IpAddr::V4(_) => addr,
    }
}

/// Both addresses in one family: IPv6 when either is IPv6.
fn same_family(src: SocketAddr, dst: SocketAddr) -> (SocketAddr, SocketAddr) {
    let (src, dst) = (unmapped(src), unmapped(dst));
    let v6 = |a: SocketAddr| match a.ip() {
        IpAddr::V4(v4) => SocketAddr::new(IpAddr::V6(v4.to_ipv6_mapped()), a.port()),
        IpAddr::V6(_) => a,
    };
    if src.is_ipv4() == dst.is_ipv4() {
        (src, dst)
    } else {
        (v6(src), v6(dst))
    }
}

/// `PROXY TCP4 192.0.2.1 192.0.2.2 51000 443\r\n`.
pub fn v1_header(src: SocketAddr, dst: SocketAddr) -> Vec<u8> {
    let (src, dst) = same_family(src, dst);
    let family = if src.is_ipv4() { "TCP4" } else { "TCP6" };
    format!(
        "PROXY {family} {} {} {} {}\r\n",
        src.ip(),
        dst.ip(),
        src.port(),
        dst.port()
    )
    .into_bytes()
}

/// Version 2, command PROXY over TCP, without TLVs.
pub fn v2_header(src: SocketAddr, dst: SocketAddr) -> Vec<u8> {
    let (src, dst) = same_family(src, dst);
    let mut out = V2_SIGNATURE.to_vec();
    out.push(0x21); // version 2, PROXY
    match (src.ip(), dst.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            out.push(0x11); // AF_INET, STREAM
            out.extend(12u16.to_be_bytes());
            out.extend(s.octets());
            out.extend(d.octets());
        }
        (s, d) => {
            let v6 = |ip: IpAddr| match ip {
                IpAddr::V6(v6) => v6,
                IpAddr::V4(v4) => v4.to_ipv6_mapped(),
            };
            out.push(0x21); // AF_INET6, STREAM
            out.extend(36u16.to_be_bytes());
            out.extend(v6(s).octets());
            out.extend(v6(d).octets());
        }
    }
    out.extend(src.port().to_be_bytes());
    out.extend(dst.port().to_be_bytes());
    out
}

/// Parses a whole v1 line (CRLF included).
pub fn parse_v1(line: &[u8]) -> Result<Addresses, HeaderError> {
    let text = line
        .strip_suffix(b"\r\n")
        .ok_or(HeaderError::BadV1("the line does not end with CRLF"))?;
    let text = std::str::from_utf8(text).map_err(|_| HeaderError::BadV1("not ASCII"))?;
    let mut fields = text.split(' ');
    if fields.next() != Some("PROXY") {
        return Err(HeaderError::Missing);
    }
    let family = fields.next().ok_or(HeaderError::BadV1("no protocol"))?;
    if family == "UNKNOWN" {
        return Ok(None);
    }
    let v4 = match family {
        "TCP4" => true,
        "TCP6" => false,
        _ => return Err(HeaderError::BadV1("protocol is not TCP4, TCP6 or UNKNOWN")),
    };
    let mut next = |what: &'static str| fields.next().ok_or(HeaderError::BadV1(what));
    let (src_ip, dst_ip) = (next("no source address")?, next("no destination address")?);
    let (src_port, dst_port) = (next("no source port")?, next("no destination port")?);
    if fields.next().is_some() {
        return Err(HeaderError::BadV1("extra fields after the ports"));
    }
    let ip = |text: &str| -> Result<IpAddr, HeaderError> {
        let parsed = if v4 {
            text.parse::<Ipv4Addr>().map(IpAddr::V4)
        } else {
            text.parse::<Ipv6Addr>().map(IpAddr::V6)
        };
        parsed.map_err(|_| HeaderError::BadV1("an address does not match the protocol"))
    };
    let port = |text: &str| -> Result<u16, HeaderError> {
        // Decimal digits only, no sign, no leading zero (the spec's rule).
        let valid = !text.is_empty()
            && text.bytes().all(|b| b.is_ascii_digit())
            && !(text.len() > 1 && text.starts_with('0'));
        valid
            .then(|| text.parse::<u16>().ok())
            .flatten()
            .ok_or(HeaderError::BadV1("a port is not a number from 0 to 65535"))
    };
    Ok(Some((
        SocketAddr::new(ip(src_ip)?, port(src_port)?),
        SocketAddr::new(ip(dst_ip)?, port(dst_port)?),
    )))
}

/// The length of a v2 header from its first 16 bytes.
fn v2_len(head: &[u8; 16]) -> Result<usize, HeaderError> {
    if head[12] >> 4 != 2 {
        return Err(HeaderError::BadV2("version is not 2"));
    }
    let len = u16::from_be_bytes([head[14], head[15]]) as usize;
    if len > V2_MAX_PAYLOAD {
        return Err(HeaderError::BadV2("longer than switchyard accepts"));
    }
    Ok(16 + len)
}

/// Parses a whole v2 header (signature included).
pub fn parse_v2(header: &[u8]) -> Result<Addresses, HeaderError> {
    let head: &[u8; 16] = header
        .get(..16)
        .and_then(|h| h.try_into().ok())
        .ok_or(HeaderError::BadV2("shorter than 16 bytes"))?;
    if head[..12] != V2_SIGNATURE {
        return Err(HeaderError::Missing);
    }
    if v2_len(head)? != header.len() {
        return Err(HeaderError::BadV2("the length field does not match"));
    }
    let payload = &header[16..];
    match head[12] & 0x0f {
        0 => return Ok(None), // LOCAL: health checks of the sender
        1 => {}
        _ => return Err(HeaderError::BadV2("command is neither LOCAL nor PROXY")),
    }
    let port = |at: usize| u16::from_be_bytes([payload[at], payload[at + 1]]);
    match head[13] {
        0x11 | 0x12 => {
            if payload.len() < 12 {
                return Err(HeaderError::BadV2("too short for IPv4 addresses"));
            }
            let ip = |at: usize| {
                IpAddr::V4(Ipv4Addr::new(
                    payload[at],
                    payload[at + 1],
                    payload[at + 2],
                    payload[at + 3],
                ))
            };
            Ok(Some((
                SocketAddr::new(ip(0), port(8)),
                SocketAddr::new(ip(4), port(10)),
            )))
        }
        0x21 | 0x22 => {
            if payload.len() < 36 {
                return Err(HeaderError::BadV2("too short for IPv6 addresses"));
            }
            let ip = |at: usize| {
                let mut octets = [0u8; 16];
                octets.copy_from_slice(&payload[at..at + 16]);
                IpAddr::V6(Ipv6Addr::from(octets))
            };
            Ok(Some((
                SocketAddr::new(ip(0), port(32)),
                SocketAddr::new(ip(16), port(34)),
            )))
        }
        // UNSPEC and unix sockets: keep the connection's addresses.
        _ => Ok(None),
    }
}

/// Reads one PROXY header (v1 or v2) from the start of `stream`, consuming
/// exactly its bytes, within `limit`.
pub async fn read_header<S>(stream: &mut S, limit: Duration) -> Result<Addresses, HeaderError>
where
    S: tokio::io::AsyncRead + Unpin,
{
    match tokio::time::timeout(limit, read_header_inner(stream)).await {
        Ok(result) => result,
        Err(_) => Err(HeaderError::Timeout(limit)),
    }
}

async fn read_header_inner<S>(stream: &mut S) -> Result<Addresses, HeaderError>
where
    S: tokio::io::AsyncRead + Unpin,
{
    // Neither header is shorter than 15 bytes ("PROXY UNKNOWN\r\n").
    let mut buf = vec![0u8; 15];
    read_exact(stream, &mut buf).await?;
    if buf[..12] == V2_SIGNATURE {
        buf.resize(16, 0);
        read_exact(stream, &mut buf[15..]).await?;
        let head: [u8; 16] = buf[..16].try_into().expect("16 bytes");
        let total = v2_len(&head)?;
        buf.resize(total, 0);
        read_exact(stream, &mut buf[16..]).await?;
        return parse_v2(&buf);
    }
    if !buf.starts_with(b"PROXY ") {
        return Err(HeaderError::Missing);
    }
    // One byte at a time so that nothing after the line is consumed.
    while !buf.ends_with(b"\r\n") {
        if buf.len() >= V1_MAX {
            return Err(HeaderError::BadV1("no CRLF within 107 bytes"));
        }
        let mut byte = [0u8];
        read_exact(stream, &mut byte).await?;
        buf.push(byte[0]);
    }
    parse_v1(&buf)
}

async fn read_exact<S>(stream: &mut S, buf: &mut [u8]) -> Result<(), HeaderError>
where
    S: tokio::io::AsyncRead + Unpin,
{
    match stream.read_exact(buf).await {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(HeaderError::Truncated),
        Err(e) => Err(HeaderError::Io(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn v1_round_trip() {
        let header = v1_header(addr("192.0.2.1:51000"), addr("127.0.0.1:443"));
        assert_eq!(header, b"PROXY TCP4 192.0.2.1 127.0.0.1 51000 443\r\n");
        assert_eq!(
            parse_v1(&header),
            Ok(Some((addr("192.0.2.1:51000"), addr("127.0.0.1:443"))))
        );
        let header = v1_header(addr("[2001:db8::1]:1"), addr("[::1]:2"));
        assert_eq!(header, b"PROXY TCP6 2001:db8::1 ::1 1 2\r\n");
        assert_eq!(parse_v1(b"PROXY UNKNOWN\r\n"), Ok(None));
        assert_eq!(parse_v1(b"PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n"), Ok(None));
    }

    #[test]
    fn checks_send_their_own_addresses_or_local() {
        let mut o = ServerOptions {
            send_proxy: Some(true),
            ..ServerOptions::default()
        };
        let (local, server) = (addr("127.0.0.1:40000"), addr("127.0.0.2:80"));
        assert_eq!(
            check_header(&o, local, server).unwrap(),
            b"PROXY TCP4 127.0.0.1 127.0.0.2 40000 80\r\n"
        );
        o.send_proxy_v2 = Some(true);
        let v2 = check_header(&o, local, server).unwrap();
        assert_eq!(v2.len(), 16);
        assert_eq!(parse_v2(&v2), Ok(None));
        o.check_port = Some(8080);
        assert_eq!(check_header(&o, local, server), None);
        assert_eq!(check_header(&ServerOptions::default(), local, server), None);
    }

    #[test]
    fn mixed_families_are_written_as_ipv6() {
        let header = v1_header(addr("192.0.2.1:5"), addr("[::1]:6"));
        assert_eq!(header, b"PROXY TCP6 ::ffff:192.0.2.1 ::1 5 6\r\n");
        // An IPv4 client seen on an IPv6 socket stays IPv4.
        let header = v1_header(addr("[::ffff:192.0.2.1]:5"), addr("127.0.0.1:6"));
        assert_eq!(header, b"PROXY TCP4 192.0.2.1 127.0.0.1 5 6\r\n");
    }

    #[test]
    fn v1_refuses_malformed_lines() {
        for bad in [
            &b"PROXY TCP4 192.0.2.1 127.0.0.1 51000\r\n"[..],
            b"PROXY TCP4 192.0.2.1 127.0.0.1 51000 443 x\r\n",
            b"PROXY TCP4 ::1 127.0.0.1 1 2\r\n",
            b"PROXY TCP6 192.0.2.1 ::1 1 2\r\n",
            b"PROXY TCP4 192.0.2.1 127.0.0.1 65536 1\r\n",
            b"PROXY TCP4 192.0.2.1 127.0.0.1 01 1\r\n",
            b"PROXY TCP4 192.0.2.1 127.0.0.1 +1 1\r\n",
            b"PROXY UDP4 192.0.2.1 127.0.0.1 1 1\r\n",
            b"PROXY TCP4 192.0.2.1  127.0.0.1 1 1\r\n",
            b"PROXY TCP4 192.0.2.1 127.0.0.1 1 1\n",
        ] {
            assert!(
                matches!(parse_v1(bad), Err(HeaderError::BadV1(_))),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        assert_eq!(parse_v1(b"GET / HTTP/1.1\r\n"), Err(HeaderError::Missing));
    }

    #[test]
    fn v2_round_trip() {
        let header = v2_header(addr("192.0.2.1:51000"), addr("127.0.0.1:443"));
        assert_eq!(header.len(), 28);
        assert_eq!(
            parse_v2(&header),
            Ok(Some((addr("192.0.2.1:51000"), addr("127.0.0.1:443"))))
        );
        let header = v2_header(addr("[2001:db8::7]:9"), addr("[::1]:443"));
        assert_eq!(header.len(), 52);
        assert_eq!(
            parse_v2(&header),
            Ok(Some((addr("[2001:db8::7]:9"), addr("[::1]:443"))))
        );
    }

    #[test]
    fn v2_local_unspec_and_tlvs() {
        let mut local = V2_SIGNATURE.to_vec();
        local.extend([0x20, 0x00, 0x00, 0x00]);
        assert_eq!(parse_v2(&local), Ok(None));
        // PROXY over IPv4 with a trailing TLV (PP2_TYPE_AUTHORITY).
        let mut header = v2_header(addr("192.0.2.1:1"), addr("127.0.0.1:2"));
        header[15] += 6;
        header.extend([0x02, 0x00, 0x03, b'a', b'.', b'b']);
        assert_eq!(
            parse_v2(&header),
            Ok(Some((addr("192.0.2.1:1"), addr("127.0.0.1:2"))))
        );
    }

    #[test]
    fn v2_refuses_malformed_headers() {
        let good = v2_header(addr("192.0.2.1:1"), addr("127.0.0.1:2"));
        let mut bad_version = good.clone();
        bad_version[12] = 0x11;
        assert!(matches!(parse_v2(&bad_version), Err(HeaderError::BadV2(_))));
        let mut bad_command = good.clone();
        bad_command[12] = 0x2f;
        assert!(matches!(parse_v2(&bad_command), Err(HeaderError::BadV2(_))));
        let mut short = good.clone();
        short[15] = 4;
        short.truncate(20);
        assert!(matches!(parse_v2(&short), Err(HeaderError::BadV2(_))));
        assert!(matches!(parse_v2(&good[..27]), Err(HeaderError::BadV2(_))));
    }

    #[tokio::test]
    async fn reads_exactly_the_header() {
        let mut input: &[u8] = b"PROXY TCP4 192.0.2.9 127.0.0.1 4000 80\r\nGET / HTTP/1.1\r\n";
        let got = read_header(&mut input, Duration::from_secs(1)).await;
        assert_eq!(
            got,
            Ok(Some((addr("192.0.2.9:4000"), addr("127.0.0.1:80"))))
        );
        assert_eq!(input, b"GET / HTTP/1.1\r\n");
        let mut v2 = v2_header(addr("192.0.2.1:1"), addr("127.0.0.1:2"));
        v2.extend(b"rest");
        let mut input: &[u8] = &v2;
        assert!(read_header(&mut input, Duration::from_secs(1))
            .await
            .is_ok());
        assert_eq!(input, b"rest");
    }

    #[tokio::test]
    async fn refuses_missing_truncated_and_slow_headers() {
        let mut input: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        assert_eq!(
            read_header(&mut input, Duration::from_secs(1)).await,
            Err(HeaderError::Missing)
        );
        let mut input: &[u8] = b"PROXY TCP4 192.0.2.9";
        assert_eq!(
            read_header(&mut input, Duration::from_secs(1)).await,
            Err(HeaderError::Truncated)
        );
        let long = format!("PROXY TCP4 {}\r\n", "1".repeat(120));
        let mut input: &[u8] = long.as_bytes();
        assert!(matches!(
            read_header(&mut input, Duration::from_secs(1)).await,
            Err(HeaderError::BadV1(_))
        ));
        let (mut client, _server) = tokio::io::duplex(64);
        assert_eq!(
            read_header(&mut client, Duration::from_millis(50)).await,
            Err(HeaderError::Timeout(Duration::from_millis(50)))
        );
    }

    #[test]
    fn parsers_never_panic() {
        use proptest::prelude::*;
        proptest!(|(bytes in proptest::collection::vec(any::<u8>(), 0..200))| {
            let _ = parse_v1(&bytes);
            let _ = parse_v2(&bytes);
            let mut v2 = V2_SIGNATURE.to_vec();
            v2.extend(&bytes);
            let _ = parse_v2(&v2);
        });
    }
}
