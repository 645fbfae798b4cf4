//! The string patterns of every ACL line on the same fetch expression,
//! compiled together: one pass over the sample tells which lines match.
//!
//! A proxy's ACL lines are grouped by expression (the fetch with its
//! converters: `path`, `hdr(host),lower`…). Within a group each line gets a
//! slot, and its patterns go into the engine of their kind and case rule:
//! all regexes into one lazy DFA ([`MultiRegex`]), exact strings, prefixes
//! and suffixes into hash tables, substrings (`sub`, `dom`, `dir`) into one
//! Aho–Corasick automaton. The answer for a request is the set of slots
//! that matched, computed when an ACL of the group is first needed.
//!
//! Lines whose patterns can change at run time (`-f` files) and the
//! non-string methods (`int`, `ip`, `len`, `found`, `bool`) keep their own
//! matcher.

use std::borrow::Cow;

use aho_corasick::AhoCorasick;
use rustc_hash::FxHashMap;
use smallvec::SmallVec;
use switchyard_grammar::{Diagnostic, Diagnostics, Span};

use crate::compile::{Acl, AclLine, Expr};
use crate::converter::Converter;
use crate::multi_regex::MultiRegex;
use crate::pattern::{fold_case, is_dir_delimiter, is_dom_delimiter, trim_delimiters, MatchMethod};
use crate::request::RequestFacts;
use crate::RuleSet;

/// A line's position in its group.
pub type Slot = u32;

/// Where an ACL line's answer is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    /// The group the line's patterns went to.
    pub group: usize,
    /// The line's slot in that group: the answer a search reports for it.
    pub slot: Slot,
}

/// Every group of one proxy, and where each ACL line went.
#[derive(Debug, Clone, Default)]
pub struct PatternSets {
    groups: Vec<FetchGroup>,
    /// Per ACL, per line: its group and slot, when it is in one.
    placement: Vec<Vec<Option<Placement>>>,
}

/// The lines that share one expression.
#[derive(Debug, Clone)]
pub struct FetchGroup {
    expr: Expr,
    /// Per slot: the ACL the line belongs to.
    acl_of: Vec<usize>,
    engines: Vec<Engine>,
}

#[derive(Debug, Clone)]
enum Engine {
    Regex {
        set: MultiRegex,
        /// Per pattern of the set: its line.
        slot_of: Vec<Slot>,
    },
    Exact {
        icase: bool,
        lines: FxHashMap<String, Vec<Slot>>,
    },
    Prefix(Affixes),
    Suffix(Affixes),
    Substring {
        icase: bool,
        searcher: AhoCorasick,
        /// Per needle of the searcher: the lines looking for it, and how.
        users: Vec<Vec<(Slot, Token)>>,
        /// `sub` lines with an empty pattern: any value matches them.
        everywhere: Vec<Slot>,
    },
}

/// Prefixes or suffixes, looked up once per distinct length.
#[derive(Debug, Clone)]
struct Affixes {
    icase: bool,
    lines: FxHashMap<String, Vec<Slot>>,
    /// Ascending.
    lens: Vec<usize>,
}

/// How a substring must sit in the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    /// Anywhere (`sub`).
    Anywhere,
    /// Between domain delimiters (`dom`).
    Domain,
    /// Between path delimiters (`dir`).
    Directory,
}

/// Which slots of a group matched: a short list, with a bit set beside it
/// once the list grows (a value matching hundreds of prefixes).
#[derive(Debug, Clone, Default)]
pub struct Matched {
    /// On the stack: a value usually matches a line or two.
    list: SmallVec<[Slot; 4]>,
    bits: Option<Vec<u64>>,
    /// Whether more buffered data could still change the fetched values
    /// (a `tcp-request content` fetch on a payload that may grow), so that
    /// a line not matched is "missing" rather than false.
    may_change: bool,
}

const LIST_ONLY: usize = 16;

fn set_bit(bits: &mut Vec<u64>, slot: Slot) {
    let word = slot as usize / 64;
    if bits.len() <= word {
        bits.resize(word + 1, 0);
    }
    bits[word] |= 1 << (slot % 64);
}

impl Matched {
    fn insert(&mut self, slot: Slot) {
        if self.contains(slot) {
            return;
        }
        self.list.push(slot);
        if let Some(bits) = &mut self.bits {
            set_bit(bits, slot);
        } else if self.list.len() > LIST_ONLY {
            let mut bits = Vec::new();
            for &s in &self.list {
                set_bit(&mut bits, s);
            }
            self.bits = Some(bits);
        }
    }

