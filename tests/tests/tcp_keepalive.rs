//! `option clitcpka`, `srvtcpka` and `tcpka`: TCP keep-alive probes on the
//! gateway's client-side and server-side sockets, as HAProxy sets them
//! (`tcpka` in a frontend is the client side's, in a backend the server
//! side's, in a `listen` both). Seen in `/proc/net/tcp`, where an idle
//! established socket with `SO_KEEPALIVE` has its keep-alive timer armed
//! (timer kind 2) and one without has no timer (0).

use std::net::SocketAddr;
use std::time::Duration;

use switchyard_e2e::gateway::{free_port, Gateway};
use switchyard_e2e::origin::Origin;
use switchyard_e2e::tcp_origin::{Greeting, TcpOrigin};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const DEFAULTS: &str = "global\n    nbthread 1\ndefaults\n    timeout connect 2s\n    timeout client 10s\n    timeout server 10s\n";

/// `/proc/net/tcp`'s spelling of a loopback address.
fn proc_address(addr: SocketAddr) -> String {
    assert_eq!(addr.ip().to_string(), "127.0.0.1");
    format!("0100007F:{:04X}", addr.port())
}

/// The timer of the established socket that `matches` its local and
/// remote addresses (as `/proc/net/tcp` spells them): its kind, and when it
/// fires, in clock ticks (1/100 s) from now; `None` while there is no such
/// socket.
fn timer(matches: impl Fn(&str, &str) -> bool) -> Option<(u8, u64)> {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
    let row = table
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|f| f.len() > 5 && f[3] == "01" && matches(f[1], f[2]))?;
    let (kind, when) = row[5].split_once(':').unwrap();
    Some((
        kind.parse().unwrap(),
        u64::from_str_radix(when, 16).unwrap(),
    ))
}

/// Timer kinds of a socket with data in flight (1: retransmission, 4:
/// zero-window probe): it shows its keep-alive timer only once idle.
fn busy(timer: Option<(u8, u64)>) -> bool {
    timer.is_none_or(|(kind, _)| kind == 1 || kind == 4)
}

/// The keep-alive timers of the gateway's sockets (to `client`, and to the
/// server at `server`), in seconds until the first probe; `None` for a
/// socket without one. Polled until both sockets are idle (their last
/// segments acknowledged), for at most 10 s.
async fn keepalive_timers(
    gateway: SocketAddr,
    client: SocketAddr,
    server: SocketAddr,
) -> (Option<u64>, Option<u64>) {
    let (gateway, client, server) = (
        proc_address(gateway),
        proc_address(client),
        proc_address(server),
    );
    let timers = || {
        (
            timer(|local, remote| local == gateway && remote == client),
            // The gateway's end of its connection to the server: the only
            // socket whose peer is the origin's listening address.
            timer(|_, remote| remote == server),
        )
    };
    switchyard_e2e::wait_until(
        "both of the gateway's sockets established and idle",
        Duration::from_secs(10),
        || {
            let (client_side, server_side) = timers();
            !busy(client_side) && !busy(server_side)
        },
    )
    .await;
    let seconds =
        |t: Option<(u8, u64)>| t.and_then(|(kind, when)| (kind == 2).then_some(when / 100));
    let (client_side, server_side) = timers();
    (seconds(client_side), seconds(server_side))
}

/// Starts a gateway on `config` (with `{port}` and `{origin}` to fill in),
/// makes one exchange through it with `request`, and reports which of its
/// two sockets keep TCP keep-alive timers while the connections idle.
async fn armed_after_one_exchange(
    config: &str,
    origin: SocketAddr,
    request: &[u8],
) -> (bool, bool) {
    let (client_side, server_side) = timers_after_one_exchange(config, origin, request).await;
    (client_side.is_some(), server_side.is_some())
}

/// The same, with the seconds until each socket's first probe.
async fn timers_after_one_exchange(
    config: &str,
    origin: SocketAddr,
    request: &[u8],
) -> (Option<u64>, Option<u64>) {
    let port = free_port();
    let config = config
        .replace("{port}", &port.to_string())
        .replace("{origin}", &origin.to_string());
    let gateway: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let _gw = Gateway::start(&format!("{DEFAULTS}{config}"), gateway);
    let mut client = TcpStream::connect(gateway).await.unwrap();
    client.write_all(request).await.unwrap();
    let mut answer = [0u8; 256];
    let n = tokio::time::timeout(Duration::from_secs(10), client.read(&mut answer))
        .await
        .expect("an answer within 10 s")
        .unwrap();
    assert!(n > 0, "no answer");
    // Idle now, both connections kept open.
    keepalive_timers(gateway, client.local_addr().unwrap(), origin).await
}

const GET: &[u8] = b"GET / HTTP/1.1\r\nhost: ka.test\r\n\r\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_keepalive_probes_go_where_the_options_say() {
    let origin = Origin::start("web").await;
    let split = |frontend: &str, backend: &str| {
        format!(
            "frontend fe\n    mode http\n    bind 127.0.0.1:{{port}}\n{frontend}    default_backend be\n\
             backend be\n    mode http\n{backend}    server s1 {{origin}}\n"
        )
    };
    let cases = [
        (split("", ""), (false, false)),
        (split("    option clitcpka\n", ""), (true, false)),
        (split("", "    option srvtcpka\n"), (false, true)),
        // In a frontend, `tcpka` is the client side's; in a backend, the
        // server side's.
        (split("    option tcpka\n", ""), (true, false)),
        (split("", "    option tcpka\n"), (false, true)),
        (
            "listen both\n    mode http\n    bind 127.0.0.1:{port}\n    option tcpka\n    server s1 {origin}\n"
                .to_string(),
            (true, true),
        ),
    ];
    for (config, expected) in cases {
        let armed = armed_after_one_exchange(&config, origin.addr, GET).await;
        assert_eq!(
            armed, expected,
            "(client side, server side) with:\n{config}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_mode_keepalive_probes_on_both_sides_with_tcpka_in_a_listen() {
    let origin = TcpOrigin::start("db", Greeting::Name).await;
    let listen = |option: &str| {
        format!("listen db\n    mode tcp\n    bind 127.0.0.1:{{port}}\n{option}    server s1 {{origin}}\n")
    };
    let armed = armed_after_one_exchange(&listen(""), origin.addr, b"hello\n").await;
    assert_eq!(armed, (false, false));
    let armed =
        armed_after_one_exchange(&listen("    option tcpka\n"), origin.addr, b"hello\n").await;
    assert_eq!(armed, (true, true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_probe_comes_after_the_idle_time_the_sections_set() {
    let origin = Origin::start("web").await;
    // A bare number is seconds, as HAProxy reads these keywords.
    let config = "frontend fe\n    mode http\n    bind 127.0.0.1:{port}\n    option clitcpka\n    clitcpka-idle 30s\n    clitcpka-intvl 5s\n    clitcpka-cnt 3\n    default_backend be\n\
                  backend be\n    mode http\n    option srvtcpka\n    srvtcpka-idle 45\n    server s1 {origin}\n";
    let (client_side, server_side) = timers_after_one_exchange(config, origin.addr, GET).await;
    let client_side = client_side.expect("client-side probes");
    let server_side = server_side.expect("server-side probes");
    assert!((25..=30).contains(&client_side), "{client_side} s");
    assert!((40..=45).contains(&server_side), "{server_side} s");
}
