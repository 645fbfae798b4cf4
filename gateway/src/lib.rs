//! The library half of the `switchyard` package: the pure parsing of the
//! binary that needs no sockets, runtime or files, so that fuzz targets
//! reach it without the rest of the gateway. The binary (`main.rs`) uses
//! it through the crate name `switchyard`.
#![forbid(unsafe_code)]

pub mod api_syntax;
pub mod h1_wire;
