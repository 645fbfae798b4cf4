//! Cookie persistence (`cookie NAME insert|rewrite|prefix …` with
//! `server … cookie VALUE`): which server a request's cookie names, what the
//! server must not see of it, and what the response must carry.

use http::header::{COOKIE, SET_COOKIE};
use http::{HeaderMap, HeaderValue, Method};
use switchyard_grammar::ast::proxy::{CookieMode, CookieSettings};
use switchyard_rules::cookie::for_each_cookie;

use super::cookie_date;
use crate::message::response::FieldsMut;

pub struct Persistence {
    pub settings: CookieSettings,
    /// What follows the value in an inserted cookie (`; path=/`, domains,
    /// flags, `attr`s): the same for every response, so made once.
    attributes: String,
}

/// The persistence cookie a request carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestCookie {
    /// The server's `cookie VALUE`.
    pub server: String,
    /// `maxidle`/`maxlife` dates (Unix seconds), when the cookie has them.
    pub last_seen: Option<i64>,
    pub first_seen: Option<i64>,
}

impl RequestCookie {
    fn parse(value: &str, mode: CookieMode) -> Option<RequestCookie> {
        if mode == CookieMode::Prefix {
            return Some(RequestCookie {
                server: value.split_once('~')?.0.to_owned(),
                last_seen: None,
                first_seen: None,
            });
        }
        let mut parts = value.split('|');
        let server = parts.next()?.to_owned();
        let last_seen = parts.next().and_then(cookie_date::decode);
        let first_seen = parts.next().and_then(cookie_date::decode);
        Some(RequestCookie {
            server,
            last_seen,
            first_seen,
        })
    }
}

/// HAProxy ignores cookie dates more than a day in the future.
const FUTURE_TOLERANCE: i64 = 86_400;

impl Persistence {
    pub fn new(settings: CookieSettings) -> Persistence {
        let mut attributes = String::from("; path=/");
        for d in &settings.domains {
            attributes.push_str("; domain=");
            attributes.push_str(d);
        }
        if settings.httponly {
            attributes.push_str("; HttpOnly");
        }
        if settings.secure {
            attributes.push_str("; Secure");
        }
        for a in &settings.attrs {
            attributes.push_str("; ");
            attributes.push_str(a);
        }
        Persistence {
            settings,
            attributes,
        }
    }

    /// Whether a `Set-Cookie` value sets the persistence cookie.
    fn sets_ours(&self, value: &[u8]) -> bool {
        value
            .strip_prefix(self.settings.name.as_bytes())
            .is_some_and(|rest| rest.first() == Some(&b'='))
    }

    /// The request's letter of `%tsc` (HAProxy's "session state at
    /// disconnection", cookie part) before the server is known: `N` no
    /// cookie, `O` too old (`maxlife`), `E` idle too long (`maxidle`);
    /// `None` for a cookie still in force, which the server decides.
    pub fn expired_flag(&self, cookie: Option<&RequestCookie>, now: i64) -> Option<char> {
        let Some(cookie) = cookie else {
            return Some('N');
        };
        let too_far = |date: Option<i64>, limit: &Option<std::time::Duration>| {
            date.zip(*limit).is_some_and(|(date, limit)| {
                now - date > limit.as_secs() as i64 || date - now > FUTURE_TOLERANCE
            })
        };
        if too_far(cookie.first_seen, &self.settings.maxlife) {
            Some('O')
        } else if too_far(cookie.last_seen, &self.settings.maxidle) {
            Some('E')
        } else {
            None
        }
    }

    /// HAProxy's `maxlife` and `maxidle`: a cookie first set too long ago,
    /// or not seen for too long, counts as no cookie.
    pub fn still_valid(&self, cookie: &RequestCookie, now: i64) -> bool {
        let too_far = |date: i64, limit: &Option<std::time::Duration>| {
            limit.is_some_and(|limit| {
                now - date > limit.as_secs() as i64 || date - now > FUTURE_TOLERANCE
            })
        };
        if let Some(first) = cookie.first_seen {
            if too_far(first, &self.settings.maxlife) {
                return false;
            }
        }
        if let Some(last) = cookie.last_seen {
            if too_far(last, &self.settings.maxidle) {
                return false;
            }
        }
        true
    }

