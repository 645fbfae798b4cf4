//! Choosing the certificate for a TLS handshake by its SNI, as HAProxy 2.6
//! does (`ssl_sock_switchctx_cbk`): an exact name first, then a wildcard
//! (`*.example.com` covers one label: `www.example.com`, not
//! `a.www.example.com` nor `example.com`), skipping a wildcard whose
//! crt-list line excludes the exact name with `!name`. Among several
//! candidates for a name, the first loaded that can sign with what the
//! client offers wins. No match gives the first certificate loaded, the
//! default — or a failed handshake with `strict-sni`.

use std::sync::Arc;

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use super::crt_list::SniFilter;

/// One loaded certificate and the names it is chosen for.
#[derive(Debug)]
pub struct CertEntry {
    pub key: Arc<CertifiedKey>,
    /// Where it came from, for logs and errors.
    pub source: String,
    /// Exact names (lowercase).
    exact: Vec<String>,
    /// Wildcard suffixes: `.example.com` for `*.example.com`.
    wildcard: Vec<String>,
    /// `!name` filters of its crt-list line.
    excluded: Vec<String>,
}

impl CertEntry {
    /// An entry answering for `names` (the certificate's own names, or a
    /// crt-list line's filters).
    pub fn new(key: Arc<CertifiedKey>, source: String, names: &[SniFilter]) -> CertEntry {
        let mut entry = CertEntry {
            key,
            source,
            exact: Vec::new(),
            wildcard: Vec::new(),
            excluded: Vec::new(),
        };
        for filter in names {
            let name = filter.name.to_ascii_lowercase();
            if filter.negative {
                entry.excluded.push(name);
            } else if let Some(suffix) = name.strip_prefix('*') {
                entry.wildcard.push(suffix.to_owned());
            } else {
                entry.exact.push(name);
            }
        }
        entry
    }
}

/// The certificates of one `bind` line, in load order.
#[derive(Debug)]
pub struct CertStore {
    entries: Vec<CertEntry>,
    strict_sni: bool,
}

impl CertStore {
    /// `entries` must not be empty: the first is the default.
    pub fn new(entries: Vec<CertEntry>, strict_sni: bool) -> CertStore {
        assert!(!entries.is_empty(), "a bind with ssl has a certificate");
        CertStore {
            entries,
            strict_sni,
        }
    }

    /// The entry for `server_name` (None: the client sent no SNI), among
    /// those `usable` says can serve this client.
    pub fn select<'a>(
        &'a self,
        server_name: Option<&str>,
        usable: &dyn Fn(&CertifiedKey) -> bool,
    ) -> Option<&'a CertEntry> {
        let Some(name) = server_name else {
            return self.fallback();
        };
        let name = name.to_ascii_lowercase();
        let pick = |candidates: Vec<&'a CertEntry>| -> Option<&'a CertEntry> {
            candidates
                .iter()
                .find(|e| usable(&e.key))
                .or(candidates.first())
                .copied()
        };
        let exact: Vec<&CertEntry> = self
            .entries
            .iter()
            .filter(|e| e.exact.contains(&name))
            .collect();
        if let Some(found) = pick(exact) {
            return Some(found);
        }
        if let Some(dot) = name.find('.') {
            let suffix = &name[dot..];
            let wild: Vec<&CertEntry> = self
                .entries
                .iter()
                .filter(|e| e.wildcard.iter().any(|w| w == suffix) && !e.excluded.contains(&name))
                .collect();
            if let Some(found) = pick(wild) {
                return Some(found);
            }
        }
        self.fallback()
    }

    fn fallback(&self) -> Option<&CertEntry> {
        if self.strict_sni {
            None
        } else {
            self.entries.first()
        }
    }
}

