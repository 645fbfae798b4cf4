//! The protocol checks HAProxy 2.6 builds as fixed tcp-check sequences
//! (`tcpcheck.c`'s `proxy_parse_*_opt`): `option redis-check`,
//! `mysql-check`, `pgsql-check`, `smtpchk`, `ldap-check` and
//! `ssl-hello-chk`. Each sends the bytes HAProxy sends and accepts what it
//! accepts, with its statuses and messages; the answers HAProxy reads with
//! a function of its own (MySQL packets, an LDAP bind response) are read by
//! [`Custom::judge`]. Pure data and parsing: the gateway's check engine
//! runs the sequences.

use regex::Regex;
use switchyard_grammar::ast::check_rule::{CheckConnect, CheckOption};

use super::{
    implicit_connect, Action, CheckProgram, Expect, Matcher, Message, ProgramKind, Send, Step,
};

/// An answer reading HAProxy does in code rather than with a pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Custom {
    /// MySQL's initial handshake packet (an error packet fails the check).
    MysqlHandshake,
    /// The packet after the handshake, answering the login (`user U`).
    MysqlOk,
    /// An LDAPv3 bindResponse whose resultCode is 0.
    LdapBindResponse,
}

/// What a [`Custom`] reading decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Not enough of the answer yet.
    Wait,
    /// Passed; the next rule follows.
    Next,
    /// The check ends: passed or not, HAProxy's status, information, code.
    Done {
        /// Whether the check passed.
        ok: bool,
        /// HAProxy's status (`L7OK`, `L7STS`, `L7RSP`).
        status: &'static str,
        /// The check's information.
        info: Option<String>,
        /// The check's code (MySQL's error, LDAP's resultCode).
        code: Option<u32>,
    },
}

impl Custom {
    /// Reads `answer` (everything received since the last send); `closed`:
    /// no more will come; `last`: this is the sequence's last rule.
    pub fn judge(self, answer: &[u8], closed: bool, last: bool) -> Verdict {
        match self {
            Custom::MysqlHandshake => mysql_packet(answer, 0, closed, last),
            Custom::MysqlOk => match packet_len(answer, 0) {
                Some(len) => mysql_packet(answer, 4 + len, closed, last),
                None => mysql_packet(answer, usize::MAX / 2, closed, last),
            },
            Custom::LdapBindResponse => ldap_bind_response(answer),
        }
    }
}

fn packet_len(answer: &[u8], at: usize) -> Option<usize> {
    let b = answer.get(at..at.checked_add(3)?)?;
    Some(usize::from(b[0]) | usize::from(b[1]) << 8 | usize::from(b[2]) << 16)
}

fn failed(status: &'static str, info: Option<String>, code: Option<u32>) -> Verdict {
    Verdict::Done {
        ok: false,
        status,
        info,
        code,
    }
}

/// HAProxy's `tcpcheck_mysql_expect_packet`: a whole packet at `at`; an
/// error packet (0xff) fails with its code and message; the last rule
/// passing reports the server's version (the handshake's string at 5).
fn mysql_packet(answer: &[u8], at: usize, closed: bool, last: bool) -> Verdict {
    let incomplete = || {
        if closed {
            failed("L7RSP", None, None)
        } else {
            Verdict::Wait
        }
    };
    let Some(len) = packet_len(answer, at).filter(|_| answer.len() >= at + 4) else {
        return incomplete();
    };
    if answer.len() < at + len + 4 {
        return incomplete();
    }
    if answer.get(at + 4) == Some(&0xff) {
        let code = answer
            .get(at + 5..at + 7)
            .map(|c| u32::from(c[0]) | u32::from(c[1]) << 8);
        let message =
            String::from_utf8_lossy(answer.get(at + 7..).unwrap_or_default()).into_owned();
        return failed("L7STS", Some(message), code);
    }
    if !last {
        return Verdict::Next;
    }
    let version = answer.get(5..).unwrap_or_default();
    let version = version.split(|b| *b == 0).next().unwrap_or_default();
    Verdict::Done {
        ok: true,
        status: "L7OK",
        info: Some(String::from_utf8_lossy(version).into_owned()),
        code: None,
    }
}

