//! Sample fetches: HAProxy's names, compiled once, evaluated per request.

use std::borrow::Cow;
use std::net::IpAddr;

use crate::cookie::for_each_cookie;
use crate::fetch_internal::InternalFetch;
use crate::request::{path_of, query_of, RequestFacts, UriPart};
use crate::value::{SampleType, Value};

/// What a fetch reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetch {
    /// `hdr(name[,occ])`, `req.hdr`: values split on commas; `req.fhdr`: whole lines.
    Hdr {
        /// The header's name, lower-cased.
        name: String,
        /// Which occurrence: 1 the first, -1 the last, negative counts from the
        /// end; `None`: every occurrence.
        occ: Option<i64>,
        /// Whether values are split on commas (`hdr`) or taken as whole lines
        /// (`fhdr`).
        split: bool,
    },
    /// `hdr_cnt(name)`, `req.hdr_cnt`, `req.fhdr_cnt`.
    HdrCnt {
        /// The header's name, lower-cased.
        name: String,
        /// Whether values split on commas count one each (`hdr_cnt`) or each line
        /// counts once (`fhdr_cnt`).
        split: bool,
    },
    /// `hdr_val(name)`: the header's value as an integer.
    HdrVal {
        /// The header's name, lower-cased.
        name: String,
    },
    /// `path`: the path, without the query string.
    Path,
    /// `pathq`: the path and the query string, without an absolute-form
    /// target's scheme and authority.
    PathQ,
    /// `url`: the request target as sent.
    Url,
    /// `url_param(name)` / `urlp(name)`.
    UrlParam {
        /// The parameter's name, matched case-sensitively as HAProxy does.
        name: String,
    },
    /// Host header and path: `www.example.com/index.html`.
    Base,
    /// `query`: the query string, without the `?`.
    Query,
    /// `method`: the request method.
    Method,
    /// `req.ver`: the HTTP version as `1.1`, `2.0`.
    ReqVer,
    /// `src`: the client's address (after a PROXY header, the one it carries).
    Src,
    /// `src_port`: the client's port.
    SrcPort,
    /// `dst`: the address the client connected to.
    Dst,
    /// `dst_port`: the port the client connected to.
    DstPort,
    /// `req.cook(name)` / `cook(name)`; `None` name: every cookie's value.
    Cook {
        /// The cookie's name; `None`: every cookie.
        name: Option<String>,
    },
    /// `req.cook_cnt(name)` / `cook_cnt(name)`: how many cookies of the name
    /// (`None`: how many cookies).
    CookCnt {
        /// The cookie's name; `None`: every cookie.
        name: Option<String>,
    },
    /// `ssl_fc`: the connection came over TLS.
    SslFc,
    /// `ssl_fc_sni`: the server name the client asked for.
    SslFcSni,
    /// `ssl_fc_alpn`: the protocol agreed by ALPN.
    SslFcAlpn,
    /// `ssl_fc_protocol`: the TLS version (`TLSv1.3`).
    SslFcProtocol,
    /// `ssl_fc_cipher`: the suite by OpenSSL's name.
    SslFcCipher,
    /// `ssl_c_used`: the client showed a certificate.
    SslCUsed,
    /// `ssl_c_verify`: OpenSSL's verify result, 0 (a certificate that
    /// fails verification ends the handshake under rustls).
    SslCVerify,
    /// `ssl_c_s_dn`: the client certificate's subject DN.
    SslCSDn,
    /// `ssl_c_i_dn`: the client certificate's issuer DN.
    SslCIDn,
    /// `ssl_c_notbefore`: the start of the client certificate's validity
    /// (`YYMMDDhhmmssZ`).
    SslCNotBefore,
    /// `ssl_c_notafter`: the end of the client certificate's validity
    /// (`YYMMDDhhmmssZ`).
    SslCNotAfter,
    /// `http_auth(userlist)`: valid Basic credentials for the list.
    HttpAuth {
        /// The userlist's index in the configuration.
        userlist: usize,
    },
    /// `http_auth_group(userlist)`: the authenticated user's groups.
    HttpAuthGroup {
        /// The userlist's index in the configuration.
        userlist: usize,
    },
    /// `always_true`, `always_false`, `req.proto_http`.
    Constant(bool),
    /// `req.len`: bytes buffered when rules run (an HTTP request's body is
    /// not buffered: 0).
    ReqLen,
    /// `req.payload(offset,length)`: buffered bytes (length 0: to the end).
    ReqPayload {
        /// Where the bytes start in the buffered data.
        offset: usize,
        /// How many bytes; 0: all that is buffered after `offset`.
        length: usize,
    },
    /// `req.ssl_sni`: the server name of a buffered TLS ClientHello.
    ReqSslSni,
    /// `req.ssl_hello_type`: 1 once a whole ClientHello is buffered.
    ReqSslHelloType,
    /// `srv_id`: the id of the server that answered (response side).
    SrvId,
    /// `srv_name`: the name of the server that answered (response side).
    SrvName,
    /// `var(scope.name[,default])`: a variable's value, else the default.
    Var {
        /// The variable.
        var: switchyard_grammar::ast::var::VarName,
        /// What an unset variable reads as; `None`: no value.
        default: Option<String>,
    },
    /// Constants and process state: `str()`, `int()`, `env()`, `now`,
    /// `rand()`… ([`crate::fetch_internal`]).
    Internal(InternalFetch),
}

