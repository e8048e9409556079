//! The `connect-worker-rebalance-metrics` group (distributed mode only).

use std::sync::{Mutex, MutexGuard};

use super::prometheus::{family_name, Exposition};
use super::window::SampledStat;
use super::Context;

/// Group name of the rebalance metrics.
pub const REBALANCE_GROUP: &str = "connect-worker-rebalance-metrics";

#[derive(Debug, Default)]
struct RebalanceState {
    connect_protocol: String,
    leader_name: Option<String>,
    epoch: i64,
    completed: u64,
    rebalancing: bool,
    started_ms: Option<i64>,
    last_completed_ms: Option<i64>,
    time: SampledStat,
}

/// Rebalance state fed by the distributed herder.
pub struct RebalanceMetrics {
    ctx: Context,
    state: Mutex<RebalanceState>,
}

impl std::fmt::Debug for RebalanceMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RebalanceMetrics")
            .field("state", &*self.lock())
            .finish_non_exhaustive()
    }
}

impl RebalanceMetrics {
    pub(crate) fn new(ctx: Context) -> Self {
        Self {
            ctx,
            state: Mutex::new(RebalanceState::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, RebalanceState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sets `connect-protocol` (`EAGER`, `COMPATIBLE` or `SESSIONED`).
    pub fn set_connect_protocol(&self, protocol: &str) {
        protocol.clone_into(&mut self.lock().connect_protocol);
    }

    /// Sets `leader-name`, the leader's REST URL (`None` before the first assignment).
    pub fn set_leader_name(&self, leader_url: Option<&str>) {
        self.lock().leader_name = leader_url.map(str::to_owned);
    }

    /// Sets `epoch`, the group generation.
    pub fn set_epoch(&self, generation: i64) {
        self.lock().epoch = generation;
    }

    /// Marks the start of a rebalance (on assignment, before handling it).
    pub fn rebalance_started(&self) {
        let now = self.ctx.clock.monotonic_ms();
        let mut st = self.lock();
        st.started_ms = Some(now);
        st.rebalancing = true;
    }

    /// Marks a rebalance as completed once its work has started.
    pub fn rebalance_succeeded(&self) {
        let now = self.ctx.clock.monotonic_ms();
        let mut st = self.lock();
        let duration = st.started_ms.map_or(0, |start| (now - start).max(0));
        st.rebalancing = false;
        st.completed += 1;
        st.time.record(&self.ctx.config, duration as f64, now);
        st.last_completed_ms = Some(now);
    }

    pub(crate) fn render(&self, out: &mut Exposition, now: i64, extensions: bool) {
        let cfg = &self.ctx.config;
        let mut st = self.lock();
        let g = REBALANCE_GROUP;
        out.attribute(g, "epoch", &[], st.epoch as f64);
        out.attribute(g, "completed-rebalances-total", &[], st.completed as f64);
        out.attribute(
            g,
            "rebalancing",
            &[],
            if st.rebalancing { 1.0 } else { 0.0 },
        );
        let max = st.time.max(cfg, now);
        out.attribute(g, "rebalance-max-time-ms", &[], max);
        let avg = st.time.avg(cfg, now);
        out.attribute(g, "rebalance-avg-time-ms", &[], avg);
        let since = st
            .last_completed_ms
            .map_or(f64::INFINITY, |last| (now - last) as f64);
        out.attribute(g, "time-since-last-rebalance-ms", &[], since);
        if extensions {
            let leader = st.leader_name.as_deref().unwrap_or("");
            out.sample(
                &family_name(&[g, "info"]),
                &[
                    ("leader_name", leader),
                    ("connect_protocol", st.connect_protocol.as_str()),
                ],
                1.0,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::clock::{Clock, ManualClock};
    use crate::metrics::window::WindowConfig;
    use std::sync::Arc;

    fn render(r: &RebalanceMetrics, now: i64, extensions: bool) -> String {
        let mut out = Exposition::new();
        r.render(&mut out, now, extensions);
        out.finish()
    }

    #[test]
    fn rebalance_lifecycle() {
        let clock = Arc::new(ManualClock::new(1_000));
        let r = RebalanceMetrics::new(Context {
            config: WindowConfig::default(),
            clock: clock.clone(),
        });
        let text = render(&r, clock.monotonic_ms(), false);
        assert!(text.contains(
            "kafka_connect_connect_worker_rebalance_metrics_time_since_last_rebalance_ms +Inf\n"
        ));
        assert!(text.contains(
            "kafka_connect_connect_worker_rebalance_metrics_rebalance_max_time_ms NaN\n"
        ));
        assert!(text.contains(
            "kafka_connect_connect_worker_rebalance_metrics_completed_rebalances_total 0\n"
        ));

        r.set_epoch(7);
        r.rebalance_started();
        let text = render(&r, clock.monotonic_ms(), false);
        assert!(text.contains("kafka_connect_connect_worker_rebalance_metrics_rebalancing 1\n"));
        clock.advance_ms(250);
        r.rebalance_succeeded();
        clock.advance_ms(1_000);
        let text = render(&r, clock.monotonic_ms(), false);
        for line in [
            "kafka_connect_connect_worker_rebalance_metrics_epoch 7\n",
            "kafka_connect_connect_worker_rebalance_metrics_completed_rebalances_total 1\n",
            "kafka_connect_connect_worker_rebalance_metrics_rebalancing 0\n",
            "kafka_connect_connect_worker_rebalance_metrics_rebalance_max_time_ms 250\n",
            "kafka_connect_connect_worker_rebalance_metrics_rebalance_avg_time_ms 250\n",
            "kafka_connect_connect_worker_rebalance_metrics_time_since_last_rebalance_ms 1000\n",
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
        assert!(!text.contains("_info"));
    }

    #[test]
    fn info_series_is_opt_in() {
        let clock = Arc::new(ManualClock::new(0));
        let r = RebalanceMetrics::new(Context {
            config: WindowConfig::default(),
            clock,
        });
        r.set_connect_protocol("SESSIONED");
        r.set_leader_name(Some("http://10.0.0.5:8083/"));
        let text = render(&r, 0, true);
        assert!(text.contains(
            "# TYPE kafka_connect_connect_worker_rebalance_metrics_info untyped\n\
             kafka_connect_connect_worker_rebalance_metrics_info{leader_name=\"http://10.0.0.5:8083/\",connect_protocol=\"SESSIONED\"} 1\n"
        ));
    }
}
