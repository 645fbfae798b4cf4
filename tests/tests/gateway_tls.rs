//! TLS end to end: the real binary terminating TLS for a rustls client that
//! verifies against a CA made for the test (rcgen, in a temporary
//! directory), choosing certificates by SNI, negotiating h2 by ALPN, feeding
//! `ssl_fc*` to the rules, and speaking TLS to TLS origins.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::ClientConfig;
use switchyard_e2e::gateway::{free_port, Gateway};
use switchyard_e2e::origin::Origin;
use switchyard_e2e::pki::{provider, AnyCertificate, Pki};
use switchyard_e2e::{run_in, stderr};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::{TlsAcceptor, TlsConnector};

const DEFAULTS: &str = "defaults\n    mode http\n    timeout connect 2s\n    timeout client 10s\n    timeout server 10s\n";

/// How the test client checks the gateway's certificate.
enum Trust<'a> {
    /// Against the test CA, for the name sent as SNI.
    Ca(&'a Pki),
    /// Not at all (to look at what was presented).
    Any,
}

/// What one TLS request gave.
#[derive(Debug)]
struct TlsReply {
    status: u16,
    body: String,
    headers: http::HeaderMap,
    version: http::Version,
    alpn: Option<String>,
    protocol: Option<String>,
    certificate: CertificateDer<'static>,
}

/// `GET path` over TLS to 127.0.0.1:`port` with `sni` (None: none sent),
/// offering `alpn`; speaks h2 when it was negotiated, else HTTP/1.1.
async fn tls_get(
    port: u16,
    sni: Option<&str>,
    alpn: &[&str],
    trust: Trust<'_>,
    path: &str,
) -> Result<TlsReply, String> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap();
    let mut config = match trust {
        Trust::Ca(pki) => builder.with_root_certificates(pki.roots()),
        Trust::Any => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate)),
    }
    .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
    let name = match sni {
        Some(sni) => ServerName::try_from(sni.to_owned()).unwrap(),
        None => ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()),
    };
    let tcp = TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| e.to_string())?;
    let tls = TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    let (_, conn) = tls.get_ref();
    let alpn = conn
        .alpn_protocol()
        .map(|p| String::from_utf8_lossy(p).into_owned());
    let protocol = conn.protocol_version().map(|v| format!("{v:?}"));
    let certificate = conn.peer_certificates().unwrap()[0].clone().into_owned();
    let host = sni.unwrap_or("127.0.0.1");
    let io = TokioIo::new(tls);
    let response = if alpn.as_deref() == Some("h2") {
        let (mut sender, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        let req = Request::get(format!("https://{host}{path}"))
            .body(Empty::<Bytes>::new())
            .unwrap();
        sender.send_request(req).await.map_err(|e| e.to_string())?
    } else {
        let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        let req = Request::get(path)
            .header("host", host)
            .body(Empty::<Bytes>::new())
            .unwrap();
        sender.send_request(req).await.map_err(|e| e.to_string())?
    };
    let (parts, body) = response.into_parts();
    let body = body.collect().await.map_err(|e| e.to_string())?.to_bytes();
    Ok(TlsReply {
        status: parts.status.as_u16(),
        body: String::from_utf8_lossy(&body).into_owned(),
        headers: parts.headers,
        version: parts.version,
        alpn,
        protocol,
        certificate,
    })
}

/// The SNI of the connection and the headers of one request an origin saw.
type SeenTls = (Option<String>, http::HeaderMap);

/// A TLS origin: answers `NAME sni=SNI` and records each request's
/// headers.
struct TlsOrigin {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<SeenTls>>>,
    task: tokio::task::JoinHandle<()>,
}

impl TlsOrigin {
    async fn start(name: &'static str, pem: &Path) -> TlsOrigin {
        TlsOrigin::start_with(name, pem, false).await
    }

