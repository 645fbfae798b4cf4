//! The environment variables seen while reading a configuration.
//!
//! The grammar crate does no I/O: the caller hands in the process
//! environment, and `global` keywords (`setenv`, `presetenv`, `unsetenv`,
//! `resetenv`) change this copy in file order, so a later `"${VAR}"` sees
//! what an earlier line set, exactly as HAProxy applies them while parsing.

use std::collections::BTreeMap;

/// The variables as `${NAME}` expands them, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Environment {
    vars: BTreeMap<String, String>,
}

impl Environment {
    /// An empty environment.
    pub fn new() -> Self {
        Environment::default()
    }

    /// Builds an environment from `(name, value)` pairs, e.g. `std::env::vars()`.
    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Self {
        Environment {
            vars: vars.into_iter().collect(),
        }
    }

    /// The value of `name`, if set.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// Whether `name` is set, even to the empty string (`defined(NAME)`).
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

    /// HAProxy's `env_expand`, which its address parser (`str2sa_range`)
    /// applies to the address of `bind`, `server` and `log` after the line
    /// was cut into words: `$NAME` and `${NAME}` become the variable's value
    /// (nothing when undefined), outside quotes too. Only a brace that
    /// directly follows the name closes it, so `${A-x}` is `A`'s value then
    /// `-x}` (no default here, unlike quoted words).
    pub fn expand_in_address(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(dollar) = rest.find('$') {
            out.push_str(&rest[..dollar]);
            let after = &rest[dollar + 1..];
            let braced = after.starts_with('{');
            let name_start = &after[usize::from(braced)..];
            let name_len = name_start
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(name_start.len());
            let name = &name_start[..name_len];
            out.push_str(self.get(name).unwrap_or(""));
            rest = &name_start[name_len..];
            if braced {
                rest = rest.strip_prefix('}').unwrap_or(rest);
            }
        }
        out.push_str(rest);
        out
    }

    /// Every variable and its value, sorted by name.
    pub fn vars(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What haproxy 2.6.12 made of `log ADDRESS` with A=127.0.0.1 (its
    /// error messages show the expanded text).
    #[test]
    fn addresses_expand_variables_as_haproxy_does() {
        let mut env = Environment::new();
        env.set("A", "127.0.0.1");
        for (written, expanded) in [
            ("${A}:1", "127.0.0.1:1"),
            ("$A:1", "127.0.0.1:1"),
            ("${S1_addr}:${S1_port}", ":"),
            ("${A}x:1", "127.0.0.1x:1"),
            ("${A-127.0.0.1}:1", "127.0.0.1-127.0.0.1}:1"),
            ("udp@127.0.0.1:514", "udp@127.0.0.1:514"),
        ] {
            assert_eq!(env.expand_in_address(written), expanded, "{written}");
        }
    }
}
