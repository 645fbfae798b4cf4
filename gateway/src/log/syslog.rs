//! Syslog framing as HAProxy writes it: RFC 3164 (the default), RFC 5424,
//! and the `raw`, `short`, `timed`, `iso` and `priority` formats.

use std::time::SystemTime;

use switchyard_grammar::ast::log::{LogWireFormat, FACILITIES, LEVELS};

/// Facility number (`local2` → 18).
pub fn facility_code(name: &str) -> u8 {
    FACILITIES.iter().position(|f| *f == name).unwrap_or(16) as u8
}

/// Severity number (`info` → 6).
pub fn level_code(name: &str) -> u8 {
    LEVELS.iter().position(|l| *l == name).unwrap_or(6) as u8
}

/// What goes around one message.
pub struct Frame<'a> {
    pub format: LogWireFormat,
    pub facility: u8,
    pub level: u8,
    pub hostname: &'a str,
    pub tag: &'a str,
    pub pid: u32,
    pub time: SystemTime,
}

impl Frame<'_> {
    /// The datagram (or line, without its newline) for `message`.
    pub fn encode(&self, message: &str) -> String {
        let pri = u16::from(self.facility) * 8 + u16::from(self.level);
        let (tag, pid) = (self.tag, self.pid);
        match self.format {
            LogWireFormat::Raw => message.to_owned(),
            LogWireFormat::Short => format!("<{pri}>{message}"),
            LogWireFormat::Priority => format!("<{pri}>{message}"),
            LogWireFormat::Timed => format!("<{pri}>{} {message}", rfc3164_time(self.time)),
            LogWireFormat::Iso => format!("{} {message}", iso_time(self.time)),
            LogWireFormat::Rfc3164 => {
                let host = if self.hostname.is_empty() {
                    String::new()
                } else {
                    format!("{} ", self.hostname)
                };
                format!(
                    "<{pri}>{} {host}{tag}[{pid}]: {message}",
                    rfc3164_time(self.time)
                )
            }
            LogWireFormat::Rfc5424 => {
                let host = if self.hostname.is_empty() {
                    "-"
                } else {
                    self.hostname
                };
                format!(
                    "<{pri}>1 {} {host} {tag} {pid} - - {message}",
                    iso_time(self.time)
                )
            }
        }
    }
}

/// Civil date from days since 1970-01-01.
pub fn civil(days: i64) -> (i64, u32, u32) {
    let (y, m, d) = switchyard_rules::converter::civil_from_days(days);
    (y, m as u32, d as u32)
}

/// Broken-down UTC time: (year, month, day, hour, minute, second, millisecond).
pub fn utc_parts(time: SystemTime) -> (i64, u32, u32, u32, u32, u32, u32) {
    let since = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = since.as_secs() as i64;
    let (y, mo, d) = civil(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400) as u32;
    (
        y,
        mo,
        d,
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        since.subsec_millis(),
    )
}

pub const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `Nov 25 07:34:24` (the day padded with a space, as RFC 3164 wants).
pub fn rfc3164_time(time: SystemTime) -> String {
    let (_, mo, d, h, mi, s, _) = utc_parts(time);
    format!("{} {d:>2} {h:02}:{mi:02}:{s:02}", MONTHS[(mo - 1) as usize])
}

/// `2026-11-25T07:34:24.123Z`.
pub fn iso_time(time: SystemTime) -> String {
    let (y, mo, d, h, mi, s, ms) = utc_parts(time);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_millis(secs * 1000 + 123)
    }

    #[test]
    fn dates_are_right_across_leap_years() {
        // 2024-02-29 12:00:00 UTC
        assert_eq!(iso_time(at(1_709_208_000)), "2024-02-29T12:00:00.123Z");
        assert_eq!(rfc3164_time(at(1_709_208_000)), "Feb 29 12:00:00");
        assert_eq!(rfc3164_time(at(0)), "Jan  1 00:00:00");
    }

    #[test]
    fn the_tutorial_target_local2_info_has_priority_150() {
        let frame = Frame {
            format: LogWireFormat::Rfc3164,
            facility: facility_code("local2"),
            level: level_code("info"),
            hostname: "",
            tag: "haproxy",
            pid: 42,
            time: at(0),
        };
        assert_eq!(
            frame.encode("hello"),
            "<150>Jan  1 00:00:00 haproxy[42]: hello"
        );
        let frame = Frame {
            format: LogWireFormat::Rfc5424,
            ..frame
        };
        assert_eq!(
            frame.encode("hello"),
            "<150>1 1970-01-01T00:00:00.123Z - haproxy 42 - - hello"
        );
        let frame = Frame {
            format: LogWireFormat::Raw,
            ..frame
        };
        assert_eq!(frame.encode("hello"), "hello");
    }
}
