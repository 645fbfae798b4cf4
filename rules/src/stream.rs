//! Rules of a TCP connection, in HAProxy's order: `tcp-request connection`
//! rules at accept (only L4 facts), `tcp-request content` rules as data
//! arrives, then the switching rules (`use_backend`, `default_backend`)
//! without any HTTP rule.
//!
//! Content rules use HAProxy's three-valued logic: a fetch on a buffer that
//! may still grow (`req.ssl_sni` on half a ClientHello) makes its ACL
//! "missing" rather than false, and a rule whose condition is missing makes
//! the connection wait for more data, until the inspect delay expires and
//! the rules are run once more with what arrived (missing then counts as
//! false).
//!
//! ACL lines are answered by their pattern groups (`pattern_sets.rs`), one
//! pass per fetch as for the HTTP rules; a group's answer says whether the
//! values may still change, which makes a line it did not match missing.

use switchyard_grammar::Span;

use smallvec::SmallVec;

use crate::compile::{Cond, ProxyRules, TcpRule};
use crate::decision::Decision;
use crate::pattern_sets::Matched;
use crate::request::RequestFacts;
use crate::RuleSet;

/// HAProxy's ACL results (`ACL_TEST_FAIL`, `ACL_TEST_MISS`, `ACL_TEST_PASS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tri {
    Fail,
    Miss,
    Pass,
}

impl Tri {
    fn not(self) -> Tri {
        match self {
            Tri::Fail => Tri::Pass,
            Tri::Miss => Tri::Miss,
            Tri::Pass => Tri::Fail,
        }
    }
    fn and(self, other: Tri) -> Tri {
        self.min(other)
    }
    fn or(self, other: Tri) -> Tri {
        self.max(other)
    }
}

impl PartialOrd for Tri {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Tri {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        let rank = |t: &Tri| match t {
            Tri::Fail => 0,
            Tri::Miss => 1,
            Tri::Pass => 2,
        };
        rank(self).cmp(&rank(other))
    }
}

/// What a stage of `tcp-request` rules decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpVerdict {
    /// Go on (an `accept` rule matched, or no rule did).
    Accept,
    /// Close the connection; the rule that said so.
    Reject(Span),
    /// A rule needs more data than is buffered: read more, then ask again.
    Wait,
}

impl RuleSet {
    /// Runs `frontend`'s `tcp-request connection` rules.
    pub fn tcp_connection(&self, frontend: &str, facts: &dyn RequestFacts) -> TcpVerdict {
        match self.frontend(frontend) {
            Some(p) => self.tcp_stage(p, &p.tcp_connection, facts),
            None => TcpVerdict::Accept,
        }
    }

    /// Runs `frontend`'s `tcp-request content` rules over the buffered
    /// payload of `facts`.
    pub fn tcp_content(&self, frontend: &str, facts: &dyn RequestFacts) -> TcpVerdict {
        match self.frontend(frontend) {
            Some(p) => self.tcp_stage(p, &p.tcp_content, facts),
            None => TcpVerdict::Accept,
        }
    }

    /// The same, each ACL line matched on its own rather than answered by
    /// its pattern group: the reference [`RuleSet::tcp_content`] is tested
    /// against.
    pub fn tcp_content_linear(&self, frontend: &str, facts: &dyn RequestFacts) -> TcpVerdict {
        match self.frontend(frontend) {
            Some(p) => Stage::new(self, p, false).run(&p.tcp_content, facts),
            None => TcpVerdict::Accept,
        }
    }

    /// Runs backend `backend`'s `tcp-request content` rules (after the
    /// frontend chose it), over the same buffered payload.
    pub fn tcp_backend_content(&self, backend: &str, facts: &dyn RequestFacts) -> TcpVerdict {
        match self.proxy(backend).filter(|p| p.is_backend) {
            Some(p) => self.tcp_stage(p, &p.tcp_content, facts),
            None => TcpVerdict::Accept,
        }
    }

    /// Whether backend `backend` has `tcp-request content` rules.
    pub fn has_tcp_backend_content_rules(&self, backend: &str) -> bool {
        self.proxy(backend)
            .is_some_and(|p| p.is_backend && !p.tcp_content.is_empty())
    }

    /// Whether `frontend` has `tcp-request content` rules (HAProxy inspects
    /// content only then).
    pub fn has_tcp_content_rules(&self, frontend: &str) -> bool {
        self.frontend(frontend)
            .is_some_and(|p| !p.tcp_content.is_empty())
    }