/// The type a fetch returns, which decides its default match method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A string (headers, path, cookies…).
    Str,
    /// An integer (ports, counts, lengths).
    Int,
    /// An address (`src`, `dst`).
    Ip,
    /// A boolean (`ssl_fc`, `http_auth`).
    Bool,
    /// Bytes (`req.payload`, `bin()`).
    Bin,
}

impl Fetch {
    /// The type of value this fetch returns, which picks its default match
    /// method.
    pub fn kind(&self) -> Kind {
        match self {
            Fetch::Hdr { .. }
            | Fetch::Path
            | Fetch::PathQ
            | Fetch::Url
            | Fetch::UrlParam { .. }
            | Fetch::Base
            | Fetch::Query => Kind::Str,
            Fetch::Method
            | Fetch::ReqVer
            | Fetch::Cook { .. }
            | Fetch::SslFcSni
            | Fetch::SslFcAlpn
            | Fetch::SslFcProtocol
            | Fetch::SslFcCipher
            | Fetch::SslCSDn
            | Fetch::SslCIDn
            | Fetch::SslCNotBefore
            | Fetch::SslCNotAfter
            | Fetch::ReqSslSni
            | Fetch::SrvName
            | Fetch::Var { .. } => Kind::Str,
            Fetch::ReqPayload { .. } => Kind::Bin,
            Fetch::Internal(f) => f.kind(),
            Fetch::HttpAuthGroup { .. } => Kind::Str,
            Fetch::HdrCnt { .. }
            | Fetch::HdrVal { .. }
            | Fetch::SrcPort
            | Fetch::DstPort
            | Fetch::CookCnt { .. }
            | Fetch::ReqLen
            | Fetch::SrvId
            | Fetch::ReqSslHelloType
            | Fetch::SslCVerify => Kind::Int,
            Fetch::Src | Fetch::Dst => Kind::Ip,
            Fetch::SslFc | Fetch::SslCUsed | Fetch::HttpAuth { .. } | Fetch::Constant(_) => {
                Kind::Bool
            }
        }
    }

    /// The HAProxy type of the fetch's samples, which converters are
    /// checked against.
    pub fn sample_type(&self) -> SampleType {
        match self {
            Fetch::Method => SampleType::Meth,
            Fetch::Src | Fetch::Dst => SampleType::Addr,
            Fetch::Internal(f) => f.sample_type(),
            // A variable holds whatever was stored in it.
            Fetch::Var { .. } => SampleType::Any,
            other => match other.kind() {
                Kind::Str => SampleType::Str,
                Kind::Int => SampleType::Sint,
                Kind::Ip => SampleType::Addr,
                Kind::Bool => SampleType::Bool,
                Kind::Bin => SampleType::Bin,
            },
        }
    }

