//! The host names a certificate answers for, as HAProxy indexes them: every
//! DNS name of its subjectAltName extension and every CN of its subject
//! (HAProxy takes both, not the CN only when SAN is absent), lowercased.

use rustls_pki_types::CertificateDer;

/// The SAN DNS names and subject CNs of `cert`, lowercased, SAN first.
pub fn certificate_names(cert: &CertificateDer<'_>) -> Result<Vec<String>, String> {
    let parsed = webpki::EndEntityCert::try_from(cert).map_err(|e| e.to_string())?;
    let mut names: Vec<String> = parsed
        .valid_dns_names()
        .map(|n| n.to_ascii_lowercase())
        .collect();
    for cn in common_names(parsed.subject()) {
        let cn = cn.to_ascii_lowercase();
        if !names.contains(&cn) {
            names.push(cn);
        }
    }
    Ok(names)
}

/// commonName (2.5.4.3) attribute values of a DER `Name`'s contents (the
/// RDNSequence without its outer SEQUENCE header, as webpki hands it).
fn common_names(mut rdns: &[u8]) -> Vec<String> {
    const CN: &[u8] = &[0x55, 0x04, 0x03];
    let mut out = Vec::new();
    // RelativeDistinguishedName ::= SET OF AttributeTypeAndValue
    while let Some((0x31, set, rest)) = tlv(rdns) {
        rdns = rest;
        let mut attributes = set;
        // AttributeTypeAndValue ::= SEQUENCE { type OID, value ANY }
        while let Some((0x30, pair, rest)) = tlv(attributes) {
            attributes = rest;
            let Some((0x06, oid, value)) = tlv(pair) else {
                continue;
            };
            if oid != CN {
                continue;
            }
            // UTF8String, PrintableString, T61String, IA5String.
            if let Some((0x0c | 0x13 | 0x14 | 0x16, text, _)) = tlv(value) {
                if let Ok(text) = std::str::from_utf8(text) {
                    out.push(text.to_owned());
                }
            }
        }
    }
    out
}

/// One DER tag-length-value: (tag, contents, what follows).
pub(super) fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        first as usize
    } else {
        let count = (first & 0x7f) as usize;
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let len = rest[..count]
            .iter()
            .fold(0usize, |n, b| n << 8 | *b as usize);
        rest = &rest[count..];
        len
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls_pki_types::pem::PemObject;

    #[test]
    fn san_names_then_cn() {
        let mut params = rcgen::CertificateParams::new(vec![
            "WWW.Example.com".to_owned(),
            "*.api.example.com".to_owned(),
        ])
        .unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "legacy.example.com");
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        assert_eq!(
            certificate_names(cert.der()).unwrap(),
            ["www.example.com", "*.api.example.com", "legacy.example.com"]
        );
    }

    #[test]
    fn cn_only_certificate() {
        // The openssl-made fixture has a CN and no subjectAltName.
        let pem = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/tls/rsa-pkcs1.pem"),
        )
        .unwrap();
        let cert = CertificateDer::from_pem_slice(&pem).unwrap();
        assert_eq!(certificate_names(&cert).unwrap(), ["rsa.test"]);
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(certificate_names(&CertificateDer::from(vec![1, 2, 3])).is_err());
    }

    #[test]
    fn tlv_bounds() {
        assert_eq!(
            tlv(&[0x30, 0x02, 1, 2, 9]),
            Some((0x30, &[1u8, 2][..], &[9u8][..]))
        );
        assert_eq!(tlv(&[0x30, 0x05, 1]), None);
        assert_eq!(
            tlv(&[0x30, 0x81, 0x01, 7]),
            Some((0x30, &[7u8][..], &[][..]))
        );
        assert_eq!(tlv(&[0x30]), None);
    }
}
