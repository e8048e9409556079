//! Windowed statistics with Kafka's `SampledStat` semantics.
//!
//! A [`SampledStat`] keeps a ring of up to `samples + 1` samples, each covering
//! one time window. Recording is O(1): it updates the current sample and moves
//! to the next one when the window has elapsed. Reading purges samples whose
//! last event is older than `samples × window` and combines the rest into a
//! rate, average, maximum, minimum or frequency.
//!
//! Reads change the state the way Kafka's do (purged samples restart at the
//! read time, and a rate read on an empty stat opens a sample), so values match
//! a Java worker scraped at the same moments.

use std::time::Duration;

/// Default `metrics.sample.window.ms`.
pub const DEFAULT_SAMPLE_WINDOW_MS: u64 = 30_000;
/// Default `metrics.num.samples`.
pub const DEFAULT_NUM_SAMPLES: usize = 2;

/// Window length and sample count shared by every windowed stat of a registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowConfig {
    window_ms: i64,
    samples: usize,
}

impl WindowConfig {
    /// Creates a config; the window is at least 1 ms and there is at least one sample.
    pub fn new(window: Duration, samples: usize) -> Self {
        let ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX);
        Self::from_millis(ms, samples)
    }

    /// Creates a config from `metrics.sample.window.ms` and `metrics.num.samples`.
    pub fn from_millis(window_ms: u64, samples: usize) -> Self {
        Self {
            window_ms: i64::try_from(window_ms).unwrap_or(i64::MAX).max(1),
            samples: samples.max(1),
        }
    }

    /// The window length in milliseconds.
    pub fn window_ms(&self) -> i64 {
        self.window_ms
    }

    /// The number of samples (`metrics.num.samples`).
    pub fn samples(&self) -> usize {
        self.samples
    }

    /// Samples whose last event is this old are purged.
    fn expire_age_ms(&self) -> i64 {
        self.window_ms.saturating_mul(self.samples as i64)
    }
}

impl Default for WindowConfig {
    fn default() -> Self {
        Self::from_millis(DEFAULT_SAMPLE_WINDOW_MS, DEFAULT_NUM_SAMPLES)
    }
}

/// One window's worth of recorded values.
#[derive(Debug, Clone, Copy)]
struct Sample {
    start_ms: i64,
    last_event_ms: i64,
    count: u64,
    sum: f64,
    max: f64,
    min: f64,
}

impl Sample {
    fn new(now_ms: i64) -> Self {
        Self {
            start_ms: now_ms,
            last_event_ms: now_ms,
            count: 0,
            sum: 0.0,
            max: f64::NEG_INFINITY,
            min: f64::INFINITY,
        }
    }

    fn is_complete(&self, now_ms: i64, config: &WindowConfig) -> bool {
        now_ms - self.start_ms >= config.window_ms
    }
}

/// A windowed stat that can answer as a Kafka `Rate`, `Avg`, `Max`, `Min` or
/// boolean `Frequencies`.
///
/// Each instance stands for one Kafka sensor: the stats Connect attaches to
/// the same sensor are always recorded together, so they share samples.
#[derive(Debug, Clone, Default)]
pub struct SampledStat {
    samples: Vec<Sample>,
    current: usize,
}

impl SampledStat {
    /// Creates an empty stat.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `value` at `now_ms`.
    pub fn record(&mut self, config: &WindowConfig, value: f64, now_ms: i64) {
        let mut idx = self.current_index(now_ms);
        if self.samples[idx].is_complete(now_ms, config) {
            idx = self.advance(config, now_ms);
        }
        let sample = &mut self.samples[idx];
        sample.sum += value;
        sample.max = sample.max.max(value);
        sample.min = sample.min.min(value);
        sample.count += 1;
        sample.last_event_ms = now_ms;
    }

    /// Records a success (1.0) or failure (0.0) for [`SampledStat::frequency`].
    pub fn record_outcome(&mut self, config: &WindowConfig, success: bool, now_ms: i64) {
        self.record(config, if success { 1.0 } else { 0.0 }, now_ms);
    }

