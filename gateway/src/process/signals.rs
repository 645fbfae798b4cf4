//! The signals the gateway obeys, as HAProxy does: SIGTERM and SIGINT stop
//! at once, SIGUSR1 stops gracefully (no new connections, requests in
//! progress finish), SIGHUP and SIGUSR2 reload the configuration.

use tokio::signal::unix::{signal, SignalKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    Stop,
    SoftStop,
    Reload,
}

/// The signal streams, registered once at startup.
pub struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    usr1: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
    usr2: tokio::signal::unix::Signal,
}

impl Signals {
    pub fn register() -> std::io::Result<Signals> {
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
            usr1: signal(SignalKind::user_defined1())?,
            hup: signal(SignalKind::hangup())?,
            usr2: signal(SignalKind::user_defined2())?,
        })
    }

    /// The next order.
    pub async fn next(&mut self) -> Order {
        tokio::select! {
            _ = self.term.recv() => Order::Stop,
            _ = self.int.recv() => Order::Stop,
            _ = self.usr1.recv() => Order::SoftStop,
            _ = self.hup.recv() => Order::Reload,
            _ = self.usr2.recv() => Order::Reload,
        }
    }
}
