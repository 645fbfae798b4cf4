//! Judging an `expect` rule against raw bytes, for `tcp-check` rules and
//! the protocol checks (HAProxy 2.6's `tcpcheck_eval_expect`): wait while
//! the answer is shorter than the pattern or `min-recv` (and, without
//! `min-recv`, while it does not match yet), then pass or fail with the
//! rule's status and HAProxy's message. Nothing here reads a socket.

use switchyard_rules::check::protocol::Verdict;
use switchyard_rules::check::{Expect, Matcher, ProgramKind, Step};
use switchyard_rules::{RequestFacts, RuleSet};

/// HAProxy's check buffer: an answer this long is judged as it is.
pub const BUFFER: usize = 16 * 1024;

/// What one evaluation decided.
#[derive(Debug, PartialEq, Eq)]
pub enum Eval {
    /// More of the answer is needed.
    Wait,
    /// The rule passed; `info` is a protocol's own success message.
    Pass { info: Option<String> },
    Fail {
        status: String,
        info: Option<String>,
        code: Option<u16>,
    },
}

/// The check's code read from the answer's first three bytes (SMTP).
pub fn answer_code(expect: &Expect, answer: &[u8]) -> Option<u16> {
    if !expect.code_from_answer {
        return None;
    }
    std::str::from_utf8(answer.get(..3)?).ok()?.parse().ok()
}

/// Upper-case hexadecimal, as HAProxy's `dump_binary` writes bytes.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

/// Judges `step`'s `expect` against `answer`; `closed`: no more will come;
/// `last`: this is the sequence's last rule.
#[allow(clippy::too_many_arguments)]
pub fn judge(
    rules: &RuleSet,
    kind: ProgramKind,
    step: &Step,
    expect: &Expect,
    answer: &[u8],
    closed: bool,
    last: bool,
    facts: &dyn RequestFacts,
) -> Eval {
    let last_read = closed || answer.len() >= BUFFER;
    let fail = |matched: bool, info: Option<String>| {
        fail(rules, kind, step, expect, answer, matched, info, facts)
    };
    if !last_read {
        let short = match &expect.matcher {
            Matcher::Body(text) => answer.len() < text.len(),
            Matcher::Bytes(bytes) => answer.len() < bytes.len(),
            _ => false,
        };
        if short || (expect.min_recv > 0 && (answer.len() as i64) < expect.min_recv) {
            return Eval::Wait;
        }
    }
    let text = || String::from_utf8_lossy(answer);
    let matched = match &expect.matcher {
        Matcher::Body(pattern) => contains(answer, pattern.as_bytes()),
        Matcher::Bytes(bytes) => contains(answer, bytes),
        Matcher::RBody(re) => re.is_match(&text()),
        Matcher::RHex(re) => re.is_match(&hex(answer)),
        Matcher::BodyFormat(fmt) | Matcher::BytesFormat(fmt) => {
            let rendered = rules.check_format(fmt, facts);
            if rendered.is_empty() {
                return fail(
                    false,
                    Some("log-format string evaluated to an empty string".into()),
                );
            }
            let wanted = if matches!(expect.matcher, Matcher::BytesFormat(_)) {
                match switchyard_grammar::ast::check_rule::decode_hex(&rendered) {
                    Some(bytes) => bytes,
                    None => return fail(
                        false,
                        Some(
                            "Failed to parse hexastring resulting of eval of a log-format string"
                                .into(),
                        ),
                    ),
                }
            } else {
                rendered.into_bytes()
            };
            if answer.len() < wanted.len() && !last_read {
                return Eval::Wait;
            }
            contains(answer, &wanted)
        }
        Matcher::Custom(custom) => {
            return match custom.judge(answer, last_read, last) {
                Verdict::Wait => Eval::Wait,
                Verdict::Next => Eval::Pass { info: None },
                Verdict::Done { ok: true, info, .. } => Eval::Pass { info },
                Verdict::Done {
                    status, info, code, ..
                } => {
                    let status = expect.error_status.as_deref().unwrap_or(status);
                    let info = with_comment(info.unwrap_or_default(), step);
                    Eval::Fail {
                        status: status.to_owned(),
                        info,
                        code: code.and_then(|c| u16::try_from(c).ok()),
                    }
                }
            };
        }
        // HTTP matchers: the grammar gives them to http-check only.
        Matcher::Status(_) | Matcher::RStatus(_) | Matcher::Header { .. } => false,
    };
    if !matched && !last_read && expect.min_recv == -1 {
        return Eval::Wait;
    }
    if matched != expect.negated {
        return Eval::Pass { info: None };
    }
    fail(matched, None)
}