    /// With `h2`, the origin offers ALPN h2 and answers in the protocol
    /// the client speaks, adding the HTTP version to its answer.
    async fn start_with(name: &'static str, pem: &Path, h2: bool) -> TlsOrigin {
        let bytes = std::fs::read(pem).unwrap();
        use rustls::pki_types::pem::PemObject;
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&bytes)
            .map(|c| c.unwrap())
            .collect();
        let key = rustls::pki_types::PrivateKeyDer::from_pem_slice(&bytes).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
        let mut config = config;
        if h2 {
            config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        }
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let task_seen = seen.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let (acceptor, seen) = (acceptor.clone(), task_seen.clone());
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let sni = tls.get_ref().1.server_name().map(str::to_owned);
                    let service = service_fn(move |req: Request<Incoming>| {
                        let (seen, sni) = (seen.clone(), sni.clone());
                        async move {
                            seen.lock()
                                .unwrap()
                                .push((sni.clone(), req.headers().clone()));
                            let mut body = format!("{name} sni={}", sni.as_deref().unwrap_or("-"));
                            if h2 {
                                body.push_str(&format!(" {:?} {}", req.version(), req.uri()));
                            }
                            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(body))))
                        }
                    });
                    if h2 {
                        let _ = hyper_util::server::conn::auto::Builder::new(
                            hyper_util::rt::TokioExecutor::new(),
                        )
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                    } else {
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(tls), service)
                            .await;
                    }
                });
            }
        });
        TlsOrigin { addr, seen, task }
    }

    fn seen_sni(&self) -> Vec<Option<String>> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .map(|(s, _)| s.clone())
            .collect()
    }
}

