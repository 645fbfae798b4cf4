//! The check engine end to end: agent checks and `http-check` rule
//! sequences, against the real binary and loopback agents and origins,
//! asserting the servers' states (`show servers state`, `show stat`) and
//! HAProxy's log lines (captured from haproxy 2.6.12 for the same exchanges
//! by `scripts/haproxy-check-diff`, which replays them against both).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use switchyard_e2e::client::{client_without_keepalive, get};
use switchyard_e2e::gateway::{free_port, Gateway};
use switchyard_e2e::origin::Origin;
use switchyard_e2e::runtime_api::{command, stat_field};
use switchyard_e2e::syslog::SyslogReceiver;

const DEFAULTS: &str = "defaults\n    mode http\n    timeout connect 2s\n    timeout client 10s\n    timeout server 10s\n";

/// An agent on loopback: answers every connection with the current reply
/// and records what the gateway sent it.
struct Agent {
    addr: SocketAddr,
    reply: Arc<Mutex<String>>,
    received: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Agent {
    async fn start(reply: &str) -> Agent {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let reply = Arc::new(Mutex::new(reply.to_owned()));
        let received = Arc::new(Mutex::new(Vec::new()));
        let (r, seen) = (reply.clone(), received.clone());
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let (r, seen) = (r.clone(), seen.clone());
                tokio::spawn(async move {
                    let mut buf = [0u8; 256];
                    // The agent-send text ends with a newline here.
                    let mut got = Vec::new();
                    while !got.ends_with(b"\n") {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => got.extend_from_slice(&buf[..n]),
                        }
                    }
                    seen.lock()
                        .unwrap()
                        .push(String::from_utf8_lossy(&got).into_owned());
                    let line = r.lock().unwrap().clone();
                    let _ = stream.write_all(line.as_bytes()).await;
                });
            }
        });
        Agent {
            addr,
            reply,
            received,
            task,
        }
    }

    fn answer(&self, line: &str) {
        *self.reply.lock().unwrap() = line.to_owned();
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A gateway serving `backend l` (the lines given) behind `frontend fe`,
/// with a runtime API socket.
struct Checked {
    _gateway: Gateway,
    _dir: tempfile::TempDir,
    socket: std::path::PathBuf,
    port: u16,
}

impl Checked {
    fn start(backend: &str) -> Checked {
        let port = free_port();
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("api.sock");
        let config = format!(
            "global\n    stats socket {} level admin\n{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port}\n    default_backend l\nbackend l\n    retries 0\n{backend}",
            socket.display()
        );
        let gateway = Gateway::start(&config, format!("127.0.0.1:{port}").parse().unwrap());
        Checked {
            _gateway: gateway,
            _dir: dir,
            socket,
            port,
        }
    }
}

/// Polls `condition` until it holds, or fails after 10 s with `what`.
fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !condition() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The `show servers state` columns of `server` in `backend`, from
/// `srv_op_state` to `srv_agent_state`, and the agent's address and port.
fn server_state(socket: &std::path::Path, backend: &str, server: &str) -> Vec<String> {
    let answer = command(socket, &format!("show servers state {backend}"));
    let line = answer
        .lines()
        .find(|l| l.split(' ').nth(3) == Some(server))
        .unwrap_or_else(|| panic!("no server {server} in {answer}"));
    let fields: Vec<&str> = line.split(' ').collect();
    let mut out: Vec<String> = fields[5..15].iter().map(|s| s.to_string()).collect();
    // srv_time_since_last_change varies.
    out[4] = "T".into();
    out.extend(fields[23..].iter().map(|s| s.to_string()));
    out
}

/// An agent's `down` takes a server out with its description in the logs,
/// `up` brings it back, and `75%,maxconn:30,maint,down` sets maintenance,
/// weight and maxconn in one answer, as HAProxy applies them (the lines
/// and their order are haproxy 2.6.12's for the same replies).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_sets_health_weight_maxconn_and_admin_state() {
    let origin = Origin::start("a").await;
    let agent = Agent::start("down #because it is late\n").await;
    let receiver = SyslogReceiver::start();
    let gw = Checked::start(&format!(
        "    option log-health-checks\n    log 127.0.0.1:{} daemon\n    server a {} weight 100 agent-check agent-addr 127.0.0.1 agent-port {} agent-send \"hello\\n\" agent-inter 100ms\n",
        receiver.port,
        origin.addr,
        agent.addr.port()
    ));
    let (socket, port) = (gw.socket.clone(), gw.port);
    let agent_line = |result: &str, reason: &str, info: &str, status: &str| {
        (
            5,
            format!("Agent check for server l/a {result}, reason: {reason}, code: 0, info: \"{info}\", check duration: Nms, status: {status}."),
        )
    };
    let left =
        "0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.";

    assert_eq!(
        receiver.next_event(),
        agent_line(
            "failed",
            "Layer7 wrong status",
            "via agent : down (because it is late)",
            "0/1 DOWN"
        )
    );
    assert_eq!(
        receiver.next_event(),
        (1, format!("Server l/a is DOWN. {left}"))
    );
    assert_eq!(
        receiver.next_event(),
        (0, "backend l has no server available!".into())
    );
    assert_eq!(agent.received.lock().unwrap()[0], "hello\n");
    // op_state 0, admin 0, weights 100/100, health 0, agent CONFIGURED|ENABLED|AGENT.
    assert_eq!(
        server_state(&socket, "l", "a"),
        [
            "0",
            "0",
            "100",
            "100",
            "T",
            "1",
            "0",
            "0",
            "0",
            "22",
            "127.0.0.1"
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([agent.addr.port().to_string()])
        .collect::<Vec<_>>()
    );
    assert_eq!(stat_field(&socket, "l", "a", "status"), "DOWN (agent)");
    assert_eq!(stat_field(&socket, "l", "a", "agent_status"), "L7STS");
    assert_eq!(
        stat_field(&socket, "l", "a", "last_agt"),
        "via agent : down (because it is late)"
    );
    let c = client_without_keepalive();
    let url = format!("http://127.0.0.1:{port}/");
    assert_eq!(get(&c, &url, &[]).await.unwrap().status, 503);

    agent.answer("up\n");
    assert_eq!(
        receiver.next_event(),
        agent_line(
            "succeeded",
            "Layer7 check passed",
            "via agent : up",
            "1/1 UP"
        )
    );
    assert_eq!(
        receiver.next_event(),
        (5, "Server l/a is UP. 1 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.".into())
    );
    assert_eq!(get(&c, &url, &[]).await.unwrap().status, 200);

    agent.answer("75%,maxconn:30,maint,down\n");
    assert_eq!(
        receiver.next_event(),
        (
            1,
            format!("Server l/a is going DOWN for maintenance. {left}")
        )
    );
    assert_eq!(
        receiver.next_event(),
        (0, "backend l has no server available!".into())
    );
    assert_eq!(
        receiver.next_event(),
        agent_line(
            "failed",
            "Layer7 wrong status",
            "via agent : down",
            "0/1 DOWN"
        )
    );
    let state = server_state(&socket, "l", "a");
    // Stopped, in forced maintenance (1), weight 75 of 100.
    assert_eq!(&state[..4], ["0", "1", "75", "100"]);
    assert_eq!(stat_field(&socket, "l", "a", "slim"), "30");
    assert_eq!(stat_field(&socket, "l", "a", "status"), "MAINT");

    // The agent keeps being asked in maintenance, and may end it.
    agent.answer("ready,up,100%\n");
    assert_eq!(
        receiver.next_event(),
        (
            5,
            "Server l/a is UP/READY (leaving forced maintenance).".into()
        )
    );
    assert_eq!(
        receiver.next_event(),
        agent_line(
            "succeeded",
            "Layer7 check passed",
            "via agent : up",
            "1/1 UP"
        )
    );
    eventually("weight 100 and UP again", || {
        server_state(&socket, "l", "a")[..4] == ["2", "0", "100", "100"]
    });
    assert_eq!(get(&c, &url, &[]).await.unwrap().status, 200);
}

/// A health check that passes does not bring back a server its agent holds
/// down; the agent's `up` does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_down_holds_a_server_that_passes_its_checks() {
    let origin = Origin::start("a").await;
    let agent = Agent::start("fail\n").await;
    let gw = Checked::start(&format!(
        "    server a {} check inter 50ms rise 1 agent-check agent-port {} agent-send \"x\\n\" agent-inter 100ms\n",
        origin.addr,
        agent.addr.port()
    ));
    let socket = gw.socket.clone();
    eventually("the agent takes it down", || {
        stat_field(&socket, "l", "a", "status") == "DOWN (agent)"
    });
    // Many passing checks later, still down.
    let before = origin.connections();
    eventually("several checks pass", || origin.connections() >= before + 5);
    assert_eq!(stat_field(&socket, "l", "a", "status"), "DOWN (agent)");
    assert_eq!(stat_field(&socket, "l", "a", "check_status"), "L4OK");
    agent.answer("up\n");
    eventually("the agent brings it back", || {
        stat_field(&socket, "l", "a", "status") == "UP"
    });
}

