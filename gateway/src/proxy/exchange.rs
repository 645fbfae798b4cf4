//! One attempt's exchange with a server, by one of two engines: the
//! gateway's own HTTP/1 server connection (`upstream/server_conn.rs`) for a
//! bodiless `GET` or `HEAD`, hyper for the rest (bodies, upgrades and
//! `CONNECT` with their tunnel, HTTP/2 servers). Either gives a response
//! whose body frees the server slot and returns the connection to the pool
//! when it ends, or an [`AttemptError`] saying whether another attempt may
//! follow (`forward.rs` decides).

use http::request::Parts;
use http::{Request, Response};
use switchyard_grammar::ast::proxy::HttpReuse;

use crate::message::body::{IdleLimit, ProxyBody};
use crate::message::response::ProxyResponse;
use crate::upstream::pool::{PooledConn, SendError};
use crate::upstream::server_body::ServerBody;
use crate::upstream::ServerPermit;
use switchyard::wire::h1::response_head::Framing;
use switchyard::wire::h1::{chunked, hop_by_hop};

use super::ends::ExchangeEnd;
use super::retry::SentFailure;
use super::{extended_connect, upgrade, BackendRoute, ClientConn, HttpProxy};

/// Why one attempt to reach a server did not give a response.
pub(super) enum AttemptError {
    /// Nothing was sent: try again, maybe elsewhere (with the request, when
    /// it came back).
    Connect(Option<Box<Request<ProxyBody>>>),
    /// A reused connection turned out closed by the server: the request
    /// goes once more to the same server, on a new connection (HAProxy's
    /// `http-reuse` lets the client retry instead; the effect is the same).
    Stale(Box<Parts>),
    /// The request was sent and no valid response came back: how (`None`
    /// when no `retry-on` keyword covers it), and the status to answer.
    Sent {
        failure: Option<SentFailure>,
        status: u16,
    },
}

