//! The open-file limit: each connection through the gateway holds two
//! descriptors (client and server), so HAProxy raises the soft limit to
//! what `maxconn` needs, or to `ulimit-n` when it is set.

use nix::sys::resource::{getrlimit, setrlimit, Resource};

/// HAProxy's `maxconn` when none is written and the limit decides: it
/// keeps 2 descriptors per connection and a margin for listeners, checks
/// and logs.
pub const DESCRIPTOR_MARGIN: u64 = 100;

/// Descriptors needed for `maxconn` connections.
pub fn needed_for(maxconn: u64) -> u64 {
    maxconn.saturating_mul(2).saturating_add(DESCRIPTOR_MARGIN)
}

/// Raises the soft open-file limit to `wanted` (at most the hard limit;
/// root may raise the hard limit too). Returns the limit now in force.
pub fn raise_open_files(wanted: u64) -> std::io::Result<u64> {
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE)?;
    if soft >= wanted {
        return Ok(soft);
    }
    let hard_wanted = hard.max(wanted);
    if setrlimit(Resource::RLIMIT_NOFILE, wanted, hard_wanted).is_ok() {
        return Ok(wanted);
    }
    // Not allowed to raise the hard limit: go as far as it allows.
    setrlimit(Resource::RLIMIT_NOFILE, hard.min(wanted), hard)?;
    Ok(hard.min(wanted))
}

/// `set-dumpable`: raises the core and file size limits as far as allowed
/// (unlimited when the process may) and makes the process dumpable again,
/// which a change of user turns off. What fails is a warning, as in HAProxy.
pub fn enable_core_dumps() {
    for (resource, name) in [
        (Resource::RLIMIT_CORE, "core size"),
        (Resource::RLIMIT_FSIZE, "file size"),
    ] {
        let infinity = nix::libc::RLIM_INFINITY;
        if setrlimit(resource, infinity, infinity).is_ok() {
            continue;
        }
        let raised = getrlimit(resource).and_then(|(_, hard)| setrlimit(resource, hard, hard));
        match raised {
            Ok(()) => {
                tracing::warn!("set-dumpable: the {name} limit is the hard limit, not unlimited")
            }
            Err(e) => tracing::warn!("set-dumpable: cannot raise the {name} limit: {e}"),
        }
    }
    if let Err(e) = nix::sys::prctl::set_dumpable(true) {
        tracing::warn!("set-dumpable: prctl(PR_SET_DUMPABLE) failed: {e}");
    }
}

/// The `maxconn` a process gets when the configuration sets none: what
/// the open-file limit allows, as HAProxy 2.6 computes it (capped so that a
/// huge limit does not mean a huge number).
pub fn default_maxconn(open_files: u64) -> u64 {
    (open_files.saturating_sub(DESCRIPTOR_MARGIN) / 2).clamp(1, 100_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_descriptors_per_connection_and_a_margin() {
        assert_eq!(needed_for(1000), 2100);
        assert_eq!(default_maxconn(2100), 1000);
        assert_eq!(default_maxconn(10), 1);
    }

    #[test]
    fn the_limit_is_at_least_what_was_asked_within_the_hard_limit() {
        let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
        let got = raise_open_files(soft).unwrap();
        assert!(got >= soft && got <= hard.max(soft));
    }
}
