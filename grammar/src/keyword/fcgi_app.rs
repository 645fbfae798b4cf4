//! `fcgi-app NAME` sections, checked as HAProxy checks them. Switchyard
//! does not speak FastCGI: `use-fcgi-app` and `proto fcgi` are refused,
//! so a section can be declared but never used, which is what HAProxy does
//! with it too (a warning says so).

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::keyword::{missing, unknown_keyword};
use crate::reader::RawSection;

/// The section's keywords and how many arguments each needs at least.
const KEYWORDS: &[(&str, usize)] = &[
    ("docroot", 1),
    ("index", 1),
    ("path-info", 1),
    ("log-stderr", 1),
    ("option", 1),
    ("no", 2),
    ("set-param", 2),
    ("pass-header", 1),
    ("acl", 2),
];

pub fn check(section: &RawSection, diags: &mut Diagnostics) {
    let header = &section.header;
    let Some(name) = header.args().first() else {
        diags.push(missing(header, "a name"));
        return;
    };
    let mut docroot = false;
    for d in &section.directives {
        let kw = d.keyword();
        let Some(&(_, needed)) = KEYWORDS.iter().find(|(k, _)| kw.is(k)) else {
            let known: Vec<&str> = KEYWORDS.iter().map(|(k, _)| *k).collect();
            diags.push(unknown_keyword(d, "fcgi-app", &known));
            continue;
        };
        if d.args().len() < needed {
            diags.push(missing(d, "its arguments"));
        }
        docroot |= kw.is("docroot");
    }
    if !docroot {
        diags.push(
            Diagnostic::error(
                name.span,
                format!("fcgi-app '{}': no docroot configured", name.text),
            )
            .with_help("add 'docroot PATH', the application's root on the FastCGI server"),
        );
        return;
    }
    diags.push(
        Diagnostic::warning(
            name.span,
            format!("fcgi-app '{}' is not used: switchyard does not serve FastCGI yet", name.text),
        )
        .with_help("'use-fcgi-app' is refused; this section has no effect, as an unused one has none in HAProxy"),
    );
}
