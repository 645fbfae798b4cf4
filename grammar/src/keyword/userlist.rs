//! Directives of `userlist` sections: `user` and `group`.

use crate::ast::userlist::{Group, Password, User, Userlist};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::keyword::{missing, unknown_keyword};
use crate::reader::RawSection;

pub fn build(section: &RawSection, diags: &mut Diagnostics) -> Option<Userlist> {
    let header = &section.header;
    let Some(name) = header.args().first() else {
        diags.push(missing(header, "a name"));
        return None;
    };
    let mut list = Userlist {
        name: name.text.clone(),
        span: name.span,
        users: Vec::new(),
        groups: Vec::new(),
    };
    for d in &section.directives {
        let args = d.args();
        match d.keyword().text.as_str() {
            "user" => {
                let Some(user) = args.first() else {
                    diags.push(missing(d, "a user name"));
                    continue;
                };
                let mut password = None;
                let mut groups = Vec::new();
                let mut i = 1;
                while i < args.len() {
                    let (key, value) = (&args[i], args.get(i + 1));
                    let Some(value) = value else {
                        diags.push(Diagnostic::error(
                            key.span,
                            format!("'{}' expects a value (missing argument)", key.text),
                        ));
                        break;
                    };
                    match key.text.as_str() {
                        "insecure-password" => password = Some(Password::Insecure(value.text.clone())),
                        "password" => password = Some(Password::Hashed(value.text.clone())),
                        "groups" => groups.extend(value.text.split(',').map(str::to_owned)),
                        _ => diags.push(Diagnostic::error(key.span, format!("unknown user option '{}'", key.text))
                            .with_help("write 'user NAME password HASH|insecure-password TEXT [groups G1,G2]'")),
                    }
                    i += 2;
                }
                match password {
                    Some(password) => list.users.push(User {
                        name: user.clone(),
                        password,
                        groups,
                    }),
                    None => diags.push(
                        Diagnostic::error(
                            user.span,
                            format!("user '{}' has no password", user.text),
                        )
                        .with_help("add 'password HASH' or 'insecure-password TEXT'"),
                    ),
                }
            }
            "group" => {
                let Some(group) = args.first() else {
                    diags.push(missing(d, "a group name"));
                    continue;
                };
                let users = match args.get(1..) {
                    Some([key, value]) if key.is("users") => {
                        value.text.split(',').map(str::to_owned).collect()
                    }
                    Some([]) | None => Vec::new(),
                    Some(rest) => {
                        diags.push(
                            Diagnostic::error(
                                rest[0].span,
                                format!("unexpected word '{}' in 'group'", rest[0].text),
                            )
                            .with_help("write 'group NAME [users U1,U2]'"),
                        );
                        Vec::new()
                    }
                };
                list.groups.push(Group {
                    name: group.clone(),
                    users,
                });
            }
            _ => diags.push(unknown_keyword(d, "userlist", &["user", "group"])),
        }
    }
    Some(list)
}
