//! `retries`, `option redispatch [interval]`, `retry-on` and the
//! turn-around pause: when a request (HTTP) or a connection (TCP) is tried
//! again, on which server, and after how long. One state machine,
//! [`Attempts`], for both modes, as HAProxy has one for both
//! (`back_handle_st_cer`, `do_l7_retry`, `stream_choose_redispatch`); the
//! callers connect and exchange, it only decides.

use std::collections::HashSet;
use std::time::Duration;

use switchyard_grammar::ast::proxy::{BalanceAlgorithm, Proxy, Switch};

use crate::upstream::{Backend, Server};

/// HAProxy's longest turn-around pause, shortened to `timeout connect`.
const TURN_AROUND: Duration = Duration::from_secs(1);

/// `option redispatch [interval]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redispatch {
    /// No `option redispatch`: every retry goes to the same server.
    Off,
    /// `option redispatch` with HAProxy's `redispatch_after`: P > 0 moves
    /// every Pth retry elsewhere; -N the Nth retry before the last (the
    /// default, -1, the last one); 0 none by count (a DOWN server or a
    /// balancer that does not care still move it).
    On { after: i64 },
}

impl Redispatch {
    /// Whether retry number `retry` (1 for the first) moves by count, out
    /// of `retries` (HAProxy's `conn_retries % period == 0`).
    fn by_count(self, retry: u64, retries: u64) -> bool {
        let Redispatch::On { after } = self else {
            return false;
        };
        let period = match after {
            0 => return false,
            p if p > 0 => p,
            n => retries as i64 + 1 + n,
        };
        // A period of 0 would divide by zero in HAProxy: never, here.
        period != 0 && (retry as i64) % period == 0
    }
}

/// A backend's retry settings, decided when the configuration is loaded.
#[derive(Debug, Clone)]
pub struct RetrySettings {
    /// `retries` (HAProxy's default, 3).
    pub retries: u64,
    pub redispatch: Redispatch,
    /// `retry-on` (HTTP; a TCP backend retries connection failures only).
    pub retry_on: RetryPolicy,
    /// The pause before a server that refused is tried again:
    /// min(1 s, `timeout connect`).
    pub turn_around: Duration,
    /// The balancing algorithm hashes its input (`source`, `uri`,
    /// `url_param`, `hdr`): the same request would land on the same
    /// server, so a retry moves only as the interval says.
    pub hashed: bool,
}

impl RetrySettings {
    /// The settings of backend `proxy`; `http`: whether `retry-on` applies
    /// (HAProxy ignores it in TCP mode).
    pub fn of(proxy: &Proxy, http: bool) -> RetrySettings {
        let redispatch = if proxy.option(Switch::Redispatch) {
            Redispatch::On {
                after: proxy.redispatch_after.unwrap_or(-1),
            }
        } else {
            Redispatch::Off
        };
        let connect = proxy
            .timeouts
            .connect
            .as_ref()
            .map(|t| t.value)
            .filter(|d| !d.is_zero());
        RetrySettings {
            retries: proxy.retries(),
            redispatch,
            retry_on: match (&proxy.retry_on, http) {
                (Some(list), true) => {
                    RetryPolicy::from_keywords(list.value.iter().map(String::as_str))
                }
                _ => RetryPolicy::default(),
            },
            turn_around: connect.map_or(TURN_AROUND, |c| c.min(TURN_AROUND)),
            hashed: matches!(
                proxy.balance.as_ref().map(|b| &b.value),
                Some(
                    BalanceAlgorithm::Source
                        | BalanceAlgorithm::Uri { .. }
                        | BalanceAlgorithm::UrlParam { .. }
                        | BalanceAlgorithm::Hdr { .. }
                )
            ),
        }
    }
}

/// How an attempt failed, as the retry rules tell failures apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The connection failed with an error (refused, reset, TLS): the
    /// server is likely to refuse again at once, hence the pause.
    ConnectError,
    /// The connection did not complete within `timeout connect` (which
    /// was wait enough).
    ConnectTimeout,
    /// The request was sent and what came back is one `retry-on` covers.
    Response,
}

/// The facts about a failed attempt the decision needs.
#[derive(Debug, Clone, Copy)]
pub struct Failed {
    pub how: Failure,
    /// The server is UP and not in maintenance.
    pub server_up: bool,
    /// Persistence chose the server (a cookie), not the balancer
    /// (HAProxy's `SF_DIRECT`).
    pub direct: bool,
    /// `force-persist`: the request never leaves its server.
    pub force_persist: bool,
    /// The backend's active servers able to take traffic (`srv_act`).
    pub active_servers: usize,
    /// The failure was on a connection already made (a reused idle one,
    /// or past its TCP handshake): no pause.
    pub established: bool,
}

