//! The map files of the map converters (`map`, `map_str`, `map_beg`,
//! `map_end`, `map_sub`, `map_dom`, `map_reg`, `map_int`, `map_ip`), read
//! at compile time and changed at run time (the runtime API's `add map`,
//! `del map`…).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use crate::pattern::{MatchMethod, Matcher};
/// A map file: (key, value) lines, `#` comments, in file order.
pub struct MapFile {
    /// The file's path as the configuration names it (and `show map` lists it).
    pub path: String,
    /// The entries now; the runtime API swaps in a new list (`add map`,
    /// `del map`…) and lookups take whichever list is current.
    current: RwLock<Arc<MapEntries>>,
    /// The match methods converters use this map with, so that a new key
    /// is checked (a `map_reg` key must be a valid regex) before it is added.
    methods: RwLock<Vec<MatchMethod>>,
    next_id: AtomicU64,
}

/// One `key value` line of a map, with the id `show map` prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapEntry {
    /// The entry's id, unique within the map, for `del map #ID`.
    pub id: u64,
    /// The key, compared with the fetched value by the converter's method.
    pub key: String,
    /// The value the converter returns when the key matches.
    pub value: String,
}

/// A map's entries at one moment, with their compiled keys per method.
#[derive(Debug, Default)]
pub struct MapEntries {
    /// The entries in file order; the first matching key wins.
    pub list: Vec<MapEntry>,
    compiled: Mutex<HashMap<MatchMethod, Arc<Vec<Matcher>>>>,
}

impl MapEntries {
    fn new(list: Vec<MapEntry>) -> MapEntries {
        MapEntries {
            list,
            compiled: Mutex::new(HashMap::new()),
        }
    }

    /// The keys compiled for `method`, built on first use.
    pub(crate) fn matchers(&self, method: MatchMethod) -> Arc<Vec<Matcher>> {
        let mut compiled = self.compiled.lock().unwrap_or_else(|e| e.into_inner());
        compiled
            .entry(method)
            .or_insert_with(|| {
                Arc::new(
                    self.list
                        .iter()
                        // Keys were checked when loaded or added; one that
                        // still fails matches nothing (and keeps positions).
                        .map(|e| {
                            Matcher::compile(method, std::slice::from_ref(&e.key), false)
                                .unwrap_or_else(|_| Matcher::Str {
                                    set: Default::default(),
                                    icase: false,
                                })
                        })
                        .collect(),
                )
            })
            .clone()
    }
}

impl std::fmt::Debug for MapFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MapFile")
            .field("path", &self.path)
            .field("entries", &self.snapshot().list.len())
            .finish()
    }
}

impl MapFile {
    /// Reads map text: one `key value` line each (the value is the rest of the
    /// line), blank lines and `#` comments skipped.
    pub fn parse(path: &str, text: &str) -> MapFile {
        let map = MapFile {
            path: path.to_owned(),
            current: RwLock::new(Arc::new(MapEntries::default())),
            methods: RwLock::new(Vec::new()),
            next_id: AtomicU64::new(1),
        };
        let list = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| {
                let mut parts = l.splitn(2, char::is_whitespace);
                let key = parts.next().unwrap_or_default().to_owned();
                let value = parts.next().unwrap_or_default().trim().to_owned();
                map.entry(key, value)
            })
            .collect();
        map.replace(list);
        map
    }

    fn entry(&self, key: String, value: String) -> MapEntry {
        MapEntry {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            key,
            value,
        }
    }

    /// The entries as they are now.
    pub fn snapshot(&self) -> Arc<MapEntries> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn replace(&self, list: Vec<MapEntry>) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(MapEntries::new(list));
    }

    /// Changes the entries in one step: lookups see the old list or the new
    /// one, never a mix.
    fn update(&self, change: impl FnOnce(&mut Vec<MapEntry>)) {
        let mut current = self.current.write().unwrap_or_else(|e| e.into_inner());
        let mut list = current.list.clone();
        change(&mut list);
        *current = Arc::new(MapEntries::new(list));
    }

    pub(crate) fn register_method(&self, method: MatchMethod) {
        let mut methods = self.methods.write().unwrap_or_else(|e| e.into_inner());
        if !methods.contains(&method) {
            methods.push(method);
        }
    }

    /// Whether `key` is valid for every method the map is used with.
    fn check_key(&self, key: &str) -> Result<(), String> {
        for method in self
            .methods
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            Matcher::compile(*method, &[key.to_owned()], false)?;
        }
        Ok(())
    }

    /// `add map`: appends an entry.
    pub fn add(&self, key: &str, value: &str) -> Result<(), String> {
        self.check_key(key)?;
        let entry = self.entry(key.to_owned(), value.to_owned());
        self.update(|list| list.push(entry));
        Ok(())
    }

    /// `del map`: removes every entry with this key (or this `#id`);
    /// false when none matched.
    pub fn delete(&self, which: &EntryRef) -> bool {
        let mut found = false;
        self.update(|list| {
            list.retain(|e| {
                let hit = which.matches(e);
                found |= hit;
                !hit
            })
        });
        found
    }

    /// `set map`: changes the value of the entries with this key (or `#id`);
    /// false when none matched.
    pub fn set(&self, which: &EntryRef, value: &str) -> bool {
        let mut found = false;
        self.update(|list| {
            for e in list.iter_mut().filter(|e| which.matches(e)) {
                e.value = value.to_owned();
                found = true;
            }
        });
        found
    }

    /// `clear map`: removes every entry.
    pub fn clear(&self) {
        self.replace(Vec::new());
    }
}

