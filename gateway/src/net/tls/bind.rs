//! TLS termination for one `bind … ssl` line: its certificates (`crt`
//! files and directories, `crt-list` files, in the order written), the
//! protocol versions (`ssl-min-ver`/`ssl-max-ver`, TLSv1.2 to TLSv1.3 by
//! default), ALPN (`alpn`; HAProxy 2.6 advertises none unless told) and
//! `strict-sni`; then the handshake of each accepted connection.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::crypto::CryptoProvider;
use rustls::server::Acceptor;
use rustls::{ProtocolVersion, ServerConfig};
use switchyard_grammar::ast::bind::BindOptions;
use switchyard_rules::TlsFacts;
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;
use tokio_rustls::LazyConfigAcceptor;

use super::crt_list::{self, SniFilter};
use super::names::certificate_names;
use super::pem::load_certified_key;
use super::sni::{CertEntry, CertStore};
use super::TlsError;

/// Side files HAProxy keeps beside certificates in a `crt` directory.
const SIDE_FILES: &[&str] = &[".key", ".ocsp", ".issuer", ".sctl"];

/// What a `bind … ssl` line terminates TLS with.
pub struct BindTls {
    /// With the `alpn` protocols.
    config: Arc<ServerConfig>,
    /// The same without ALPN, for clients that offer none of them: OpenSSL
    /// (so HAProxy) then goes on without ALPN where rustls would abort.
    without_alpn: Arc<ServerConfig>,
    alpn: Vec<Vec<u8>>,
}

impl BindTls {
    pub fn build(options: &BindOptions) -> Result<BindTls, TlsError> {
        let provider = super::policy::provider_for(&options.tls);
        let store = CertStore::new(load_certificates(options, &provider)?, options.strict_sni);
        let versions = super::policy::protocol_versions(&options.tls)?;
        let client_auth = super::client_auth::verifier(options, &provider)?;
        let builder = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&versions)
            .map_err(|e| TlsError::Config(format!("TLS versions: {e}")))?;
        let builder = match client_auth {
            Some(verifier) => builder.with_client_cert_verifier(verifier),
            None => builder.with_no_client_auth(),
        };
        let mut config = builder.with_cert_resolver(Arc::new(store));
        super::sessions::apply(&mut config, &options.tls, &options.tls_tuning)?;
        let without_alpn = Arc::new(config.clone());
        let alpn: Vec<Vec<u8>> = options.alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
        config.alpn_protocols = alpn.clone();
        Ok(BindTls {
            config: Arc::new(config),
            without_alpn,
            alpn,
        })
    }

    /// The TLS handshake of an accepted connection, within `limit`; None
    /// when it fails (the client sees the alert, a debug line says why).
    pub async fn accept(
        &self,
        stream: TcpStream,
        limit: Duration,
    ) -> Option<(TlsStream<TcpStream>, TlsFacts)> {
        let handshake = async {
            let start = LazyConfigAcceptor::new(Acceptor::default(), stream).await?;
            let offered_ours = match start.client_hello().alpn() {
                Some(mut offered) => offered.any(|p| self.alpn.iter().any(|ours| ours == p)),
                None => true,
            };
            let config = if offered_ours {
                self.config.clone()
            } else {
                self.without_alpn.clone()
            };
            start.into_stream(config).await
        };
        let stream = match tokio::time::timeout(limit, handshake).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "TLS handshake failed");
                return None;
            }
            Err(_) => {
                tracing::debug!("TLS handshake timed out");
                return None;
            }
        };
        let facts = facts_of(stream.get_ref().1);
        Some((stream, facts))
    }
}

/// What the rules' `ssl_fc_*` fetches read of a server-side connection.
pub fn facts_of(conn: &rustls::ServerConnection) -> TlsFacts {
    TlsFacts {
        sni: conn.server_name().map(str::to_owned),
        alpn: conn
            .alpn_protocol()
            .map(|p| String::from_utf8_lossy(p).into_owned()),
        protocol: conn.protocol_version().map(|v| version_name(v).to_owned()),
        cipher: conn
            .negotiated_cipher_suite()
            .and_then(|s| openssl_name(s.suite()))
            .map(str::to_owned),
        client: conn
            .peer_certificates()
            .and_then(|chain| chain.first())
            .and_then(super::client_cert::facts_of)
            .map(Box::new),
    }
}

