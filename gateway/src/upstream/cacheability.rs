//! Whether a response is one a shared cache may keep, as HAProxy 2.6
//! judges it for `cookie … nocache` (`http_check_response_for_cacheability`
//! in its `http_ana.c`, and the status list of `http_wait_for_response`):
//! only then does an inserted persistence cookie come with
//! `Cache-Control: private`.

use http::header::{CACHE_CONTROL, ETAG, EXPIRES, LAST_MODIFIED, PRAGMA};
use http::{Method, StatusCode};

use crate::message::response::FieldsMut;

/// Whether the response to `method` with `status` and `fields` is
/// cacheable: a `GET` or `HEAD`, a status cacheable by default (RFC 9110
/// §15.1), no `Pragma: no-cache`, no `Cache-Control` element forbidding it
/// (`private`, `no-cache`, `no-store`, `max-age=0`, `s-maxage=0`), and
/// freshness information (`max-age`, `s-maxage`, `Expires`) or a validator
/// (`ETag`, `Last-Modified`): RFC 9111 §3 lets a cache keep nothing else.
pub fn cacheable(method: &Method, status: StatusCode, fields: &impl FieldsMut) -> bool {
    if !(method == Method::GET || method == Method::HEAD) {
        return false;
    }
    if !matches!(
        status.as_u16(),
        200 | 203 | 204 | 206 | 300 | 301 | 404 | 405 | 410 | 414 | 501
    ) {
        return false;
    }
    if fields.any_field_value(&PRAGMA, |v| {
        v.trim_ascii().eq_ignore_ascii_case(b"no-cache")
    }) {
        return false;
    }
    let mut forbidden = false;
    let mut fresh = false;
    for value in fields.field_values(&CACHE_CONTROL) {
        for element in value.as_bytes().split(|b| *b == b',') {
            let element = element.trim_ascii().to_ascii_lowercase();
            match element.as_slice() {
                b"private" | b"no-cache" | b"no-store" | b"max-age=0" | b"s-maxage=0" => {
                    forbidden = true;
                }
                e if e.starts_with(b"max-age") || e.starts_with(b"s-maxage") => fresh = true,
                _ => {}
            }
        }
    }
    if forbidden {
        return false;
    }
    let present = |name| fields.any_field_value(name, |_| true);
    fresh || present(&EXPIRES) || present(&ETAG) || present(&LAST_MODIFIED)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderMap;

    fn check(method: Method, status: u16, fields: &[(&'static str, &'static str)]) -> bool {
        let mut map = HeaderMap::new();
        for (n, v) in fields {
            map.append(*n, v.parse().unwrap());
        }
        cacheable(&method, StatusCode::from_u16(status).unwrap(), &map)
    }

    /// The cases compared with HAProxy 2.6.12 (`cookie SRV insert
    /// nocache`: which answers got `Cache-control: private`).
    #[test]
    fn as_haproxy_judges_it() {
        assert!(!check(Method::GET, 200, &[]), "no validator, no freshness");
        assert!(check(Method::GET, 200, &[("etag", "\"x\"")]));
        assert!(check(Method::GET, 200, &[("cache-control", "max-age=60")]));
        assert!(!check(Method::GET, 200, &[("cache-control", "public")]));
        assert!(check(
            Method::GET,
            200,
            &[("expires", "Thu, 01 Dec 2094 16:00:00 GMT")]
        ));
        assert!(
            !check(Method::GET, 302, &[("etag", "\"x\"")]),
            "302 is not cacheable by default"
        );
        assert!(!check(
            Method::GET,
            200,
            &[("etag", "\"x\""), ("cache-control", "no-cache")]
        ));
        assert!(!check(Method::POST, 200, &[("etag", "\"x\"")]));
        assert!(!check(
            Method::GET,
            200,
            &[("etag", "\"x\""), ("pragma", "no-cache")]
        ));
        assert!(!check(
            Method::GET,
            200,
            &[("cache-control", "public, max-age=0")]
        ));
    }
}
