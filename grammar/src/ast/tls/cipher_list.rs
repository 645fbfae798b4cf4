//! OpenSSL cipher strings translated to the cipher suites rustls (the
//! `ring` provider) has. HAProxy hands `ciphers` (TLS 1.2 and below) and
//! `ciphersuites` (TLS 1.3) to OpenSSL; Switchyard evaluates the same
//! strings with OpenSSL's rules over the suites it can serve, so a Debian
//! or Mozilla string picks the same suites, in the same order, as OpenSSL
//! would among them.
//!
//! OpenSSL's rules, as `ciphers(1)` gives them: words separated by `:`,
//! `,` or spaces; a word adds the suites it names (in OpenSSL's default
//! order when it is a keyword), `-WORD` takes them out, `!WORD` takes them
//! out for good, `+WORD` moves them to the end, `A+B` names the suites
//! both name, `@STRENGTH` sorts by key length. Names of suites rustls does
//! not have (DHE, CBC, RSA key exchange…) and unknown words name nothing,
//! as in OpenSSL; they are reported so that a warning can list them.

/// A cipher suite rustls has. The TLS 1.2 ones are listed in OpenSSL's
/// default order (`openssl ciphers -v HIGH`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CipherSuite {
    /// `TLS_AES_256_GCM_SHA384`.
    Tls13Aes256GcmSha384,
    /// `TLS_CHACHA20_POLY1305_SHA256`.
    Tls13Chacha20Poly1305Sha256,
    /// `TLS_AES_128_GCM_SHA256`.
    Tls13Aes128GcmSha256,
    /// `ECDHE-ECDSA-AES256-GCM-SHA384`.
    EcdheEcdsaAes256GcmSha384,
    /// `ECDHE-RSA-AES256-GCM-SHA384`.
    EcdheRsaAes256GcmSha384,
    /// `ECDHE-ECDSA-CHACHA20-POLY1305`.
    EcdheEcdsaChacha20Poly1305,
    /// `ECDHE-RSA-CHACHA20-POLY1305`.
    EcdheRsaChacha20Poly1305,
    /// `ECDHE-ECDSA-AES128-GCM-SHA256`.
    EcdheEcdsaAes128GcmSha256,
    /// `ECDHE-RSA-AES128-GCM-SHA256`.
    EcdheRsaAes128GcmSha256,
}

use CipherSuite::*;

/// The TLS 1.2 suites, in OpenSSL's default order.
pub const TLS12_SUITES: [CipherSuite; 6] = [
    EcdheEcdsaAes256GcmSha384,
    EcdheRsaAes256GcmSha384,
    EcdheEcdsaChacha20Poly1305,
    EcdheRsaChacha20Poly1305,
    EcdheEcdsaAes128GcmSha256,
    EcdheRsaAes128GcmSha256,
];

/// The TLS 1.3 suites, in OpenSSL's default order.
pub const TLS13_SUITES: [CipherSuite; 3] = [
    Tls13Aes256GcmSha384,
    Tls13Chacha20Poly1305Sha256,
    Tls13Aes128GcmSha256,
];

