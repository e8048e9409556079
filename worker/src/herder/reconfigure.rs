//! What herders do when a running connector asks something of them through its context
//! (Java's `ConnectorContext`): task reconfiguration requests are debounced per connector, so a
//! burst of them leads to one regeneration, then handed to the herder; raised errors are handed
//! over at once.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedReceiver;

use crate::worker::context::ConnectorEvent;
use crate::worker::Worker;

/// How long a connector's requests must pause before its task configs are regenerated.
pub const QUIET: Duration = Duration::from_millis(250);
/// The longest a request waits while more keep coming.
pub const MAX_DELAY: Duration = Duration::from_secs(2);

/// Per-connector debouncing of reconfiguration requests: a connector is due once its requests
/// paused for `quiet`, or `max_delay` after the first of them, whichever comes first. Pure:
/// the caller says what time it is.
#[derive(Debug, Clone)]
pub struct Debouncer {
    quiet: Duration,
    max_delay: Duration,
    /// Connector → (first pending request, last pending request).
    pending: BTreeMap<String, (Instant, Instant)>,
}

impl Debouncer {
    pub fn new(quiet: Duration, max_delay: Duration) -> Debouncer {
        Debouncer {
            quiet,
            max_delay,
            pending: BTreeMap::new(),
        }
    }

    /// Records a request for `connector` made at `now`.
    pub fn request(&mut self, connector: &str, now: Instant) {
        self.pending
            .entry(connector.to_owned())
            .and_modify(|(_, last)| *last = now.max(*last))
            .or_insert((now, now));
    }

    /// Drops the pending requests of `connector` (it failed, or was deleted).
    pub fn forget(&mut self, connector: &str) {
        self.pending.remove(connector);
    }

    fn due_at(&self, (first, last): (Instant, Instant)) -> Instant {
        (last + self.quiet).min(first + self.max_delay)
    }

    /// When the next connector is due, if any request is pending.
    pub fn next_due(&self) -> Option<Instant> {
        self.pending.values().map(|p| self.due_at(*p)).min()
    }

    /// The connectors due at `now`, forgotten here (a request made later starts anew).
    pub fn take_due(&mut self, now: Instant) -> Vec<String> {
        let due: Vec<String> = self
            .pending
            .iter()
            .filter(|(_, p)| self.due_at(**p) <= now)
            .map(|(name, _)| name.clone())
            .collect();
        for name in &due {
            self.pending.remove(name);
        }
        due
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }
}

/// What a herder does with its connectors' requests.
pub trait ContextRequests: Send + Sync + 'static {
    /// The Worker whose connectors send the requests.
    fn worker(&self) -> &Arc<Worker>;

    /// Regenerates the task configs of `connector` and applies them if they changed. Called
    /// once per burst of requests, never while another call runs; the herder checks that the
    /// connector still exists, runs here and is started.
    fn reconfigure(self: &Arc<Self>, connector: &str) -> impl Future<Output = ()> + Send;

    /// The connector instance of `generation` raised an error.
    fn raise_error(
        self: &Arc<Self>,
        connector: &str,
        generation: u64,
        message: &str,
    ) -> impl Future<Output = ()> + Send;
}

/// Takes the Worker's connector events and acts on them until the herder is dropped.
pub fn spawn<H: ContextRequests>(herder: &Arc<H>) {
    let Some(events) = herder.worker().take_events() else {
        tracing::warn!("connector events are already handled");
        return;
    };
    tokio::spawn(run(Arc::downgrade(herder), events));
}

async fn run<H: ContextRequests>(herder: Weak<H>, mut events: UnboundedReceiver<ConnectorEvent>) {
    let mut debouncer = Debouncer::new(QUIET, MAX_DELAY);
    loop {
        let next = debouncer.next_due();
        let event = tokio::select! {
            event = events.recv() => match event {
                Some(event) => Some(event),
                None => return,
            },
            _ = sleep_until(next), if next.is_some() => None,
        };
        let Some(herder) = herder.upgrade() else {
            return;
        };
        match event {
            Some(ConnectorEvent::Reconfigure {
                connector,
                generation,
            }) => {
                // Requests from an instance since stopped or replaced are stale. (Whether
                // the connector still exists and runs is checked when it is due.)
                if !herder.worker().is_stale(&connector, generation) {
                    debouncer.request(&connector, Instant::now());
                } else {
                    tracing::debug!(
                        connector,
                        generation,
                        "reconfiguration request of a connector instance no longer running; ignored"
                    );
                }
            }
            Some(ConnectorEvent::Failed {
                connector,
                generation,
                message,
            }) => {
                debouncer.forget(&connector);
                herder.raise_error(&connector, generation, &message).await;
            }
            None => {
                for connector in debouncer.take_due(Instant::now()) {
                    herder.reconfigure(&connector).await;
                }
            }
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    if let Some(deadline) = deadline {
        tokio::time::sleep_until(deadline.into()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn debouncer() -> Debouncer {
        Debouncer::new(100 * MS, 1000 * MS)
    }

    #[test]
    fn a_burst_of_requests_is_due_once_after_it_pauses() {
        let t0 = Instant::now();
        let mut d = debouncer();
        assert_eq!(d.next_due(), None);
        for i in 0..10 {
            d.request("a", t0 + i * 10 * MS);
        }
        assert_eq!(d.next_due(), Some(t0 + 190 * MS));
        assert!(d.take_due(t0 + 189 * MS).is_empty());
        assert_eq!(d.take_due(t0 + 190 * MS), ["a"]);
        assert!(d.is_empty());
        assert!(d.take_due(t0 + 10_000 * MS).is_empty(), "due once");
    }

    #[test]
    fn requests_that_keep_coming_are_due_after_the_maximum_delay() {
        let t0 = Instant::now();
        let mut d = debouncer();
        for i in 0..30 {
            d.request("a", t0 + i * 50 * MS);
        }
        assert_eq!(d.next_due(), Some(t0 + 1000 * MS));
        assert_eq!(d.take_due(t0 + 1000 * MS), ["a"]);
        // A request after that is a new burst.
        d.request("a", t0 + 1500 * MS);
        assert_eq!(d.next_due(), Some(t0 + 1600 * MS));
    }

    #[test]
    fn connectors_are_debounced_separately() {
        let t0 = Instant::now();
        let mut d = debouncer();
        d.request("a", t0);
        d.request("b", t0 + 50 * MS);
        d.request("a", t0 + 60 * MS);
        assert_eq!(d.next_due(), Some(t0 + 150 * MS));
        assert_eq!(d.take_due(t0 + 150 * MS), ["b"]);
        assert_eq!(d.next_due(), Some(t0 + 160 * MS));
        assert_eq!(d.take_due(t0 + 200 * MS), ["a"]);
    }

    #[test]
    fn a_forgotten_connector_is_never_due() {
        let t0 = Instant::now();
        let mut d = debouncer();
        d.request("a", t0);
        d.request("b", t0);
        d.forget("a");
        assert_eq!(d.take_due(t0 + 5000 * MS), ["b"]);
    }

    #[test]
    fn a_request_stamped_earlier_never_moves_the_deadline_back() {
        let t0 = Instant::now() + 1000 * MS;
        let mut d = debouncer();
        d.request("a", t0);
        d.request("a", t0 - 50 * MS);
        assert_eq!(d.next_due(), Some(t0 + 100 * MS));
    }
}
