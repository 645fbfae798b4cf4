//! TLS toward servers: `server … ssl [verify none|required] [ca-file F]
//! [sni EXPR] [alpn LIST]`. As in HAProxy 2.6, `verify required` is the
//! default and needs a `ca-file`; the chain is checked against it, and the
//! certificate's names are checked against the SNI when one is sent
//! ("when no name is found, the certificate's names are ignored").
//! `sni` takes `req.hdr(host)` (the request's Host without its port,
//! where HAProxy would send the port too unless `,field(1,:)` follows) or
//! `str(NAME)`.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use http::HeaderMap;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use switchyard_grammar::ast::server::ServerOptions;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use super::pem::{load_ca_file, load_certified_key};
use super::TlsError;

/// Where the SNI sent to a server comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SniSource {
    /// No `sni`: none is sent.
    None,
    /// `sni str(NAME)`.
    Literal(String),
    /// `sni req.hdr(host)`.
    HostHeader,
}

impl SniSource {
    /// Reads the `sni` expression; only the forms Switchyard evaluates.
    pub fn parse(expr: &str) -> Result<SniSource, String> {
        let compact: String = expr.chars().filter(|c| !c.is_whitespace()).collect();
        // `,field(1,:)` is HAProxy's idiom to drop the port; Switchyard
        // drops it in any case (a name with a port is no valid SNI).
        let host = compact
            .strip_suffix(",field(1,:)")
            .unwrap_or(&compact)
            .to_ascii_lowercase();
        if host == "req.hdr(host)" || host == "hdr(host)" {
            return Ok(SniSource::HostHeader);
        }
        if let Some(inner) = compact
            .strip_prefix("str(")
            .and_then(|rest| rest.strip_suffix(')'))
        {
            if !inner.is_empty() && !inner.contains([',', '(', ')']) {
                return Ok(SniSource::Literal(inner.to_owned()));
            }
        }
        Err(format!(
            "the sni expression '{expr}' is not supported by switchyard yet; use 'req.hdr(host)' or 'str(NAME)'"
        ))
    }
}

/// The TLS settings of one server.
pub struct ServerTls {
    /// Tells servers' TLS settings apart in the connection pool.
    pub id: usize,
    connector: TlsConnector,
    sni: SniSource,
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTls")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// One connection's TLS: the settings and the SNI for this request.
#[derive(Clone)]
pub struct TlsTarget {
    pub tls: Arc<ServerTls>,
    pub sni: Option<String>,
}

static NEXT_ID: AtomicUsize = AtomicUsize::new(0);

impl ServerTls {
    /// The TLS settings of a server line (its options laid over its
    /// `default-server`).
    pub fn build(options: &ServerOptions) -> Result<ServerTls, TlsError> {
        let provider = super::policy::provider_for(&options.tls);
        let versions = super::policy::protocol_versions(&options.tls)?;
        let verify_none = options.verify.as_ref().is_some_and(|v| v.text == "none");
        let verifier: Arc<dyn ServerCertVerifier> = if verify_none {
            Arc::new(ServerCertPolicy {
                roots: None,
                provider: provider.clone(),
            })
        } else {
            let Some(ca_file) = &options.ca_file else {
                return Err(TlsError::Config(
                    "verify is enabled by default but no CA file specified; set 'ca-file' or 'verify none'"
                        .to_owned(),
                ));
            };
            if ca_file.text.starts_with('@') {
                return Err(TlsError::Config(format!(
                    "'ca-file {}' is not supported by switchyard yet; give a PEM file of CA certificates",
                    ca_file.text
                )));
            }
            Arc::new(ServerCertPolicy {
                roots: Some(Arc::new(load_ca_file(Path::new(&ca_file.text))?)),
                provider: provider.clone(),
            })
        };
        let sni = match &options.sni {
            Some(word) => SniSource::parse(&word.text).map_err(TlsError::Config)?,
            None => SniSource::None,
        };
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&versions)
            .map_err(|e| TlsError::Config(format!("TLS versions: {e}")))?
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        let mut config = match &options.crt {
            Some(crt) => {
                let key = load_certified_key(Path::new(&crt.text), &provider)?;
                builder.with_client_cert_resolver(Arc::new(ClientCertificate(key)))
            }
            None => builder.with_no_client_auth(),
        };
        if options.tls.no_tls_tickets {
            config.resumption = config
                .resumption
                .tls12_resumption(rustls::client::Tls12Resumption::SessionIdOnly);
        }
        config.max_fragment_size = options.tls_tuning.maxrecord;
        config.alpn_protocols = options
            .alpn
            .iter()
            .flatten()
            .map(|p| p.as_bytes().to_vec())
            .collect();
        // `proto h2` over TLS: servers expect ALPN to say so.
        if config.alpn_protocols.is_empty() && options.proto.as_deref() == Some("h2") {
            config.alpn_protocols = vec![b"h2".to_vec()];
        }
        Ok(ServerTls {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            connector: TlsConnector::from(Arc::new(config)),
            sni,
        })
    }