    /// Per-second sum over the retained samples (Kafka `Rate` over `WindowedSum`).
    ///
    /// The elapsed time is at least `samples - 1` windows and at least 1 ms.
    pub fn rate(&mut self, config: &WindowConfig, now_ms: i64) -> f64 {
        self.purge(config, now_ms);
        let total: f64 = self.samples.iter().map(|s| s.sum).sum();
        if self.samples.is_empty() {
            self.samples.push(Sample::new(now_ms));
        }
        let oldest_start = self
            .samples
            .iter()
            .map(|s| s.start_ms)
            .min()
            .unwrap_or(now_ms);
        let mut elapsed = now_ms - oldest_start;
        let full_windows = elapsed / config.window_ms;
        let min_full_windows = config.samples as i64 - 1;
        if full_windows < min_full_windows {
            elapsed += (min_full_windows - full_windows) * config.window_ms;
        }
        total / (elapsed.max(1) as f64 / 1000.0)
    }

    /// Mean of the values in the window, or NaN when there are none.
    pub fn avg(&mut self, config: &WindowConfig, now_ms: i64) -> f64 {
        self.purge(config, now_ms);
        let (sum, count) = self.samples.iter().fold((0.0, 0u64), |(sum, count), s| {
            (sum + s.sum, count + s.count)
        });
        if count == 0 {
            f64::NAN
        } else {
            sum / count as f64
        }
    }

    /// Largest value in the window, or NaN when there are none.
    pub fn max(&mut self, config: &WindowConfig, now_ms: i64) -> f64 {
        self.purge(config, now_ms);
        if self.event_count() == 0 {
            return f64::NAN;
        }
        self.samples
            .iter()
            .map(|s| s.max)
            .fold(f64::NEG_INFINITY, f64::max)
    }

    /// Smallest value in the window, or NaN when there are none.
    pub fn min(&mut self, config: &WindowConfig, now_ms: i64) -> f64 {
        self.purge(config, now_ms);
        if self.event_count() == 0 {
            return f64::NAN;
        }
        self.samples
            .iter()
            .map(|s| s.min)
            .fold(f64::INFINITY, f64::min)
    }

    /// Fraction (0..1) of outcomes in the window equal to `success`; 0.0 when empty.
    pub fn frequency(&mut self, config: &WindowConfig, now_ms: i64, success: bool) -> f64 {
        self.purge(config, now_ms);
        let total = self.event_count();
        if total == 0 {
            return 0.0;
        }
        let successes: f64 = self.samples.iter().map(|s| s.sum).sum();
        let hits = if success {
            successes
        } else {
            total as f64 - successes
        };
        hits / total as f64
    }

    fn event_count(&self) -> u64 {
        self.samples.iter().map(|s| s.count).sum()
    }

    fn current_index(&mut self, now_ms: i64) -> usize {
        if self.samples.is_empty() {
            self.samples.push(Sample::new(now_ms));
        }
        self.current
    }

    /// Moves to the next slot of the `samples + 1` ring, reusing an old sample.
    fn advance(&mut self, config: &WindowConfig, now_ms: i64) -> usize {
        let max_samples = config.samples + 1;
        self.current = (self.current + 1) % max_samples;
        if self.current >= self.samples.len() {
            self.samples.push(Sample::new(now_ms));
        } else {
            self.samples[self.current] = Sample::new(now_ms);
        }
        self.current
    }