    /// Whether the search reported the line in `slot`.
    pub fn contains(&self, slot: Slot) -> bool {
        match &self.bits {
            Some(bits) => bits
                .get(slot as usize / 64)
                .is_some_and(|w| w & (1 << (slot % 64)) != 0),
            None => self.list.contains(&slot),
        }
    }

    /// The matched slots, in the order found.
    pub fn slots(&self) -> &[Slot] {
        &self.list
    }

    /// Whether more buffered data could still change the answer.
    pub fn may_change(&self) -> bool {
        self.may_change
    }
}

impl PatternSets {
    /// Groups the eligible lines of `acls`; a group too big to compile is
    /// an error at its first line.
    pub fn build(acls: &[Acl], diags: &mut Diagnostics) -> PatternSets {
        let mut builders: Vec<GroupBuilder> = Vec::new();
        let mut placement: Vec<Vec<Option<Placement>>> = Vec::new();
        for (id, acl) in acls.iter().enumerate() {
            let row = acl
                .lines
                .iter()
                .map(|line| {
                    eligible(line).then(|| {
                        let group =
                            match builders.iter().position(|b| same_expr(&b.expr, &line.expr)) {
                                Some(g) => g,
                                None => {
                                    builders.push(GroupBuilder::new(line.expr.clone()));
                                    builders.len() - 1
                                }
                            };
                        let slot = builders[group].add(id, line);
                        builders[group].lines.push(line.span);
                        Placement { group, slot }
                    })
                })
                .collect();
            placement.push(row);
        }
        let mut groups = Vec::new();
        let mut renumbered = Vec::new();
        for builder in builders {
            let (first, count, text) = (
                builder.lines[0],
                builder.lines.len(),
                builder.expr.text.clone(),
            );
            renumbered.push(match builder.compile() {
                Some(group) => {
                    groups.push(group);
                    Some(groups.len() - 1)
                }
                None => {
                    diags.push(Diagnostic::error(
                        first,
                        format!(
                            "the patterns of the {count} ACL lines on '{text}' are too large to compile together (over {} MiB)",
                            crate::multi_regex::PROGRAM_LIMIT >> 20
                        ),
                    ));
                    None
                }
            });
        }
        for p in placement.iter_mut().flatten() {
            *p = p.and_then(|p| renumbered[p.group].map(|group| Placement { group, ..p }));
        }
        PatternSets { groups, placement }
    }

    /// Where line `line` of ACL `acl` is answered, if in a group.
    pub fn placement(&self, acl: usize, line: usize) -> Option<Placement> {
        self.placement.get(acl)?.get(line).copied().flatten()
    }

    /// Whether every line of ACL `acl` is answered by a group.
    pub fn covers(&self, acl: usize) -> bool {
        self.placement
            .get(acl)
            .is_some_and(|row| !row.is_empty() && row.iter().all(Option::is_some))
    }

    /// The groups, one per fetch expression.
    pub fn groups(&self) -> &[FetchGroup] {
        &self.groups
    }
}

impl FetchGroup {
    /// The ACL whose line sits in `slot`.
    pub fn acl_of(&self, slot: Slot) -> usize {
        self.acl_of[slot as usize]
    }

    /// Every line of the group that matches `req`: each value of the
    /// expression is searched once by each engine.
    pub fn matched(&self, set: &RuleSet, req: &dyn RequestFacts) -> Matched {
        let mut out = Matched::default();
        out.may_change = set.expr_each(&self.expr, req, &mut |value| {
            let text = value.text();
            let mut folded: Option<Cow<'_, str>> = None;
            for engine in &self.engines {
                let icase = engine.icase();
                let t: &str = if icase {
                    folded.get_or_insert_with(|| fold_case(Cow::Borrowed(text.as_ref())))
                } else {
                    &text
                };
                engine.search(t, &mut out);
            }
        });
        out
    }
}

impl Engine {
    fn icase(&self) -> bool {
        match self {
            // Case folding is compiled into the automaton.
            Engine::Regex { .. } => false,
            Engine::Exact { icase, .. } | Engine::Substring { icase, .. } => *icase,
            Engine::Prefix(a) | Engine::Suffix(a) => a.icase,
        }
    }