    /// Every value the fetch yields (ACLs try each; HAProxy iterates
    /// header occurrences until one matches).
    pub fn values<'r>(
        &self,
        req: &'r dyn RequestFacts,
        auth: &dyn Fn(usize, &dyn RequestFacts) -> AuthResult,
        out: &mut dyn FnMut(Value<'r>),
    ) {
        let _ = self.values_may_change(req, auth, out);
    }

    /// [`Fetch::values`], and whether more buffered data could still
    /// change them (HAProxy's `SMP_F_MAY_CHANGE`): content rules then wait.
    pub fn values_may_change<'r>(
        &self,
        req: &'r dyn RequestFacts,
        auth: &dyn Fn(usize, &dyn RequestFacts) -> AuthResult,
        out: &mut dyn FnMut(Value<'r>),
    ) -> bool {
        use crate::client_hello::{client_hello_sni, hello_type, Peek};
        let payload = req.payload().unwrap_or_default();
        let may_grow = req.payload_may_grow();
        match self {
            Fetch::ReqLen => {
                out(Value::Int(payload.len() as i64));
                return may_grow;
            }
            Fetch::ReqPayload { offset, length } => {
                let end = if *length == 0 {
                    payload.len()
                } else {
                    offset.saturating_add(*length)
                };
                match payload.get(*offset..end) {
                    Some(bytes) if *offset <= payload.len() => {
                        out(Value::Bin(Cow::Borrowed(bytes)));
                        return *length == 0 && may_grow;
                    }
                    _ => return may_grow,
                }
            }
            Fetch::ReqSslSni => {
                return match client_hello_sni(payload) {
                    Peek::Found(Some(name)) => {
                        out(Value::Str(Cow::Owned(name)));
                        false
                    }
                    Peek::Found(None) | Peek::NotTls => false,
                    Peek::Incomplete => may_grow,
                }
            }
            Fetch::ReqSslHelloType => {
                return match hello_type(payload) {
                    Peek::Found(kind) => {
                        out(Value::Int(i64::from(kind)));
                        false
                    }
                    Peek::NotTls => false,
                    Peek::Incomplete => may_grow,
                }
            }
            _ => {}
        }
        match self {
            Fetch::Hdr {
                name,
                occ: None,
                split,
            } => header_values(req, name, *split, &mut |v| out(Value::Str(v))),
            Fetch::Hdr {
                name,
                occ: Some(n),
                split,
            } => {
                let mut all = Vec::new();
                header_values(req, name, *split, &mut |v| all.push(v));
                if let Some(v) = pick_occurrence(all, *n) {
                    out(Value::Str(v));
                }
            }
            Fetch::HdrCnt { name, split } => {
                let mut n = 0;
                header_values(req, name, *split, &mut |_| n += 1);
                out(Value::Int(n));
            }
            Fetch::HdrVal { name } => {
                let mut last = None;
                header_values(req, name, true, &mut |v| {
                    last = v.trim().parse::<i64>().ok()
                });
                if let Some(n) = last {
                    out(Value::Int(n));
                }
            }
            Fetch::Path => out(Value::Str(Cow::Borrowed(path_of(req.target())))),
            Fetch::PathQ => out(Value::Str(Cow::Borrowed(
                UriPart::PathQuery.split(req.target()).1,
            ))),
            Fetch::Url => out(Value::Str(Cow::Borrowed(req.target()))),
            Fetch::Query => {
                if let Some(q) = query_of(req.target()) {
                    out(Value::Str(Cow::Borrowed(q)));
                }
            }
            Fetch::UrlParam { name } => {
                if let Some(q) = query_of(req.target()) {
                    for pair in q.split('&') {
                        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                        if k == name {
                            out(Value::Str(Cow::Borrowed(v)));
                        }
                    }
                }
            }
            Fetch::Base => {
                let mut host = None;
                header_values(req, "host", false, &mut |v| {
                    if host.is_none() {
                        host = Some(v)
                    }
                });
                if let Some(host) = host {
                    out(Value::Str(Cow::Owned(format!(
                        "{host}{}",
                        path_of(req.target())
                    ))));
                }
            }
            Fetch::SrvId => {
                if let Some((_, id)) = req.server() {
                    out(Value::Int(i64::from(id)));
                }
            }
            Fetch::SrvName => {
                if let Some((name, _)) = req.server() {
                    out(Value::Str(Cow::Borrowed(name)));
                }
            }
            Fetch::Method => out(Value::Str(Cow::Borrowed(req.method()))),
            Fetch::ReqVer => out(Value::Str(Cow::Borrowed(req.version()))),
            Fetch::Src => out(Value::Ip(canonical(req.src().ip()))),
            Fetch::SrcPort => out(Value::Int(i64::from(req.src().port()))),
            Fetch::Dst => out(Value::Ip(canonical(req.dst().ip()))),
            Fetch::DstPort => out(Value::Int(i64::from(req.dst().port()))),
            Fetch::Cook { name } => cookies(req, name.as_deref(), &mut |v| out(Value::Str(v))),
            Fetch::CookCnt { name } => {
                let mut n = 0;
                cookies(req, name.as_deref(), &mut |_| n += 1);
                out(Value::Int(n));
            }
            Fetch::SslFc => out(Value::Bool(req.tls().is_some())),
            Fetch::SslFcSni => {
                if let Some(sni) = req.tls().and_then(|t| t.sni.as_deref()) {
                    out(Value::Str(Cow::Borrowed(sni)));
                }
            }
            Fetch::SslFcAlpn => {
                if let Some(alpn) = req.tls().and_then(|t| t.alpn.as_deref()) {
                    out(Value::Str(Cow::Borrowed(alpn)));
                }
            }
            Fetch::SslFcProtocol => {
                if let Some(p) = req.tls().and_then(|t| t.protocol.as_deref()) {
                    out(Value::Str(Cow::Borrowed(p)));
                }
            }
            Fetch::SslFcCipher => {
                if let Some(c) = req.tls().and_then(|t| t.cipher.as_deref()) {
                    out(Value::Str(Cow::Borrowed(c)));
                }
            }
            Fetch::SslCUsed => {
                if let Some(tls) = req.tls() {
                    out(Value::Bool(tls.client.is_some()));
                }
            }
            Fetch::SslCVerify => {
                if req.tls().is_some() {
                    out(Value::Int(0));
                }
            }
            Fetch::SslCSDn | Fetch::SslCIDn | Fetch::SslCNotBefore | Fetch::SslCNotAfter => {
                if let Some(c) = req.tls().and_then(|t| t.client.as_deref()) {
                    let text = match self {
                        Fetch::SslCSDn => &c.subject_dn,
                        Fetch::SslCIDn => &c.issuer_dn,
                        Fetch::SslCNotBefore => &c.not_before,
                        _ => &c.not_after,
                    };
                    out(Value::Str(Cow::Borrowed(text)));
                }
            }
            Fetch::HttpAuth { userlist } => out(Value::Bool(matches!(
                auth(*userlist, req),
                AuthResult::Valid(_)
            ))),
            Fetch::HttpAuthGroup { userlist } => {
                if let AuthResult::Valid(groups) = auth(*userlist, req) {
                    for group in groups {
                        out(Value::Str(Cow::Owned(group)));
                    }
                }
            }
            Fetch::Constant(b) => out(Value::Bool(*b)),
            Fetch::Var { var, default } => match req.vars().and_then(|v| v.get(var)) {
                Some(value) => out(value),
                None => {
                    if let Some(d) = default {
                        out(Value::Str(Cow::Owned(d.clone())))
                    }
                }
            },
            Fetch::Internal(f) => f.value(out),
            Fetch::ReqLen
            | Fetch::ReqPayload { .. }
            | Fetch::ReqSslSni
            | Fetch::ReqSslHelloType => {}
        }
        false
    }