impl ResolvesServerCert for CertStore {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let schemes = hello.signature_schemes();
        let usable = |key: &CertifiedKey| key.key.choose_scheme(schemes).is_some();
        let sni = hello.server_name();
        match self.select(sni, &usable) {
            Some(entry) => {
                tracing::trace!(?sni, certificate = %entry.source, "certificate chosen");
                Some(entry.key.clone())
            }
            None => {
                tracing::debug!(?sni, "strict-sni: no certificate for this name");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::tls::crt_list::SniFilter;

    fn key() -> Arc<CertifiedKey> {
        let cert = rcgen::generate_simple_self_signed(vec!["x.test".to_owned()]).unwrap();
        let der = rustls_pki_types::PrivateKeyDer::try_from(cert.key_pair.serialize_der()).unwrap();
        let signer = crate::net::tls::provider()
            .key_provider
            .load_private_key(der)
            .unwrap();
        Arc::new(CertifiedKey::new(vec![cert.cert.der().clone()], signer))
    }

    fn entry(source: &str, names: &[&str]) -> CertEntry {
        let filters: Vec<SniFilter> = names
            .iter()
            .map(|n| match n.strip_prefix('!') {
                Some(name) => SniFilter {
                    negative: true,
                    name: name.to_owned(),
                },
                None => SniFilter {
                    negative: false,
                    name: n.to_string(),
                },
            })
            .collect();
        CertEntry::new(key(), source.to_owned(), &filters)
    }

    fn chosen<'a>(store: &'a CertStore, sni: Option<&str>) -> Option<&'a str> {
        store.select(sni, &|_| true).map(|e| e.source.as_str())
    }

    #[test]
    fn exact_then_wildcard_then_default() {
        let store = CertStore::new(
            vec![
                entry("default", &["default.test"]),
                entry("wild", &["*.example.com"]),
                entry("www", &["www.example.com"]),
            ],
            false,
        );
        assert_eq!(chosen(&store, Some("www.example.com")), Some("www"));
        assert_eq!(chosen(&store, Some("WWW.Example.COM")), Some("www"));
        assert_eq!(chosen(&store, Some("api.example.com")), Some("wild"));
        // A wildcard covers exactly one label.
        assert_eq!(chosen(&store, Some("a.b.example.com")), Some("default"));
        assert_eq!(chosen(&store, Some("example.com")), Some("default"));
        assert_eq!(chosen(&store, Some("other.test")), Some("default"));
        assert_eq!(chosen(&store, None), Some("default"));
    }

    #[test]
    fn strict_sni_has_no_default() {
        let store = CertStore::new(vec![entry("a", &["a.test"]), entry("b", &["b.test"])], true);
        assert_eq!(chosen(&store, Some("b.test")), Some("b"));
        assert_eq!(chosen(&store, Some("c.test")), None);
        assert_eq!(chosen(&store, None), None);
    }

    #[test]
    fn first_loaded_wins_a_shared_name() {
        let store = CertStore::new(
            vec![entry("first", &["a.test"]), entry("second", &["a.test"])],
            false,
        );
        assert_eq!(chosen(&store, Some("a.test")), Some("first"));
        // …unless it cannot sign for this client.
        let second = store.entries[1].key.clone();
        let only_second = move |k: &CertifiedKey| Arc::ptr_eq(&k.key, &second.key);
        assert_eq!(
            store
                .select(Some("a.test"), &only_second)
                .map(|e| e.source.as_str()),
            Some("second")
        );
    }

    #[test]
    fn negative_filters_exclude_from_wildcards() {
        // HAProxy's documented example, with certS absent to see the
        // exclusion fall through to the default.
        let store = CertStore::new(
            vec![
                entry("cert1", &["!*"]),
                entry("certW", &["*.domain.tld", "!secure.domain.tld"]),
            ],
            false,
        );
        assert_eq!(chosen(&store, Some("www.domain.tld")), Some("certW"));
        assert_eq!(chosen(&store, Some("secure.domain.tld")), Some("cert1"));
        // "!*" leaves cert1 with no name: it serves only as the default.
        assert_eq!(chosen(&store, Some("cert1.test")), Some("cert1"));
        let store = CertStore::new(
            vec![
                entry("cert1", &["!*"]),
                entry("certW", &["*.domain.tld", "!secure.domain.tld"]),
                entry("certS", &["secure.domain.tld"]),
            ],
            true,
        );
        assert_eq!(chosen(&store, Some("secure.domain.tld")), Some("certS"));
        assert_eq!(chosen(&store, Some("other.test")), None);
    }
}