    /// The backend for a TCP connection: the switching rules and
    /// `default_backend` (HTTP rules do not run in TCP mode). The payload
    /// is final here, as in HAProxy.
    pub fn decide_stream(&self, frontend: &str, facts: &dyn RequestFacts) -> Option<Decision> {
        let proxy = self.frontend(frontend)?;
        Some(self.run_with(proxy, facts, crate::eval::Strategy::Indexed, None, false))
    }

    fn tcp_stage(
        &self,
        proxy: &ProxyRules,
        rules: &[TcpRule],
        facts: &dyn RequestFacts,
    ) -> TcpVerdict {
        Stage::new(self, proxy, true).run(rules, facts)
    }
}

/// One run of a list of `tcp-request` rules: the ACL results so far, and
/// the answers of the pattern groups searched (a group answers every line
/// on its fetch in one pass, as for the HTTP rules; `docs/rules.md`).
struct Stage<'a> {
    set: &'a RuleSet,
    proxy: &'a ProxyRules,
    memo: SmallVec<[(usize, Tri); 8]>,
    /// Whether ACL lines are answered by their pattern groups.
    use_groups: bool,
    answers: SmallVec<[Option<Matched>; 4]>,
}

impl<'a> Stage<'a> {
    fn new(set: &'a RuleSet, proxy: &'a ProxyRules, use_groups: bool) -> Self {
        Stage {
            set,
            proxy,
            memo: SmallVec::new(),
            use_groups,
            answers: SmallVec::from_elem(None, proxy.sets.groups().len()),
        }
    }

    fn run(&mut self, rules: &[TcpRule], facts: &dyn RequestFacts) -> TcpVerdict {
        for rule in rules {
            let result = match &rule.cond {
                Some(cond) => self.cond_tri(cond, facts),
                None => Tri::Pass,
            };
            match result {
                Tri::Miss if facts.payload_may_grow() => return TcpVerdict::Wait,
                Tri::Pass if rule.accept => return TcpVerdict::Accept,
                Tri::Pass => return TcpVerdict::Reject(rule.span),
                _ => {}
            }
        }
        TcpVerdict::Accept
    }

    fn cond_tri(&mut self, cond: &Cond, facts: &dyn RequestFacts) -> Tri {
        let mut any = Tri::Fail;
        for alt in &cond.alternatives {
            let mut all = Tri::Pass;
            for term in alt {
                let mut t = self.acl_tri(term.acl, facts);
                if term.negated {
                    t = t.not();
                }
                all = all.and(t);
                if all == Tri::Fail {
                    break;
                }
            }
            any = any.or(all);
            if any == Tri::Pass {
                break;
            }
        }
        if cond.unless {
            any.not()
        } else {
            any
        }
    }

    /// An ACL's result: `Pass` when a line matched, else `Miss` when more
    /// data could change a line's values, else `Fail`.
    fn acl_tri(&mut self, id: usize, facts: &dyn RequestFacts) -> Tri {
        if let Some(&(_, t)) = self.memo.iter().find(|(i, _)| *i == id) {
            return t;
        }
        let (set, proxy) = (self.set, self.proxy);
        let mut result = Tri::Fail;
        for (n, line) in proxy.acls[id].lines.iter().enumerate() {
            let placed = match self.use_groups {
                true => proxy.sets.placement(id, n),
                false => None,
            };
            let (matched, may_change) = match placed {
                Some(p) => {
                    let answer = self.answers[p.group]
                        .get_or_insert_with(|| proxy.sets.groups()[p.group].matched(set, facts));
                    (answer.contains(p.slot), answer.may_change())
                }
                None => {
                    let mut matched = false;
                    let may_change = set.expr_each(&line.expr, facts, &mut |value| {
                        matched = matched || line.matcher.matches_one(&value);
                    });
                    (matched, may_change)
                }
            };
            if matched {
                result = Tri::Pass;
                break;
            }
            if may_change {
                result = Tri::Miss;
            }
        }
        self.memo.push((id, result));
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client_hello::tests::client_hello;
    use crate::request::StreamFacts;
    use crate::Outcome;
    use switchyard_grammar::Environment;

    use switchyard_grammar::NoFiles;

    fn rules(text: &str) -> RuleSet {
        let loaded = switchyard_grammar::load(
            &[("t.cfg".into(), text.into())],
            Environment::new(),
            &NoFiles,
        );
        assert!(
            !loaded.diagnostics.has_errors(),
            "{:?}",
            loaded.diagnostics.errors().collect::<Vec<_>>()
        );
        RuleSet::compile(&loaded.config, &NoFiles).expect("compiles")
    }

    fn facts<'a>(src: &str, payload: &'a [u8], may_grow: bool) -> StreamFacts<'a> {
        StreamFacts {
            src: src.parse().unwrap(),
            dst: "127.0.0.1:443".parse().unwrap(),
            payload,
            may_grow,
            server: None,
        }
    }

    const SNI: &str = "frontend f
    bind 127.0.0.1:1
    tcp-request connection reject if { src 127.0.0.2 }
    tcp-request inspect-delay 5s
    tcp-request content accept if { req.ssl_hello_type 1 }
    tcp-request content reject
    use_backend a if { req.ssl_sni -i a.example }
    use_backend b if { req_ssl_sni -m end .b.example }
    default_backend c