/// An HTTP origin for checks: answers GET with `x-state`, `x-version` and
/// a body, HEAD with a status, all changeable, and records request heads.
struct CheckOrigin {
    addr: SocketAddr,
    answer: Arc<Mutex<(String, String, String, u16)>>,
    heads: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl CheckOrigin {
    async fn start() -> CheckOrigin {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let answer = Arc::new(Mutex::new((
            "ready, 2".to_owned(),
            "1, 2".to_owned(),
            "healthy".to_owned(),
            204,
        )));
        let heads = Arc::new(Mutex::new(Vec::new()));
        let (a, h) = (answer.clone(), heads.clone());
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let (a, h) = (a.clone(), h.clone());
                tokio::spawn(async move {
                    let mut got = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => got.extend_from_slice(&buf[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&got).into_owned();
                    h.lock().unwrap().push(head.clone());
                    let (state, version, body, status) = a.lock().unwrap().clone();
                    let reply = if head.starts_with("HEAD ") {
                        format!("HTTP/1.0 {status} Whatever\r\n\r\n")
                    } else {
                        format!(
                            "HTTP/1.0 200 OK\r\nx-state: {state}\r\nx-version: {version}\r\ncontent-length: {}\r\n\r\n{body}",
                            body.len()
                        )
                    };
                    let _ = stream.write_all(reply.as_bytes()).await;
                });
            }
        });
        CheckOrigin {
            addr,
            answer,
            heads,
            task,
        }
    }

    fn set(&self, state: &str, version: &str, body: &str, status: u16) {
        *self.answer.lock().unwrap() = (state.into(), version.into(), body.into(), status);
    }
}

