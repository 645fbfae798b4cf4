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

/// How a request that reached a server failed to get an answer, in
/// `retry-on`'s terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SentFailure {
    /// No answer within `timeout server` (`response-timeout`).
    Timeout,
    /// The connection closed or was reset before an answer
    /// (`empty-response`).
    Empty,
    /// Bytes came back that are not an HTTP response head
    /// (`junk-response`).
    Junk,
}

impl SentFailure {
    /// What a failed exchange on a server connection amounts to. hyper
    /// reports a head it cannot read as a parse error; a connection that
    /// ends before a whole head, or is reset, as an incomplete message or
    /// an I/O error.
    pub fn of(error: &hyper::Error) -> SentFailure {
        if error.is_parse() {
            SentFailure::Junk
        } else if error.is_timeout() {
            SentFailure::Timeout
        } else {
            SentFailure::Empty
        }
    }
}

impl RetryPolicy {
    /// Whether `retry-on` asks for another try after `failure`.
    pub fn covers(&self, failure: SentFailure) -> bool {
        match failure {
            SentFailure::Timeout => self.response_timeout,
            SentFailure::Empty => self.empty_response,
            SentFailure::Junk => self.junk_response,
        }
    }

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

/// How long HAProxy waits before another connection attempt to the same
/// server after one failed with a connection error (refused, unreachable:
/// `failed_fast`; not a connect timeout, which has waited already): one
/// second, or `timeout connect` when shorter (its `SI_ST_TAR` state).
pub fn turnaround(
    connect_timeout: Option<std::time::Duration>,
    failed_fast: bool,
) -> Option<std::time::Duration> {
    let second = std::time::Duration::from_secs(1);
    failed_fast.then(|| connect_timeout.map_or(second, |t| t.min(second)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turnaround_is_a_second_or_timeout_connect() {
        use std::time::Duration;
        let ms = Duration::from_millis;
        assert_eq!(turnaround(None, true), Some(ms(1000)));
        assert_eq!(turnaround(Some(ms(100)), true), Some(ms(100)));
        assert_eq!(turnaround(Some(ms(5000)), true), Some(ms(1000)));
        assert_eq!(turnaround(Some(ms(100)), false), None);
    }

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
    fn each_failure_is_retried_only_by_its_own_keyword() {
        let junk = RetryPolicy::from_keywords(["junk-response"]);
        assert!(junk.covers(SentFailure::Junk));
        assert!(!junk.covers(SentFailure::Empty) && !junk.covers(SentFailure::Timeout));
        let empty = RetryPolicy::from_keywords(["empty-response"]);
        assert!(empty.covers(SentFailure::Empty) && !empty.covers(SentFailure::Junk));
        let timeout = RetryPolicy::from_keywords(["response-timeout"]);
        assert!(timeout.covers(SentFailure::Timeout) && !timeout.covers(SentFailure::Empty));
        let all = RetryPolicy::from_keywords(["all-retryable-errors"]);
        assert!(
            [SentFailure::Timeout, SentFailure::Empty, SentFailure::Junk]
                .into_iter()
                .all(|f| all.covers(f))
        );
        assert!(!RetryPolicy::default().covers(SentFailure::Junk));
    }

    #[tokio::test]
    async fn hyper_errors_are_classified_as_retry_on_names_them() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        // What a server sends back, and what its failure is called.
        let cases: [(&[u8], SentFailure); 3] = [
            (b"\x00\x01garbage\r\n\r\n", SentFailure::Junk),
            (b"", SentFailure::Empty),
            (b"HTTP/1.1 200 OK\r\nContent-", SentFailure::Empty),
        ];
        for (answer, expected) in cases {
            let (client, mut server) = tokio::io::duplex(4096);
            let (mut sender, conn) = hyper::client::conn::http1::handshake::<
                _,
                http_body_util::Empty<bytes::Bytes>,
            >(hyper_util::rt::TokioIo::new(client))
            .await
            .unwrap();
            tokio::spawn(conn);
            let request = http::Request::get("/")
                .header("host", "t")
                .body(http_body_util::Empty::new())
                .unwrap();
            let sent = tokio::spawn(sender.send_request(request));
            // The answer comes after the request, as from a real server.
            let mut head = Vec::new();
            while !head.ends_with(b"\r\n\r\n") {
                let mut byte = [0u8];
                server.read_exact(&mut byte).await.unwrap();
                head.push(byte[0]);
            }
            server.write_all(answer).await.unwrap();
            drop(server);
            let error = sent.await.unwrap().expect_err("no valid answer");
            assert_eq!(SentFailure::of(&error), expected, "{answer:?}: {error}");
        }
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
