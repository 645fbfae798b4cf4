//! From a fetch name as written (`hdr_beg(host)`, `req.cook(sid)`,
//! `path_reg`) to a [`Fetch`] and its default match method, with HAProxy's
//! names and suffixes.

use switchyard_grammar::ast::sample::SampleCall;

use crate::fetch::{Fetch, Kind};
use crate::pattern::MatchMethod;

/// A resolved fetch.
pub struct Resolved {
    pub fetch: Fetch,
    /// The method implied by the keyword (`path_beg` → beg); `None` means
    /// the default for the fetch's type.
    pub method: Option<MatchMethod>,
}

/// Names accepted, for "did you mean".
pub const FETCH_NAMES: &[&str] = &[
    "hdr",
    "req.hdr",
    "req.fhdr",
    "hdr_beg",
    "hdr_end",
    "hdr_sub",
    "hdr_reg",
    "hdr_dom",
    "hdr_dir",
    "hdr_len",
    "hdr_cnt",
    "hdr_found",
    "hdr_ip",
    "hdr_val",
    "req.hdr_cnt",
    "req.fhdr_cnt",
    "req.hdr_ip",
    "req.hdr_val",
    "path",
    "pathq",
    "srv_id",
    "srv_name",
    "path_beg",
    "path_end",
    "path_sub",
    "path_reg",
    "path_dir",
    "path_dom",
    "path_len",
    "url",
    "url_beg",
    "url_end",
    "url_sub",
    "url_reg",
    "url_dir",
    "url_dom",
    "url_len",
    "url_param",
    "urlp",
    "urlp_beg",
    "urlp_end",
    "urlp_sub",
    "urlp_reg",
    "urlp_dir",
    "urlp_dom",
    "urlp_len",
    "urlp_val",
    "base",
    "base_beg",
    "base_end",
    "base_sub",
    "base_reg",
    "base_dir",
    "base_dom",
    "base_len",
    "query",
    "method",
    "req.ver",
    "req_ver",
    "src",
    "src_port",
    "dst",
    "dst_port",
    "req.cook",
    "cook",
    "cook_beg",
    "cook_end",
    "cook_sub",
    "cook_reg",
    "cook_dir",
    "cook_dom",
    "cook_len",
    "cook_cnt",
    "cook_val",
    "req.cook_cnt",
    "req.cook_val",
    "ssl_fc",
    "ssl_fc_sni",
    "ssl_fc_sni_end",
    "ssl_fc_sni_reg",
    "ssl_fc_alpn",
    "ssl_fc_protocol",
    "ssl_fc_cipher",
    "ssl_c_used",
    "ssl_c_verify",
    "ssl_c_s_dn",
    "ssl_c_i_dn",
    "ssl_c_notbefore",
    "ssl_c_notafter",
    "http_auth",
    "http_auth_group",
    "always_true",
    "always_false",
    "req.proto_http",
    "req.len",
    "req_len",
    "req.payload",
    "req.ssl_sni",
    "req_ssl_sni",
    "req.ssl_hello_type",
    "req_ssl_hello_type",
    "var",
    "str",
    "int",
    "bool",
    "ipv4",
    "ipv6",
    "bin",
    "env",
    "date",
    "now",
    "rand",
    "uuid",
    "hostname",
];