    /// Resets samples without an event in the last `samples × window`.
    fn purge(&mut self, config: &WindowConfig, now_ms: i64) {
        let expire_age = config.expire_age_ms();
        for sample in &mut self.samples {
            if now_ms - sample.last_event_ms >= expire_age {
                *sample = Sample::new(now_ms);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> WindowConfig {
        WindowConfig::default()
    }

    #[test]
    fn config_defaults_and_clamping() {
        assert_eq!(cfg().window_ms(), 30_000);
        assert_eq!(cfg().samples(), 2);
        let c = WindowConfig::from_millis(0, 0);
        assert_eq!(c.window_ms(), 1);
        assert_eq!(c.samples(), 1);
        assert_eq!(
            WindowConfig::new(Duration::from_secs(5), 3),
            WindowConfig::from_millis(5_000, 3)
        );
    }

    #[test]
    fn rate_within_first_window_pads_to_samples_minus_one_windows() {
        let c = cfg();
        let mut s = SampledStat::new();
        s.record(&c, 10.0, 0);
        s.record(&c, 20.0, 1_000);
        // Elapsed 10 s is less than one full window: padded to 10 s + 30 s.
        assert_eq!(s.rate(&c, 10_000), 30.0 / 40.0);
    }

    #[test]
    fn rate_over_two_windows() {
        let c = cfg();
        let mut s = SampledStat::new();
        s.record(&c, 10.0, 0);
        s.record(&c, 20.0, 29_000);
        s.record(&c, 60.0, 30_000); // second window
        assert_eq!(s.rate(&c, 45_000), 90.0 / 45.0);
        // A third window keeps the first sample: its last event is only 31 s old.
        s.record(&c, 15.0, 60_000);
        assert_eq!(s.rate(&c, 60_000), 105.0 / 60.0);
    }

    #[test]
    fn rate_forgets_expired_samples() {
        let c = cfg();
        let mut s = SampledStat::new();
        s.record(&c, 100.0, 0);
        s.record(&c, 50.0, 40_000);
        // The first sample's last event is 60 s old at t=60 s: purged. The
        // remaining 20 s are padded to one full window plus 20 s.
        assert_eq!(s.rate(&c, 60_000), 50.0 / 50.0);
        // Everything expires after 2 windows without events.
        assert_eq!(s.rate(&c, 100_000), 0.0);
    }

    #[test]
    fn rate_padding_depends_on_sample_count() {
        let mut s = SampledStat::new();
        let three = WindowConfig::from_millis(10_000, 3);
        s.record(&three, 30.0, 0);
        // 5 s elapsed, padded to 5 s + 2 windows.
        assert_eq!(s.rate(&three, 5_000), 30.0 / 25.0);
        let mut s = SampledStat::new();
        let one = WindowConfig::from_millis(10_000, 1);
        s.record(&one, 30.0, 0);
        // No padding with a single sample.
        assert_eq!(s.rate(&one, 5_000), 30.0 / 5.0);
        // Never divides by zero.
        assert_eq!(s.rate(&one, 0), 30.0 / 0.001);
    }

    #[test]
    fn rate_of_empty_stat_is_zero() {
        let c = cfg();
        let mut s = SampledStat::new();
        assert_eq!(s.rate(&c, 0), 0.0);
        assert_eq!(s.rate(&c, 123_456), 0.0);
    }

    #[test]
    fn rate_read_on_empty_stat_opens_a_sample() {
        // Kafka's Rate adds a sample at read time when there is none, and
        // later records land in it until its window closes.
        let c = cfg();
        let mut s = SampledStat::new();
        assert_eq!(s.rate(&c, 0), 0.0);
        s.record(&c, 60.0, 20_000);
        // Oldest sample started at 0: elapsed 40 s, one full window.
        assert_eq!(s.rate(&c, 40_000), 60.0 / 40.0);
    }

    #[test]
    fn avg_max_min_are_nan_when_empty() {
        let c = cfg();
        let mut s = SampledStat::new();
        assert!(s.avg(&c, 0).is_nan());
        assert!(s.max(&c, 0).is_nan());
        assert!(s.min(&c, 0).is_nan());
    }

    #[test]
    fn avg_max_min_over_window_then_nan_after_expiry() {
        let c = cfg();
        let mut s = SampledStat::new();
        s.record(&c, 4.0, 0);
        s.record(&c, 8.0, 10_000);
        s.record(&c, 3.0, 35_000);
        assert_eq!(s.avg(&c, 40_000), 5.0);
        assert_eq!(s.max(&c, 40_000), 8.0);
        assert_eq!(s.min(&c, 40_000), 3.0);
        // At 70 s the first window (last event at 10 s) is gone.
        assert_eq!(s.max(&c, 70_000), 3.0);
        assert_eq!(s.avg(&c, 70_000), 3.0);
        assert!(s.max(&c, 95_000).is_nan());
        assert!(s.avg(&c, 95_000).is_nan());
    }

    #[test]
    fn frequency_is_zero_when_empty_and_a_fraction_otherwise() {
        let c = cfg();
        let mut s = SampledStat::new();
        assert_eq!(s.frequency(&c, 0, true), 0.0);
        assert_eq!(s.frequency(&c, 0, false), 0.0);
        s.record_outcome(&c, true, 0);
        s.record_outcome(&c, true, 1);
        s.record_outcome(&c, true, 2);
        s.record_outcome(&c, false, 3);
        assert_eq!(s.frequency(&c, 10, true), 0.75);
        assert_eq!(s.frequency(&c, 10, false), 0.25);
        assert_eq!(s.frequency(&c, 60_003, true), 0.0);
    }

    #[test]
    fn ring_holds_samples_plus_one_windows() {
        let c = cfg();
        let mut s = SampledStat::new();
        for i in 0..10 {
            s.record(&c, 1.0, i * 30_000);
        }
        assert_eq!(s.samples.len(), 3);
        // Last events at 210 s, 240 s, 270 s; the one at 210 s is 60 s old.
        assert_eq!(s.avg(&c, 270_000), 1.0);
        assert_eq!(s.event_count(), 2);
    }
}
