//! One request's sequence, in HAProxy's order: the request checks, the
//! stats page, the rules (route, respond, deny, `use-service`), the header
//! policies (`http-restrict-req-hdr-names`, `forwardfor`), upgrades and the
//! connection mode, then [`forward`](super::forward) to a server, the
//! response rules, and the connection's state after the response (close,
//! keep-alive, log line, counters).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use http::request::Parts;
use http::{HeaderValue, Response};

use crate::log::termination;
use crate::message::body::{BodyEnd, ProxyBody};
use crate::message::response::{FieldsMut, ProxyResponse};
use crate::proxy::client_side::ClientTimeouts;
use crate::proxy::routing::Verdict;
use switchyard::wire::h1::hop_by_hop;

use super::attempt::Attempt;
use super::ends::{LogEnd, RequestEnd, UploadEnd};
use super::forward::clone_parts;
use super::log_draft::{ended, target_of, LogDraft};
use super::{extended_connect, header_names, request_checks, upgrade, ClientConn, HttpProxy};

impl HttpProxy {
    pub fn client_timeouts(&self) -> ClientTimeouts {
        self.client_side.timeouts
    }

    /// Serves one request; the connection counts it as in progress until
    /// its response has been passed on, when its log line is written.
    ///
    /// The head comes boxed and stays so down to the exchange: each
    /// `async fn` it passes through keeps room for its arguments twice
    /// (as argument and as local), and the request future is moved into
    /// its box per request, so 224 bytes by value cost kilobytes.
    pub async fn handle(
        &self,
        mut parts: Box<Parts>,
        body: ProxyBody,
        conn: &Arc<ClientConn>,
    ) -> ProxyResponse {
        conn.request_started();
        self.counters.request_started();
        let http1 = parts.version < http::Version::HTTP_2;
        let head_request = parts.method == http::Method::HEAD;
        self.router.begin(&mut parts, conn);
        let after = self
            .router
            .has_after_response()
            .then(|| keep_request(&parts));
        let mut response = self.handle_logged(parts, body, conn).await;
        if let Some(request) = after {
            // Every response, the gateway's own included, as HAProxy.
            self.router.after_response(&request, conn, &mut response);
        }
        let closing = conn.closing.load(Ordering::Relaxed);
        if http1
            && (closing || self.connection_mode.closes_client())
            && response.status() != http::StatusCode::SWITCHING_PROTOCOLS
        {
            if !closing {
                // `option httpclose`: this response is the connection's last.
                conn.close_after_next_response();
            }
            response.close_connection();
        } else if http1 && response.says_close() {
            // An error page or a rule said so: the connection closes
            // after this response (`front/h1_conn.rs`).
            conn.close_after_next_response();
        } else if http1 && response.is_http10() {
            // A server's HTTP/1.0 response goes out as HTTP/1.0, as HAProxy
            // passes it: its body, when no length says where it ends, ends
            // with the connection; otherwise the connection stays, which
            // HTTP/1.0 must be told.
            if response.http10_until_close(head_request) {
                conn.close_after_next_response();
            } else {
                response.append_field(
                    http::header::CONNECTION,
                    HeaderValue::from_static("keep-alive"),
                );
            }
        }
        let end = RequestEnd {
            conn: conn.clone(),
            counters: self.counters.clone(),
            status: response.status().as_u16(),
        };
        response.map_body(|body| body.with_end(Box::new(end)))
    }

