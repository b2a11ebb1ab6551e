//! One shape for every background job of a rollup node (the batcher, the proposer, the
//! challenger, derivation, the finalized follower, the origin tracker): a round at a time, every
//! `poll`, until stopped; a failed round (an error, or a panic) is logged, reported in the job's
//! status and tried again at the next poll.
use crate::Result;
use futures::FutureExt;
use parking_lot::Mutex;
use std::{future::Future, sync::Arc, time::Duration};
use tandem_client::types::{BatcherStatus, ChallengerStatus, DerivationStatus, ProposerStatus};
use tokio::sync::watch;

/// What a job reports: at least the last error of a round.
pub trait Report: Clone + Default + Send + 'static {
    fn record_error(&mut self, error: String);
}

/// What a job does after a round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// Waits [`Service::poll`] before the next round.
    Wait,
    /// Goes on at once: there is more to do.
    Again,
}

/// A background job of a rollup node.
pub trait Service: Send + Sized + 'static {
    type Status: Report;
    /// For logs.
    const NAME: &'static str;

    /// How long to wait before each round.
    fn poll(&self) -> Duration;

    /// Where the job reports; [`Handle::status`] reads the same.
    fn status(&self) -> &Arc<Mutex<Self::Status>>;

    /// One round of the job's work.
    fn round(&mut self) -> impl Future<Output = Result<Pace>> + Send;

    /// Runs rounds until `stop` turns true (or its sender is gone).
    fn run(mut self, mut stop: watch::Receiver<bool>) -> impl Future<Output = ()> + Send {
        async move {
            let mut pace = Pace::Wait;
            loop {
                if *stop.borrow() {
                    return;
                }
                if pace == Pace::Wait {
                    tokio::select! {
                        _ = stop.changed() => continue,
                        _ = tokio::time::sleep(self.poll()) => {}
                    }
                }
                // A round that panics is a failed round: the job goes on rather than dying
                // silently with its task.
                let round = std::panic::AssertUnwindSafe(self.round())
                    .catch_unwind()
                    .await;
                pace = match round {
                    Ok(Ok(pace)) => pace,
                    Ok(Err(e)) => {
                        tracing::warn!(target: "rollup", service = Self::NAME, error = %e, "round failed; retrying");
                        self.status().lock().record_error(e.to_string());
                        Pace::Wait
                    }
                    Err(panic) => {
                        let message = panic
                            .downcast_ref::<&str>()
                            .map(|s| s.to_string())
                            .or_else(|| panic.downcast_ref::<String>().cloned())
                            .unwrap_or_else(|| "a panic".into());
                        tracing::error!(target: "rollup", service = Self::NAME, message, "round panicked; retrying");
                        self.status()
                            .lock()
                            .record_error(format!("round panicked: {message}"));
                        Pace::Wait
                    }
                };
            }
        }
    }

    /// Runs the job on the runtime until its handle shuts it down.
    fn spawn(self) -> Handle<Self::Status> {
        let (stop, stopped) = watch::channel(false);
        let status = self.status().clone();
        let task = tokio::spawn(self.run(stopped));
        Handle {
            status,
            stopper: Stopper { stop, task },
        }
    }
}

/// A running job and what it reports.
pub struct Handle<S> {
    status: Arc<Mutex<S>>,
    stopper: Stopper,
}

/// What stops a running job, whatever it reports.
#[derive(Debug)]
pub struct Stopper {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Stopper {
    /// Stops the job after its current round and waits for it.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

impl<S> std::fmt::Debug for Handle<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle").finish_non_exhaustive()
    }
}

impl<S: Clone> Handle<S> {
    /// What the job reports now.
    pub fn status(&self) -> S {
        self.status.lock().clone()
    }

    /// Where the job reports, to read later (e.g. for `tandem_rollupStatus`).
    pub fn reports(&self) -> Arc<Mutex<S>> {
        self.status.clone()
    }

    /// Stops the job after its current round and waits for it.
    pub async fn shutdown(self) {
        self.stopper.stop().await;
    }

    /// The job's stopper alone, for an owner that keeps jobs of several kinds.
    pub fn into_stopper(self) -> Stopper {
        self.stopper
    }
}

impl Report for () {
    fn record_error(&mut self, _: String) {}
}

macro_rules! reports_last_error {
    ($($status:ty),*) => {$(
        impl Report for $status {
            fn record_error(&mut self, error: String) {
                self.last_error = Some(error);
            }
        }
    )*};
}
reports_last_error!(
    BatcherStatus,
    DerivationStatus,
    ChallengerStatus,
    ProposerStatus
);

#[cfg(test)]
mod tests {
    use super::*;

    /// Fails its first round with an error, panics in its second, then counts rounds.
    struct Flaky {
        rounds: u32,
        status: Arc<Mutex<ChallengerStatus>>,
    }

    impl Service for Flaky {
        type Status = ChallengerStatus;
        const NAME: &'static str = "flaky";

        fn poll(&self) -> Duration {
            Duration::from_millis(1)
        }

        fn status(&self) -> &Arc<Mutex<ChallengerStatus>> {
            &self.status
        }

        async fn round(&mut self) -> Result<Pace> {
            self.rounds += 1;
            match self.rounds {
                1 => Err(crate::Error::Config("first round".into())),
                2 => panic!("second round"),
                _ => {
                    self.status.lock().agreed += 1;
                    Ok(Pace::Wait)
                }
            }
        }
    }

    #[tokio::test]
    async fn a_round_that_fails_or_panics_is_reported_and_the_job_goes_on() {
        let handle = Flaky {
            rounds: 0,
            status: Arc::default(),
        }
        .spawn();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while handle.status().agreed < 3 {
            assert!(tokio::time::Instant::now() < deadline, "the job stopped");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(
            handle.status().last_error.as_deref(),
            Some("round panicked: second round")
        );
        handle.shutdown().await;
    }
}
