//! `option http-restrict-req-hdr-names preserve|delete|reject`: what
//! becomes of a request header whose name has a character outside
//! `[A-Za-z0-9-]` (FastCGI turns `_` and `-` alike into `_`, so such names
//! can pass for others). HAProxy applies each proxy's policy after its
//! `http-request` rules; here the frontend's and then the backend's apply
//! once all the rules have run.

use switchyard_grammar::ast::proxy::HeaderNamePolicy;

/// Applies `option http-restrict-req-hdr-names` to a request's fields:
/// `Err` when the request is to be refused (`reject` and a name with a
/// character outside `[A-Za-z0-9-]`).
pub fn restrict(policy: HeaderNamePolicy, headers: &mut http::HeaderMap) -> Result<(), ()> {
    if policy == HeaderNamePolicy::Preserve {
        return Ok(());
    }
    let restricted: Vec<http::HeaderName> = headers
        .keys()
        .filter(|n| HeaderNamePolicy::restricted(n.as_str()))
        .cloned()
        .collect();
    match policy {
        HeaderNamePolicy::Reject if !restricted.is_empty() => Err(()),
        HeaderNamePolicy::Delete => {
            for name in restricted {
                headers.remove(name);
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn header_names_outside_the_charset_are_kept_deleted_or_refused() {
        let mut headers = http::HeaderMap::new();
        headers.insert("x-my_hdr", HeaderValue::from_static("on"));
        headers.insert("x-ok", HeaderValue::from_static("1"));
        let mut kept = headers.clone();
        assert!(restrict(HeaderNamePolicy::Preserve, &mut kept).is_ok());
        assert_eq!(kept.len(), 2);
        assert!(restrict(HeaderNamePolicy::Reject, &mut headers.clone()).is_err());
        let mut deleted = headers.clone();
        assert!(restrict(HeaderNamePolicy::Delete, &mut deleted).is_ok());
        assert!(deleted.get("x-my_hdr").is_none() && deleted.get("x-ok").is_some());
        headers.remove("x-my_hdr");
        assert!(restrict(HeaderNamePolicy::Reject, &mut headers).is_ok());
    }
}
