//! `log` targets and `log-format`.

use crate::ast::address::Address;
use crate::ast::log_format::LogFormat;
use crate::diagnostic::Diagnostic;
use crate::span::Span;
use crate::suggest::did_you_mean;
use crate::word::Word;

/// The syslog facilities a `log` line may name, in their number order.
pub const FACILITIES: &[&str] = &[
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "auth2",
    "ftp", "ntp", "audit", "alert", "cron2", "local0", "local1", "local2", "local3", "local4",
    "local5", "local6", "local7",
];
/// The syslog levels, from the most to the least severe (their numbers).
pub const LEVELS: &[&str] = &[
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
];

/// Where a `log` line sends its messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogDestination {
    /// An IP address (UDP syslog, port 514 by default).
    Udp(Address),
    /// A unix datagram socket path (e.g. `/dev/log`).
    Unix(Address),
    /// `stdout`: the process's standard output.
    Stdout,
    /// `stderr`: the process's standard error.
    Stderr,
}

/// How a log message is framed on the wire (`format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogWireFormat {
    /// `rfc3164`: `<PRI>` timestamp, host, tag and pid (the default).
    #[default]
    Rfc3164,
    /// `rfc5424`: `<PRI>1`, ISO timestamp, host, tag, pid and structured data.
    Rfc5424,
    /// `raw`: the message alone.
    Raw,
    /// `short`: `<PRI>` and the message.
    Short,
    /// `timed`: `<PRI>`, an RFC 3164 timestamp and the message.
    Timed,
    /// `iso`: an ISO 8601 timestamp and the message.
    Iso,
    /// `priority`: `<PRI>` and the message.
    Priority,
}

/// `log ADDR [len N] [format F] FACILITY [LEVEL [MINLEVEL]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogTarget {
    /// Where the messages go.
    pub destination: LogDestination,
    /// The syslog facility (one of [`FACILITIES`]).
    pub facility: String,
    /// The least severe level sent (messages less severe are dropped);
    /// `None`: all are sent.
    pub level: Option<String>,
    /// The most severe level a message is sent with (more severe ones are
    /// sent at this level); `None`: levels are kept.
    pub minlevel: Option<String>,
    /// The framing (`format`).
    pub format: LogWireFormat,
    /// `len N`: messages are cut to this length.
    pub max_len: Option<u64>,
    /// `sample RANGES:SIZE`: of every `size` messages, only those at the
    /// positions in `ranges` (1-based, inclusive) go to this target.
    pub sample: Option<LogSample>,
    /// Where the line is written.
    pub span: Span,
}

/// `sample 1,3-4:5`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSample {
    /// The positions (1-based, inclusive) of the messages sent.
    pub ranges: Vec<(u64, u64)>,
    /// The length of the cycle the positions repeat in.
    pub size: u64,
}

impl LogSample {
    fn parse(word: &Word) -> Result<LogSample, Diagnostic> {
        let invalid = |why: &str| {
            Diagnostic::error(
                word.span,
                format!("invalid log sample '{}': {why}", word.text),
            )
            .with_help("write RANGES:SIZE, e.g. 'sample 1,3-4:5' (positions from 1 to SIZE)")
        };
        let (ranges, size) = word
            .text
            .rsplit_once(':')
            .ok_or_else(|| invalid("no ':SIZE'"))?;
        let size: u64 = size
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| invalid("the size is not a positive number"))?;
        let mut parsed = Vec::new();
        for range in ranges.split(',') {
            let (low, high) = range.split_once('-').unwrap_or((range, range));
            let bound = |n: &str| n.parse::<u64>().ok().filter(|n| (1..=size).contains(n));
            match (bound(low), bound(high)) {
                (Some(low), Some(high)) if low <= high => parsed.push((low, high)),
                _ => {
                    return Err(invalid(&format!(
                        "'{range}' is not a range within 1-{size}"
                    )))
                }
            }
        }
        Ok(LogSample {
            ranges: parsed,
            size,
        })
    }

    /// Whether the `n`-th message (counted from 0) is sent.
    pub fn takes(&self, n: u64) -> bool {
        let position = n % self.size + 1;
        self.ranges
            .iter()
            .any(|(low, high)| (*low..=*high).contains(&position))
    }
}

/// The `log` lines of a proxy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogSetting {
    /// The proxy's own `log` lines.
    pub targets: Vec<LogTarget>,
    /// `log global`: also use the global section's targets.
    pub global: Option<Span>,
}

