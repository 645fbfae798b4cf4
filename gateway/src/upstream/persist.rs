//! Cookie persistence (`cookie NAME insert|rewrite|prefix …` with
//! `server … cookie VALUE`): which server a request's cookie names, what the
//! server must not see of it, and what the response must carry.

use http::header::{COOKIE, SET_COOKIE};
use http::{HeaderMap, HeaderValue, Method};
use switchyard_grammar::ast::proxy::{CookieMode, CookieSettings};

pub struct Persistence {
    pub settings: CookieSettings,
}

impl Persistence {
    /// The server cookie value the request carries, if any.
    pub fn requested(&self, headers: &HeaderMap) -> Option<String> {
        let name = &self.settings.name;
        headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .find_map(|pair| {
                let (k, v) = pair.trim().split_once('=')?;
                if k.trim() != name {
                    return None;
                }
                let v = v.trim();
                Some(match self.settings.mode {
                    CookieMode::Prefix => v.split_once('~')?.0.to_owned(),
                    _ => v.to_owned(),
                })
            })
    }

    /// Removes what the server must not see: with `indirect`, the inserted
    /// cookie; in prefix mode, the `VALUE~` prefix.
    pub fn strip_request(&self, headers: &mut HeaderMap) {
        let strip_insert = self.settings.indirect && self.settings.mode == CookieMode::Insert;
        let strip_prefix = self.settings.mode == CookieMode::Prefix;
        if !strip_insert && !strip_prefix {
            return;
        }
        let name = &self.settings.name;
        let mut rebuilt = Vec::new();
        for value in headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
        {
            let kept: Vec<String> = value
                .split(';')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .filter_map(|pair| {
                    let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                    if k.trim() != name {
                        return Some(pair.to_owned());
                    }
                    if strip_insert {
                        return None;
                    }
                    Some(match v.split_once('~') {
                        Some((_, rest)) => format!("{name}={rest}"),
                        None => pair.to_owned(),
                    })
                })
                .collect();
            if !kept.is_empty() {
                rebuilt.push(kept.join("; "));
            }
        }
        headers.remove(COOKIE);
        for v in rebuilt {
            if let Ok(v) = HeaderValue::from_str(&v) {
                headers.append(COOKIE, v);
            }
        }
    }

