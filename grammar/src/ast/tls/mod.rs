//! The TLS policy of a `bind` or `server` line and of `global`'s
//! `ssl-default-bind-*` / `ssl-default-server-*`: protocol versions,
//! cipher suites, key-exchange groups, tickets and cipher preference.
//!
//! Switchyard's TLS is rustls, which speaks TLS 1.2 and 1.3 only, with
//! ECDHE key exchange and AEAD suites only. What a setting would add
//! beyond that (SSLv3, TLS 1.0/1.1, DHE, CBC suites…) is reported as a
//! warning naming it; disabling those is exactly what rustls does anyway.

pub mod cipher_list;
pub mod groups;

use crate::diagnostic::Diagnostic;
use crate::word::Word;

pub use cipher_list::CipherSuite;
pub use groups::KxGroup;

/// The policy options [`TlsPolicy::parse_option`] reads (for the
/// suggestions of an unknown `bind`/`server` option).
pub const OPTIONS: &[&str] = &[
    "ciphers",
    "ciphersuites",
    "curves",
    "ecdhe",
    "ssl-min-ver",
    "ssl-max-ver",
    "no-sslv3",
    "no-tlsv10",
    "no-tlsv11",
    "no-tlsv12",
    "no-tlsv13",
    "force-tlsv12",
    "force-tlsv13",
    "no-tls-tickets",
    "prefer-client-ciphers",
];

/// A TLS protocol version, as `ssl-min-ver` and `no-tlsv1x` name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TlsVersion {
    /// SSLv3 (not available with rustls).
    Ssl3,
    /// TLS 1.0 (not available with rustls).
    Tls10,
    /// TLS 1.1 (not available with rustls).
    Tls11,
    /// TLS 1.2.
    Tls12,
    /// TLS 1.3.
    Tls13,
}

impl TlsVersion {
    /// As HAProxy writes it in `ssl-min-ver`.
    pub fn name(self) -> &'static str {
        match self {
            TlsVersion::Ssl3 => "SSLv3",
            TlsVersion::Tls10 => "TLSv1.0",
            TlsVersion::Tls11 => "TLSv1.1",
            TlsVersion::Tls12 => "TLSv1.2",
            TlsVersion::Tls13 => "TLSv1.3",
        }
    }

    fn parse(w: &Word) -> Result<TlsVersion, Diagnostic> {
        Ok(match w.text.as_str() {
            "SSLv3" => TlsVersion::Ssl3,
            "TLSv1.0" => TlsVersion::Tls10,
            "TLSv1.1" => TlsVersion::Tls11,
            "TLSv1.2" => TlsVersion::Tls12,
            "TLSv1.3" => TlsVersion::Tls13,
            _ => {
                return Err(
                    Diagnostic::error(w.span, format!("unknown TLS version '{}'", w.text))
                        .with_help("use SSLv3, TLSv1.0, TLSv1.1, TLSv1.2 or TLSv1.3"),
                )
            }
        })
    }

    /// The version a `no-…`/`force-…` suffix names (`sslv3`, `tlsv12`…).
    fn from_suffix(suffix: &str) -> Option<TlsVersion> {
        Some(match suffix {
            "sslv3" => TlsVersion::Ssl3,
            "tlsv10" => TlsVersion::Tls10,
            "tlsv11" => TlsVersion::Tls11,
            "tlsv12" => TlsVersion::Tls12,
            "tlsv13" => TlsVersion::Tls13,
            _ => return None,
        })
    }

    /// rustls speaks these two only.
    pub fn in_rustls(self) -> bool {
        self >= TlsVersion::Tls12
    }
}

/// A cipher string as written and what it chose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CipherChoice {
    /// The string as written.
    pub word: Word,
    /// The suites it chose, in order of preference.
    pub suites: Vec<CipherSuite>,
    /// Names and words that select no suite rustls has (warned about).
    pub unavailable: Vec<String>,
}