impl Failed {
    /// A failure `how` on `server` of `backend`, as things stand now (the
    /// caller adds what it knows of persistence and reuse).
    pub fn at(how: Failure, backend: &Backend, server: &Server) -> Failed {
        Failed {
            how,
            server_up: server.is_up() && !server.in_maintenance(),
            direct: false,
            force_persist: false,
            active_servers: backend.usable_counts().0,
            established: false,
        }
    }
}

/// What follows a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Nothing more: answer with the last error.
    GiveUp,
    /// Again, to the same server (`pause` first, when set).
    Same { pause: Option<Duration> },
    /// Again, to a server the balancer picks (a redispatch).
    Elsewhere { pause: Option<Duration> },
}

/// One request's (or TCP session's) run of attempts: how many retries
/// it has made, and what comes after each failure.
#[derive(Debug, Default, Clone, Copy)]
pub struct Attempts {
    retries: u64,
}

impl Attempts {
    /// Retries made so far (`%rc`).
    pub fn retries(&self) -> u64 {
        self.retries
    }

    /// Whether another retry may follow this attempt (a request that may
    /// be needed again is kept).
    pub fn may_retry(&self, settings: &RetrySettings) -> bool {
        self.retries < settings.retries
    }

    /// After a failed attempt: whether to try again, where, and after
    /// which pause, as HAProxy 2.6 decides it.
    pub fn after_failure(&mut self, settings: &RetrySettings, failed: Failed) -> Next {
        let connect = failed.how != Failure::Response;
        if self.retries >= settings.retries || (connect && !settings.retry_on.conn_failure) {
            return Next::GiveUp;
        }
        self.retries += 1;
        let redispatch = settings.redispatch != Redispatch::Off
            && !failed.force_persist
            && (!failed.server_up
                || settings.redispatch.by_count(self.retries, settings.retries)
                || (!failed.direct && failed.active_servers > 1 && !settings.hashed));
        // Only before the same server again (or the only one there is),
        // and not after a connection already made failed.
        let pause = (failed.how == Failure::ConnectError
            && (!redispatch || failed.active_servers <= 1)
            && !failed.established)
            .then_some(settings.turn_around);
        if redispatch {
            Next::Elsewhere { pause }
        } else {
            Next::Same { pause }
        }
    }
}

/// Waits out a turn-around pause, when there is one.
pub async fn turn_around(pause: Option<Duration>) {
    if let Some(pause) = pause {
        tokio::time::sleep(pause).await;
    }
}

