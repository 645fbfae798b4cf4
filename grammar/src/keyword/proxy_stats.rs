//! `stats …` directives of proxy sections (the statistics page).

use crate::ast::condition::split_condition;
use crate::ast::proxy::Proxy;
use crate::ast::stats::{StatsAuth, StatsRule, StatsVerdict};
use crate::ast::value::parse_time;
use crate::diagnostic::Diagnostic;
use crate::keyword::{missing, no_extra};
use crate::reader::RawDirective;
use crate::word::Word;

/// Applies `stats SUB …`; every sub-keyword but `stats scope` also enables
/// the page, as in HAProxy.
pub fn apply(directive: &RawDirective, sub: &str, proxy: &mut Proxy) -> Result<(), Diagnostic> {
    let args = &directive.args()[1..];
    let one = |usage: &str| -> Result<&Word, Diagnostic> {
        let w = args.first().ok_or_else(|| missing(directive, usage))?;
        no_extra(directive, 2)?;
        Ok(w)
    };
    let stats = &mut proxy.stats;
    match sub {
        "enable" => no_extra(directive, 1)?,
        "uri" => stats.uri = Some(one("a URI prefix")?.text.clone()),
        "realm" => stats.realm = Some(one("a realm")?.text.clone()),
        "refresh" => stats.refresh = Some(parse_time(one("a time")?)?),
        "hide-version" => no_extra(directive, 1)?,
        "show-legends" => no_extra(directive, 1)?,
        "auth" => {
            let w = one("USER:PASSWORD")?;
            let Some((user, password)) = w.text.split_once(':') else {
                return Err(Diagnostic::error(
                    w.span,
                    format!("'stats auth' expects USER:PASSWORD, not '{}'", w.text),
                )
                .with_help("e.g. 'stats auth admin:s3cret'"));
            };
            if user.is_empty() {
                return Err(Diagnostic::error(
                    w.span,
                    "'stats auth' has an empty user name",
                ));
            }
            stats.auths.push(StatsAuth {
                user: user.to_owned(),
                password: password.to_owned(),
                span: w.span,
            });
        }
        "admin" => {
            let (before, condition) = split_condition(args)?;
            if let Some(w) = before.first() {
                return Err(Diagnostic::error(
                    w.span,
                    format!("unexpected word '{}' after 'stats admin'", w.text),
                ));
            }
            let condition = condition.ok_or_else(|| {
                missing(directive, "a condition, e.g. 'stats admin if LOCALHOST'")
            })?;
            stats.admin.push(condition);
        }
        "show-node" => {
            stats.show_node = Some(args.first().map(|w| w.text.clone()).unwrap_or_default())
        }
        "show-desc" => {
            stats.show_desc = Some(args.iter().map(Word::as_str).collect::<Vec<_>>().join(" "))
        }
        "http-request" => {
            let rule = parse_http_request(directive, args)?;
            stats.http_request.push(rule);
        }
        "scope" => {
            stats.scope.push(one("a proxy name")?.text.clone());
            return Ok(());
        }
        other => {
            return Err(Diagnostic::error(
                directive.span(),
                format!("'stats {other}' is not supported by switchyard yet"),
            ))
        }
    }
    match sub {
        "hide-version" => stats.hide_version = true,
        "show-legends" => stats.show_legends = true,
        _ => {}
    }
    if stats.enabled.is_none() {
        stats.enabled = Some(directive.span());
    }
    Ok(())
}

/// `stats http-request allow|deny|auth [realm R] [if|unless COND]`.
fn parse_http_request(directive: &RawDirective, args: &[Word]) -> Result<StatsRule, Diagnostic> {
    let (before, condition) = split_condition(args)?;
    let Some((action, rest)) = before.split_first() else {
        return Err(missing(directive, "allow, deny or auth"));
    };
    let verdict = match (action.text.as_str(), rest) {
        ("allow", []) => StatsVerdict::Allow,
        ("deny", []) => StatsVerdict::Deny,
        ("auth", []) => StatsVerdict::Auth(None),
        ("auth", [kw, realm]) if kw.is("realm") => StatsVerdict::Auth(Some(realm.text.clone())),
        ("allow" | "deny" | "auth", [extra, ..]) => {
            return Err(Diagnostic::error(
                extra.span,
                format!(
                    "unexpected word '{}' after 'stats http-request {}'",
                    extra.text, action.text
                ),
            )
            .with_help("write 'stats http-request allow|deny|auth [realm R] [if|unless COND]'"))
        }
        (other, _) => {
            return Err(Diagnostic::error(
                action.span,
                format!("unknown 'stats http-request' action '{other}'"),
            )
            .with_help("the actions are allow, deny and auth [realm R]"))
        }
    };
    Ok(StatsRule {
        verdict,
        condition,
        span: directive.span(),
    })
}
