//! `switchyard explain`: how the configuration decides one request, rule by
//! rule, with what each ACL fetched and whether it matched — the answer to
//! "why did my request go there?". It runs the gateway's own decision
//! function, with tracing on.

use std::io::Read;
use std::process::ExitCode;

use anyhow::{bail, Context};
use switchyard_rules::fixture::{self, describe, fixture_server};
use switchyard_rules::OwnedRequest;

use crate::command::cli::ExplainArgs;

fn request_from_args(args: &ExplainArgs) -> anyhow::Result<(OwnedRequest, Option<String>)> {
    if let Some(url) = &args.url {
        let (host, target) = match url.split_once("://") {
            Some((_, rest)) => match rest.find(['/', '?']) {
                Some(i) if rest[i..].starts_with('/') => {
                    (rest[..i].to_owned(), rest[i..].to_owned())
                }
                Some(i) => (rest[..i].to_owned(), format!("/{}", &rest[i..])),
                None => (rest.to_owned(), "/".to_owned()),
            },
            None => (String::new(), url.clone()),
        };
        let mut req = OwnedRequest::get(&target);
        req.method = args.method.clone();
        req.src = "192.0.2.1:40000".parse().expect("literal");
        let mut has_host = false;
        for h in &args.headers {
            let (name, value) = h
                .split_once(':')
                .with_context(|| format!("'{h}' is not a header: write 'Name: value'"))?;
            has_host |= name.trim().eq_ignore_ascii_case("host");
            req = req.header(name.trim(), value.trim());
        }
        if !has_host && !host.is_empty() {
            req = req.header("host", &host);
        }
        if let Some(src) = &args.src {
            req.src = match src.parse() {
                Ok(addr) => addr,
                Err(_) => std::net::SocketAddr::new(
                    src.parse()
                        .with_context(|| format!("'{src}' is not an IP address"))?,
                    40000,
                ),
            };
        }
        return Ok((req, args.frontend.clone()));
    }
    let text = match args.request.as_deref() {
        Some(p) if p.as_os_str() == "-" => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .context("cannot read the request from standard input")?;
            s
        }
        Some(p) => {
            std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?
        }
        None => bail!("give a request file, '-' for standard input, or --url URL"),
    };
    let mut cases = fixture::parse(&text).map_err(|e| anyhow::anyhow!("request: {e}"))?;
    let case = cases.remove(0);
    Ok((case.request, args.frontend.clone().or(case.frontend)))
}

pub fn run(args: ExplainArgs) -> anyhow::Result<ExitCode> {
    let (request, frontend) = request_from_args(&args)?;
    let Some(checked) = super::check::load_and_report(&args.files, true)? else {
        return Ok(ExitCode::FAILURE);
    };
    let frontend = match frontend {
        Some(f) => f,
        None => checked
            .rules
            .frontends()
            .next()
            .context("the configuration has no frontend")?
            .to_owned(),
    };
    let Some((decision, trace)) = checked.rules.explain(&frontend, &request) else {
        bail!("no frontend named '{frontend}'");
    };
    let sources = &checked.loaded.sources;
    println!(
        "{} {} HTTP/{} from {} on frontend {frontend}",
        request.method,
        request.target,
        request.version,
        request.src.ip()
    );
    for rule in &trace.rules {
        let text = sources
            .file(rule.span.file)
            .and_then(|f| f.line_text(rule.span.line))
            .unwrap_or("")
            .trim();
        let verdict = if rule.matched { "MATCH" } else { "no" };
        println!("  {verdict:<5}  {}  {text}", sources.locate(rule.span));
        for acl in &rule.acls {
            let fetched = if acl.fetched.is_empty() {
                "(nothing)".to_owned()
            } else {
                acl.fetched
                    .iter()
                    .map(|v| format!("{v:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            println!(
                "           acl {:<20} fetched {fetched} → {}",
                acl.name, acl.result
            );
        }
    }
    let effective = decision.rewritten.as_ref().unwrap_or(&request);
    let server = decision
        .backend()
        .and_then(|b| checked.loaded.config.backend(b))
        .and_then(|b| fixture_server(b, effective, decision.persist));
    print!("decision: {}", describe(&decision));
    if let Some(server) = server {
        print!(" (server {server} for fixtures: persistence cookie or first server)");
    }
    println!();
    if let Some(span) = decision.rule {
        println!("decided by {}", sources.locate(span));
    }
    Ok(ExitCode::SUCCESS)
}
