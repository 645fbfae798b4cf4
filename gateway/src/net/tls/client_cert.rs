//! What the `ssl_c_*` fetches read of a client certificate, as HAProxy
//! (OpenSSL) gives it: the subject and issuer in OpenSSL's one-line form
//! (`/C=FR/O=Example/CN=client`), and the validity dates as written in the
//! certificate (`YYMMDDhhmmssZ`).

use rustls_pki_types::CertificateDer;
use switchyard_rules::ClientCertFacts;

use super::names::tlv;

/// The facts of a DER certificate; None when it cannot be read (rustls
/// has verified it, so this does not happen with a real certificate).
pub fn facts_of(cert: &CertificateDer<'_>) -> Option<ClientCertFacts> {
    let (0x30, certificate, _) = tlv(cert)? else {
        return None;
    };
    let (0x30, mut tbs, _) = tlv(certificate)? else {
        return None;
    };
    // [0] version is optional.
    if tbs.first() == Some(&0xa0) {
        tbs = tlv(tbs)?.2;
    }
    let (_serial, _, rest) = tlv(tbs)?;
    let (_signature, _, rest) = tlv(rest)?;
    let (0x30, issuer, rest) = tlv(rest)? else {
        return None;
    };
    let (0x30, validity, rest) = tlv(rest)? else {
        return None;
    };
    let (0x30, subject, _) = tlv(rest)? else {
        return None;
    };
    let (_, not_before, after) = tlv(validity)?;
    let (_, not_after, _) = tlv(after)?;
    Some(ClientCertFacts {
        subject_dn: one_line(subject)?,
        issuer_dn: one_line(issuer)?,
        not_before: String::from_utf8_lossy(not_before).into_owned(),
        not_after: String::from_utf8_lossy(not_after).into_owned(),
    })
}

/// A DER `Name`'s contents as HAProxy's `ssl_sock_get_dn_oneline` writes
/// it: `/SN=value` per attribute, OpenSSL's short names, else the OID.
fn one_line(mut rdns: &[u8]) -> Option<String> {
    let mut out = String::new();
    while !rdns.is_empty() {
        let (0x31, mut set, rest) = tlv(rdns)? else {
            return None;
        };
        rdns = rest;
        while !set.is_empty() {
            let (0x30, pair, rest) = tlv(set)? else {
                return None;
            };
            set = rest;
            let (0x06, oid, value) = tlv(pair)? else {
                return None;
            };
            let (_, text, _) = tlv(value)?;
            out.push('/');
            match short_name(oid) {
                Some(name) => out.push_str(name),
                None => out.push_str(&dotted(oid)),
            }
            out.push('=');
            out.push_str(&String::from_utf8_lossy(text));
        }
    }
    Some(out)
}

/// OpenSSL's short name of an attribute type.
fn short_name(oid: &[u8]) -> Option<&'static str> {
    Some(match oid {
        [0x55, 0x04, 0x03] => "CN",
        [0x55, 0x04, 0x04] => "SN",
        [0x55, 0x04, 0x05] => "serialNumber",
        [0x55, 0x04, 0x06] => "C",
        [0x55, 0x04, 0x07] => "L",
        [0x55, 0x04, 0x08] => "ST",
        [0x55, 0x04, 0x09] => "street",
        [0x55, 0x04, 0x0a] => "O",
        [0x55, 0x04, 0x0b] => "OU",
        [0x55, 0x04, 0x0c] => "title",
        [0x55, 0x04, 0x11] => "postalCode",
        [0x55, 0x04, 0x2a] => "GN",
        [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01] => "emailAddress",
        [0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19] => "DC",
        [0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x01] => "UID",
        _ => return None,
    })
}

/// An OID's dotted form (`1.2.3.4`).
fn dotted(oid: &[u8]) -> String {
    let mut arcs: Vec<u64> = Vec::new();
    let mut n: u64 = 0;
    for &b in oid {
        n = n.saturating_mul(128) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                let first = (n / 40).min(2);
                arcs.extend([first, n - first * 40]);
            } else {
                arcs.push(n);
            }
            n = 0;
        }
    }
    arcs.iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_issuer_and_dates_as_haproxy_writes_them() {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca.distinguished_name = rcgen::DistinguishedName::new();
        ca.distinguished_name
            .push(rcgen::DnType::CommonName, "Test CA");
        let ca = ca.self_signed(&ca_key).unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CountryName, "FR");
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, "Example");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "client one");
        params.not_before = rcgen::date_time_ymd(2024, 1, 2);
        params.not_after = rcgen::date_time_ymd(2034, 5, 6);
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
        let facts = facts_of(cert.der()).unwrap();
        assert_eq!(facts.subject_dn, "/C=FR/O=Example/CN=client one");
        assert_eq!(facts.issuer_dn, "/CN=Test CA");
        assert_eq!(facts.not_before, "240102000000Z");
        assert_eq!(facts.not_after, "340506000000Z");
        assert_eq!(facts_of(&CertificateDer::from(vec![0x30, 0x01])), None);
    }

    #[test]
    fn unknown_attributes_by_oid() {
        assert_eq!(
            dotted(&[0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37]),
            "1.3.6.1.4.1.311"
        );
    }
}