fn with_comment(info: String, step: &Step) -> Option<String> {
    let info = match &step.comment {
        Some(c) => format!("{info} comment: {c}"),
        None => info,
    };
    (!info.is_empty()).then_some(info)
}

/// HAProxy's `tcpcheck_expect_onerror_message`: the given information,
/// else the rule's `on-error`, else (plain tcp-check only) "TCPCHK did not
/// match content…"; then the rule's comment.
#[allow(clippy::too_many_arguments)]
fn fail(
    rules: &RuleSet,
    kind: ProgramKind,
    step: &Step,
    expect: &Expect,
    answer: &[u8],
    matched: bool,
    info: Option<String>,
    facts: &dyn RequestFacts,
) -> Eval {
    let info = match (info, &expect.on_error) {
        (Some(info), _) => info,
        (None, Some(message)) => rules.check_message(message, answer, facts),
        (None, None) if kind == ProgramKind::Tcp => {
            let what = match &expect.matcher {
                Matcher::Body(text) => format!(" '{text}'"),
                Matcher::Bytes(_) => " (binary)".into(),
                Matcher::RBody(_) => " (regex)".into(),
                Matcher::RHex(_) => " (binary regex)".into(),
                Matcher::BodyFormat(_) => " (log-format string)".into(),
                Matcher::BytesFormat(_) => " (log-format binary)".into(),
                _ => " (custom function)".into(),
            };
            format!(
                "{}{what} at step {}",
                if matched {
                    "TCPCHK matched unwanted content"
                } else {
                    "TCPCHK did not match content"
                },
                step.id
            )
        }
        (None, None) => String::new(),
    };
    Eval::Fail {
        status: expect
            .error_status
            .clone()
            .unwrap_or_else(|| "L7RSP".to_owned()),
        info: with_comment(info, step),
        code: answer_code(expect, answer),
    }
}

/// HAProxy's words for a step that timed out or failed to connect in a
/// plain tcp-check (" at step 2 of tcp-check (expect string '+OK')").
pub fn step_info(step: &Step) -> String {
    use switchyard_rules::check::Action;
    if step.id == 0 {
        return " at initial connection step of tcp-check".into();
    }
    let what = match &step.action {
        Action::Connect(c) => match c.port {
            Some(port) => format!(" (connect port {port})"),
            None => " (connect)".into(),
        },
        Action::Send(_) => " (send)".into(),
        Action::Expect(e) => match &e.matcher {
            Matcher::Body(text) => format!(" (expect string '{text}')"),
            Matcher::Bytes(bytes) => format!(" (expect binary '{}')", hex(bytes)),
            Matcher::RBody(_) => " (expect regex)".into(),
            Matcher::RHex(_) => " (expect binary regex)".into(),
            Matcher::BodyFormat(_) => " (expect log-format string)".into(),
            Matcher::BytesFormat(_) => " (expect log-format binary)".into(),
            _ => " (expect custom function)".into(),
        },
    };
    let comment = step
        .comment
        .as_ref()
        .map(|c| format!(" comment: '{c}'"))
        .unwrap_or_default();
    format!(" at step {} of tcp-check{what}{comment}", step.id)
}
