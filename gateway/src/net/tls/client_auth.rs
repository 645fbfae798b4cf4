//! Client certificates on `bind … ssl`: `verify none|optional|required`,
//! `ca-file` (the CAs that sign accepted certificates, named to clients),
//! `ca-verify-file` (more CAs that verify without being named), and
//! `crl-file` (revoked certificates), with rustls' `WebPkiClientVerifier`.
//!
//! As in HAProxy, `verify optional` lets a client without a certificate
//! in, but one whose certificate fails verification is refused, and
//! `verify` without a `ca-file` is an error.

use std::path::Path;
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateRevocationListDer;
use rustls::server::danger::ClientCertVerifier;
use rustls::server::WebPkiClientVerifier;
use switchyard_grammar::ast::bind::BindOptions;

use super::pem::load_ca_file;
use super::TlsError;

/// The verifier a `bind` line asks for; None when it asks for no client
/// certificate (`verify none`, or no `verify`).
pub fn verifier(
    options: &BindOptions,
    provider: &Arc<CryptoProvider>,
) -> Result<Option<Arc<dyn ClientCertVerifier>>, TlsError> {
    let optional = match options.verify.as_ref().map(|v| v.text.as_str()) {
        None | Some("none") => return Ok(None),
        Some(mode) => mode == "optional",
    };
    let Some(ca_file) = &options.ca_file else {
        return Err(TlsError::Config(
            "verify is enabled but no CA file specified; add 'ca-file FILE' (the CAs that sign client certificates)".to_owned(),
        ));
    };
    let named = load_ca_file(Path::new(&ca_file.text))?;
    let hints = named.subjects();
    let mut roots = named;
    if let Some(extra) = &options.ca_verify_file {
        for anchor in load_ca_file(Path::new(&extra.text))?.roots {
            roots.roots.push(anchor);
        }
    }
    let mut builder =
        WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .clear_root_hint_subjects()
            .add_root_hint_subjects(hints);
    if let Some(crl_file) = &options.crl_file {
        builder = builder
            .with_crls(load_crls(Path::new(&crl_file.text))?)
            // HAProxy (OpenSSL's CRL_CHECK) checks the client's own
            // certificate, and refuses it when its issuer has no CRL.
            .only_check_end_entity_revocation();
    }
    if optional {
        builder = builder.allow_unauthenticated();
    }
    builder
        .build()
        .map(Some)
        .map_err(|e| TlsError::Config(format!("client certificates: {e}")))
}

/// Every CRL of a PEM file.
fn load_crls(path: &Path) -> Result<Vec<CertificateRevocationListDer<'static>>, TlsError> {
    let bytes = std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_owned(),
        source,
    })?;
    let crls = CertificateRevocationListDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem {
            path: path.to_owned(),
            why: format!("not a valid PEM file ({e})"),
        })?;
    if crls.is_empty() {
        return Err(TlsError::Pem {
            path: path.to_owned(),
            why: "holds no certificate revocation list (X509 CRL)".to_owned(),
        });
    }
    Ok(crls)
}
