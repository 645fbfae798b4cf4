//! HAProxy's PEM files: the certificate chain (leaf first) and its private
//! key in one file; when the file holds no key, HAProxy reads it from the
//! same path with `.key` appended, and so do we. The key may be PKCS#8
//! (`PRIVATE KEY`), PKCS#1 (`RSA PRIVATE KEY`) or SEC1 (`EC PRIVATE KEY`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::sign::CertifiedKey;
use rustls::RootCertStore;
use rustls_pki_types::pem::{PemObject, SectionKind};
use rustls_pki_types::{
    CertificateDer, PrivateKeyDer, PrivatePkcs1KeyDer, PrivatePkcs8KeyDer, PrivateSec1KeyDer,
};

use super::TlsError;

/// What one PEM file holds.
struct PemContents {
    certificates: Vec<CertificateDer<'static>>,
    key: Option<PrivateKeyDer<'static>>,
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_owned(),
        source,
    })
}

fn parse(path: &Path, bytes: &[u8]) -> Result<PemContents, TlsError> {
    // Encrypted keys would be skipped as unknown sections; say why instead.
    const ENCRYPTED: &[u8] = b"-----BEGIN ENCRYPTED PRIVATE KEY-----";
    if bytes.windows(ENCRYPTED.len()).any(|w| w == ENCRYPTED) {
        return Err(TlsError::Key {
            path: path.to_owned(),
            why: "the private key is encrypted, which switchyard does not support; store it decrypted (openssl pkey -in FILE -out FILE)".to_owned(),
        });
    }
    let mut out = PemContents {
        certificates: Vec::new(),
        key: None,
    };
    for section in <(SectionKind, Vec<u8>)>::pem_slice_iter(bytes) {
        let (kind, der) = section.map_err(|e| TlsError::Pem {
            path: path.to_owned(),
            why: format!("not a valid PEM file ({e})"),
        })?;
        let key = match kind {
            SectionKind::Certificate => {
                out.certificates.push(CertificateDer::from(der));
                continue;
            }
            SectionKind::PrivateKey => PrivateKeyDer::from(PrivatePkcs8KeyDer::from(der)),
            SectionKind::RsaPrivateKey => PrivateKeyDer::from(PrivatePkcs1KeyDer::from(der)),
            SectionKind::EcPrivateKey => PrivateKeyDer::from(PrivateSec1KeyDer::from(der)),
            // DH parameters, CRLs and the like have no use here.
            _ => continue,
        };
        if out.key.is_none() {
            out.key = Some(key);
        }
    }
    Ok(out)
}

/// A certificate chain with its key, from HAProxy's PEM file at `path`.
pub fn load_certified_key(
    path: &Path,
    provider: &CryptoProvider,
) -> Result<Arc<CertifiedKey>, TlsError> {
    let contents = parse(path, &read(path)?)?;
    if contents.certificates.is_empty() {
        return Err(TlsError::NoCertificate {
            path: path.to_owned(),
        });
    }
    let (key, key_path) = match contents.key {
        Some(key) => (key, path.to_owned()),
        None => {
            let mut side = path.as_os_str().to_owned();
            side.push(".key");
            let side = PathBuf::from(side);
            let key = match std::fs::read(&side) {
                Ok(bytes) => parse(&side, &bytes)?.key,
                Err(_) => None,
            };
            let key = key.ok_or_else(|| TlsError::NoKey {
                path: path.to_owned(),
            })?;
            (key, side)
        }
    };
    let signing_key = provider
        .key_provider
        .load_private_key(key)
        .map_err(|e| TlsError::Key {
            path: key_path.clone(),
            why: format!("the private key cannot be used: {e}"),
        })?;
    let certified = CertifiedKey::new(contents.certificates, signing_key);
    match certified.keys_match() {
        Ok(()) => Ok(Arc::new(certified)),
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {
            Ok(Arc::new(certified))
        }
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => {
            Err(TlsError::KeyMismatch {
                path: path.to_owned(),
            })
        }
        Err(e) => Err(TlsError::Certificate {
            path: path.to_owned(),
            why: e.to_string(),
        }),
    }
}

