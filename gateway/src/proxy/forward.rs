//! Attempts and retries: [`HttpProxy::forward`] sends a request to a
//! server of its backend, following persistence (the request's cookie,
//! `force-persist`/`ignore-persist`), waiting in the server's or the
//! backend's queue, and trying again as `retries`, `option redispatch` and
//! `retry-on` allow, while it notes in the log draft what each attempt did.
//! One attempt's exchange with the server is `exchange.rs`'s.

use http::request::Parts;
use http::Request;

use crate::log::termination;
use crate::message::body::ProxyBody;
use crate::message::response::ProxyResponse;
use crate::net::tls::upstream::TlsTarget;
use crate::upstream::observe::Observed;
use crate::upstream::PickContext;

use super::abort;
use super::attempt::{answered, Attempt, AttemptTimes};
use super::exchange::{own_path_takes, reuse_policy, AttemptError};
use super::log_draft::{client_left, ended, set_wait, LogDraft};
use super::retry::{is_idempotent, Attempts, Failed, Failure, Next, SentFailure};
use super::sticky::Sticky;
use super::{framing, BackendRoute, ClientConn, HttpProxy};

impl HttpProxy {
    /// Sends the request to a server of `route`, retrying as configured.
    ///
    /// The request head is copied only when a later attempt may have to
    /// replay a request already sent (`retry-on` beyond `conn-failure`);
    /// otherwise it moves into the attempt, and an HTTP/1 request that was
    /// never written comes back for the next one.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn forward(
        &self,
        route: &BackendRoute,
        mut parts: Box<Parts>,
        body: ProxyBody,
        conn: &ClientConn,
        attempt: Attempt,
        client_upgrade: &mut Option<crate::message::upgrade::ClientUpgrade>,
        draft: &mut Option<Box<LogDraft>>,
    ) -> ProxyResponse {
        if let Some(d) = draft.as_mut().filter(|d| d.needs.backend_load) {
            d.backend = Some(route.backend.clone());
        }
        // For an `http-error` message with log-format parts, should the
        // request fail (`http_error.rs`).
        let error_request = self
            .errors_need_request(Some(route))
            .then(|| Box::new(clone_parts(&parts)));
        let mut reuse = true;
        let attempt_first = !attempt.reuse;
        let close_server = attempt.close_server;
        // Servers see HTTP/1.1 requests; an HTTP/2 client's target in
        // origin form, an HTTP/1 client's as it sent it (HAProxy forwards
        // an absolute-form target as such).
        if parts.version >= http::Version::HTTP_2 {
            framing::origin_form(&mut parts);
        }
        parts.version = http::Version::HTTP_11;
        let bodiless = body_is_empty(&body);
        if !bodiless {
            framing::announce_unsized_body(&mut parts.headers);
        }
        // A bodiless request can be replayed after it was sent; one with a
        // body only while nothing was sent (connection failures).
        let replayable = bodiless && is_idempotent(&parts.method);
        let mut body = Some(if replayable { ProxyBody::Empty } else { body });
        // Persistence: the server the request's cookie names, when usable.
        let (sticky, mut persisted) =
            Sticky::of(&route.backend, attempt.persist, &mut parts, draft);
        let method = parts.method.clone();
        let replay_after_send = replayable && route.retry.retry_on.after_send();
        let mut parts = Some(parts);
        let mut avoid: Vec<usize> = Vec::new();
        let mut last_error = 503;
        // What the log says of the last failure: no server could be
        // reached, until an attempt says otherwise.
        let mut last_failure = termination::NO_SERVER;
        let mut previous: Option<usize> = None;
        // The retries made, and where the next attempt goes (`None`: the
        // first one).
        let mut attempts = Attempts::default();
        let mut next: Option<Next> = None;
        // Persistence chose the server (HAProxy's `SF_DIRECT`), until a
        // redispatch.
        let mut direct = false;
        // A stale reused connection's retry is not one of `retries`.
        let mut stale_retry = false;
        loop {
            let stale = std::mem::take(&mut stale_retry);
            let Some(head) = parts.as_ref() else { break };
            // A server the request must go to (its cookie's, or the same
            // one again) is waited for in its own queue; one the balancer
            // chose, in the backend's (HAProxy's `%sq` and `%bq`).
            let pick = |avoid: &[usize]| {
                route
                    .backend
                    .pick(&PickContext::from_request(head, conn.peer.ip()), avoid)
            };
            // The turn-around pause, given up with the request when its
            // client leaves (`option abortonclose`).
            if let Some(Next::Same { pause } | Next::Elsewhere { pause }) = next {
                if let Some(pause) = pause {
                    let paused = abort::unless_client_closes!(
                        route.abort_on_close,
                        &conn.gone,
                        tokio::time::sleep(pause)
                    );
                    if paused.is_err() {
                        return client_left(draft, termination::CLIENT_CONNECT, None);
                    }
                }
            }
            let (server, assigned) = match next {
                None => match persisted.take() {
                    Some(s) => {
                        direct = true;
                        (Some(s), true)
                    }
                    None => (pick(&avoid), false),
                },
                Some(Next::Same { .. }) => (previous.and_then(|i| route.backend.server(i)), true),
                Some(Next::Elsewhere { .. }) => {
                    direct = false;
                    (pick(&avoid), false)
                }
                Some(Next::GiveUp) => break,
            };
            let Some(server) = server else { break };
            if let Some(last) = previous
                .filter(|_| !stale)
                .and_then(|i| route.backend.server(i))
            {
                super::retry::count(&last, &server);
            }
            previous = Some(server.index);
            // Times for the log line only: no clock read without one.
            let logging = draft.is_some();
            let mut times = AttemptTimes {
                started: logging.then(std::time::Instant::now),
                ..AttemptTimes::default()
            };
            if let Some(d) = draft.as_mut() {
                d.record.server = server.name.clone();
                d.record.server_addr = Some(server.addr());
                d.record.retries = attempts.retries() as u32;
                d.record.redispatched |= matches!(next, Some(Next::Elsewhere { .. }));
            }
            let queue = if assigned {
                &server.queue_positions
            } else {
                &route.backend.queue_positions
            };
            let acquired = abort::unless_client_closes!(
                route.abort_on_close,
                &conn.gone,
                server.acquire(route.queue_timeout, queue)
            );
            let permit = match acquired {
                Ok(Ok(permit)) => permit,
                Ok(Err(_)) => {
                    ended(draft, termination::QUEUE_TIMEOUT);
                    return self
                        .error_response(Some(route), 503, error_request.as_deref(), conn)
                        .into();
                }
                Err(abort::Aborted) => {
                    set_wait(draft, times.started, None);
                    if let Some(d) = draft.as_mut().filter(|_| !assigned) {
                        // Still in the backend's queue: no server yet.
                        d.record.server = "<NOSRV>".into();
                        d.record.server_addr = None;
                    }
                    return client_left(draft, termination::CLIENT_QUEUE, None);
                }
            };
            times.slot_at = logging.then(std::time::Instant::now);
            // `%Tw` once the request has a slot, whatever happens next
            // (HAProxy logs `0/…/-1` for a connection that failed).
            set_wait(draft, times.started, times.slot_at);
            if let Some(d) = draft.as_mut() {
                let position = u64::from(permit.queue_position);
                if assigned {
                    (d.record.server_queue, d.record.backend_queue) = (position, 0);
                } else {
                    (d.record.server_queue, d.record.backend_queue) = (0, position);
                }
            }
            // HTTP/1.x only: an HTTP/2 server connection stays (and
            // hyper leaves `Connection` out of HTTP/2 requests).
            let http2 = server.options.proto.as_deref() == Some("h2");
            let closes = close_server && !http2;
            let tls = server.tls.as_ref().map(|tls| TlsTarget {
                tls: tls.clone(),
                sni: tls.sni_for(&head.headers),
            });
            let checkout = || {
                self.pool.checkout(
                    (server.addr(), server.unix.as_ref()),
                    reuse_policy(route.http_reuse, reuse && !closes, !attempt_first, conn),
                    (route.connect_timeout, route.server_socket),
                    tls,
                    switchyard::wire::proxy_protocol::header_for(
                        &server.options,
                        conn.peer,
                        conn.local,
                    ),
                    http2,
                )
            };
            let checked_out =
                abort::unless_client_closes!(route.abort_on_close, &conn.gone, checkout());
            let mut pooled = match checked_out {
                Ok(Ok(pooled)) => {
                    server.observer.report(Observed::Connected);
                    pooled
                }
                Ok(Err(e)) => {
                    tracing::debug!(server = %server.name, error = %e, "connect failed");
                    server.record_failure();
                    server.observer.report(Observed::ConnectFailed);
                    avoid.push(server.index);
                    last_error = 503;
                    last_failure = termination::NO_SERVER;
                    let how = match e {
                        crate::upstream::pool::ConnectError::Timeout => Failure::ConnectTimeout,
                        _ => Failure::ConnectError,
                    };
                    let failed = Failed::at(how, &route.backend, &server);
                    next = Some(attempts.after_failure(
                        &route.retry,
                        Failed {
                            direct,
                            force_persist: sticky.forced,
                            // An HTTP/2 handshake failed on a connection
                            // made: no turn-around.
                            established: matches!(
                                e,
                                crate::upstream::pool::ConnectError::Handshake(_)
                            ),
                            ..failed
                        },
                    ));
                    continue;
                }
                Err(abort::Aborted) => {
                    return client_left(draft, termination::CLIENT_CONNECT, None);
                }
            };
            // Closed after this exchange, as the request told the server.
            pooled.private |= closes;
            // Keep a copy only if this request may be needed again after
            // being sent (or could not come back unsent).
            let keep = attempts.may_retry(&route.retry)
                && (replay_after_send || !pooled.sender.returns_unsent());
            let request_head = match (keep, parts.take()) {
                (true, Some(head)) => {
                    let copy = Box::new(clone_parts(&head));
                    parts = Some(head);
                    copy
                }
                (_, Some(head)) => head,
                (_, None) => break,
            };
            let request_body = if replayable {
                ProxyBody::Empty
            } else {
                match body.take() {
                    Some(b) => b,
                    None => break,
                }
            };
            times.connected = logging.then(std::time::Instant::now);
            // The common exchange is awaited in place; hyper's, with its
            // larger state, is boxed, so that every request's future (moved
            // into its box per request) does not carry room for it.
            let exchanged = if pooled.is_own()
                && own_path_takes(&request_head, &request_body, client_upgrade)
            {
                abort::unless_client_closes!(
                    route.abort_on_close,
                    &conn.gone,
                    self.exchange_own(route, pooled, permit, request_head)
                )
            } else {
                let request = Request::from_parts(*request_head, request_body);
                abort::unless_client_closes!(
                    route.abort_on_close,
                    &conn.gone,
                    Box::pin(self.exchange(route, pooled, permit, request, client_upgrade))
                )
                .map(|exchanged| exchanged.map(ProxyResponse::from))
            };
            let Ok(exchanged) = exchanged else {
                // The server connection is dropped (closed) with the
                // exchange; HAProxy logs the abort as a 400.
                if let Some(d) = draft.as_mut() {
                    d.record.t_connect = times.connect_ms();
                }
                return client_left(draft, termination::CLIENT_HEADERS, Some(400));
            };
            // What the next attempt is, after a failure `how`.
            let failed = |how, established| Failed {
                direct,
                force_persist: sticky.forced,
                established,
                ..Failed::at(how, &route.backend, &server)
            };
            if let Some(event) = observed(&exchanged) {
                server.observer.report(event);
            }
            match exchanged {
                // `retry-on 503` and friends: a status worth another try.
                Ok(response)
                    if replayable
                        && attempts.may_retry(&route.retry)
                        && route
                            .retry
                            .retry_on
                            .statuses
                            .contains(&response.status().as_u16()) =>
                {
                    last_error = response.status().as_u16();
                    avoid.push(server.index);
                    next = Some(
                        attempts.after_failure(&route.retry, failed(Failure::Response, false)),
                    );
                }
                Ok(response) => {
                    return answered(
                        response, route, &server, &attempt, times, &sticky, &method, conn, draft,
                    );
                }
                Err(AttemptError::Stale(head)) if reuse => {
                    parts.get_or_insert(head);
                    reuse = false;
                    stale_retry = true;
                    next = Some(Next::Same { pause: None });
                }
                Err(AttemptError::Stale(_)) => {
                    last_error = 502;
                    last_failure = termination::SERVER_CLOSED;
                    break;
                }
                Err(AttemptError::Connect(unsent)) => {
                    if let Some(request) = unsent {
                        let (head, unsent_body) = (*request).into_parts();
                        parts.get_or_insert_with(|| Box::new(head));
                        if !replayable {
                            body = Some(unsent_body);
                        }
                    }
                    avoid.push(server.index);
                    last_error = 503;
                    last_failure = termination::NO_SERVER;
                    // On a connection already made: no turn-around.
                    next = Some(
                        attempts.after_failure(&route.retry, failed(Failure::ConnectError, true)),
                    );
                }
                Err(AttemptError::Sent { failure, status }) => {
                    server.record_failure();
                    last_error = status;
                    last_failure = match failure {
                        Some(SentFailure::Timeout) => termination::SERVER_TIMEOUT,
                        Some(SentFailure::Junk) => termination::INVALID_RESPONSE,
                        Some(SentFailure::Empty) => termination::SERVER_CLOSED,
                        // The client's own body was malformed (400), or an
                        // answer nobody asked for (502).
                        None if status == 400 => termination::PROXY_REFUSED,
                        None => termination::INVALID_RESPONSE,
                    };
                    let retry =
                        replayable && failure.is_some_and(|f| route.retry.retry_on.covers(f));
                    if !retry {
                        break;
                    }
                    avoid.push(server.index);
                    next = Some(
                        attempts.after_failure(&route.retry, failed(Failure::Response, false)),
                    );
                }
            }
        }
        ended(draft, last_failure);
        self.error_response(Some(route), last_error, error_request.as_deref(), conn)
            .into()
    }
}