/// An entry named in a runtime command: by key, or `#id` as `show map`
/// prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryRef {
    /// The entry whose key is this text.
    Key(String),
    /// The entry with this id (`#ID` in hexadecimal, as `show map` prints it).
    Id(u64),
}

impl EntryRef {
    /// Reads `#ID` as an id, anything else as a key.
    pub fn parse(text: &str) -> EntryRef {
        match text
            .strip_prefix('#')
            .and_then(|id| u64::from_str_radix(id.trim_start_matches("0x"), 16).ok())
        {
            Some(id) => EntryRef::Id(id),
            None => EntryRef::Key(text.to_owned()),
        }
    }

    fn matches(&self, e: &MapEntry) -> bool {
        match self {
            EntryRef::Key(k) => e.key == *k,
            EntryRef::Id(id) => e.id == *id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::converter::Converter;
    use crate::value::Value;

    #[test]
    fn maps_with_defaults() {
        let map = Arc::new(MapFile::parse(
            "hosts.map",
            "# comment\nshop.example.com be_shop\n\nblog.example.com   be_blog\n",
        ));
        let conv =
            Converter::map(MatchMethod::Str, map.clone(), Some("be_default".into())).unwrap();
        assert_eq!(
            conv.apply(Value::Str("blog.example.com".into())),
            Some(Value::Str("be_blog".into()))
        );
        assert_eq!(
            conv.apply(Value::Str("other".into())),
            Some(Value::Str("be_default".into()))
        );
        let beg = Converter::map(
            MatchMethod::Beg,
            Arc::new(MapFile::parse("p.map", "/api api\n/ web\n")),
            None,
        )
        .unwrap();
        assert_eq!(
            beg.apply(Value::Str("/api/x".into())),
            Some(Value::Str("api".into()))
        );
        let none = Converter::map(MatchMethod::Str, map, None).unwrap();
        assert_eq!(none.apply(Value::Str("x".into())), None);
        assert_eq!(
            Converter::Lower.apply(Value::Str("AbC".into())),
            Some(Value::Str("abc".into()))
        );
    }

    #[test]
    fn maps_change_at_run_time_and_lookups_see_each_change_whole() {
        let map = Arc::new(MapFile::parse("hosts.map", "a.test one\nb.test two\n"));
        let exact = Converter::map(MatchMethod::Str, map.clone(), None).unwrap();
        let suffix = Converter::map(MatchMethod::End, map.clone(), None).unwrap();
        let look = |c: &Converter, v: &str| c.apply(Value::Str(v.to_owned().into()));
        map.add("c.test", "three").unwrap();
        assert_eq!(look(&exact, "c.test"), Some(Value::Str("three".into())));
        assert_eq!(
            look(&suffix, "www.c.test"),
            Some(Value::Str("three".into()))
        );
        assert!(map.set(&EntryRef::Key("a.test".into()), "uno"));
        assert_eq!(look(&exact, "a.test"), Some(Value::Str("uno".into())));
        let id = map.snapshot().list[1].id;
        assert!(map.delete(&EntryRef::parse(&format!("#{id:#x}"))));
        assert_eq!(look(&exact, "b.test"), None);
        assert!(!map.delete(&EntryRef::Key("b.test".into())));
        map.clear();
        assert_eq!(look(&exact, "a.test"), None);
    }

    #[test]
    fn keys_invalid_for_a_method_in_use_are_refused() {
        let map = Arc::new(MapFile::parse("re.map", "^/api/ api\n"));
        Converter::map(MatchMethod::Reg, map.clone(), None).unwrap();
        assert!(map.add("([unclosed", "x").is_err());
        assert_eq!(map.snapshot().list.len(), 1);
    }
}
