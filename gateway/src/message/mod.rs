//! The HTTP message as the gateway carries it between the layers: the body
//! type ([`body`]), a response on its way to the client ([`response`]), the
//! pages the gateway writes itself ([`error_page`]), the request target the
//! rules and logs read ([`target`]), and the client's side of a switch of
//! protocols ([`upgrade`]). Both sides of the proxy use
//! these types; they know nothing of servers or listeners.

pub mod body;
pub mod error_page;
pub mod response;
pub mod target;
pub mod upgrade;
