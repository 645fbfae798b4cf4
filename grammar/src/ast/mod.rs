//! The typed, span-carrying configuration: what every later stage reads.

pub mod acl;
pub mod address;
pub mod bind;
pub mod capture;
pub mod check_rule;
pub mod condition;
pub mod global;
pub mod http_rule;
pub mod log;
pub mod log_format;
pub mod proxy;
pub mod sample;
pub mod server;
pub mod stats;
pub mod tcp_rule;
pub mod tls;
pub mod userlist;
pub mod value;
pub mod var;
