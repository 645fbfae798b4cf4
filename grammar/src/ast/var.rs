//! Variables as rules name them: `set-var(txn.name[,ifnotempty…]) EXPR`,
//! `set-var-fmt(req.name) FMT`, `unset-var(sess.name)`, and the
//! `var(scope.name)` fetch's argument. HAProxy 2.6's syntax and checks.

use crate::ast::log_format::LogFormat;
use crate::ast::sample::SampleExpr;
use crate::diagnostic::Diagnostic;
use crate::word::Word;

/// How long a variable lives (HAProxy's scopes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VarScope {
    /// `proc`: the whole process (here: the configuration's generation).
    Proc,
    /// `sess`: the client connection.
    Sess,
    /// `txn`: one request and its response.
    Txn,
    /// `req`: request processing only.
    Req,
    /// `res`: response processing only.
    Res,
}

impl VarScope {
    /// The scope's prefix as written.
    pub fn prefix(self) -> &'static str {
        match self {
            VarScope::Proc => "proc",
            VarScope::Sess => "sess",
            VarScope::Txn => "txn",
            VarScope::Req => "req",
            VarScope::Res => "res",
        }
    }
}

/// A variable's full name: `txn.user`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VarName {
    /// Its scope.
    pub scope: VarScope,
    /// The name after the scope's dot.
    pub name: String,
}

impl std::fmt::Display for VarName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.scope.prefix(), self.name)
    }
}

impl VarName {
    /// Parses `scope.name`, as HAProxy checks it: a known scope, then a
    /// name of `a-z A-Z 0-9 . _`.
    pub fn parse(text: &str) -> Result<VarName, String> {
        let text = text.trim();
        let (scope, name) = text
            .split_once('.')
            .ok_or_else(|| format!("variable name '{text}' has no scope"))?;
        let scope = match scope {
            "proc" => VarScope::Proc,
            "sess" => VarScope::Sess,
            "txn" => VarScope::Txn,
            "req" => VarScope::Req,
            "res" => VarScope::Res,
            other => {
                return Err(format!(
                    "invalid variable scope '{other}' in '{text}' (the scopes are proc, sess, txn, req and res)"
                ))
            }
        };
        if name.is_empty() {
            return Err(format!("variable name '{text}' is empty after its scope"));
        }
        if let Some(c) = name
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '.'))
        {
            return Err(format!(
                "invalid character '{c}' in variable name '{text}' (use a-z, A-Z, 0-9, '.' and '_')"
            ));
        }
        Ok(VarName {
            scope,
            name: name.to_owned(),
        })
    }
}

/// A condition of `set-var` (HAProxy 2.6): all must hold for the
/// variable to be set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetVarCond {
    /// `ifexists`: the variable existed before.
    IfExists,
    /// `ifnotexists`.
    IfNotExists,
    /// `ifempty`: the new value is an empty string (or binary).
    IfEmpty,
    /// `ifnotempty`.
    IfNotEmpty,
    /// `ifset`: the variable is set now.
    IfSet,
    /// `ifnotset`.
    IfNotSet,
    /// `ifgt`: the current value is greater than the new one (integers).
    IfGt,
    /// `iflt`: the current value is less than the new one (integers).
    IfLt,
}

impl SetVarCond {
    fn parse(text: &str) -> Option<SetVarCond> {
        Some(match text.trim() {
            "ifexists" => SetVarCond::IfExists,
            "ifnotexists" => SetVarCond::IfNotExists,
            "ifempty" => SetVarCond::IfEmpty,
            "ifnotempty" => SetVarCond::IfNotEmpty,
            "ifset" => SetVarCond::IfSet,
            "ifnotset" => SetVarCond::IfNotSet,
            "ifgt" => SetVarCond::IfGt,
            "iflt" => SetVarCond::IfLt,
            _ => return None,
        })
    }
}

/// Where a `set-var` takes its value from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VarSource {
    /// `set-var(…) EXPR`: a sample expression (the word as written too).
    Expr(SampleExpr, Word),
    /// `set-var-fmt(…) FMT`: a log-format string.
    Fmt(LogFormat),
}

/// `set-var(NAME[,COND…]) EXPR` or `set-var-fmt(NAME[,COND…]) FMT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetVar {
    /// The variable.
    pub var: VarName,
    /// Conditions that must all hold (at most four).
    pub conds: Vec<SetVarCond>,
    /// The value.
    pub source: VarSource,
}

/// The family of a variable action word (`set-var`, `set-var-fmt`,
/// `unset-var`), or `None` for another action.
pub fn var_action_family(action: &str) -> Option<&'static str> {
    let base = action.split_once('(').map_or(action, |(b, _)| b);
    ["set-var", "set-var-fmt", "unset-var"]
        .into_iter()
        .find(|f| *f == base)
}

