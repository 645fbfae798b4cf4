//! What serving one client connection needs beside its socket, shared by
//! the HTTP/1 engine (`front/h1_conn.rs`) and the HTTP/2 one
//! (`front/listener.rs`).

use std::sync::Arc;

use crate::front::retirement::Member;
use crate::proxy::{ClientConn, HttpProxy};

/// A client connection's state, its frontend, and its place in its
/// generation.
pub(crate) struct Session {
    pub conn: Arc<ClientConn>,
    pub proxy: Arc<HttpProxy>,
    pub member: Member,
}
