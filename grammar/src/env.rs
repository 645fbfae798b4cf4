//! The environment variables seen while reading a configuration.
//!
//! The grammar crate does no I/O: the caller hands in the process
//! environment, and `global` keywords (`setenv`, `presetenv`, `unsetenv`,
//! `resetenv`) change this copy in file order, so a later `"${VAR}"` sees
//! what an earlier line set, exactly as HAProxy applies them while parsing.

use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Environment {
    vars: BTreeMap<String, String>,
}

impl Environment {
    pub fn new() -> Self {
        Environment::default()
    }

    /// Builds an environment from `(name, value)` pairs, e.g. `std::env::vars()`.
    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Self {
        Environment {
            vars: vars.into_iter().collect(),
        }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    pub fn is_defined(&self, name: &str) -> bool {
        self.vars.contains_key(name)
    }

    /// `setenv`: sets or replaces.
    pub fn set(&mut self, name: &str, value: &str) {
        self.vars.insert(name.to_owned(), value.to_owned());
    }

    /// `presetenv`: sets only when not already defined.
    pub fn preset(&mut self, name: &str, value: &str) {
        self.vars
            .entry(name.to_owned())
            .or_insert_with(|| value.to_owned());
    }

    /// `unsetenv`: removes.
    pub fn unset(&mut self, name: &str) {
        self.vars.remove(name);
    }

    /// `resetenv [NAME…]`: removes everything except the names given.
    pub fn reset_except(&mut self, keep: &[&str]) {
        self.vars.retain(|name, _| keep.contains(&name.as_str()));
    }

    pub fn vars(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}
