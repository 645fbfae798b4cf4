//! A line's TLS policy (`ciphers`, `ciphersuites`, `curves`, versions;
//! see `switchyard_grammar::ast::tls`) as rustls settings: the crypto
//! provider's suites and groups, and the protocol versions.
//!
//! A line that writes none of them gets the provider as rustls ships it,
//! so a configuration without TLS policy runs exactly as before.

use std::sync::Arc;

use rustls::crypto::ring::{cipher_suite as suite, kx_group};
use rustls::crypto::{CryptoProvider, SupportedKxGroup};
use rustls::{SupportedCipherSuite, SupportedProtocolVersion};
use switchyard_grammar::ast::tls::cipher_list::{TLS12_SUITES, TLS13_SUITES};
use switchyard_grammar::ast::tls::{CipherSuite, KxGroup, TlsPolicy, TlsVersion};

use super::TlsError;

/// The rustls suite the grammar's [`CipherSuite`] names.
pub fn rustls_suite(s: CipherSuite) -> SupportedCipherSuite {
    match s {
        CipherSuite::Tls13Aes256GcmSha384 => suite::TLS13_AES_256_GCM_SHA384,
        CipherSuite::Tls13Chacha20Poly1305Sha256 => suite::TLS13_CHACHA20_POLY1305_SHA256,
        CipherSuite::Tls13Aes128GcmSha256 => suite::TLS13_AES_128_GCM_SHA256,
        CipherSuite::EcdheEcdsaAes256GcmSha384 => suite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        CipherSuite::EcdheRsaAes256GcmSha384 => suite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        CipherSuite::EcdheEcdsaChacha20Poly1305 => {
            suite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
        }
        CipherSuite::EcdheRsaChacha20Poly1305 => suite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        CipherSuite::EcdheEcdsaAes128GcmSha256 => suite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        CipherSuite::EcdheRsaAes128GcmSha256 => suite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    }
}

fn rustls_group(g: KxGroup) -> &'static dyn SupportedKxGroup {
    match g {
        KxGroup::X25519 => kx_group::X25519,
        KxGroup::Secp256r1 => kx_group::SECP256R1,
        KxGroup::Secp384r1 => kx_group::SECP384R1,
    }
}

/// The crypto provider with the suites and groups `policy` chose, in its
/// order (which is the server's preference unless `prefer-client-ciphers`).
pub fn provider_for(policy: &TlsPolicy) -> Arc<CryptoProvider> {
    let mut provider = rustls::crypto::ring::default_provider();
    if policy.ciphers.is_some() || policy.ciphersuites.is_some() {
        let tls13 = policy
            .ciphersuites
            .as_ref()
            .map_or(&TLS13_SUITES[..], |c| &c.suites);
        let tls12 = policy
            .ciphers
            .as_ref()
            .map_or(&TLS12_SUITES[..], |c| &c.suites);
        provider.cipher_suites = tls13
            .iter()
            .chain(tls12)
            .copied()
            .map(rustls_suite)
            .collect();
    }
    if let Some(curves) = &policy.curves {
        provider.kx_groups = curves.groups.iter().copied().map(rustls_group).collect();
    }
    Arc::new(provider)
}

/// The protocol versions `policy` leaves, newest first.
pub fn protocol_versions(
    policy: &TlsPolicy,
) -> Result<Vec<&'static SupportedProtocolVersion>, TlsError> {
    let versions = policy.versions().map_err(TlsError::Config)?;
    Ok(versions
        .iter()
        .rev()
        .filter_map(|v| match v {
            TlsVersion::Tls13 => Some(&rustls::version::TLS13),
            TlsVersion::Tls12 => Some(&rustls::version::TLS12),
            _ => None,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_grammar::ast::tls::Side;

    fn policy(text: &str) -> TlsPolicy {
        let words = switchyard_grammar::lexer::lex_line(
            text,
            switchyard_grammar::span::FileId(0),
            1,
            &switchyard_grammar::Environment::new(),
        )
        .unwrap();
        let mut p = TlsPolicy::default();
        let mut i = 0;
        while i < words.len() {
            i += p.parse_option(&words, i, Side::Bind).unwrap().unwrap();
        }
        p
    }

    #[test]
    fn suites_and_groups_in_the_order_written() {
        let p = provider_for(&policy(
            "ciphers ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256 ciphersuites TLS_AES_128_GCM_SHA256 curves P-384:X25519",
        ));
        let names: Vec<String> = p
            .cipher_suites
            .iter()
            .map(|s| format!("{:?}", s.suite()))
            .collect();
        assert_eq!(
            names,
            [
                "TLS13_AES_128_GCM_SHA256",
                "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
                "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
            ]
        );
        let groups: Vec<String> = p
            .kx_groups
            .iter()
            .map(|g| format!("{:?}", g.name()))
            .collect();
        assert_eq!(groups, ["secp384r1", "X25519"]);
        // Nothing written: rustls' own provider.
        let default = provider_for(&TlsPolicy::default());
        assert_eq!(
            default.cipher_suites.len(),
            rustls::crypto::ring::default_provider().cipher_suites.len()
        );
    }

    #[test]
    fn versions() {
        assert_eq!(protocol_versions(&policy("")).unwrap().len(), 2);
        let v = protocol_versions(&policy("ssl-min-ver TLSv1.3")).unwrap();
        assert_eq!(v[0].version, rustls::ProtocolVersion::TLSv1_3);
        assert!(protocol_versions(&policy("ssl-min-ver TLSv1.3 ssl-max-ver TLSv1.2")).is_err());
    }
}
