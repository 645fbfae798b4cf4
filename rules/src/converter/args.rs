//! Converter arguments: constants read when the configuration is loaded,
//! or variables (`add(txn.x)`) read when the converter runs, through
//! [`VarLookup`].

use std::borrow::Cow;

use crate::value::{SampleType, Value};

/// Looks variables up when a converter runs: the seam between converters
/// and the store of `set-var`'s variables.
pub trait VarLookup {
    /// The value of the variable named as written (`txn.key`), if set.
    fn var(&self, name: &str) -> Option<Value<'static>>;
}

impl VarLookup for crate::vars::Vars {
    fn var(&self, name: &str) -> Option<Value<'static>> {
        let var = switchyard_grammar::ast::var::VarName::parse(name).ok()?;
        self.get(&var)
    }
}

/// No variables: what converters see where none can exist.
pub struct NoVars;

impl VarLookup for NoVars {
    fn var(&self, _name: &str) -> Option<Value<'static>> {
        None
    }
}

/// An argument that may be a variable: HAProxy reads `proc.`, `sess.`,
/// `txn.`, `req.` and `res.` prefixed names as variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operand<T> {
    /// A constant from the configuration.
    Const(T),
    /// A variable's name, as written (`txn.key`).
    Var(String),
}

/// Whether `arg` names a variable (`txn.x`), as HAProxy decides it for
/// arguments that accept one.
pub fn is_var_name(arg: &str) -> bool {
    ["proc.", "sess.", "txn.", "req.", "res."]
        .iter()
        .any(|scope| arg.strip_prefix(scope).is_some_and(|n| !n.is_empty()))
}

impl Operand<i64> {
    /// An integer argument or a variable.
    pub fn int(arg: &str) -> Result<Operand<i64>, String> {
        if is_var_name(arg) {
            return Ok(Operand::Var(arg.to_owned()));
        }
        arg.trim()
            .parse()
            .map(Operand::Const)
            .map_err(|_| format!("'{arg}' is neither an integer nor a variable"))
    }

    /// The integer now; `None` for a variable that is unset or no integer.
    pub fn get(&self, vars: &dyn VarLookup) -> Option<i64> {
        match self {
            Operand::Const(n) => Some(*n),
            Operand::Var(name) => match vars.var(name)?.cast(SampleType::Sint)? {
                Value::Int(n) => Some(n),
                _ => None,
            },
        }
    }
}

impl Operand<String> {
    /// A string argument or a variable.
    pub fn text(arg: &str) -> Operand<String> {
        if is_var_name(arg) {
            Operand::Var(arg.to_owned())
        } else {
            Operand::Const(arg.to_owned())
        }
    }

    /// The bytes now; `None` for an unset variable.
    pub fn get(&self, vars: &dyn VarLookup) -> Option<Cow<'_, [u8]>> {
        match self {
            Operand::Const(s) => Some(Cow::Borrowed(s.as_bytes())),
            Operand::Var(name) => Some(Cow::Owned(vars.var(name)?.bytes().into_owned())),
        }
    }
}

impl<T> Operand<T> {
    /// The variable's name, when the argument is one.
    pub fn var_name(&self) -> Option<&str> {
        match self {
            Operand::Var(name) => Some(name),
            Operand::Const(_) => None,
        }
    }
}

/// A required integer argument.
pub fn int_arg(args: &[String], i: usize, what: &str) -> Result<i64, String> {
    let arg = args
        .get(i)
        .filter(|a| !a.is_empty())
        .ok_or_else(|| format!("missing argument: {what}"))?;
    arg.trim()
        .parse()
        .map_err(|_| format!("'{arg}' is not an integer ({what})"))
}

/// An optional integer argument, `default` when absent or empty.
pub fn opt_int_arg(args: &[String], i: usize, default: i64, what: &str) -> Result<i64, String> {
    match args.get(i).filter(|a| !a.is_empty()) {
        Some(_) => int_arg(args, i, what),
        None => Ok(default),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::collections::HashMap;

    /// Variables from a table, for converter tests.
    pub struct TableVars(pub HashMap<&'static str, Value<'static>>);

    impl VarLookup for TableVars {
        fn var(&self, name: &str) -> Option<Value<'static>> {
            self.0.get(name).cloned()
        }
    }

    #[test]
    fn operands_read_constants_and_variables() {
        let vars = TableVars(HashMap::from([("txn.n", Value::Str("12".into()))]));
        assert_eq!(Operand::int("3").unwrap().get(&vars), Some(3));
        assert_eq!(Operand::int("txn.n").unwrap().get(&vars), Some(12));
        assert_eq!(Operand::int("txn.unset").unwrap().get(&vars), None);
        assert!(Operand::int("x.y").is_err());
        assert!(!is_var_name("txn.") && is_var_name("sess.a"));
        assert_eq!(
            Operand::text("txn.n").get(&vars).as_deref(),
            Some(&b"12"[..])
        );
    }
}
