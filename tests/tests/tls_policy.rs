//! TLS policy end to end (issue #23): `ssl-default-bind-*`,
//! `ssl-default-server-*`, `ssl-server-verify`, the `bind`/`server`
//! options `ciphers`, `ciphersuites`, `curves`, `ecdhe`, `ssl-min-ver`,
//! `ssl-max-ver`, `no-tlsv1x`, `force-tlsv1x`, `no-tls-tickets`,
//! `prefer-client-ciphers`, `crt` on `server`, `tune.ssl.*`, each shown
//! by what a rustls client negotiates with the real binary, and the
//! keywords rustls gives no meaning shown by their warning.

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
use hyper_util::rt::TokioIo;
use rustls::client::{ClientSessionMemoryCache, Resumption};
use rustls::crypto::ring::{cipher_suite, kx_group};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, HandshakeKind, SupportedProtocolVersion};
use switchyard_e2e::gateway::{free_port, Gateway};
use switchyard_e2e::origin::Origin;
use switchyard_e2e::pki::{AnyCertificate, Pki};
use switchyard_e2e::{run_in, stderr};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsConnector;

const DEFAULTS: &str = "defaults\n    mode http\n    timeout connect 2s\n    timeout client 10s\n    timeout server 10s\n";

const TLS12: &[&SupportedProtocolVersion] = &[&rustls::version::TLS12];
const TLS13: &[&SupportedProtocolVersion] = &[&rustls::version::TLS13];
const BOTH: &[&SupportedProtocolVersion] = &[&rustls::version::TLS13, &rustls::version::TLS12];

/// A client config with `versions`, the provider `shape` leaves, and an
/// in-memory session store (so that a second connection may resume).
fn client(
    versions: &[&'static SupportedProtocolVersion],
    shape: impl FnOnce(&mut CryptoProvider),
) -> Arc<ClientConfig> {
    let mut provider = rustls::crypto::ring::default_provider();
    shape(&mut provider);
    let mut config = ClientConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(versions)
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCertificate))
        .with_no_client_auth();
    config.resumption = Resumption::store(Arc::new(ClientSessionMemoryCache::new(16)));
    Arc::new(config)
}

/// What one handshake negotiated, and the answer to `GET /`.
#[derive(Debug)]
struct Negotiated {
    version: String,
    suite: String,
    group: String,
    kind: Option<HandshakeKind>,
    body: String,
}

