//! ACL commands: `show acl [FILE|#ID]`, `add acl`, `del acl`, `clear acl`.
//! As in HAProxy, `show acl` numbers the pattern files (`-f FILE`) first,
//! then every ACL line; a change to a file is seen by the next request
//! through every ACL line reading it (`switchyard_rules::pattern_file`).
//! An ACL line's own patterns (written in the configuration) are shown but
//! not changed here: only files are.

use std::fmt::Write;
use std::sync::Arc;

use switchyard_rules::pattern_file::PatternFile;

use super::ApiState;

const UNKNOWN_ACL: &str = "Unknown ACL identifier. Please use #<id> or <file>.";

/// What `FILE` or `#ID` names.
enum Target {
    File(Arc<PatternFile>),
    /// An ACL line (its index in `acl_summaries`).
    Line(usize),
}

fn find(state: &ApiState, name: Option<&String>) -> Result<Target, String> {
    let name = name.ok_or(UNKNOWN_ACL)?;
    let files = state.rules.pattern_files();
    match name.strip_prefix('#') {
        Some(id) => {
            let id: usize = id.parse().map_err(|_| UNKNOWN_ACL)?;
            if let Some(file) = files.get(id) {
                return Ok(Target::File(file.clone()));
            }
            let line = id - files.len();
            if line < state.rules.acl_summaries().len() {
                Ok(Target::Line(line))
            } else {
                Err(UNKNOWN_ACL.into())
            }
        }
        None => files
            .iter()
            .find(|f| &f.path == name)
            .cloned()
            .map(Target::File)
            .ok_or_else(|| UNKNOWN_ACL.to_owned()),
    }
}

/// The file an `add`/`del`/`clear` changes.
fn file(state: &ApiState, name: Option<&String>) -> Result<Arc<PatternFile>, String> {
    match find(state, name)? {
        Target::File(f) => Ok(f),
        Target::Line(_) => Err(
            "switchyard changes ACL pattern files (acl … -f FILE) only, not the patterns written in the configuration.".into(),
        ),
    }
}

pub fn show_acl(args: &[String], state: &ApiState, out: &mut String) -> Result<(), String> {
    let files = state.rules.pattern_files();
    let acls = state.rules.acl_summaries();
    let Some(which) = args.first() else {
        out.push_str("# id (file) description\n");
        for (id, file) in files.iter().enumerate() {
            let used: Vec<String> = file
                .used_by
                .lock()
                .map(|u| u.iter().map(|l| format!("by acl at line {l}")).collect())
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "{id} ({path}) pattern loaded from file '{path}' used {}. curr_ver=0 next_ver=0 entry_cnt={}",
                used.join(", "),
                file.entries().len(),
                path = file.path
            );
        }
        for (i, acl) in acls.iter().enumerate() {
            let _ = writeln!(
                out,
                "{} () acl '{}' ({}/{}) line {}. curr_ver=0 next_ver=0 entry_cnt={}",
                files.len() + i,
                acl.fetch,
                acl.proxy,
                acl.name,
                acl.line,
                acl.inline_patterns
            );
        }
        return Ok(());
    };
    match find(state, Some(which))? {
        Target::File(file) => {
            for e in file.entries() {
                let _ = writeln!(out, "{:#x} {}", e.id, e.pattern);
            }
        }
        Target::Line(i) => {
            for (n, pattern) in acls[i]
                .patterns
                .iter()
                .take(acls[i].inline_patterns)
                .enumerate()
            {
                let _ = writeln!(out, "{n:#x} {pattern}");
            }
        }
    }
    Ok(())
}

pub fn add_acl(args: &[String], state: &ApiState, _: &mut String) -> Result<(), String> {
    let (Some(_), Some(pattern)) = (args.first(), args.get(1)) else {
        return Err("'add acl' expects two parameters: ACL identifier and pattern.".into());
    };
    file(state, args.first())?
        .add(pattern)
        .map_err(|why| format!("Failed to add an entry: {why}."))
}

pub fn del_acl(args: &[String], state: &ApiState, _: &mut String) -> Result<(), String> {
    let (Some(_), Some(which)) = (args.first(), args.get(1)) else {
        return Err("This command expects two parameters: ACL identifier and key.".into());
    };
    if file(state, args.first())?.delete(which) {
        Ok(())
    } else {
        Err("Key not found.".into())
    }
}

pub fn clear_acl(args: &[String], state: &ApiState, _: &mut String) -> Result<(), String> {
    file(state, args.first())?.clear();
    Ok(())
}
