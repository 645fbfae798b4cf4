//! `option forwardfor [except NET] [header NAME] [if-none]`, as HAProxy 2.6
//! does it: a new header line with the client address is appended after any
//! the client sent, which are kept.

use std::net::IpAddr;

use http::{HeaderMap, HeaderName, HeaderValue};
use switchyard_grammar::ast::proxy::ForwardFor;
use switchyard_grammar::ast::value::parse_network_text;
pub use switchyard_rules::fetch::canonical;
use switchyard_rules::pattern::contains;

/// A compiled `option forwardfor`.
#[derive(Debug, Clone)]
pub struct ForwardForPolicy {
    header: HeaderName,
    except: Option<(IpAddr, u8)>,
    if_none: bool,
}

impl ForwardForPolicy {
    pub fn new(setting: &ForwardFor) -> Result<Self, String> {
        let header = HeaderName::from_bytes(setting.header.as_bytes())
            .map_err(|_| format!("'{}' is not a valid header name", setting.header))?;
        let except = match &setting.except {
            Some(word) => Some(
                parse_network_text(&word.text)
                    .ok_or_else(|| format!("invalid network '{}'", word.text))?,
            ),
            None => None,
        };
        Ok(ForwardForPolicy {
            header,
            except,
            if_none: setting.if_none,
        })
    }

    /// Adds the client address to `headers` unless the policy says not to.
    pub fn apply(&self, client: &ForwardedClient, headers: &mut HeaderMap) {
        if let Some((net, len)) = self.except {
            if contains(net, len, client.ip) {
                return;
            }
        }
        if self.if_none && headers.contains_key(&self.header) {
            return;
        }
        headers.append(self.header.clone(), client.value.clone());
    }
}

/// A client's address as forwarded-for fields give it: canonical, and
/// formatted once per connection rather than once per request.
#[derive(Debug)]
pub struct ForwardedClient {
    ip: IpAddr,
    value: HeaderValue,
}

impl ForwardedClient {
    pub fn new(ip: IpAddr) -> Self {
        let ip = canonical(ip);
        let value =
            HeaderValue::from_str(&ip.to_string()).expect("an IP address is a valid header value");
        ForwardedClient { ip, value }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_grammar::{Span, Word};

    fn policy(except: Option<&str>, header: &str, if_none: bool) -> ForwardForPolicy {
        ForwardForPolicy::new(&ForwardFor {
            except: except.map(|e| Word::new(e, Span::default())),
            header: header.into(),
            if_none,
            span: Span::default(),
        })
        .unwrap()
    }

    fn values(h: &HeaderMap, name: &str) -> Vec<String> {
        h.get_all(name)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn appends_after_the_clients_own_header() {
        let mut h = HeaderMap::new();
        h.append("x-forwarded-for", "203.0.113.9".parse().unwrap());
        policy(None, "X-Forwarded-For", false)
            .apply(&ForwardedClient::new("127.0.0.5".parse().unwrap()), &mut h);
        assert_eq!(values(&h, "x-forwarded-for"), ["203.0.113.9", "127.0.0.5"]);
    }

    #[test]
    fn except_if_none_and_custom_header() {
        let mut h = HeaderMap::new();
        policy(Some("127.0.0.0/8"), "X-Forwarded-For", false)
            .apply(&ForwardedClient::new("127.0.0.5".parse().unwrap()), &mut h);
        assert!(h.is_empty());
        policy(Some("127.0.0.0/8"), "X-Forwarded-For", false)
            .apply(&ForwardedClient::new("::1".parse().unwrap()), &mut h);
        assert_eq!(values(&h, "x-forwarded-for"), ["::1"]);
        let mut h = HeaderMap::new();
        h.append("x-client", "1.2.3.4".parse().unwrap());
        policy(None, "X-Client", true)
            .apply(&ForwardedClient::new("127.0.0.1".parse().unwrap()), &mut h);
        assert_eq!(values(&h, "x-client"), ["1.2.3.4"]);
        policy(None, "X-Real", true).apply(
            &ForwardedClient::new("::ffff:127.0.0.1".parse().unwrap()),
            &mut h,
        );
        assert_eq!(values(&h, "x-real"), ["127.0.0.1"]);
    }
}
