//! Time converters: `http_date` and `utime` turn a date (seconds since
//! the epoch, as `date()` gives it) into text.

use std::borrow::Cow;
use std::time::{Duration, UNIX_EPOCH};

use super::args::opt_int_arg;
use crate::value::{SampleType, Value};

/// A time converter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Time {
    /// `http_date([offset[,unit]])`: an IMF-fixdate (RFC 7231).
    HttpDate {
        /// Added to the input, in `unit`.
        offset: i64,
        /// How many of the input's unit a second holds (1, 1000, 1000000).
        per_second: i64,
    },
    /// `utime(format[,offset])`: `strftime` in UTC.
    Utime {
        /// The format, with `strftime`'s conversions.
        format: String,
        /// Seconds added to the input.
        offset: i64,
    },
}

impl Time {
    /// The converter called `name`, or `None` when it is not of this family.
    pub fn parse(name: &str, args: &[String]) -> Option<Result<Time, String>> {
        Some(match name {
            "http_date" => (|| {
                let offset = opt_int_arg(args, 0, 0, "an offset")?;
                let per_second = match args.get(1).map(String::as_str).unwrap_or("s") {
                    "" | "s" => 1,
                    "ms" => 1_000,
                    "us" => 1_000_000,
                    other => return Err(format!("'{other}' is not a unit (s, ms, us)")),
                };
                Ok(Time::HttpDate { offset, per_second })
            })(),
            "utime" => (|| {
                let format = args
                    .first()
                    .filter(|f| !f.is_empty())
                    .ok_or("missing argument: a strftime format")?
                    .clone();
                if let Some(bad) = unknown_conversion(&format) {
                    return Err(format!("unsupported conversion '%{bad}' in the format"));
                }
                Ok(Time::Utime {
                    format,
                    offset: opt_int_arg(args, 1, 0, "an offset in seconds")?,
                })
            })(),
            _ => return None,
        })
    }

    /// (input, output) types.
    pub fn types(&self) -> (SampleType, SampleType) {
        (SampleType::Sint, SampleType::Str)
    }

    /// The converter applied to a date.
    pub fn apply<'r>(&self, value: Value<'r>) -> Option<Value<'r>> {
        let Value::Int(n) = value else { return None };
        let text = match self {
            Time::HttpDate { offset, per_second } => {
                let seconds = n.checked_add(*offset)?.div_euclid(*per_second);
                // IMF-fixdate has four digits of year.
                if seconds >= 253_402_300_800 {
                    return None;
                }
                let when =
                    UNIX_EPOCH.checked_add(Duration::from_secs(u64::try_from(seconds).ok()?))?;
                httpdate::fmt_http_date(when)
            }
            Time::Utime { format, offset } => strftime_utc(format, n.checked_add(*offset)?)?,
        };
        Some(Value::Str(Cow::Owned(text)))
    }
}

const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const CONVERSIONS: &str = "YmdHMSjaAbBeyzZsTDFpI%";

/// The first conversion of `format` that [`strftime_utc`] does not write.
fn unknown_conversion(format: &str) -> Option<char> {
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c == '%' {
            match chars.next() {
                Some(k) if CONVERSIONS.contains(k) => {}
                Some(k) => return Some(k),
                None => return Some(' '),
            }
        }
    }
    None
}

/// `strftime` in UTC for the conversions in [`CONVERSIONS`].
pub(crate) fn strftime_utc(format: &str, seconds: i64) -> Option<String> {
    let days = seconds.div_euclid(86_400);
    let secs = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let (hour, minute, second) = (secs / 3600, secs / 60 % 60, secs % 60);
    let weekday = (days + 4).rem_euclid(7) as usize;
    let yday = days - days_from_civil(year, 1, 1) + 1;
    let month_name = MONTHS[(month - 1) as usize];
    let mut out = String::new();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let piece = match chars.next()? {
            'Y' => year.to_string(),
            'y' => format!("{:02}", year.rem_euclid(100)),
            'm' => format!("{month:02}"),
            'd' => format!("{day:02}"),
            'e' => format!("{day:2}"),
            'H' => format!("{hour:02}"),
            'I' => format!("{:02}", (hour + 11) % 12 + 1),
            'p' => (if hour < 12 { "AM" } else { "PM" }).to_owned(),
            'M' => format!("{minute:02}"),
            'S' => format!("{second:02}"),
            'j' => format!("{yday:03}"),
            'a' => DAYS[weekday].to_owned(),
            'A' => full_day(weekday).to_owned(),
            'b' => month_name.to_owned(),
            'B' => full_month(month).to_owned(),
            'z' => "+0000".to_owned(),
            'Z' => "UTC".to_owned(),
            's' => seconds.to_string(),
            'T' => format!("{hour:02}:{minute:02}:{second:02}"),
            'D' => format!("{month:02}/{day:02}/{:02}", year.rem_euclid(100)),
            'F' => format!("{year}-{month:02}-{day:02}"),
            '%' => "%".to_owned(),
            _ => return None,
        };
        out.push_str(&piece);
    }
    Some(out)
}

fn full_day(weekday: usize) -> &'static str {
    [
        "Sunday",
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
    ][weekday]
}

fn full_month(month: i64) -> &'static str {
    [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ][(month - 1) as usize]
}

/// The civil date (year, month, day) of a day count since 1970-01-01
/// (Howard Hinnant's algorithm); the gateway's log dates use it too.
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// The day count since 1970-01-01 of a civil date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}
