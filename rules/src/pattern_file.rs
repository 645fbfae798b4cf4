//! ACL pattern files (`acl … -f FILE`) as live lists: the runtime API's
//! `add acl`, `del acl` and `clear acl` change a file's entries, and every
//! ACL line that reads the file recompiles its matcher at once, so the next
//! request is decided with the new patterns (HAProxy shares one pattern
//! list per file name the same way). Lines without `-f` keep a fixed
//! matcher and pay nothing for this.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};

use crate::pattern::{MatchMethod, Matcher, PatternError};
use crate::value::Value;

/// One entry of a pattern file, with the id `show acl FILE` prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternEntry {
    /// The entry's id, unique within the file, for `del acl FILE #ID`.
    pub id: u64,
    /// The pattern as written.
    pub pattern: String,
}

/// A pattern file shared by the ACL lines that name it.
#[derive(Debug)]
pub struct PatternFile {
    /// The file's path as the configuration names it.
    pub path: String,
    /// The configuration line of each ACL line reading it.
    pub used_by: Mutex<Vec<u32>>,
    entries: Mutex<Vec<PatternEntry>>,
    next_id: AtomicU64,
    readers: Mutex<Vec<Weak<LiveMatcher>>>,
}

/// Why a runtime change was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PatternFileError {
    /// The pattern does not compile for a method a reading line uses.
    #[error("{0}")]
    Invalid(PatternError),
}

impl PatternFile {
    /// A file with `patterns` (its lines at startup) and no readers yet.
    pub fn new(path: &str, patterns: &[String]) -> PatternFile {
        let file = PatternFile {
            path: path.to_owned(),
            used_by: Mutex::new(Vec::new()),
            entries: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(1),
            readers: Mutex::new(Vec::new()),
        };
        {
            let mut entries = lock(&file.entries);
            for p in patterns {
                entries.push(file.entry(p));
            }
        }
        file
    }

    fn entry(&self, pattern: &str) -> PatternEntry {
        PatternEntry {
            // Spaced like addresses, as HAProxy's pointers are.
            id: 0x1000 + self.next_id.fetch_add(1, Ordering::Relaxed) * 0x50,
            pattern: pattern.to_owned(),
        }
    }

    /// The entries now, in order.
    pub fn entries(&self) -> Vec<PatternEntry> {
        lock(&self.entries).clone()
    }

    /// Adds a pattern; refused when a line reading the file could not
    /// compile it (a bad regex for `-m reg`, a bad address for `ip`…).
    pub fn add(&self, pattern: &str) -> Result<(), PatternFileError> {
        for reader in self.live_readers() {
            Matcher::compile(reader.method, &[pattern.to_owned()], reader.icase)
                .map_err(PatternFileError::Invalid)?;
        }
        let entry = self.entry(pattern);
        lock(&self.entries).push(entry);
        self.refresh();
        Ok(())
    }

    /// Deletes the entries equal to `pattern`, or the one whose id is
    /// `#0xID`; whether any was found.
    pub fn delete(&self, which: &str) -> bool {
        let by_id = which
            .strip_prefix('#')
            .and_then(|id| u64::from_str_radix(id.trim_start_matches("0x"), 16).ok());
        let removed = {
            let mut entries = lock(&self.entries);
            let before = entries.len();
            entries.retain(|e| match by_id {
                Some(id) => e.id != id,
                None => e.pattern != which,
            });
            before != entries.len()
        };
        if removed {
            self.refresh();
        }
        removed
    }

    /// Removes every entry (`clear acl`); the readers then match nothing.
    pub fn clear(&self) {
        lock(&self.entries).clear();
        self.refresh();
    }

    pub(crate) fn subscribe(&self, reader: &Arc<LiveMatcher>) {
        lock(&self.readers).push(Arc::downgrade(reader));
    }

    fn live_readers(&self) -> Vec<Arc<LiveMatcher>> {
        lock(&self.readers)
            .iter()
            .filter_map(Weak::upgrade)
            .collect()
    }

    fn refresh(&self) {
        for reader in self.live_readers() {
            reader.recompile();
        }
    }
}

