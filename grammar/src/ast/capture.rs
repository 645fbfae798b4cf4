//! A frontend's capture slots: `capture request header`, `capture response
//! header`, `declare capture` and the slots `http-request capture … len N`
//! allocates, in one numbered list per direction (the numbers
//! `capture.req.hdr(N)` and `http-… capture … id N` use), and the one
//! `capture cookie`. The log shows the slots between braces (`%hr`, `%hs`)
//! and the cookie in `%CC`/`%CS`.

use crate::ast::value::parse_uint;
use crate::diagnostic::Diagnostic;
use crate::span::Span;
use crate::word::Word;

/// HAProxy's longest cookie capture (`tune.http.cookielen` 63, plus its
/// terminating byte).
const COOKIE_CAPTURE_MAX: usize = 63;

/// What fills one capture slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaptureSource {
    /// `capture request|response header NAME`: the last field of that
    /// name (lowercase here).
    Header(String),
    /// `declare capture` or `http-request capture … len N`: what a
    /// `capture` action stores.
    Declared,
}

/// One capture slot: where its value comes from and how many bytes of it
/// are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureSlot {
    /// Where the value comes from.
    pub source: CaptureSource,
    /// The value is cut to this many bytes.
    pub len: usize,
    /// The line that declared it.
    pub span: Span,
}

/// `capture cookie NAME len N`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookieCapture {
    /// The beginning of the cookie's name (`NAME=` for an exact name).
    pub prefix: String,
    /// `name=value` is cut to this many bytes (63 at most).
    pub len: usize,
}

/// A frontend's capture slots, numbered from 0 in declaration order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Captures {
    /// Request slots: `%hr`, `capture.req.hdr(N)`.
    pub request: Vec<CaptureSlot>,
    /// Response slots: `%hs`, `capture.res.hdr(N)`.
    pub response: Vec<CaptureSlot>,
    /// `capture cookie`: `%CC` and `%CS`.
    pub cookie: Option<CookieCapture>,
}

impl Captures {
    /// Whether the frontend captures anything at all.
    pub fn is_empty(&self) -> bool {
        self.request.is_empty() && self.response.is_empty() && self.cookie.is_none()
    }

    /// The slots of one direction.
    pub fn slots(&self, response: bool) -> &[CaptureSlot] {
        if response {
            &self.response
        } else {
            &self.request
        }
    }