/// The certificates of a `ca-file` as trust anchors.
pub fn load_ca_file(path: &Path) -> Result<RootCertStore, TlsError> {
    let contents = parse(path, &read(path)?)?;
    if contents.certificates.is_empty() {
        return Err(TlsError::NoCertificate {
            path: path.to_owned(),
        });
    }
    let mut roots = RootCertStore::empty();
    for cert in contents.certificates {
        roots.add(cert).map_err(|e| TlsError::Certificate {
            path: path.to_owned(),
            why: e.to_string(),
        })?;
    }
    Ok(roots)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A self-signed certificate for `names` and its key in PKCS#8 PEM.
    pub fn self_signed(names: &[&str]) -> (String, String) {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let cert = rcgen::generate_simple_self_signed(names).unwrap();
        (cert.cert.pem(), cert.key_pair.serialize_pem())
    }

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn chain_and_key_in_one_file() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = self_signed(&["a.test"]);
        let path = write(dir.path(), "site.pem", &format!("{cert}{key}"));
        let loaded = load_certified_key(&path, &super::super::provider()).unwrap();
        assert_eq!(loaded.cert.len(), 1);
        // Key first, certificate after: the order in the file is free.
        let path = write(dir.path(), "rev.pem", &format!("{key}{cert}"));
        assert!(load_certified_key(&path, &super::super::provider()).is_ok());
    }

    #[test]
    fn pkcs1_and_sec1_keys() {
        let dir = tempfile::tempdir().unwrap();
        // An EC key as SEC1 ("EC PRIVATE KEY"), converted from rcgen's PKCS#8.
        let key_pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let params = rcgen::CertificateParams::new(vec!["ec.test".to_owned()]).unwrap();
        let cert = params.self_signed(&key_pair).unwrap();
        let pkcs8 = key_pair.serialize_der();
        let sec1 = sec1_from_pkcs8(&pkcs8);
        let sec1_pem = pem_block("EC PRIVATE KEY", &sec1);
        let path = write(dir.path(), "ec.pem", &format!("{}{sec1_pem}", cert.pem()));
        assert!(load_certified_key(&path, &super::super::provider()).is_ok());
        // A PKCS#1 RSA key ("RSA PRIVATE KEY"): rcgen cannot make RSA keys,
        // so this one is a test fixture made with openssl.
        let rsa = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/tls/rsa-pkcs1.pem"),
        )
        .unwrap();
        let contents = parse(Path::new("rsa-pkcs1.pem"), rsa.as_bytes()).unwrap();
        assert!(matches!(contents.key, Some(PrivateKeyDer::Pkcs1(_))));
        assert_eq!(contents.certificates.len(), 1);
        let path = write(dir.path(), "rsa.pem", &rsa);
        assert!(load_certified_key(&path, &super::super::provider()).is_ok());
    }

    #[test]
    fn key_from_the_side_file() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = self_signed(&["a.test"]);
        let path = write(dir.path(), "site.pem", &cert);
        let err = load_certified_key(&path, &super::super::provider()).unwrap_err();
        assert!(err.to_string().contains("holds no private key"), "{err}");
        assert!(err.to_string().contains("site.pem"), "{err}");
        write(dir.path(), "site.pem.key", &key);
        assert!(load_certified_key(&path, &super::super::provider()).is_ok());
    }

    #[test]
    fn bad_input_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let provider = super::super::provider();
        let missing = dir.path().join("missing.pem");
        let err = load_certified_key(&missing, &provider).unwrap_err();
        assert!(err.to_string().contains("missing.pem"), "{err}");
        let (cert_a, _) = self_signed(&["a.test"]);
        let (_, key_b) = self_signed(&["b.test"]);
        let path = write(dir.path(), "mixed.pem", &format!("{cert_a}{key_b}"));
        let err = load_certified_key(&path, &provider).unwrap_err();
        assert!(matches!(err, TlsError::KeyMismatch { .. }), "{err}");
        assert!(err.to_string().contains("mixed.pem"), "{err}");
        let path = write(
            dir.path(),
            "locked.pem",
            &format!("{cert_a}-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"),
        );
        let err = load_certified_key(&path, &provider).unwrap_err();
        assert!(
            err.to_string()
                .contains("locked.pem': the private key is encrypted"),
            "{err}"
        );
        let path = write(dir.path(), "junk.pem", "hello\n");
        let err = load_certified_key(&path, &provider).unwrap_err();
        assert!(
            err.to_string().contains("junk.pem' holds no certificate"),
            "{err}"
        );
        let path = write(
            dir.path(),
            "broken.pem",
            "-----BEGIN CERTIFICATE-----\nAAAA\n",
        );
        let err = load_certified_key(&path, &provider).unwrap_err();
        assert!(err.to_string().contains("broken.pem"), "{err}");
        assert!(err.to_string().contains("not a valid PEM"), "{err}");
        let (cert, _) = self_signed(&["a.test"]);
        let path = write(
            dir.path(),
            "badkey.pem",
            &format!("{cert}-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
        );
        let err = load_certified_key(&path, &provider).unwrap_err();
        assert!(err.to_string().contains("badkey.pem"), "{err}");
    }

    #[test]
    fn ca_file() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, _) = self_signed(&["ca.test"]);
        let path = write(dir.path(), "ca.pem", &cert);
        assert_eq!(load_ca_file(&path).unwrap().len(), 1);
        let path = write(dir.path(), "empty.pem", "");
        assert!(load_ca_file(&path)
            .unwrap_err()
            .to_string()
            .contains("empty.pem"));
    }

    fn pem_block(label: &str, der: &[u8]) -> String {
        let b64 = base64(der);
        let mut out = format!("-----BEGIN {label}-----\n");
        for chunk in b64.as_bytes().chunks(64) {
            out.push_str(std::str::from_utf8(chunk).unwrap());
            out.push('\n');
        }
        out.push_str(&format!("-----END {label}-----\n"));
        out
    }

    fn base64(bytes: &[u8]) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    /// PKCS#8 wraps the SEC1 structure in an OCTET STRING after the
    /// algorithm identifier; unwrap it (P-256 keys from rcgen are short
    /// enough for one-byte lengths inside, two-byte outside at most).
    fn sec1_from_pkcs8(pkcs8: &[u8]) -> Vec<u8> {
        let mut i = 0;
        let read_len = |i: &mut usize| -> usize {
            let first = pkcs8[*i] as usize;
            *i += 1;
            if first < 0x80 {
                return first;
            }
            let count = first & 0x7f;
            let mut n = 0;
            for _ in 0..count {
                n = n << 8 | pkcs8[*i] as usize;
                *i += 1;
            }
            n
        };
        // SEQUENCE
        assert_eq!(pkcs8[i], 0x30);
        i += 1;
        read_len(&mut i);
        // INTEGER version
        assert_eq!(pkcs8[i], 0x02);
        i += 1;
        let n = read_len(&mut i);
        i += n;
        // AlgorithmIdentifier SEQUENCE
        assert_eq!(pkcs8[i], 0x30);
        i += 1;
        let n = read_len(&mut i);
        i += n;
        // OCTET STRING holding the SEC1 ECPrivateKey
        assert_eq!(pkcs8[i], 0x04);
        i += 1;
        let n = read_len(&mut i);
        pkcs8[i..i + n].to_vec()
    }
}
