//! The check kinds of one engine end to end: `option tcp-check` rules
//! against a real `redis-server` master and replica (skipped, saying so,
//! without the Debian package), and each protocol check (`option
//! redis-check`, `mysql-check`, `pgsql-check`, `smtpchk`, `ldap-check`,
//! `ssl-hello-chk`) against a loopback server replaying the protocol:
//! the bytes HAProxy 2.6 sends are asserted, and the log lines are
//! HAProxy's for the same exchanges (its reg-tests `checks/*.vtc`).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use switchyard_e2e::gateway::{free_port, Gateway};
use switchyard_e2e::runtime_api::{command, stat_field};
use switchyard_e2e::syslog::SyslogReceiver;

/// One step of a replayed exchange.
#[derive(Clone)]
enum Op {
    Send(Vec<u8>),
    /// Reads exactly this many bytes (kept in [`Replay::received`]).
    Recv(usize),
}

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// A server on loopback playing the current script on each connection,
/// then closing it (as VTest's servers in HAProxy's reg-tests do).
struct Replay {
    addr: SocketAddr,
    script: Arc<Mutex<Vec<Op>>>,
    received: Arc<Mutex<Vec<Vec<u8>>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Replay {
    async fn start(script: Vec<Op>) -> Replay {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let script = Arc::new(Mutex::new(script));
        let received = Arc::new(Mutex::new(Vec::new()));
        let (sc, seen) = (script.clone(), received.clone());
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let ops = sc.lock().unwrap().clone();
                let seen = seen.clone();
                tokio::spawn(async move {
                    for op in ops {
                        match op {
                            Op::Send(bytes) => {
                                if stream.write_all(&bytes).await.is_err() {
                                    return;
                                }
                            }
                            Op::Recv(n) => {
                                let mut got = vec![0u8; n];
                                if stream.read_exact(&mut got).await.is_err() {
                                    return;
                                }
                                seen.lock().unwrap().push(got);
                            }
                        }
                    }
                });
            }
        });
        Replay {
            addr,
            script,
            received,
            task,
        }
    }

    fn play(&self, script: Vec<Op>) {
        *self.script.lock().unwrap() = script;
    }

    fn last_received(&self) -> Vec<u8> {
        self.received
            .lock()
            .unwrap()
            .last()
            .cloned()
            .unwrap_or_default()
    }
}

impl Drop for Replay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A gateway whose `backend l` checks server `a` at `addr` with the
/// backend lines given, logging the checks to a syslog receiver.
struct Checked {
    _gateway: Gateway,
    _dir: tempfile::TempDir,
    socket: std::path::PathBuf,
    receiver: SyslogReceiver,
}

impl Checked {
    fn start(backend: &str, servers: &str) -> Checked {
        let port = free_port();
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("api.sock");
        let receiver = SyslogReceiver::start();
        let config = format!(
            "global\n    stats socket {} level admin\ndefaults\n    mode tcp\n    timeout connect 2s\n    timeout client 10s\n    timeout server 10s\n    timeout check 1s\nfrontend fe\n    bind 127.0.0.1:{port}\n    default_backend l\nbackend l\n    option log-health-checks\n    log 127.0.0.1:{} daemon\n{backend}{servers}",
            socket.display(),
            receiver.port,
        );
        let gateway = Gateway::start(&config, format!("127.0.0.1:{port}").parse().unwrap());
        Checked {
            _gateway: gateway,
            _dir: dir,
            socket,
            receiver,
        }
    }

    /// The next health-check line (server transitions skipped).
    fn next_check(&self) -> String {
        loop {
            let (_, line) = self.receiver.next_event();
            if line.starts_with("Health check for server") {
                return line;
            }
        }
    }
}

fn passed(why: &str) -> String {
    format!("Health check for server l/a succeeded, reason: {why}, check duration: Nms, status: 1/1 UP.")
}

fn failed(why: &str) -> String {
    format!(
        "Health check for server l/a failed, reason: {why}, check duration: Nms, status: 0/1 DOWN."
    )
}

const SERVER: &str = "check inter 100ms rise 1 fall 1";

