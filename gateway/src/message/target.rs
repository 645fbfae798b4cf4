//! The request target as the layers above see it: an HTTP/1 request sent
//! in absolute form keeps that form (the rules, the log and the monitor
//! URI all read it), so the one function that decides it lives here, below
//! all of them.

use http::request::Parts;

/// The target of an HTTP/1 request sent in absolute form
/// (`GET http://host/p?q HTTP/1.1`), as HAProxy keeps it: the rules, the
/// log and the server see it so. HTTP/2's `:scheme`/`:authority` are not
/// one: such a request is seen in origin form, as HAProxy normalizes it.
pub fn absolute_target(parts: &Parts) -> Option<String> {
    (parts.version < http::Version::HTTP_2 && parts.uri.scheme().is_some())
        .then(|| parts.uri.to_string())
}

#[cfg(test)]
mod tests {
    use super::absolute_target;

    fn parts(target: &str, version: http::Version) -> http::request::Parts {
        let (parts, ()) = http::Request::builder()
            .uri(target)
            .version(version)
            .body(())
            .unwrap()
            .into_parts();
        parts
    }

    #[test]
    fn only_an_http1_absolute_form_is_kept() {
        let h1 = parts("http://a.test/p?q", http::Version::HTTP_11);
        assert_eq!(absolute_target(&h1).as_deref(), Some("http://a.test/p?q"));
        assert_eq!(
            absolute_target(&parts("/p?q", http::Version::HTTP_11)),
            None
        );
        assert_eq!(
            absolute_target(&parts("https://a.test/p", http::Version::HTTP_2)),
            None
        );
    }
}
