//! One log line per request, as HAProxy writes it at the end of the
//! response: `option httplog`, `option httplog clf`, `option tcplog`, a
//! custom `log-format`, or HAProxy's default "Connect from …" line, sent to
//! the frontend's `log` targets (and the global ones with `log global`).

use std::sync::Arc;

use anyhow::Context;
use switchyard_grammar::ast::global::Global;
use switchyard_grammar::ast::log_format::{LogFormat, LogFormatPart};
use switchyard_grammar::ast::proxy::{Proxy, Switch};
use switchyard_grammar::{Span, Word};

use super::record::{render, LogRecord, HTTPLOG, HTTPLOG_CLF, TCPLOG};
use super::sink::LogSink;

/// HAProxy's line when no log format option is set.
const DEFAULT_FORMAT: &str = "Connect from %ci:%cp to %fi:%fp (%ft/HTTP)";
/// The same for a TCP frontend.
const DEFAULT_FORMAT_TCP: &str = "Connect from %ci:%cp to %fi:%fp (%ft/TCP)";

pub struct RequestLogger {
    sinks: Vec<LogSink>,
    format: LogFormat,
    /// What the format reports that costs something to know.
    pub needs: Needs,
    /// `option log-separate-errors`: lines that tell of trouble are sent
    /// at level `err` instead of `info`.
    separate_errors: bool,
    /// `option logasap`: the line goes out with the response head.
    early: bool,
    /// The frontend's captures, taken for the line.
    pub captures: Option<Arc<super::capture::CaptureSpec>>,
}

/// The fields of a format that are worth knowing about before the line
/// is written: each is gathered only when the format names it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Needs {
    /// `%ac`, `%fc`: the connections are counted (`connection_counts`).
    pub connections: bool,
    /// `%bc`, `%sc`: the backend's and the server's requests are read.
    pub backend_load: bool,
    /// `%B`, `%U`: the message heads are measured (`htx_size`).
    pub bytes: bool,
}

impl Needs {
    pub fn of(format: &LogFormat) -> Needs {
        let mut needs = Needs::default();
        for part in &format.parts {
            if let LogFormatPart::Variable { name, .. } = part {
                match name.as_str() {
                    "ac" | "fc" => needs.connections = true,
                    "bc" | "sc" => needs.backend_load = true,
                    "B" | "U" => needs.bytes = true,
                    _ => {}
                }
            }
        }
        needs
    }
}

/// What a connection knows of the connections open with it, for `%ac`
/// and `%fc` (counted by the front end: `front/connection_counts.rs`).
pub trait OpenConnections: Send + Sync {
    /// `%ac`: connections open in the process (this one included).
    fn process(&self) -> u64;
    /// `%fc`: connections open on the frontend (this one included).
    fn frontend(&self) -> u64;
}

/// Syslog levels.
const INFO: u8 = 6;
const ERR: u8 = 3;

impl RequestLogger {
    /// The logger of frontend `proxy`, or `None` when it logs nowhere.
    pub fn for_frontend(
        proxy: &Proxy,
        global: &Global,
    ) -> anyhow::Result<Option<Arc<RequestLogger>>> {
        let sinks = LogSink::open_for_proxy(proxy, global).context("log target")?;
        if sinks.is_empty() {
            return Ok(None);
        }
        let format = match &proxy.log_format {
            Some(custom) => custom.format.clone(),
            None => {
                let tcp = proxy.mode() == switchyard_grammar::ast::proxy::Mode::Tcp;
                let text = if tcp && (proxy.option(Switch::HttpLog) || proxy.option(Switch::TcpLog))
                {
                    // HAProxy falls back to tcplog for httplog in TCP mode.
                    TCPLOG
                } else if proxy.option(Switch::HttpLogClf) {
                    HTTPLOG_CLF
                } else if proxy.option(Switch::HttpLog) {
                    HTTPLOG
                } else if proxy.option(Switch::TcpLog) {
                    TCPLOG
                } else if tcp {
                    DEFAULT_FORMAT_TCP
                } else {
                    DEFAULT_FORMAT
                };
                LogFormat::parse(&Word::new(text, Span::default()))
                    .map_err(|d| anyhow::anyhow!(d.message))?
            }
        };
        Ok(Some(Arc::new(RequestLogger {
            sinks,
            needs: Needs::of(&format),
            format,
            separate_errors: proxy.option(Switch::LogSeparateErrors),
            early: proxy.option(Switch::LogAsap),
            captures: super::capture::CaptureSpec::of(&proxy.captures),
        })))
    }

    /// `option logasap`: whether lines are written when the response head
    /// is sent rather than at the end of the body.
    pub fn early(&self) -> bool {
        self.early
    }

    pub fn log(&self, record: &LogRecord) {
        // `%[…]` samples are refused at startup until logs can evaluate them.
        let line = render(&self.format, record, &|_| None);
        let level = if self.separate_errors && record.is_error() {
            ERR
        } else {
            INFO
        };
        for sink in &self.sinks {
            sink.send(level, &line);
        }
    }
}
