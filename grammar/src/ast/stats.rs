//! `stats …` settings of a proxy: the statistics page.

use std::time::Duration;

use crate::ast::condition::Condition;
use crate::span::Span;

/// `stats auth USER:PASS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsAuth {
    pub user: String,
    pub password: String,
    pub span: Span,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatsSettings {
    /// Where statistics were enabled (`stats enable`, or any keyword that
    /// implies it such as `stats uri`).
    pub enabled: Option<Span>,
    /// `stats uri`, HAProxy's default being `/haproxy?stats`.
    pub uri: Option<String>,
    pub auths: Vec<StatsAuth>,
    pub realm: Option<String>,
    pub refresh: Option<Duration>,
    pub admin: Vec<Condition>,
    pub hide_version: bool,
    pub show_legends: bool,
    pub show_node: Option<String>,
    pub show_desc: Option<String>,
    pub scope: Vec<String>,
}

impl StatsSettings {
    pub fn uri(&self) -> &str {
        self.uri.as_deref().unwrap_or("/haproxy?stats")
    }

    pub fn realm(&self) -> &str {
        self.realm.as_deref().unwrap_or("HAProxy Statistics")
    }
}