    /// Applies `capture request header`, `capture response header`,
    /// `capture cookie` or `declare capture` (`name` is the keyword as
    /// matched, `words` the whole line). Returns a warning that does not
    /// stop the line (a cookie length HAProxy truncates).
    pub fn apply(&mut self, name: &str, words: &[Word]) -> Result<Option<Diagnostic>, Diagnostic> {
        let line = words[0].span.to(words[words.len() - 1].span);
        let missing = |usage: &str| Diagnostic::error(line, usage.to_owned());
        match name {
            "capture request header" | "capture response header" => {
                let usage = format!("'{name}' expects <header_name> 'len' <len>");
                let (header, len) = match &words[3..] {
                    [header, l, len, rest @ ..] if l.is("len") => {
                        if let Some(extra) = rest.first() {
                            return Err(unexpected(name, extra));
                        }
                        (header, len)
                    }
                    _ => return Err(missing(&usage)),
                };
                let slot = CaptureSlot {
                    source: CaptureSource::Header(header.text.to_ascii_lowercase()),
                    len: parse_len(len)?,
                    span: line,
                };
                self.push(name == "capture response header", slot);
                Ok(None)
            }
            "capture cookie" => {
                let (prefix, len) = match &words[2..] {
                    [prefix, l, len, rest @ ..] if l.is("len") => {
                        if let Some(extra) = rest.first() {
                            return Err(unexpected(name, extra));
                        }
                        (prefix, len)
                    }
                    _ => {
                        return Err(missing(
                            "'capture cookie' expects <cookie_name> 'len' <len>",
                        ))
                    }
                };
                let mut len = parse_len(len)?;
                let mut warning = None;
                if len > COOKIE_CAPTURE_MAX {
                    warning = Some(Diagnostic::warning(
                        words[4].span,
                        format!("truncating capture length to {COOKIE_CAPTURE_MAX} bytes"),
                    ));
                    len = COOKIE_CAPTURE_MAX;
                }
                // The last line wins, as in HAProxy.
                self.cookie = Some(CookieCapture {
                    prefix: prefix.text.clone(),
                    len,
                });
                Ok(warning)
            }
            "declare capture" => {
                let direction = words.get(2).filter(|w| w.is("request") || w.is("response"));
                let Some(direction) = direction else {
                    return Err(Diagnostic::error(
                        words.get(2).map_or(words[1].span, |w| w.span),
                        "'declare capture' requires a direction ('request' or 'response')",
                    ));
                };
                let len = match &words[3..] {
                    [l, len, rest @ ..] if l.is("len") => {
                        if let Some(extra) = rest.first() {
                            return Err(unexpected(name, extra));
                        }
                        len
                    }
                    _ => {
                        return Err(missing(
                            "'declare capture' requires a capture length ('len')",
                        ))
                    }
                };
                let slot = CaptureSlot {
                    source: CaptureSource::Declared,
                    len: parse_len(len)?,
                    span: line,
                };
                self.push(direction.is("response"), slot);
                Ok(None)
            }
            _ => unreachable!("called for capture keywords only"),
        }
    }

    /// A new slot at the end of one direction's list; returns its number.
    pub fn push(&mut self, response: bool, slot: CaptureSlot) -> usize {
        let list = if response {
            &mut self.response
        } else {
            &mut self.request
        };
        list.push(slot);
        list.len() - 1
    }
}

/// The slot of an `http-request|http-response capture` action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureTarget {
    /// `len N`: a new request slot, until the frontend numbers it.
    New(usize),
    /// `id N`: slot N of the frontend's list for the rule's direction.
    Id(usize),
}

/// Parses the words after `capture` of an `http-request` or
/// `http-response` rule (`response`: only `id` is allowed there).
pub fn parse_action(
    name: &Word,
    args: &[Word],
    response: bool,
) -> Result<crate::ast::http_rule::HttpAction, Diagnostic> {
    let usage = if response {
        "expects <expression> id <idx>"
    } else {
        "expects <expression> [ 'len' <length> | id <idx> ]"
    };
    let [expr, kind, value, rest @ ..] = args else {
        return Err(Diagnostic::error(
            name.span,
            format!(
                "'{} capture' {usage}",
                if response {
                    "http-response"
                } else {
                    "http-request"
                }
            ),
        ));
    };
    if let Some(extra) = rest.first() {
        return Err(unexpected("capture", extra));
    }
    let sample = crate::ast::sample::SampleExpr::parse(&expr.text, expr.span)?;
    let slot = match kind.text.as_str() {
        "len" if !response => CaptureTarget::New(parse_len(value)?),
        "id" => CaptureTarget::Id(parse_uint(value, "capture id", i32::MAX as u64)? as usize),
        other => {
            return Err(Diagnostic::error(
                kind.span,
                format!("'capture' {usage}, found '{other}'"),
            ))
        }
    };
    Ok(crate::ast::http_rule::HttpAction::Capture { sample, slot })
}