impl CipherSuite {
    /// OpenSSL's name (for TLS 1.3, also the IANA name).
    pub fn openssl_name(self) -> &'static str {
        match self {
            Tls13Aes256GcmSha384 => "TLS_AES_256_GCM_SHA384",
            Tls13Chacha20Poly1305Sha256 => "TLS_CHACHA20_POLY1305_SHA256",
            Tls13Aes128GcmSha256 => "TLS_AES_128_GCM_SHA256",
            EcdheEcdsaAes256GcmSha384 => "ECDHE-ECDSA-AES256-GCM-SHA384",
            EcdheRsaAes256GcmSha384 => "ECDHE-RSA-AES256-GCM-SHA384",
            EcdheEcdsaChacha20Poly1305 => "ECDHE-ECDSA-CHACHA20-POLY1305",
            EcdheRsaChacha20Poly1305 => "ECDHE-RSA-CHACHA20-POLY1305",
            EcdheEcdsaAes128GcmSha256 => "ECDHE-ECDSA-AES128-GCM-SHA256",
            EcdheRsaAes128GcmSha256 => "ECDHE-RSA-AES128-GCM-SHA256",
        }
    }

    /// The IANA name, which rustls and `ssl_fc_cipher`'s docs use.
    pub fn iana_name(self) -> &'static str {
        match self {
            EcdheEcdsaAes256GcmSha384 => "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
            EcdheRsaAes256GcmSha384 => "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            EcdheEcdsaChacha20Poly1305 => "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
            EcdheRsaChacha20Poly1305 => "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
            EcdheEcdsaAes128GcmSha256 => "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            EcdheRsaAes128GcmSha256 => "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            tls13 => tls13.openssl_name(),
        }
    }

    /// The suite OpenSSL or IANA names so.
    pub fn from_name(name: &str) -> Option<CipherSuite> {
        TLS13_SUITES
            .iter()
            .chain(TLS12_SUITES.iter())
            .copied()
            .find(|s| s.openssl_name() == name || s.iana_name() == name)
    }

    fn ecdsa(self) -> bool {
        matches!(
            self,
            EcdheEcdsaAes256GcmSha384 | EcdheEcdsaChacha20Poly1305 | EcdheEcdsaAes128GcmSha256
        )
    }

    fn aes128(self) -> bool {
        matches!(self, EcdheEcdsaAes128GcmSha256 | EcdheRsaAes128GcmSha256)
    }

    fn chacha20(self) -> bool {
        matches!(self, EcdheEcdsaChacha20Poly1305 | EcdheRsaChacha20Poly1305)
    }

    /// Key bits, for `@STRENGTH`.
    fn bits(self) -> u32 {
        if self.aes128() {
            128
        } else {
            256
        }
    }
}

/// What a keyword of OpenSSL's cipher language selects among the TLS 1.2
/// suites rustls has: `Some(predicate)` for a keyword OpenSSL knows (it
/// may select none of them: `RC4`, `DHE`, `aNULL`…), `None` for a word
/// that is no keyword.
fn keyword(word: &str) -> Option<fn(CipherSuite) -> bool> {
    let all: fn(CipherSuite) -> bool = |_| true;
    let none: fn(CipherSuite) -> bool = |_| false;
    Some(match word {
        // Every rustls TLS 1.2 suite is ECDHE, AEAD and "HIGH".
        "ALL" | "DEFAULT" | "HIGH" | "TLSv1.2" | "AEAD" | "kEECDH" | "kECDHE" | "ECDHE"
        | "EECDH" | "ECDH" | "FIPS" => all,
        "aECDSA" | "ECDSA" => CipherSuite::ecdsa,
        "aRSA" => |s| !s.ecdsa(),
        "AES" | "AESGCM" => |s| !s.chacha20(),
        "AES128" => CipherSuite::aes128,
        "AES256" => |s| !s.aes128() && !s.chacha20(),
        "CHACHA20" => CipherSuite::chacha20,
        // Known to OpenSSL; no rustls suite has these properties (the
        // GCM suites' MAC is AEAD, not SHA256/SHA384).
        "COMPLEMENTOFDEFAULT"
        | "COMPLEMENTOFALL"
        | "MEDIUM"
        | "LOW"
        | "EXPORT"
        | "EXP"
        | "eNULL"
        | "NULL"
        | "aNULL"
        | "kRSA"
        | "RSA"
        | "DH"
        | "DHE"
        | "EDH"
        | "kDHE"
        | "kEDH"
        | "ADH"
        | "AECDH"
        | "aDSS"
        | "DSS"
        | "PSK"
        | "kPSK"
        | "ECDHEPSK"
        | "DHEPSK"
        | "RSAPSK"
        | "aPSK"
        | "SRP"
        | "kSRP"
        | "RC4"
        | "MD5"
        | "DES"
        | "3DES"
        | "IDEA"
        | "SEED"
        | "RC2"
        | "CAMELLIA"
        | "CAMELLIA128"
        | "CAMELLIA256"
        | "ARIA"
        | "ARIA128"
        | "ARIA256"
        | "AESCCM"
        | "AESCCM8"
        | "SHA1"
        | "SHA"
        | "SHA256"
        | "SHA384"
        | "TLSv1"
        | "TLSv1.0"
        | "SSLv3"
        | "aGOST"
        | "kGOST"
        | "GOST94"
        | "GOST89MAC"
        | "kECDH"
        | "kECDHr"
        | "kECDHe"
        | "aECDH"
        | "CBC" => none,
        _ => return None,
    })
}

