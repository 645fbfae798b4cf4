//! Dispatching a command line's commands: the command table that `help`
//! prints, levels checked per command, and HAProxy's answer framing (each
//! answer ends with an empty line). The syntax (splitting on `;` and
//! spaces, levels, arguments) is `switchyard::wire::api_syntax`, in the library
//! half of the package so that a fuzz target reaches it.

use std::fmt::Write;

pub use switchyard::wire::api_syntax::{split_line, Level};

use super::{acls, info, maps, servers, vars, ApiState};

/// A client's session state.
pub struct Session {
    pub level: Level,
    pub prompt: bool,
    pub quit: bool,
    /// `experimental-mode on`: `set var` is allowed.
    pub experimental: bool,
}

type Handler = fn(&[String], &ApiState, &mut String) -> Result<(), String>;

/// A command: the words that name it, the level it needs, its usage line
/// for `help`, and what it does.
struct Command {
    words: &'static [&'static str],
    level: Level,
    usage: &'static str,
    help: &'static str,
    run: Handler,
}

const COMMANDS: &[Command] = &[
    Command {
        words: &["add", "acl"],
        level: Level::Operator,
        usage: "add acl <acl> <pattern>",
        help: "add an acl entry",
        run: acls::add_acl,
    },
    Command {
        words: &["add", "map"],
        level: Level::Operator,
        usage: "add map <map> <key> <val>",
        help: "add a map entry",
        run: maps::add_map,
    },
    Command {
        words: &["clear", "acl"],
        level: Level::Operator,
        usage: "clear acl <acl>",
        help: "clear the contents of this acl",
        run: acls::clear_acl,
    },
    Command {
        words: &["clear", "map"],
        level: Level::Operator,
        usage: "clear map <map>",
        help: "clear the contents of this map",
        run: maps::clear_map,
    },
    Command {
        words: &["del", "acl"],
        level: Level::Operator,
        usage: "del acl <acl> [<key>|#<ref>]",
        help: "delete acl entries matching <key>",
        run: acls::del_acl,
    },
    Command {
        words: &["del", "map"],
        level: Level::Operator,
        usage: "del map <map> [<key>|#<ref>]",
        help: "delete map entries matching <key>",
        run: maps::del_map,
    },
    Command {
        words: &["disable", "health"],
        level: Level::Admin,
        usage: "disable health <bk>/<srv>",
        help: "disable health checks",
        run: servers::disable_health,
    },
    Command {
        words: &["disable", "server"],
        level: Level::Admin,
        usage: "disable server <bk>/<srv>",
        help: "disable a server for maintenance (use 'set server' instead)",
        run: servers::disable_server,
    },
    Command {
        words: &["enable", "health"],
        level: Level::Admin,
        usage: "enable health <bk>/<srv>",
        help: "enable health checks",
        run: servers::enable_health,
    },
    Command {
        words: &["enable", "server"],
        level: Level::Admin,
        usage: "enable server <bk>/<srv>",
        help: "enable a disabled server (use 'set server' instead)",
        run: servers::enable_server,
    },
    Command {
        words: &["get", "map"],
        level: Level::User,
        usage: "get map <map> <value>",
        help: "report the keys and values matching a sample for a map",
        run: maps::get_map,
    },
    Command {
        words: &["get", "var"],
        level: Level::Operator,
        usage: "get var <name>",
        help: "retrieve contents of a process-wide variable",
        run: vars::get_var,
    },
    Command {
        words: &["get", "weight"],
        level: Level::User,
        usage: "get weight <bk>/<srv>",
        help: "report a server's current weight",
        run: servers::get_weight,
    },
    Command {
        words: &["set", "map"],
        level: Level::Operator,
        usage: "set map <map> [<key>|#<ref>] <value>",
        help: "modify a map entry",
        run: maps::set_map,
    },
    Command {
        words: &["set", "var"],
        level: Level::Operator,
        usage: "set var <name> [fmt|expr] {<fmt>|<expr>}",
        help: "set a process-wide variable (experimental mode)",
        run: vars::set_var,
    },
    Command {
        words: &["set", "maxconn", "server"],
        level: Level::Admin,
        usage: "set maxconn server <bk>/<srv>",
        help: "change a server's maxconn setting",
        run: servers::set_maxconn,
    },
    Command {
        words: &["set", "server"],
        level: Level::Admin,
        usage: "set server <bk>/<srv> [opts]",
        help: "change a server's state or weight",
        run: servers::set_server,
    },
    Command {
        words: &["set", "weight"],
        level: Level::Admin,
        usage: "set weight <bk>/<srv>  (DEPRECATED)",
        help: "change a server's weight (use 'set server' instead)",
        run: servers::set_weight,
    },
    Command {
        words: &["show", "acl"],
        level: Level::User,
        usage: "show acl [<acl>]",
        help: "report available acls or dump an acl's contents",
        run: acls::show_acl,
    },
    Command {
        words: &["show", "backend"],
        level: Level::User,
        usage: "show backend",
        help: "list backends in the current running config",
        run: info::show_backend,
    },
    Command {
        words: &["show", "info"],
        level: Level::User,
        usage: "show info",
        help: "report information about the running process",
        run: info::show_info,
    },
    Command {
        words: &["show", "map"],
        level: Level::User,
        usage: "show map [<map>]",
        help: "report available maps or dump a map's contents",
        run: maps::show_map,
    },
    Command {
        words: &["show", "servers", "state"],
        level: Level::User,
        usage: "show servers state [<backend>]",
        help: "dump volatile server information (all or for a single backend)",
        run: servers::show_servers_state,
    },
    Command {
        words: &["show", "stat"],
        level: Level::User,
        usage: "show stat [typed]",
        help: "report counters for each proxy and server",
        run: info::show_stat,
    },
];

