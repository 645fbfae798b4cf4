//! One request's log record and HAProxy's `%` variables over it, so that
//! `option httplog`, `option tcplog`, `option httplog clf` and custom
//! `log-format` strings all render through one function.

use std::fmt::Write;
use std::net::SocketAddr;
use std::time::SystemTime;

use switchyard_grammar::ast::log_format::{LogFormat, LogFormatPart};
use switchyard_grammar::ast::sample::SampleExpr;

use super::syslog::{utc_parts, MONTHS};

/// HAProxy's definition of `option httplog`.
pub const HTTPLOG: &str = "%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r";
/// HAProxy's definition of `option httplog clf`.
pub const HTTPLOG_CLF: &str = "%{+Q}o %{-Q}ci - - [%trg] %r %ST %B \"\" \"\" %cp %ms %ft %b %s %TR %Tw %Tc %Tr %Ta %tsc %ac %fc %bc %sc %rc %sq %bq %CC %CS %hrl %hsl";
/// HAProxy's definition of `option tcplog`.
pub const TCPLOG: &str = "%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq";

/// What happened to one request, in HAProxy's terms. Times are in
/// milliseconds; `None` is printed as HAProxy prints "never happened" (-1).
#[derive(Debug, Clone)]
pub struct LogRecord {
    pub client: SocketAddr,
    pub frontend_addr: SocketAddr,
    pub accepted_at: SystemTime,
    pub request_at: SystemTime,
    pub frontend: String,
    /// The client connection is TLS: `%ft` is the frontend name and `~`.
    pub ssl: bool,
    pub backend: String,
    pub server: String,
    pub server_addr: Option<SocketAddr>,
    /// %TR, %Tw, %Tc, %Tr, %Ta, %Tt.
    pub t_request: Option<u64>,
    pub t_queue: Option<u64>,
    pub t_connect: Option<u64>,
    pub t_response: Option<u64>,
    pub t_active: u64,
    pub t_total: u64,
    pub status: Option<u16>,
    pub bytes_read: u64,
    pub bytes_uploaded: u64,
    /// `option logasap`: the line is written when the response head is
    /// sent, so `%Ta`, `%Tt` and `%B` are only lower bounds, marked `+`
    /// as HAProxy marks them.
    pub early: bool,
    /// The two termination-state letters (`--`, `sD`, `SC`, `CD`…).
    pub termination: [char; 2],
    /// `%tsc`'s cookie letters: the request's (`N`, `I`, `D`, `V`, `E`,
    /// `O`) and the response's (`N`, `I`, `U`, `P`, `R`, `D`); `--`
    /// without `cookie` in the backend.
    pub persistence: [char; 2],
    pub retries: u32,
    pub redispatched: bool,
    pub conns_process: u64,
    pub conns_frontend: u64,
    pub conns_backend: u64,
    pub conns_server: u64,
    pub server_queue: u64,
    pub backend_queue: u64,
    pub method: String,
    /// The request target as received.
    pub uri: String,
    pub version: String,
    /// The frontend's captures (`%hr`, `%hs`, `%CC`, `%CS`); `None` when
    /// it has none.
    pub captures: Option<Box<super::capture::Captured>>,
    pub pid: u32,
    /// The request head was refused before it could be read: the request
    /// variables (`%r`, `%HM`, `%HU`, `%HV`) are HAProxy's `<BADREQ>`.
    pub bad_request: bool,
}

impl LogRecord {
    /// Whether the line tells of trouble, as HAProxy judges it for
    /// `option log-separate-errors`: a redispatch, a termination cause
    /// other than none or the proxy's own (`L`), retries with no error, or
    /// an HTTP status of 500 or more.
    pub fn is_error(&self) -> bool {
        self.redispatched
            || !matches!(self.termination[0], '-' | 'L')
            || self.retries > 0
            || self.status.is_some_and(|s| s >= 500)
    }