impl Drop for CheckOrigin {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// An `http-check` sequence as HAProxy runs it: two connections (the second
/// on another port), `uri-lf`, `expect status`, `hdr` (the value as a
/// comma-separated list), `fhdr` (the whole value), `string` with the
/// comment before it, and `on-error`; each failing rule ends the check with
/// its own status and message (the lines are haproxy 2.6.12's for the same
/// answers, `scripts/haproxy-check-diff`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_check_sequence_runs_its_rules_in_order() {
    let origin = CheckOrigin::start().await;
    let receiver = SyslogReceiver::start();
    let gw = Checked::start(&format!(
        "    option log-health-checks\n    log 127.0.0.1:{} daemon\n    option httpchk GET /health\n    http-check connect\n    http-check send uri-lf /health/%[srv_name] ver HTTP/1.1 hdr host check.test\n    http-check expect status 200-299\n    http-check expect hdr name x-state value -m beg ready\n    http-check expect fhdr name x-version value \"1, 2\"\n    http-check comment \"the body says healthy\"\n    http-check expect string healthy\n    http-check connect port {}\n    http-check send meth HEAD uri /second\n    http-check expect on-error \"second port said %[srv_name] no\" status 204\n    server a {} check inter 100ms rise 1 fall 1\n",
        receiver.port,
        origin.addr.port(),
        origin.addr
    ));
    let check = |result: &str, why: &str, status: &str| {
        (
            5,
            format!("Health check for server l/a {result}, reason: {why}, check duration: Nms, status: {status}."),
        )
    };
    let passed = "Layer7 check passed, code: 204";
    let down = (1, "Server l/a is DOWN. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.".to_owned());
    let up = (5, "Server l/a is UP. 1 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.".to_owned());
    let none = (0, "backend l has no server available!".to_owned());

