//! Origin servers for end-to-end tests: real HTTP servers on loopback that
//! answer with their name and remember what they saw, so tests can assert on
//! what reached the origin and not only on what the client got.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// What an origin saw of one request.
#[derive(Debug, Clone)]
pub struct SeenRequest {
    pub method: String,
    pub uri: String,
    pub headers: Vec<(String, String)>,
    pub body_len: usize,
    pub peer: SocketAddr,
}

impl SeenRequest {
    /// All values of a header, in order.
    pub fn header_values(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

#[derive(Default)]
struct Shared {
    seen: Mutex<Vec<SeenRequest>>,
    connections: AtomicU64,
    open: Peak,
    in_flight: Peak,
}

/// A gauge that remembers its highest value: how many connections (or
/// requests) an origin held at once, to check a `maxconn` from the
/// server's side.
#[derive(Default)]
struct Peak {
    now: AtomicU64,
    max: AtomicU64,
}

impl Peak {
    fn enter(&self) -> PeakGuard<'_> {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.max.fetch_max(now, Ordering::SeqCst);
        PeakGuard(self)
    }
}

/// Leaves the gauge when dropped, however the connection or request ends.
struct PeakGuard<'a>(&'a Peak);

impl Drop for PeakGuard<'_> {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A running origin; stops when dropped.
pub struct Origin {
    pub name: String,
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl Origin {
    /// Starts an origin on an ephemeral loopback port.
    pub async fn start(name: &str) -> Origin {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        Origin::serve(name, listener)
    }

    /// Starts an origin on a given loopback address (to restart one).
    pub async fn start_on(name: &str, addr: SocketAddr) -> Origin {
        let listener = TcpListener::bind(addr).await.expect("bind loopback");
        Origin::serve(name, listener)
    }

    fn serve(name: &str, listener: TcpListener) -> Origin {
        let addr = listener.local_addr().expect("local addr");
        let shared = Arc::new(Shared::default());
        let (task_shared, task_name) = (shared.clone(), name.to_owned());
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, peer)) = listener.accept().await else {
                    continue;
                };
                task_shared.connections.fetch_add(1, Ordering::SeqCst);
                let (shared, name) = (task_shared.clone(), task_name.clone());
                tokio::spawn(async move {
                    let gauges = shared.clone();
                    let _open = gauges.open.enter();
                    let service = service_fn(move |req: Request<Incoming>| {
                        let (shared, name) = (shared.clone(), name.clone());
                        async move {
                            let _in_flight = shared.in_flight.enter();
                            Ok::<_, Infallible>(answer(&name, peer, req, &shared).await)
                        }
                    });
                    let _ = auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Origin {
            name: name.to_owned(),
            addr,
            shared,
            task,
        }
    }

    pub fn seen(&self) -> Vec<SeenRequest> {
        self.shared.seen.lock().unwrap().clone()
    }

    pub fn request_count(&self) -> usize {
        self.shared.seen.lock().unwrap().len()
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// The most connections this origin held open at once.
    pub fn peak_connections(&self) -> u64 {
        self.shared.open.max.load(Ordering::SeqCst)
    }

    /// The most requests this origin was answering at once.
    pub fn peak_requests(&self) -> u64 {
        self.shared.in_flight.max.load(Ordering::SeqCst)
    }

    /// Stops listening (existing connections end with the task).
    pub fn stop(self) -> SocketAddr {
        self.task.abort();
        self.addr
    }
}

impl Drop for Origin {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer(
    name: &str,
    peer: SocketAddr,
    req: Request<Incoming>,
    shared: &Shared,
) -> Response<OriginBody> {
    let (parts, body) = req.into_parts();
    // Count the body without keeping it: large uploads stay cheap.
    let mut body_len = 0usize;
    let mut body = body;
    while let Some(Ok(frame)) = body.frame().await {
        if let Some(data) = frame.data_ref() {
            body_len += data.len();
        }
    }
    let seen = SeenRequest {
        method: parts.method.to_string(),
        uri: parts.uri.to_string(),
        headers: parts
            .headers
            .iter()
            .map(|(n, v)| {
                (
                    n.to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body_len,
        peer,
    };
    shared.seen.lock().unwrap().push(seen);
    // `?sleep=MS` delays the answer (queueing and timeout tests).
    if let Some(ms) = parts
        .uri
        .query()
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("sleep=")))
        .and_then(|v| v.parse::<u64>().ok())
    {
        tokio::time::sleep(std::time::Duration::from_millis(ms.min(10_000))).await;
    }
    // `?stall=MS` sends the name, then nothing for MS, then "end\n"
    // (body inactivity tests).
    let stall = parts
        .uri
        .query()
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("stall=")))
        .and_then(|v| v.parse::<u64>().ok())
        .map(|ms| std::time::Duration::from_millis(ms.min(10_000)));
    let body = match stall {
        None => OriginBody::Full(Full::new(Bytes::from(format!("{name}\n")))),
        Some(pause) => OriginBody::Stalled {
            first: Some(Bytes::from(format!("{name}\n"))),
            pause: Box::pin(tokio::time::sleep(pause)),
            last: Some(Bytes::from_static(b"end\n")),
        },
    };
    let mut response = Response::new(body);
    response
        .headers_mut()
        .insert("x-served-by", http::HeaderValue::from_str(name).unwrap());
    if let Some(cookie) = parts
        .uri
        .query()
        .and_then(|q| q.strip_prefix("set-cookie="))
    {
        response
            .headers_mut()
            .insert("set-cookie", http::HeaderValue::from_str(cookie).unwrap());
    }
    response
}

/// An origin's response body: whole, or stalled halfway.
pub enum OriginBody {
    Full(Full<Bytes>),
    Stalled {
        first: Option<Bytes>,
        pause: std::pin::Pin<Box<tokio::time::Sleep>>,
        last: Option<Bytes>,
    },
}

impl hyper::body::Body for OriginBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Infallible>>> {
        use std::future::Future;
        use std::task::Poll;
        match &mut *self {
            OriginBody::Full(full) => std::pin::Pin::new(full).poll_frame(cx),
            OriginBody::Stalled { first, pause, last } => {
                if let Some(first) = first.take() {
                    return Poll::Ready(Some(Ok(hyper::body::Frame::data(first))));
                }
                if pause.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                Poll::Ready(last.take().map(|b| Ok(hyper::body::Frame::data(b))))
            }
        }
    }

    // A whole body keeps its length, so the answer has a Content-Length.
    fn size_hint(&self) -> hyper::body::SizeHint {
        match self {
            OriginBody::Full(full) => full.size_hint(),
            OriginBody::Stalled { .. } => hyper::body::SizeHint::default(),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            OriginBody::Full(full) => full.is_end_stream(),
            OriginBody::Stalled { last, .. } => last.is_none(),
        }
    }
}
