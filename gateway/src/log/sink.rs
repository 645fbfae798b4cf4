//! Where log lines go: a UDP syslog server, a unix datagram socket such as
//! `/dev/log`, or the process's stdout/stderr. Sending never blocks the
//! request path: a full socket buffer drops the line, as HAProxy does.

use std::io::Write;
use std::net::{SocketAddr, UdpSocket};
use std::os::unix::net::UnixDatagram;
use std::time::SystemTime;

use switchyard_grammar::ast::address::{Host, Port};
use switchyard_grammar::ast::log::{LogDestination, LogTarget, LogWireFormat};

use super::syslog::{facility_code, level_code, Frame};

enum Destination {
    Udp(UdpSocket),
    Unix { socket: UnixDatagram, path: String },
    Stdout,
    Stderr,
}

/// One `log` line of the configuration, ready to send.
pub struct LogSink {
    destination: Destination,
    format: LogWireFormat,
    facility: u8,
    /// Messages above this severity (numerically) are not sent.
    max_level: u8,
    /// Messages below this severity are raised to it.
    min_level: u8,
    max_len: usize,
    tag: String,
    hostname: String,
    /// `sample RANGES:SIZE`, and how many messages it has seen.
    sample: Option<(
        switchyard_grammar::ast::log::LogSample,
        std::sync::atomic::AtomicU64,
    )>,
}

#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("cannot open log socket for {target}: {source}")]
    Socket {
        target: String,
        source: std::io::Error,
    },
    #[error("log target {0} has no usable address")]
    Address(String),
}

impl LogSink {
    pub fn open(target: &LogTarget, tag: &str, hostname: &str) -> Result<LogSink, SinkError> {
        let destination = match &target.destination {
            LogDestination::Stdout => Destination::Stdout,
            LogDestination::Stderr => Destination::Stderr,
            LogDestination::Udp(address) => {
                let ip = match &address.host {
                    Host::Ip(ip) => *ip,
                    // Nothing before the colon (`log :514`, or `log ${A}:${P}`
                    // with both unset): HAProxy sends to 0.0.0.0, which the
                    // kernel delivers to this host.
                    Host::Any => std::net::Ipv4Addr::UNSPECIFIED.into(),
                    _ => return Err(SinkError::Address(address.word.text.clone())),
                };
                let port = match address.port {
                    Port::Range(p, _) => p,
                    _ => 514,
                };
                let remote = SocketAddr::new(ip, port);
                let local: SocketAddr = if ip.is_ipv4() {
                    "0.0.0.0:0".parse().expect("literal")
                } else {
                    "[::]:0".parse().expect("literal")
                };
                let socket = UdpSocket::bind(local)
                    .and_then(|s| s.connect(remote).map(|_| s))
                    .and_then(|s| s.set_nonblocking(true).map(|_| s))
                    .map_err(|source| SinkError::Socket {
                        target: address.word.text.clone(),
                        source,
                    })?;
                Destination::Udp(socket)
            }
            LogDestination::Unix(address) => {
                let Host::Path(path) = &address.host else {
                    return Err(SinkError::Address(address.word.text.clone()));
                };
                let socket = UnixDatagram::unbound()
                    .and_then(|s| s.set_nonblocking(true).map(|_| s))
                    .map_err(|source| SinkError::Socket {
                        target: path.clone(),
                        source,
                    })?;
                Destination::Unix {
                    socket,
                    path: path.clone(),
                }
            }
        };
        Ok(LogSink {
            destination,
            format: target.format,
            facility: facility_code(&target.facility),
            max_level: target.level.as_deref().map(level_code).unwrap_or(7),
            min_level: target.minlevel.as_deref().map(level_code).unwrap_or(0),
            max_len: target.max_len.map(|n| n as usize).unwrap_or(1024),
            tag: tag.to_owned(),
            hostname: hostname.to_owned(),
            sample: target
                .sample
                .clone()
                .map(|sample| (sample, std::sync::atomic::AtomicU64::new(0))),
        })
    }

