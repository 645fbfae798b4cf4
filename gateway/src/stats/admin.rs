//! `stats admin`: the page's forms change servers, as HAProxy's do. A POST
//! carries `b` (the backend), `s` (each checked server) and `action`
//! (`ready`, `drain`, `maint`, `dhlth`/`ehlth` to disable or enable
//! checks, `hrunn`/`hnolb`/`hdown` to force the health state). The answer
//! is a redirect to the page with HAProxy's outcome code in `;st=`.

use super::ProxyView;
use crate::upstream::server::{AdminState, Server};
use crate::upstream::Backend;

/// `application/x-www-form-urlencoded` pairs, decoded (`+` is a space,
/// `%XX` a byte; an invalid escape is kept as written).
pub fn parse_form(body: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(body.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Applies the form to the backend it names (`b=NAME` or `b=#ID`);
/// HAProxy's outcome code: `DONE` (every server changed), `PART` (some
/// unknown), `NONE` (no server checked), `ERRP` (unknown backend, missing
/// or unknown action, no server known). As in HAProxy, the last `b` and
/// the last `action` count, wherever the servers are in the form.
pub fn apply(form: &[(String, String)], proxies: &[ProxyView]) -> &'static str {
    let last = |name: &str| {
        form.iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let Some(backend) = last("b").and_then(|b| find_backend(b, proxies)) else {
        return "ERRP";
    };
    let names: Vec<&str> = form
        .iter()
        .filter(|(k, _)| k == "s")
        .map(|(_, v)| v.as_str())
        .collect();
    if names.is_empty() {
        return "NONE";
    }
    let Some(act) = last("action").and_then(action_of) else {
        return "ERRP";
    };
    let mut changed = 0;
    for name in &names {
        if let Some(server) = backend.servers.iter().find(|s| s.name == *name) {
            act(backend, server);
            changed += 1;
        }
    }
    match changed {
        0 => "ERRP",
        c if c == names.len() => "DONE",
        _ => "PART",
    }
}

/// A backend by name, or by id as `#ID`.
fn find_backend<'a>(name: &str, proxies: &'a [ProxyView]) -> Option<&'a Backend> {
    let by_id = name.strip_prefix('#').and_then(|id| id.parse::<u32>().ok());
    proxies
        .iter()
        .filter(|p| match by_id {
            Some(id) => p.id == id,
            None => p.name == name,
        })
        .find_map(|p| p.backend.as_deref())
}

/// The change an `action` makes (none for an unknown or empty one), made
/// through the backend so that it is logged as the runtime API's are.
fn action_of(action: &str) -> Option<fn(&Backend, &Server)> {
    fn forced(b: &Backend, s: &Server, health: &str) {
        if b.set_health_from_cli(s, health).is_ok() {
            s.force_health_counter(health != "down");
        }
    }
    let act: fn(&Backend, &Server) = match action {
        "ready" => |b, s| b.set_admin_state(s, AdminState::Ready),
        "drain" => |b, s| b.set_admin_state(s, AdminState::Drain),
        "maint" => |b, s| b.set_admin_state(s, AdminState::Maint),
        "dhlth" => |_, s| s.set_checks_enabled(false),
        "ehlth" => |_, s| s.set_checks_enabled(true),
        "hrunn" => |b, s| forced(b, s, "up"),
        "hnolb" => |b, s| forced(b, s, "stopping"),
        "hdown" => |b, s| forced(b, s, "down"),
        _ => return None,
    };
    Some(act)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_are_decoded() {
        assert_eq!(
            parse_form("b=web&s=app+1&s=a%2Fb&action=maint&bad=%zz"),
            vec![
                ("b".into(), "web".into()),
                ("s".into(), "app 1".into()),
                ("s".into(), "a/b".into()),
                ("action".into(), "maint".into()),
                ("bad".into(), "%zz".into()),
            ]
        );
        assert!(parse_form("").is_empty());
        assert_eq!(parse_form("x=%4"), vec![("x".into(), "%4".into())]);
        assert_eq!(parse_form("x=%é1"), vec![("x".into(), "%é1".into())]);
    }
}
