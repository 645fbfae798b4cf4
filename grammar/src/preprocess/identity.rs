//! What Switchyard answers when a configuration asks who is reading it:
//! the HAProxy version whose language it reads (for `version_atleast()` and
//! `version_before()`) and its feature list (for `feature()`).
//!
//! Both follow HAProxy 2.6 to the letter, so that a configuration written
//! for HAProxy takes the same branches here: versions are split into seven
//! numbers the way HAProxy's `split_version()` does, and a feature is looked
//! up in the `+NAME -NAME …` list as HAProxy looks it up in `haproxy -vv`.

use std::cmp::Ordering;

/// The HAProxy version Switchyard is compatible with. Version predicates
/// compare against it: `version_atleast(2.6)` is true, `version_atleast(2.6.1)`
/// and `version_before(2.6)` are false.
pub const HAPROXY_VERSION: &str = "2.6";

/// [`HAPROXY_VERSION`] as [`split_version`] reads it.
const CURRENT: [u32; 7] = [2, 6, 0, 0, 3, 0, 0];

/// HAProxy 2.6's feature names, each with whether Switchyard has it. Only
/// what a configuration can rely on is `+`: Switchyard is multi-threaded,
/// polls with epoll on Linux and kqueue on the BSDs and macOS, answers to
/// its own name, provides TLS (`OPENSSL`: configurations test it to know
/// whether `ssl`, `crt` and the `ssl_*` fetches exist; the library is
/// rustls, so `openssl_version_*()` stay unanswerable) and regular
/// expressions (`PCRE`, `PCRE2`: the `regex` crate, whose patterns have no
/// back-references or look-around; such a pattern is refused with that
/// reason). Everything else is `-`, notably the JITs, LUA, PROMEX, SLZ/ZLIB.
const FEATURES: &[(&str, bool)] = &[
    ("51DEGREES", false),
    ("ACCEPT4", false),
    ("BACKTRACE", false),
    ("CLOSEFROM", false),
    ("CPU_AFFINITY", false),
    ("CRYPT_H", false),
    ("DEVICEATLAS", false),
    ("DL", false),
    ("ENGINE", false),
    (
        "EPOLL",
        cfg!(any(target_os = "linux", target_os = "android")),
    ),
    ("EVPORTS", false),
    ("GETADDRINFO", false),
    (
        "KQUEUE",
        cfg!(any(
            target_os = "macos",
            target_os = "freebsd",
            target_os = "openbsd",
            target_os = "netbsd",
            target_os = "dragonfly"
        )),
    ),
    ("LIBCRYPT", false),
    ("LINUX_SPLICE", false),
    ("LINUX_TPROXY", false),
    ("LUA", false),
    ("MEMORY_PROFILING", false),
    ("NETFILTER", false),
    ("NS", false),
    ("OBSOLETE_LINKER", false),
    ("OPENSSL", true),
    ("OT", false),
    ("PCRE", true),
    ("PCRE2", true),
    ("PCRE2_JIT", false),
    ("PCRE_JIT", false),
    ("POLL", false),
    ("PRCTL", false),
    ("PROCCTL", false),
    ("PROMEX", false),
    ("QUIC", false),
    ("RT", false),
    ("SLZ", false),
    ("STATIC_PCRE", false),
    ("STATIC_PCRE2", false),
    ("SWITCHYARD", true),
    ("SYSTEMD", false),
    ("TFO", false),
    ("THREAD", true),
    ("THREAD_DUMP", false),
    ("TPROXY", false),
    ("WURFL", false),
    ("ZLIB", false),
];