/// Why a fetch could not be resolved.
pub enum FetchError {
    Unknown,
    MissingArgument(&'static str),
    UnknownUserlist(String),
    /// An argument that cannot be what the fetch needs.
    Invalid(String),
}

const SUFFIXES: &[(&str, MatchMethod)] = &[
    ("_beg", MatchMethod::Beg),
    ("_end", MatchMethod::End),
    ("_sub", MatchMethod::Sub),
    ("_reg", MatchMethod::Reg),
    ("_dom", MatchMethod::Dom),
    ("_dir", MatchMethod::Dir),
    ("_len", MatchMethod::Len),
    ("_found", MatchMethod::Found),
    ("_ip", MatchMethod::Ip),
];

pub fn resolve(
    call: &SampleCall,
    userlist: &dyn Fn(&str) -> Option<usize>,
) -> Result<Resolved, FetchError> {
    let name = call.name.as_str();
    let arg = |i: usize| {
        call.args
            .get(i)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    };
    let plain = |fetch| {
        Ok(Resolved {
            fetch,
            method: None,
        })
    };
    // Exact names first: some contain underscores that are not suffixes.
    match name {
        "src" => return plain(Fetch::Src),
        "src_port" => return plain(Fetch::SrcPort),
        "dst" => return plain(Fetch::Dst),
        "dst_port" => return plain(Fetch::DstPort),
        "method" => return plain(Fetch::Method),
        "req.ver" | "req_ver" => return plain(Fetch::ReqVer),
        "query" => return plain(Fetch::Query),
        "pathq" => return plain(Fetch::PathQ),
        "srv_id" => return plain(Fetch::SrvId),
        "srv_name" => return plain(Fetch::SrvName),
        "ssl_fc" => return plain(Fetch::SslFc),
        "ssl_fc_alpn" => return plain(Fetch::SslFcAlpn),
        "ssl_fc_protocol" => return plain(Fetch::SslFcProtocol),
        "ssl_fc_cipher" => return plain(Fetch::SslFcCipher),
        "ssl_c_used" => return plain(Fetch::SslCUsed),
        "ssl_c_verify" => return plain(Fetch::SslCVerify),
        "ssl_c_s_dn" => return plain(Fetch::SslCSDn),
        "ssl_c_i_dn" => return plain(Fetch::SslCIDn),
        "ssl_c_notbefore" => return plain(Fetch::SslCNotBefore),
        "ssl_c_notafter" => return plain(Fetch::SslCNotAfter),
        "always_true" => return plain(Fetch::Constant(true)),
        "always_false" => return plain(Fetch::Constant(false)),
        "req.proto_http" => return plain(Fetch::Constant(true)),
        "req.len" | "req_len" => return plain(Fetch::ReqLen),
        "req.ssl_sni" | "req_ssl_sni" => return plain(Fetch::ReqSslSni),
        "req.ssl_hello_type" | "req_ssl_hello_type" => return plain(Fetch::ReqSslHelloType),
        "var" => {
            let name = arg(0).ok_or(FetchError::MissingArgument(
                "a variable name, e.g. var(txn.name)",
            ))?;
            let var =
                switchyard_grammar::ast::var::VarName::parse(name).map_err(FetchError::Invalid)?;
            return plain(Fetch::Var {
                var,
                default: call.args.get(1).cloned(),
            });
        }
        "req.payload" => {
            let number = |i: usize, what: &'static str| {
                arg(i)
                    .and_then(|a| a.trim().parse::<usize>().ok())
                    .ok_or(FetchError::MissingArgument(what))
            };
            return plain(Fetch::ReqPayload {
                offset: number(0, "an offset and a length, e.g. req.payload(0,3)")?,
                length: number(1, "an offset and a length, e.g. req.payload(0,3)")?,
            });
        }
        "http_auth" | "http_auth_group" => {
            let list = arg(0).ok_or(FetchError::MissingArgument("a userlist name"))?;
            let index =
                userlist(list).ok_or_else(|| FetchError::UnknownUserlist(list.to_owned()))?;
            let fetch = if name == "http_auth" {
                Fetch::HttpAuth { userlist: index }
            } else {
                Fetch::HttpAuthGroup { userlist: index }
            };
            return plain(fetch);
        }
        "hdr_cnt" | "req.hdr_cnt" | "req.fhdr_cnt" => {
            let header = arg(0).ok_or(FetchError::MissingArgument("a header name"))?;
            return plain(Fetch::HdrCnt {
                name: header.to_ascii_lowercase(),
                split: name != "req.fhdr_cnt",
            });
        }
        "hdr_val" | "req.hdr_val" => {
            let header = arg(0).ok_or(FetchError::MissingArgument("a header name"))?;
            return plain(Fetch::HdrVal {
                name: header.to_ascii_lowercase(),
            });
        }
        "cook_cnt" | "req.cook_cnt" => {
            return plain(Fetch::CookCnt {
                name: arg(0).map(str::to_owned),
            })
        }
        "cook_val" | "req.cook_val" => {
            return Ok(Resolved {
                fetch: Fetch::Cook {
                    name: arg(0).map(str::to_owned),
                },
                method: Some(MatchMethod::Int),
            })
        }
        "urlp_val" => {
            let p = arg(0).ok_or(FetchError::MissingArgument("a parameter name"))?;
            return Ok(Resolved {
                fetch: Fetch::UrlParam { name: p.to_owned() },
                method: Some(MatchMethod::Int),
            });
        }
        "req.hdr_ip" => {
            let header = arg(0).ok_or(FetchError::MissingArgument("a header name"))?;
            let occ = arg(1).and_then(|o| o.parse().ok());
            return Ok(Resolved {
                fetch: Fetch::Hdr {
                    name: header.to_ascii_lowercase(),
                    occ,
                    split: true,
                },
                method: Some(MatchMethod::Ip),
            });
        }
        _ => {}
    }
    if let Some(internal) = crate::fetch_internal::resolve(name, &call.args)? {
        return plain(Fetch::Internal(internal));
    }
    let (base, method) = SUFFIXES
        .iter()
        .find_map(|(suffix, m)| name.strip_suffix(suffix).map(|b| (b, Some(*m))))
        .unwrap_or((name, None));
    let fetch = match base {
        "hdr" | "req.hdr" | "req.fhdr" => {
            let header = arg(0).ok_or(FetchError::MissingArgument("a header name"))?;
            let occ = arg(1).and_then(|o| o.parse::<i64>().ok());
            Fetch::Hdr {
                name: header.to_ascii_lowercase(),
                occ,
                split: base != "req.fhdr",
            }
        }
        "path" => Fetch::Path,
        "url" => Fetch::Url,
        "base" => Fetch::Base,
        "url_param" | "urlp" => Fetch::UrlParam {
            name: arg(0)
                .ok_or(FetchError::MissingArgument("a parameter name"))?
                .to_owned(),
        },
        "cook" | "req.cook" => Fetch::Cook {
            name: arg(0).map(str::to_owned),
        },
        "ssl_fc_sni" => Fetch::SslFcSni,
        _ => return Err(FetchError::Unknown),
    };
    if method.is_some() && !FETCH_NAMES.contains(&name) {
        return Err(FetchError::Unknown);
    }
    Ok(Resolved { fetch, method })
}

/// The match method used when neither the keyword nor `-m` says.
pub fn default_method(kind: Kind) -> MatchMethod {
    match kind {
        Kind::Str => MatchMethod::Str,
        Kind::Int => MatchMethod::Int,
        Kind::Ip => MatchMethod::Ip,
        Kind::Bool => MatchMethod::Bool,
        Kind::Bin => MatchMethod::Bin,
    }
}