    /// Adds the slots matching `text` (already folded for `-i`).
    fn search(&self, text: &str, out: &mut Matched) {
        let mut add = |slots: &[Slot]| slots.iter().for_each(|&s| out.insert(s));
        match self {
            Engine::Regex { set, slot_of } => {
                set.each_match(text, &mut |p| out.insert(slot_of[p]));
            }
            Engine::Exact { lines, .. } => {
                if let Some(slots) = lines.get(text) {
                    add(slots);
                }
            }
            Engine::Prefix(a) => {
                for &len in &a.lens {
                    if len > text.len() {
                        break;
                    }
                    if let Some(slots) = text.get(..len).and_then(|p| a.lines.get(p)) {
                        add(slots);
                    }
                }
            }
            Engine::Suffix(a) => {
                for &len in &a.lens {
                    if len > text.len() {
                        break;
                    }
                    if let Some(slots) = text.get(text.len() - len..).and_then(|s| a.lines.get(s)) {
                        add(slots);
                    }
                }
            }
            Engine::Substring {
                searcher,
                users,
                everywhere,
                ..
            } => {
                add(everywhere);
                let bytes = text.as_bytes();
                for m in searcher.find_overlapping_iter(text) {
                    for &(slot, token) in &users[m.pattern().as_usize()] {
                        if token.sits(bytes, m.start(), m.end()) {
                            out.insert(slot);
                        }
                    }
                }
            }
        }
    }
}

impl Token {
    /// Whether an occurrence at `start..end` of `text` counts.
    fn sits(self, text: &[u8], start: usize, end: usize) -> bool {
        let delim: fn(u8) -> bool = match self {
            Token::Anywhere => return true,
            Token::Domain => is_dom_delimiter,
            Token::Directory => is_dir_delimiter,
        };
        (start == 0 || delim(text[start - 1])) && (end == text.len() || delim(text[end]))
    }
}

/// Whether a line's patterns can join a group.
fn eligible(line: &AclLine) -> bool {
    line.matcher.is_fixed()
        && matches!(
            line.method,
            MatchMethod::Str
                | MatchMethod::Beg
                | MatchMethod::End
                | MatchMethod::Sub
                | MatchMethod::Dom
                | MatchMethod::Dir
                | MatchMethod::Reg
        )
}

/// The same fetch through the same converters yields the same values.
fn same_expr(a: &Expr, b: &Expr) -> bool {
    a.fetch == b.fetch
        && a.converters.len() == b.converters.len()
        && a.converters
            .iter()
            .zip(&b.converters)
            .all(|(x, y)| match (x, y) {
                (Converter::Lower, Converter::Lower) | (Converter::Upper, Converter::Upper) => true,
                (
                    Converter::Map {
                        method: m1,
                        map: f1,
                        default: d1,
                    },
                    Converter::Map {
                        method: m2,
                        map: f2,
                        default: d2,
                    },
                ) => m1 == m2 && std::sync::Arc::ptr_eq(f1, f2) && d1 == d2,
                _ => false,
            })
}

/// Patterns gathered for one group, by kind and case rule.
struct GroupBuilder {
    expr: Expr,
    /// Where each line is written, by slot.
    lines: Vec<Span>,
    acl_of: Vec<usize>,
    /// Index 0: case-sensitive, 1: `-i`.
    regexes: [(Vec<String>, Vec<Slot>); 2],
    exact: [FxHashMap<String, Vec<Slot>>; 2],
    prefixes: [FxHashMap<String, Vec<Slot>>; 2],
    suffixes: [FxHashMap<String, Vec<Slot>>; 2],
    substrings: [Substrings; 2],
}

/// `sub`/`dom`/`dir` patterns gathered for one Aho–Corasick automaton.
#[derive(Default)]
struct Substrings {
    /// The distinct needles, in first-seen order.
    needles: Vec<String>,
    /// Needle → its index in `needles`.
    known: FxHashMap<String, usize>,
    /// Per needle: the lines looking for it, and how.
    users: Vec<Vec<(Slot, Token)>>,
    /// `sub` lines with an empty pattern.
    everywhere: Vec<Slot>,
}

impl GroupBuilder {
    fn new(expr: Expr) -> GroupBuilder {
        GroupBuilder {
            expr,
            lines: Vec::new(),
            acl_of: Vec::new(),
            regexes: Default::default(),
            exact: Default::default(),
            prefixes: Default::default(),
            suffixes: Default::default(),
            substrings: Default::default(),
        }
    }

