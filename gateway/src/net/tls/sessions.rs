//! Session resumption as HAProxy configures it: TLS tickets unless
//! `no-tls-tickets`, a session cache of `tune.ssl.cachesize` entries (0:
//! none; rustls' own 256 when unset), and `tune.ssl.lifetime` (HAProxy's
//! default 300 s) as the age past which neither a ticket nor a cached
//! session resumes. The age is written, encrypted with the session, when
//! it is issued, and checked when it comes back.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustls::server::{
    NoServerSessionStorage, ProducesTickets, ServerSessionMemoryCache, StoresServerSessions,
};
use rustls::ServerConfig;
use switchyard_grammar::ast::global::TlsTuning;
use switchyard_grammar::ast::tls::TlsPolicy;

use super::TlsError;

/// HAProxy's `tune.ssl.lifetime` default.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(300);

/// Sets `config`'s tickets, session cache, cipher preference and record
/// size from a `bind` line's policy and `global`'s tuning.
pub fn apply(
    config: &mut ServerConfig,
    policy: &TlsPolicy,
    tuning: &TlsTuning,
) -> Result<(), TlsError> {
    let lifetime = tuning.lifetime.unwrap_or(DEFAULT_LIFETIME);
    // HAProxy sets OpenSSL's server preference unless told otherwise.
    config.ignore_client_order = !policy.prefer_client_ciphers;
    config.max_fragment_size = tuning.maxrecord;
    if !policy.no_tls_tickets {
        let inner = rustls::crypto::ring::Ticketer::new()
            .map_err(|e| TlsError::Config(format!("TLS tickets: {e}")))?;
        config.ticketer = Arc::new(AgedTickets { inner, lifetime });
    }
    let store: Arc<dyn StoresServerSessions> = match tuning.cachesize {
        Some(0) => Arc::new(NoServerSessionStorage {}),
        Some(n) => ServerSessionMemoryCache::new(n),
        None => config.session_storage.clone(),
    };
    config.session_storage = Arc::new(AgedSessions {
        inner: store,
        lifetime,
    });
    Ok(())
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `value` with its issue time in front.
fn stamped(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + value.len());
    out.extend_from_slice(&now().to_be_bytes());
    out.extend_from_slice(value);
    out
}

/// The value of a stamped one no older than `lifetime`.
fn unstamped(stamped: Vec<u8>, lifetime: Duration) -> Option<Vec<u8>> {
    let issued = u64::from_be_bytes(stamped.get(..8)?.try_into().ok()?);
    let age = now().checked_sub(issued)?;
    (age <= lifetime.as_secs()).then(|| stamped[8..].to_vec())
}

/// Tickets that stop resuming after `lifetime` (the time is inside the
/// encrypted ticket, so a client cannot change it).
#[derive(Debug)]
struct AgedTickets {
    inner: Arc<dyn ProducesTickets>,
    lifetime: Duration,
}

impl ProducesTickets for AgedTickets {
    fn enabled(&self) -> bool {
        self.inner.enabled()
    }

    fn lifetime(&self) -> u32 {
        u32::try_from(self.lifetime.as_secs())
            .unwrap_or(u32::MAX)
            .min(self.inner.lifetime())
    }

    fn encrypt(&self, plain: &[u8]) -> Option<Vec<u8>> {
        self.inner.encrypt(&stamped(plain))
    }

    fn decrypt(&self, cipher: &[u8]) -> Option<Vec<u8>> {
        unstamped(self.inner.decrypt(cipher)?, self.lifetime)
    }
}

/// A session cache whose entries stop resuming after `lifetime`.
#[derive(Debug)]
struct AgedSessions {
    inner: Arc<dyn StoresServerSessions>,
    lifetime: Duration,
}

impl StoresServerSessions for AgedSessions {
    fn put(&self, key: Vec<u8>, value: Vec<u8>) -> bool {
        self.inner.put(key, stamped(&value))
    }

    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        unstamped(self.inner.get(key)?, self.lifetime)
    }

    fn take(&self, key: &[u8]) -> Option<Vec<u8>> {
        unstamped(self.inner.take(key)?, self.lifetime)
    }

    fn can_cache(&self) -> bool {
        self.inner.can_cache()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_expire() {
        let value = stamped(b"session");
        assert_eq!(
            unstamped(value.clone(), Duration::from_secs(300)).as_deref(),
            Some(&b"session"[..])
        );
        let mut old = value;
        old[..8].copy_from_slice(&(now() - 301).to_be_bytes());
        assert_eq!(unstamped(old, Duration::from_secs(300)), None);
        assert_eq!(unstamped(vec![1, 2], Duration::from_secs(300)), None);
    }

    #[test]
    fn aged_tickets_round_trip() {
        let tickets = AgedTickets {
            inner: rustls::crypto::ring::Ticketer::new().unwrap(),
            lifetime: Duration::from_secs(60),
        };
        assert_eq!(tickets.lifetime(), 60);
        let cipher = tickets.encrypt(b"secret").unwrap();
        assert_eq!(tickets.decrypt(&cipher).as_deref(), Some(&b"secret"[..]));
        assert_eq!(tickets.decrypt(b"forged"), None);
    }
}
