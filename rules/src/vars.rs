//! Variables: the values `set-var` stores and `var()` reads, by scope.
//! One [`Vars`] is a transaction's view: its own `txn`, `req` and `res`
//! variables, its connection's `sess` ones and the configuration's `proc`
//! ones, shared. Rules see requests through `&dyn RequestFacts`, so the
//! store changes behind a shared reference (a lock held for one read or
//! write, never across an await).

use std::borrow::Cow;
use std::sync::{Arc, Mutex, MutexGuard};

use rustc_hash::FxHashMap;
use switchyard_grammar::ast::var::{SetVarCond, VarName, VarScope};

use crate::value::Value;

/// One scope's variables, by name.
#[derive(Debug, Default)]
pub struct VarMap {
    values: Mutex<FxHashMap<String, Value<'static>>>,
}

impl VarMap {
    fn lock(&self) -> MutexGuard<'_, FxHashMap<String, Value<'static>>> {
        // A panic while holding it leaves a map that is still whole.
        self.values.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The value of `name`, copied out.
    pub fn get(&self, name: &str) -> Option<Value<'static>> {
        self.lock().get(name).cloned()
    }

    /// Sets `name` to `value`.
    pub fn set(&self, name: &str, value: Value<'_>) {
        self.lock().insert(name.to_owned(), owned(value));
    }

    /// Removes `name`.
    pub fn unset(&self, name: &str) {
        self.lock().remove(name);
    }

    /// Removes every variable.
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// Sets `name` when every condition of `conds` holds (HAProxy 2.6's
    /// `set-var` conditions); whether it was set.
    pub fn set_if(&self, name: &str, value: Value<'_>, conds: &[SetVarCond]) -> bool {
        let mut map = self.lock();
        let current = map.get(name);
        if !conds.iter().all(|c| holds(*c, current, &value)) {
            return false;
        }
        map.insert(name.to_owned(), owned(value));
        true
    }
}

/// Whether one `set-var` condition holds for the variable's `current`
/// value and the `new` one.
fn holds(cond: SetVarCond, current: Option<&Value<'static>>, new: &Value<'_>) -> bool {
    let empty = matches!(new, Value::Str(s) if s.is_empty())
        || matches!(new, Value::Bin(b) if b.is_empty());
    match cond {
        // A variable exists once set; an unset one is gone here (HAProxy
        // keeps a `proc` one declared, which `ifset` then tells apart).
        SetVarCond::IfExists | SetVarCond::IfSet => current.is_some(),
        SetVarCond::IfNotExists | SetVarCond::IfNotSet => current.is_none(),
        SetVarCond::IfEmpty => empty,
        SetVarCond::IfNotEmpty => !empty,
        SetVarCond::IfGt | SetVarCond::IfLt => match (current, new) {
            (Some(Value::Int(old)), Value::Int(new)) => {
                if cond == SetVarCond::IfGt {
                    old > new
                } else {
                    old < new
                }
            }
            // Not two integers: true, as HAProxy has it.
            _ => true,
        },
    }
}

/// `value` with nothing borrowed from the request.
fn owned(value: Value<'_>) -> Value<'static> {
    match value {
        Value::Str(s) => Value::Str(Cow::Owned(s.into_owned())),
        Value::Bin(b) => Value::Bin(Cow::Owned(b.into_owned())),
        Value::Int(n) => Value::Int(n),
        Value::Ip(ip) => Value::Ip(ip),
        Value::Bool(b) => Value::Bool(b),
    }
}

/// Every variable one transaction can reach.
#[derive(Debug, Default)]
pub struct Vars {
    proc: Arc<VarMap>,
    sess: Arc<VarMap>,
    txn: VarMap,
    req: VarMap,
    res: VarMap,
}

impl Vars {
    /// A new transaction's variables on a connection's `sess` map and
    /// the configuration's `proc` map.
    pub fn new(proc: Arc<VarMap>, sess: Arc<VarMap>) -> Vars {
        Vars {
            proc,
            sess,
            ..Vars::default()
        }
    }

    /// The map of `scope`.
    pub fn scope(&self, scope: VarScope) -> &VarMap {
        match scope {
            VarScope::Proc => &self.proc,
            VarScope::Sess => &self.sess,
            VarScope::Txn => &self.txn,
            VarScope::Req => &self.req,
            VarScope::Res => &self.res,
        }
    }

    /// The value of `var`.
    pub fn get(&self, var: &VarName) -> Option<Value<'static>> {
        self.scope(var.scope).get(&var.name)
    }

    /// The request is done: its `req` variables go (HAProxy keeps them
    /// for request processing only).
    pub fn end_request(&self) {
        self.req.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn var(text: &str) -> VarName {
        VarName::parse(text).unwrap()
    }

    #[test]
    fn scopes_are_separate_and_shared_ones_are_shared() {
        let proc = Arc::new(VarMap::default());
        let sess = Arc::new(VarMap::default());
        let a = Vars::new(proc.clone(), sess.clone());
        let b = Vars::new(proc.clone(), Arc::new(VarMap::default()));
        a.scope(VarScope::Txn).set("x", Value::Int(1));
        a.scope(VarScope::Sess).set("x", Value::Int(2));
        a.scope(VarScope::Proc).set("x", Value::Int(3));
        assert_eq!(a.get(&var("txn.x")), Some(Value::Int(1)));
        assert_eq!(a.get(&var("req.x")), None);
        assert_eq!(b.get(&var("txn.x")), None);
        assert_eq!(b.get(&var("sess.x")), None);
        assert_eq!(b.get(&var("proc.x")), Some(Value::Int(3)));
        a.scope(VarScope::Req).set("r", Value::Bool(true));
        a.end_request();
        assert_eq!(a.get(&var("req.r")), None);
        a.scope(VarScope::Txn).unset("x");
        assert_eq!(a.get(&var("txn.x")), None);
    }

    #[test]
    fn set_var_conditions_follow_haproxy() {
        let map = VarMap::default();
        let s = |t: &str| Value::Str(Cow::Owned(t.to_owned()));
        assert!(!map.set_if("v", s("a"), &[SetVarCond::IfExists]));
        assert!(map.set_if("v", s("a"), &[SetVarCond::IfNotExists]));
        assert!(!map.set_if("v", s("b"), &[SetVarCond::IfNotSet]));
        assert!(!map.set_if("v", s(""), &[SetVarCond::IfNotEmpty]));
        assert!(map.set_if("v", s(""), &[SetVarCond::IfEmpty, SetVarCond::IfSet]));
        assert_eq!(map.get("v"), Some(s("")));
        assert!(!map.set_if("v", Value::Int(1), &[SetVarCond::IfEmpty]));
        map.set("n", Value::Int(5));
        assert!(!map.set_if("n", Value::Int(7), &[SetVarCond::IfGt]));
        assert!(map.set_if("n", Value::Int(7), &[SetVarCond::IfLt]));
        assert!(map.set_if("n", Value::Int(3), &[SetVarCond::IfGt]));
        assert_eq!(map.get("n"), Some(Value::Int(3)));
        // A string against an integer: the comparison does not apply.
        assert!(map.set_if("n", s("x"), &[SetVarCond::IfGt]));
    }
}