/// The arguments between the parentheses of `set-var(…)`.
fn call_args<'a>(name: &'a Word, family: &str) -> Result<&'a str, Diagnostic> {
    name.text
        .strip_prefix(family)
        .and_then(|rest| rest.strip_prefix('('))
        .and_then(|rest| rest.strip_suffix(')'))
        .ok_or_else(|| {
            Diagnostic::error(
                name.span,
                format!("'{family}' expects a variable name in parentheses"),
            )
            .with_help(format!("e.g. '{family}(txn.name)'"))
        })
}

/// Parses `set-var(…) EXPR`, `set-var-fmt(…) FMT` (`args`: the words
/// after the action).
pub fn parse_set_var(name: &Word, args: &[Word]) -> Result<SetVar, Diagnostic> {
    let family = var_action_family(&name.text).unwrap_or("set-var");
    let inner = call_args(name, family)?;
    let mut parts = inner.split(',');
    let var = VarName::parse(parts.next().unwrap_or_default())
        .map_err(|e| Diagnostic::error(name.span, e))?;
    let mut conds = Vec::new();
    for word in parts {
        let cond = SetVarCond::parse(word).ok_or_else(|| {
            Diagnostic::error(name.span, format!("unknown set-var condition '{}'", word.trim()))
                .with_help("the conditions are ifexists, ifnotexists, ifempty, ifnotempty, ifset, ifnotset, ifgt and iflt")
        })?;
        conds.push(cond);
    }
    if conds.len() > 4 {
        return Err(Diagnostic::error(
            name.span,
            format!("'{family}' takes at most four conditions"),
        ));
    }
    let value = match args {
        [value] => value,
        [] => {
            return Err(Diagnostic::error(
                name.span,
                format!("'{}' expects a value (missing argument)", name.text),
            ))
        }
        [_, extra, ..] => {
            return Err(Diagnostic::error(
                extra.span,
                format!("unexpected word '{}' after '{}'", extra.text, name.text),
            )
            .with_help("a condition starts with 'if' or 'unless'"))
        }
    };
    let source = if family == "set-var-fmt" {
        VarSource::Fmt(LogFormat::parse(value)?)
    } else {
        VarSource::Expr(SampleExpr::parse(&value.text, value.span)?, value.clone())
    };
    Ok(SetVar { var, conds, source })
}

/// Parses `unset-var(NAME)`, which takes no other word.
pub fn parse_unset_var(name: &Word, args: &[Word]) -> Result<VarName, Diagnostic> {
    let inner = call_args(name, "unset-var")?;
    let var = VarName::parse(inner).map_err(|e| Diagnostic::error(name.span, e))?;
    if let Some(extra) = args.first() {
        return Err(Diagnostic::error(
            extra.span,
            format!("unexpected word '{}' after '{}'", extra.text, name.text),
        )
        .with_help("a condition starts with 'if' or 'unless'"));
    }
    Ok(var)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::span::Span;

    #[test]
    fn names_need_a_known_scope_and_plain_characters() {
        let v = VarName::parse("txn.my_var.2").unwrap();
        assert_eq!(v.scope, VarScope::Txn);
        assert_eq!(v.name, "my_var.2");
        assert_eq!(v.to_string(), "txn.my_var.2");
        assert!(VarName::parse("foo.x").unwrap_err().contains("scope"));
        assert!(VarName::parse("txn").unwrap_err().contains("no scope"));
        assert!(VarName::parse("txn.").unwrap_err().contains("empty"));
        assert!(VarName::parse("txn.a-b").unwrap_err().contains("'-'"));
    }

    #[test]
    fn set_var_takes_conditions_and_one_value() {
        let name = Word::new("set-var(txn.x,ifnotempty,ifgt)", Span::default());
        let v = parse_set_var(&name, &[Word::new("req.hdr(host),lower", Span::default())]).unwrap();
        assert_eq!(v.conds, vec![SetVarCond::IfNotEmpty, SetVarCond::IfGt]);
        assert!(matches!(v.source, VarSource::Expr(ref e, _) if e.converters.len() == 1));
        let fmt = Word::new("set-var-fmt(sess.y)", Span::default());
        let v = parse_set_var(&fmt, &[Word::new("%[src]:%[src_port]", Span::default())]).unwrap();
        assert!(matches!(v.source, VarSource::Fmt(_)));
        let bad = Word::new("set-var(txn.x,ifsomething)", Span::default());
        let e = parse_set_var(&bad, &[Word::new("src", Span::default())]).unwrap_err();
        assert!(e.message.contains("unknown set-var condition"));
        let e = parse_set_var(&name, &[]).unwrap_err();
        assert!(e.message.contains("missing argument"));
        let no_parens = Word::new("set-var", Span::default());
        assert!(parse_set_var(&no_parens, &[Word::new("src", Span::default())]).is_err());
    }

    #[test]
    fn unset_var_takes_only_its_name() {
        let name = Word::new("unset-var(req.x)", Span::default());
        assert_eq!(parse_unset_var(&name, &[]).unwrap().scope, VarScope::Req);
        assert!(parse_unset_var(&name, &[Word::new("src", Span::default())]).is_err());
        assert_eq!(var_action_family("set-var-fmt(txn.a)"), Some("set-var-fmt"));
        assert_eq!(var_action_family("set-header"), None);
    }
}
