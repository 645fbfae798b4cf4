//! The runtime API's `get var` and `set var`: `proc.` variables read and
//! written from outside any request, in management.txt's format. The
//! expression or format is compiled as a rule's would be, and evaluated
//! with no request behind it (fetches that need one find nothing).

use std::collections::HashMap;
use std::sync::Arc;

use switchyard_grammar::ast::log_format::LogFormat;
use switchyard_grammar::ast::sample::SampleExpr;
use switchyard_grammar::ast::var::{VarName, VarScope};
use switchyard_grammar::{Diagnostics, NoFiles, Span, Word};

use crate::compile::{Action, ProxyCompiler, VarValue};
use crate::request::OwnedRequest;
use crate::value::Value;
use crate::RuleSet;

/// Why `set var`/`get var` refused.
const PROC_ONLY: &str = "Only process-wide variables ('proc.' prefix) are supported.";

impl RuleSet {
    /// `get var NAME`: `proc.x: type=sint value=<5>`.
    pub fn show_proc_var(&self, name: &str) -> Result<String, String> {
        let var = proc_var(name)?;
        let value = self
            .proc_vars()
            .get(&var.name)
            .ok_or("Variable not found.")?;
        let kind = match &value {
            Value::Str(_) => "str",
            Value::Bin(_) => "bin",
            Value::Int(_) => "sint",
            Value::Bool(_) => "bool",
            Value::Ip(std::net::IpAddr::V4(_)) => "ipv4",
            Value::Ip(std::net::IpAddr::V6(_)) => "ipv6",
        };
        Ok(format!("{name}: type={kind} value=<{}>", value.text()))
    }

    /// `set var NAME [expr] EXPR` or `set var NAME fmt FMT` (`words`:
    /// what follows the name, as the command line split it).
    pub fn set_proc_var(&self, name: &str, words: &[String]) -> Result<(), String> {
        let var = proc_var(name)?;
        let (is_fmt, rest) = match words.first().map(String::as_str) {
            Some("fmt") => (true, &words[1..]),
            Some("expr") => (false, &words[1..]),
            _ => (false, words),
        };
        if rest.is_empty() {
            return Err("Missing either 'expr', 'fmt' or expression.".into());
        }
        let text = rest.join(" ");
        let mut maps = HashMap::new();
        let files = HashMap::new();
        let mut diags = Diagnostics::new();
        let no_userlist = |_: &str| None;
        let mut compiler =
            ProxyCompiler::new(&NoFiles, &no_userlist, &mut maps, &files, &mut diags);
        let value = if is_fmt {
            let word = Word::new(&text, Span::default());
            LogFormat::parse(&word)
                .ok()
                .and_then(|f| compiler.fmt(&f))
                .map(VarValue::Fmt)
        } else {
            SampleExpr::parse(&text, Span::default())
                .ok()
                .and_then(|e| compiler.expr(&e, None))
                .map(|(e, _)| VarValue::Expr(e))
        };
        let Some(value) = value else {
            let why = diags
                .errors()
                .next()
                .map(|d| d.message.clone())
                .unwrap_or_else(|| format!("invalid expression '{text}'"));
            return Err(format!("failed to parse the expression: {why}"));
        };
        let mut req = OwnedRequest::get("/");
        req.vars = Some(Arc::new(self.new_vars()));
        self.var_action(&Action::SetVar(var, Vec::new(), value), &req);
        Ok(())
    }
}

fn proc_var(name: &str) -> Result<VarName, String> {
    match VarName::parse(name) {
        Ok(var) if var.scope == VarScope::Proc => Ok(var),
        _ => Err(PROC_ONLY.into()),
    }
}

#[cfg(test)]
mod tests {
    use switchyard_grammar::{load, Environment};

    use super::*;

    fn rules() -> RuleSet {
        let text = "frontend fe\n    mode http\n    bind :80\n    http-request set-var(txn.x) var(proc.x)\n";
        let loaded = load(
            &[("t.cfg".into(), text.into())],
            Environment::new(),
            &NoFiles,
        );
        RuleSet::compile(&loaded.config, &NoFiles).unwrap()
    }

    #[test]
    fn set_then_get_a_proc_variable() {
        let set = rules();
        assert_eq!(
            set.show_proc_var("proc.x").unwrap_err(),
            "Variable not found."
        );
        set.set_proc_var("proc.y", &["fmt".into(), "a".into(), "b".into()])
            .unwrap();
        set.set_proc_var("proc.x", &["var(proc.y)".into()]).unwrap();
        assert_eq!(
            set.show_proc_var("proc.x").unwrap(),
            "proc.x: type=str value=<a b>"
        );
        set.proc_vars().set("n", Value::Int(5));
        assert_eq!(
            set.show_proc_var("proc.n").unwrap(),
            "proc.n: type=sint value=<5>"
        );
        assert_eq!(set.show_proc_var("txn.x").unwrap_err(), PROC_ONLY);
        assert!(set
            .set_proc_var("proc.x", &["expr".into(), "nope()".into()])
            .unwrap_err()
            .contains("unknown fetch"));
        assert!(set.set_proc_var("proc.x", &[]).is_err());
    }
}