impl HttpProxy {
    /// One request/response exchange through hyper on `pooled` (requests
    /// with a body, upgrades, `CONNECT`, HTTP/2 servers).
    pub(super) async fn exchange(
        &self,
        route: &BackendRoute,
        mut pooled: PooledConn,
        permit: ServerPermit,
        request: Request<ProxyBody>,
        client_upgrade: &mut Option<crate::message::upgrade::ClientUpgrade>,
    ) -> Result<Response<ProxyBody>, AttemptError> {
        if pooled.is_own() {
            // The request path sends the rest to `exchange_own`.
            pooled = match pooled.hand_to_hyper().await {
                Ok(pooled) => pooled,
                Err(e) => {
                    tracing::debug!(error = %e, "server connection not usable");
                    return Err(AttemptError::Connect(Some(Box::new(request))));
                }
            };
        }
        let reused = pooled.reused;
        // An HTTP/1.1 client's upgrade toward an HTTP/2 server: RFC 8441.
        let (mut head, body) = request.into_parts();
        let asked_websocket =
            client_upgrade.is_some() && extended_connect::asks_websocket(&head.headers);
        let client_accept =
            (pooled.is_http2() && client_upgrade.is_some() && head.method != http::Method::CONNECT)
                .then(|| extended_connect::to_extended_connect(&mut head))
                .flatten();
        let request = Request::from_parts(head, body);
        let connect = request.method() == http::Method::CONNECT;
        // From an HTTP/2 client to an HTTP/2 server, the two translations
        // cancel out: the server's 200 is the client's.
        let from_extended_connect = request
            .extensions()
            .get::<extended_connect::FromExtendedConnect>()
            .is_some();
        let h2_both_sides = from_extended_connect && client_accept.is_some();
        let (client_accept, from_extended_connect) = if h2_both_sides {
            (None, false)
        } else {
            (client_accept, from_extended_connect)
        };
        let websocket_over_h2 = request
            .extensions()
            .get::<extended_connect::ExpectedAccept>()
            .filter(|_| !h2_both_sides)
            .cloned();
        // An extended CONNECT waits for the server's SETTINGS: to one that
        // does not allow it (RFC 8441 §3) nothing is sent, and the client
        // gets a 502, as from HAProxy (which resets a stream it never
        // opened; the `h2` crate cannot).
        let extended = request.extensions().get::<hyper::ext::Protocol>().is_some();
        if let Some(settings) = pooled.peer_settings().filter(|_| extended).cloned() {
            if !within_server_timeout(route, settings.connect_protocol()).await? {
                // The connection stays for the server's other requests.
                self.pool.checkin(pooled);
                return Err(AttemptError::Sent {
                    failure: None,
                    status: 502,
                });
            }
        }
        let sent = pooled.sender.send_request(request);
        let result = within_server_timeout(route, sent).await?;
        let mut response = match result {
            Ok(response) => response,
            // Never written (the connection was closed or not ready): the
            // request comes back for another attempt.
            Err(SendError {
                unsent: Some(request),
                ..
            }) => return Err(AttemptError::Connect(Some(Box::new(request)))),
            // A client's request body that turned out malformed (a bad
            // chunk) is the client's fault: 400, as HAProxy answers.
            Err(e) if e.error.as_ref().is_some_and(hyper::Error::is_user) => {
                return Err(AttemptError::Sent {
                    failure: None,
                    status: 400,
                })
            }
            // A reused connection closed by the server between requests:
            // nothing reached it, so this is a connection failure.
            Err(e) if reused && e.error.as_ref().is_some_and(hyper::Error::is_canceled) => {
                return Err(AttemptError::Connect(None))
            }
            Err(e) => {
                tracing::debug!(error = ?e.error, "server exchange failed");
                return Err(AttemptError::Sent {
                    failure: Some(e.error.as_ref().map_or(SentFailure::Empty, SentFailure::of)),
                    status: 502,
                });
            }
        };
        let switched = response.status() == http::StatusCode::SWITCHING_PROTOCOLS
            || (connect && response.status().is_success());
        if switched {
            // The server switched protocols: only for a client that asked
            // (and, for WebSocket over HTTP/2, that proved it read the key).
            // An HTTP/1.1 server's 101 to a WebSocket handshake must carry
            // `Sec-WebSocket-Accept` (RFC 6455 §4.2.2), else 502, as HAProxy.
            let accepted = !asked_websocket
                || client_accept.is_some()
                || h2_both_sides
                || response.headers().contains_key("sec-websocket-accept");
            let proven = accepted
                && websocket_over_h2
                    .as_ref()
                    .is_none_or(|expected| expected.matches(response.headers()));
            let Some(client) = client_upgrade.take().filter(|_| proven) else {
                return Err(AttemptError::Sent {
                    failure: None,
                    status: 502,
                });
            };
            let server = hyper::upgrade::on(&mut response);
            // The connection's task hands the socket over when it ends.
            pooled.detach();
            upgrade::spawn_tunnel(
                client,
                server,
                permit,
                route.tunnel_idle(&self.client_side.timeouts),
            );
            let (mut parts, _) = response.into_parts();
            if from_extended_connect {
                extended_connect::to_h2_answer(&mut parts.status, &mut parts.headers);
            }
            if let Some(accept) = client_accept {
                extended_connect::to_h1_answer(&mut parts.status, &mut parts.headers, accept);
                parts.headers.remove(http::header::CONTENT_LENGTH);
            } else if connect {
                // A 2xx to CONNECT has no body (RFC 9110 §9.3.6): what
                // follows is the tunnel, whatever the server announced.
                parts.headers.remove(http::header::CONTENT_LENGTH);
                parts.headers.remove(http::header::TRANSFER_ENCODING);
            }
            return Ok(Response::from_parts(parts, ProxyBody::Empty));
        }
        let (mut parts, body) = response.into_parts();
        hop_by_hop::strip(&mut parts.headers);
        // An HTTP/2 connection carries other streams while this body still
        // flows: it goes back now. At the body's end it would come back
        // only after the last frame was handed to the client's side, and a
        // client's next request could come first and find none.
        let conn = if pooled.is_http2() && !pooled.private {
            self.pool.checkin(pooled);
            None
        } else {
            Some(pooled)
        };
        let end = ExchangeEnd {
            pool: self.pool.clone(),
            conn,
            _permit: permit,
        };
        Ok(Response::from_parts(
            parts,
            ProxyBody::streamed_with_idle(
                crate::message::body::Source::Hyper(body),
                route.server_timeout.map(|limit| {
                    IdleLimit::new(limit, "timeout server: the server stopped sending")
                }),
            )
            .with_end(Box::new(end)),
        ))
    }
}