    async fn handle_logged(
        &self,
        parts: Box<Parts>,
        body: ProxyBody,
        conn: &Arc<ClientConn>,
    ) -> ProxyResponse {
        // Before any rule, and never logged (HAProxy's `SF_MONITOR`).
        if let Some(status) = self.monitor.as_ref().and_then(|m| m.answer(&parts, conn)) {
            if request_checks::check(&parts).is_ok() {
                return self.errors.response(status).into();
            }
        }
        let Some(logger) = self.logger.clone() else {
            return self.handle_inner(parts, body, conn, &mut None).await;
        };
        // Boxed: the draft is hundreds of bytes the request future would
        // otherwise carry (and copy) even when nothing is logged.
        let mut draft = Box::new(LogDraft::new(&parts, conn, &self.name, logger.needs));
        super::capture::request_received(&mut draft, logger.captures.as_ref(), &parts);
        // `%U` counts the request's body as it is read.
        let body = match &draft.uploaded {
            Some(uploaded) => body.with_end(Box::new(UploadEnd(uploaded.clone()))),
            None => body,
        };
        let mut draft = Some(draft);
        let response = self.handle_inner(parts, body, conn, &mut draft).await;
        let mut draft = draft.expect("still there");
        if draft.needs.bytes && draft.response_head.is_none() {
            // The gateway's own answer, counted as it is.
            draft.response_head = Some(response.htx_size());
        }
        let end = LogEnd {
            conn: draft.needs.connections.then(|| conn.clone()),
            logger,
            draft,
            status: response.status().as_u16(),
        };
        if end.logger.early() {
            // `option logasap`: the line goes now, with the response head;
            // no byte of the body has been sent yet.
            Box::new(end).finished(true, 0);
            return response;
        }
        // First: the line reads the server's load with this request's slot
        // still held, as HAProxy reads it before the request leaves.
        response.map_body(|body| body.with_first_end(Box::new(end)))
    }

    async fn handle_inner(
        &self,
        mut parts: Box<Parts>,
        body: ProxyBody,
        conn: &ClientConn,
        draft: &mut Option<Box<LogDraft>>,
    ) -> ProxyResponse {
        let first = conn.first_request();
        let trace = crate::log::debug_trace::stream();
        if let Some(stream) = trace {
            crate::log::debug_trace::request(stream, &self.name, conn.trace_fd, &parts);
        }
        if let Err(refusal) = request_checks::check(&parts) {
            tracing::debug!(?refusal, "request refused");
            ended(draft, termination::PROXY_REFUSED);
            return self.errors.response(refusal.status()).into();
        }
        ensure_host(&mut parts);
        if let Some(stats) = self.stats.as_ref().filter(|s| s.matches(target_of(&parts))) {
            ended(draft, termination::LOCAL);
            return self.stats_page(stats, &parts, conn, body).await.into();
        }
        let verdict = self.router.route(&mut parts, conn);
        let cookies_read = matches!(
            verdict,
            Verdict::Backend(..) | Verdict::Respond { denied: true, .. }
        );
        super::capture::rules_done(draft, &mut parts, cookies_read);
        let (backend_name, persist_override) = match verdict {
            Verdict::Respond { response, denied } => {
                let how = if denied {
                    termination::PROXY_REFUSED
                } else {
                    termination::LOCAL
                };
                ended(draft, how);
                return response.into();
            }
            Verdict::NoBackend => {
                ended(draft, termination::NO_SERVER);
                return self.error_response(None, 503, Some(&parts), conn).into();
            }
            Verdict::Service(name) => {
                ended(draft, termination::LOCAL);
                return self.service(&name).into();
            }
            Verdict::Backend(name, persist) => (name, persist),
        };
        // `stats enable` in a backend section: its page, once routed there
        // (most configurations have none: no lookup then).
        let backend_stats = (!self.backend_stats.is_empty())
            .then(|| self.backend_stats.get(&backend_name))
            .flatten();
        if let Some(stats) = backend_stats.filter(|s| s.matches(target_of(&parts))) {
            ended(draft, termination::LOCAL);
            return self.stats_page(stats, &parts, conn, body).await.into();
        }
        if let Some(d) = draft.as_mut() {
            d.record.backend = backend_name.clone();
        }
        let Some(route) = self.backends.get(&backend_name).cloned() else {
            ended(draft, termination::NO_SERVER);
            return self.error_response(None, 503, Some(&parts), conn).into();
        };
        // `option http-restrict-req-hdr-names`: the frontend's, then the
        // backend's, once the rules have run.
        for policy in [self.header_names, route.header_names] {
            if header_names::restrict(policy, &mut parts.headers).is_err() {
                ended(draft, termination::PROXY_REFUSED);
                return self
                    .error_response(Some(&route), 403, Some(&parts), conn)
                    .into();
            }
        }
        if let Some(policy) = route.forwardfor.as_ref().or(self.forwardfor.as_ref()) {
            policy.apply(conn.forwarded_client(), &mut parts.headers);
        }
        // RFC 8441: an HTTP/2 client's upgrade (WebSocket or another
        // protocol) reaches the server as an HTTP/1.1 one (its stream has
        // no body, the tunnel follows); `exchange` makes it an extended
        // CONNECT again for an HTTP/2 server.
        let upgrade_over_h2 = extended_connect::is_extended_connect(&parts);
        let body = if upgrade_over_h2 {
            extended_connect::to_h1_handshake(&mut parts);
            ProxyBody::Empty
        } else {
            body
        };
        let upgrade_to = upgrade::requested(&parts);
        if upgrade_to.is_some() && upgrade::websocket_without_key(&parts.headers) {
            // HAProxy refuses a WebSocket handshake the server could not
            // answer (RFC 6455 §4.1: the key is required).
            ended(draft, termination::PROXY_REFUSED);
            return self.errors.response(400).into();
        }
        let tunnel_asked = upgrade_to.is_some() || parts.method == http::Method::CONNECT;
        let mut client_upgrade = tunnel_asked
            .then(|| {
                parts
                    .extensions
                    .remove::<crate::message::upgrade::ClientUpgrade>()
            })
            .flatten();
        hop_by_hop::strip_request(&mut parts.headers);
        let close_server = self.connection_mode.closes_server(route.connection_mode);
        match upgrade_to {
            Some(protocol) => upgrade::restore(&mut parts.headers, protocol),
            // `http-server-close`/`httpclose`: the server is told, and the
            // connection is not kept (`forward`).
            None if close_server => {
                parts
                    .headers
                    .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
            }
            None => {}
        }
        let kept = self
            .router
            .has_response_rules(&backend_name)
            .then(|| keep_request(&parts));
        let response = self
            .forward(
                &route,
                parts,
                body,
                conn,
                Attempt {
                    reuse: !first,
                    close_server,
                    persist: persist_override,
                    trace,
                    served_by: kept.is_some(),
                },
                &mut client_upgrade,
                draft,
            )
            .await;
        let Some(request) = kept else { return response };
        let mut response = response;
        self.router
            .on_response(&backend_name, &request, conn, &mut response);
        response
    }