impl Drop for TlsOrigin {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn start(config: &str, port: u16) -> Gateway {
    Gateway::start(config, format!("127.0.0.1:{port}").parse().unwrap())
}

fn display(path: &Path) -> String {
    path.display().to_string()
}

#[tokio::test]
async fn sni_chooses_among_certificates_and_the_first_is_the_default() {
    let pki = Pki::new("Switchyard test CA");
    let default = pki.issue("default.pem", &["default.test", "127.0.0.1"]);
    let a = pki.issue("certs/a.pem", &["a.test"]);
    let b = pki.issue("certs/b.pem", &["*.b.test"]);
    // A side file in the directory must be skipped, as HAProxy does.
    std::fs::write(pki.dir.path().join("certs/a.pem.ocsp"), "not a certificate").unwrap();
    let origin = Origin::start("app").await;
    let port = free_port();
    let config = format!(
        "{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port} ssl crt {} crt {}\n    default_backend app\nbackend app\n    server s {}\n",
        display(&default.path),
        display(&pki.dir.path().join("certs")),
        origin.addr
    );
    let _gw = start(&config, port);

    // Each name gets its certificate, verified by the client against the CA.
    let r = tls_get(port, Some("a.test"), &[], Trust::Ca(&pki), "/")
        .await
        .unwrap();
    assert_eq!((r.status, r.body.as_str()), (200, "app\n"));
    assert_eq!(r.certificate, a.der);
    let r = tls_get(port, Some("www.b.test"), &[], Trust::Ca(&pki), "/")
        .await
        .unwrap();
    assert_eq!(r.certificate, b.der);
    // A wildcard covers one label only: the default answers.
    let r = tls_get(port, Some("x.www.b.test"), &[], Trust::Any, "/")
        .await
        .unwrap();
    assert_eq!(r.certificate, default.der);
    let r = tls_get(port, Some("unknown.test"), &[], Trust::Any, "/")
        .await
        .unwrap();
    assert_eq!(r.certificate, default.der);
    // No SNI at all: the default, valid for the IP the client dialled.
    let r = tls_get(port, None, &[], Trust::Ca(&pki), "/")
        .await
        .unwrap();
    assert_eq!(
        (r.status, r.certificate.clone()),
        (200, default.der.clone())
    );
    // A client that trusts another CA refuses the gateway's certificate.
    let other = Pki::new("Another CA");
    let err = tls_get(port, Some("a.test"), &[], Trust::Ca(&other), "/")
        .await
        .unwrap_err();
    assert!(err.contains("handshake"), "{err}");
}

#[tokio::test]
async fn strict_sni_refuses_names_without_a_certificate() {
    let pki = Pki::new("Switchyard test CA");
    let a = pki.issue("a.pem", &["a.test"]);
    let b = pki.issue("b.pem", &["b.test"]);
    let origin = Origin::start("app").await;
    let port = free_port();
    let config = format!(
        "{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port} ssl crt {} crt {} strict-sni\n    default_backend app\nbackend app\n    server s {}\n",
        display(&a.path),
        display(&b.path),
        origin.addr
    );
    let _gw = start(&config, port);
    let r = tls_get(port, Some("b.test"), &[], Trust::Ca(&pki), "/")
        .await
        .unwrap();
    assert_eq!((r.status, r.certificate), (200, b.der));
    let err = tls_get(port, Some("c.test"), &[], Trust::Any, "/")
        .await
        .unwrap_err();
    assert!(err.contains("handshake"), "{err}");
    let err = tls_get(port, None, &[], Trust::Any, "/").await.unwrap_err();
    assert!(err.contains("handshake"), "{err}");
    assert_eq!(origin.request_count(), 1);
}

#[tokio::test]
async fn crt_list_filters_choose_certificates() {
    let pki = Pki::new("Switchyard test CA");
    let fallback = pki.issue("fallback.pem", &["fallback.test"]);
    let wild = pki.issue("wild.pem", &["*.shop.test"]);
    let secure = pki.issue("secure.pem", &["secure.shop.test"]);
    let list = pki.dir.path().join("list.txt");
    std::fs::write(
        &list,
        format!(
            "# HAProxy's example\n{} !*\n{} *.shop.test !secure.shop.test\n{} secure.shop.test\n",
            display(&fallback.path),
            display(&wild.path),
            display(&secure.path)
        ),
    )
    .unwrap();
    let origin = Origin::start("app").await;
    let port = free_port();
    let config = format!(
        "{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port} ssl crt-list {}\n    default_backend app\nbackend app\n    server s {}\n",
        display(&list),
        origin.addr
    );
    let _gw = start(&config, port);
    let r = tls_get(port, Some("www.shop.test"), &[], Trust::Ca(&pki), "/")
        .await
        .unwrap();
    assert_eq!(r.certificate, wild.der);
    let r = tls_get(port, Some("secure.shop.test"), &[], Trust::Ca(&pki), "/")
        .await
        .unwrap();
    assert_eq!(r.certificate, secure.der);
    // "!*": the first certificate answers only when nothing else does,
    // not even for its own name.
    let r = tls_get(port, Some("fallback.test"), &[], Trust::Any, "/")
        .await
        .unwrap();
    assert_eq!(r.certificate, fallback.der);
    let r = tls_get(port, Some("nothing.test"), &[], Trust::Any, "/")
        .await
        .unwrap();
    assert_eq!(r.certificate, fallback.der);
}

/// `crt-base`: a relative `crt-list`, and the relative files it names,
/// are read under the base, as HAProxy reads them.
#[tokio::test]
async fn crt_base_applies_to_crt_list_and_its_files() {
    let pki = Pki::new("Switchyard test CA");
    let site = pki.issue("site.pem", &["site.test"]);
    std::fs::write(pki.dir.path().join("list.txt"), "site.pem site.test\n").unwrap();
    let origin = Origin::start("app").await;
    let port = free_port();
    let config = format!(
        "global\n    crt-base {}\n{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port} ssl crt-list list.txt\n    default_backend app\nbackend app\n    server s {}\n",
        display(pki.dir.path()),
        origin.addr
    );
    let _gw = start(&config, port);
    let r = tls_get(port, Some("site.test"), &[], Trust::Ca(&pki), "/")
        .await
        .unwrap();
    assert_eq!(r.certificate, site.der);
}

#[tokio::test]
async fn alpn_negotiates_h2_or_http1_and_the_rules_see_the_tls_facts() {
    let pki = Pki::new("Switchyard test CA");
    let site = pki.issue("site.pem", &["site.test"]);
    let origin = Origin::start("app").await;
    let (port, plain_port) = (free_port(), free_port());
    let config = format!(
        "{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port} ssl crt {} alpn h2,http/1.1\n    bind 127.0.0.1:{plain_port} ssl crt {}\n\
         \x20   http-request set-header X-SNI %[ssl_fc_sni]\n    http-request set-header X-ALPN %[ssl_fc_alpn]\n    http-request set-header X-TLS %[ssl_fc_protocol]\n\
         \x20   http-request set-header X-TLS13 yes if {{ ssl_fc_protocol TLSv1.3 }}\n    default_backend app\nbackend app\n    server s {}\n",
        display(&site.path),
        display(&site.path),
        origin.addr
    );
    let _gw = start(&config, port);
    let r = tls_get(
        port,
        Some("site.test"),
        &["h2", "http/1.1"],
        Trust::Ca(&pki),
        "/h2",
    )
    .await
    .unwrap();
    assert_eq!(r.alpn.as_deref(), Some("h2"));
    assert_eq!((r.status, r.version), (200, http::Version::HTTP_2));
    let r = tls_get(
        port,
        Some("site.test"),
        &["http/1.1"],
        Trust::Ca(&pki),
        "/h1",
    )
    .await
    .unwrap();
    assert_eq!(r.alpn.as_deref(), Some("http/1.1"));
    assert_eq!((r.status, r.version), (200, http::Version::HTTP_11));
    // A client offering none of the bind's protocols goes on without ALPN
    // (as with OpenSSL), rather than being refused.
    let r = tls_get(
        port,
        Some("site.test"),
        &["spdy/3"],
        Trust::Ca(&pki),
        "/other",
    )
    .await
    .unwrap();
    assert_eq!(
        (r.alpn, r.status, r.version),
        (None, 200, http::Version::HTTP_11)
    );
    // Without `alpn`, HAProxy 2.6 advertises nothing: HTTP/1.1 it is.
    let r = tls_get(
        plain_port,
        Some("site.test"),
        &["h2", "http/1.1"],
        Trust::Ca(&pki),
        "/none",
    )
    .await
    .unwrap();
    assert_eq!((r.alpn, r.version), (None, http::Version::HTTP_11));
    assert_eq!(r.protocol.as_deref(), Some("TLSv1_3"));

    let seen = origin.seen();
    let by_path = |p: &str| seen.iter().find(|s| s.uri == p).unwrap().clone();
    let h2 = by_path("/h2");
    assert_eq!(h2.header_values("x-sni"), ["site.test"]);
    assert_eq!(h2.header_values("x-alpn"), ["h2"]);
    assert_eq!(h2.header_values("x-tls"), ["TLSv1.3"]);
    assert_eq!(h2.header_values("x-tls13"), ["yes"]);
    assert_eq!(by_path("/h1").header_values("x-alpn"), ["http/1.1"]);
    assert_eq!(by_path("/none").header_values("x-alpn"), [""]);
}

#[tokio::test]
async fn ssl_fc_redirects_plain_http_and_sets_x_forwarded_proto() {
    let pki = Pki::new("Switchyard test CA");
    let site = pki.issue("site.pem", &["shop.test"]);
    let origin = Origin::start("app").await;
    let (tls_port, plain_port) = (free_port(), free_port());
    let config = format!(
        "{DEFAULTS}frontend fe\n    bind 127.0.0.1:{tls_port} ssl crt {}\n    bind 127.0.0.1:{plain_port}\n\
         \x20   http-request set-header X-Forwarded-Proto https if {{ ssl_fc }}\n    redirect scheme https code 301 if !{{ ssl_fc }}\n    default_backend app\nbackend app\n    server s {}\n",
        display(&site.path),
        origin.addr
    );
    let _gw = start(&config, tls_port);
    let c = switchyard_e2e::client::client();
    let r = switchyard_e2e::client::get(
        &c,
        &format!("http://127.0.0.1:{plain_port}/cart?id=7"),
        &[("Host", "shop.test")],
    )
    .await
    .unwrap();
    assert_eq!(r.status, 301);
    assert_eq!(r.header("location"), Some("https://shop.test/cart?id=7"));
    assert_eq!(
        origin.request_count(),
        0,
        "the plain request was redirected"
    );
    let r = tls_get(
        tls_port,
        Some("shop.test"),
        &[],
        Trust::Ca(&pki),
        "/cart?id=7",
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(
        origin.seen()[0].header_values("x-forwarded-proto"),
        ["https"]
    );
    assert!(r.headers.get("location").is_none());
}

#[tokio::test]
async fn tls_to_servers_verifies_against_the_ca_file_and_sends_sni() {
    let pki = Pki::new("Origin CA");
    let cert = pki.issue("origin.pem", &["origin.test", "www.shop.test"]);
    let tls_origin = TlsOrigin::start("secure", &cert.path).await;
    let stranger = Pki::new("Stranger CA");
    let port = free_port();
    let config = format!(
        "{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port}\n    use_backend literal if {{ hdr(x-backend) literal }}\n    use_backend host if {{ hdr(x-backend) host }}\n    use_backend nosni if {{ hdr(x-backend) nosni }}\n\
         \x20   use_backend wrongname if {{ hdr(x-backend) wrongname }}\n    use_backend stranger if {{ hdr(x-backend) stranger }}\n    use_backend none if {{ hdr(x-backend) none }}\n\
         backend literal\n    server o {a} ssl verify required ca-file {ca} sni str(origin.test)\n\
         backend host\n    server o {a} ssl verify required ca-file {ca} sni req.hdr(host)\n\
         backend nosni\n    server o {a} ssl ca-file {ca}\n\
         backend wrongname\n    server o {a} ssl verify required ca-file {ca} sni str(other.test)\n\
         backend stranger\n    server o {a} ssl verify required ca-file {sca} sni str(origin.test)\n\
         backend none\n    server o {a} ssl verify none sni str(anything.test)\n",
        a = tls_origin.addr,
        ca = display(&pki.ca_path()),
        sca = display(&stranger.ca_path()),
    );
    let _gw = start(&config, port);
    let c = switchyard_e2e::client::client_without_keepalive();
    let get = |backend: &'static str, host: &'static str| {
        let c = c.clone();
        async move {
            switchyard_e2e::client::get(
                &c,
                &format!("http://127.0.0.1:{port}/"),
                &[("X-Backend", backend), ("Host", host)],
            )
            .await
            .unwrap()
        }
    };
    let r = get("literal", "whatever.test").await;
    assert_eq!((r.status, r.body.as_str()), (200, "secure sni=origin.test"));
    let r = get("host", "www.shop.test:8080").await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (200, "secure sni=www.shop.test")
    );
    // Without sni the chain is checked and the names are not (HAProxy).
    let r = get("nosni", "x.test").await;
    assert_eq!((r.status, r.body.as_str()), (200, "secure sni=-"));
    // A name the certificate does not carry, or a CA that did not sign it:
    // the handshake fails and the client gets HAProxy's 503.
    let r = get("wrongname", "x.test").await;
    assert_eq!(r.status, 503);
    let r = get("stranger", "x.test").await;
    assert_eq!(r.status, 503);
    let r = get("none", "x.test").await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (200, "secure sni=anything.test")
    );
    let snis = tls_origin.seen_sni();
    assert_eq!(
        snis,
        [
            Some("origin.test".to_owned()),
            Some("www.shop.test".to_owned()),
            None,
            Some("anything.test".to_owned())
        ],
        "failed handshakes never reached HTTP"
    );
    let forwarded = &tls_origin.seen.lock().unwrap()[0].1;
    assert_eq!(forwarded.get("host").unwrap(), "whatever.test");
}

