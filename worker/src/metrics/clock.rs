//! Time sources for the metrics registry.
//!
//! Windows and state durations use a monotonic millisecond clock; only
//! `last-error-timestamp` uses wall-clock time. Tests swap in [`ManualClock`].

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// A source of time in milliseconds.
pub trait Clock: Send + Sync {
    /// Monotonic milliseconds from an arbitrary origin; used for windows and durations.
    fn monotonic_ms(&self) -> i64;
    /// Wall-clock milliseconds since the Unix epoch.
    fn epoch_ms(&self) -> i64;
}

/// The real clock: `Instant` for monotonic time, `SystemTime` for wall-clock time.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    origin: Instant,
}

impl SystemClock {
    /// Creates a clock whose monotonic time starts at zero now.
    pub fn new() -> Self {
        Self {
            origin: Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for SystemClock {
    fn monotonic_ms(&self) -> i64 {
        i64::try_from(self.origin.elapsed().as_millis()).unwrap_or(i64::MAX)
    }

    fn epoch_ms(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    }
}

/// A clock that only moves when told to; both readings return the same value.
#[derive(Debug, Default)]
pub struct ManualClock {
    now_ms: AtomicI64,
}

impl ManualClock {
    /// Creates a clock reading `start_ms`.
    pub fn new(start_ms: i64) -> Self {
        Self {
            now_ms: AtomicI64::new(start_ms),
        }
    }

    /// Moves the clock forward by `ms` milliseconds.
    pub fn advance_ms(&self, ms: i64) {
        self.now_ms.fetch_add(ms, Ordering::SeqCst);
    }

    /// Sets the clock to `ms`.
    pub fn set_ms(&self, ms: i64) {
        self.now_ms.store(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn monotonic_ms(&self) -> i64 {
        self.now_ms.load(Ordering::SeqCst)
    }

    fn epoch_ms(&self) -> i64 {
        self.now_ms.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::new(5);
        assert_eq!(clock.monotonic_ms(), 5);
        clock.advance_ms(10);
        assert_eq!(clock.monotonic_ms(), 15);
        assert_eq!(clock.epoch_ms(), 15);
        clock.set_ms(1);
        assert_eq!(clock.monotonic_ms(), 1);
    }

    #[test]
    fn system_clock_is_monotonic_and_after_epoch() {
        let clock = SystemClock::new();
        let a = clock.monotonic_ms();
        let b = clock.monotonic_ms();
        assert!(b >= a);
        assert!(clock.epoch_ms() > 1_600_000_000_000);
    }
}
