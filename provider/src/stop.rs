//! [`StopToken`]: cancellation of in-flight work when Terraform calls the `Stop` operation
//! (Ctrl-C).
//!
//! A module of its own, below every layer that waits: the framework trips the token, the
//! cluster layer's waits and the upgrade loop watch it, and neither of those needs to know
//! about the other.

use tokio::sync::watch;

/// A cheap, cloneable handle that long-running operations poll or await to learn that
/// Terraform asked the provider to stop (the `Stop` RPC, sent when the user presses Ctrl-C).
///
/// Long waits should `select!` on [`StopToken::stopped`] and return an error diagnostic that
/// says the operation was interrupted, so Terraform can record what is known.
#[derive(Clone, Debug)]
pub struct StopToken {
    rx: watch::Receiver<bool>,
}

impl StopToken {
    /// Creates a token and the sender that trips it.
    #[must_use]
    pub fn new() -> (watch::Sender<bool>, Self) {
        let (tx, rx) = watch::channel(false);
        (tx, Self { rx })
    }

    /// Whether a stop was requested.
    #[must_use]
    pub fn is_stopped(&self) -> bool {
        *self.rx.borrow()
    }

    /// Completes when a stop is requested (immediately if it already was).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future loses nothing.
    pub async fn stopped(&self) {
        let mut rx = self.rx.clone();
        if rx.wait_for(|stopped| *stopped).await.is_err() {
            // The sender is gone without asking to stop, so no stop can come any more.
            std::future::pending::<()>().await;
        }
    }

    /// A token that never trips, for work started outside a Terraform operation.
    #[must_use]
    pub fn never() -> Self {
        Self::new().1
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_token_whose_sender_is_gone_never_trips() {
        let token = StopToken::never();
        let waited = tokio::time::timeout(Duration::from_secs(3600), token.stopped()).await;
        assert!(waited.is_err(), "a dropped sender must not read as a stop");
        assert!(!token.is_stopped());
    }

    #[tokio::test]
    async fn a_stop_wakes_every_waiter() {
        let (tx, token) = StopToken::new();
        let other = token.clone();
        let waiter = tokio::spawn(async move { other.stopped().await });
        tx.send(true).unwrap();
        token.stopped().await;
        waiter.await.unwrap();
    }
}