async fn connect(port: u16, config: &Arc<ClientConfig>) -> Result<Negotiated, String> {
    let tcp = TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| e.to_string())?;
    let tls = TlsConnector::from(config.clone())
        .connect(ServerName::try_from("site.test").unwrap(), tcp)
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    let conn = tls.get_ref().1;
    let version = format!("{:?}", conn.protocol_version().unwrap());
    let suite = format!("{:?}", conn.negotiated_cipher_suite().unwrap().suite());
    let group = conn
        .negotiated_key_exchange_group()
        .map(|g| format!("{:?}", g.name()))
        .unwrap_or_default();
    let kind = conn.handshake_kind();
    let (mut sender, driver) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(driver);
    let req = Request::get("/")
        .header("host", "site.test")
        .body(Empty::<Bytes>::new())
        .unwrap();
    let response = sender.send_request(req).await.map_err(|e| e.to_string())?;
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Ok(Negotiated {
        version,
        suite,
        group,
        kind,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// A gateway terminating TLS on a fresh port: `global` lines, then a
/// frontend `bind … ssl crt site.pem OPTIONS` in front of `origin`.
fn gateway(pki: &Pki, global: &str, options: &str, origin: SocketAddr) -> (Gateway, u16) {
    let site = pki.dir.path().join("site.pem");
    if !site.exists() {
        pki.issue("site.pem", &["site.test"]);
    }
    let port = free_port();
    let config = format!(
        "global\n{global}\n{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port} ssl crt {} {options}\n    default_backend app\nbackend app\n    server s {origin}\n",
        site.display()
    );
    let gw = Gateway::start(&config, format!("127.0.0.1:{port}").parse().unwrap());
    (gw, port)
}

#[tokio::test]
async fn versions_follow_min_max_no_and_force() {
    let pki = Pki::new("CA");
    let origin = Origin::start("app").await;
    let any = |v| client(v, |_| {});
    // ssl-min-ver TLSv1.3 on the line: a TLS 1.2-only client is refused.
    let (_gw, port) = gateway(&pki, "", "ssl-min-ver TLSv1.3", origin.addr);
    assert!(connect(port, &any(TLS12)).await.is_err());
    assert_eq!(connect(port, &any(BOTH)).await.unwrap().version, "TLSv1_3");
    // The global default applies to every bind line.
    let (_gw, port) = gateway(
        &pki,
        "    ssl-default-bind-options no-sslv3 no-tlsv10 no-tlsv11 no-tlsv13",
        "",
        origin.addr,
    );
    let n = connect(port, &any(BOTH)).await.unwrap();
    assert_eq!((n.version.as_str(), n.body.as_str()), ("TLSv1_2", "app\n"));
    assert!(connect(port, &any(TLS13)).await.is_err());
    // force-tlsv12 and ssl-max-ver TLSv1.2 keep TLS 1.2 only.
    for option in ["force-tlsv12", "ssl-max-ver TLSv1.2"] {
        let (_gw, port) = gateway(&pki, "", option, origin.addr);
        assert_eq!(connect(port, &any(BOTH)).await.unwrap().version, "TLSv1_2");
        assert!(connect(port, &any(TLS13)).await.is_err(), "{option}");
    }
    let (_gw, port) = gateway(&pki, "", "force-tlsv13", origin.addr);
    assert!(connect(port, &any(TLS12)).await.is_err());
}

#[tokio::test]
async fn the_negotiated_cipher_is_the_one_configured() {
    let pki = Pki::new("CA");
    let origin = Origin::start("app").await;
    let any = |v| client(v, |_| {});
    // rcgen's keys are ECDSA: the ECDSA suites are the ones that serve.
    let (_gw, port) = gateway(
        &pki,
        "    ssl-default-bind-ciphers ECDHE-ECDSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256\n    ssl-default-bind-ciphersuites TLS_AES_128_GCM_SHA256",
        "",
        origin.addr,
    );
    let n = connect(port, &any(TLS12)).await.unwrap();
    assert_eq!(n.suite, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256");
    assert_eq!(
        connect(port, &any(TLS13)).await.unwrap().suite,
        "TLS13_AES_128_GCM_SHA256"
    );
    // A client offering only another suite is refused.
    let aes = client(TLS12, |p| {
        p.cipher_suites = vec![cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384]
    });
    assert!(connect(port, &aes).await.is_err());
    // The line's own `ciphers` (an OpenSSL keyword string) wins over the
    // global default.
    let (_gw, port) = gateway(
        &pki,
        "    ssl-default-bind-ciphers ECDHE-ECDSA-CHACHA20-POLY1305",
        "ciphers HIGH:!aNULL:!MD5:!CHACHA20:!AES256",
        origin.addr,
    );
    let n = connect(port, &any(TLS12)).await.unwrap();
    assert_eq!(n.suite, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256");
}

#[tokio::test]
async fn server_order_unless_prefer_client_ciphers() {
    let pki = Pki::new("CA");
    let origin = Origin::start("app").await;
    // The client prefers AES-128; the line lists AES-256 first.
    let aes128_first = client(TLS13, |p| {
        p.cipher_suites = vec![
            cipher_suite::TLS13_AES_128_GCM_SHA256,
            cipher_suite::TLS13_AES_256_GCM_SHA384,
        ]
    });
    let suites = "ciphersuites TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256";
    let (_gw, port) = gateway(&pki, "", suites, origin.addr);
    let n = connect(port, &aes128_first).await.unwrap();
    assert_eq!(
        n.suite, "TLS13_AES_256_GCM_SHA384",
        "HAProxy's default: the server's order"
    );
    let (_gw, port) = gateway(
        &pki,
        "",
        &format!("{suites} prefer-client-ciphers"),
        origin.addr,
    );
    let n = connect(port, &aes128_first).await.unwrap();
    assert_eq!(n.suite, "TLS13_AES_128_GCM_SHA256");
}

#[tokio::test]
async fn curves_and_ecdhe_choose_the_key_exchange() {
    let pki = Pki::new("CA");
    let origin = Origin::start("app").await;
    let x25519_only = client(BOTH, |p| p.kx_groups = vec![kx_group::X25519]);
    for (global, option) in [
        ("", "curves X448:P-384"),
        ("", "ecdhe secp384r1"),
        ("    ssl-default-bind-curves P-384", ""),
    ] {
        let (_gw, port) = gateway(&pki, global, option, origin.addr);
        let n = connect(port, &client(BOTH, |_| {})).await.unwrap();
        assert_eq!(n.group, "secp384r1", "{global}{option}");
        assert!(connect(port, &x25519_only).await.is_err(), "{option}");
    }
}

#[tokio::test]
async fn tickets_cache_and_lifetime_decide_resumption() {
    let pki = Pki::new("CA");
    let origin = Origin::start("app").await;
    let resumed = |n: &Negotiated| n.kind == Some(HandshakeKind::Resumed);
    // Without a session cache, a TLS 1.2 session resumes by ticket only.
    let (_gw, port) = gateway(&pki, "    tune.ssl.cachesize 0", "", origin.addr);
    let c = client(TLS12, |_| {});
    assert!(!resumed(&connect(port, &c).await.unwrap()));
    assert!(
        resumed(&connect(port, &c).await.unwrap()),
        "resumed by ticket"
    );
    let (_gw, port) = gateway(
        &pki,
        "    tune.ssl.cachesize 0",
        "no-tls-tickets",
        origin.addr,
    );
    let c = client(TLS12, |_| {});
    connect(port, &c).await.unwrap();
    assert!(
        !resumed(&connect(port, &c).await.unwrap()),
        "no ticket, no cache"
    );
    // With the cache and no tickets, the session ID resumes it.
    let (_gw, port) = gateway(
        &pki,
        "    tune.ssl.cachesize 100",
        "no-tls-tickets",
        origin.addr,
    );
    let c = client(TLS12, |_| {});
    connect(port, &c).await.unwrap();
    assert!(
        resumed(&connect(port, &c).await.unwrap()),
        "resumed from the cache"
    );
    // tune.ssl.lifetime: a session older than it is not resumed (the
    // wait is the lifetime itself, in whole seconds).
    let (_gw, port) = gateway(&pki, "    tune.ssl.lifetime 1", "", origin.addr);
    for versions in [TLS12, TLS13] {
        let c = client(versions, |_| {});
        connect(port, &c).await.unwrap();
        assert!(resumed(&connect(port, &c).await.unwrap()));
        tokio::time::sleep(Duration::from_millis(2100)).await;
        assert!(!resumed(&connect(port, &c).await.unwrap()), "{versions:?}");
    }
}

/// Per connection: the suite, and the client certificate shown (if any).
type SeenHandshakes = Arc<Mutex<Vec<(String, Option<CertificateDer<'static>>)>>>;

/// A TLS origin that may ask for a client certificate (verified against
/// `client_ca`) and records, for each connection, the suite and whether a
/// certificate was shown.
struct RecordingOrigin {
    addr: SocketAddr,
    seen: SeenHandshakes,
    task: tokio::task::JoinHandle<()>,
}

impl RecordingOrigin {
    async fn start(pem: &Path, client_ca: Option<&Pki>) -> RecordingOrigin {
        use rustls::pki_types::pem::PemObject;
        let bytes = std::fs::read(pem).unwrap();
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&bytes)
            .map(|c| c.unwrap())
            .collect();
        let key = rustls::pki_types::PrivateKeyDer::from_pem_slice(&bytes).unwrap();
        let provider = switchyard_e2e::pki::provider();
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap();
        let builder = match client_ca {
            Some(ca) => builder.with_client_cert_verifier(
                WebPkiClientVerifier::builder_with_provider(Arc::new(ca.roots()), provider)
                    .build()
                    .unwrap(),
            ),
            None => builder.with_no_client_auth(),
        };
        let config = Arc::new(builder.with_single_cert(certs, key).unwrap());
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let task_seen = seen.clone();
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (acceptor, seen) = (acceptor.clone(), task_seen.clone());
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let conn = tls.get_ref().1;
                    let suite = format!("{:?}", conn.negotiated_cipher_suite().unwrap().suite());
                    let cert = conn.peer_certificates().map(|c| c[0].clone().into_owned());
                    seen.lock().unwrap().push((suite, cert));
                    let service = service_fn(|_req: Request<Incoming>| async {
                        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from("tls origin"))))
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        RecordingOrigin { addr, seen, task }
    }
}

impl Drop for RecordingOrigin {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// `GET /` through a plain frontend on `port`: the status.
async fn plain_get(port: u16) -> u16 {
    let c = switchyard_e2e::client::client();
    switchyard_e2e::client::get(&c, &format!("http://127.0.0.1:{port}/"), &[])
        .await
        .map(|r| r.status)
        .unwrap_or(0)
}

/// A gateway with a plain frontend and one TLS server line.
fn toward_server(global: &str, server: &str) -> (Gateway, u16) {
    let port = free_port();
    let config = format!(
        "global\n{global}\n{DEFAULTS}listen l\n    bind 127.0.0.1:{port}\n    server o {server}\n"
    );
    let gw = Gateway::start(&config, format!("127.0.0.1:{port}").parse().unwrap());
    (gw, port)
}

#[tokio::test]
async fn toward_servers_ciphers_versions_verify_and_client_certificate() {
    let server_pki = Pki::new("Origin CA");
    let origin_cert = server_pki.issue("origin.pem", &["origin.test"]);
    let client_pki = Pki::new("Client CA");
    let gateway_cert = client_pki.issue("gateway.pem", &["gateway.test"]);
    let origin = RecordingOrigin::start(&origin_cert.path, Some(&client_pki)).await;
    // ssl-server-verify none: no ca-file needed; crt shows the gateway's
    // certificate; ssl-default-server-* choose the suite.
    let (_gw, port) = toward_server(
        "    ssl-server-verify none\n    ssl-default-server-ciphers ECDHE-ECDSA-AES256-GCM-SHA384\n    ssl-default-server-options ssl-max-ver TLSv1.2 no-tls-tickets",
        &format!("{} ssl crt {}", origin.addr, gateway_cert.path.display()),
    );
    assert_eq!(plain_get(port).await, 200);
    {
        let seen = origin.seen.lock().unwrap();
        assert_eq!(seen[0].0, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384");
        assert_eq!(
            seen[0].1.as_ref(),
            Some(&gateway_cert.der),
            "the crt was shown"
        );
    }
    // Without `crt`, the origin (which requires a certificate) refuses:
    // under TLS 1.3 after the gateway's handshake ends, so the request
    // fails (502) rather than the connection (503).
    let (_gw, port) = toward_server(
        "    ssl-server-verify none",
        &format!(
            "{} ssl ciphersuites TLS_CHACHA20_POLY1305_SHA256",
            origin.addr
        ),
    );
    let status = plain_get(port).await;
    assert!(status == 502 || status == 503, "{status}");
    // `ssl-server-verify required` is the default: an unknown CA fails.
    let (_gw, port) = toward_server(
        "",
        &format!(
            "{} ssl verify required ca-file {} crt {} ciphersuites TLS_CHACHA20_POLY1305_SHA256",
            origin.addr,
            client_pki.ca_path().display(),
            gateway_cert.path.display()
        ),
    );
    assert_eq!(plain_get(port).await, 503);
    let (_gw, port) = toward_server(
        "    ssl-server-verify required",
        &format!(
            "{} ssl ca-file {} sni str(origin.test) crt {} ciphersuites TLS_CHACHA20_POLY1305_SHA256",
            origin.addr,
            server_pki.ca_path().display(),
            gateway_cert.path.display()
        ),
    );
    assert_eq!(plain_get(port).await, 200);
    let last = origin.seen.lock().unwrap().last().unwrap().0.clone();
    assert_eq!(last, "TLS13_CHACHA20_POLY1305_SHA256");
}

/// `switchyard -c` on `config` (in the PKI's directory): stderr and success.
fn check(dir: &Path, config: &str) -> (bool, String) {
    std::fs::write(dir.join("check.cfg"), config).unwrap();
    let out = run_in(dir, &["-c", "-f", "check.cfg"]);
    (out.status.success(), stderr(&out))
}

#[test]
fn what_rustls_has_no_meaning_for_is_warned_about() {
    let pki = Pki::new("CA");
    pki.issue("site.pem", &["site.test"]);
    let dir = pki.dir.path();
    let (ok, err) = check(
        dir,
        &format!(
            "global\n    tune.ssl.default-dh-param 2048\n    ssl-dh-param-file site.pem\n    ssl-engine rdrand\n    ssl-mode-async\n    \
             ssl-default-bind-ciphers ECDHE-ECDSA-AES128-GCM-SHA256:DHE-RSA-AES128-GCM-SHA256\n    ssl-default-bind-options ssl-min-ver TLSv1.0\n    tune.ssl.maxrecord 1419\n\
             {DEFAULTS}frontend fe\n    bind 127.0.0.1:1 ssl crt site.pem curves X448:X25519\n"
        ),
    );
    assert!(ok, "{err}");
    for (line, warning) in [
        (2, "'tune.ssl.default-dh-param' is ignored: rustls"),
        (3, "'ssl-dh-param-file' is ignored: rustls"),
        (4, "'ssl-engine' is ignored"),
        (5, "'ssl-mode-async' is ignored"),
        (6, "name(s) nothing rustls (switchyard's TLS library) has, so not offered: DHE-RSA-AES128-GCM-SHA256"),
        (7, "'TLSv1.0' enables versions below TLSv1.2"),
        (15, "curves: 1 name(s) nothing rustls"),
    ] {
        let place = format!("check.cfg:{line}:");
        assert!(
            err.lines().any(|l| l.starts_with(&place) && l.contains("warning") && l.contains(warning)),
            "{place} {warning}:\n{err}"
        );
    }
    for (option, error) in [
        ("allow-0rtt", "early data can be replayed"),
        ("force-tlsv10", "speaks TLSv1.2 and TLSv1.3 only"),
        (
            "ciphers DHE-RSA-AES128-SHA:RC4",
            "it offers ECDHE-ECDSA-AES256-GCM-SHA384",
        ),
        (
            "ciphersuites TLS_AES_128_CCM_SHA256",
            "it offers TLS_AES_256_GCM_SHA384",
        ),
        ("curves P-521", "it offers X25519"),
    ] {
        let (ok, err) = check(
            dir,
            &format!("{DEFAULTS}frontend fe\n    bind 127.0.0.1:1 ssl crt site.pem {option}\n"),
        );
        assert!(!ok && err.contains(error), "{option}: {err}");
    }
}

#[test]
fn debians_stock_configuration_is_accepted() {
    let root = switchyard_e2e::workspace_root().join("fixtures/configs/realworld");
    let out = run_in(&root, &["-c", "-f", "01-debian-default.cfg"]);
    assert!(out.status.success(), "{}", stderr(&out));
}