    /// A record for a request just received; the request path fills in the
    /// rest as it goes.
    pub fn new(
        client: SocketAddr,
        frontend_addr: SocketAddr,
        frontend: &str,
        method: &str,
        uri: &str,
        version: &str,
    ) -> LogRecord {
        let now = SystemTime::now();
        LogRecord {
            client,
            frontend_addr,
            accepted_at: now,
            request_at: now,
            frontend: frontend.to_owned(),
            ssl: false,
            backend: frontend.to_owned(),
            server: "<NOSRV>".into(),
            server_addr: None,
            t_request: Some(0),
            t_queue: None,
            t_connect: None,
            t_response: None,
            t_active: 0,
            t_total: 0,
            status: None,
            bytes_read: 0,
            bytes_uploaded: 0,
            early: false,
            termination: ['-', '-'],
            persistence: ['-', '-'],
            retries: 0,
            redispatched: false,
            conns_process: 1,
            conns_frontend: 1,
            conns_backend: 0,
            conns_server: 0,
            server_queue: 0,
            backend_queue: 0,
            method: method.to_owned(),
            uri: uri.to_owned(),
            version: version.to_owned(),
            captures: None,
            pid: std::process::id(),
            bad_request: false,
        }
    }

    /// The record of a request head the parser refused (HAProxy's
    /// `<BADREQ>` line): answered 400 by the frontend itself (`PR`), no
    /// backend, no server, no time to read a request (`%TR` -1); the
    /// connection was accepted `waited` ago (`%Ta`, `%Tt`).
    pub fn bad_request(
        client: SocketAddr,
        frontend_addr: SocketAddr,
        frontend: &str,
        waited: std::time::Duration,
    ) -> LogRecord {
        let mut record = LogRecord::new(client, frontend_addr, frontend, "", "", "");
        let since = SystemTime::now()
            .checked_sub(waited)
            .unwrap_or(record.accepted_at);
        record.accepted_at = since;
        record.request_at = since;
        record.t_request = None;
        record.t_active = waited.as_millis() as u64;
        record.t_total = record.t_active;
        record.status = Some(400);
        record.termination = ['P', 'R'];
        record.bad_request = true;
        record
    }
}

/// Renders `format` for `record`; `sample` evaluates `%[…]` expressions.
pub fn render(
    format: &LogFormat,
    record: &LogRecord,
    sample: &dyn Fn(&SampleExpr) -> Option<String>,
) -> String {
    let mut out = String::with_capacity(160);
    for part in &format.parts {
        match part {
            LogFormatPart::Literal(text) => out.push_str(text),
            LogFormatPart::Sample { expr, flags } => {
                let value = sample(expr);
                push_value(&mut out, value.as_deref(), flags.as_deref());
            }
            LogFormatPart::Variable { name, flags, .. } => {
                if let ("hr" | "hs" | "hrl" | "hsl", captures) = (name.as_str(), &record.captures) {
                    let quote = flags.as_deref().is_some_and(|f| f.contains("+Q"));
                    let (response, list) = (name.starts_with("hs"), name.ends_with('l'));
                    let printed = captures
                        .as_ref()
                        .is_some_and(|c| c.render(response, list, quote, &mut out));
                    if !printed && out.ends_with(' ') {
                        // No slot on that side: HAProxy prints nothing, not
                        // even the separator before the field.
                        out.pop();
                    }
                    continue;
                }
                let value = variable(name, record);
                push_value(&mut out, value.as_deref(), flags.as_deref());
            }
        }
    }
    out
}

/// `%{+Q}` quotes the value; a missing value prints `-`.
fn push_value(out: &mut String, value: Option<&str>, flags: Option<&str>) {
    let quote = flags.is_some_and(|f| f.contains("+Q"));
    if quote {
        out.push('"');
    }
    match value {
        Some(v) => out.push_str(v),
        None if quote => {}
        None => out.push('-'),
    }
    if quote {
        out.push('"');
    }
}

/// A duration or count still growing when an early (`logasap`) line is
/// written: `+` before it.
fn lower_bound(r: &LogRecord, value: u64) -> String {
    if r.early {
        format!("+{value}")
    } else {
        value.to_string()
    }
}

fn ms(value: Option<u64>) -> String {
    value.map(|v| v.to_string()).unwrap_or_else(|| "-1".into())
}

/// `25/Nov/2026:07:34:24.123`
fn date(time: SystemTime, millis: bool) -> String {
    let (y, mo, d, h, mi, s, ms) = utc_parts(time);
    let mut text = format!(
        "{d:02}/{}/{y:04}:{h:02}:{mi:02}:{s:02}",
        MONTHS[(mo - 1) as usize]
    );
    if millis {
        let _ = write!(text, ".{ms:03}");
    }
    text
}