    /// The SNI for a request with `headers`.
    pub fn sni_for(&self, headers: &HeaderMap) -> Option<String> {
        match &self.sni {
            SniSource::None => None,
            SniSource::Literal(name) => Some(name.clone()),
            SniSource::HostHeader => {
                let host = headers.get(http::header::HOST)?.to_str().ok()?;
                Some(host_without_port(host).to_ascii_lowercase())
            }
        }
    }

    /// The same settings offering `alpn` instead (a check rule's `alpn`).
    pub fn with_alpn(&self, alpn: &[String]) -> ServerTls {
        let mut config = ClientConfig::clone(self.connector.config());
        config.alpn_protocols = alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
        ServerTls {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            connector: TlsConnector::from(Arc::new(config)),
            sni: self.sni.clone(),
        }
    }

    /// The TLS handshake over a connected `stream` to `addr`.
    pub async fn connect(
        &self,
        stream: TcpStream,
        addr: SocketAddr,
        sni: Option<&str>,
    ) -> std::io::Result<TlsStream<TcpStream>> {
        // A name that is not a DNS name (an IP literal, say) is not sent:
        // rustls sends no SNI for an IP address, and then checks no name.
        let name = sni
            .and_then(|s| ServerName::try_from(s.to_owned()).ok())
            .filter(|n| matches!(n, ServerName::DnsName(_)))
            .unwrap_or(ServerName::IpAddress(addr.ip().into()));
        self.connector.connect(name, stream).await
    }
}

/// `crt FILE` on a `server` line: the certificate shown to the server
/// whenever it asks for one, as HAProxy shows it.
#[derive(Debug)]
struct ClientCertificate(Arc<rustls::sign::CertifiedKey>);

impl rustls::client::ResolvesClientCert for ClientCertificate {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(self.0.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

fn host_without_port(host: &str) -> &str {
    if host.starts_with('[') {
        // An IPv6 literal: no SNI will be sent for it anyway.
        return host;
    }
    host.rsplit_once(':').map(|(h, _)| h).unwrap_or(host)
}

/// How a server's certificate is judged. `verify required` (`roots` set):
/// the chain must lead to a `ca-file` certificate, and the name is checked
/// only when an SNI was sent. `verify none` (`roots` empty): any
/// certificate is accepted. Either way the handshake signatures are
/// checked, so the key must match the certificate presented.
#[derive(Debug)]
struct ServerCertPolicy {
    roots: Option<Arc<RootCertStore>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for ServerCertPolicy {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(roots) = &self.roots else {
            return Ok(ServerCertVerified::assertion());
        };
        let cert = ParsedCertificate::try_from(end_entity)?;
        rustls::client::verify_server_cert_signed_by_trust_anchor(
            &cert,
            roots,
            intermediates,
            now,
            self.provider.signature_verification_algorithms.all,
        )?;
        if let ServerName::DnsName(_) = server_name {
            rustls::client::verify_server_name(&cert, server_name)?;
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sni_expressions() {
        assert_eq!(SniSource::parse("req.hdr(host)"), Ok(SniSource::HostHeader));
        assert_eq!(SniSource::parse("req.hdr(Host)"), Ok(SniSource::HostHeader));
        assert_eq!(
            SniSource::parse("req.hdr(host),field(1,:)"),
            Ok(SniSource::HostHeader)
        );
        assert_eq!(
            SniSource::parse("str(api.internal)"),
            Ok(SniSource::Literal("api.internal".into()))
        );
        for refused in ["ssl_fc_sni", "req.hdr(host),lower", "str()", "var(txn.x)"] {
            let err = SniSource::parse(refused).unwrap_err();
            assert!(err.contains("req.hdr(host)"), "{err}");
            assert!(err.contains(refused), "{err}");
        }
    }

    #[test]
    fn host_header_without_port() {
        let words = |t: &str| {
            switchyard_grammar::lexer::lex_line(
                t,
                switchyard_grammar::span::FileId(0),
                1,
                &switchyard_grammar::Environment::new(),
            )
            .unwrap()
        };
        let options = switchyard_grammar::ast::server::parse_options(&words(
            "ssl verify none sni req.hdr(host)",
        ))
        .unwrap();
        let tls = ServerTls::build(&options).unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(http::header::HOST, "WWW.Example.com:8443".parse().unwrap());
        assert_eq!(tls.sni_for(&headers).as_deref(), Some("www.example.com"));
        assert_eq!(tls.sni_for(&HeaderMap::new()), None);
        assert_eq!(host_without_port("[::1]:443"), "[::1]:443");
    }

    #[test]
    fn verify_required_needs_a_ca_file() {
        let err = ServerTls::build(&ServerOptions {
            ssl: Some(true),
            ..Default::default()
        })
        .err()
        .unwrap()
        .to_string();
        assert!(err.contains("no CA file specified"), "{err}");
    }
}
