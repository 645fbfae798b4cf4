//! `stats admin`: the page's forms change servers, as HAProxy's do. A POST
//! carries `b` (the backend), `s` (each checked server) and `action`
//! (`ready`, `drain`, `maint`, `dhlth`/`ehlth` to disable or enable
//! checks, `hrunn`/`hnolb`/`hdown` to force the health state). The answer
//! is a redirect to the page with HAProxy's outcome code in `;st=`.

use super::ProxyView;
use crate::upstream::server::{AdminState, Server};

/// `application/x-www-form-urlencoded` pairs, decoded.
pub fn parse_form(body: &str) -> Vec<(String, String)> {
    body.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match (
                bytes.get(i + 1).and_then(|&b| hex(b)),
                bytes.get(i + 2).and_then(|&b| hex(b)),
            ) {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Applies the form to the backend it names; HAProxy's outcome code:
/// `DONE` (every server changed), `PART` (some unknown), `NONE` (no server
/// checked or no action), `ERRP` (bad request).
pub fn apply(form: &[(String, String)], proxies: &[ProxyView]) -> &'static str {
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let (Some(backend), Some(action)) = (field("b"), field("action")) else {
        return "ERRP";
    };
    let Some(backend) = proxies
        .iter()
        .find(|p| p.name == backend)
        .and_then(|p| p.backend.as_ref())
    else {
        return "ERRP";
    };
    let act: fn(&Server) = match action {
        "ready" => |s| s.set_admin_state(AdminState::Ready),
        "drain" => |s| s.set_admin_state(AdminState::Drain),
        "maint" => |s| s.set_admin_state(AdminState::Maint),
        "dhlth" => |s| s.set_checks_enabled(false),
        "ehlth" => |s| s.set_checks_enabled(true),
        "hrunn" => |s| s.set_up(true),
        "hnolb" => |s| s.set_stopping(),
        "hdown" => |s| s.set_up(false),
        "" => return "NONE",
        _ => return "ERRP",
    };
    let names: Vec<&str> = form
        .iter()
        .filter(|(k, _)| k == "s")
        .map(|(_, v)| v.as_str())
        .collect();
    if names.is_empty() {
        return "NONE";
    }
    let mut missing = false;
    for name in names {
        match backend.servers.iter().find(|s| s.name == name) {
            Some(server) => act(server),
            None => missing = true,
        }
    }
    if missing {
        "PART"
    } else {
        "DONE"
    }
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
