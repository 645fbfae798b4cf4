//! The library half of the `switchyard` package: the wire formats the
//! gateway reads and writes (`wire`), pure code over buffers and streams
//! with no sockets, runtime or files of its own, so that fuzz targets reach
//! it without the rest of the gateway. The binary (`main.rs`) uses it
//! through the crate name `switchyard`.
#![forbid(unsafe_code)]

pub mod wire;
