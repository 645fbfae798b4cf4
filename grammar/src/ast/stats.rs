//! `stats …` settings of a proxy: the statistics page.

use std::time::Duration;

use crate::ast::condition::Condition;
use crate::span::Span;

/// `stats auth USER:PASS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsAuth {
    /// The user name before the colon.
    pub user: String,
    /// The password after it, as written.
    pub password: String,
    /// Where the line is written.
    pub span: Span,
}

/// A proxy's `stats …` lines: whether it serves the statistics page, where,
/// to whom, and what the page shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatsSettings {
    /// Where statistics were enabled (`stats enable`, or any keyword that
    /// implies it such as `stats uri`).
    pub enabled: Option<Span>,
    /// `stats uri`, HAProxy's default being `/haproxy?stats`.
    pub uri: Option<String>,
    /// `stats auth USER:PASS` lines: with any, the page asks for Basic
    /// credentials and accepts these.
    pub auths: Vec<StatsAuth>,
    /// `stats realm`: the realm of the Basic challenge.
    pub realm: Option<String>,
    /// `stats refresh`: how often the page tells the browser to reload.
    pub refresh: Option<Duration>,
    /// `stats admin if COND`: requests matching one get the admin forms.
    pub admin: Vec<Condition>,
    /// `stats hide-version`: no version on the page.
    pub hide_version: bool,
    /// `stats show-legends`: the page explains its columns and states.
    pub show_legends: bool,
    /// `stats show-node [NAME]`: the page shows this node name (empty: the
    /// host's name).
    pub show_node: Option<String>,
    /// `stats show-desc [TEXT]`: the page shows this description.
    pub show_desc: Option<String>,
    /// `stats scope NAME` lines: the page lists these proxies only (empty: all).
    pub scope: Vec<String>,
    /// `stats http-request allow|deny|auth [realm R] [if|unless COND]`, in
    /// order: the first that matches decides who gets the page.
    pub http_request: Vec<StatsRule>,
}

/// One `stats http-request` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsRule {
    /// What the rule does when it matches.
    pub verdict: StatsVerdict,
    /// `if`/`unless` COND; none: the rule always matches.
    pub condition: Option<Condition>,
    /// Where the line is written.
    pub span: Span,
}

/// What a matching `stats http-request` rule does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatsVerdict {
    /// The page is served, without asking for `stats auth` credentials.
    Allow,
    /// 403.
    Deny,
    /// 401 with a Basic challenge in this realm (none: `HAProxy
    /// Statistics`, as HAProxy).
    Auth(Option<String>),
}

impl StatsSettings {
    /// The page's path: `stats uri`, or HAProxy's default `/haproxy?stats`.
    pub fn uri(&self) -> &str {
        self.uri.as_deref().unwrap_or("/haproxy?stats")
    }

    /// The Basic realm: `stats realm`, or HAProxy's default
    /// `HAProxy Statistics`.
    pub fn realm(&self) -> &str {
        self.realm.as_deref().unwrap_or("HAProxy Statistics")
    }
}
