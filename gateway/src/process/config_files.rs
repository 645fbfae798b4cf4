//! Finding and reading configuration files for `-f`, and the file access
//! the grammar uses for files that keywords name.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use switchyard_grammar::{Environment, FileAccess, LoadedConfig};

/// Reads files from the file system, relative to the current directory as
/// HAProxy does.
pub struct FsAccess;

impl FileAccess for FsAccess {
    fn read(&self, path: &str) -> std::io::Result<Vec<u8>> {
        std::fs::read(path)
    }
}

/// Expands `-f` arguments: a directory stands for its `*.cfg` files in
/// lexical order, as in HAProxy.
pub fn expand(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
                .with_context(|| format!("cannot read directory {}", path.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "cfg"))
                .collect();
            entries.sort();
            out.extend(entries);
        } else {
            out.push(path.clone());
        }
    }
    Ok(out)
}

/// Reads every file of `paths` (after [`expand`]) and loads the configuration.
pub fn load(paths: &[PathBuf]) -> anyhow::Result<LoadedConfig> {
    if paths.is_empty() {
        bail!("no configuration file: give one with -f FILE");
    }
    let mut files = Vec::new();
    for path in expand(paths)? {
        let bytes = std::fs::read(&path)
            .with_context(|| format!("cannot open configuration file {}", path.display()))?;
        let text = String::from_utf8(bytes).map_err(|e| {
            anyhow::anyhow!(
                "{} is not valid UTF-8 (first bad byte at offset {})",
                path.display(),
                e.utf8_error().valid_up_to()
            )
        })?;
        files.push((display(&path), text));
    }
    Ok(switchyard_grammar::load(
        &files,
        Environment::from_vars(std::env::vars()),
        &FsAccess,
    ))
}

/// Loads a configuration held in memory (the demo's).
pub fn load_text(name: &str, text: &str) -> LoadedConfig {
    switchyard_grammar::load(
        &[(name.to_owned(), text.to_owned())],
        Environment::from_vars(std::env::vars()),
        &FsAccess,
    )
}

fn display(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}
