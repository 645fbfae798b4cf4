//! TLS with rustls (the `ring` provider): terminating it on `bind … ssl`
//! ([`bind`]) and speaking it to servers with `server … ssl` ([`upstream`]).
//!
//! HAProxy's conventions are kept: a PEM file holds the certificate chain
//! and its key ([`pem`]); a directory of them or a `crt-list` file
//! ([`crt_list`]) gives several certificates, chosen by SNI with the first
//! one as the default ([`sni`]); the names a certificate answers for are its
//! SAN DNS names, else its CN ([`names`]).

pub mod bind;
pub mod client_auth;
pub mod client_cert;
pub mod crt_list;
pub mod names;
pub mod pem;
pub mod policy;
pub mod sessions;
pub mod sni;
pub mod upstream;

use std::path::PathBuf;

/// rustls' own provider, for tests (a line's is [`policy::provider_for`]'s).
#[cfg(test)]
pub fn provider() -> std::sync::Arc<rustls::crypto::CryptoProvider> {
    std::sync::Arc::new(rustls::crypto::ring::default_provider())
}

/// Why a TLS setting could not be put in place; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read '{path}': {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("'{path}': {why}")]
    Pem { path: PathBuf, why: String },
    #[error("'{path}' holds no certificate")]
    NoCertificate { path: PathBuf },
    #[error("'{path}' holds no private key (nor does '{path}.key')")]
    NoKey { path: PathBuf },
    #[error("'{path}': the private key does not match the certificate")]
    KeyMismatch { path: PathBuf },
    #[error("'{path}': {why}")]
    Key { path: PathBuf, why: String },
    #[error("'{path}': the certificate cannot be read: {why}")]
    Certificate { path: PathBuf, why: String },
    #[error("'{path}' line {line}: {why}")]
    CrtList {
        path: PathBuf,
        line: usize,
        why: String,
    },
    #[error("'{path}' holds no certificate file")]
    EmptyDirectory { path: PathBuf },
    #[error("{0}")]
    Config(String),
}