/// HAProxy's `tcpcheck_ldap_expect_bindrsp` (RFC 4511 4.2.2 and 4.1.9).
fn ldap_bind_response(answer: &[u8]) -> Verdict {
    let not_ldap = || failed("L7RSP", Some("Not LDAPv3 protocol".into()), None);
    let at = |i: usize| answer.get(i).copied();
    let long_form = |b: Option<u8>| {
        b.map_or(0, |b| {
            if b & 0x80 != 0 {
                usize::from(b & 0x7f)
            } else {
                0
            }
        })
    };
    // The LDAPMessage's length bytes, then messageID 1 and bindResponse.
    let mut len = long_form(at(1));
    if len > 2 || answer.get(2 + len..6 + len) != Some(&[0x02, 0x01, 0x01, 0x61][..]) {
        return not_ldap();
    }
    len += long_form(at(len + 6));
    // ldapResult: ENUMERATED, then the resultCode.
    if len > 4 || answer.get(7 + len..9 + len) != Some(&[0x0a, 0x01][..]) {
        return not_ldap();
    }
    match at(len + 9) {
        Some(0) => Verdict::Done {
            ok: true,
            status: "L7OK",
            info: Some("Success".into()),
            code: None,
        },
        Some(code) => failed(
            "L7STS",
            Some("See RFC: http://tools.ietf.org/html/rfc4511#section-4.1.9".into()),
            Some(u32::from(code)),
        ),
        None => not_ldap(),
    }
}

/// `option ssl-hello-chk`'s SSLv3 CLIENT HELLO (RFC 2246 A.3, A.4) dated
/// `unix_time`, byte for byte HAProxy's.
pub fn ssl_client_hello(unix_time: u32) -> Vec<u8> {
    let mut hello = vec![
        0x16, 0x03, 0x00, 0x00, 0x79, // handshake record, SSLv3, 0x79 bytes
        0x01, 0x00, 0x00, 0x75, // CLIENT HELLO, 0x75 bytes
        0x03, 0x00, // version 3.0
    ];
    hello.extend_from_slice(&unix_time.to_be_bytes());
    hello.extend_from_slice(b"HAPROXYSSLCHK\nHAPROXYSSLCHK\n");
    hello.extend_from_slice(&[0x00, 0x00, 0x4e]); // no session, 78 bytes of ciphers
    for cipher in (0x01u16..=0x1b).chain(0x2f..=0x3a) {
        hello.extend_from_slice(&cipher.to_be_bytes());
    }
    hello.extend_from_slice(&[0x01, 0x00]); // one compression method: none
    hello
}

fn regex(pattern: &str) -> Regex {
    Regex::new(pattern).expect("a constant pattern")
}

fn payload(skip: usize, trim_blanks: bool, cut_crlf: bool) -> Option<Message> {
    Some(Message::Payload {
        skip,
        trim_blanks,
        cut_crlf,
    })
}

fn text(t: &str) -> Option<Message> {
    Some(Message::Text(t.to_owned()))
}

fn status(s: &str) -> Option<String> {
    Some(s.to_owned())
}

/// `tcp-check connect default linger`.
fn connect_linger() -> Action {
    Action::Connect(CheckConnect {
        default: true,
        linger: true,
        ..CheckConnect::default()
    })
}

/// `expect rstring RE min-recv 4 error-status S` as SMTP's rules write it.
fn smtp_reply(pattern: &str, error: &str, on_error: Option<Message>) -> Action {
    Action::Expect(Expect {
        min_recv: 4,
        error_status: status(error),
        on_error,
        ..Expect::new(Matcher::RBody(regex(pattern)))
    })
}

