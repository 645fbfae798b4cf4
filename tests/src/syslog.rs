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
