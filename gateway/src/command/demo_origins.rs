//! `switchyard demo`: three small origin servers inside the process, and the
//! gateway in front of them with `fixtures/demo.cfg` (or a built-in copy), so
//! that a fresh machine can try routing, stickiness and failover with curl.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// The demo configuration, compiled into the binary so `switchyard demo`
/// works from any directory.
pub const DEMO_CONFIG: &str = include_str!("../../../fixtures/demo.cfg");

/// The demo's origins: name and address, as `fixtures/demo.cfg` names them.
pub const ORIGINS: &[(&str, &str)] = &[
    ("shop1", "127.0.0.1:9101"),
    ("shop2", "127.0.0.1:9102"),
    ("blog1", "127.0.0.1:9103"),
];

/// Runs one origin until the process ends. `GET /demo/stop?seconds=N`
/// closes its listener for N seconds (default 20) to show failover.
pub async fn run_origin(name: &'static str, addr: SocketAddr) -> std::io::Result<()> {
    loop {
        let listener = TcpListener::bind(addr).await?;
        let stop = Arc::new(Notify::new());
        let pause = Arc::new(std::sync::Mutex::new(Duration::from_secs(20)));
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                _ = stop.notified() => break,
            };
            let Ok((stream, peer)) = accepted else {
                continue;
            };
            let (stop, pause) = (stop.clone(), pause.clone());
            tokio::spawn(async move {
                let service = service_fn(move |req: Request<Incoming>| {
                    let (stop, pause) = (stop.clone(), pause.clone());
                    async move { Ok::<_, Infallible>(answer(name, peer, &req, &stop, &pause)) }
                });
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
        drop(listener);
        let paused_for = *pause.lock().unwrap_or_else(|e| e.into_inner());
        tracing::info!("demo origin {name} stopped for {}s", paused_for.as_secs());
        tokio::time::sleep(paused_for).await;
        tracing::info!("demo origin {name} listening again on {addr}");
    }
}

fn answer(
    name: &str,
    peer: SocketAddr,
    req: &Request<Incoming>,
    stop: &Notify,
    pause: &std::sync::Mutex<Duration>,
) -> Response<Full<Bytes>> {
    if req.uri().path() == "/health" {
        return Response::new(Full::new(Bytes::from_static(b"ok\n")));
    }
    if req.uri().path() == "/demo/stop" {
        let seconds = req
            .uri()
            .query()
            .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("seconds=")))
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(20)
            .clamp(1, 600);
        *pause.lock().unwrap_or_else(|e| e.into_inner()) = Duration::from_secs(seconds);
        stop.notify_one();
        return Response::new(Full::new(Bytes::from(format!(
            "{name} stops listening for {seconds}s\n"
        ))));
    }
    let mut text = format!(
        "served by {name}\n\n{} {} {:?}\n",
        req.method(),
        req.uri(),
        req.version()
    );
    for (header, value) in req.headers() {
        text.push_str(&format!(
            "{header}: {}\n",
            String::from_utf8_lossy(value.as_bytes())
        ));
    }
    text.push_str(&format!("\n(connection from {peer})\n"));
    let mut response = Response::new(Full::new(Bytes::from(text)));
    response.headers_mut().insert(
        "content-type",
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// What to try, printed when the demo starts.
pub const GUIDE: &str = "\
Switchyard demo: gateway on http://127.0.0.1:8080, statistics on http://127.0.0.1:8404/stats (admin/admin)

  # routing by host name
  curl -H 'Host: shop.localhost' http://127.0.0.1:8080/
  curl -H 'Host: blog.localhost' http://127.0.0.1:8080/

  # a sticky session: the first answer sets SERVERID, later ones stay on that server
  curl -c /tmp/demo.cookies -b /tmp/demo.cookies -H 'Host: shop.localhost' http://127.0.0.1:8080/

  # failover: stop shop1 for 30 seconds, then keep asking; health checks take it out
  curl http://127.0.0.1:9101/demo/stop?seconds=30
  for i in 1 2 3 4 5 6; do curl -s -H 'Host: shop.localhost' http://127.0.0.1:8080/ | head -1; sleep 1; done

  # why did a request go there?
  switchyard explain -f fixtures/demo.cfg --url http://shop.localhost/
";