/// The suites a string chose, in order, and the words that named none
/// rustls has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Translated {
    /// The suites chosen, in order of preference.
    pub suites: Vec<CipherSuite>,
    /// The words that named no suite rustls has.
    pub unavailable: Vec<String>,
}

/// Evaluates an OpenSSL `ciphers` string (TLS 1.2 and below) over the
/// rustls suites. An empty result is an error, as OpenSSL's "no cipher
/// match".
pub fn translate_ciphers(text: &str) -> Result<Translated, String> {
    let mut list: Vec<CipherSuite> = Vec::new();
    let mut killed: Vec<CipherSuite> = Vec::new();
    let mut unavailable = Vec::new();
    for token in text.split([':', ',', ' ']).filter(|t| !t.is_empty()) {
        if let Some(directive) = token.strip_prefix('@') {
            if directive == "STRENGTH" {
                list.sort_by_key(|s| std::cmp::Reverse(s.bits()));
            } else if !directive.starts_with("SECLEVEL=") {
                unavailable.push(token.to_owned());
            }
            continue;
        }
        let (op, body) = match token.as_bytes()[0] {
            b'!' | b'-' | b'+' => (token.as_bytes()[0], &token[1..]),
            _ => (0, token),
        };
        let mut selected: Vec<CipherSuite> = TLS12_SUITES.to_vec();
        let mut exact = None;
        for part in body.split('+') {
            let part = if part == "PROFILE=SYSTEM" {
                "DEFAULT"
            } else {
                part
            };
            if let Some(suite) = CipherSuite::from_name(part).filter(|s| TLS12_SUITES.contains(s)) {
                exact = Some(suite);
                selected.retain(|s| *s == suite);
            } else if let Some(pred) = keyword(part) {
                selected.retain(|s| pred(*s));
            } else {
                selected.clear();
                if op == 0 {
                    unavailable.push(part.to_owned());
                }
            }
        }
        if let (Some(suite), true) = (exact, selected.len() == 1) {
            selected = vec![suite];
        }
        match op {
            b'!' => {
                list.retain(|s| !selected.contains(s));
                killed.extend(selected);
            }
            b'-' => list.retain(|s| !selected.contains(s)),
            b'+' => {
                let (moved, kept): (Vec<_>, Vec<_>) =
                    list.iter().partition(|s| selected.contains(s));
                list = kept;
                list.extend(moved);
            }
            _ => {
                for s in selected {
                    if !killed.contains(&s) && !list.contains(&s) {
                        list.push(s);
                    }
                }
            }
        }
    }
    if list.is_empty() {
        return Err(no_match(text, &TLS12_SUITES));
    }
    Ok(Translated {
        suites: list,
        unavailable,
    })
}

/// Evaluates a TLS 1.3 `ciphersuites` string: names separated by `:`.
pub fn translate_ciphersuites(text: &str) -> Result<Translated, String> {
    let mut suites = Vec::new();
    let mut unavailable = Vec::new();
    for name in text.split(':').filter(|t| !t.is_empty()) {
        match CipherSuite::from_name(name).filter(|s| TLS13_SUITES.contains(s)) {
            Some(s) if !suites.contains(&s) => suites.push(s),
            Some(_) => {}
            None => unavailable.push(name.to_owned()),
        }
    }
    if suites.is_empty() {
        return Err(no_match(text, &TLS13_SUITES));
    }
    Ok(Translated {
        suites,
        unavailable,
    })
}