    /// Whether an inserted cookie naming the right server must be sent
    /// again to bring its dates up to date.
    fn dates_need_update(&self, had: &RequestCookie, now: i64) -> bool {
        let s = &self.settings;
        ((s.maxidle.is_some() || had.last_seen.is_some())
            && had.last_seen.is_none_or(|last| last < now))
            || (s.maxlife.is_some() && had.first_seen.is_none())
            || (s.maxlife.is_none() && had.first_seen.is_some())
    }

    /// The inserted cookie's value: the server's, then the dates.
    fn push_inserted_value(
        &self,
        value: &mut String,
        server_cookie: &str,
        had: Option<&RequestCookie>,
        now: i64,
    ) {
        let s = &self.settings;
        value.push_str(server_cookie);
        if s.maxidle.is_some() || s.maxlife.is_some() {
            value.push('|');
            value.push_str(&cookie_date::encode(now));
            if s.maxlife.is_some() {
                value.push('|');
                match had.and_then(|h| h.first_seen) {
                    Some(first) => value.push_str(&cookie_date::encode_steps((first >> 2) as u32)),
                    None => value.push_str(&cookie_date::encode(now)),
                }
            }
        }
    }

    /// The persistence cookie the request carries, if any: the first of
    /// its name that parses, the fields cut as HAProxy cuts them (`,` and
    /// `;` end a cookie, quotes keep them; `switchyard_rules::cookie`).
    pub fn requested(&self, headers: &HeaderMap) -> Option<RequestCookie> {
        let mut found = None;
        for value in headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
        {
            for_each_cookie(value, Some(&self.settings.name), &mut |_, v| {
                if found.is_none() {
                    found = RequestCookie::parse(v, self.settings.mode);
                }
            });
            if found.is_some() {
                break;
            }
        }
        found
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

    /// Adjusts the response of `server_cookie`'s server. `had` is the
    /// cookie the request carried (none when it was expired); `now` is the
    /// Unix time. Returns the response's letter of `%tsc`: `N` nothing
    /// done, `I` inserted, `U` dates updated, `P` the server's kept
    /// (`preserve`), `D` the server's deleted, `R` rewritten.
    pub fn on_response(
        &self,
        headers: &mut impl FieldsMut,
        server_cookie: &str,
        had: Option<&RequestCookie>,
        method: &Method,
        status: http::StatusCode,
        now: i64,
    ) -> char {
        let s = &self.settings;
        match s.mode {
            CookieMode::Insert => {
                let server_set_it = headers.any_field_value(&SET_COOKIE, |v| self.sets_ours(v));
                if server_set_it {
                    // The server's own cookie of that name wins with
                    // `preserve`; otherwise it is removed, as HAProxy does.
                    if s.preserve {
                        return 'P';
                    }
                    let others: Vec<HeaderValue> = headers
                        .field_values(&SET_COOKIE)
                        .into_iter()
                        .filter(|v| !self.sets_ours(v.as_bytes()))
                        .collect();
                    headers.remove_field(&SET_COOKIE);
                    for v in others {
                        headers.append_field(SET_COOKIE, v);
                    }
                }
                let current = had
                    .is_some_and(|h| h.server == server_cookie && !self.dates_need_update(h, now));
                if (current && !server_set_it) || (s.postonly && method != Method::POST) {
                    return if server_set_it { 'D' } else { 'N' };
                }
                let updated = had.is_some_and(|h| h.server == server_cookie) && !server_set_it;
                let mut cookie = String::with_capacity(
                    s.name.len() + server_cookie.len() + self.attributes.len() + 24,
                );
                cookie.push_str(&s.name);
                cookie.push('=');
                self.push_inserted_value(&mut cookie, server_cookie, had, now);
                cookie.push_str(&self.attributes);
                // Whether a cache may keep it is judged on the server's
                // response, before the cookie is added (as HAProxy does).
                let cacheable =
                    s.nocache && super::cacheability::cacheable(method, status, headers);
                if let Ok(v) = HeaderValue::from_maybe_shared(bytes::Bytes::from(cookie)) {
                    headers.append_field(SET_COOKIE, v);
                }
                if cacheable {
                    // Appended: the server's own `Cache-Control` stays.
                    headers.append_field(
                        http::header::CACHE_CONTROL,
                        HeaderValue::from_static("private"),
                    );
                }
                if updated {
                    'U'
                } else {
                    'I'
                }
            }
            CookieMode::Rewrite | CookieMode::Prefix => {
                if !headers.any_field_value(&SET_COOKIE, |v| self.sets_ours(v)) {
                    return 'N';
                }
                let values: Vec<String> = headers
                    .field_values(&SET_COOKIE)
                    .iter()
                    .filter_map(|v| v.to_str().ok().map(str::to_owned))
                    .collect();
                headers.remove_field(&SET_COOKIE);
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
                        headers.append_field(SET_COOKIE, v);
                    }
                }
                // HAProxy adds `Cache-Control: private` for `nocache`
                // only to a cookie it inserts.
                'R'
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_grammar::Span;

    fn settings(mode: CookieMode, indirect: bool) -> Persistence {
        Persistence::new(CookieSettings {
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
        })
    }

    const NOW: i64 = 1_795_000_000;

    fn server(p: &Persistence, h: &HeaderMap) -> Option<String> {
        p.requested(h).map(|c| c.server)
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
        assert_eq!(server(&p, &req).as_deref(), Some("s2"));
        p.strip_request(&mut req);
        assert_eq!(req.get("cookie").unwrap(), "a=1; b=2");
        let mut resp = HeaderMap::new();
        // `%tsc`'s response letter: inserted.
        assert_eq!(
            p.on_response(
                &mut resp,
                "s1",
                None,
                &Method::GET,
                http::StatusCode::OK,
                NOW
            ),
            'I'
        );
        assert_eq!(resp.get("set-cookie").unwrap(), "SRV=s1; path=/; HttpOnly");
        assert_eq!(
            resp.get("cache-control"),
            None,
            "not cacheable: nothing said"
        );
        let mut cacheable = headers(&[("cache-control", "max-age=60")]);
        p.on_response(
            &mut cacheable,
            "s1",
            None,
            &Method::GET,
            http::StatusCode::OK,
            NOW,
        );
        let values: Vec<_> = cacheable.get_all("cache-control").iter().collect();
        assert_eq!(
            values,
            ["max-age=60", "private"],
            "appended, the server's kept"
        );
        let mut again = HeaderMap::new();
        let had = p.requested(&headers(&[("cookie", "SRV=s1")]));
        assert_eq!(
            p.on_response(
                &mut again,
                "s1",
                had.as_ref(),
                &Method::GET,
                http::StatusCode::OK,
                NOW
            ),
            'N'
        );
        assert!(
            again.is_empty(),
            "no new cookie when the client already has it"
        );
    }

    #[test]
    fn insert_replaces_a_cookie_the_server_set_unless_preserve() {
        let p = settings(CookieMode::Insert, false);
        let mut resp = headers(&[("set-cookie", "SRV=x"), ("set-cookie", "other=1")]);
        p.on_response(
            &mut resp,
            "s1",
            None,
            &Method::GET,
            http::StatusCode::OK,
            NOW,
        );
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
        assert_eq!(server(&p, &req).as_deref(), Some("s1"));
        p.strip_request(&mut req);
        assert_eq!(req.get("cookie").unwrap(), "SRV=abc123");
        let mut resp = headers(&[("set-cookie", "SRV=xyz; Path=/")]);
        assert_eq!(
            p.on_response(
                &mut resp,
                "s2",
                None,
                &Method::GET,
                http::StatusCode::OK,
                NOW
            ),
            'R'
        );
        assert_eq!(resp.get("set-cookie").unwrap(), "SRV=s2~xyz; Path=/");
        let r = settings(CookieMode::Rewrite, false);
        let mut resp = headers(&[("set-cookie", "SRV=anything; Path=/")]);
        r.on_response(
            &mut resp,
            "s2",
            None,
            &Method::GET,
            http::StatusCode::OK,
            NOW,
        );
        assert_eq!(resp.get("set-cookie").unwrap(), "SRV=s2; Path=/");
    }

    /// `%tsc`'s request letter before the server is known.
    #[test]
    fn expired_cookies_are_told_apart() {
        let mut settings = settings(CookieMode::Insert, false).settings;
        settings.maxidle = Some(std::time::Duration::from_secs(60));
        settings.maxlife = Some(std::time::Duration::from_secs(600));
        let p = Persistence::new(settings);
        let cookie = |last: i64, first: i64| RequestCookie {
            server: "s1".into(),
            last_seen: Some(last),
            first_seen: Some(first),
        };
        assert_eq!(p.expired_flag(None, NOW), Some('N'));
        assert_eq!(p.expired_flag(Some(&cookie(NOW, NOW)), NOW), None);
        assert_eq!(p.expired_flag(Some(&cookie(NOW - 61, NOW)), NOW), Some('E'));
        assert_eq!(
            p.expired_flag(Some(&cookie(NOW, NOW - 601)), NOW),
            Some('O')
        );
    }

    #[test]
    fn malformed_cookies_are_ignored() {
        let p = settings(CookieMode::Prefix, false);
        assert_eq!(p.requested(&headers(&[("cookie", ";;=;SRV")])), None);
        assert_eq!(p.requested(&headers(&[("cookie", "SRV=novalue")])), None);
    }

    // What HAProxy 2.6.12 chose for the same `Cookie` fields on loopback.
    #[test]
    fn the_cookie_is_found_as_haproxy_cuts_the_field() {
        let p = settings(CookieMode::Insert, true);
        for (field, want) in [
            ("a=1,SRV=s2", Some("s2")),
            ("q=\"x;SRV=s1\"; SRV=s2", Some("s2")),
            ("$Version=1; SRV=s2; b=2", Some("s2")),
            ("SRV; SRV=s2", Some("s2")),
            ("a=1, SRV=s2, b=3", Some("s2")),
            ("SRV =  s1 ; x=2", Some("s1")),
        ] {
            assert_eq!(
                server(&p, &headers(&[("cookie", field)])).as_deref(),
                want,
                "{field}"
            );
        }
    }

    fn dated(maxidle: Option<u64>, maxlife: Option<u64>) -> Persistence {
        let mut s = settings(CookieMode::Insert, true).settings;
        s.httponly = false;
        s.nocache = false;
        s.maxidle = maxidle.map(std::time::Duration::from_secs);
        s.maxlife = maxlife.map(std::time::Duration::from_secs);
        Persistence::new(s)
    }

    fn set_cookie(p: &Persistence, had: Option<&str>, now: i64) -> Option<String> {
        let had = had.and_then(|v| p.requested(&headers(&[("cookie", v)])));
        let mut resp = HeaderMap::new();
        p.on_response(
            &mut resp,
            "s1",
            had.as_ref(),
            &Method::GET,
            http::StatusCode::OK,
            now,
        );
        resp.get("set-cookie")
            .map(|v| v.to_str().unwrap().to_owned())
    }

    #[test]
    fn maxidle_and_maxlife_dates_are_written_refreshed_and_enforced() {
        let p = dated(Some(1800), Some(8 * 3600));
        let first = set_cookie(&p, None, NOW).unwrap();
        let date = cookie_date::encode(NOW);
        assert_eq!(first, format!("SRV=s1|{date}|{date}; path=/"));
        let value = first
            .trim_start_matches("SRV=")
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let cookie = format!("SRV={value}");
        let had = p.requested(&headers(&[("cookie", &cookie)])).unwrap();
        assert_eq!(had.server, "s1");
        // Within the same 4-second step nothing is sent again.
        assert_eq!(set_cookie(&p, Some(&cookie), NOW), None);
        // Later the last-seen date moves and the first-seen date stays.
        let later = set_cookie(&p, Some(&cookie), NOW + 600).unwrap();
        assert_eq!(
            later,
            format!("SRV=s1|{}|{date}; path=/", cookie_date::encode(NOW + 600))
        );
        assert!(p.still_valid(&had, NOW + 1700));
        assert!(!p.still_valid(&had, NOW + 1900), "idle beyond maxidle");
        let refreshed = RequestCookie {
            last_seen: Some(NOW + 8 * 3600),
            ..had.clone()
        };
        assert!(
            !p.still_valid(&refreshed, NOW + 8 * 3600 + 10),
            "older than maxlife"
        );
        let future = RequestCookie {
            last_seen: Some(NOW + 2 * 86_400),
            first_seen: None,
            ..had
        };
        assert!(
            !p.still_valid(&future, NOW),
            "dates a day ahead are refused"
        );
    }

    #[test]
    fn cookies_without_dates_get_them_and_lose_them_as_configured() {
        let idle_only = dated(Some(60), None);
        let set = set_cookie(&idle_only, Some("SRV=s1"), NOW).unwrap();
        assert_eq!(set, format!("SRV=s1|{}; path=/", cookie_date::encode(NOW)));
        let plain = dated(None, None);
        let stale = format!(
            "SRV=s1|{}|{}",
            cookie_date::encode(NOW),
            cookie_date::encode(NOW)
        );
        assert_eq!(
            set_cookie(&plain, Some(&stale), NOW + 10).unwrap(),
            "SRV=s1; path=/"
        );
        assert_eq!(set_cookie(&plain, Some("SRV=s1"), NOW), None);
    }
}