#[tokio::test]
async fn health_checks_run_over_tls() {
    let pki = Pki::new("Origin CA");
    let cert = pki.issue("origin.pem", &["origin.test"]);
    let tls_origin = TlsOrigin::start("secure", &cert.path).await;
    let plain = Origin::start("plain").await;
    let port = free_port();
    // `ssl` checks in TLS; `check-ssl` forces TLS on a plain server, whose
    // check then fails (Layer6) and takes it DOWN.
    let config = format!(
        "{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port}\n    use_backend plain if {{ path_beg /plain }}\n    default_backend secure\n\
         backend secure\n    option httpchk GET /health\n    server o {} ssl verify required ca-file {} check inter 100ms fall 1 rise 1\n\
         backend plain\n    server p {} check check-ssl verify none inter 100ms fall 1 rise 1\n",
        tls_origin.addr,
        display(&pki.ca_path()),
        plain.addr
    );
    let _gw = start(&config, port);
    let checks = || {
        tls_origin
            .seen
            .lock()
            .unwrap()
            .iter()
            // Checks are HTTP/1.0 without a Host (as HAProxy sends them);
            // proxied requests carry the client's Host.
            .filter(|(_, h)| h.get("host").is_none())
            .count()
    };
    switchyard_e2e::wait_until(
        "two HTTP checks through TLS",
        Duration::from_secs(10),
        || checks() >= 2,
    )
    .await;
    let c = switchyard_e2e::client::client();
    let r = switchyard_e2e::client::get(&c, &format!("http://127.0.0.1:{port}/"), &[])
        .await
        .unwrap();
    assert_eq!((r.status, r.body.as_str()), (200, "secure sni=-"));
    // `fall 1`: DOWN at the first failed check (polled, as a loaded
    // machine may run it late).
    switchyard_e2e::wait_until_async(
        "the TLS check of a plain server fails (503)",
        Duration::from_secs(10),
        || async {
            let r = switchyard_e2e::client::get(&c, &format!("http://127.0.0.1:{port}/plain"), &[])
                .await
                .unwrap();
            r.status == 503
        },
    )
    .await;
}