/// A `curves`/`ecdhe` list as written and the groups it chose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupChoice {
    /// The list as written.
    pub word: Word,
    /// The groups it chose, in order of preference.
    pub groups: Vec<KxGroup>,
    /// Names in it that rustls does not have (warned about).
    pub unavailable: Vec<String>,
}

/// Which side of a connection a policy is for: a few options exist on
/// one side only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// `bind` and `default-bind` options.
    Bind,
    /// `server` and `default-server` options.
    Server,
}

/// `None`/`false`/empty means "not written here", so that a line's policy
/// can be laid over `default-server` and over `global`'s defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsPolicy {
    /// `ciphers` (TLS 1.2).
    pub ciphers: Option<CipherChoice>,
    /// `ciphersuites` (TLS 1.3).
    pub ciphersuites: Option<CipherChoice>,
    /// `curves`, or `ecdhe` (one curve).
    pub curves: Option<GroupChoice>,
    /// `ssl-min-ver`: the lowest version offered, and the word naming it.
    pub min_ver: Option<(TlsVersion, Word)>,
    /// `ssl-max-ver`: the highest version offered, and the word naming it.
    pub max_ver: Option<(TlsVersion, Word)>,
    /// `no-sslv3`, `no-tlsv1x`.
    pub disabled: Vec<TlsVersion>,
    /// `no-tls-tickets`: no session tickets (TLS 1.2) are issued.
    pub no_tls_tickets: bool,
    /// `prefer-client-ciphers` (bind only): HAProxy's default is the
    /// server's order.
    pub prefer_client_ciphers: bool,
}

impl TlsPolicy {
    /// Reads the policy option at `words[i]`, if it is one: the number of
    /// words it takes, or None when the word is no policy option.
    pub fn parse_option(
        &mut self,
        words: &[Word],
        i: usize,
        side: Side,
    ) -> Result<Option<usize>, Diagnostic> {
        let w = &words[i];
        let value = || {
            words.get(i + 1).ok_or_else(|| {
                Diagnostic::error(
                    w.span,
                    format!("option '{}' expects a value (missing argument)", w.text),
                )
            })
        };
        let text = w.text.as_str();
        match text {
            "ciphers" => {
                let v = value()?;
                let t = cipher_list::translate_ciphers(&v.text).map_err(|why| {
                    Diagnostic::error(v.span, why)
                        .with_help("TLS 1.3 suites go in 'ciphersuites'; e.g. 'ciphers ECDHE+AESGCM:ECDHE+CHACHA20'")
                })?;
                self.ciphers = Some(choice(v, t));
            }
            "ciphersuites" => {
                let v = value()?;
                let t = cipher_list::translate_ciphersuites(&v.text).map_err(|why| {
                    Diagnostic::error(v.span, why).with_help(
                        "e.g. 'ciphersuites TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256'",
                    )
                })?;
                self.ciphersuites = Some(choice(v, t));
            }
            "curves" | "ecdhe" if side == Side::Bind || text == "curves" => {
                let v = value()?;
                let (groups, unavailable) = groups::translate(&v.text, text == "ecdhe")
                    .map_err(|why| Diagnostic::error(v.span, why))?;
                self.curves = Some(GroupChoice {
                    word: v.clone(),
                    groups,
                    unavailable,
                });
            }
            "ssl-min-ver" | "ssl-max-ver" => {
                let v = value()?;
                let version = TlsVersion::parse(v)?;
                if text == "ssl-min-ver" {
                    self.min_ver = Some((version, v.clone()));
                } else {
                    if !version.in_rustls() {
                        return Err(nothing_left(v, &v.text));
                    }
                    self.max_ver = Some((version, v.clone()));
                }
            }
            "no-tls-tickets" => {
                self.no_tls_tickets = true;
                return Ok(Some(1));
            }
            "prefer-client-ciphers" if side == Side::Bind => {
                self.prefer_client_ciphers = true;
                return Ok(Some(1));
            }
            _ => {
                if let Some(v) = text.strip_prefix("no-").and_then(TlsVersion::from_suffix) {
                    if !self.disabled.contains(&v) {
                        self.disabled.push(v);
                    }
                    return Ok(Some(1));
                }
                if let Some(v) = text
                    .strip_prefix("force-")
                    .and_then(TlsVersion::from_suffix)
                {
                    if !v.in_rustls() {
                        return Err(nothing_left(w, &w.text));
                    }
                    self.min_ver = Some((v, w.clone()));
                    self.max_ver = Some((v, w.clone()));
                    return Ok(Some(1));
                }
                return Ok(None);
            }
        }
        Ok(Some(2))
    }

