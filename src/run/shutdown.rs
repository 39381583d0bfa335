//! The run's stop flag, passed in (as mini-redis passes its shutdown): the first Ctrl-C or
//! SIGTERM sets it; every phase asks `is_set` or wraps its waits in `guard`. Tests set it
//! themselves, so no signal is needed to test an interrupt point.

use crate::error::Error;
use tokio::sync::watch;

/// Sets the flag (the signal handler holds it).
#[derive(Debug)]
pub struct ShutdownTrigger(watch::Sender<bool>);

impl ShutdownTrigger {
    pub fn trigger(&self) {
        self.0.send_replace(true);
    }
}

/// Whether the run was asked to stop; cheap to clone.
#[derive(Debug, Clone)]
pub struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    pub fn new() -> (ShutdownTrigger, Shutdown) {
        let (tx, rx) = watch::channel(false);
        (ShutdownTrigger(tx), Shutdown(rx))
    }

    pub fn is_set(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once the flag is set (never, when the trigger is dropped unset).
    pub async fn wait(&self) {
        let mut flag = self.0.clone();
        if flag.wait_for(|set| *set).await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    /// Resolves `work`, or stops with `Error::Interrupted` as soon as the flag is set.
    pub async fn guard<T>(&self, work: impl std::future::Future<Output = T>) -> Result<T, Error> {
        let mut flag = self.0.clone();
        tokio::select! {
            r = work => Ok(r),
            // A dropped trigger (no signal handler) never interrupts: the pattern disables
            // the branch.
            Ok(_) = flag.wait_for(|set| *set) => Err(Error::Interrupted),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn guard_returns_the_work_or_stops_when_triggered() {
        let (trigger, shutdown) = Shutdown::new();
        assert_eq!(shutdown.guard(async { 7 }).await.unwrap(), 7);
        assert!(!shutdown.is_set());
        let long = shutdown.guard(tokio::time::sleep(Duration::from_secs(3600)));
        let stop = async {
            tokio::task::yield_now().await;
            trigger.trigger();
        };
        let (r, ()) = tokio::join!(long, stop);
        assert!(matches!(r, Err(Error::Interrupted)));
        assert!(shutdown.is_set());
    }

    #[tokio::test]
    async fn a_dropped_trigger_never_interrupts() {
        let (trigger, shutdown) = Shutdown::new();
        drop(trigger);
        assert_eq!(shutdown.guard(async { 1 }).await.unwrap(), 1);
        assert!(!shutdown.is_set());
    }
}