/// A `log-format` (or similar) line with its parsed format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFormatSetting {
    /// The parsed format string.
    pub format: LogFormat,
    /// Where the line is written.
    pub span: Span,
}

impl LogTarget {
    /// Parses the words after `log` (not `log global`).
    pub fn parse(keyword: &Word, args: &[Word]) -> Result<LogTarget, Diagnostic> {
        use crate::ast::address::AddressUse;
        let Some((dest, mut rest)) = args.split_first() else {
            return Err(Diagnostic::error(
                keyword.span,
                "'log' expects an address and a facility (missing argument)",
            )
            .with_help("e.g. 'log 127.0.0.1 local2 info' or 'log stdout format raw local0'"));
        };
        let destination = match dest.text.as_str() {
            "stdout" => LogDestination::Stdout,
            "stderr" => LogDestination::Stderr,
            t if t.starts_with("ring@") => {
                return Err(Diagnostic::error(
                    dest.span,
                    "'ring@' log targets are not supported by switchyard yet",
                ))
            }
            t => {
                let address = Address::parse(dest, t, AddressUse::Log)?;
                if matches!(address.host, crate::ast::address::Host::Path(_)) {
                    LogDestination::Unix(address)
                } else {
                    LogDestination::Udp(address)
                }
            }
        };
        let mut format = LogWireFormat::default();
        let mut max_len = None;
        let mut sample = None;
        loop {
            match rest {
                [k, v, tail @ ..] if k.is("format") => {
                    format = match v.text.as_str() {
                        "rfc3164" => LogWireFormat::Rfc3164,
                        "rfc5424" => LogWireFormat::Rfc5424,
                        "raw" => LogWireFormat::Raw,
                        "short" => LogWireFormat::Short,
                        "timed" => LogWireFormat::Timed,
                        "iso" => LogWireFormat::Iso,
                        "priority" => LogWireFormat::Priority,
                        _ => {
                            return Err(Diagnostic::error(
                                v.span,
                                format!("unknown log format '{}'", v.text),
                            )
                            .with_help("use rfc3164, rfc5424, raw, short, timed, iso or priority"))
                        }
                    };
                    rest = tail;
                }
                [k, v, tail @ ..] if k.is("len") => {
                    max_len = Some(crate::ast::value::parse_uint(v, "log length", 65535)?);
                    rest = tail;
                }
                [k, v, tail @ ..] if k.is("sample") => {
                    sample = Some(LogSample::parse(v)?);
                    rest = tail;
                }
                [k, ..] if k.is("profile") => {
                    return Err(Diagnostic::error(
                        k.span,
                        format!("log option '{}' is not supported by switchyard yet", k.text),
                    ))
                }
                _ => break,
            }
        }
        let Some((facility, levels)) = rest.split_first() else {
            return Err(Diagnostic::error(
                dest.span,
                "'log' expects a facility after the address (missing argument)",
            )
            .with_help("e.g. 'local0'"));
        };
        if !FACILITIES.contains(&facility.text.as_str()) {
            let diag = Diagnostic::error(
                facility.span,
                format!("unknown log facility '{}'", facility.text),
            );
            return Err(match did_you_mean(&facility.text, FACILITIES) {
                Some(s) => diag.with_help(format!("did you mean '{s}'?")),
                None => diag.with_help(
                    "use one of kern, user, mail, daemon, auth, syslog, local0 … local7",
                ),
            });
        }
        let level = |w: &Word| -> Result<String, Diagnostic> {
            if LEVELS.contains(&w.text.as_str()) {
                Ok(w.text.clone())
            } else {
                Err(
                    Diagnostic::error(w.span, format!("unknown log level '{}'", w.text))
                        .with_help("use emerg, alert, crit, err, warning, notice, info or debug"),
                )
            }
        };
        let (level_v, minlevel) = match levels {
            [] => (None, None),
            [l] => (Some(level(l)?), None),
            [l, m] => (Some(level(l)?), Some(level(m)?)),
            [_, _, extra, ..] => {
                return Err(Diagnostic::error(
                    extra.span,
                    format!("unexpected word '{}' in 'log'", extra.text),
                ))
            }
        };
        let end = args.last().map(|w| w.span).unwrap_or(keyword.span);
        Ok(LogTarget {
            destination,
            facility: facility.text.clone(),
            level: level_v,
            minlevel,
            format,
            max_len,
            sample,
            span: keyword.span.to(end),
        })
    }
}
