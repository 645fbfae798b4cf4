//! Security properties end to end: `src` is the connection's address,
//! never a client-supplied X-Forwarded-For; nothing the gateway adds to an
//! answer (Set-Cookie, error pages, headers) names a server's address.

use switchyard_e2e::client::{client_without_keepalive, get};
use switchyard_e2e::faulty_origin::{Fault, FaultyOrigin};
use switchyard_e2e::gateway::{free_port, Gateway};
use switchyard_e2e::origin::Origin;

fn url(port: u16, path: &str) -> String {
    format!("http://127.0.0.1:{port}{path}")
}

#[tokio::test]
async fn src_ignores_x_forwarded_for_and_answers_never_name_a_server() {
    let o = Origin::start("o").await;
    let stall = FaultyOrigin::start(Fault::Stall).await;
    let garbage = FaultyOrigin::start(Fault::Garbage).await;
    let port = free_port();
    let config = format!(
        "defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 1s\n\
         frontend fe\n    bind 127.0.0.1:{port}\n\
         \x20   http-request deny if {{ src 203.0.113.0/24 }}\n    http-request deny unless {{ src 127.0.0.0/8 }}\n\
         \x20   use_backend stall if {{ path_beg /stall }}\n    use_backend junk if {{ path_beg /junk }}\n    use_backend none if {{ path_beg /none }}\n    default_backend app\n\
         backend app\n    cookie SRV insert indirect nocache\n    server app1 {} cookie a1\n\
         backend stall\n    server st {}\n\
         backend junk\n    server j {}\n\
         backend none\n    server n {} disabled\n",
        o.addr, stall.addr, garbage.addr, o.addr
    );
    let _gw = Gateway::start(&config, format!("127.0.0.1:{port}").parse().unwrap());
    let c = client_without_keepalive();
    // A forged X-Forwarded-For neither gets a loopback client denied nor
    // lets it pass as another address.
    let r = get(&c, &url(port, "/"), &[("X-Forwarded-For", "203.0.113.9")])
        .await
        .unwrap();
    assert_eq!(r.status, 200, "src is the connection's 127.0.0.1");
    assert_eq!(
        r.header("set-cookie").map(|v| v.starts_with("SRV=a1;")),
        Some(true)
    );
    let mut answers = vec![r];
    for (path, status) in [("/stall", 504), ("/junk", 502), ("/none", 503)] {
        let r = get(&c, &url(port, path), &[]).await.unwrap();
        assert_eq!(r.status, status, "{path}");
        answers.push(r);
    }
    for addr in [o.addr, stall.addr, garbage.addr] {
        let port_text = addr.port().to_string();
        for r in &answers {
            let mut text = r.body.clone();
            for (name, value) in &r.headers {
                text.push_str(&format!("\n{name}: {}", value.to_str().unwrap_or("")));
            }
            assert!(
                !text.contains(&port_text),
                "an answer names server port {port_text}:\n{text}"
            );
        }
    }
}