    /// Whether the fetch can be evaluated when a connection is accepted,
    /// before any byte is read (`tcp-request connection` rules).
    pub fn is_layer4(&self) -> bool {
        matches!(
            self,
            Fetch::Src
                | Fetch::SrcPort
                | Fetch::Dst
                | Fetch::DstPort
                | Fetch::Constant(_)
                | Fetch::Var { .. }
                | Fetch::Internal(_)
        )
    }

    /// Whether the fetch reads an HTTP request (which a TCP frontend never
    /// parses: such a fetch finds nothing there).
    pub fn needs_http(&self) -> bool {
        !self.is_layer4()
            && !matches!(
                self,
                Fetch::ReqLen
                    | Fetch::ReqPayload { .. }
                    | Fetch::ReqSslSni
                    | Fetch::ReqSslHelloType
            )
    }
}

/// What `http_auth` found for a request.
pub enum AuthResult {
    /// Valid credentials; the user's groups.
    Valid(Vec<String>),
    /// No valid credentials for the list (or none sent).
    Invalid,
}

/// IPv4 clients on IPv6 sockets match IPv4 patterns, as in HAProxy.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

fn pick_occurrence<T>(all: Vec<T>, occ: i64) -> Option<T> {
    let len = all.len() as i64;
    let index = if occ < 0 { len + occ } else { occ - 1 };
    if index < 0 || index >= len {
        return None;
    }
    all.into_iter().nth(index as usize)
}