impl HttpProxy {
    /// One exchange on a connection the gateway drives itself
    /// (`upstream/server_conn.rs`): a bodiless `GET` or `HEAD`.
    pub(super) async fn exchange_own(
        &self,
        route: &BackendRoute,
        mut pooled: PooledConn,
        permit: ServerPermit,
        parts: Box<Parts>,
    ) -> Result<ProxyResponse, AttemptError> {
        let Some(conn) = pooled.own_mut() else {
            return Err(AttemptError::Connect(None));
        };
        let result = within_server_timeout(route, conn.send_head(&parts)).await?;
        let head = match result {
            Ok(head) => head,
            // A reused connection the server closed between requests:
            // nothing reached it, so the request goes again.
            Err(e) if pooled.reused && e.nothing_received() => {
                tracing::debug!(error = %e, "reused server connection closed");
                return Err(AttemptError::Stale(parts));
            }
            Err(e) => {
                tracing::debug!(error = %e, "server exchange failed");
                let failure = if e.is_junk() {
                    SentFailure::Junk
                } else {
                    SentFailure::Empty
                };
                return Err(AttemptError::Sent {
                    failure: Some(failure),
                    status: 502,
                });
            }
        };
        // A chunked body already wrong in what came with the head: 502
        // now, rather than a head passed on and a body cut short.
        let chunks_wrong = head.framing == Framing::Chunked
            && pooled
                .own_mut()
                .is_some_and(|c| chunked::Decoder::check_start(&c.buf).is_err());
        if chunks_wrong {
            return Err(AttemptError::Sent {
                failure: Some(SentFailure::Junk),
                status: 502,
            });
        }
        // No hop-by-hop fields: the head was read without them.
        let body = if head.framing == Framing::Empty {
            // Nothing more to read: the connection is free now.
            let conn = head.reusable.then_some(pooled);
            ProxyBody::Empty.with_end(Box::new(ExchangeEnd {
                pool: self.pool.clone(),
                conn,
                _permit: permit,
            }))
        } else {
            let body = ServerBody::new(pooled, self.pool.clone(), head.framing, head.reusable);
            ProxyBody::streamed_with_idle(
                crate::message::body::Source::Server(Box::new(body)),
                route.server_timeout.map(|limit| {
                    IdleLimit::new(limit, "timeout server: the server stopped sending")
                }),
            )
            .with_end(Box::new(ExchangeEnd {
                pool: self.pool.clone(),
                conn: None,
                _permit: permit,
            }))
        };
        Ok(ProxyResponse::from_server(
            head.status,
            head.version,
            head.reason,
            head.fields,
            body,
        ))
    }
}

/// Waits for a response head no longer than `timeout server` (504).
async fn within_server_timeout<T>(
    route: &BackendRoute,
    response: impl std::future::Future<Output = T>,
) -> Result<T, AttemptError> {
    match route.server_timeout {
        Some(limit) => {
            tokio::time::timeout(limit, response)
                .await
                .map_err(|_| AttemptError::Sent {
                    failure: Some(SentFailure::Timeout),
                    status: 504,
                })
        }
        None => Ok(response.await),
    }
}

/// Whether a request goes on the gateway's own server connection: a
/// bodiless `GET` or `HEAD` that does not ask to switch protocols. The
/// rest (bodies, upgrades, `CONNECT`) is hyper's.
pub(super) fn own_path_takes(
    head: &Parts,
    body: &ProxyBody,
    client_upgrade: &Option<crate::message::upgrade::ClientUpgrade>,
) -> bool {
    (head.method == http::Method::GET || head.method == http::Method::HEAD)
        && matches!(body, ProxyBody::Empty)
        && client_upgrade.is_none()
        && !head.headers.contains_key(http::header::UPGRADE)
}

/// Which idle server connection this attempt may take (`http-reuse`):
/// none when `allowed` is false (a retry after a stale one, a connection
/// the request asks to close), else by the backend's policy, `later` for
/// a client connection's requests after its first.
pub(super) fn reuse_policy(
    policy: HttpReuse,
    allowed: bool,
    later: bool,
    conn: &ClientConn,
) -> crate::upstream::pool::Reuse<'_> {
    use crate::upstream::pool::Reuse;
    match policy {
        HttpReuse::Never if allowed => Reuse::Own(conn.own_server()),
        _ if !allowed => Reuse::New,
        HttpReuse::Never => Reuse::New,
        HttpReuse::Safe if later => Reuse::Any,
        HttpReuse::Safe => Reuse::New,
        HttpReuse::Aggressive if later => Reuse::Any,
        HttpReuse::Aggressive => Reuse::Proven,
        HttpReuse::Always => Reuse::Any,
    }
}