/// Gives an `http-request capture … len N` rule of a frontend its new
/// slot (HAProxy numbers them with the other request slots, in the order
/// the lines are written); elsewhere such a rule is refused.
pub fn number_new_slot(
    rule: &mut crate::ast::http_rule::HttpRule,
    captures: &mut Captures,
    frontend: bool,
) -> Result<(), Diagnostic> {
    let crate::ast::http_rule::HttpAction::Capture { slot, .. } = &mut rule.action else {
        return Ok(());
    };
    let CaptureTarget::New(len) = *slot else {
        return Ok(());
    };
    if frontend {
        let id = captures.push(
            false,
            CaptureSlot {
                source: CaptureSource::Declared,
                len,
                span: rule.span,
            },
        );
        *slot = CaptureTarget::Id(id);
        return Ok(());
    }
    Err(Diagnostic::error(
        rule.span,
        "'http-request capture … len' needs a frontend: this section has no frontend capability",
    )
    .with_help(
        "declare the slot in the frontend ('declare capture request len N') and use 'id N' here",
    ))
}

/// HAProxy's check of a frontend's `capture … id N` rules: the slot must
/// exist. (A backend's are checked per request: a frontend without the
/// slot ignores the rule.)
pub fn check_ids(
    captures: &Captures,
    rules: &[crate::ast::http_rule::HttpRule],
    response: bool,
) -> Option<Diagnostic> {
    rules.iter().find_map(|rule| match &rule.action {
        crate::ast::http_rule::HttpAction::Capture {
            slot: CaptureTarget::Id(id),
            ..
        } if *id >= captures.slots(response).len() => Some(
            Diagnostic::error(
                rule.span,
                format!(
                    "unable to find capture id '{id}' referenced by {} capture rule",
                    if response {
                        "http-response"
                    } else {
                        "http-request"
                    }
                ),
            )
            .with_help("declare it first: 'declare capture request|response len N'"),
        ),
        _ => None,
    })
}

fn parse_len(word: &Word) -> Result<usize, Diagnostic> {
    Ok(parse_uint(word, "capture length", u32::MAX as u64)? as usize)
}

fn unexpected(name: &str, extra: &Word) -> Diagnostic {
    Diagnostic::error(
        extra.span,
        format!(
            "'{name}' cannot handle unexpected argument '{}'",
            extra.text
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(line: &str, captures: &mut Captures) -> Result<Option<Diagnostic>, Diagnostic> {
        let words: Vec<Word> = line
            .split(' ')
            .map(|w| Word::new(w, Span::default()))
            .collect();
        let name = [
            "capture request header",
            "capture response header",
            "capture cookie",
            "declare capture",
        ]
        .into_iter()
        .find(|n| line.starts_with(n))
        .unwrap();
        captures.apply(name, &words)
    }

    #[test]
    fn slots_are_numbered_in_declaration_order_per_direction() {
        let mut c = Captures::default();
        apply("capture request header Host len 15", &mut c).unwrap();
        apply("declare capture response len 4", &mut c).unwrap();
        apply("declare capture request len 8", &mut c).unwrap();
        apply("capture response header Location len 9", &mut c).unwrap();
        assert_eq!(c.request.len(), 2);
        assert_eq!(c.request[0].source, CaptureSource::Header("host".into()));
        assert_eq!(
            (c.request[1].source.clone(), c.request[1].len),
            (CaptureSource::Declared, 8)
        );
        assert_eq!(
            c.response[1].source,
            CaptureSource::Header("location".into())
        );
    }

    #[test]
    fn haproxys_refusals_and_the_cookie_length_limit() {
        let mut c = Captures::default();
        assert!(apply("capture request header Host", &mut c).is_err());
        assert!(apply("capture request header Host len 5 extra", &mut c).is_err());
        assert!(apply("capture request header Host len x", &mut c).is_err());
        assert!(apply("declare capture sideways len 5", &mut c).is_err());
        assert!(apply("declare capture request", &mut c).is_err());
        let warning = apply("capture cookie SESS len 100", &mut c).unwrap();
        assert!(warning.unwrap().message.contains("63"));
        assert_eq!(c.cookie.as_ref().map(|k| k.len), Some(63));
        apply("capture cookie ID= len 10", &mut c).unwrap();
        assert_eq!(c.cookie.unwrap().prefix, "ID=");
    }
}
