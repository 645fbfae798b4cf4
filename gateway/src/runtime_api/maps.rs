//! Map and ACL commands: `show map`, `get map`, `add map`, `del map`,
//! `set map`, `clear map` (ACLs are in `acls.rs`). A map is named by its file path or
//! by `#ID` as `show map` numbers it; a change is seen by the next request.

use std::fmt::Write;
use std::sync::Arc;

use switchyard_rules::converter::{EntryRef, MapFile};

use super::ApiState;

const UNKNOWN_MAP: &str = "Unknown map identifier. Please use #<id> or <file>.";

fn find(state: &ApiState, name: Option<&String>) -> Result<Arc<MapFile>, String> {
    let name = name.ok_or(UNKNOWN_MAP)?;
    let maps = state.rules.maps();
    let found = match name.strip_prefix('#') {
        Some(id) => id.parse::<usize>().ok().and_then(|i| maps.get(i)),
        None => maps.iter().find(|m| &m.path == name),
    };
    found.cloned().ok_or_else(|| UNKNOWN_MAP.to_owned())
}

pub fn show_map(args: &[String], state: &ApiState, out: &mut String) -> Result<(), String> {
    if args.is_empty() {
        out.push_str("# id (file) description\n");
        for (id, map) in state.rules.maps().iter().enumerate() {
            let _ = writeln!(
                out,
                "{id} ({path}) pattern loaded from file '{path}' used by map. curr_ver=0 next_ver=0 entry_cnt={}",
                map.snapshot().list.len(),
                path = map.path
            );
        }
        return Ok(());
    }
    let map = find(state, args.first())?;
    for e in &map.snapshot().list {
        let _ = writeln!(out, "{:#x} {} {}", e.id, e.key, e.value);
    }
    Ok(())
}

/// `get map MAP VALUE`: the exact-string lookup a `map()` converter makes.
pub fn get_map(args: &[String], state: &ApiState, out: &mut String) -> Result<(), String> {
    let map = find(state, args.first())?;
    let value = args.get(1).ok_or("Missing input string.")?;
    let entries = map.snapshot();
    match entries.list.iter().find(|e| &e.key == value) {
        Some(e) => {
            let _ = write!(
                out,
                "type=str, case=sensitive, found=yes, idx=tree, key=\"{}\", value=\"{}\", type=\"str\"",
                e.key, e.value
            );
        }
        None => out.push_str("type=str, case=sensitive, found=no"),
    }
    Ok(())
}

pub fn add_map(args: &[String], state: &ApiState, _: &mut String) -> Result<(), String> {
    let map = find(state, args.first())?;
    let (Some(key), Some(value)) = (args.get(1), args.get(2)) else {
        return Err("'add map' expects three parameters (map identifier, key and value)".into());
    };
    map.add(key, value)
        .map_err(|why| format!("Failed to add a map entry: {why}."))
}

pub fn del_map(args: &[String], state: &ApiState, _: &mut String) -> Result<(), String> {
    let map = find(state, args.first())?;
    let which = args
        .get(1)
        .ok_or("This command expects two parameters: map identifier and key.")?;
    if map.delete(&EntryRef::parse(which)) {
        Ok(())
    } else {
        Err("Key not found.".into())
    }
}

pub fn set_map(args: &[String], state: &ApiState, _: &mut String) -> Result<(), String> {
    let map = find(state, args.first())?;
    let (Some(which), Some(value)) = (args.get(1), args.get(2)) else {
        return Err("'set map' expects three parameters: map identifier, key and value.".into());
    };
    if map.set(&EntryRef::parse(which), value) {
        Ok(())
    } else {
        Err("Entry not found.".into())
    }
}

pub fn clear_map(args: &[String], state: &ApiState, _: &mut String) -> Result<(), String> {
    find(state, args.first())?.clear();
    Ok(())
}