/// Values of header `name` (lowercase), split on commas when `split`;
/// borrowed from the request unless a value is not UTF-8.
pub fn header_values<'r>(
    req: &'r dyn RequestFacts,
    name: &str,
    split: bool,
    f: &mut dyn FnMut(Cow<'r, str>),
) {
    req.for_each_header(&mut |n, value| {
        if n == name {
            for_each_part(String::from_utf8_lossy(value), split.then_some(','), f);
        }
    });
}

/// `text`'s parts split on `separator` (the whole of it with none),
/// trimmed; borrowed from `text` where it borrows.
fn for_each_part<'r>(text: Cow<'r, str>, separator: Option<char>, f: &mut dyn FnMut(Cow<'r, str>)) {
    match (text, separator) {
        (Cow::Borrowed(text), Some(sep)) => {
            text.split(sep).for_each(|p| f(Cow::Borrowed(p.trim())))
        }
        (Cow::Borrowed(text), None) => f(Cow::Borrowed(text.trim())),
        (Cow::Owned(text), Some(sep)) => text
            .split(sep)
            .for_each(|p| f(Cow::Owned(p.trim().to_owned()))),
        (Cow::Owned(text), None) => f(Cow::Owned(text.trim().to_owned())),
    }
}

/// The value of every cookie of the `Cookie` headers (of that name, with
/// `name`), in order, cut as HAProxy cuts them ([`crate::cookie`]); values
/// borrowed from the request unless not UTF-8.
pub fn cookies<'r>(req: &'r dyn RequestFacts, name: Option<&str>, f: &mut dyn FnMut(Cow<'r, str>)) {
    req.for_each_header(&mut |n, value| {
        if n != "cookie" {
            return;
        }
        match String::from_utf8_lossy(value) {
            Cow::Borrowed(text) => {
                for_each_cookie(text, name, &mut |_, v| f(Cow::Borrowed(v)));
            }
            Cow::Owned(text) => {
                for_each_cookie(&text, name, &mut |_, v| f(Cow::Owned(v.to_owned())));
            }
        }
    });
}

/// The value a fetch yields as a sample expression (log-format,
/// `use_backend %[…]`) reads it: the last one (the last occurrence of a
/// header or a named cookie), except for a cookie fetch without a name,
/// which HAProxy answers with the first cookie's value.
pub fn last_value<'r>(
    fetch: &Fetch,
    req: &'r dyn RequestFacts,
    auth: &dyn Fn(usize, &dyn RequestFacts) -> AuthResult,
) -> Option<Value<'r>> {
    let first_wanted = matches!(fetch, Fetch::Cook { name: None });
    let mut picked = None;
    fetch.values(req, auth, &mut |v| {
        if !(first_wanted && picked.is_some()) {
            picked = Some(v)
        }
    });
    picked
}