/// The sequence HAProxy builds for a protocol check `option`.
pub fn program(option: &CheckOption) -> CheckProgram {
    let actions: Vec<Action> = match option {
        CheckOption::Tcp => Vec::new(),
        CheckOption::Redis => vec![
            Action::Send(Send::Bytes(b"*1\r\n$4\r\nPING\r\n".to_vec())),
            Action::Expect(Expect {
                error_status: status("L7STS"),
                on_error: payload(0, false, true),
                on_success: text("Redis server is ok"),
                ..Expect::new(Matcher::Body("+PONG\r\n".into()))
            }),
        ],
        CheckOption::SslHello => vec![
            Action::Send(Send::SslClientHello),
            Action::Expect(Expect {
                min_recv: 5,
                ok_status: status("L6OK"),
                error_status: status("L6RSP"),
                tout_status: status("L6TOUT"),
                ..Expect::new(Matcher::RHex(regex("^1[56]")))
            }),
        ],
        CheckOption::Smtp { command } => vec![
            connect_linger(),
            smtp_reply("^[0-9]{3}[ \r]", "L7RSP", payload(0, false, true)),
            Action::Expect(Expect {
                code_from_answer: true,
                ..expect_of(smtp_reply(
                    "^2[0-9]{2}[ \r]",
                    "L7STS",
                    payload(4, true, true),
                ))
            }),
            Action::Send(Send::Bytes(format!("{command}\r\n").into_bytes())),
            Action::Expect(Expect {
                code_from_answer: true,
                on_success: payload(4, true, true),
                ..expect_of(smtp_reply(
                    "^2[0-9]{2}[- \r]",
                    "L7STS",
                    payload(4, true, true),
                ))
            }),
        ],
        CheckOption::Pgsql { user } => {
            // Length, protocol 3.0, "user", the name, the end.
            let length = 15 + user.len() as u32;
            let mut startup = length.to_be_bytes().to_vec();
            startup.extend_from_slice(&[0x00, 0x03, 0x00, 0x00]);
            startup.extend_from_slice(b"user\0");
            startup.extend_from_slice(user.as_bytes());
            startup.extend_from_slice(&[0x00, 0x00]);
            vec![
                connect_linger(),
                Action::Send(Send::Bytes(startup)),
                Action::Expect(Expect {
                    min_recv: 5,
                    negated: true,
                    error_status: status("L7RSP"),
                    on_error: payload(6, false, false),
                    ..Expect::new(Matcher::RBody(regex("^E")))
                }),
                Action::Expect(Expect {
                    min_recv: 9,
                    error_status: status("L7STS"),
                    on_success: text("PostgreSQL server is ok"),
                    on_error: text("PostgreSQL unknown error"),
                    ..Expect::new(Matcher::RHex(regex(
                        "^52000000(08|0A|0C)000000(00|02|03|04|05|06)",
                    )))
                }),
            ]
        }
        CheckOption::Mysql { user, post41 } => {
            let mut actions = vec![connect_linger()];
            if let Some(user) = user {
                actions.push(Action::Send(Send::Bytes(mysql_login(user, *post41))));
            }
            actions.push(Action::Expect(Expect::new(Matcher::Custom(
                Custom::MysqlHandshake,
            ))));
            if user.is_some() {
                actions.push(Action::Expect(Expect::new(Matcher::Custom(
                    Custom::MysqlOk,
                ))));
            }
            actions
        }
        CheckOption::Ldap => vec![
            // A simple anonymous bindRequest, LDAPv3.
            Action::Send(Send::Bytes(vec![
                0x30, 0x0c, 0x02, 0x01, 0x01, 0x60, 0x07, 0x02, 0x01, 0x03, 0x04, 0x00, 0x80, 0x00,
            ])),
            Action::Expect(Expect {
                min_recv: 14,
                on_error: text("Not LDAPv3 protocol"),
                ..Expect::new(Matcher::RHex(regex("^30")))
            }),
            Action::Expect(Expect::new(Matcher::Custom(Custom::LdapBindResponse))),
        ],
    };
    let mut steps: Vec<Step> = actions
        .into_iter()
        .enumerate()
        .map(|(index, action)| Step {
            action,
            comment: None,
            id: index + 1,
        })
        .collect();
    if !matches!(steps.first().map(|s| &s.action), Some(Action::Connect(_))) {
        steps.insert(0, implicit_connect());
    }
    CheckProgram {
        kind: ProgramKind::Protocol,
        steps,
    }
}

fn expect_of(action: Action) -> Expect {
    match action {
        Action::Expect(e) => e,
        _ => unreachable!("smtp_reply builds an expect"),
    }
}

