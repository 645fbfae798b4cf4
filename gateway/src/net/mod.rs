//! Sockets and the transport under HTTP: the addresses a `bind` stands
//! for ([`address`]), connecting to servers
//! ([`connect`]), TCP keep-alive ([`keepalive`]), unix sockets
//! ([`unix_socket`]), TLS on both sides ([`tls`]), sockets inherited from a
//! parent or an old process ([`inherit`]), and the byte-level helpers the
//! layers above share ([`prefixed_io`], [`tunnel`]). Nothing here knows
//! about requests.

pub mod address;
pub mod connect;
pub mod inherit;
pub mod keepalive;
pub mod prefixed_io;
pub mod tls;
pub mod tunnel;
pub mod unix_socket;