/// A suite by OpenSSL's name, as `ssl_fc_cipher` gives it.
fn openssl_name(suite: rustls::CipherSuite) -> Option<&'static str> {
    let iana = match suite {
        rustls::CipherSuite::TLS13_AES_256_GCM_SHA384 => "TLS_AES_256_GCM_SHA384",
        rustls::CipherSuite::TLS13_AES_128_GCM_SHA256 => "TLS_AES_128_GCM_SHA256",
        rustls::CipherSuite::TLS13_CHACHA20_POLY1305_SHA256 => "TLS_CHACHA20_POLY1305_SHA256",
        other => other.as_str()?,
    };
    switchyard_grammar::ast::tls::CipherSuite::from_name(iana).map(|s| s.openssl_name())
}

/// The protocol as HAProxy (OpenSSL) spells it.
pub fn version_name(version: ProtocolVersion) -> &'static str {
    match version {
        ProtocolVersion::TLSv1_3 => "TLSv1.3",
        ProtocolVersion::TLSv1_2 => "TLSv1.2",
        ProtocolVersion::TLSv1_1 => "TLSv1.1",
        ProtocolVersion::TLSv1_0 => "TLSv1",
        _ => "unknown",
    }
}

/// Every certificate of the line in the order written (`crt` and
/// `crt-list` interleaved by position): the first is the default.
fn load_certificates(
    options: &BindOptions,
    provider: &CryptoProvider,
) -> Result<Vec<CertEntry>, TlsError> {
    let mut sources: Vec<(bool, &switchyard_grammar::Word)> = options
        .certificates
        .iter()
        .map(|w| (false, w))
        .chain(options.crt_list.iter().map(|w| (true, w)))
        .collect();
    sources.sort_by_key(|(_, w)| (w.span.line, w.span.column));
    let mut entries = Vec::new();
    for (is_list, word) in sources {
        let path = Path::new(&word.text);
        if is_list {
            for line in crt_list::load(path)? {
                // `crt-base` applies to the list's relative files too.
                let file = match line.path.to_str() {
                    Some(p) => std::path::PathBuf::from(switchyard_grammar::ast::proxy::rebased(
                        p,
                        options.crt_base.as_deref(),
                    )),
                    None => line.path.clone(),
                };
                entries.push(certificate(&file, &line.filters, provider)?);
            }
        } else if path.is_dir() {
            let files = directory_files(path)?;
            if files.is_empty() {
                return Err(TlsError::EmptyDirectory {
                    path: path.to_owned(),
                });
            }
            for file in files {
                entries.push(certificate(&file, &[], provider)?);
            }
        } else {
            entries.push(certificate(path, &[], provider)?);
        }
    }
    if entries.is_empty() {
        return Err(TlsError::Config(
            "'ssl' on a bind line needs a certificate".to_owned(),
        ));
    }
    Ok(entries)
}

