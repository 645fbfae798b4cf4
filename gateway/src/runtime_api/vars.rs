//! `get var` and `set var`: the configuration's `proc.` variables, as
//! management.txt has them (the rules crate compiles and evaluates).

use super::ApiState;

/// `get var proc.NAME`.
pub fn get_var(args: &[String], state: &ApiState, out: &mut String) -> Result<(), String> {
    let name = args.first().ok_or("Missing variable name.")?;
    out.push_str(&state.rules.show_proc_var(name)?);
    Ok(())
}

/// `set var proc.NAME [expr] EXPR` or `set var proc.NAME fmt FMT`
/// (experimental mode only, checked by the dispatcher).
pub fn set_var(args: &[String], state: &ApiState, _: &mut String) -> Result<(), String> {
    let name = args.first().ok_or("Missing variable name.")?;
    state.rules.set_proc_var(name, &args[1..])
}