/// What one TLS client hello offered: its SNI and its ALPN list.
type Hello = (Option<String>, Vec<String>);

/// A TLS server that keeps what each client hello offered, completes the
/// handshake (agreeing on no protocol) and answers any request with a 200.
async fn hello_recorder(pem: &Path) -> (SocketAddr, Arc<Mutex<Vec<Hello>>>) {
    let bytes = std::fs::read(pem).unwrap();
    use rustls::pki_types::pem::PemObject;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&bytes)
        .map(|c| c.unwrap())
        .collect();
    let key = rustls::pki_types::PrivateKeyDer::from_pem_slice(&bytes).unwrap();
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hellos = Arc::new(Mutex::new(Vec::new()));
    let seen = hellos.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let (config, seen) = (config.clone(), seen.clone());
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let acceptor =
                    tokio_rustls::LazyConfigAcceptor::new(rustls::server::Acceptor::default(), tcp);
                let Ok(start) = acceptor.await else { return };
                let hello = start.client_hello();
                let alpn = hello
                    .alpn()
                    .map(|list| {
                        list.map(|p| String::from_utf8_lossy(p).into_owned())
                            .collect()
                    })
                    .unwrap_or_default();
                seen.lock()
                    .unwrap()
                    .push((hello.server_name().map(str::to_owned), alpn));
                let Ok(mut tls) = start.into_stream(config).await else {
                    return;
                };
                let mut buf = [0u8; 1024];
                if matches!(tls.read(&mut buf).await, Ok(n) if n > 0) {
                    let _ = tls
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                        .await;
                    let _ = tls.shutdown().await;
                }
            });
        }
    });
    (addr, hellos)
}

