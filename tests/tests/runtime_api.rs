//! The runtime API end to end: the real binary, its `stats socket`s, the
//! real `socat` (when installed), and requests showing that a change
//! applies to the very next request.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use switchyard_e2e::client::{client_without_keepalive, get};
use switchyard_e2e::gateway::{free_port, Gateway};
use switchyard_e2e::origin::Origin;
use switchyard_e2e::runtime_api::{command, have_socat};

struct Setup {
    _gw: Gateway,
    dir: tempfile::TempDir,
    port: u16,
    tcp_port: u16,
    _origins: Vec<Origin>,
}

async fn setup() -> Setup {
    let (a, b, c) = (
        Origin::start("a").await,
        Origin::start("b").await,
        Origin::start("c").await,
    );
    let dir = tempfile::tempdir().unwrap();
    let map = dir.path().join("hosts.map");
    std::fs::write(&map, "www.test web\napi.test api\n").unwrap();
    let (port, tcp_port) = (free_port(), free_port());
    let d = dir.path().display();
    let config = format!(
        "global\n    stats socket {d}/admin.sock mode 600 level admin\n    stats socket {d}/user.sock level user\n    stats socket ipv4@127.0.0.1:{tcp_port} level operator\n    stats timeout 5s\n\
         defaults\n    mode http\n    timeout connect 2s\n    timeout client 10s\n    timeout server 10s\n\
         frontend fe\n    bind 127.0.0.1:{port}\n    use_backend %[req.hdr(host),lower,map({d}/hosts.map,web)]\n\
         backend web\n    balance roundrobin\n    server a {} weight 10\n    server b {} weight 10\n\
         backend api\n    server c {}\n",
        a.addr, b.addr, c.addr
    );
    let gw = Gateway::start(&config, format!("127.0.0.1:{port}").parse().unwrap());
    // The HTTP listener answering does not mean the runtime sockets are
    // there yet (a loaded machine showed it): each is waited for.
    let dir_path = dir.path().to_path_buf();
    switchyard_e2e::wait_until(
        "the runtime API sockets are open",
        Duration::from_secs(10),
        || {
            ["admin.sock", "user.sock"]
                .iter()
                .all(|name| UnixStream::connect(dir_path.join(name)).is_ok())
                && std::net::TcpStream::connect(("127.0.0.1", tcp_port)).is_ok()
        },
    )
    .await;
    Setup {
        _gw: gw,
        dir,
        port,
        tcp_port,
        _origins: vec![a, b, c],
    }
}

impl Setup {
    fn admin(&self, line: &str) -> String {
        command(&self.dir.path().join("admin.sock"), line)
    }

    /// Which origins answer `n` requests for `host`.
    async fn served(&self, host: &str, n: usize) -> String {
        let client = client_without_keepalive();
        let mut out = String::new();
        for _ in 0..n {
            let r = get(
                &client,
                &format!("http://127.0.0.1:{}/", self.port),
                &[("Host", host)],
            )
            .await
            .unwrap();
            out.push_str(r.body.trim());
        }
        out
    }
}

#[tokio::test]
async fn weights_and_server_states_apply_to_the_next_request() {
    if !have_socat() {
        eprintln!("socat is not installed: the commands go through a plain unix-socket client");
    }
    let s = setup().await;
    assert_eq!(s.admin("show backend"), "# name\nweb\napi\n\n");
    assert_eq!(s.admin("get weight web/a"), "10 (initial 10)\n\n");
    assert_eq!(s.served("www.test", 4).await, "abab");
    // Weight 0: a takes nothing from the next request on.
    assert_eq!(s.admin("set weight web/a 0"), "\n");
    assert_eq!(s.served("www.test", 4).await, "bbbb");
    assert_eq!(s.admin("set weight web/a 100%"), "\n");
    assert_eq!(s.admin("get weight web/a"), "10 (initial 10)\n\n");
    // Maintenance, drain, and back.
    assert_eq!(s.admin("disable server web/b"), "\n");
    assert_eq!(s.served("www.test", 3).await, "aaa");
    let state = s.admin("show servers state web");
    let b_line = state.lines().find(|l| l.contains(" web 2 b ")).unwrap();
    let fields: Vec<&str> = b_line.split(' ').collect();
    assert_eq!(
        (fields[5], fields[6]),
        ("0", "1"),
        "stopped (HAProxy's op state in maintenance), in maintenance: {b_line}"
    );
    assert_eq!(
        s.admin("enable server web/b; set server web/a state drain"),
        "\n\n"
    );
    assert_eq!(s.served("www.test", 3).await, "bbb");
    assert_eq!(
        s.admin("set server web/a state ready; set server web/b health down"),
        "\n\n"
    );
    assert_eq!(s.served("www.test", 2).await, "aa");
    assert_eq!(s.admin("set server web/b health up"), "\n");
    // HAProxy's messages for bad input.
    assert_eq!(s.admin("get weight web/zz"), "No such server.\n\n");
    assert_eq!(s.admin("get weight nope/a"), "No such backend.\n\n");
    assert_eq!(
        s.admin("set weight web/a 300"),
        "Absolute weight can only be between 0 and 256 inclusive.\n\n"
    );
    assert_eq!(
        s.admin("set server web/a state sleepy"),
        "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n\n"
    );
    assert!(s.admin("frobnicate").starts_with("Unknown command"));
    // show stat is the stats page's CSV, HAProxy's header first.
    let csv = s.admin("show stat");
    assert!(csv.starts_with("# pxname,svname,qcur,qmax,scur,smax,slim,stot,"));
    assert!(csv.lines().any(|l| l.starts_with("web,a,")));
    assert!(s.admin("show info").contains("\nPid: "));
}