    assert_eq!(receiver.next_event(), check("succeeded", passed, "1/1 UP"));
    let heads = origin.heads.lock().unwrap().clone();
    assert!(
        heads[0].starts_with("GET /health/a HTTP/1.1\r\nhost: check.test\r\nconnection: close\r\n"),
        "{heads:?}"
    );
    assert!(
        heads[1].starts_with("HEAD /second HTTP/1.0\r\n"),
        "{heads:?}"
    );

    // `hdr … value -m beg ready`: no item of `busy` begins with it.
    origin.set("busy", "1, 2", "healthy", 204);
    let wrong = "Layer7 wrong status, code: 200, info: \"OK\"";
    assert_eq!(receiver.next_event(), check("failed", wrong, "0/1 DOWN"));
    assert_eq!(receiver.next_event(), down);
    assert_eq!(receiver.next_event(), none);
    assert_eq!(stat_field(&gw.socket, "l", "a", "check_status"), "L7STS");
    origin.set("ready", "1, 2", "healthy", 204);
    assert_eq!(receiver.next_event(), check("succeeded", passed, "1/1 UP"));
    assert_eq!(receiver.next_event(), up);
    // `fhdr` compares the whole value: `1,2` is not `1, 2`.
    origin.set("ready", "1,2", "healthy", 204);
    assert_eq!(receiver.next_event(), check("failed", wrong, "0/1 DOWN"));
    assert_eq!(receiver.next_event(), down);
    assert_eq!(receiver.next_event(), none);
    // The body rule fails with its comment.
    origin.set("ready", "1, 2", "sick", 204);
    assert_eq!(
        receiver.next_event(),
        check(
            "failed",
            "Layer7 invalid response, info: \"HTTP content check did not match comment: the body says healthy\"",
            "0/1 DOWN"
        )
    );
    assert_eq!(stat_field(&gw.socket, "l", "a", "check_status"), "L7RSP");
    // The second connection's rule, with its `on-error` message.
    origin.set("ready", "1, 2", "healthy", 500);
    assert_eq!(
        receiver.next_event(),
        check(
            "failed",
            "Layer7 wrong status, code: 500, info: \"second port said a no\"",
            "0/1 DOWN"
        )
    );
    origin.set("ready", "1, 2", "healthy", 204);
    assert_eq!(receiver.next_event(), check("succeeded", passed, "1/1 UP"));
    assert_eq!(receiver.next_event(), up);
}

/// `http-check disable-on-404`: a 404 from a server that is up drains it
/// (NOLB: up, but no new traffic), a passing check brings it back; the
/// lines are haproxy 2.6.12's for the same answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disable_on_404_drains_a_server_and_a_pass_brings_it_back() {
    let origin = CheckOrigin::start().await;
    let receiver = SyslogReceiver::start();
    let gw = Checked::start(&format!(
        "    log 127.0.0.1:{} daemon\n    option httpchk HEAD /health\n    http-check disable-on-404\n    server a {} check inter 100ms rise 1 fall 1\n",
        receiver.port, origin.addr
    ));
    eventually("the server is checked", || {
        stat_field(&gw.socket, "l", "a", "check_status") == "L7OK"
    });
    origin.set("ready", "1, 2", "healthy", 404);
    assert_eq!(
        receiver.next_event(),
        (5, "Server l/a is stopping, reason: Layer7 check conditionally passed, code: 404, check duration: Nms. 0 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.".to_owned())
    );
    assert_eq!(
        receiver.next_event(),
        (0, "backend l has no server available!".to_owned())
    );
    assert_eq!(stat_field(&gw.socket, "l", "a", "status"), "NOLB");
    let c = client_without_keepalive();
    assert_eq!(
        get(&c, &format!("http://127.0.0.1:{}/", gw.port), &[])
            .await
            .unwrap()
            .status,
        503
    );
    origin.set("ready", "1, 2", "healthy", 200);
    assert_eq!(
        receiver.next_event(),
        (5, "Server l/a is UP, reason: Layer7 check passed, code: 200, check duration: Nms. 1 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.".to_owned())
    );
}
