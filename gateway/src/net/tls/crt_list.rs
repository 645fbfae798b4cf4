//! `crt-list FILE`: one certificate per line, `PATH [ [ssl options] ]
//! [[!]SNI-FILTER …]`, blank lines and `#` comments ignored. The SNI
//! filters replace the certificate's own names; `!name` excludes a name
//! from the line's wildcard filters. Per-certificate SSL options (the
//! bracketed part) are refused: each would need its own TLS settings, which
//! Switchyard does not have per certificate yet.

use std::path::{Path, PathBuf};

use super::TlsError;

/// One SNI filter of a crt-list line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SniFilter {
    pub negative: bool,
    /// Lowercased; `*.example.com` for a wildcard.
    pub name: String,
}

/// One certificate line of a crt-list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrtListEntry {
    pub path: PathBuf,
    pub filters: Vec<SniFilter>,
    pub line: usize,
}

/// Reads and parses the crt-list at `path`.
pub fn load(path: &Path) -> Result<Vec<CrtListEntry>, TlsError> {
    let text = std::fs::read_to_string(path).map_err(|source| TlsError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse(path, &text)
}

/// Parses crt-list text read from `path` (named in errors).
pub fn parse(path: &Path, text: &str) -> Result<Vec<CrtListEntry>, TlsError> {
    let mut out = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let error = |why: String| TlsError::CrtList {
            path: path.to_owned(),
            line: number,
            why,
        };
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut words = line.split_whitespace().peekable();
        let Some(file) = words.next() else { continue };
        let mut filters = Vec::new();
        if let Some(first) = words.peek().copied() {
            if first.starts_with('[') {
                let options = bracketed(line, file).map_err(error)?;
                if let Some(option) = options.split_whitespace().next() {
                    return Err(error(format!(
                        "the crt-list option '[{option} …]' is not supported by switchyard yet; \
                         set it on the bind line, or split the bind"
                    )));
                }
                // Skip the words of an empty "[ ]".
                for word in words.by_ref() {
                    if word.ends_with(']') {
                        break;
                    }
                }
            }
        }
        for word in words {
            let (negative, name) = match word.strip_prefix('!') {
                Some(name) => (true, name),
                None => (false, word),
            };
            if name.is_empty() {
                return Err(error("'!' must be followed by a name".to_owned()));
            }
            filters.push(SniFilter {
                negative,
                name: name.to_ascii_lowercase(),
            });
        }
        out.push(CrtListEntry {
            path: PathBuf::from(file),
            filters,
            line: number,
        });
    }
    Ok(out)
}

/// The text between `[` and `]` after the file name.
fn bracketed(line: &str, file: &str) -> Result<String, String> {
    let after_file = &line[line.find(file).map(|i| i + file.len()).unwrap_or(0)..];
    let open = after_file.find('[').ok_or("missing '['")?;
    let close = after_file
        .find(']')
        .ok_or_else(|| "the ssl options open with '[' and never close with ']'".to_owned())?;
    Ok(after_file[open + 1..close].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filters(entry: &CrtListEntry) -> Vec<String> {
        entry
            .filters
            .iter()
            .map(|f| format!("{}{}", if f.negative { "!" } else { "" }, f.name))
            .collect()
    }

    #[test]
    fn paths_filters_and_comments() {
        let text = "cert1.pem !*\n# comment\n\n   certW.pem   *.Domain.tld !secure.domain.tld\ncertS.pem [ ] secure.domain.tld\n";
        let list = parse(Path::new("l.txt"), text).unwrap();
        assert_eq!(list.len(), 3);
        assert_eq!(list[0].path, PathBuf::from("cert1.pem"));
        assert_eq!(filters(&list[0]), ["!*"]);
        assert_eq!(filters(&list[1]), ["*.domain.tld", "!secure.domain.tld"]);
        assert_eq!(list[1].line, 4);
        assert_eq!(filters(&list[2]), ["secure.domain.tld"]);
    }

    #[test]
    fn ssl_options_are_refused_with_the_line() {
        let err = parse(
            Path::new("/etc/l.txt"),
            "a.pem\ncert2.pem [alpn h2,http/1.1] www.test\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("/etc/l.txt' line 2"), "{err}");
        assert!(err.contains("'[alpn …]' is not supported"), "{err}");
        let err = parse(Path::new("l.txt"), "a.pem [alpn h2\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("never close"), "{err}");
    }

    #[test]
    fn lone_bang_is_an_error() {
        let err = parse(Path::new("l.txt"), "a.pem !\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 1"), "{err}");
    }

    #[test]
    fn missing_file_is_named() {
        let err = load(Path::new("/nonexistent/list.txt"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("/nonexistent/list.txt"), "{err}");
    }
}
