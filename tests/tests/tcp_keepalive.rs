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

/// The timer kind of the established socket that `matches` its local and
/// remote addresses (as `/proc/net/tcp` spells them).
fn timer_kind(matches: impl Fn(&str, &str) -> bool) -> u8 {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
    let row = table
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|f| f.len() > 5 && f[3] == "01" && matches(f[1], f[2]))
        .expect("the gateway's socket is in /proc/net/tcp");
    row[5].split(':').next().unwrap().parse().unwrap()
}

/// Whether the gateway's sockets (to `client`, and to the server at
/// `server`) have their keep-alive timers armed.
fn keepalive_armed(gateway: SocketAddr, client: SocketAddr, server: SocketAddr) -> (bool, bool) {
    let (gateway, client, server) = (
        proc_address(gateway),
        proc_address(client),
        proc_address(server),
    );
    let client_side = timer_kind(|local, remote| local == gateway && remote == client);
    // The gateway's end of its connection to the server: the only socket
    // whose peer is the origin's listening address.
    let server_side = timer_kind(|_, remote| remote == server);
    (client_side == 2, server_side == 2)
}

/// Starts a gateway on `config` (with `{port}` and `{origin}` to fill in),
/// makes one exchange through it with `request`, and reports which of its
/// two sockets keep TCP keep-alive timers while the connections idle.
async fn armed_after_one_exchange(
    config: &str,
    origin: SocketAddr,
    request: &[u8],
) -> (bool, bool) {
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
    tokio::time::sleep(Duration::from_millis(100)).await;
    keepalive_armed(gateway, client.local_addr().unwrap(), origin)
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
