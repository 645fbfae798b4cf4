//! Many regexes run over a sample in one pass, reporting which of them
//! match. A lazy DFA (regex-automata's hybrid engine) built for all the
//! patterns at once walks the sample byte by byte and yields each matching
//! pattern as it finds it, so the cost is the sample's length plus the
//! number of matches, never the number of patterns. A fully built DFA would
//! be faster only slightly and is far larger for thousands of rules (see
//! docs/performance.md); `regex::RegexSet` answers with a list as long as
//! the pattern count, which makes the cost grow with the rules.
//!
//! The lazy DFA can decline a pattern (a Unicode word boundary) or a search;
//! the matcher then answers with `regex::RegexSet`, which has the same
//! semantics with slower engines behind it. The set is built only then: for
//! 10,000 patterns it takes as long to build as the DFA.

use std::sync::{Arc, OnceLock};

use regex::{RegexSet, RegexSetBuilder};
use regex_automata::hybrid::dfa::{Cache, OverlappingState, DFA};
use regex_automata::util::pool::Pool;
use regex_automata::util::syntax;
use regex_automata::{Input, MatchKind};

/// Room for compiled regex programs: 10,000 routing patterns need more
/// than the `regex` crate's default of 10 MiB.
pub(crate) const PROGRAM_LIMIT: usize = 256 << 20;

/// Per-thread cache of the lazy DFA's states. Once the request mix has been
/// seen, every transition is a table lookup.
const DFA_CACHE: usize = 8 << 20;

type CachePool = Pool<Cache, Box<dyn Fn() -> Cache + Send + Sync>>;

/// Regexes compiled together, all case-sensitive or all `-i`.
#[derive(Clone)]
pub struct MultiRegex {
    engine: Arc<Engine>,
}

struct Engine {
    patterns: Vec<String>,
    icase: bool,
    /// `None` when the lazy DFA cannot take these patterns.
    dfa: Option<(DFA, CachePool)>,
    /// The same patterns for the searches the DFA declines.
    set: OnceLock<Result<RegexSet, regex::Error>>,
}

impl Engine {
    fn set(&self) -> &Result<RegexSet, regex::Error> {
        self.set.get_or_init(|| {
            RegexSetBuilder::new(&self.patterns)
                .case_insensitive(self.icase)
                .size_limit(PROGRAM_LIMIT)
                .build()
        })
    }
}

impl std::fmt::Debug for MultiRegex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MultiRegex")
            .field("patterns", &self.engine.patterns.len())
            .field("lazy_dfa", &self.engine.dfa.is_some())
            .finish()
    }
}

impl MultiRegex {
    /// Compiles `patterns` (each already checked one by one at its line).
    pub fn new(patterns: &[String], icase: bool) -> Result<MultiRegex, regex::Error> {
        let dfa = lazy_dfa(patterns, icase).map(|dfa| {
            let for_pool = dfa.clone();
            let create: Box<dyn Fn() -> Cache + Send + Sync> =
                Box::new(move || for_pool.create_cache());
            (dfa, Pool::new(create))
        });
        let engine = Engine {
            patterns: patterns.to_vec(),
            icase,
            dfa,
            set: OnceLock::new(),
        };
        if engine.dfa.is_none() {
            // Every search goes to the set: build it now, errors included.
            if let Err(e) = engine.set() {
                return Err(e.clone());
            }
        }
        Ok(MultiRegex {
            engine: Arc::new(engine),
        })
    }

    /// How many patterns the engine holds.
    pub fn len(&self) -> usize {
        self.engine.patterns.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.engine.patterns.is_empty()
    }

    /// Whether the lazy DFA serves the searches.
    pub fn is_lazy_dfa(&self) -> bool {
        self.engine.dfa.is_some()
    }

    /// Calls `found` with the index of every pattern matching `text` (a
    /// pattern may be reported more than once, and again by the set when
    /// the DFA gives up half-way).
    pub fn each_match(&self, text: &str, found: &mut dyn FnMut(usize)) {
        if let Some((dfa, pool)) = &self.engine.dfa {
            let mut cache = pool.get();
            let input = Input::new(text);
            let mut state = OverlappingState::start();
            loop {
                if dfa
                    .try_search_overlapping_fwd(&mut cache, &input, &mut state)
                    .is_err()
                {
                    break;
                }
                match state.get_match() {
                    Some(m) => found(m.pattern().as_usize()),
                    None => return,
                }
            }
        }
        // The DFA gave up on this sample: the set answers instead. (It
        // compiles: the DFA's program, the same size, did.)
        if let Ok(set) = self.engine.set() {
            for p in set.matches(text).iter() {
                found(p);
            }
        }
    }
}

/// The lazy DFA for `patterns`, with the `regex` crate's syntax (Unicode,
/// `-i` as case folding), or `None` when it cannot be built.
fn lazy_dfa(patterns: &[String], icase: bool) -> Option<DFA> {
    DFA::builder()
        .configure(
            DFA::config()
                .match_kind(MatchKind::All)
                .cache_capacity(DFA_CACHE),
        )
        .syntax(syntax::Config::new().case_insensitive(icase))
        .thompson(regex_automata::nfa::thompson::Config::new().nfa_size_limit(Some(PROGRAM_LIMIT)))
        .build_many(patterns)
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(m: &MultiRegex, text: &str) -> Vec<usize> {
        let mut out = Vec::new();
        m.each_match(text, &mut |p| out.push(p));
        out.sort_unstable();
        out.dedup();
        out
    }

    fn strings(p: &[&str]) -> Vec<String> {
        p.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn reports_every_matching_pattern() {
        let m = MultiRegex::new(&strings(&["^/a", "b$", "^/a/b$", "x"]), false).unwrap();
        assert!(m.is_lazy_dfa());
        assert_eq!(matches(&m, "/a/b"), vec![0, 1, 2]);
        assert_eq!(matches(&m, "/A/B"), Vec::<usize>::new());
        let i = MultiRegex::new(&strings(&["^/a", "b$"]), true).unwrap();
        assert_eq!(matches(&i, "/A/B"), vec![0, 1]);
    }

    #[test]
    fn a_pattern_the_dfa_declines_is_answered_by_the_set() {
        // A Unicode word boundary: the lazy DFA is not built for it.
        let m = MultiRegex::new(&strings(&[r"\bfoo\b", "^/x"]), false).unwrap();
        assert!(!m.is_lazy_dfa());
        assert_eq!(matches(&m, "a foo b"), vec![0]);
        assert_eq!(matches(&m, "/x"), vec![1]);
        assert_eq!(matches(&m, "éfooé"), Vec::<usize>::new());
    }
}