#[tokio::test]
async fn check_sni_and_check_alpn_go_into_the_checks_handshake() {
    let pki = Pki::new("Origin CA");
    let cert = pki.issue("origin.pem", &["origin.test"]);
    let (l6, l6_hellos) = hello_recorder(&cert.path).await;
    let (l7, l7_hellos) = hello_recorder(&cert.path).await;
    let port = free_port();
    // The traffic's `sni` and `alpn` are the server's; a bare TLS check
    // sends `check-sni` and offers `check-alpn`; an HTTP check without
    // `check-alpn` offers the server's `alpn`.
    let config = format!(
        "{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port}\n    default_backend layer6\n\
         backend layer6\n    server a {l6} ssl verify none sni str(traffic.test) alpn http/1.1 check check-sni l6.check.test check-alpn x-check,http/1.0 inter 100ms\n\
         backend layer7\n    option httpchk GET /health\n    server b {l7} ssl verify none alpn http/1.1 check check-sni l7.check.test inter 100ms\n",
    );
    let _gw = start(&config, port);
    let wanted_l6: Hello = (
        Some("l6.check.test".to_owned()),
        vec!["x-check".to_owned(), "http/1.0".to_owned()],
    );
    let wanted_l7: Hello = (
        Some("l7.check.test".to_owned()),
        vec!["http/1.1".to_owned()],
    );
    switchyard_e2e::wait_until(
        "two checks of each server with check-sni and check-alpn",
        Duration::from_secs(10),
        || {
            let l6 = l6_hellos.lock().unwrap();
            let l7 = l7_hellos.lock().unwrap();
            l6.len() >= 2 && l7.len() >= 2
        },
    )
    .await;
    assert!(
        l6_hellos.lock().unwrap().iter().all(|h| *h == wanted_l6),
        "{:?}",
        l6_hellos.lock().unwrap()
    );
    assert!(
        l7_hellos.lock().unwrap().iter().all(|h| *h == wanted_l7),
        "{:?}",
        l7_hellos.lock().unwrap()
    );
}

