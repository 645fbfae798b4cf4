//! One module per subcommand or mode of the binary.

pub mod check;
pub mod cli;
pub mod condition;
pub mod demo;
pub mod demo_origins;
pub mod explain;
pub mod serve;
pub mod test;