#[tokio::test]
async fn a_map_changes_routing_without_a_reload() {
    let s = setup().await;
    assert_eq!(
        s.served("new.test", 1).await,
        "a",
        "unknown hosts use the default"
    );
    let map = s.dir.path().join("hosts.map");
    let map = map.display();
    assert_eq!(s.admin(&format!("add map {map} new.test api")), "\n");
    assert_eq!(s.served("new.test", 2).await, "cc");
    let listed = s.admin(&format!("show map {map}"));
    assert!(listed.contains(" new.test api\n"), "{listed}");
    assert_eq!(s.admin(&format!("del map {map} api.test")), "\n");
    assert_eq!(s.served("api.test", 1).await, "b");
    assert_eq!(
        s.admin(&format!("del map {map} api.test")),
        "Key not found.\n\n"
    );
    assert!(s.admin("show map").contains("entry_cnt=2"));
    assert_eq!(
        s.admin("show map /no/such.map"),
        "Unknown map identifier. Please use #<id> or <file>.\n\n"
    );
}

#[tokio::test]
async fn levels_are_enforced_and_the_tcp_socket_works() {
    let s = setup().await;
    // `mode 600` on the admin socket: only its owner may connect.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(s.dir.path().join("admin.sock"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    let user = s.dir.path().join("user.sock");
    assert_eq!(command(&user, "get weight web/a"), "10 (initial 10)\n\n");
    assert_eq!(
        command(&user, "set weight web/a 1"),
        "Permission denied\n\n"
    );
    assert_eq!(command(&user, "get weight web/a"), "10 (initial 10)\n\n");
    // The operator socket on TCP may change maps but not servers.
    let tcp = |line: &str| {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", s.tcp_port)).unwrap();
        stream.write_all(format!("{line}\n").as_bytes()).unwrap();
        let mut answer = String::new();
        std::io::Read::read_to_string(&mut stream, &mut answer).unwrap();
        answer
    };
    assert_eq!(tcp("disable server web/a"), "Permission denied\n\n");
    assert_eq!(tcp("show backend"), "# name\nweb\napi\n\n");
}

#[tokio::test]
async fn prompt_mode_keeps_the_session_open() {
    let s = setup().await;
    let stream = UnixStream::connect(s.dir.path().join("admin.sock")).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    let read_until_prompt = |reader: &mut BufReader<UnixStream>| {
        let mut got = Vec::new();
        while !got.ends_with(b"> ") {
            let buf = reader.fill_buf().unwrap();
            assert!(
                !buf.is_empty(),
                "closed early: {:?}",
                String::from_utf8_lossy(&got)
            );
            let n = buf.len();
            got.extend_from_slice(buf);
            reader.consume(n);
        }
        String::from_utf8(got).unwrap()
    };
    writer.write_all(b"prompt\n").unwrap();
    assert_eq!(read_until_prompt(&mut reader), "\n> ");
    writer.write_all(b"show backend\n").unwrap();
    assert_eq!(read_until_prompt(&mut reader), "# name\nweb\napi\n\n> ");
    writer.write_all(b"get weight web/b\n").unwrap();
    assert_eq!(read_until_prompt(&mut reader), "10 (initial 10)\n\n> ");
    writer.write_all(b"quit\n").unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut reader, &mut rest).unwrap();
    assert_eq!(rest, "", "quit closes the session");
}

