//! An origin as its own OS process, so that a test can kill it with
//! SIGKILL in the middle of a load, as a crashed or OOM-killed server dies:
//! no FIN, its sockets torn down by the kernel. It serves what
//! `switchyard_e2e::origin::Origin` serves, prints its address on the first
//! line of stdout, and exits when its stdin closes, so it never outlives
//! the test that started it.
//!
//! Usage: `origin NAME`

use tokio::io::AsyncReadExt;

use switchyard_e2e::origin::Origin;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let name = std::env::args().nth(1).unwrap_or_else(|| "origin".into());
    let origin = Origin::start(&name).await;
    println!("{}", origin.addr);
    // Until the parent closes our stdin (or dies): then stop.
    let mut rest = Vec::new();
    let _ = tokio::io::stdin().read_to_end(&mut rest).await;
}
