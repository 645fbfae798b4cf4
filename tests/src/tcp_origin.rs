//! Plain TCP origins for the `mode tcp` tests: each connection is greeted
//! (with the origin's name, or an HTTP answer per request), and every byte
//! it received is kept, so tests can assert on what reached the origin
//! (a PROXY protocol header, the client's payload).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// How an origin answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Greeting {
    /// Writes `NAME\n` at once, then reads until the client is done.
    Name,
    /// Answers `200` with the body `NAME` to each request (a blank line
    /// ends one), keeping the connection open.
    Http,
}

pub struct TcpOrigin {
    pub name: String,
    pub addr: SocketAddr,
    received: Arc<Mutex<Vec<Vec<u8>>>>,
    task: JoinHandle<()>,
}

impl TcpOrigin {
    pub async fn start(name: &str, greeting: Greeting) -> TcpOrigin {
        Self::start_on(name, greeting, "127.0.0.1:0".parse().expect("literal")).await
    }

    /// Starts an origin on `addr` (an origin restarted where it was).
    pub async fn start_on(name: &str, greeting: Greeting, addr: SocketAddr) -> TcpOrigin {
        let listener = TcpListener::bind(addr).await.expect("bind loopback");
        let addr = listener.local_addr().unwrap();
        let received: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
        let (shared, label) = (received.clone(), name.to_owned());
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                let slot = {
                    let mut all = shared.lock().unwrap();
                    all.push(Vec::new());
                    all.len() - 1
                };
                let (shared, label) = (shared.clone(), label.clone());
                tokio::spawn(async move {
                    if greeting == Greeting::Name
                        && stream
                            .write_all(format!("{label}\n").as_bytes())
                            .await
                            .is_err()
                    {
                        return;
                    }
                    let mut buf = [0u8; 4096];
                    let mut answered = 0;
                    loop {
                        let n = match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => n,
                        };
                        let requests = {
                            let mut all = shared.lock().unwrap();
                            all[slot].extend_from_slice(&buf[..n]);
                            count(&all[slot], b"\r\n\r\n")
                        };
                        while greeting == Greeting::Http && answered < requests {
                            answered += 1;
                            let answer = format!(
                                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{label}",
                                label.len()
                            );
                            if stream.write_all(answer.as_bytes()).await.is_err() {
                                return;
                            }
                        }
                    }
                });
            }
        });
        TcpOrigin {
            name: name.to_owned(),
            addr,
            received,
            task,
        }
    }

    /// The bytes each connection received so far, in accept order.
    pub fn received(&self) -> Vec<Vec<u8>> {
        self.received.lock().unwrap().clone()
    }

    /// Stops accepting (connections are refused from now on).
    pub fn stop(self) -> SocketAddr {
        self.task.abort();
        self.addr
    }
}

impl Drop for TcpOrigin {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn count(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .filter(|w| *w == needle)
        .count()
}