    /// `self` with the gaps filled from `defaults` (a `default-server`
    /// line, or `global`'s `ssl-default-*`): what a line writes wins, and
    /// the disabled versions of both apply.
    pub fn over(&self, defaults: &TlsPolicy) -> TlsPolicy {
        let mut disabled = defaults.disabled.clone();
        for v in &self.disabled {
            if !disabled.contains(v) {
                disabled.push(*v);
            }
        }
        TlsPolicy {
            ciphers: self.ciphers.clone().or_else(|| defaults.ciphers.clone()),
            ciphersuites: self
                .ciphersuites
                .clone()
                .or_else(|| defaults.ciphersuites.clone()),
            curves: self.curves.clone().or_else(|| defaults.curves.clone()),
            min_ver: self.min_ver.clone().or_else(|| defaults.min_ver.clone()),
            max_ver: self.max_ver.clone().or_else(|| defaults.max_ver.clone()),
            disabled,
            no_tls_tickets: self.no_tls_tickets || defaults.no_tls_tickets,
            prefer_client_ciphers: self.prefer_client_ciphers || defaults.prefer_client_ciphers,
        }
    }

    /// The versions served, among TLSv1.2 and TLSv1.3 (HAProxy's default
    /// minimum is TLSv1.2); an error when none is left.
    pub fn versions(&self) -> Result<Vec<TlsVersion>, String> {
        let min = self.min_ver.as_ref().map_or(TlsVersion::Tls12, |v| v.0);
        let max = self.max_ver.as_ref().map_or(TlsVersion::Tls13, |v| v.0);
        if min > max {
            return Err(format!(
                "'ssl-min-ver {}' is above 'ssl-max-ver {}'",
                min.name(),
                max.name()
            ));
        }
        let out: Vec<TlsVersion> = [TlsVersion::Tls12, TlsVersion::Tls13]
            .into_iter()
            .filter(|v| (min..=max).contains(v) && !self.disabled.contains(v))
            .collect();
        if out.is_empty() {
            return Err(
                "no TLS version is left to serve: rustls speaks TLSv1.2 and TLSv1.3 only, and the settings disable both"
                    .to_owned(),
            );
        }
        Ok(out)
    }

    /// What the policy asks that rustls cannot do, as warnings: versions
    /// below TLSv1.2 enabled by `ssl-min-ver`, and cipher or curve names
    /// that select nothing rustls has.
    pub fn warnings(&self) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        if let Some((v, w)) = self.min_ver.as_ref().filter(|(v, _)| !v.in_rustls()) {
            out.push(
                Diagnostic::warning(
                    w.span,
                    format!(
                        "'{}' enables versions below TLSv1.2, which rustls (switchyard's TLS library) does not have: TLSv1.2 is the lowest version served",
                        v.name()
                    ),
                )
                .with_help("write 'ssl-min-ver TLSv1.2' to say what is served"),
            );
        }
        for (what, choice) in [
            ("ciphers", &self.ciphers),
            ("ciphersuites", &self.ciphersuites),
        ] {
            if let Some(c) = choice.as_ref().filter(|c| !c.unavailable.is_empty()) {
                out.push(unavailable_warning(&c.word, what, &c.unavailable));
            }
        }
        if let Some(c) = self.curves.as_ref().filter(|c| !c.unavailable.is_empty()) {
            out.push(unavailable_warning(&c.word, "curves", &c.unavailable));
        }
        out
    }
}

fn choice(word: &Word, t: cipher_list::Translated) -> CipherChoice {
    CipherChoice {
        word: word.clone(),
        suites: t.suites,
        unavailable: t.unavailable,
    }
}

