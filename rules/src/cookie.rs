//! The cookies of a `Cookie` request header, cut as HAProxy cuts them
//! (`http_extract_cookie_value`), for `req.cook`, `req.cook_cnt` and the
//! fixtures' persistence cookie.
//!
//! HAProxy's rules are not those of a general cookie parser (RFC 6265 or
//! the `cookie` crate): a `,` ends a cookie as a `;` does; a quoted value
//! keeps the `;` and `,` inside its quotes; a part without `=` is no
//! cookie; a name starting with `$` (RFC 2109's `$Version`, `$Path`) is
//! skipped; an empty name is a cookie; spaces and tabs around the name and
//! the value are not part of them. docs/rules.md lists what the `cookie`
//! crate does differently.

/// Calls `f(name, value)` for each cookie of `header` (one `Cookie` field's
/// value), in order. With `name`, only the cookies of that name are given,
/// and, as in HAProxy, only those starting at least `name.len() + 2` bytes
/// before the end of the field.
pub fn for_each_cookie<'h>(
    header: &'h str,
    name: Option<&str>,
    f: &mut dyn FnMut(&'h str, &'h str),
) {
    let b = header.as_bytes();
    let end = b.len();
    let wanted = name.map_or(0, str::len);
    let mut start = 0;
    while start + wanted + 1 < end {
        let mut att_beg = start;
        while att_beg < end && is_space(b[att_beg]) {
            att_beg += 1;
        }
        // The name ends at the last non-space before '=', ';' or ','.
        let (mut equal, mut att_end) = (att_beg, att_beg);
        while equal < end && !matches!(b[equal], b'=' | b';' | b',') {
            equal += 1;
            if !is_space(b[equal - 1]) {
                att_end = equal;
            }
        }
        let (val_beg, val_end, next) = if equal < end && b[equal] == b'=' {
            let mut val_beg = equal + 1;
            while val_beg < end && is_space(b[val_beg]) {
                val_beg += 1;
            }
            let next = value_end(b, val_beg);
            let mut val_end = next;
            while val_end > val_beg && is_space(b[val_end - 1]) {
                val_end -= 1;
            }
            (val_beg, val_end, next)
        } else {
            (equal, equal, equal)
        };
        let is_cookie = equal != next && b.get(att_beg) != Some(&b'$');
        if is_cookie {
            let found = &header[att_beg..att_end];
            if name.is_none_or(|n| n == found) {
                f(found, &header[val_beg..val_end]);
            }
        }
        start = next + 1;
    }
}

fn is_space(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

/// Where a value starting at `from` ends: the first `;` or `,` outside
/// double quotes (a backslash escapes the next byte inside them), or the
/// end of the field.
fn value_end(b: &[u8], from: usize) -> usize {
    let (mut quoted, mut escaped) = (false, false);
    for (i, &c) in b.iter().enumerate().skip(from) {
        if escaped {
            escaped = false;
        } else if quoted {
            match c {
                b'\\' => escaped = true,
                b'"' => quoted = false,
                _ => {}
            }
        } else if c == b'"' {
            quoted = true;
        } else if c == b';' || c == b',' {
            return i;
        }
    }
    b.len()
}

#[cfg(test)]
mod tests {
    use super::for_each_cookie;

    fn all(header: &str, name: Option<&str>) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for_each_cookie(header, name, &mut |k, v| out.push((k.into(), v.into())));
        out
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    // Each expectation is what HAProxy 2.6.12 answered for the same field
    // (`req.cook_cnt()`, `req.cook(NAME)`, `req.cook()`), on loopback.
    #[test]
    fn cut_as_haproxy_cuts() {
        assert_eq!(all("a=1,b=2", None), pairs(&[("a", "1"), ("b", "2")]));
        assert_eq!(
            all("q=\"x;y\"; b=3", None),
            pairs(&[("q", "\"x;y\""), ("b", "3")])
        );
        assert_eq!(all("$d=1; a = 2 ; b", None), pairs(&[("a", "2")]));
        assert_eq!(all("b; a=1", None), pairs(&[("a", "1")]));
        assert_eq!(all("=z; a=1", None), pairs(&[("", "z"), ("a", "1")]));
        assert_eq!(all("a=1;b=2;;c", None), pairs(&[("a", "1"), ("b", "2")]));
        assert_eq!(
            all("a=1; b; =v; q=\"x y\"; b=2", None),
            pairs(&[("a", "1"), ("", "v"), ("q", "\"x y\""), ("b", "2")])
        );
    }

    #[test]
    fn by_name() {
        assert_eq!(all("a=1; b; =v; b=2", Some("b")), pairs(&[("b", "2")]));
        assert_eq!(
            all("x=1; b=\"p\\\"q;r\"", Some("b")),
            pairs(&[("b", "\"p\\\"q;r\"")])
        );
        assert_eq!(all("a=1; a=", Some("a")), pairs(&[("a", "1"), ("a", "")]));
        assert_eq!(all("a=1;a=", None), pairs(&[("a", "1"), ("a", "")]));
        // Too close to the end for a name of that length, as in HAProxy.
        assert_eq!(all("a=1;a=", Some("a")), pairs(&[("a", "1")]));
        assert_eq!(
            all("é = ü ;ö=\"ä,\"", None),
            pairs(&[("é", "ü"), ("ö", "\"ä,\"")])
        );
        assert!(all("", None).is_empty());
        assert!(all(" ; ,", None).is_empty());
    }

    proptest::proptest! {
        // Any field, however odd its bytes: no panic, and every name and
        // value is a trimmed piece of the field.
        #[test]
        fn any_field_is_cut_without_panic(field in "[ a-z=;,\"\\$\té]{0,40}") {
            for_each_cookie(&field, None, &mut |k, v| {
                assert!(field.contains(k) && field.contains(v));
                assert_eq!((k.trim_matches([' ', '\t']), v.trim_matches([' ', '\t'])), (k, v));
            });
            for_each_cookie(&field, Some("a"), &mut |k, _| assert_eq!(k, "a"));
        }
    }
}
