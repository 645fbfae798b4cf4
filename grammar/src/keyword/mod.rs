//! Keyword parsers: each directive of a section is read into the typed
//! model here. `proxy.rs` handles the proxy sections, `global.rs` the
//! `global` section and `userlist.rs` user lists; `haproxy_keywords.rs`
//! lists what HAProxy 2.6 knows so that anything Switchyard does not
//! implement is refused by name rather than silently ignored.

pub mod check_rules;
pub mod fcgi_app;
pub mod global;
pub mod haproxy_keywords;
pub mod http_error;
pub mod options;
pub mod proxy;
pub mod proxy_stats;
pub mod userlist;

use crate::diagnostic::Diagnostic;
use crate::reader::RawDirective;
use crate::suggest::did_you_mean;

/// "unknown keyword" with the closest known keyword as a suggestion.
pub(crate) fn unknown_keyword(
    directive: &RawDirective,
    section: &str,
    known: &[&str],
) -> Diagnostic {
    let kw = directive.keyword();
    let diag = Diagnostic::error(
        kw.span,
        format!("unknown keyword '{}' in '{section}' section", kw.text),
    );
    match did_you_mean(&kw.text, known) {
        Some(s) => diag.with_help(format!("did you mean '{s}'?")),
        None => diag.with_help(format!(
            "see the '{section}' keywords in HAProxy's configuration manual"
        )),
    }
}

/// "expects …" for a directive missing its arguments.
pub(crate) fn missing(directive: &RawDirective, usage: &str) -> Diagnostic {
    let kw = directive.keyword();
    Diagnostic::error(
        kw.span,
        format!("'{}' expects {usage} (missing argument)", kw.text),
    )
}

/// Refuses words after the expected arguments.
pub(crate) fn no_extra(directive: &RawDirective, expected: usize) -> Result<(), Diagnostic> {
    match directive.args().get(expected) {
        Some(extra) => Err(Diagnostic::error(
            extra.span,
            format!(
                "unexpected word '{}' after '{}'",
                extra.text,
                directive.keyword().text
            ),
        )
        .with_help(format!(
            "'{}' takes {expected} argument(s)",
            directive.keyword().text
        ))),
        None => Ok(()),
    }
}