/// The matcher of an ACL line that reads pattern files: its own patterns
/// plus the files' current entries, swapped whole on each change.
#[derive(Debug)]
pub struct LiveMatcher {
    method: MatchMethod,
    icase: bool,
    inline: Vec<String>,
    /// Whether the files are map files (`-M`): the key is the first word.
    map_files: bool,
    files: Vec<Arc<PatternFile>>,
    current: RwLock<Arc<Matcher>>,
}

impl LiveMatcher {
    pub(crate) fn new(
        method: MatchMethod,
        icase: bool,
        inline: Vec<String>,
        map_files: bool,
        files: Vec<Arc<PatternFile>>,
    ) -> Result<Arc<LiveMatcher>, PatternError> {
        let live = LiveMatcher {
            method,
            icase,
            inline,
            map_files,
            files,
            current: RwLock::new(Arc::new(Matcher::Bool)),
        };
        let first = live.build()?;
        *live.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(first);
        let live = Arc::new(live);
        for file in &live.files {
            file.subscribe(&live);
        }
        Ok(live)
    }

    fn patterns(&self) -> Vec<String> {
        let mut patterns = self.inline.clone();
        for file in &self.files {
            for e in file.entries() {
                let p = if self.map_files {
                    e.pattern.split_whitespace().next().unwrap_or("").to_owned()
                } else {
                    e.pattern
                };
                patterns.push(p);
            }
        }
        patterns
    }

    fn build(&self) -> Result<Matcher, PatternError> {
        Matcher::compile(self.method, &self.patterns(), self.icase)
    }

    fn recompile(&self) {
        // Every entry was checked when added, so this compiles.
        if let Ok(m) = self.build() {
            *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(m);
        }
    }

    /// Whether `value` matches the file's current patterns.
    pub fn matches_one(&self, value: &Value) -> bool {
        let current = self
            .current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        current.matches_one(value)
    }
}

/// A line's matcher: fixed at startup, or live when it reads files.
#[derive(Debug, Clone)]
pub enum LineMatcher {
    /// Patterns of the line alone, compiled once.
    Fixed(Matcher),
    /// Patterns that include `-f` files the runtime API may change.
    Live(Arc<LiveMatcher>),
}

impl LineMatcher {
    /// Whether `value` matches any of the line's patterns now.
    pub fn matches_one(&self, value: &Value) -> bool {
        match self {
            LineMatcher::Fixed(m) => m.matches_one(value),
            LineMatcher::Live(m) => m.matches_one(value),
        }
    }

    /// Whether the patterns never change (the switching index may hash them).
    pub fn is_fixed(&self) -> bool {
        matches!(self, LineMatcher::Fixed(_))
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Value<'static> {
        Value::Str(s.to_owned().into())
    }

    #[test]
    fn a_line_sees_its_files_changes_at_once() {
        let file = Arc::new(PatternFile::new("/x.acl", &["foo".to_owned()]));
        let live = LiveMatcher::new(
            MatchMethod::Str,
            true,
            Vec::new(),
            false,
            vec![file.clone()],
        )
        .unwrap();
        assert!(live.matches_one(&text("FOO")));
        assert!(!live.matches_one(&text("Mon User Agent;")));
        file.add("Mon User Agent;").unwrap();
        assert!(live.matches_one(&text("mon user agent;")));
        assert!(file.delete("Mon User Agent;"));
        assert!(!file.delete("Mon User Agent;"));
        assert!(!live.matches_one(&text("Mon User Agent;")));
        let id = file.entries()[0].id;
        assert!(file.delete(&format!("#{id:#x}")));
        assert!(!live.matches_one(&text("foo")));
        file.add("bar").unwrap();
        file.clear();
        assert!(file.entries().is_empty() && !live.matches_one(&text("bar")));
    }

    #[test]
    fn a_pattern_a_reader_cannot_compile_is_refused() {
        let file = Arc::new(PatternFile::new("/ips.acl", &[]));
        let _live = LiveMatcher::new(
            MatchMethod::Ip,
            false,
            Vec::new(),
            false,
            vec![file.clone()],
        )
        .unwrap();
        assert!(file.add("not-an-ip").is_err());
        assert!(file.entries().is_empty());
        file.add("10.0.0.0/8").unwrap();
    }
}