    /// Gives `line` (of ACL `acl`) a slot and files its patterns.
    fn add(&mut self, acl: usize, line: &AclLine) -> Slot {
        let slot = self.acl_of.len() as Slot;
        self.acl_of.push(acl);
        let c = usize::from(line.icase);
        let fold = |p: &String| {
            if line.icase {
                p.to_lowercase()
            } else {
                p.clone()
            }
        };
        for p in &line.patterns {
            match line.method {
                MatchMethod::Reg => {
                    self.regexes[c].0.push(p.clone());
                    self.regexes[c].1.push(slot);
                }
                MatchMethod::Str => push(&mut self.exact[c], fold(p), slot),
                MatchMethod::Beg => push(&mut self.prefixes[c], fold(p), slot),
                MatchMethod::End => push(&mut self.suffixes[c], fold(p), slot),
                MatchMethod::Sub | MatchMethod::Dom | MatchMethod::Dir => {
                    let (token, needle) = match line.method {
                        MatchMethod::Sub => (Token::Anywhere, fold(p)),
                        MatchMethod::Dom => {
                            (Token::Domain, trim_delimiters(&fold(p), is_dom_delimiter))
                        }
                        _ => (
                            Token::Directory,
                            trim_delimiters(&fold(p), is_dir_delimiter),
                        ),
                    };
                    let Substrings {
                        needles,
                        known,
                        users,
                        everywhere,
                    } = &mut self.substrings[c];
                    if needle.is_empty() {
                        // An empty `sub` pattern is in every value; an
                        // empty `dom`/`dir` one is no token.
                        if token == Token::Anywhere {
                            everywhere.push(slot);
                        }
                        continue;
                    }
                    let at = *known.entry(needle.clone()).or_insert_with(|| {
                        needles.push(needle);
                        users.push(Vec::new());
                        needles.len() - 1
                    });
                    users[at].push((slot, token));
                }
                _ => unreachable!("only string methods are grouped"),
            }
        }
        slot
    }

    /// The group's engines, or `None` when one cannot be built.
    fn compile(self) -> Option<FetchGroup> {
        let mut engines = Vec::new();
        for (c, (patterns, slot_of)) in self.regexes.into_iter().enumerate() {
            if !patterns.is_empty() {
                let set = MultiRegex::new(&patterns, c == 1).ok()?;
                engines.push(Engine::Regex { set, slot_of });
            }
        }
        for (c, lines) in self.exact.into_iter().enumerate() {
            if !lines.is_empty() {
                engines.push(Engine::Exact {
                    icase: c == 1,
                    lines,
                });
            }
        }
        for (c, lines) in self.prefixes.into_iter().enumerate() {
            if !lines.is_empty() {
                engines.push(Engine::Prefix(Affixes::new(c == 1, lines)));
            }
        }
        for (c, lines) in self.suffixes.into_iter().enumerate() {
            if !lines.is_empty() {
                engines.push(Engine::Suffix(Affixes::new(c == 1, lines)));
            }
        }
        for (c, subs) in self.substrings.into_iter().enumerate() {
            let Substrings {
                needles,
                users,
                everywhere,
                ..
            } = subs;
            if !needles.is_empty() || !everywhere.is_empty() {
                engines.push(Engine::Substring {
                    icase: c == 1,
                    searcher: AhoCorasick::new(&needles).ok()?,
                    users,
                    everywhere,
                });
            }
        }
        Some(FetchGroup {
            expr: self.expr,
            acl_of: self.acl_of,
            engines,
        })
    }
}

impl Affixes {
    fn new(icase: bool, lines: FxHashMap<String, Vec<Slot>>) -> Affixes {
        let mut lens: Vec<usize> = lines.keys().map(String::len).collect();
        lens.sort_unstable();
        lens.dedup();
        Affixes { icase, lines, lens }
    }
}

fn push(map: &mut FxHashMap<String, Vec<Slot>>, key: String, slot: Slot) {
    let slots = map.entry(key).or_default();
    if slots.last() != Some(&slot) {
        slots.push(slot);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matched_slots_switch_to_bits_when_many() {
        let mut m = Matched::default();
        for s in (0..100).chain([700, 3]) {
            m.insert(s);
            m.insert(s);
        }
        assert_eq!(m.slots().len(), 101);
        assert!(m.bits.is_some());
        assert!((0..100).all(|s| m.contains(s)) && m.contains(700));
        assert!(!m.contains(100) && !m.contains(5000));
    }

    #[test]
    fn tokens_sit_between_delimiters() {
        let text = b"www.example.com:80";
        assert!(Token::Domain.sits(text, 4, 11));
        assert!(!Token::Directory.sits(text, 4, 11));
        assert!(Token::Anywhere.sits(text, 5, 6));
        assert!(Token::Directory.sits(b"/a/img/b", 3, 6));
        assert!(!Token::Directory.sits(b"/a/imgs/b", 3, 6));
    }
}