fn variable(name: &str, r: &LogRecord) -> Option<String> {
    Some(match name {
        "ci" => r.client.ip().to_string(),
        "cp" => r.client.port().to_string(),
        "fi" => r.frontend_addr.ip().to_string(),
        "fp" => r.frontend_addr.port().to_string(),
        "f" => r.frontend.clone(),
        "ft" if r.ssl => format!("{}~", r.frontend),
        "ft" => r.frontend.clone(),
        "b" => r.backend.clone(),
        "s" => r.server.clone(),
        "si" => r.server_addr?.ip().to_string(),
        "sp" => r.server_addr?.port().to_string(),
        "t" => date(r.accepted_at, true),
        "tr" => date(r.request_at, true),
        "trg" => format!("{} +0000", date(r.request_at, false)),
        "T" => format!("{} +0000", date(r.accepted_at, false)),
        "ms" => format!("{:03}", utc_parts(r.accepted_at).6),
        "TR" => ms(r.t_request),
        "Tw" => ms(r.t_queue),
        "Tc" => ms(r.t_connect),
        "Tr" => ms(r.t_response),
        "Ta" => lower_bound(r, r.t_active),
        "Tt" => lower_bound(r, r.t_total),
        "Th" | "Ti" => "0".into(),
        "Tq" => ms(r.t_request),
        "ST" => r
            .status
            .map(|s| s.to_string())
            .unwrap_or_else(|| "-1".into()),
        "B" => lower_bound(r, r.bytes_read),
        "U" => r.bytes_uploaded.to_string(),
        "CC" => r.captures.as_ref()?.request_cookie.clone()?,
        "CS" => r.captures.as_ref()?.response_cookie.clone()?,
        "ts" => r.termination.iter().collect(),
        "tsc" => [r.termination, r.persistence].concat().iter().collect(),
        "ac" => r.conns_process.to_string(),
        "fc" => r.conns_frontend.to_string(),
        "bc" => r.conns_backend.to_string(),
        "sc" => r.conns_server.to_string(),
        "rc" => {
            if r.redispatched {
                format!("+{}", r.retries)
            } else {
                r.retries.to_string()
            }
        }
        "sq" => r.server_queue.to_string(),
        "bq" => r.backend_queue.to_string(),
        "r" | "HM" | "HU" | "HV" if r.bad_request => "<BADREQ>".into(),
        "r" => format!("{} {} {}", r.method, r.uri, r.version),
        "HM" => r.method.clone(),
        "HU" => r.uri.clone(),
        "HP" => r.uri.split('?').next().unwrap_or_default().to_owned(),
        // The path alone, an absolute-form target's scheme and authority
        // left out.
        "HPO" => switchyard_rules::request::path_of(&r.uri).to_owned(),
        "HQ" => r
            .uri
            .find('?')
            .map(|i| r.uri[i..].to_owned())
            .unwrap_or_default(),
        "HV" => r.version.clone(),
        "pid" => r.pid.to_string(),
        "o" => return None,
        _ => return None,
    })
}

