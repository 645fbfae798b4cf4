//! `userlist` sections compiled for `http_auth()`: users, their groups, and
//! a password check that takes the same time however much of it matches.

use switchyard_grammar::ast::userlist::{Password, Userlist};
use switchyard_grammar::{Diagnostic, Diagnostics};

#[derive(Debug, Clone)]
struct User {
    name: String,
    password: String,
    groups: Vec<String>,
}

/// A `userlist` section ready to check credentials: each user's
/// `insecure-password` and its groups, from the user line and the `group`
/// lines.
#[derive(Debug, Clone)]
pub struct CompiledUserlist {
    /// The section's name (`http_auth(NAME)`).
    pub name: String,
    users: Vec<User>,
}

impl CompiledUserlist {
    /// Compiles `list`; a crypt(3) `password` hash, which this build cannot
    /// check yet, is reported in `diags` and its user left out.
    pub fn compile(list: &Userlist, diags: &mut Diagnostics) -> CompiledUserlist {
        let mut users = Vec::new();
        for user in &list.users {
            match &user.password {
                Password::Insecure(p) => {
                    // Groups come from the user line and from `group … users …`.
                    let mut groups = user.groups.clone();
                    groups.extend(list.groups.iter().filter(|g| g.users.contains(&user.name.text)).map(|g| g.name.text.clone()));
                    users.push(User { name: user.name.text.clone(), password: p.clone(), groups });
                }
                Password::Hashed(_) => diags.push(
                    Diagnostic::error(user.name.span, format!("user '{}': crypt(3) password hashes are not supported by switchyard yet", user.name.text))
                        .with_help("use 'insecure-password' for now"),
                ),
            }
        }
        CompiledUserlist {
            name: list.name.clone(),
            users,
        }
    }

    /// The user's groups when `user`/`password` are valid.
    pub fn check(&self, user: &str, password: &str) -> Option<Vec<String>> {
        let found = self.users.iter().find(|u| u.name == user)?;
        constant_time_eq(found.password.as_bytes(), password.as_bytes())
            .then(|| found.groups.clone())
    }
}

/// Compares without returning early on the first difference (`subtle`):
/// the time taken depends on the lengths, never on where the bytes differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn lengths_differing_by_a_multiple_of_65536_differ() {
        let mut long = b"x".to_vec();
        long.extend(std::iter::repeat_n(0xff, 65_536));
        assert!(!constant_time_eq(b"x", &long));
        assert!(!constant_time_eq(&long, b"x"));
    }

    #[test]
    fn equality() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret1"));
        assert!(!constant_time_eq(b"", b"x"));
        assert!(constant_time_eq(b"", b""));
    }
}