/// The certificate files of a `crt` directory, alphabetically, without
/// side files and dot files, as HAProxy reads them.
pub fn directory_files(dir: &Path) -> Result<Vec<PathBuf>, TlsError> {
    let read_error = |source| TlsError::Read {
        path: dir.to_owned(),
        source,
    };
    let mut files = Vec::new();
    for item in std::fs::read_dir(dir).map_err(read_error)? {
        let item = item.map_err(read_error)?;
        let name = item.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || SIDE_FILES.iter().any(|s| name.ends_with(s)) {
            continue;
        }
        let path = item.path();
        if path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// One certificate file, chosen for `filters` (a crt-list line's), else
/// for its own names.
fn certificate(
    path: &Path,
    filters: &[SniFilter],
    provider: &CryptoProvider,
) -> Result<CertEntry, TlsError> {
    let key = load_certified_key(path, provider)?;
    let names = if filters.is_empty() {
        let leaf = &key.cert[0];
        certificate_names(leaf)
            .map_err(|why| TlsError::Certificate {
                path: path.to_owned(),
                why,
            })?
            .into_iter()
            .map(|name| SniFilter {
                negative: false,
                name,
            })
            .collect()
    } else {
        filters.to_vec()
    };
    Ok(CertEntry::new(key, path.display().to_string(), &names))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::tls::pem::tests::self_signed;

    fn words(text: &str) -> Vec<switchyard_grammar::Word> {
        switchyard_grammar::lexer::lex_line(
            text,
            switchyard_grammar::span::FileId(0),
            1,
            &switchyard_grammar::Environment::new(),
        )
        .unwrap()
    }

    #[test]
    fn directory_skips_side_and_dot_files_in_order() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "b.pem",
            "a.pem",
            "a.pem.key",
            "c.ocsp",
            ".hidden",
            "d.issuer",
            "e.sctl",
        ] {
            std::fs::write(dir.path().join(name), "").unwrap();
        }
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let names: Vec<String> = directory_files(dir.path())
            .unwrap()
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["a.pem", "b.pem"]);
    }

    #[test]
    fn directory_and_list_in_written_order() {
        let dir = tempfile::tempdir().unwrap();
        let certs = dir.path().join("certs");
        std::fs::create_dir(&certs).unwrap();
        for (file, name) in [("z.pem", "z.test"), ("m.pem", "m.test")] {
            let (cert, key) = self_signed(&[name]);
            std::fs::write(certs.join(file), format!("{cert}{key}")).unwrap();
        }
        let (cert, key) = self_signed(&["l.test"]);
        let listed = dir.path().join("listed.pem");
        std::fs::write(&listed, format!("{cert}{key}")).unwrap();
        let list = dir.path().join("list.txt");
        std::fs::write(&list, format!("{} *.list.test\n", listed.display())).unwrap();
        let line = words(&format!(
            "ssl crt-list {} crt {}",
            list.display(),
            certs.display()
        ));
        let options = switchyard_grammar::ast::bind::parse_options(&line).unwrap();
        let entries = load_certificates(&options, &crate::net::tls::provider()).unwrap();
        let sources: Vec<&str> = entries
            .iter()
            .map(|e| e.source.rsplit('/').next().unwrap())
            .collect();
        assert_eq!(sources, ["listed.pem", "m.pem", "z.pem"]);
        let store = CertStore::new(entries, false);
        let pick = |sni| {
            store
                .select(Some(sni), &|_| true)
                .map(|e| e.source.rsplit('/').next().unwrap().to_owned())
        };
        assert_eq!(pick("z.test").as_deref(), Some("z.pem"));
        assert_eq!(pick("a.list.test").as_deref(), Some("listed.pem"));
        // The crt-list filter replaces the certificate's own name.
        assert_eq!(pick("l.test").as_deref(), Some("listed.pem"));
        assert_eq!(pick("nothing.test").as_deref(), Some("listed.pem"));
    }

    #[test]
    fn bad_certificate_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let certs = dir.path().join("certs");
        std::fs::create_dir(&certs).unwrap();
        std::fs::write(certs.join("bad.pem"), "not a certificate").unwrap();
        let line = words(&format!("ssl crt {}", certs.display()));
        let options = switchyard_grammar::ast::bind::parse_options(&line).unwrap();
        let err = BindTls::build(&options).err().unwrap().to_string();
        assert!(err.contains("bad.pem"), "{err}");
        let empty = dir.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        let line = words(&format!("ssl crt {}", empty.display()));
        let options = switchyard_grammar::ast::bind::parse_options(&line).unwrap();
        let err = BindTls::build(&options).err().unwrap().to_string();
        assert!(err.contains("empty' holds no certificate file"), "{err}");
    }
}
