//! Faults under load: origins that die, reset, answer garbage, stall or
//! never read, each while several clients keep sending requests. The
//! gateway must answer every request (served elsewhere, or HAProxy's
//! 502/504), never hang, and keep other traffic fast.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use switchyard_e2e::client::{client, client_without_keepalive, get, TestClient};
use switchyard_e2e::faulty_origin::{Fault, FaultyOrigin};
use switchyard_e2e::gateway::{free_port, Gateway};
use switchyard_e2e::origin::Origin;
use switchyard_e2e::origin_process::OriginProcess;
use switchyard_e2e::runtime_api::command;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// `timeout server` of the fault cases: long enough that a request to a
/// healthy server never comes near it, short enough to keep the test brief.
const TIMEOUT_SERVER: Duration = Duration::from_secs(2);

fn url(port: u16, path: &str) -> String {
    format!("http://127.0.0.1:{port}{path}")
}

/// `srv_op_state` of `server` in `show servers state` (0 is DOWN, 2 UP).
fn op_state(socket: &Path, server: &str) -> Option<String> {
    command(socket, "show servers state")
        .lines()
        .map(|l| l.split(' ').collect::<Vec<_>>())
        .find(|f| f.len() > 5 && f[3] == server)
        .map(|f| f[5].to_owned())
}

