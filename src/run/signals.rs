//! Interrupts during a run. The first Ctrl-C (SIGINT) or SIGTERM stops the steps, heals and
//! writes a partial report; the second one of either kind aborts at once (after clearing
//! network rules and unpausing). The sequence logic is generic over a stream of signals so
//! that it is tested without sending real ones.

use super::shutdown::ShutdownTrigger;
use futures_util::{Stream, StreamExt};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interrupt {
    /// SIGINT (Ctrl-C).
    Sigint,
    /// SIGTERM (e.g. a CI runner cancelling the job).
    Sigterm,
}

/// Waits for the first signal, sets `stop` (the run heals and writes a partial report), then
/// waits for the second one and returns it: the caller aborts. `None` when the stream ends
/// before a second signal.
pub async fn first_stops_second_aborts<S>(
    mut signals: S,
    stop: &ShutdownTrigger,
    on_first: impl FnOnce(Interrupt),
) -> Option<Interrupt>
where
    S: Stream<Item = Interrupt> + Unpin,
{
    let first = signals.next().await?;
    on_first(first);
    stop.trigger();
    signals.next().await
}

/// SIGINT and SIGTERM of this process, as one stream. A signal that cannot be registered is
/// left out (the other still works).
pub fn os_interrupts() -> impl Stream<Item = Interrupt> + Unpin {
    use tokio::signal::unix::{signal, Signal, SignalKind};
    async fn next(s: &mut Option<Signal>) -> Option<()> {
        match s.as_mut() {
            Some(s) => s.recv().await,
            None => std::future::pending().await,
        }
    }
    let int = signal(SignalKind::interrupt()).ok();
    let term = signal(SignalKind::terminate()).ok();
    Box::pin(futures_util::stream::unfold(
        (int, term),
        |(mut int, mut term)| async move {
            let got = tokio::select! {
                Some(()) = next(&mut int) => Interrupt::Sigint,
                Some(()) = next(&mut term) => Interrupt::Sigterm,
                else => return None,
            };
            Some((got, (int, term)))
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    async fn sequence(signals: Vec<Interrupt>) -> (Option<Interrupt>, bool, Option<Interrupt>) {
        let (tx, rx) = crate::run::shutdown::Shutdown::new();
        let mut first = None;
        // The stream stays open after its items (as the OS's does): never-ending.
        let stream = futures_util::stream::iter(signals).chain(futures_util::stream::pending());
        let second = tokio::time::timeout(
            Duration::from_millis(200),
            first_stops_second_aborts(stream, &tx, |s| first = Some(s)),
        )
        .await
        .ok()
        .flatten();
        let stopped = rx.is_set();
        (first, stopped, second)
    }

    #[tokio::test]
    async fn a_second_sigterm_aborts_like_a_second_ctrl_c() {
        use Interrupt::{Sigint, Sigterm};
        for (signals, second) in [
            (vec![Sigint, Sigint], Sigint),
            (vec![Sigterm, Sigterm], Sigterm),
            (vec![Sigterm, Sigint], Sigint),
            (vec![Sigint, Sigterm], Sigterm),
        ] {
            let first = signals[0];
            assert_eq!(
                sequence(signals).await,
                (Some(first), true, Some(second)),
                "first {first:?}"
            );
        }
    }

    #[tokio::test]
    async fn one_signal_only_stops_and_none_does_nothing() {
        assert_eq!(
            sequence(vec![Interrupt::Sigterm]).await,
            (Some(Interrupt::Sigterm), true, None)
        );
        assert_eq!(sequence(vec![]).await, (None, false, None));
    }

    #[tokio::test]
    async fn the_os_stream_delivers_sigterm() {
        let mut s = os_interrupts();
        // The handler is registered above, so SIGTERM no longer ends this test process.
        let pid = std::process::id().to_string();
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill(1)");
        assert!(status.success());
        let got = tokio::time::timeout(Duration::from_secs(5), s.next()).await;
        assert_eq!(got.ok().flatten(), Some(Interrupt::Sigterm));
    }
}