/// Starts `switchyard -db -f CONFIG` in `dir`, expecting it to refuse to
/// start: a gateway still running after 10 s is killed (by its PID) and the
/// test fails.
fn run_bounded(dir: &Path, config: &str) -> std::process::Output {
    let mut child = std::process::Command::new(switchyard_e2e::switchyard_binary())
        .args(["-db", "-f", config])
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("switchyard started with {config} instead of refusing it");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn config_check_and_startup_name_the_problem() {
    let pki = Pki::new("CA");
    let dir = pki.dir.path();
    let port = free_port();
    // HAProxy 2.6 verifies servers by default and wants a CA file.
    std::fs::write(
        dir.join("noca.cfg"),
        format!("{DEFAULTS}backend b\n    server s1 127.0.0.1:{port} ssl\n"),
    )
    .unwrap();
    let out = run_in(dir, &["-c", "-f", "noca.cfg"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("noca.cfg:7:12: error: 'server b/s1' : verify is enabled by default but no CA file specified"),
        "{err}"
    );
    // HTTP checks speak HTTP/1.1: `check-alpn h2` (HAProxy's HTTP/2
    // checks) is refused with them.
    std::fs::write(
        dir.join("h2check.cfg"),
        format!("{DEFAULTS}backend b\n    option httpchk\n    server s1 127.0.0.1:{port} ssl verify none check check-alpn h2,http/1.1\n"),
    )
    .unwrap();
    let out = run_in(dir, &["-c", "-f", "h2check.cfg"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("'server b/s1' : 'check-alpn h2' with HTTP health checks is not supported by switchyard yet"),
        "{err}"
    );
    // A certificate whose key belongs to another one: refused at startup,
    // naming the file.
    let a = pki.issue("a.pem", &["a.test"]);
    let b = pki.issue("b.pem", &["b.test"]);
    let a_text = std::fs::read_to_string(&a.path).unwrap();
    let b_text = std::fs::read_to_string(&b.path).unwrap();
    let cert_a = &a_text[..a_text.find("-----BEGIN PRIVATE KEY").unwrap()];
    let key_b = &b_text[b_text.find("-----BEGIN PRIVATE KEY").unwrap()..];
    std::fs::write(dir.join("mixed.pem"), format!("{cert_a}{key_b}")).unwrap();
    std::fs::write(
        dir.join("mixed.cfg"),
        format!("{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port} ssl crt mixed.pem\n"),
    )
    .unwrap();
    let out = run_bounded(dir, "mixed.cfg");
    let err = stderr(&out);
    assert!(!out.status.success());
    assert!(
        err.contains("'mixed.pem': the private key does not match the certificate"),
        "{err}"
    );
    // What the gateway reads but does not do is refused, never ignored.
    std::fs::write(
        dir.join("unbuilt.cfg"),
        format!(
            "{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port} ssl crt a.pem verify required ca-file ca.pem\n    default_backend b\n\
             backend b\n    server s1 127.0.0.1:{port} ssl verify none sni ssl_fc_sni alpn h2\n"
        ),
    )
    .unwrap();
    let out = run_bounded(dir, "unbuilt.cfg");
    let err = stderr(&out);
    assert!(!out.status.success());
    for (line, refused) in [
        (10, "error: 'alpn h2' toward servers"),
        (10, "error: the sni expression 'ssl_fc_sni'"),
    ] {
        let place = format!("unbuilt.cfg:{line}:");
        assert!(
            err.lines()
                .any(|l| l.starts_with(&place) && l.contains(refused)),
            "{place} {refused}:\n{err}"
        );
    }
    std::fs::write(dir.join("junk.pem"), "-----BEGIN CERTIFICATE-----\nnope\n").unwrap();
    std::fs::write(
        dir.join("junk.cfg"),
        format!("{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port} ssl crt junk.pem\n"),
    )
    .unwrap();
    let out = run_bounded(dir, "junk.cfg");
    let err = stderr(&out);
    assert!(!out.status.success());
    assert!(err.contains("'junk.pem': not a valid PEM file"), "{err}");
}

#[tokio::test]
async fn curl_speaks_h2_through_the_gateway() {
    if std::process::Command::new("curl")
        .arg("--version")
        .output()
        .is_err()
    {
        switchyard_e2e::cannot_run_here(
            "curl is not installed: the curl check cannot run (the rustls client tests cover the same paths)",
        );
        return;
    }
    let pki = Pki::new("Switchyard test CA");
    let site = pki.issue("site.pem", &["site.test"]);
    let origin = Origin::start("app").await;
    let port = free_port();
    let config = format!(
        "{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port} ssl crt {} alpn h2,http/1.1\n    default_backend app\nbackend app\n    server s {}\n",
        display(&site.path),
        origin.addr
    );
    let _gw = start(&config, port);
    let ca = pki.ca_path();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("curl")
            .args(["-sS", "--http2", "--cacert"])
            .arg(&ca)
            .args([
                "--resolve",
                &format!("site.test:{port}:127.0.0.1"),
                "-w",
                " %{http_version}",
                &format!("https://site.test:{port}/curl"),
            ])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(text, "app\n 2");
}

#[tokio::test]
async fn proto_h2_over_tls_toward_a_server() {
    let pki = Pki::new("Origin CA");
    let cert = pki.issue("origin.pem", &["origin.test"]);
    let tls_origin = TlsOrigin::start_with("h2", &cert.path, true).await;
    let port = free_port();
    let config = format!(
        "{DEFAULTS}listen l\n    bind 127.0.0.1:{port}\n    server o {} ssl verify required ca-file {} sni str(origin.test) proto h2\n",
        tls_origin.addr,
        display(&pki.ca_path())
    );
    let _gw = start(&config, port);
    let c = switchyard_e2e::client::client();
    let r = switchyard_e2e::client::get(
        &c,
        &format!("http://127.0.0.1:{port}/p?q=1"),
        &[("Host", "www.shop.test")],
    )
    .await
    .unwrap();
    assert_eq!(
        (r.status, r.body.as_str()),
        (
            200,
            "h2 sni=origin.test HTTP/2.0 https://www.shop.test/p?q=1"
        )
    );
}