/// The variables [`render`] knows, for configuration checks.
pub const KNOWN_VARIABLES: &[&str] = &[
    "ci", "cp", "fi", "fp", "f", "ft", "b", "s", "si", "sp", "t", "tr", "trg", "T", "ms", "TR",
    "Tw", "Tc", "Tr", "Ta", "Tt", "Th", "Ti", "Tq", "ST", "B", "U", "CC", "CS", "ts", "tsc", "ac",
    "fc", "bc", "sc", "rc", "sq", "bq", "hr", "hs", "hrl", "hsl", "r", "HM", "HU", "HP", "HQ",
    "HV", "HPO", "pid", "o",
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use switchyard_grammar::{Span, Word};

    fn record() -> LogRecord {
        let t = SystemTime::UNIX_EPOCH + Duration::from_millis(1_709_208_000_123);
        let mut r = LogRecord::new(
            "127.0.0.1:41226".parse().unwrap(),
            "127.0.0.1:8080".parse().unwrap(),
            "fe",
            "GET",
            "/",
            "HTTP/1.1",
        );
        r.accepted_at = t;
        r.request_at = t;
        r.backend = "be".into();
        r.server = "s1".into();
        r.server_addr = Some("127.0.0.11:80".parse().unwrap());
        (r.t_queue, r.t_connect, r.t_response, r.t_active, r.t_total) =
            (Some(0), Some(1), Some(2), 3, 3);
        r.status = Some(200);
        r.bytes_read = 170;
        r.bytes_uploaded = 82;
        // A busy moment: six connections, four on this frontend, three
        // requests on the backend (one queued), one more on the server,
        // this one the second served from the backend's queue.
        (
            r.conns_process,
            r.conns_frontend,
            r.conns_backend,
            r.conns_server,
        ) = (6, 4, 3, 1);
        (r.server_queue, r.backend_queue) = (0, 2);
        r.pid = 7;
        r
    }

    #[test]
    fn uri_parts_of_an_absolute_form_target_are_haproxys() {
        let mut r = record();
        r.uri = "http://localhost/r/4?q=4".into();
        let part = |name| variable(name, &r).unwrap();
        assert_eq!(part("HU"), "http://localhost/r/4?q=4");
        assert_eq!(part("HP"), "http://localhost/r/4");
        assert_eq!(part("HPO"), "/r/4");
        assert_eq!(part("HQ"), "?q=4");
        r.uri = "/r/2?q=2".into();
        assert_eq!(variable("HPO", &r).unwrap(), "/r/2");
    }

    #[test]
    fn trouble_is_judged_as_haproxy_judges_it_for_log_separate_errors() {
        assert!(!record().is_error(), "a 200 with nothing to say");
        let with = |change: fn(&mut LogRecord)| {
            let mut r = record();
            change(&mut r);
            r.is_error()
        };
        assert!(with(|r| r.status = Some(503)));
        assert!(!with(|r| r.status = Some(404)));
        assert!(with(|r| r.redispatched = true));
        assert!(with(|r| r.retries = 1));
        assert!(with(|r| r.termination = ['s', 'H']));
        assert!(with(|r| r.termination = ['C', 'D']));
        // The proxy's own answer (a redirect, `http-request return`) is
        // no trouble.
        assert!(!with(|r| r.termination = ['L', 'R']));
    }

    #[test]
    fn httplog_matches_haproxys_layout() {
        let format = LogFormat::parse(&Word::new(HTTPLOG, Span::default())).unwrap();
        let line = render(&format, &record(), &|_| None);
        assert_eq!(line, "127.0.0.1:41226 [29/Feb/2024:12:00:00.123] fe be/s1 0/0/1/2/3 200 170 - - ---- 6/4/3/1/0 0/2 \"GET / HTTP/1.1\"");
        let mut retried = record();
        (retried.retries, retried.redispatched) = (2, true);
        let line = render(&format, &retried, &|_| None);
        assert!(line.contains(" 6/4/3/1/+2 0/2 "), "{line}");
    }

    #[test]
    fn a_refused_head_is_haproxys_badreq_line() {
        let format = LogFormat::parse(&Word::new(HTTPLOG, Span::default())).unwrap();
        let mut r = LogRecord::bad_request(
            "127.0.0.1:43560".parse().unwrap(),
            "127.0.0.1:8080".parse().unwrap(),
            "fe",
            Duration::ZERO,
        );
        r.accepted_at = SystemTime::UNIX_EPOCH + Duration::from_millis(1_709_208_000_123);
        r.request_at = r.accepted_at;
        // HAProxy 2.6.12's line for `GET / HTTP/1.1\r\nBad Header\r\n\r\n`.
        assert_eq!(
            render(&format, &r, &|_| None),
            "127.0.0.1:43560 [29/Feb/2024:12:00:00.123] fe fe/<NOSRV> -1/-1/-1/-1/0 400 0 - - PR-- 1/1/0/0/0 0/0 \"<BADREQ>\""
        );
        for name in ["HM", "HU", "HV"] {
            assert_eq!(variable(name, &r).unwrap(), "<BADREQ>");
        }
        assert!(r.is_error(), "sent at level err with log-separate-errors");
    }

    #[test]
    fn tls_frontend_name_has_a_tilde() {
        let format = LogFormat::parse(&Word::new("%ft %f", Span::default())).unwrap();
        let mut r = record();
        r.ssl = true;
        assert_eq!(render(&format, &r, &|_| None), "fe~ fe");
    }

    #[test]
    fn tcplog_and_samples() {
        let format = LogFormat::parse(&Word::new(TCPLOG, Span::default())).unwrap();
        assert_eq!(
            render(&format, &record(), &|_| None),
            "127.0.0.1:41226 [29/Feb/2024:12:00:00.123] fe be/s1 0/1/3 170 -- 6/4/3/1/0 0/2"
        );
        let format = LogFormat::parse(&Word::new(
            "host=%[req.hdr(host)] %{+Q}HM %U",
            Span::default(),
        ))
        .unwrap();
        assert_eq!(
            render(&format, &record(), &|_| Some("a.example".into())),
            "host=a.example \"GET\" 82"
        );
    }
}
