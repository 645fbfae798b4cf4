//! `tune.bufsize` and `tune.maxrewrite` as the process applies them: the
//! longest message head read (request or response), and how large rules
//! may make one. Like HAProxy's `global.tune`, they are process-wide: the
//! configuration being served sets them once when it is loaded
//! (`runtime::build`), and the message paths read them with a relaxed load.

use std::sync::atomic::{AtomicUsize, Ordering};

/// HAProxy's defaults: a 16384-byte buffer with 1024 bytes kept for rewrites.
static MAX_HEAD: AtomicUsize = AtomicUsize::new(16_384 - 1024);
static MAX_REWRITTEN: AtomicUsize = AtomicUsize::new(16_384);

/// Sets both limits: `max_head` is the buffer less its reserve,
/// `max_rewritten` the whole buffer.
pub fn set(max_head: usize, max_rewritten: usize) {
    MAX_HEAD.store(max_head, Ordering::Relaxed);
    MAX_REWRITTEN.store(max_rewritten, Ordering::Relaxed);
}

/// The longest head read: a longer request is answered 400, a longer
/// response 502.
pub fn max_head() -> usize {
    MAX_HEAD.load(Ordering::Relaxed)
}

/// The most a head may hold once rules have added to it.
pub fn max_rewritten() -> usize {
    MAX_REWRITTEN.load(Ordering::Relaxed)
}