/// Runs `clients` tasks of `each` requests produced by `one`; returns the
/// outcomes (a status, or the error) in the order they finished.
async fn load<F, Fut>(clients: usize, each: usize, one: F) -> Vec<Result<u16, String>>
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Result<u16, String>> + Send,
{
    let mut tasks = Vec::new();
    for client in 0..clients {
        let one = one.clone();
        tasks.push(tokio::spawn(async move {
            let mut outcomes = Vec::with_capacity(each);
            for _ in 0..each {
                outcomes.push(one(client).await);
            }
            outcomes
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("a load task panicked"));
    }
    all
}

/// SIGKILL to an origin process while 8 clients send 1,200 GETs (half on
/// keep-alive connections, half on new ones, some of them in flight at the
/// origin at that moment): no request fails, and the checks mark the
/// server DOWN within fall × inter plus a tolerance for a shared machine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_origin_process_killed_mid_load_loses_no_request() {
    let mut s1 = OriginProcess::start(Path::new(env!("CARGO_BIN_EXE_origin")), "s1");
    let s2 = Origin::start("s2").await;
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("api.sock");
    let port = free_port();
    let (inter, fall) = (Duration::from_millis(200), 2u32);
    let config = format!(
        "global\n    stats socket {} level admin\n\
         defaults\n    mode http\n    timeout connect 1s\n    timeout client 10s\n    timeout server 5s\n\
         listen l\n    bind 127.0.0.1:{port}\n    retries 3\n    option redispatch\n    retry-on all-retryable-errors\n\
         \x20   server s1 {} check inter {}ms fall {fall} rise 2\n    server s2 {} check inter {}ms fall {fall} rise 2\n",
        socket.display(),
        s1.addr,
        inter.as_millis(),
        s2.addr,
        inter.as_millis()
    );
    let _gw = Gateway::start(&config, format!("127.0.0.1:{port}").parse().unwrap());
    assert_eq!(
        op_state(&socket, "s1").as_deref(),
        Some("2"),
        "s1 starts UP"
    );

    let (clients, each) = (8, 150);
    let done = Arc::new(AtomicUsize::new(0));
    let keep_alive = client();
    let fresh = client_without_keepalive();
    let counter = done.clone();
    let requests = tokio::spawn(load(clients, each, move |n| {
        let c: TestClient = if n % 2 == 0 {
            keep_alive.clone()
        } else {
            fresh.clone()
        };
        let counter = counter.clone();
        async move {
            // A few milliseconds at the origin: requests are in flight
            // there when it dies.
            let r = get(&c, &url(port, "/?sleep=3"), &[]).await;
            counter.fetch_add(1, Ordering::SeqCst);
            r.map(|r| r.status)
        }
    }));
    let deadline = Instant::now() + Duration::from_secs(60);
    while done.load(Ordering::SeqCst) < clients * each / 4 {
        assert!(Instant::now() < deadline, "the load did not progress");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    s1.kill();
    let killed = Instant::now();
    let socket_path = socket.clone();
    let down_after = tokio::task::spawn_blocking(move || loop {
        if op_state(&socket_path, "s1").as_deref() == Some("0") {
            return killed.elapsed();
        }
        assert!(killed.elapsed() < Duration::from_secs(10), "s1 never DOWN");
        std::thread::sleep(Duration::from_millis(10));
    })
    .await
    .unwrap();
    let at_kill = done.load(Ordering::SeqCst);
    let outcomes = tokio::time::timeout(Duration::from_secs(120), requests)
        .await
        .expect("the load finishes")
        .unwrap();
    let failed: Vec<_> = outcomes.iter().filter(|o| **o != Ok(200)).collect();
    eprintln!(
        "{} requests, s1 killed after {at_kill}, DOWN after {down_after:?}, failed: {}",
        outcomes.len(),
        failed.len()
    );
    assert_eq!(outcomes.len(), clients * each);
    assert!(failed.is_empty(), "failed requests: {failed:?}");
    assert!(at_kill < clients * each, "s1 died before the load ended");
    // After `fall` failed checks: not before the second of them can run
    // ((fall - 1) × inter after the kill, the first one failing at once at
    // the earliest), and within fall × inter plus a check's own time and
    // a loaded machine's delays (the load runs on the same two cores).
    let (earliest, limit) = (inter * (fall - 1), inter * fall + Duration::from_secs(3));
    assert!(
        down_after >= earliest - Duration::from_millis(20),
        "DOWN after {down_after:?}, before {fall} checks could fail"
    );
    assert!(down_after <= limit, "DOWN after {down_after:?} > {limit:?}");
    assert!(s2.request_count() > clients * each / 2);
    let stat = command(&socket, "show stat");
    let row = stat
        .lines()
        .find(|l| l.starts_with("l,s1,"))
        .expect("s1 in show stat");
    assert!(row.contains(",DOWN,"), "{row}");
}

/// One misbehaving origin under load.
struct Case {
    fault: Fault,
    /// A healthy server beside the faulty one in the same backend.
    healthy_peer: bool,
    /// The backend's `retry-on` (with `retries 3` and `option redispatch`).
    retry_on: &'static str,
    /// What each request to the faulty backend may get.
    statuses: &'static [u16],
}

impl Case {
    /// Requests per client (4 clients): fewer when each waits out
    /// `timeout server`.
    fn each(&self) -> usize {
        match (self.fault, self.healthy_peer) {
            (Fault::Stall, _) => 2,
            (_, true) => 50,
            (_, false) => 25,
        }
    }
}

const fn case(
    fault: Fault,
    healthy_peer: bool,
    retry_on: &'static str,
    statuses: &'static [u16],
) -> Case {
    Case {
        fault,
        healthy_peer,
        retry_on,
        statuses,
    }
}

const PEER: bool = true;
const ALONE: bool = false;

const CASES: &[Case] = &[
    // Retried, the last time elsewhere (`option redispatch`).
    case(Fault::ResetOnAccept, PEER, "all-retryable-errors", &[200]),
    // Alone, the retries fail too. The RST races the connect: seen while
    // connecting it is a connection failure (503), after the request was
    // sent a broken answer (502). HAProxy 2.6.12 gives the same mix (27
    // times 502 and 3 times 503 in 30 tries on this machine).
    case(
        Fault::ResetOnAccept,
        ALONE,
        "all-retryable-errors",
        &[502, 503],
    ),
    case(Fault::ResetAfterRequest, PEER, "empty-response", &[200]),
    case(
        Fault::ResetAfterRequest,
        ALONE,
        "all-retryable-errors",
        &[502],
    ),
    case(Fault::Garbage, ALONE, "conn-failure", &[502]),
    // `junk-response` retries a garbage answer, the last time elsewhere.
    case(Fault::Garbage, PEER, "junk-response", &[200]),
    // No answer within `timeout server`: 504, not retried (`retry-on
    // response-timeout` is not asked for).
    case(Fault::Stall, ALONE, "conn-failure", &[504]),
];

/// Every case of `CASES`: a frontend sends `/other…` to a healthy backend
/// and the rest to the faulty one; while the clients load the faulty
/// backend, a bystander keeps asking the healthy one and must stay fast.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn misbehaving_origins_get_retried_or_haproxys_error_and_others_stay_fast() {
    for case in CASES {
        let faulty = FaultyOrigin::start(case.fault).await;
        let peer = Origin::start("peer").await;
        let other = Origin::start("other").await;
        let port = free_port();
        let peer_line = if case.healthy_peer {
            format!("    server peer {}\n", peer.addr)
        } else {
            String::new()
        };
        let config = format!(
            "defaults\n    mode http\n    timeout connect 1s\n    timeout client 10s\n    timeout server {}ms\n\
             frontend fe\n    bind 127.0.0.1:{port}\n    use_backend other if {{ path_beg /other }}\n    default_backend faulty\n\
             backend faulty\n    retries 3\n    option redispatch\n    retry-on {}\n    server bad {}\n{peer_line}\
             backend other\n    server o {}\n",
            TIMEOUT_SERVER.as_millis(),
            case.retry_on,
            faulty.addr,
            other.addr
        );
        let gw = Gateway::start(&config, format!("127.0.0.1:{port}").parse().unwrap());
        let bystander = Bystander::start(port);
        let c = client_without_keepalive();
        let started = Instant::now();
        let outcomes = load(4, case.each(), move |_| {
            let c = c.clone();
            async move { get(&c, &url(port, "/"), &[]).await.map(|r| r.status) }
        })
        .await;
        let took = started.elapsed();
        let (answered, slowest) = bystander.stop().await;
        let wrong: Vec<_> = outcomes
            .iter()
            .filter(|o| !o.as_ref().is_ok_and(|s| case.statuses.contains(s)))
            .collect();
        eprintln!(
            "{:?} (peer: {}): {} requests in {took:?}, {} not {:?}; bystander {answered} answers, slowest {slowest:?}",
            case.fault,
            case.healthy_peer,
            outcomes.len(),
            wrong.len(),
            case.statuses
        );
        assert!(
            wrong.is_empty(),
            "{:?} (peer: {}): {wrong:?}",
            case.fault,
            case.healthy_peer
        );
        assert!(faulty.accepted() > 0, "{:?}: the fault was met", case.fault);
        if case.healthy_peer {
            assert!(peer.request_count() > 0);
        }
        assert_bystander_fast(answered, slowest);
        // The gateway let go of every connection it gave up on (a stalled
        // one used to stay open, with its task, until the server closed it).
        let deadline = Instant::now() + Duration::from_secs(3);
        while faulty.open() > 0 {
            assert!(
                Instant::now() < deadline,
                "{:?}: {} connections still open at the origin",
                case.fault,
                faulty.open()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        drop(gw);
    }
}

/// An origin that never reads, sent large POST bodies by 4 clients: each
/// gets a 504 or a closed connection after `timeout server`, none hangs,
/// and other traffic stays fast.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_origin_that_never_reads_a_large_body_is_given_up_after_timeout_server() {
    let faulty = FaultyOrigin::start(Fault::NeverRead).await;
    let other = Origin::start("other").await;
    let port = free_port();
    let config = format!(
        "defaults\n    mode http\n    timeout connect 1s\n    timeout client 10s\n    timeout server {}ms\n\
         frontend fe\n    bind 127.0.0.1:{port}\n    use_backend other if {{ path_beg /other }}\n    default_backend faulty\n\
         backend faulty\n    retries 3\n    option redispatch\n    retry-on all-retryable-errors\n    server bad {}\n\
         backend other\n    server o {}\n",
        TIMEOUT_SERVER.as_millis(),
        faulty.addr,
        other.addr
    );
    let _gw = Gateway::start(&config, format!("127.0.0.1:{port}").parse().unwrap());
    let bystander = Bystander::start(port);
    let outcomes = load(4, 2, move |_| upload_to_a_server_that_never_reads(port)).await;
    let (answered, slowest) = bystander.stop().await;
    eprintln!(
        "never-read uploads: {outcomes:?}; bystander {answered} answers, slowest {slowest:?}"
    );
    for outcome in &outcomes {
        match outcome {
            Ok(504) => {}
            Ok(status) => panic!("an upload to a server that never reads got {status}"),
            // The gateway may close while the client is still writing.
            Err(e) => assert!(e.starts_with("closed"), "{e}"),
        }
    }
    assert!(faulty.accepted() > 0);
    assert_bystander_fast(answered, slowest);
}

/// Sends a 64 MiB POST (more than loopback socket buffers hold) and reads
/// the answer; `Ok(status)`, or `Err("closed …")` if the connection ended
/// first. Panics past `timeout server` + 5 s: that is a hang.
async fn upload_to_a_server_that_never_reads(port: u16) -> Result<u16, String> {
    const BODY: usize = 64 << 20;
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| e.to_string())?;
    let (mut read, mut write) = stream.into_split();
    let started = Instant::now();
    let writer = tokio::spawn(async move {
        let head = format!("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: {BODY}\r\n\r\n");
        write.write_all(head.as_bytes()).await?;
        let chunk = vec![b'x'; 64 << 10];
        for _ in 0..BODY / chunk.len() {
            write.write_all(&chunk).await?;
        }
        Ok::<_, std::io::Error>(())
    });
    let mut answer = Vec::new();
    let limit = TIMEOUT_SERVER + Duration::from_secs(5);
    let read = tokio::time::timeout(limit, read.read_to_end(&mut answer))
        .await
        .expect("the gateway answers or closes: no hang");
    writer.abort();
    let took = started.elapsed();
    assert!(
        took >= TIMEOUT_SERVER - Duration::from_millis(100),
        "given up after {took:?}, before timeout server"
    );
    let text = String::from_utf8_lossy(&answer);
    match text.split(' ').nth(1).and_then(|s| s.parse().ok()) {
        Some(status) if text.starts_with("HTTP/1.1 ") => Ok(status),
        _ => Err(format!(
            "closed after {took:?} ({read:?}), {} bytes",
            answer.len()
        )),
    }
}

/// A client asking the healthy backend over and over, timing each answer.
struct Bystander {
    stop: Arc<std::sync::atomic::AtomicBool>,
    task: tokio::task::JoinHandle<(usize, Duration)>,
}

impl Bystander {
    fn start(port: u16) -> Bystander {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let task = tokio::spawn(async move {
            let c = client();
            let (mut answered, mut slowest) = (0, Duration::ZERO);
            while !flag.load(Ordering::SeqCst) {
                let started = Instant::now();
                let r = get(&c, &url(port, "/other"), &[]).await;
                assert_eq!(r.map(|r| r.status), Ok(200), "the healthy backend answers");
                slowest = slowest.max(started.elapsed());
                answered += 1;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            (answered, slowest)
        });
        Bystander { stop, task }
    }

    /// How many answers it got and the slowest one.
    async fn stop(self) -> (usize, Duration) {
        self.stop.store(true, Ordering::SeqCst);
        self.task
            .await
            .expect("the bystander's requests all succeeded")
    }
}

/// "Unaffected" with a shared machine's margin: every answer well under
/// `timeout server`, which the faulty requests were waiting out.
fn assert_bystander_fast(answered: usize, slowest: Duration) {
    assert!(answered > 0, "the bystander got answers");
    assert!(
        slowest < TIMEOUT_SERVER / 2,
        "other traffic slowed to {slowest:?}"
    );
}

/// A server that sends its head and part of its body, then goes silent:
/// the client gets what was sent and the connection closes after `timeout
/// server` counted from the last bytes (not from the head), cut short
/// rather than padded or hung.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_stops_is_cut_after_timeout_server_of_silence() {
    let faulty = FaultyOrigin::start(Fault::StallBody).await;
    let port = free_port();
    let config = format!(
        "defaults\n    mode http\n    timeout connect 1s\n    timeout client 10s\n    timeout server 400ms\n\
         frontend fe\n    bind 127.0.0.1:{port}\n    default_backend b\n\
         backend b\n    server s {}\n",
        faulty.addr
    );
    let _gw = Gateway::start(&config, format!("127.0.0.1:{port}").parse().unwrap());
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let mut got = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut got)).await;
    let took = started.elapsed();
    assert!(read.is_ok(), "hung: {:?}", String::from_utf8_lossy(&got));
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(
        text.ends_with("\r\n\r\nhello"),
        "only what was sent: {text}"
    );
    // 100 ms to the last bytes, then 400 ms of silence.
    assert!(took >= Duration::from_millis(450), "cut after {took:?}");
    assert!(faulty.accepted() == 1);
}
