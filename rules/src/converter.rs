//! Converters applied after a fetch: `lower`, `upper`, and the map family
//! (`map`, `map_str`, `map_beg`, `map_end`, `map_sub`, `map_dom`, `map_reg`,
//! `map_int`, `map_ip`), whose files are read once at compile time.

use std::sync::Arc;

use crate::pattern::{MatchMethod, Matcher};
use crate::value::Value;

/// A map file: (key, value) lines, `#` comments, in file order.
#[derive(Debug, Clone)]
pub struct MapFile {
    pub path: String,
    pub entries: Vec<(String, String)>,
}

impl MapFile {
    pub fn parse(path: &str, text: &str) -> MapFile {
        let entries = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| {
                let mut parts = l.splitn(2, char::is_whitespace);
                let key = parts.next().unwrap_or_default().to_owned();
                let value = parts.next().unwrap_or_default().trim().to_owned();
                (key, value)
            })
            .collect();
        MapFile {
            path: path.to_owned(),
            entries,
        }
    }
}

#[derive(Debug, Clone)]
pub enum Converter {
    Lower,
    Upper,
    Map {
        method: MatchMethod,
        keys: Vec<Matcher>,
        map: Arc<MapFile>,
        default: Option<String>,
    },
}

pub const CONVERTER_NAMES: &[&str] = &[
    "lower", "upper", "map", "map_str", "map_beg", "map_end", "map_sub", "map_dom", "map_dir",
    "map_reg", "map_int", "map_ip",
];

impl Converter {
    /// The method a `map_*` converter matches keys with.
    pub fn map_method(name: &str) -> Option<MatchMethod> {
        Some(match name {
            "map" | "map_str" => MatchMethod::Str,
            "map_beg" => MatchMethod::Beg,
            "map_end" => MatchMethod::End,
            "map_sub" => MatchMethod::Sub,
            "map_dom" => MatchMethod::Dom,
            "map_dir" => MatchMethod::Dir,
            "map_reg" => MatchMethod::Reg,
            "map_int" => MatchMethod::Int,
            "map_ip" => MatchMethod::Ip,
            _ => return None,
        })
    }

    /// Builds a map converter; each key is compiled for the map's method.
    pub fn map(
        method: MatchMethod,
        map: Arc<MapFile>,
        default: Option<String>,
    ) -> Result<Converter, String> {
        let keys = map
            .entries
            .iter()
            .map(|(k, _)| Matcher::compile(method, std::slice::from_ref(k), false))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("in map file '{}': {e}", map.path))?;
        Ok(Converter::Map {
            method,
            keys,
            map,
            default,
        })
    }

    /// Applies the converter; `None` when the sample disappears (a map
    /// miss without default).
    pub fn apply(&self, value: Value) -> Option<Value> {
        match self {
            Converter::Lower => Some(Value::Str(value.to_text().to_lowercase())),
            Converter::Upper => Some(Value::Str(value.to_text().to_uppercase())),
            Converter::Map {
                method,
                keys,
                map,
                default,
            } => {
                let probe = [value];
                // Exact string maps are the common case: compare directly.
                let found = if *method == MatchMethod::Str {
                    let text = probe[0].to_text();
                    map.entries
                        .iter()
                        .find(|(k, _)| *k == text)
                        .map(|(_, v)| v.clone())
                } else {
                    keys.iter()
                        .position(|m| m.matches(&probe))
                        .map(|i| map.entries[i].1.clone())
                };
                found.or_else(|| default.clone()).map(Value::Str)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