/// MySQL's client authentication packet for `user` (4.1 and later, or
/// the older one), followed by COM_QUIT, as HAProxy writes them.
fn mysql_login(user: &str, post41: bool) -> Vec<u8> {
    let body: Vec<u8> = if post41 {
        let mut b = vec![0x00, 0x82, 0x00, 0x00, 0x00, 0x80, 0x00, 0x01, 0x21];
        b.extend_from_slice(&[0u8; 23]);
        b
    } else {
        vec![0x00, 0x80, 0x00, 0x00, 0x01]
    };
    let length = body.len() + user.len() + 2;
    let mut packet = vec![
        (length & 0xff) as u8,
        ((length >> 8) & 0xff) as u8,
        ((length >> 16) & 0xff) as u8,
        0x01,
    ];
    packet.extend_from_slice(&body);
    packet.extend_from_slice(user.as_bytes());
    packet.extend_from_slice(&[0x00, 0x00]);
    // COM_QUIT: length 1, sequence 0.
    packet.extend_from_slice(&[0x01, 0x00, 0x00, 0x00, 0x01]);
    packet
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mysql_login_packets_are_haproxys() {
        // The reg-test's servers read 47 bytes (post-41) and 20 (pre-41)
        // for the user "user".
        assert_eq!(mysql_login("user", true).len(), 47);
        assert_eq!(mysql_login("user", false).len(), 20);
        let p = mysql_login("user", true);
        assert_eq!(&p[..4], &[0x26, 0x00, 0x00, 0x01]);
        assert_eq!(&p[p.len() - 5..], &[0x01, 0x00, 0x00, 0x00, 0x01]);
    }

    #[test]
    fn ssl_hello_is_an_sslv3_client_hello() {
        let h = ssl_client_hello(0x01020304);
        assert_eq!(h.len(), 5 + 0x79);
        assert_eq!(&h[11..15], &[1, 2, 3, 4]);
        assert_eq!(&h[h.len() - 2..], &[0x01, 0x00]);
    }

    const HANDSHAKE: &str = "4A0000000A382E302E3139000A0000006F3C025E6249410D00FFFFFF0200FFC715000000000000000000007C182159106E2761144322200063616368696E675F736861325F70617373776F726400";

    fn hex(s: &str) -> Vec<u8> {
        switchyard_grammar::ast::check_rule::decode_hex(&s.replace(' ', "")).unwrap()
    }

    #[test]
    fn mysql_answers_read_as_haproxy_reads_them() {
        let hs = hex(HANDSHAKE);
        let ok = |info: &str| Verdict::Done {
            ok: true,
            status: "L7OK",
            info: Some(info.into()),
            code: None,
        };
        assert_eq!(Custom::MysqlHandshake.judge(&hs, false, true), ok("8.0.19"));
        assert_eq!(
            Custom::MysqlHandshake.judge(&hs, false, false),
            Verdict::Next
        );
        assert_eq!(
            Custom::MysqlHandshake.judge(&hs[..10], false, true),
            Verdict::Wait
        );
        assert!(matches!(
            Custom::MysqlHandshake.judge(&hs[..10], true, true),
            Verdict::Done {
                ok: false,
                status: "L7RSP",
                ..
            }
        ));
        let mut answer = hs.clone();
        answer.extend(hex("0700000200000002000000"));
        assert_eq!(Custom::MysqlOk.judge(&answer, false, true), ok("8.0.19"));
        let mut answer = hs;
        answer.extend(hex("0F000002FFE304436C69656E74206E6F206F6B"));
        assert_eq!(
            Custom::MysqlOk.judge(&answer, false, true),
            Verdict::Done {
                ok: false,
                status: "L7STS",
                info: Some("Client no ok".into()),
                code: Some(1251),
            }
        );
    }

    #[test]
    fn ldap_bind_responses_read_as_haproxy_reads_them() {
        assert!(matches!(
            Custom::LdapBindResponse.judge(&hex("300C020101 61 070A01 00 04000400"), false, true),
            Verdict::Done { ok: true, .. }
        ));
        assert_eq!(
            Custom::LdapBindResponse.judge(&hex("300C020101 60 070A01 00 04000400"), false, true),
            failed("L7RSP", Some("Not LDAPv3 protocol".into()), None)
        );
        assert!(matches!(
            Custom::LdapBindResponse.judge(&hex("300C020101 61 070A01 01 04000400"), false, true),
            Verdict::Done {
                ok: false,
                status: "L7STS",
                code: Some(1),
                ..
            }
        ));
    }
}