/// Runs a protocol check against a replayed server that answers `good`,
/// then `bad`; asserts HAProxy's log lines and the bytes sent.
async fn protocol_check(option: &str, good: Vec<Op>, ok: &str, bad: Vec<Op>, ko: &str) -> Replay {
    let replay = Replay::start(good).await;
    let gw = Checked::start(
        &format!("    {option}\n"),
        &format!("    server a {} {SERVER}\n", replay.addr),
    );
    assert_eq!(gw.next_check(), passed(ok));
    replay.play(bad);
    assert_eq!(gw.next_check(), failed(ko));
    replay
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_check_sends_a_ping_and_wants_pong() {
    let replay = protocol_check(
        "option redis-check",
        vec![Op::Recv(14), Op::Send(b"+PONG\r\n".to_vec())],
        "Layer7 check passed, code: 0, info: \"Redis server is ok\"",
        vec![Op::Recv(14), Op::Send(b"-Error message\r\n".to_vec())],
        "Layer7 wrong status, code: 0, info: \"-Error message\"",
    )
    .await;
    assert_eq!(replay.last_received(), b"*1\r\n$4\r\nPING\r\n");
}

const MYSQL_HANDSHAKE: &str = "4A0000000A382E302E3139000A0000006F3C025E6249410D00FFFFFF0200FFC715000000000000000000007C182159106E2761144322200063616368696E675F736861325F70617373776F726400";
const MYSQL_DENIED: &str = "67000002FFE304436C69656E7420646F6573206E6F7420737570706F72742061757468656E7469636174696F6E2070726F746F636F6C20726571756573746564206279207365727665723B20636F6E736964657220757067726164696E67204D7953514C20636C69656E74";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_check_logs_in_and_reads_the_answer() {
    let replay = protocol_check(
        "option mysql-check user user",
        vec![
            Op::Send(hex(MYSQL_HANDSHAKE)),
            Op::Recv(47),
            Op::Send(hex("0700000200000002000000")),
        ],
        "Layer7 check passed, code: 0, info: \"8.0.19\"",
        vec![Op::Send(hex(MYSQL_HANDSHAKE)), Op::Recv(47), Op::Send(hex(MYSQL_DENIED))],
        "Layer7 wrong status, code: 1251, info: \"Client does not support authentication protocol requested by server; consider upgrading MySQL client\"",
    )
    .await;
    // The 4.1 login packet for "user", then COM_QUIT.
    let sent = replay.last_received();
    assert_eq!(&sent[..4], &[0x26, 0, 0, 1]);
    assert_eq!(&sent[36..41], b"user\0");
    assert_eq!(&sent[42..], &[1, 0, 0, 0, 1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pgsql_check_sends_a_startup_and_wants_an_authentication_request() {
    let replay = protocol_check(
        "option pgsql-check user pg",
        vec![Op::Recv(17), Op::Send(hex("520000000800000000"))],
        "Layer7 check passed, code: 0, info: \"PostgreSQL server is ok\"",
        vec![Op::Recv(17), Op::Send(hex("450000000B53464154414C00"))],
        "Layer7 invalid response, info: \"FATAL\"",
    )
    .await;
    assert_eq!(
        replay.last_received(),
        hex("00000011 00030000 7573657200 706700 00")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtpchk_greets_and_reads_the_codes() {
    let replay = protocol_check(
        "option smtpchk EHLO check.test",
        vec![
            Op::Send(b"220 smtp.test SMTP Server\r\n".to_vec()),
            Op::Recv(17),
            Op::Send(b"250-smtp.test\r\n250-KEYWORD\r\n250 LAST\r\n".to_vec()),
        ],
        "Layer7 check passed, code: 250, info: \"smtp.test\"",
        vec![Op::Send(b"421 Try again later\r\n".to_vec())],
        "Layer7 wrong status, code: 421, info: \"Try again later\"",
    )
    .await;
    assert_eq!(replay.last_received(), b"EHLO check.test\r\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ldap_check_binds_anonymously() {
    let replay = protocol_check(
        "option ldap-check",
        vec![Op::Recv(14), Op::Send(hex("300C020101 61 070A01 00 04000400"))],
        "Layer7 check passed, code: 0, info: \"Success\"",
        vec![Op::Recv(14), Op::Send(hex("300C020101 61 070A01 01 04000400"))],
        "Layer7 wrong status, code: 1, info: \"See RFC: http://tools.ietf.org/html/rfc4511#section-4.1.9\"",
    )
    .await;
    assert_eq!(replay.last_received(), hex("300C020101600702010304008000"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssl_hello_chk_sends_an_sslv3_hello_and_wants_a_handshake_record() {
    let replay = protocol_check(
        "option ssl-hello-chk",
        vec![Op::Recv(5 + 0x79), Op::Send(hex("16030300050200000100"))],
        "Layer6 check passed",
        vec![
            Op::Recv(5 + 0x79),
            Op::Send(b"HTTP/1.0 400 Bad Request\r\n\r\n".to_vec()),
        ],
        "Layer6 invalid response",
    )
    .await;
    let hello = replay.last_received();
    assert_eq!(&hello[..11], &hex("1603000079 01000075 0300")[..]);
    assert_eq!(&hello[15..43], b"HAPROXYSSLCHK\nHAPROXYSSLCHK\n");
}

/// A plain `tcp-check` sequence reports HAProxy's "TCPCHK" messages with
/// the failing step and its comment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_check_rules_run_in_order_with_haproxys_messages() {
    let replay = Replay::start(vec![
        Op::Send(b"hello\n".to_vec()),
        Op::Recv(4),
        Op::Send(b"VALID\n".to_vec()),
    ])
    .await;
    let gw = Checked::start(
        "    option tcp-check\n    tcp-check connect\n    tcp-check expect min-recv 5 !rstring ^error\n    tcp-check send-binary 50494E47\n    tcp-check expect min-recv 3 binary 56414C4944 comment \"the answer\"\n",
        &format!("    server a {} {SERVER}\n", replay.addr),
    );
    assert_eq!(
        gw.next_check(),
        passed("Layer7 check passed, code: 0, info: \"(tcp-check)\"")
    );
    assert_eq!(replay.last_received(), b"PING");
    replay.play(vec![
        Op::Send(b"hello\n".to_vec()),
        Op::Recv(4),
        Op::Send(b"NOPE\n".to_vec()),
    ]);
    assert_eq!(
        gw.next_check(),
        failed("Layer7 invalid response, info: \"TCPCHK did not match content (binary) at step 4 comment: the answer\"")
    );
    // HAProxy logs changes only: pass again, then fail at the first rule.
    replay.play(vec![
        Op::Send(b"hello\n".to_vec()),
        Op::Recv(4),
        Op::Send(b"VALID\n".to_vec()),
    ]);
    assert_eq!(
        gw.next_check(),
        passed("Layer7 check passed, code: 0, info: \"(tcp-check)\"")
    );
    replay.play(vec![Op::Send(b"error: busy\n".to_vec())]);
    assert_eq!(
        gw.next_check(),
        failed(
            "Layer7 invalid response, info: \"TCPCHK matched unwanted content (regex) at step 2\""
        )
    );
}

/// `option tcp-check` without rules: a bare connect, as HAProxy's default.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_check_without_rules_is_a_connect() {
    let replay = Replay::start(Vec::new()).await;
    let gw = Checked::start(
        "    option tcp-check\n",
        &format!("    server a {} {SERVER}\n", replay.addr),
    );
    assert_eq!(gw.next_check(), passed("Layer4 check passed"));
    drop(replay);
}

fn redis(port: u16, replica_of: Option<u16>) -> Option<std::process::Child> {
    let mut cmd = std::process::Command::new("redis-server");
    cmd.args([
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
    ]);
    if let Some(master) = replica_of {
        cmd.args(["--replicaof", "127.0.0.1", &master.to_string()]);
    }
    cmd.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()
}

struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// HAProxy's documented Redis master check against a real master and
/// replica: only the master stays UP (the replica's `role:slave` never
/// matches, and the rule times out at its step as in HAProxy).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_redis_master_check_keeps_only_the_master_up() {
    let (master_port, replica_port) = (free_port(), free_port());
    let Some(master) = redis(master_port, None) else {
        eprintln!("SKIPPED: redis-server is not installed (Debian package redis-server)");
        return;
    };
    let _master = Killed(master);
    let _replica = Killed(redis(replica_port, Some(master_port)).expect("redis-server runs"));
    let gw = Checked::start(
        "    option tcp-check\n    tcp-check connect\n    tcp-check send PING\\r\\n\n    tcp-check expect string +PONG\n    tcp-check send info\\ replication\\r\\n\n    tcp-check expect string role:master\n    tcp-check send QUIT\\r\\n\n    tcp-check expect string +OK\n",
        &format!(
            "    server m 127.0.0.1:{master_port} check inter 100ms rise 1 fall 1\n    server r 127.0.0.1:{replica_port} check inter 100ms rise 1 fall 1\n"
        ),
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let m = stat_field(&gw.socket, "l", "m", "check_status");
        let r = stat_field(&gw.socket, "l", "r", "check_status");
        if m == "L7OK" && r == "L7TOUT" {
            break;
        }
        assert!(Instant::now() < deadline, "master {m}, replica {r}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let state = command(&gw.socket, "show servers state l");
    let op_state = |name: &str| {
        state
            .lines()
            .find(|l| l.split(' ').nth(3) == Some(name))
            .and_then(|l| l.split(' ').nth(5).map(str::to_owned))
            .unwrap()
    };
    assert_eq!((op_state("m"), op_state("r")), ("2".into(), "0".into()));
}