fn body_is_empty(body: &ProxyBody) -> bool {
    use hyper::body::Body;
    body.is_end_stream() || body.size_hint().exact() == Some(0)
}

pub(super) fn clone_parts(parts: &Parts) -> Parts {
    let mut builder = Request::builder()
        .method(parts.method.clone())
        .uri(parts.uri.clone())
        .version(parts.version);
    if let Some(headers) = builder.headers_mut() {
        *headers = parts.headers.clone();
    }
    builder
        .body(())
        .expect("parts from a valid request")
        .into_parts()
        .0
}

/// What an exchange tells `observe` of the server: nothing when the
/// request itself was at fault (400) or a reused connection had been
/// closed (the request goes again on a new one).
fn observed(exchanged: &Result<ProxyResponse, AttemptError>) -> Option<Observed> {
    Some(match exchanged {
        Ok(response) => Observed::Status(response.status().as_u16()),
        Err(AttemptError::Connect(_)) => Observed::ConnectFailed,
        Err(AttemptError::Stale(_)) => return None,
        Err(AttemptError::Sent { failure, status }) => match failure {
            Some(SentFailure::Timeout) => Observed::ReadTimeout,
            Some(SentFailure::Empty) => Observed::Closed,
            None if *status == 400 => return None,
            _ => Observed::InvalidResponse,
        },
    })
}
