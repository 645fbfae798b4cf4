//! `userlist` sections: users and groups for `http-request auth` and
//! `http_auth()` ACLs.

use crate::span::Span;
use crate::word::Word;

/// How a `user` line gives the password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Password {
    /// `insecure-password TEXT`.
    Insecure(String),
    /// `password HASH`, a crypt(3) hash.
    Hashed(String),
}

/// A `user NAME password|insecure-password PASS [groups G,…]` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The user's name, as `http-request auth` checks it.
    pub name: Word,
    /// The password as written.
    pub password: Password,
    /// The groups named on the user line (`groups G1,G2`).
    pub groups: Vec<String>,
}

/// A `group NAME [users U1,U2…]` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// The group's name, as `http_auth_group` tests it.
    pub name: Word,
    /// The users named on the group line.
    pub users: Vec<String>,
}

/// A `userlist` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Userlist {
    /// The section's name, as `http_auth(NAME)` and `http_auth_group(NAME)`
    /// refer to it.
    pub name: String,
    /// Where the section's header is written.
    pub span: Span,
    /// Its `user` lines, in order.
    pub users: Vec<User>,
    /// Its `group` lines, in order.
    pub groups: Vec<Group>,
}