backend a
backend b
backend c
";

    #[test]
    fn connection_rules_see_the_source() {
        let set = rules(SNI);
        assert!(matches!(
            set.tcp_connection("f", &facts("127.0.0.2:5", b"", true)),
            TcpVerdict::Reject(_)
        ));
        assert_eq!(
            set.tcp_connection("f", &facts("127.0.0.1:5", b"", true)),
            TcpVerdict::Accept
        );
    }

    #[test]
    fn content_rules_wait_for_a_whole_client_hello() {
        let set = rules(SNI);
        let hello = client_hello(Some("A.example"));
        for cut in [0, 1, 5, 20, hello.len() - 1] {
            assert_eq!(
                set.tcp_content("f", &facts("127.0.0.1:5", &hello[..cut], true)),
                TcpVerdict::Wait,
                "{cut}"
            );
        }
        assert_eq!(
            set.tcp_content("f", &facts("127.0.0.1:5", &hello, true)),
            TcpVerdict::Accept
        );
        // The delay expired on half a hello: the catch-all reject applies.
        assert!(matches!(
            set.tcp_content("f", &facts("127.0.0.1:5", &hello[..20], false)),
            TcpVerdict::Reject(_)
        ));
        // Not TLS at all: no need to wait.
        assert!(matches!(
            set.tcp_content("f", &facts("127.0.0.1:5", b"GET / HTTP/1.1\r\n", true)),
            TcpVerdict::Reject(_)
        ));
    }

    #[test]
    fn switching_by_sni() {
        let set = rules(SNI);
        let backend = |sni: Option<&str>| {
            let hello = client_hello(sni);
            match set
                .decide_stream("f", &facts("127.0.0.1:5", &hello, false))
                .unwrap()
                .outcome
            {
                Outcome::Backend(b) => b,
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(backend(Some("a.EXAMPLE")), "a");
        assert_eq!(backend(Some("x.b.example")), "b");
        assert_eq!(backend(Some("other.example")), "c");
        assert_eq!(backend(None), "c");
    }

    #[test]
    fn negation_and_unless_keep_missing_missing() {
        let set = rules(
            "frontend f
    bind 127.0.0.1:1
    tcp-request content reject unless { req.len ge 4 }
    tcp-request content reject if !{ req.payload(0,4) -m str PING }
    default_backend b
backend b
",
        );
        assert_eq!(
            set.tcp_content("f", &facts("127.0.0.1:5", b"PI", true)),
            TcpVerdict::Wait
        );
        assert_eq!(
            set.tcp_content("f", &facts("127.0.0.1:5", b"PING", true)),
            TcpVerdict::Accept
        );
        assert!(matches!(
            set.tcp_content("f", &facts("127.0.0.1:5", b"PONG", true)),
            TcpVerdict::Reject(_)
        ));
        assert!(matches!(
            set.tcp_content("f", &facts("127.0.0.1:5", b"PI", false)),
            TcpVerdict::Reject(_)
        ));
    }

    #[test]
    fn binary_payloads_match_with_m_bin() {
        // checks/mysql-check.vtc's login packet: NUL and high bytes.
        let set = rules(
            "frontend f
    bind 127.0.0.1:1
    tcp-request content accept if { req.len eq 20 } { req.payload(0,20) -m bin \"0B00000100800000017573657200000100000001\" }
    tcp-request content reject
    default_backend b
backend b
",
        );
        let login = b"\x0b\x00\x00\x01\x00\x80\x00\x00\x01user\x00\x00\x01\x00\x00\x00\x01";
        assert_eq!(login.len(), 20);
        assert_eq!(
            set.tcp_content("f", &facts("127.0.0.1:5", login, false)),
            TcpVerdict::Accept
        );
        let mut other = *login;
        other[5] = 0x81;
        assert!(matches!(
            set.tcp_content("f", &facts("127.0.0.1:5", &other, false)),
            TcpVerdict::Reject(_)
        ));
    }

    #[test]
    fn backend_content_rules_run_on_their_own() {
        let set = rules(
            "frontend f
    bind 127.0.0.1:1
    default_backend b
backend b
    tcp-request content reject if { req.payload(0,3) -m str BAD }
",
        );
        assert!(!set.has_tcp_content_rules("f"));
        assert!(set.has_tcp_backend_content_rules("b"));
        assert!(matches!(
            set.tcp_backend_content("b", &facts("127.0.0.1:5", b"BAD!", false)),
            TcpVerdict::Reject(_)
        ));
        assert_eq!(
            set.tcp_backend_content("b", &facts("127.0.0.1:5", b"GOOD", false)),
            TcpVerdict::Accept
        );
    }

    #[test]
    fn http_rules_do_not_run_for_streams() {
        let set = rules(
            "frontend f
    bind 127.0.0.1:1
    mode http
    http-request deny
    default_backend b
backend b
    mode http
",
        );
        let decision = set
            .decide_stream("f", &facts("127.0.0.1:5", b"", false))
            .unwrap();
        assert_eq!(decision.outcome, Outcome::Backend("b".into()));
    }

    /// Patterns on the SNI: every string method, `-i`, a regex, so that
    /// the pattern groups get exact, prefix, suffix, substring, domain and
    /// regex lines; plus a line no group takes (an integer).
    fn sni_acl() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let name =
            prop::sample::select(&["a.example", "b.example", "A.Example", "x.test", "example"][..]);
        prop_oneof![
            (name.clone(), any::<bool>())
                .prop_map(|(n, i)| format!("req.ssl_sni{} {n}", if i { " -i" } else { "" })),
            name.clone()
                .prop_map(|n| format!("req.ssl_sni -m beg {}", &n[..2])),
            name.clone()
                .prop_map(|n| format!("req.ssl_sni -m end -i {}", &n[n.len() - 4..])),
            name.clone()
                .prop_map(|n| format!("req.ssl_sni -m sub {}", &n[1..4])),
            name.clone()
                .prop_map(|n| format!("req.ssl_sni -m dom {}", n.split('.').next().unwrap())),
            name.prop_map(|n| format!("req.ssl_sni -m reg ^{}", &n[..3])),
            Just("req.ssl_hello_type 1".to_owned()),
        ]
    }

    fn tcp_rules_config() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        (1usize..8).prop_flat_map(|n| {
            let term = (0..n, any::<bool>())
                .prop_map(|(i, neg)| format!("{}a{i}", if neg { "!" } else { "" }));
            let cond = prop_oneof![
                (0..n).prop_map(|i| format!("if a{i}")),
                prop::collection::vec(term.clone(), 1..3)
                    .prop_map(|t| format!("if {}", t.join(" "))),
                (term.clone(), term.clone()).prop_map(|(a, b)| format!("if {a} || {b}")),
                term.prop_map(|t| format!("unless {t}")),
            ];
            (
                prop::collection::vec(sni_acl(), n),
                prop::collection::vec((cond, any::<bool>()), 1..8),
            )
                .prop_map(|(acls, rules)| {
                    let mut text =
                        "frontend f\n    bind 127.0.0.1:1\n    tcp-request inspect-delay 5s\n"
                            .to_owned();
                    for (i, a) in acls.iter().enumerate() {
                        // Some ACLs on two lines (ORed).
                        text.push_str(&format!("    acl a{i} {a}\n"));
                        if i % 3 == 2 {
                            text.push_str(&format!("    acl a{i} {}\n", acls[0]));
                        }
                    }
                    for (cond, accept) in rules {
                        let verb = if accept { "accept" } else { "reject" };
                        text.push_str(&format!("    tcp-request content {verb} {cond}\n"));
                    }
                    text.push_str("    default_backend b\nbackend b\n");
                    text
                })
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(500))]
        /// `tcp-request content` conditions answered by the pattern groups
        /// give the verdict of each line matched on its own, on whole and
        /// cut ClientHellos (missing ACLs: wait), with and without an SNI.
        #[test]
        fn tcp_content_by_groups_is_the_linear_verdict(
            config in tcp_rules_config(),
            sni in proptest::sample::select(&[Some("a.example"), Some("B.EXAMPLE"), Some("x.test"), Some("example.org"), Some("ab.example"), None][..]),
            cut in 0usize..4,
            may_grow in proptest::bool::ANY,
        ) {
            let set = rules(&config);
            let hello = client_hello(sni);
            // Whole, or cut inside the record (the SNI not there yet).
            let len = match cut {
                0 => hello.len(),
                n => hello.len() * n / 4,
            };
            let f = facts("127.0.0.1:5", &hello[..len], may_grow);
            proptest::prop_assert_eq!(set.tcp_content("f", &f), set.tcp_content_linear("f", &f), "{}", config);
        }
    }
}