fn no_match(text: &str, offered: &[CipherSuite]) -> String {
    let names: Vec<&str> = offered.iter().map(|s| s.openssl_name()).collect();
    format!(
        "'{text}' names no cipher suite rustls (switchyard's TLS library) has; it offers {}",
        names.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<&'static str> {
        translate_ciphers(text)
            .unwrap()
            .suites
            .iter()
            .map(|s| s.openssl_name())
            .collect()
    }

    #[test]
    fn explicit_names_keep_their_order_and_drop_what_rustls_lacks() {
        // Debian's stock ssl-default-bind-ciphers.
        let debian = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384";
        let t = translate_ciphers(debian).unwrap();
        assert_eq!(t.suites[0], EcdheEcdsaAes128GcmSha256);
        assert_eq!(t.suites[1], EcdheRsaAes128GcmSha256);
        assert_eq!(t.suites.len(), 6);
        assert_eq!(
            t.unavailable,
            ["DHE-RSA-AES128-GCM-SHA256", "DHE-RSA-AES256-GCM-SHA384"]
        );
    }

    #[test]
    fn keywords_follow_openssl() {
        // As `openssl ciphers -v 'HIGH:!aNULL:!MD5'` orders them.
        assert_eq!(
            names("HIGH:!aNULL:!MD5"),
            [
                "ECDHE-ECDSA-AES256-GCM-SHA384",
                "ECDHE-RSA-AES256-GCM-SHA384",
                "ECDHE-ECDSA-CHACHA20-POLY1305",
                "ECDHE-RSA-CHACHA20-POLY1305",
                "ECDHE-ECDSA-AES128-GCM-SHA256",
                "ECDHE-RSA-AES128-GCM-SHA256"
            ]
        );
        assert_eq!(names("PROFILE=SYSTEM").len(), 6);
        assert_eq!(names("DEFAULT"), names("ALL"));
        assert_eq!(
            names("ECDHE+AES128:ECDHE+CHACHA20:!aRSA"),
            [
                "ECDHE-ECDSA-AES128-GCM-SHA256",
                "ECDHE-ECDSA-CHACHA20-POLY1305"
            ]
        );
        assert_eq!(
            names("AES128:AES256:-aRSA"),
            [
                "ECDHE-ECDSA-AES128-GCM-SHA256",
                "ECDHE-ECDSA-AES256-GCM-SHA384"
            ]
        );
        // `+` moves to the end; `!` forbids for good.
        assert_eq!(
            names("CHACHA20:AES128:+CHACHA20:!ECDSA:ECDSA"),
            ["ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-CHACHA20-POLY1305"]
        );
        assert_eq!(
            names("AES128:CHACHA20:@STRENGTH"),
            [
                "ECDHE-ECDSA-CHACHA20-POLY1305",
                "ECDHE-RSA-CHACHA20-POLY1305",
                "ECDHE-ECDSA-AES128-GCM-SHA256",
                "ECDHE-RSA-AES128-GCM-SHA256"
            ]
        );
    }

    #[test]
    fn nothing_rustls_has_is_an_error_listing_what_it_offers() {
        for text in [
            "DHE-RSA-AES128-SHA:RC4",
            "SHA256",
            "TLS_AES_128_GCM_SHA256",
            "ALL:!ECDHE",
        ] {
            let err = translate_ciphers(text).unwrap_err();
            assert!(err.contains("ECDHE-RSA-AES128-GCM-SHA256"), "{err}");
        }
        let err = translate_ciphersuites("TLS_AES_128_CCM_SHA256").unwrap_err();
        assert!(err.contains("TLS_AES_128_GCM_SHA256"), "{err}");
    }

    #[test]
    fn tls13_names() {
        let t = translate_ciphersuites(
            "TLS_AES_128_GCM_SHA256:TLS_AES_128_CCM_SHA256:TLS_CHACHA20_POLY1305_SHA256",
        )
        .unwrap();
        assert_eq!(
            t.suites,
            [Tls13Aes128GcmSha256, Tls13Chacha20Poly1305Sha256]
        );
        assert_eq!(t.unavailable, ["TLS_AES_128_CCM_SHA256"]);
    }
}
