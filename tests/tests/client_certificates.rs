//! Client certificates on `bind … ssl` end to end (issue #23): `verify
//! required|optional`, `ca-file`, `ca-verify-file`, `crl-file`, and the
//! `ssl_c_*`/`ssl_fc_cipher` fetches in ACLs and `http-request
//! set-header`, with curl's `--cert` and a rustls client, certificates made
//! by rcgen in the test. The header values are HAProxy 2.6.12's for the
//! same certificate (checked by hand: HAProxy's `set-header` does not
//! apply `%{+Q}`, so the DN arrives unquoted).

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::Request;
use hyper_util::rt::TokioIo;
use rcgen::{CertificateParams, DnType, SerialNumber};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::ClientConfig;
use switchyard_e2e::gateway::{free_port, Gateway};
use switchyard_e2e::origin::Origin;
use switchyard_e2e::pki::{AnyCertificate, Issued, Pki};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

const DEFAULTS: &str = "defaults\n    mode http\n    timeout connect 2s\n    timeout client 10s\n    timeout server 10s\n";

/// A client certificate for `/C=FR/O=Example/CN=NAME`, serial `serial`.
fn client_cert(ca: &Pki, file: &str, name: &str, serial: u64) -> Issued {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(DnType::CountryName, "FR");
    params
        .distinguished_name
        .push(DnType::OrganizationName, "Example");
    params.distinguished_name.push(DnType::CommonName, name);
    params.serial_number = Some(SerialNumber::from(serial));
    params.not_before = rcgen::date_time_ymd(2024, 1, 2);
    params.not_after = rcgen::date_time_ymd(2040, 5, 6);
    ca.issue_with(file, params)
}

/// `GET path` over TLS showing `cert` (a PEM of chain and key) if given:
/// the status and body, or why it failed.
async fn get(port: u16, cert: Option<&Path>, path: &str) -> Result<(u16, String), String> {
    let builder = ClientConfig::builder_with_provider(switchyard_e2e::pki::provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCertificate));
    let config = match cert {
        Some(pem) => {
            let bytes = std::fs::read(pem).unwrap();
            let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&bytes)
                .map(|c| c.unwrap())
                .collect();
            let key = PrivateKeyDer::from_pem_slice(&bytes).unwrap();
            builder.with_client_auth_cert(chain, key).unwrap()
        }
        None => builder.with_no_client_auth(),
    };
    let tcp = TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| e.to_string())?;
    let tls = TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("site.test").unwrap(), tcp)
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    let (mut sender, driver) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(driver);
    let req = Request::get(path)
        .header("host", "site.test")
        .body(Empty::<Bytes>::new())
        .unwrap();
    let response = sender.send_request(req).await.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// A gateway terminating TLS with `bind_options`, setting the client
/// certificate headers, denying `/private` to clients without one.
fn gateway(pki: &Pki, bind_options: &str, origin: &Origin) -> (Gateway, u16) {
    let site = pki.issue("site.pem", &["site.test"]);
    let port = free_port();
    let config = format!(
        "{DEFAULTS}frontend fe\n    bind 127.0.0.1:{port} ssl crt {} {bind_options}\n\
         http-request set-header X-SSL-Client-DN %{{+Q}}[ssl_c_s_dn]\n\
         http-request set-header X-SSL-Issuer %[ssl_c_i_dn]\n\
         http-request set-header X-SSL-Used %[ssl_c_used]\n\
         http-request set-header X-SSL-Verify %[ssl_c_verify]\n\
         http-request set-header X-SSL-Dates %[ssl_c_notbefore]-%[ssl_c_notafter]\n\
         http-request set-header X-SSL-Cipher %[ssl_fc_cipher]\n\
         http-request deny if {{ path_beg /private }} !{{ ssl_c_used }}\n\
         http-request deny if {{ path_beg /ops }} !{{ ssl_c_s_dn -m end CN=operator }}\n\
         default_backend app\nbackend app\n    server s {}\n",
        site.path.display(),
        origin.addr
    );
    let gw = Gateway::start(&config, format!("127.0.0.1:{port}").parse().unwrap());
    (gw, port)
}

#[tokio::test]
async fn verify_required_asks_for_a_certificate_the_ca_signed() {
    let server_pki = Pki::new("Server CA");
    let clients = Pki::new("Client CA");
    let alice = client_cert(&clients, "alice.pem", "alice", 7);
    let stranger_ca = Pki::new("Other CA");
    let stranger = client_cert(&stranger_ca, "stranger.pem", "stranger", 8);
    let origin = Origin::start("app").await;
    let options = format!("verify required ca-file {}", clients.ca_path().display());
    let (_gw, port) = gateway(&server_pki, &options, &origin);
    let (status, _) = get(port, Some(&alice.path), "/").await.unwrap();
    assert_eq!(status, 200);
    let seen = origin.seen();
    let headers = &seen.last().unwrap();
    let one = |name: &str| headers.header_values(name).join(",");
    assert_eq!(one("x-ssl-client-dn"), "/C=FR/O=Example/CN=alice");
    assert_eq!(one("x-ssl-issuer"), "/CN=Client CA");
    assert_eq!(one("x-ssl-used"), "1");
    assert_eq!(one("x-ssl-verify"), "0");
    assert_eq!(one("x-ssl-dates"), "240102000000Z-400506000000Z");
    assert_eq!(one("x-ssl-cipher"), "TLS_AES_256_GCM_SHA384");
    // No certificate, or one of another CA: no answer.
    assert!(get(port, None, "/").await.is_err());
    assert!(get(port, Some(&stranger.path), "/").await.is_err());
    // An ACL on the subject.
    let operator = client_cert(&clients, "operator.pem", "operator", 9);
    assert_eq!(get(port, Some(&alice.path), "/ops").await.unwrap().0, 403);
    assert_eq!(
        get(port, Some(&operator.path), "/ops").await.unwrap().0,
        200
    );
}

