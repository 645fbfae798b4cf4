//! A request head as written to a server: the request line with the
//! target as the client sent it (origin or absolute form) and the fields
//! as they are, names in lower case (as hyper writes them).

use http::request::Parts;

/// Appends `parts`' head to `out`.
pub fn encode(parts: &Parts, out: &mut Vec<u8>) {
    let absolute = parts.uri.scheme().map(|_| parts.uri.to_string());
    let target = match &absolute {
        Some(absolute) => absolute.as_str(),
        None => parts.uri.path_and_query().map_or("/", |pq| pq.as_str()),
    };
    out.reserve(64 + target.len() + parts.headers.len() * 32);
    out.extend_from_slice(parts.method.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(target.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    for (name, value) in &parts.headers {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(request: http::request::Builder) -> String {
        let (parts, ()) = request.body(()).unwrap().into_parts();
        let mut out = Vec::new();
        encode(&parts, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn the_head_is_written_field_by_field() {
        let request = http::Request::get("/a/b?c=d")
            .header("Host", "shop.test")
            .header("X-Forwarded-For", "127.0.0.1")
            .header("x-forwarded-for", "::1");
        assert_eq!(
            written(request),
            "GET /a/b?c=d HTTP/1.1\r\nhost: shop.test\r\nx-forwarded-for: 127.0.0.1\r\nx-forwarded-for: ::1\r\n\r\n"
        );
    }

    #[test]
    fn an_absolute_form_target_is_kept() {
        assert_eq!(
            written(http::Request::get("http://shop.test/a?b")),
            "GET http://shop.test/a?b HTTP/1.1\r\n\r\n"
        );
    }
}