/// `add acl`/`del acl`/`clear acl` on a pattern file (`-f`) change the
/// decision of the very next request (the reg-test `acl_cli_spaces.vtc`'s
/// exchange, escaped spaces and `;` included); `show acl` answers as
/// HAProxy 2.6.12 did (`fixtures/haproxy/acl-cli.txt`).
#[tokio::test]
async fn acl_pattern_files_change_decisions_at_once() {
    let origin = Origin::start("s1").await;
    let dir = tempfile::tempdir().unwrap();
    let agents = dir.path().join("agents.acl");
    std::fs::write(&agents, "foo\nbar\n").unwrap();
    let sock = dir.path().join("admin.sock");
    let port = free_port();
    let config = format!(
        "global\n    stats socket {} level admin\n\
         defaults\n    mode http\n    timeout connect 2s\n    timeout client 10s\n    timeout server 10s\n\
         frontend fe1\n    bind 127.0.0.1:{port}\n    http-request deny if {{ req.hdr(user-agent) -i -m str -f {} }}\n    default_backend be1\n\
         backend be1\n    server s1 {}\n",
        sock.display(),
        agents.display(),
        origin.addr
    );
    let _gw = Gateway::start(&config, format!("127.0.0.1:{port}").parse().unwrap());
    let status = |agent: &'static str| async move {
        let c = client_without_keepalive();
        get(
            &c,
            &format!("http://127.0.0.1:{port}/"),
            &[("User-Agent", agent)],
        )
        .await
        .unwrap()
        .status
    };
    let file = agents.display().to_string();
    assert_eq!(status("Mon User Agent;").await, 200);
    assert_eq!(status("FOO").await, 403);
    assert_eq!(
        command(&sock, &format!("add acl {file} Mon\\ User\\ Agent\\;")),
        "\n"
    );
    let shown = command(&sock, &format!("show acl {file}"));
    let patterns: Vec<&str> = shown
        .lines()
        .filter_map(|l| l.split_once(' ').map(|(_, p)| p))
        .collect();
    assert_eq!(patterns, ["foo", "bar", "Mon User Agent;"], "{shown}");
    assert_eq!(status("Mon User Agent;").await, 403, "denied at once");
    assert_eq!(
        command(&sock, &format!("del acl {file} Mon\\ User\\ Agent\\;")),
        "\n"
    );
    assert_eq!(status("Mon User Agent;").await, 200);
    // HAProxy's messages.
    assert_eq!(
        command(&sock, &format!("del acl {file} nosuch")),
        "Key not found.\n\n"
    );
    assert_eq!(
        command(&sock, "add acl /nosuch x"),
        "Unknown ACL identifier. Please use #<id> or <file>.\n\n"
    );
    assert_eq!(
        command(&sock, "add acl"),
        "'add acl' expects two parameters: ACL identifier and pattern.\n\n"
    );
    let listing = command(&sock, "show acl");
    assert!(listing.starts_with(&format!(
        "# id (file) description\n0 ({file}) pattern loaded from file '{file}' used by acl at line 10. curr_ver=0 next_ver=0 entry_cnt=2\n1 () acl 'req.hdr(user-agent)'"
    )), "{listing}");
    assert_eq!(command(&sock, "clear acl #0"), "\n");
    assert_eq!(status("FOO").await, 200, "cleared");
}

/// `stats maxconn 1`: while one session is open (prompt mode), a second
/// client is not served (it waits to be accepted, as with HAProxy's CLI
/// frontend at its maxconn); it is once the first quits.
#[tokio::test]
async fn stats_maxconn_limits_concurrent_sessions() {
    let a = Origin::start("a").await;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let sock = dir.path().join("admin.sock");
    let config = format!(
        "global\n    stats socket {} level admin\n    stats maxconn 1\n\
         defaults\n    mode http\n    timeout connect 2s\n    timeout client 10s\n    timeout server 10s\n\
         frontend fe\n    bind 127.0.0.1:{port}\n    default_backend be\nbackend be\n    server a {}\n",
        sock.display(),
        a.addr
    );
    let _gw = Gateway::start(&config, format!("127.0.0.1:{port}").parse().unwrap());
    switchyard_e2e::wait_until("the runtime API answers", Duration::from_secs(10), || {
        sock.exists() && command(&sock, "show backend") == "# name\nbe\n\n"
    })
    .await;
    let first = UnixStream::connect(&sock).unwrap();
    first
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut writer = first.try_clone().unwrap();
    let mut reader = BufReader::new(first);
    writer.write_all(b"prompt\n").unwrap();
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert_eq!(line, "\n", "the first session is served");
    let mut second = UnixStream::connect(&sock).unwrap();
    second.write_all(b"show backend\n").unwrap();
    // What is tested is that nothing comes: a fixed wait is the only way
    // to see it (a loaded machine only weakens the check), and the answer
    // that follows is awaited, not timed.
    second
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut buf = [0u8; 64];
    let early = std::io::Read::read(&mut second, &mut buf);
    assert!(
        early.is_err(),
        "no answer while the only slot is taken: {early:?}"
    );
    writer.write_all(b"quit\n").unwrap();
    drop((writer, reader));
    second
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut answer = String::new();
    std::io::Read::read_to_string(&mut second, &mut answer).unwrap();
    assert_eq!(answer, "# name\nbe\n\n");
}
