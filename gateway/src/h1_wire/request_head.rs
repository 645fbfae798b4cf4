//! A request head as written to a server: the request line in origin form
//! and the fields as they are, names in lower case (as hyper writes them).

use http::request::Parts;

/// Appends `parts`' head to `out`.
pub fn encode(parts: &Parts, out: &mut Vec<u8>) {
    let target = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
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

    #[test]
    fn the_head_is_written_field_by_field() {
        let (parts, ()) = http::Request::get("/a/b?c=d")
            .header("Host", "shop.test")
            .header("X-Forwarded-For", "127.0.0.1")
            .header("x-forwarded-for", "::1")
            .body(())
            .unwrap()
            .into_parts();
        let mut out = Vec::new();
        encode(&parts, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "GET /a/b?c=d HTTP/1.1\r\nhost: shop.test\r\nx-forwarded-for: 127.0.0.1\r\nx-forwarded-for: ::1\r\n\r\n"
        );
    }
}
