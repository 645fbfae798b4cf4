//! `http-error status CODE [content-type T] [BODY] [hdr NAME FMT]…`: the
//! message a proxy sends instead of its own for CODE, written as a
//! `return` is. The file forms are `errorfile` lines under another name:
//! `errorfile F` is `errorfile CODE F`, `errorfiles NAME` imports the
//! section's file for CODE (nothing when it has none: the proxy's message
//! stays), and `default-errorfiles` forgets what the proxy said for CODE.

use crate::ast::http_rule::{parse_return, ReturnBody};
use crate::ast::proxy::{ErrorFile, ErrorFilesImport, HttpErrorReply, Proxy};
use crate::diagnostic::Diagnostic;
use crate::keyword::missing;
use crate::keyword::proxy::errorfile_code;
use crate::reader::RawDirective;

pub(crate) fn apply(directive: &RawDirective, proxy: &mut Proxy) -> Result<(), Diagnostic> {
    let args = directive.args();
    let code = match args {
        [s, code, ..] if s.is("status") => code,
        [s] if s.is("status") => return Err(missing(directive, "'status CODE'")),
        [other, ..] => return Err(Diagnostic::error(
            other.span,
            format!(
                "'http-error' expects 'status CODE' first, not '{}'",
                other.text
            ),
        )
        .with_help(
            "write e.g. 'http-error status 503 content-type text/html file /etc/haproxy/503.html'",
        )),
        [] => return Err(missing(directive, "'status CODE' and the message")),
    };
    let status = errorfile_code(code)?;
    let spec = parse_return(directive.keyword(), &args[2..], status, false)?;
    proxy.forget_error_message(status);
    match spec.body {
        ReturnBody::DefaultErrorfiles => {}
        ReturnBody::Errorfile(path) => proxy.errorfiles.push(ErrorFile { status, path }),
        ReturnBody::Errorfiles(name) => proxy.errorfile_imports.push(ErrorFilesImport {
            at: proxy.errorfiles.len(),
            name,
            codes: vec![status],
            http_errors_before: proxy.http_errors.len(),
            overridden: Vec::new(),
        }),
        _ => proxy.http_errors.push(HttpErrorReply {
            spec,
            span: directive.span(),
        }),
    }
    Ok(())
}