    /// The sinks of `proxy`'s `log` lines, the global ones included with
    /// `log global`; empty when it logs nowhere.
    pub fn open_for_proxy(
        proxy: &switchyard_grammar::ast::proxy::Proxy,
        global: &switchyard_grammar::ast::global::Global,
    ) -> Result<Vec<LogSink>, SinkError> {
        let mut targets: Vec<_> = proxy.logs.targets.iter().collect();
        if proxy.logs.global.is_some() {
            targets.extend(global.logs.iter());
        }
        let tag = global.log_tag.clone().unwrap_or_else(|| "haproxy".into());
        let hostname = global.log_send_hostname.clone().unwrap_or_default();
        targets
            .into_iter()
            .map(|t| LogSink::open(t, &tag, &hostname))
            .collect()
    }

    /// Sends `message` at severity `level` (0 emerg … 7 debug).
    pub fn send(&self, level: u8, message: &str) {
        if level > self.max_level {
            return;
        }
        if let Some((sample, seen)) = &self.sample {
            let n = seen.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if !sample.takes(n) {
                return;
            }
        }
        let frame = Frame {
            format: self.format,
            facility: self.facility,
            level: level.max(self.min_level),
            hostname: &self.hostname,
            tag: &self.tag,
            pid: std::process::id(),
            time: SystemTime::now(),
        };
        let mut line = frame.encode(message);
        if line.len() > self.max_len {
            let mut cut = self.max_len;
            while !line.is_char_boundary(cut) {
                cut -= 1;
            }
            line.truncate(cut);
        }
        match &self.destination {
            Destination::Udp(socket) => {
                let _ = socket.send(line.as_bytes());
            }
            Destination::Unix { socket, path } => {
                let _ = socket.send_to(line.as_bytes(), path);
            }
            Destination::Stdout => {
                line.push('\n');
                let _ = std::io::stdout().lock().write_all(line.as_bytes());
            }
            Destination::Stderr => {
                line.push('\n');
                let _ = std::io::stderr().lock().write_all(line.as_bytes());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_grammar::Environment;

    fn target(text: &str) -> LogTarget {
        let words =
            switchyard_grammar::lexer::lex_line(text, Default::default(), 1, &Environment::new())
                .unwrap();
        LogTarget::parse(&words[0], &words[1..]).unwrap()
    }

    /// A UDP socket on loopback to send lines to, and its port.
    fn receiver() -> (UdpSocket, u16) {
        let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
        receiver
            .set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let port = receiver.local_addr().unwrap().port();
        (receiver, port)
    }

    #[test]
    fn sends_rfc3164_over_udp_to_a_real_receiver() {
        let (receiver, port) = receiver();
        let sink = LogSink::open(
            &target(&format!("log 127.0.0.1:{port} local2 info")),
            "switchyard",
            "",
        )
        .unwrap();
        sink.send(7, "debug is filtered out");
        sink.send(6, "hello");
        let mut buf = [0u8; 2048];
        let n = receiver.recv(&mut buf).unwrap();
        let text = std::str::from_utf8(&buf[..n]).unwrap();
        assert!(text.starts_with("<150>"), "{text}");
        assert!(
            text.ends_with(&format!("switchyard[{}]: hello", std::process::id())),
            "{text}"
        );
    }

    /// `sample 1,3:5`: of every five messages, the first and the third
    /// (log/load_balancing.vtc).
    #[test]
    fn sampled_targets_take_their_positions_of_every_window() {
        let (receiver, port) = receiver();
        let sink = LogSink::open(
            &target(&format!(
                "log 127.0.0.1:{port} sample 1,3:5 format raw local0"
            )),
            "switchyard",
            "",
        )
        .unwrap();
        for n in 1..=10 {
            sink.send(6, &format!("m{n}"));
        }
        let mut got = Vec::new();
        let mut buf = [0u8; 64];
        for _ in 0..4 {
            let n = receiver.recv(&mut buf).unwrap();
            got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
        assert_eq!(got, ["m1", "m3", "m6", "m8"]);
        let bad = |text: &str| {
            let words = switchyard_grammar::lexer::lex_line(
                text,
                Default::default(),
                1,
                &Environment::new(),
            )
            .unwrap();
            LogTarget::parse(&words[0], &words[1..])
                .unwrap_err()
                .message
        };
        assert!(bad("log 127.0.0.1 sample 6:5 local0").contains("not a range within 1-5"));
        assert!(bad("log 127.0.0.1 sample 1,2 local0").contains("no ':SIZE'"));
    }

    #[test]
    fn the_default_port_is_514() {
        let t = target("log 127.0.0.1 local0");
        assert!(matches!(&t.destination, LogDestination::Udp(a) if a.port == Port::None));
    }
}
