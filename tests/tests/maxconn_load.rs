//! Global and per-server `maxconn` under thousands of concurrent clients:
//! the origins never see more concurrent requests than their server's
//! `maxconn` (HAProxy: "in HTTP mode this parameter limits the number of
//! concurrent requests instead of the number of connections"), the gateway
//! never holds more client connections than the global `maxconn`, and every
//! client gets an answer: 200, or 503 once `timeout queue` has passed.
//! `SWITCHYARD_CLIENTS=10000` runs the figure of docs/reliability.md; the
//! suite runs 2,000.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use switchyard_e2e::gateway::{free_port, Gateway};
use switchyard_e2e::origin::Origin;
use switchyard_e2e::{settled, wait_until};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SERVER_MAXCONN: u64 = 20;
const QUEUE: Duration = Duration::from_secs(1);

/// Raises this process's soft open-file limit as far as the hard limit
/// allows; returns it.
fn raise_open_files(wanted: u64) -> u64 {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).expect("getrlimit");
    let target = wanted.min(hard).max(soft);
    setrlimit(Resource::RLIMIT_NOFILE, target, hard).expect("setrlimit within the hard limit");
    target
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// One client: its own connection, one request; the status and how long
/// the answer took.
async fn one_client(port: u16) -> Result<(u16, Duration), String> {
    let started = Instant::now();
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| format!("connect: {e}"))?;
    s.write_all(b"GET /?sleep=50 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .await
        .map_err(|e| format!("write: {e}"))?;
    let mut answer = Vec::new();
    s.read_to_end(&mut answer)
        .await
        .map_err(|e| format!("read: {e}"))?;
    let text = String::from_utf8_lossy(&answer);
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|t| t.get(..3))
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| format!("not an HTTP answer: {text:?}"))?;
    Ok((status, started.elapsed()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maxconn_holds_under_thousands_of_concurrent_clients() {
    let clients: usize = std::env::var("SWITCHYARD_CLIENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    // Clients, the origins' side of the server connections, and a margin.
    let limit = raise_open_files(clients as u64 + 1_000);
    assert!(
        limit >= clients as u64 + 200,
        "the open-file limit ({limit}) is too low for {clients} clients"
    );
    let global_maxconn = clients / 2;
    let (a, b) = (Origin::start("a").await, Origin::start("b").await);
    let port = free_port();
    let config = format!(
        "global\n    maxconn {global_maxconn}\n\
         defaults\n    mode http\n    timeout connect 5s\n    timeout client 60s\n    timeout server 60s\n    timeout queue {}ms\n\
         listen l\n    bind 127.0.0.1:{port}\n    balance roundrobin\n\
         \x20   server a {} maxconn {SERVER_MAXCONN}\n    server b {} maxconn {SERVER_MAXCONN}\n",
        QUEUE.as_millis(),
        a.addr,
        b.addr
    );
    let gw = Gateway::start(&config, format!("127.0.0.1:{port}").parse().unwrap());
    let pid = gw.pid();
    // Once start-up (and the start probe's connection) is over.
    let baseline = settled(
        "the gateway's descriptors",
        Duration::from_secs(10),
        0,
        || open_fds(pid) as u64,
    )
    .await as usize;

    // The gateway's descriptors, sampled while the load runs.
    let sampling = Arc::new(AtomicBool::new(true));
    let peak_fds = Arc::new(AtomicUsize::new(0));
    let sampler = {
        let (sampling, peak_fds, pid) = (sampling.clone(), peak_fds.clone(), gw.pid());
        std::thread::spawn(move || {
            while sampling.load(Ordering::SeqCst) {
                peak_fds.fetch_max(open_fds(pid), Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(10));
            }
        })
    };
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|_| tokio::spawn(one_client(port)))
        .collect();
    let mut outcomes = Vec::with_capacity(clients);
    for t in tasks {
        let outcome = tokio::time::timeout(Duration::from_secs(120), t)
            .await
            .expect("every client is answered: nothing hangs")
            .unwrap();
        outcomes.push(outcome);
    }
    let took = started.elapsed();
    sampling.store(false, Ordering::SeqCst);
    sampler.join().unwrap();

    let served = outcomes
        .iter()
        .filter(|o| matches!(o, Ok((200, _))))
        .count();
    let queued_out: Vec<Duration> = outcomes
        .iter()
        .filter_map(|o| match o {
            Ok((503, took)) => Some(*took),
            _ => None,
        })
        .collect();
    let other: Vec<_> = outcomes
        .iter()
        .filter(|o| !matches!(o, Ok((200 | 503, _))))
        .collect();
    let peak_fds = peak_fds.load(Ordering::SeqCst);
    eprintln!(
        "{clients} clients in {took:?}: {served} served, {} answered 503 after timeout queue, {} other; \
         origin peaks: requests a={} b={}, connections a={} b={}; gateway fds {baseline} -> peak {peak_fds} (global maxconn {global_maxconn})",
        queued_out.len(),
        other.len(),
        a.peak_requests(),
        b.peak_requests(),
        a.peak_connections(),
        b.peak_connections()
    );
    assert!(
        other.is_empty(),
        "{} neither 200 nor 503: {:?}",
        other.len(),
        &other[..other.len().min(10)]
    );
    assert!(served > 0, "some clients were served");
    assert!(
        a.peak_requests() <= SERVER_MAXCONN && b.peak_requests() <= SERVER_MAXCONN,
        "an origin saw more concurrent requests than its server's maxconn"
    );
    // A 503 comes from the queue: never before `timeout queue` ran out.
    assert!(
        queued_out
            .iter()
            .all(|t| *t >= QUEUE - Duration::from_millis(50)),
        "a 503 before timeout queue"
    );
    // Client connections held at once: the global limit, plus the
    // connections to the origins and the listeners' own descriptors.
    let server_side = (a.peak_connections() + b.peak_connections()) as usize;
    assert!(
        peak_fds <= baseline + global_maxconn + server_side + 16,
        "the gateway held {peak_fds} descriptors (baseline {baseline}, global maxconn {global_maxconn}, {server_side} to servers)"
    );
    // And once it is over, the descriptors go back down.
    wait_until(
        &format!("descriptors back to {baseline} + {server_side} + 4"),
        Duration::from_secs(10),
        || open_fds(pid) <= baseline + server_side + 4,
    )
    .await;
}
