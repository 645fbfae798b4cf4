//! `userlist` sections: users and groups for `http-request auth` and
//! `http_auth()` ACLs.

use crate::span::Span;
use crate::word::Word;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Password {
    /// `insecure-password TEXT`.
    Insecure(String),
    /// `password HASH`, a crypt(3) hash.
    Hashed(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: Word,
    pub password: Password,
    pub groups: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub name: Word,
    pub users: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Userlist {
    pub name: String,
    pub span: Span,
    pub users: Vec<User>,
    pub groups: Vec<Group>,
}