fn nothing_left(w: &Word, what: &str) -> Diagnostic {
    Diagnostic::error(
        w.span,
        format!("'{what}' leaves no TLS version switchyard can serve: rustls (its TLS library) speaks TLSv1.2 and TLSv1.3 only"),
    )
    .with_help("use TLSv1.2 or TLSv1.3")
}

fn unavailable_warning(word: &Word, what: &str, names: &[String]) -> Diagnostic {
    Diagnostic::warning(
        word.span,
        format!(
            "{what}: {} name(s) nothing rustls (switchyard's TLS library) has, so not offered: {}",
            names.len(),
            names.join(", ")
        ),
    )
    .with_help("rustls has ECDHE key exchange with AES-GCM and ChaCha20-Poly1305 only; docs/gateway.md lists the mapping")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::Environment;
    use crate::lexer::lex_line;
    use crate::span::FileId;

    fn policy(text: &str, side: Side) -> Result<TlsPolicy, Diagnostic> {
        let words = lex_line(text, FileId(0), 1, &Environment::new()).unwrap();
        let mut p = TlsPolicy::default();
        let mut i = 0;
        while i < words.len() {
            i += p.parse_option(&words, i, side)?.expect("a policy option");
        }
        Ok(p)
    }

    use TlsVersion::*;

    #[test]
    fn versions_follow_min_max_and_no_flags() {
        let v = |t| policy(t, Side::Bind).unwrap().versions();
        assert_eq!(v("").unwrap(), [Tls12, Tls13]);
        assert_eq!(v("ssl-min-ver TLSv1.3").unwrap(), [Tls13]);
        assert_eq!(v("no-tlsv13").unwrap(), [Tls12]);
        assert_eq!(v("no-sslv3 no-tlsv10 no-tlsv11").unwrap(), [Tls12, Tls13]);
        assert_eq!(v("force-tlsv12").unwrap(), [Tls12]);
        assert_eq!(
            v("ssl-min-ver TLSv1.0 ssl-max-ver TLSv1.2").unwrap(),
            [Tls12]
        );
        assert!(v("no-tlsv12 no-tlsv13").is_err());
        assert!(v("ssl-min-ver TLSv1.3 ssl-max-ver TLSv1.2").is_err());
        for refused in ["force-tlsv10", "force-sslv3", "ssl-max-ver TLSv1.1"] {
            let err = policy(refused, Side::Bind).unwrap_err();
            assert!(err.message.contains("TLSv1.2 and TLSv1.3 only"), "{err:?}");
        }
    }

    #[test]
    fn legacy_minimum_and_unavailable_names_are_warned_about() {
        let p = policy(
            "ssl-min-ver TLSv1.0 ciphers ECDHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES128-GCM-SHA256",
            Side::Bind,
        )
        .unwrap();
        let w = p.warnings();
        assert_eq!(w.len(), 2);
        assert!(w[0].message.contains("TLSv1.2 is the lowest"), "{w:?}");
        assert!(w[1].message.contains("DHE-RSA-AES128-GCM-SHA256"), "{w:?}");
    }

    #[test]
    fn line_over_defaults() {
        let global = policy("ssl-min-ver TLSv1.2 no-tls-tickets no-tlsv13", Side::Bind).unwrap();
        let line = policy("ssl-min-ver TLSv1.3 ciphers AES128", Side::Bind).unwrap();
        let merged = line.over(&global);
        assert_eq!(merged.min_ver.unwrap().0, Tls13);
        assert!(merged.no_tls_tickets);
        assert_eq!(merged.disabled, [Tls13]);
        assert!(merged.ciphers.is_some());
        // prefer-client-ciphers and ecdhe are bind options only.
        let words = lex_line("prefer-client-ciphers", FileId(0), 1, &Environment::new()).unwrap();
        assert_eq!(
            TlsPolicy::default()
                .parse_option(&words, 0, Side::Server)
                .unwrap(),
            None
        );
    }
}