/// Runs one command, appending its answer (ended by an empty line) to `out`.
pub fn run(words: &[String], state: &ApiState, session: &mut Session, out: &mut String) {
    match words.first().map(String::as_str) {
        Some("quit") => {
            session.quit = true;
            return;
        }
        Some("prompt") => {
            session.prompt = !session.prompt;
            out.push('\n');
            return;
        }
        Some("help") => {
            help(session.level, &words[1..], out);
            out.push('\n');
            return;
        }
        Some("user") => {
            session.level = Level::User;
            out.push('\n');
            return;
        }
        Some("operator") => {
            session.level = session.level.min(Level::Operator);
            out.push('\n');
            return;
        }
        Some("experimental-mode") => {
            match words.get(1).map(String::as_str) {
                Some("on") => session.experimental = true,
                Some("off") => session.experimental = false,
                _ => out.push_str("experimental-mode [on|off]\n"),
            }
            out.push('\n');
            return;
        }
        Some("set") if words.get(1).is_some_and(|w| w == "var") && !session.experimental => {
            out.push_str("This command is restricted to experimental mode only.\n\n");
            return;
        }
        _ => {}
    }
    let found = COMMANDS.iter().find(|c| {
        words.len() >= c.words.len() && c.words.iter().zip(words).all(|(w, given)| w == given)
    });
    let Some(command) = found else {
        out.push_str(if words.is_empty() {
            "Unknown command. Please enter one of the following commands only:\n"
        } else {
            "Unknown command, but maybe one of the following ones is a better match:\n"
        });
        let first = words.first().map(String::as_str).unwrap_or("");
        let close: Vec<&Command> = COMMANDS
            .iter()
            .filter(|c| c.words[0] == first && c.level <= session.level)
            .collect();
        if close.is_empty() || words.is_empty() {
            list(session.level, |_| true, out);
        } else {
            for c in close {
                line(c, out);
            }
            fixed_lines(out);
        }
        out.push('\n');
        return;
    };
    if command.level > session.level {
        out.push_str("Permission denied\n\n");
        return;
    }
    let before = out.len();
    match (command.run)(&words[command.words.len()..], state, out) {
        Ok(()) => {
            if out.len() > before && !out.ends_with('\n') {
                out.push('\n');
            }
            out.push('\n');
        }
        Err(message) => {
            out.truncate(before);
            out.push_str(&message);
            out.push_str("\n\n");
        }
    }
}

fn line(c: &Command, out: &mut String) {
    let _ = writeln!(out, "  {:<40}: {}", c.usage, c.help);
}

fn fixed_lines(out: &mut String) {
    for (usage, text) in [
        ("help [<command>]", "list matching or all commands"),
        ("prompt", "toggle interactive mode with prompt"),
        ("quit", "disconnect"),
    ] {
        let _ = writeln!(out, "  {usage:<40}: {text}");
    }
}

fn list(level: Level, keep: impl Fn(&Command) -> bool, out: &mut String) {
    for c in COMMANDS.iter().filter(|c| c.level <= level && keep(c)) {
        line(c, out);
    }
    if level > Level::User {
        let _ = writeln!(
            out,
            "  {:<40}: lower the level of the current CLI session to user",
            "user"
        );
    }
    if level > Level::Operator {
        let _ = writeln!(
            out,
            "  {:<40}: lower the level of the current CLI session to operator",
            "operator"
        );
    }
    fixed_lines(out);
}

/// `help [WORD…]`: the commands this level may run, those starting with
/// the given words when there are some.
fn help(level: Level, words: &[String], out: &mut String) {
    out.push_str("The following commands are valid at this level:\n");
    list(
        level,
        |c| words.iter().zip(c.words).all(|(given, w)| given == w),
        out,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_has_a_distinct_name() {
        for (i, a) in COMMANDS.iter().enumerate() {
            for b in &COMMANDS[i + 1..] {
                assert_ne!(a.words, b.words);
                // A longer name must not be shadowed by a shorter one before it.
                let shadows = a.words.len() < b.words.len()
                    && a.words.iter().zip(b.words).all(|(x, y)| x == y);
                assert!(!shadows, "{:?} shadows {:?}", a.words, b.words);
            }
        }
    }
}
