//! `retries`, `option redispatch` and `retry-on`: when a request may be sent
//! again, and to which server.

use std::collections::HashSet;

/// A compiled `retry-on` list (HAProxy's default is `conn-failure`).
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub conn_failure: bool,
    pub empty_response: bool,
    pub junk_response: bool,
    pub response_timeout: bool,
    pub statuses: HashSet<u16>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            conn_failure: true,
            empty_response: false,
            junk_response: false,
            response_timeout: false,
            statuses: HashSet::new(),
        }
    }
}

impl RetryPolicy {
    pub fn from_keywords<'a>(keywords: impl IntoIterator<Item = &'a str>) -> RetryPolicy {
        let mut p = RetryPolicy {
            conn_failure: false,
            ..RetryPolicy::default()
        };
        for k in keywords {
            match k {
                "conn-failure" => p.conn_failure = true,
                "empty-response" => p.empty_response = true,
                "junk-response" => p.junk_response = true,
                "response-timeout" => p.response_timeout = true,
                "all-retryable-errors" => {
                    p.conn_failure = true;
                    p.empty_response = true;
                    p.junk_response = true;
                    p.response_timeout = true;
                    p.statuses.extend([500, 502, 503, 504]);
                }
                "none" => {
                    p = RetryPolicy {
                        conn_failure: false,
                        ..RetryPolicy::default()
                    }
                }
                status => {
                    if let Ok(code) = status.parse() {
                        p.statuses.insert(code);
                    }
                }
            }
        }
        p
    }
}

impl RetryPolicy {
    /// Whether a request already sent may be sent again (anything beyond
    /// `conn-failure`), which is when the request path keeps a copy.
    pub fn after_send(&self) -> bool {
        self.empty_response
            || self.junk_response
            || self.response_timeout
            || !self.statuses.is_empty()
    }
}

/// Methods whose requests may be sent twice (RFC 9110 idempotent methods).
pub fn is_idempotent(method: &http::Method) -> bool {
    matches!(
        method.as_str(),
        "GET" | "HEAD" | "OPTIONS" | "TRACE" | "PUT" | "DELETE"
    )
}

/// With `option redispatch` (HAProxy's default interval -1), the last retry
/// goes to another server; earlier retries stay on the same one.
pub fn redispatch_now(redispatch: bool, attempt: u64, retries: u64) -> bool {
    redispatch && attempt >= 1 && attempt == retries
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_retryable_errors_covers_haproxy_list() {
        let p = RetryPolicy::from_keywords(["all-retryable-errors"]);
        assert!(p.conn_failure && p.empty_response && p.junk_response && p.response_timeout);
        assert!(p.statuses.contains(&503) && !p.statuses.contains(&404));
        let p = RetryPolicy::from_keywords(["none"]);
        assert!(!p.conn_failure && !p.empty_response && p.statuses.is_empty());
        assert!(RetryPolicy::default().conn_failure);
    }

    #[test]
    fn redispatch_on_the_last_retry() {
        assert!(!redispatch_now(true, 1, 3));
        assert!(redispatch_now(true, 3, 3));
        assert!(redispatch_now(true, 1, 1));
        assert!(!redispatch_now(false, 3, 3));
        assert!(!redispatch_now(true, 0, 0));
    }
}