#[tokio::test]
async fn verify_optional_lets_clients_without_one_in() {
    let server_pki = Pki::new("Server CA");
    let clients = Pki::new("Client CA");
    let alice = client_cert(&clients, "alice.pem", "alice", 7);
    let origin = Origin::start("app").await;
    let options = format!("verify optional ca-file {}", clients.ca_path().display());
    let (_gw, port) = gateway(&server_pki, &options, &origin);
    assert_eq!(get(port, None, "/").await.unwrap().0, 200);
    assert_eq!(
        origin.seen().last().unwrap().header_values("x-ssl-used"),
        ["0"]
    );
    assert_eq!(get(port, None, "/private").await.unwrap().0, 403);
    assert_eq!(
        get(port, Some(&alice.path), "/private").await.unwrap().0,
        200
    );
    // Without verify, no certificate is asked for: ssl_c_used is false.
    let (_gw, port) = gateway(&server_pki, "", &origin);
    assert_eq!(
        get(port, Some(&alice.path), "/private").await.unwrap().0,
        403
    );
}

#[tokio::test]
async fn crl_file_refuses_revoked_certificates_and_ca_verify_file_adds_cas() {
    let server_pki = Pki::new("Server CA");
    let clients = Pki::new("Client CA");
    let alice = client_cert(&clients, "alice.pem", "alice", 7);
    let revoked = client_cert(&clients, "revoked.pem", "revoked", 66);
    let crl = rcgen::CertificateRevocationListParams {
        this_update: rcgen::date_time_ymd(2024, 1, 1),
        next_update: rcgen::date_time_ymd(2040, 1, 1),
        crl_number: SerialNumber::from(1u64),
        issuing_distribution_point: None,
        revoked_certs: vec![rcgen::RevokedCertParams {
            serial_number: SerialNumber::from(66u64),
            revocation_time: rcgen::date_time_ymd(2024, 6, 1),
            reason_code: None,
            invalidity_date: None,
        }],
        key_identifier_method: rcgen::KeyIdMethod::Sha256,
    }
    .signed_by(&clients.ca, &clients.ca_key)
    .unwrap();
    let crl_path = clients.dir.path().join("crl.pem");
    std::fs::write(&crl_path, crl.pem().unwrap()).unwrap();
    let partners = Pki::new("Partner CA");
    let partner = client_cert(&partners, "partner.pem", "partner", 5);
    let origin = Origin::start("app").await;
    let options = format!(
        "verify required ca-file {} crl-file {}",
        clients.ca_path().display(),
        crl_path.display()
    );
    let (_gw, port) = gateway(&server_pki, &options, &origin);
    assert_eq!(get(port, Some(&alice.path), "/").await.unwrap().0, 200);
    assert!(get(port, Some(&revoked.path), "/").await.is_err());
    let options = format!(
        "verify required ca-file {} ca-verify-file {}",
        clients.ca_path().display(),
        partners.ca_path().display()
    );
    let (_gw, port) = gateway(&server_pki, &options, &origin);
    assert_eq!(get(port, Some(&partner.path), "/").await.unwrap().0, 200);
    assert_eq!(get(port, Some(&alice.path), "/").await.unwrap().0, 200);
}

#[tokio::test]
async fn curl_shows_its_certificate() {
    if std::process::Command::new("curl")
        .arg("--version")
        .output()
        .is_err()
    {
        switchyard_e2e::cannot_run_here(
            "curl is not installed: the curl --cert check cannot run (the rustls client tests cover the same paths)",
        );
        return;
    }
    let server_pki = Pki::new("Server CA");
    let clients = Pki::new("Client CA");
    let alice = client_cert(&clients, "alice.pem", "alice", 7);
    let origin = Origin::start("app").await;
    let options = format!("verify required ca-file {}", clients.ca_path().display());
    let (_gw, port) = gateway(&server_pki, &options, &origin);
    let (ca, cert) = (server_pki.ca_path(), alice.path.clone());
    let curl = move |with_cert: bool| {
        let mut cmd = std::process::Command::new("curl");
        cmd.args(["-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert"])
            .arg(&ca)
            .args(["--resolve", &format!("site.test:{port}:127.0.0.1")]);
        if with_cert {
            cmd.arg("--cert").arg(&cert);
        }
        cmd.arg(format!("https://site.test:{port}/"));
        cmd.output().unwrap()
    };
    let curl2 = curl.clone();
    let out = tokio::task::spawn_blocking(move || curl(true))
        .await
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "200",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        origin
            .seen()
            .last()
            .unwrap()
            .header_values("x-ssl-client-dn"),
        ["/C=FR/O=Example/CN=alice"]
    );
    let out = tokio::task::spawn_blocking(move || curl2(false))
        .await
        .unwrap();
    assert!(!out.status.success(), "no certificate, no answer");
}

#[test]
fn verify_without_a_ca_file_is_refused_by_the_check() {
    let pki = Pki::new("CA");
    pki.issue("site.pem", &["site.test"]);
    let dir = pki.dir.path();
    std::fs::write(
        dir.join("noca.cfg"),
        format!("{DEFAULTS}frontend fe\n    bind 127.0.0.1:1 ssl crt site.pem verify optional\n"),
    )
    .unwrap();
    let out = switchyard_e2e::run_in(dir, &["-c", "-f", "noca.cfg"]);
    let err = switchyard_e2e::stderr(&out);
    assert!(!out.status.success());
    assert!(
        err.contains("noca.cfg:7:46: error: 'verify optional' is enabled but no CA file specified"),
        "{err}"
    );
}
