//! The decision tree's fast path: `use_backend` rules whose condition is a
//! single exact-string or prefix ACL (the shape of host and path routing)
//! are gathered per fetch into one hash table, so that choosing among
//! 10,000 host rules costs one fetch and one lookup. Rules of any other
//! shape are evaluated in order, but only those written before the best
//! indexed candidate, which keeps HAProxy's first-match answer exact.

use rustc_hash::FxHashMap;

use crate::compile::{Expr, ProxyRules, Target};
use crate::pattern::MatchMethod;
use crate::request::RequestFacts;
use crate::RuleSet;

/// Indexed rules that share one fetch and case rule.
#[derive(Debug, Clone)]
struct Table {
    expr: Expr,
    icase: bool,
    /// Pattern → first rule index using it.
    exact: FxHashMap<String, usize>,
    prefixes: FxHashMap<String, usize>,
    /// The distinct prefix lengths (bytes), ascending.
    prefix_lens: Vec<usize>,
}

#[derive(Debug, Clone, Default)]
pub struct SwitchIndex {
    tables: Vec<Table>,
    /// Per switching rule: answered by the index.
    indexed: Vec<bool>,
    /// The rules the index does not answer, in order.
    unindexed: Vec<usize>,
}

impl SwitchIndex {
    pub fn build(proxy: &ProxyRules) -> SwitchIndex {
        let mut index = SwitchIndex {
            tables: Vec::new(),
            indexed: vec![false; proxy.switching.len()],
            unindexed: Vec::new(),
        };
        for (i, rule) in proxy.switching.iter().enumerate() {
            let (Some(cond), Target::Named(_)) = (&rule.cond, &rule.target) else {
                continue;
            };
            if cond.unless
                || cond.alternatives.len() != 1
                || cond.alternatives[0].len() != 1
                || cond.alternatives[0][0].negated
            {
                continue;
            }
            let acl = &proxy.acls[cond.alternatives[0][0].acl];
            // Every line of the ACL must be indexable on the same table.
            let eligible = acl.lines.iter().all(|l| {
                l.expr.converters.is_empty()
                    && l.matcher.is_fixed()
                    && matches!(l.method, MatchMethod::Str | MatchMethod::Beg)
            });
            if !eligible || acl.lines.is_empty() {
                continue;
            }
            for line in &acl.lines {
                let position = index
                    .tables
                    .iter()
                    .position(|t| t.expr.fetch == line.expr.fetch && t.icase == line.icase);
                let table = match position {
                    Some(p) => &mut index.tables[p],
                    None => {
                        index.tables.push(Table {
                            expr: line.expr.clone(),
                            icase: line.icase,
                            exact: FxHashMap::default(),
                            prefixes: FxHashMap::default(),
                            prefix_lens: Vec::new(),
                        });
                        index.tables.last_mut().expect("just pushed")
                    }
                };
                for pattern in &line.patterns {
                    let key = if line.icase {
                        pattern.to_lowercase()
                    } else {
                        pattern.clone()
                    };
                    match line.method {
                        MatchMethod::Str => {
                            table.exact.entry(key).or_insert(i);
                        }
                        _ => {
                            if !table.prefix_lens.contains(&key.len()) {
                                table.prefix_lens.push(key.len());
                            }
                            table.prefixes.entry(key).or_insert(i);
                        }
                    }
                }
            }
            index.indexed[i] = true;
        }
        for t in &mut index.tables {
            t.prefix_lens.sort_unstable();
        }
        index.unindexed = (0..proxy.switching.len())
            .filter(|&i| !index.indexed[i])
            .collect();
        index
    }

    /// The switching rules to evaluate one by one (all of them when `linear`).
    pub fn to_evaluate(&self, linear: bool, total: usize) -> Box<dyn Iterator<Item = usize> + '_> {
        if linear {
            Box::new(0..total)
        } else {
            Box::new(self.unindexed.iter().copied())
        }
    }
}

impl RuleSet {
    /// The first indexed rule that matches `req`, if any.
    pub(crate) fn index_candidate(
        &self,
        proxy: &ProxyRules,
        req: &dyn RequestFacts,
    ) -> Option<usize> {
        let mut best: Option<usize> = None;
        for table in &proxy.index.tables {
            self.expr_each(&table.expr, req, &mut |value| {
                let text = if table.icase {
                    crate::pattern::fold_case(value.text())
                } else {
                    value.text()
                };
                if let Some(&i) = table.exact.get(text.as_ref()) {
                    best = Some(best.map_or(i, |b| b.min(i)));
                }
                for &len in &table.prefix_lens {
                    if len > text.len() {
                        break;
                    }
                    if !text.is_char_boundary(len) {
                        continue;
                    }
                    if let Some(&i) = table.prefixes.get(&text[..len]) {
                        best = Some(best.map_or(i, |b| b.min(i)));
                    }
                }
            });
        }
        best
    }
}
