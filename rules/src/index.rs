//! The decision structure of the switching rules: which `use_backend`
//! rules are worth checking for a request, in HAProxy's first-match order.
//!
//! A rule can only hold when, in one of its `||` alternatives, every
//! positive ACL holds. When each alternative has a positive ACL answered by
//! a pattern group ([`crate::pattern_sets`]), one of them is the
//! alternative's guard: the rule is a candidate only once its guard's line
//! has matched. A request then costs one pass per group over its sample;
//! the matched lines name their ACLs, the ACLs name the rules they guard,
//! and the candidates are checked in order with the ACL answers already
//! known. Rules without guards (`unless`, only negated terms, no
//! condition, ACLs on `int`/`ip`/`-f` lines) are checked in order among
//! them, so the answer is exactly the first rule that holds.
//!
//! Groups are searched lazily, by the first rule one of their guards
//! guards: once a rule holds, groups that could only offer later rules are
//! never searched.

use smallvec::SmallVec;

use crate::compile::{Cond, ProxyRules};
use crate::eval::Eval;
use crate::pattern_sets::PatternSets;
use crate::request::RequestFacts;

/// The guards of one proxy's switching rules: which rules a request's
/// matched pattern-group lines make worth checking, and which are checked
/// whatever they say.
#[derive(Debug, Clone, Default)]
pub struct SwitchIndex {
    /// Per ACL: the switching rules it guards, ascending.
    guarded: Vec<Vec<usize>>,
    /// (first rule guarded, group) for the groups holding a guard's line,
    /// ascending.
    groups: Vec<(usize, usize)>,
    /// The rules checked whatever the groups answer, ascending.
    unguarded: Vec<usize>,
}

impl SwitchIndex {
    /// Chooses a guard for each alternative of each switching rule of `proxy`
    /// (the ACL that guards the fewest rules) and records it.
    pub fn build(proxy: &ProxyRules) -> SwitchIndex {
        let sets = &proxy.sets;
        // An ACL used by few rules makes the better guard.
        let mut uses = vec![0usize; proxy.acls.len()];
        for cond in proxy.switching.iter().filter_map(|r| r.cond.as_ref()) {
            for term in cond.alternatives.iter().flatten() {
                uses[term.acl] += 1;
            }
        }
        let mut guarded = vec![Vec::new(); proxy.acls.len()];
        let mut unguarded = Vec::new();
        for (i, rule) in proxy.switching.iter().enumerate() {
            match guards(rule.cond.as_ref(), sets, &uses) {
                Some(acls) => {
                    for acl in acls {
                        let rules: &mut Vec<usize> = &mut guarded[acl];
                        if rules.last() != Some(&i) {
                            rules.push(i);
                        }
                    }
                }
                None => unguarded.push(i),
            }
        }
        let mut first = vec![usize::MAX; sets.groups().len()];
        for (acl, rules) in guarded.iter().enumerate() {
            let Some(&rule) = rules.first() else {
                continue;
            };
            for line in 0..proxy.acls[acl].lines.len() {
                if let Some(p) = sets.placement(acl, line) {
                    first[p.group] = first[p.group].min(rule);
                }
            }
        }
        let mut groups: Vec<(usize, usize)> = first
            .iter()
            .enumerate()
            .filter(|(_, &rule)| rule != usize::MAX)
            .map(|(group, &rule)| (rule, group))
            .collect();
        groups.sort_unstable();
        SwitchIndex {
            guarded,
            groups,
            unguarded,
        }
    }

    /// How many rules are checked whatever the groups answer.
    pub fn unguarded_len(&self) -> usize {
        self.unguarded.len()
    }
}

/// One guard ACL per alternative of `cond`, or `None` when some
/// alternative (or the condition as a whole) has none.
fn guards(cond: Option<&Cond>, sets: &PatternSets, uses: &[usize]) -> Option<Vec<usize>> {
    let cond = cond?;
    if cond.unless {
        return None;
    }
    cond.alternatives
        .iter()
        .map(|alt| {
            alt.iter()
                .filter(|t| !t.negated && sets.covers(t.acl))
                .min_by_key(|t| uses[t.acl])
                .map(|t| t.acl)
        })
        .collect()
}

/// The switching rules to check for one request, in order.
pub(crate) struct Candidates<'i> {
    index: &'i SwitchIndex,
    /// The next group of `index.groups` to search.
    next_group: usize,
    /// Guarded rules whose guard matched, not yet checked, the first
    /// last; on the stack (a request usually matches a line or two, each
    /// guarding a rule or two).
    found: SmallVec<[usize; 8]>,
    next_unguarded: usize,
    last: Option<usize>,
}

impl<'i> Candidates<'i> {
    pub fn new(index: &'i SwitchIndex) -> Self {
        Candidates {
            index,
            next_group: 0,
            found: SmallVec::new(),
            next_unguarded: 0,
            last: None,
        }
    }

    /// The next rule that may hold; groups are searched (through `eval`'s
    /// memo) as soon as they could offer a rule before it.
    pub fn next(&mut self, eval: &mut Eval<'_>, req: &dyn RequestFacts) -> Option<usize> {
        let proxy = eval.proxy();
        loop {
            let guarded = self.found.last().copied().unwrap_or(usize::MAX);
            let unguarded = self
                .index
                .unguarded
                .get(self.next_unguarded)
                .copied()
                .unwrap_or(usize::MAX);
            let upcoming = guarded.min(unguarded);
            if let Some(&(first, group)) = self.index.groups.get(self.next_group) {
                if first <= upcoming {
                    self.next_group += 1;
                    let fetch_group = &proxy.sets.groups()[group];
                    let before = self.found.len();
                    for &slot in eval.group_answer(group, req).slots() {
                        let acl = fetch_group.acl_of(slot);
                        self.found.extend_from_slice(&self.index.guarded[acl]);
                    }
                    if self.found.len() > before {
                        self.found.sort_unstable_by(|a, b| b.cmp(a));
                    }
                    continue;
                }
            }
            if upcoming == usize::MAX {
                return None;
            }
            if guarded < unguarded {
                self.found.pop();
            } else {
                self.next_unguarded += 1;
            }
            // A rule guarded by two matched ACLs comes up twice.
            if self.last == Some(upcoming) {
                continue;
            }
            self.last = Some(upcoming);
            return Some(upcoming);
        }
    }
}