/// The feature list as `haproxy -vv` prints it: `-51DEGREES … +THREAD …`.
pub fn feature_list() -> String {
    FEATURES
        .iter()
        .map(|(name, on)| format!("{}{name}", if *on { '+' } else { '-' }))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `feature(NAME)`: whether `NAME` appears in [`feature_list`] after a `+`.
///
/// As in HAProxy, `NAME` is searched as text and must end where a list entry
/// ends, so `feature(PCRE2 +PCRE2_JIT)` asks about two neighbours at once.
/// An empty name is false; HAProxy 2.6 answers it by reading past the end
/// of its own list, which is not an answer worth copying.
pub fn has_feature(name: &str) -> bool {
    let list = feature_list();
    let (list, name) = (list.as_bytes(), name.as_bytes());
    if name.is_empty() || name.len() > list.len() {
        return false;
    }
    for start in 1..=list.len() - name.len() {
        let end = start + name.len();
        if &list[start..end] != name || !matches!(list.get(end), None | Some(b' ')) {
            continue;
        }
        match list[start - 1] {
            b'+' => return true,
            b'-' => return false,
            _ => {}
        }
    }
    false
}

/// Compares `version` with [`HAPROXY_VERSION`]: `Some(Less)` when `version`
/// is older, `None` when HAProxy could not read it (then `version_atleast`
/// is true and `version_before` false, as in HAProxy).
pub fn compare_version(version: &str) -> Option<Ordering> {
    split_version(version.as_bytes()).map(|v| v.cmp(&CURRENT))
}

/// HAProxy's `split_version()`: `A[.B[.C[.D]]][-{dev,rc,pre}E][-…][-F]` into
/// `[A, B, C, D, tag, E, F]`, where the tag is 1 for dev, 2 for rc and pre,
/// 3 for a release. Numbers are read like C's `strtol` and stored modulo
/// 2³², so `-1` is a very large version, exactly as in HAProxy.
fn split_version(text: &[u8]) -> Option<[u32; 7]> {
    let mut parts = [0, 0, 0, 0, 3, 0, 0];
    if text.is_empty() {
        return None;
    }
    let mut at = 0;
    for (index, part) in parts.iter_mut().take(4).enumerate() {
        let (value, end) = strtol10(text, at);
        *part = value as u32;
        match text.get(end) {
            None => return Some(parts),
            Some(b'-') => return split_version_tag(text, end + 1, parts),
            Some(b'.') if index < 3 => at = end + 1,
            Some(_) => return None,
        }
    }
    None
}

/// The part after the first `-`: a `dev`/`rc`/`pre` tag and its number,
/// then the commit count.
fn split_version_tag(text: &[u8], mut at: usize, mut parts: [u32; 7]) -> Option<[u32; 7]> {
    let rest = text.get(at..).unwrap_or_default();
    if rest.first().is_some_and(u8::is_ascii_digit) {
        return split_version_commit(text, at, parts);
    }
    let (tag, skip) = if rest.starts_with(b"dev") {
        (1, 3)
    } else if rest.starts_with(b"rc") {
        (2, 2)
    } else if rest.starts_with(b"pre") {
        (2, 3)
    } else {
        return split_version_commit(text, at, parts);
    };
    parts[4] = tag;
    at += skip;
    let (value, end) = strtol10(text, at);
    parts[5] = value as u32;
    match text.get(end) {
        None => Some(parts),
        Some(b'-') => split_version_commit(text, end + 1, parts),
        Some(_) => None,
    }
}

/// The commit count: the number after the last `-`, or 0 when it is not a
/// number; a trailing `-` makes the version unreadable.
fn split_version_commit(text: &[u8], at: usize, mut parts: [u32; 7]) -> Option<[u32; 7]> {
    let rest = text.get(at..).unwrap_or_default();
    let number = match rest.iter().rposition(|&b| b == b'-') {
        Some(dash) if dash + 1 == rest.len() => return None,
        Some(dash) => &rest[dash + 1..],
        None => rest,
    };
    let (value, end) = strtol10(number, 0);
    parts[6] = if end == number.len() { value as u32 } else { 0 };
    Some(parts)
}

/// C's `strtol(text + at, &end, 10)`: leading white space, a sign, digits;
/// saturates on overflow. Returns the value and where reading stopped, which
/// is `at` itself when there were no digits.
pub(crate) fn strtol10(text: &[u8], at: usize) -> (i64, usize) {
    let mut i = at;
    while text.get(i).is_some_and(|&b| is_c_space(b)) {
        i += 1;
    }
    let negative = match text.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let digits = i;
    let mut magnitude: i128 = 0;
    while let Some(&b) = text.get(i).filter(|b| b.is_ascii_digit()) {
        magnitude = (magnitude * 10 + i128::from(b - b'0')).min(i128::from(u64::MAX));
        i += 1;
    }
    if i == digits {
        return (0, at);
    }
    let value = if negative { -magnitude } else { magnitude };
    (
        value.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64,
        i,
    )
}

/// C's `isspace()` in the C locale.
pub(crate) fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reported_version_is_2_6() {
        assert_eq!(split_version(HAPROXY_VERSION.as_bytes()), Some(CURRENT));
        assert_eq!(compare_version("2.6"), Some(Ordering::Equal));
        assert_eq!(compare_version("2.6.0"), Some(Ordering::Equal));
        assert_eq!(compare_version("2.6-"), Some(Ordering::Equal));
        assert_eq!(compare_version("2.4"), Some(Ordering::Less));
        assert_eq!(compare_version("2.6.1"), Some(Ordering::Greater));
        assert_eq!(compare_version("3"), Some(Ordering::Greater));
    }

    #[test]
    fn splits_versions_as_haproxy_does() {
        // The examples of HAProxy's own comment on split_version().
        let cases: &[(&str, [u32; 7])] = &[
            ("1.2.1-pre2", [1, 2, 1, 0, 2, 2, 0]),
            ("1.2.1", [1, 2, 1, 0, 3, 0, 0]),
            ("1.2.10.1", [1, 2, 10, 1, 3, 0, 0]),
            ("1.3.16-rc1", [1, 3, 16, 0, 2, 1, 0]),
            ("1.4-dev3", [1, 4, 0, 0, 1, 3, 0]),
            ("1.5-dev18", [1, 5, 0, 0, 1, 18, 0]),
            ("1.5-dev18-43", [1, 5, 0, 0, 1, 18, 43]),
            ("2.4-dev18-f6818d-20", [2, 4, 0, 0, 1, 18, 20]),
            ("2.6.12-1", [2, 6, 12, 0, 3, 0, 1]),
            ("2.6.12-1+deb12u4", [2, 6, 12, 0, 3, 0, 0]),
            ("2.", [2, 0, 0, 0, 3, 0, 0]),
            ("2..5", [2, 0, 5, 0, 3, 0, 0]),
            (" 2.6", [2, 6, 0, 0, 3, 0, 0]),
            ("-1", [u32::MAX, 0, 0, 0, 3, 0, 0]),
            ("99999999999999999999", [u32::MAX, 0, 0, 0, 3, 0, 0]),
        ];
        for (text, parts) in cases {
            assert_eq!(split_version(text.as_bytes()), Some(*parts), "{text}");
        }
    }

    #[test]
    fn unreadable_versions_are_none() {
        for text in [
            "",
            "abc",
            "2.x",
            "2.6.1.2.3",
            "2.6.1.2x",
            "2.6-dev1x",
            "2.6-1-",
        ] {
            assert_eq!(compare_version(text), None, "{text}");
        }
    }

    #[test]
    fn features_are_looked_up_like_haproxy() {
        assert!(has_feature("THREAD"));
        assert!(has_feature("SWITCHYARD"));
        assert!(has_feature("OPENSSL"));
        assert!(has_feature("PCRE2"));
        assert!(has_feature("PCRE"));
        assert!(!has_feature("PCRE2_JIT"));
        assert!(!has_feature("thread"), "names are case-sensitive");
        assert!(!has_feature("THREA"), "a name must end where an entry ends");
        assert!(!has_feature("HREAD"), "and start after its sign");
        assert!(!has_feature("NOPE"));
        assert!(!has_feature(""));
        assert!(!has_feature(" "));
        assert!(!has_feature("+"));
        assert!(has_feature("SWITCHYARD -SYSTEMD -TFO +THREAD"));
        assert_eq!(
            has_feature("EPOLL"),
            cfg!(any(target_os = "linux", target_os = "android"))
        );
    }

    #[test]
    fn the_list_is_sorted_and_signed() {
        let list = feature_list();
        assert!(list.starts_with("-51DEGREES -ACCEPT4"));
        assert!(list.contains("+THREAD"));
        let names: Vec<&str> = FEATURES.iter().map(|(n, _)| *n).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted);
    }

    #[test]
    fn strtol_reads_like_c() {
        assert_eq!(strtol10(b"12x", 0), (12, 2));
        assert_eq!(strtol10(b" -3", 0), (-3, 3));
        assert_eq!(strtol10(b"x", 0), (0, 0));
        assert_eq!(strtol10(b"a.b", 2), (0, 2));
        assert_eq!(strtol10(b"-", 0), (0, 0));
        assert_eq!(strtol10(b"99999999999999999999", 0).0, i64::MAX);
        assert_eq!(strtol10(b"-99999999999999999999", 0).0, i64::MIN);
    }
}
