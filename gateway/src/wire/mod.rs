//! The lowest layer: the formats on the wire, as pure code over buffers
//! (and, for the PROXY protocol header, a stream it is read from). Nothing
//! here knows about servers, requests or the configuration's sections.
//!
//! - [`h1`]: HTTP/1.1 as the gateway speaks it on its own connections.
//! - [`proxy_protocol`]: the PROXY protocol header, versions 1 and 2.
//! - [`api_syntax`]: the runtime API's command line syntax.

pub mod api_syntax;
pub mod h1;
pub mod proxy_protocol;