    async fn stats_page(
        &self,
        stats: &crate::stats::StatsPage,
        parts: &Parts,
        conn: &ClientConn,
        body: ProxyBody,
    ) -> Response<ProxyBody> {
        let facts = crate::proxy::rules_router::PartsFacts::new(parts, conn);
        let (admin, access) = (stats.admin_allowed(&facts), stats.access(&facts));
        stats.serve(parts, admin, access, body).await
    }

    /// `http-request use-service NAME`.
    fn service(&self, name: &str) -> Response<ProxyBody> {
        match name {
            "prometheus-exporter" => {
                let mut r = Response::new(ProxyBody::full(crate::stats::prometheus::render(
                    &self.views,
                )));
                r.headers_mut().insert(
                    http::header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; version=0.0.4"),
                );
                r
            }
            // Refused at startup (process/support.rs); never reached.
            _ => self.errors.response(503),
        }
    }
}

/// A copy of the request head for the response's rules, with the
/// request's variables.
fn keep_request(parts: &Parts) -> Box<Parts> {
    let mut kept = Box::new(clone_parts(parts));
    if let Some(vars) = parts.extensions.get::<Arc<switchyard_rules::vars::Vars>>() {
        kept.extensions.insert(vars.clone());
    }
    kept
}

/// `Host` for HTTP/2 clients, who send `:authority` instead.
/// (An origin-form target, HTTP/1's usual one, has no authority: no
/// lookup then.)
pub fn ensure_host(parts: &mut Parts) {
    let Some(authority) = parts.uri.authority() else {
        return;
    };
    if !parts.headers.contains_key(http::header::HOST) {
        if let Ok(value) = HeaderValue::from_str(authority.as_str()) {
            parts.headers.insert(http::header::HOST, value);
        }
    }
}