    /// Adjusts the response of `server_cookie`'s server. `had` is the value
    /// the request carried.
    pub fn on_response(
        &self,
        headers: &mut HeaderMap,
        server_cookie: &str,
        had: Option<&str>,
        method: &Method,
    ) {
        let s = &self.settings;
        match s.mode {
            CookieMode::Insert => {
                let prefix = format!("{}=", s.name);
                let server_set_it = headers
                    .get_all(SET_COOKIE)
                    .iter()
                    .any(|v| v.to_str().is_ok_and(|v| v.starts_with(&prefix)));
                if server_set_it {
                    // The server's own cookie of that name wins with
                    // `preserve`; otherwise it is removed, as HAProxy does.
                    if s.preserve {
                        return;
                    }
                    let others: Vec<HeaderValue> = headers
                        .get_all(SET_COOKIE)
                        .iter()
                        .filter(|v| !v.to_str().is_ok_and(|v| v.starts_with(&prefix)))
                        .cloned()
                        .collect();
                    headers.remove(SET_COOKIE);
                    for v in others {
                        headers.append(SET_COOKIE, v);
                    }
                }
                if (had == Some(server_cookie) && !server_set_it)
                    || (s.postonly && method != Method::POST)
                {
                    return;
                }
                let mut cookie = format!("{}={server_cookie}; path=/", s.name);
                for d in &s.domains {
                    cookie.push_str(&format!("; domain={d}"));
                }
                if s.httponly {
                    cookie.push_str("; HttpOnly");
                }
                if s.secure {
                    cookie.push_str("; Secure");
                }
                for a in &s.attrs {
                    cookie.push_str(&format!("; {a}"));
                }
                if let Ok(v) = HeaderValue::from_str(&cookie) {
                    headers.append(SET_COOKIE, v);
                }
                if s.nocache {
                    headers.insert(
                        http::header::CACHE_CONTROL,
                        HeaderValue::from_static("private"),
                    );
                }
            }
            CookieMode::Rewrite | CookieMode::Prefix => {
                let values: Vec<String> = headers
                    .get_all(SET_COOKIE)
                    .iter()
                    .filter_map(|v| v.to_str().ok().map(str::to_owned))
                    .collect();
                if !values
                    .iter()
                    .any(|v| v.starts_with(&format!("{}=", s.name)))
                {
                    return;
                }
                headers.remove(SET_COOKIE);
                for v in values {
                    let new = match v.strip_prefix(&format!("{}=", s.name)) {
                        Some(rest) if s.mode == CookieMode::Rewrite => {
                            let attrs = rest.find(';').map(|i| &rest[i..]).unwrap_or("");
                            format!("{}={server_cookie}{attrs}", s.name)
                        }
                        Some(rest) => format!("{}={server_cookie}~{rest}", s.name),
                        None => v,
                    };
                    if let Ok(v) = HeaderValue::from_str(&new) {
                        headers.append(SET_COOKIE, v);
                    }
                }
                if s.nocache {
                    headers.insert(
                        http::header::CACHE_CONTROL,
                        HeaderValue::from_static("private"),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_grammar::Span;

    fn settings(mode: CookieMode, indirect: bool) -> Persistence {
        Persistence {
            settings: CookieSettings {
                name: "SRV".into(),
                mode,
                indirect,
                nocache: true,
                postonly: false,
                preserve: false,
                httponly: true,
                secure: false,
                domains: vec![],
                maxidle: None,
                maxlife: None,
                attrs: vec![],
                span: Span::default(),
            },
        }
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (n, v) in pairs {
            h.append(
                http::header::HeaderName::from_bytes(n.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn insert_indirect() {
        let p = settings(CookieMode::Insert, true);
        let mut req = headers(&[("cookie", "a=1; SRV=s2; b=2")]);
        assert_eq!(p.requested(&req).as_deref(), Some("s2"));
        p.strip_request(&mut req);
        assert_eq!(req.get("cookie").unwrap(), "a=1; b=2");
        let mut resp = HeaderMap::new();
        p.on_response(&mut resp, "s1", None, &Method::GET);
        assert_eq!(resp.get("set-cookie").unwrap(), "SRV=s1; path=/; HttpOnly");
        assert_eq!(resp.get("cache-control").unwrap(), "private");
        let mut again = HeaderMap::new();
        p.on_response(&mut again, "s1", Some("s1"), &Method::GET);
        assert!(
            again.is_empty(),
            "no new cookie when the client already has it"
        );
    }

    #[test]
    fn insert_replaces_a_cookie_the_server_set_unless_preserve() {
        let p = settings(CookieMode::Insert, false);
        let mut resp = headers(&[("set-cookie", "SRV=x"), ("set-cookie", "other=1")]);
        p.on_response(&mut resp, "s1", None, &Method::GET);
        let values: Vec<_> = resp
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        assert_eq!(values, ["other=1", "SRV=s1; path=/; HttpOnly"]);
    }

    #[test]
    fn prefix_and_rewrite() {
        let p = settings(CookieMode::Prefix, false);
        let mut req = headers(&[("cookie", "SRV=s1~abc123")]);
        assert_eq!(p.requested(&req).as_deref(), Some("s1"));
        p.strip_request(&mut req);
        assert_eq!(req.get("cookie").unwrap(), "SRV=abc123");
        let mut resp = headers(&[("set-cookie", "SRV=xyz; Path=/")]);
        p.on_response(&mut resp, "s2", None, &Method::GET);
        assert_eq!(resp.get("set-cookie").unwrap(), "SRV=s2~xyz; Path=/");
        let r = settings(CookieMode::Rewrite, false);
        let mut resp = headers(&[("set-cookie", "SRV=anything; Path=/")]);
        r.on_response(&mut resp, "s2", None, &Method::GET);
        assert_eq!(resp.get("set-cookie").unwrap(), "SRV=s2; Path=/");
    }

    #[test]
    fn malformed_cookies_are_ignored() {
        let p = settings(CookieMode::Prefix, false);
        assert_eq!(p.requested(&headers(&[("cookie", ";;=;SRV")])), None);
        assert_eq!(p.requested(&headers(&[("cookie", "SRV=novalue")])), None);
    }
}