/// Counts another attempt after one on `last`: a retry when it goes to
/// the same server, a redispatch when it left it (the stats' `wretr` and
/// `wredis`).
pub fn count(last: &Server, server: &Server) {
    let counter = if last.index == server.index {
        &last.retries
    } else {
        &last.redispatches
    };
    counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

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

    fn settings(retries: u64, redispatch: Redispatch, hashed: bool) -> RetrySettings {
        RetrySettings {
            retries,
            redispatch,
            retry_on: RetryPolicy::default(),
            turn_around: Duration::from_millis(300),
            hashed,
        }
    }

    fn failed(how: Failure, active_servers: usize) -> Failed {
        Failed {
            how,
            server_up: true,
            direct: false,
            force_persist: false,
            active_servers,
            established: false,
        }
    }

    /// Every decision of one request's attempts, failing each time.
    fn run(settings: &RetrySettings, f: Failed) -> Vec<Next> {
        let mut attempts = Attempts::default();
        let mut seen = Vec::new();
        loop {
            let next = attempts.after_failure(settings, f);
            seen.push(next);
            if next == Next::GiveUp {
                return seen;
            }
        }
    }

    const PAUSE: Option<Duration> = Some(Duration::from_millis(300));
    const SAME: Next = Next::Same { pause: PAUSE };
    const ELSEWHERE: Next = Next::Elsewhere { pause: None };

    #[test]
    fn without_redispatch_a_refused_server_is_tried_again_after_the_turn_around() {
        let s = settings(3, Redispatch::Off, false);
        let f = failed(Failure::ConnectError, 2);
        assert_eq!(run(&s, f), [SAME, SAME, SAME, Next::GiveUp]);
        let mut attempts = Attempts::default();
        while attempts.after_failure(&s, f) != Next::GiveUp {}
        assert_eq!(attempts.retries(), 3);
        assert!(!attempts.may_retry(&s));
        // A timeout waited already; a reused connection gets no pause.
        let timeout = failed(Failure::ConnectTimeout, 2);
        assert_eq!(run(&s, timeout)[0], Next::Same { pause: None });
        let established = Failed {
            established: true,
            ..f
        };
        assert_eq!(run(&s, established)[0], Next::Same { pause: None });
        assert_eq!(run(&settings(0, Redispatch::Off, false), f), [Next::GiveUp]);
    }

    #[test]
    fn the_turn_around_is_one_second_or_timeout_connect_if_shorter() {
        let mut proxy = Proxy::new(
            switchyard_grammar::ast::proxy::ProxyKind::Backend,
            "b".into(),
            Default::default(),
        );
        assert_eq!(RetrySettings::of(&proxy, true).turn_around, TURN_AROUND);
        proxy.timeouts.connect = Some(switchyard_grammar::ast::proxy::Spanned::new(
            Duration::from_millis(200),
            Default::default(),
        ));
        assert_eq!(
            RetrySettings::of(&proxy, true).turn_around,
            Duration::from_millis(200)
        );
    }

    #[test]
    fn a_balancer_that_does_not_care_redispatches_at_once() {
        // HAProxy 2.6: not persistent, more than one active server, not a
        // hash: every retry elsewhere, without a pause.
        let s = settings(3, Redispatch::On { after: -1 }, false);
        let f = failed(Failure::ConnectError, 2);
        assert_eq!(run(&s, f), [ELSEWHERE, ELSEWHERE, ELSEWHERE, Next::GiveUp]);
        // The only active server: elsewhere (a backup), but after the pause.
        let alone = failed(Failure::ConnectError, 1);
        let last = Next::Elsewhere { pause: PAUSE };
        assert_eq!(run(&s, alone), [SAME, SAME, last, Next::GiveUp]);
    }

    #[test]
    fn persistence_and_hashes_redispatch_on_the_last_retry_only() {
        let hashed = settings(3, Redispatch::On { after: -1 }, true);
        let f = failed(Failure::ConnectError, 2);
        assert_eq!(run(&hashed, f), [SAME, SAME, ELSEWHERE, Next::GiveUp]);
        let s = settings(3, Redispatch::On { after: -1 }, false);
        let cookie = Failed { direct: true, ..f };
        assert_eq!(run(&s, cookie), [SAME, SAME, ELSEWHERE, Next::GiveUp]);
        // `force-persist` never leaves its server.
        let forced = Failed {
            force_persist: true,
            ..cookie
        };
        assert_eq!(run(&s, forced), [SAME, SAME, SAME, Next::GiveUp]);
        // A DOWN server is left at once.
        let down = Failed {
            server_up: false,
            ..cookie
        };
        assert_eq!(run(&s, down)[0], ELSEWHERE);
    }

    #[test]
    fn the_redispatch_interval_counts_retries() {
        let f = Failed {
            direct: true,
            ..failed(Failure::ConnectError, 2)
        };
        let every = |after| run(&settings(4, Redispatch::On { after }, false), f);
        assert_eq!(
            every(1),
            [ELSEWHERE; 4]
                .into_iter()
                .chain([Next::GiveUp])
                .collect::<Vec<_>>()
        );
        assert_eq!(every(2), [SAME, ELSEWHERE, SAME, ELSEWHERE, Next::GiveUp]);
        // -2: the retry before the last (4 + 1 - 2 = every 3rd).
        assert_eq!(every(-2), [SAME, SAME, ELSEWHERE, SAME, Next::GiveUp]);
        // 0: never by count.
        assert_eq!(every(0), [SAME, SAME, SAME, SAME, Next::GiveUp]);
        // A period of 0 (retries 1, -2) is never, not a division by zero.
        let s = settings(1, Redispatch::On { after: -2 }, false);
        assert_eq!(run(&s, f), [SAME, Next::GiveUp]);
    }

    #[test]
    fn retry_on_without_conn_failure_does_not_retry_connections() {
        let mut s = settings(3, Redispatch::Off, false);
        s.retry_on = RetryPolicy::from_keywords(["503"]);
        assert_eq!(run(&s, failed(Failure::ConnectError, 2)), [Next::GiveUp]);
        let response = failed(Failure::Response, 2);
        let same = Next::Same { pause: None };
        assert_eq!(run(&s, response), [same, same, same, Next::GiveUp]);
    }
}
