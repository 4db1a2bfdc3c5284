//! Cancellation of in-flight work when Terraform calls the `Stop` operation (Ctrl-C).

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
        // An error means the sender is gone: the server is shutting down, which is a stop too.
        let _ = rx.wait_for(|stopped| *stopped).await;
    }
}
