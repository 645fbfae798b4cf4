//! A real UDP syslog receiver on loopback, for the tests of log lines.

use std::net::UdpSocket;
use std::time::Duration;

pub struct SyslogReceiver {
    socket: UdpSocket,
    /// Where the gateway's `log 127.0.0.1:PORT …` line points.
    pub port: u16,
}

impl SyslogReceiver {
    pub fn start() -> SyslogReceiver {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let port = socket.local_addr().unwrap().port();
        SyslogReceiver { socket, port }
    }

    /// The next line received, within 5 seconds.
    pub fn next_line(&self) -> String {
        let mut buf = [0u8; 4096];
        let n = self.socket.recv(&mut buf).expect("a log line within 5 s");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }
}

impl SyslogReceiver {
    /// The next line as (severity, message): the message is what follows
    /// `TAG[PID]: `, without the newline HAProxy ends its datagrams with,
    /// and with a check's duration written `Nms` (it varies from run to
    /// run).
    pub fn next_event(&self) -> (u8, String) {
        let line = self.next_line();
        let pri: u16 = line
            .strip_prefix('<')
            .and_then(|rest| rest.split_once('>'))
            .and_then(|(pri, _)| pri.parse().ok())
            .unwrap_or_else(|| panic!("no priority in {line:?}"));
        let message = line
            .split_once("]: ")
            .map_or(line.as_str(), |(_, m)| m)
            .trim_end_matches('\n');
        ((pri % 8) as u8, without_check_duration(message))
    }
}

/// `check duration: 12ms` → `check duration: Nms`.
fn without_check_duration(message: &str) -> String {
    const KEY: &str = "check duration: ";
    match message.find(KEY) {
        None => message.to_owned(),
        Some(at) => {
            let start = at + KEY.len();
            let digits = message[start..]
                .bytes()
                .take_while(u8::is_ascii_digit)
                .count();
            format!("{}N{}", &message[..start], &message[start + digits..])
        }
    }
}

/// An httplog line with what varies from run to run masked, for comparing
/// with a line HAProxy sent for the same exchange: the syslog header but
/// the priority, the client port, the date and the timers.
pub fn comparable_httplog(line: &str) -> String {
    let (head, message) = line.split_once("]: ").unwrap_or(("", line));
    let priority = &head[..head.find('>').map_or(0, |i| i + 1)];
    let mut fields: Vec<String> = message
        .trim_end_matches('\n')
        .split(' ')
        .map(str::to_owned)
        .collect();
    fields[0] = format!("{}:PORT", fields[0].split(':').next().unwrap());
    fields[1] = "[DATE]".into();
    fields[4] = "TIMERS".into();
    format!("{priority} {}", fields.join(" "))
}
