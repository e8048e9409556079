//! Per-task metric groups: `connector-task-metrics`, `source-task-metrics`,
//! `sink-task-metrics` and `task-error-metrics`.
//!
//! A [`TaskMetrics`] is created when a task starts and dropped when it stops,
//! so its totals start from zero on every restart. Recording takes one
//! uncontended lock (or one relaxed atomic for error counters) and is O(1);
//! windowed values are computed when the registry renders.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use super::prometheus::Exposition;
use super::window::SampledStat;
use super::Context;
use crate::model::State;

/// Group name of the common task metrics.
pub const TASK_GROUP: &str = "connector-task-metrics";
/// Group name of the source task metrics.
pub const SOURCE_TASK_GROUP: &str = "source-task-metrics";
/// Group name of the sink task metrics.
pub const SINK_TASK_GROUP: &str = "sink-task-metrics";
/// Group name of the error-handling metrics.
pub const TASK_ERROR_GROUP: &str = "task-error-metrics";

/// The lower-case state name used by the `status` metric.
pub fn status_name(state: State) -> &'static str {
    match state {
        State::Unassigned => "unassigned",
        State::Running => "running",
        State::Paused => "paused",
        State::Stopped => "stopped",
        State::Failed => "failed",
        State::Restarting => "restarting",
    }
}

fn state_index(state: State) -> usize {
    match state {
        State::Unassigned => 0,
        State::Running => 1,
        State::Paused => 2,
        State::Stopped => 3,
        State::Failed => 4,
        State::Restarting => 5,
    }
}

/// Which kind of task a [`TaskMetrics`] belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskKind {
    /// A source task.
    Source,
    /// An exactly-once source task (adds `transaction-size-*`).
    ExactlyOnceSource,
    /// A sink task.
    Sink,
}

impl TaskKind {
    fn is_source(self) -> bool {
        matches!(self, TaskKind::Source | TaskKind::ExactlyOnceSource)
    }
}

/// Time spent in each state since the first recorded state (Kafka's `StateTracker`).
#[derive(Debug, Clone, Default)]
struct StateTracker {
    state: Option<State>,
    since_ms: i64,
    totals_ms: [i64; 6],
}

impl StateTracker {
    fn change(&mut self, state: State, now_ms: i64) {
        match self.state {
            None => {
                self.state = Some(state);
                self.since_ms = now_ms;
            }
            Some(current) if current == state => {}
            Some(current) => {
                self.totals_ms[state_index(current)] += now_ms - self.since_ms;
                self.state = Some(state);
                self.since_ms = now_ms;
            }
        }
    }

    /// Fraction of tracked time spent in `state`; 0.0 before any state.
    fn ratio(&self, state: State, now_ms: i64) -> f64 {
        let Some(current) = self.state else {
            return 0.0;
        };
        let in_current = now_ms - self.since_ms;
        let mut desired = self.totals_ms[state_index(state)];
        if current == state {
            desired += in_current;
        }
        let total = in_current + self.totals_ms.iter().sum::<i64>();
        if total == 0 {
            0.0
        } else {
            desired as f64 / total as f64
        }
    }
}

/// A windowed stat with a cumulative total (Kafka `Rate` + `CumulativeSum`).
#[derive(Debug, Clone, Default)]
struct Meter {
    window: SampledStat,
    total: f64,
}

/// A windowed stat that also keeps its last value (Kafka `Value` + `Max` + `Avg`).
#[derive(Debug, Clone, Default)]
struct Gauge {
    window: SampledStat,
    last: f64,
}

#[derive(Debug, Default)]
struct SourceState {
    poll: Meter,
    write: Meter,
    poll_time: SampledStat,
    active: Gauge,
    active_records: u64,
    transaction_size: SampledStat,
}

#[derive(Debug, Default)]
struct SinkState {
    read: Meter,
    send: Meter,
    partition_count: f64,
    commit_seq_no: f64,
    commit_completion: Meter,
    commit_skip: Meter,
    put_time: SampledStat,
    active: Gauge,
}

#[derive(Debug)]
enum KindState {
    Source(SourceState),
    Sink(SinkState),
}

/// Everything a task records under its lock.
#[derive(Debug)]
struct TaskRecords {
    tracker: StateTracker,
    commit_time: SampledStat,
    commit_outcome: SampledStat,
    batch_size: SampledStat,
    kind: KindState,
}

/// Metrics of one running task. Create it through the registry
/// ([`super::Metrics::register_source_task`] / [`super::Metrics::register_sink_task`]);
/// its series disappear when it is dropped or unregistered.
///
/// Source-only methods do nothing on a sink task and the other way round.
pub struct TaskMetrics {
    connector: String,
    task: u32,
    kind: TaskKind,
    incarnation: u64,
    ctx: Context,
    state: Mutex<TaskRecords>,
    errors: TaskErrorMetrics,
}

impl std::fmt::Debug for TaskMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskMetrics")
            .field("connector", &self.connector)
            .field("task", &self.task)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

fn millis(elapsed: Duration) -> f64 {
    elapsed.as_secs_f64() * 1000.0
}

impl TaskMetrics {
    pub(crate) fn new(
        ctx: Context,
        connector: &str,
        task: u32,
        kind: TaskKind,
        incarnation: u64,
    ) -> Self {
        let kind_state = if kind.is_source() {
            KindState::Source(SourceState::default())
        } else {
            KindState::Sink(SinkState::default())
        };
        Self {
            connector: connector.to_owned(),
            task,
            kind,
            incarnation,
            errors: TaskErrorMetrics::new(ctx.clone()),
            ctx,
            state: Mutex::new(TaskRecords {
                tracker: StateTracker::default(),
                commit_time: SampledStat::new(),
                commit_outcome: SampledStat::new(),
                batch_size: SampledStat::new(),
                kind: kind_state,
            }),
        }
    }

    /// The connector name.
    pub fn connector(&self) -> &str {
        &self.connector
    }

    /// The task number.
    pub fn task(&self) -> u32 {
        self.task
    }

    /// The task kind.
    pub fn kind(&self) -> TaskKind {
        self.kind
    }

    pub(crate) fn incarnation(&self) -> u64 {
        self.incarnation
    }

    /// The `task-error-metrics` counters of this task.
    pub fn errors(&self) -> &TaskErrorMetrics {
        &self.errors
    }

    fn lock(&self) -> MutexGuard<'_, TaskRecords> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn now(&self) -> i64 {
        self.ctx.clock.monotonic_ms()
    }

    // ---- connector-task-metrics ----

    /// Records a state transition (startup → `Running`, pause, resume,
    /// failure, shutdown → `Unassigned`, deletion, restart).
    pub fn record_state(&self, state: State) {
        let now = self.now();
        self.lock().tracker.change(state, now);
    }

    /// The last recorded state, if any.
    pub fn state(&self) -> Option<State> {
        self.lock().tracker.state
    }

    /// Records an offset commit. Only successful commits feed the commit
    /// time; on a sink task a success also counts as an offset-commit completion.
    pub fn record_commit(&self, elapsed: Duration, success: bool) {
        let now = self.now();
        let cfg = &self.ctx.config;
        let mut st = self.lock();
        if success {
            st.commit_time.record(cfg, millis(elapsed), now);
            if let KindState::Sink(sink) = &mut st.kind {
                sink.commit_completion.window.record(cfg, 1.0, now);
                sink.commit_completion.total += 1.0;
            }
        }
        st.commit_outcome.record_outcome(cfg, success, now);
    }

    /// Records a batch size: for a source task the records of one send
    /// attempt (before SMTs); for a sink task the records of one `put`, which
    /// also count as sent.
    pub fn record_batch(&self, records: u64) {
        let now = self.now();
        let cfg = &self.ctx.config;
        let mut st = self.lock();
        let n = records as f64;
        st.batch_size.record(cfg, n, now);
        if let KindState::Sink(sink) = &mut st.kind {
            sink.send.window.record(cfg, n, now);
            sink.send.total += n;
        }
    }

    // ---- source-task-metrics ----

    /// Records one `poll()` that returned a batch (possibly empty) of
    /// `records` records and took `elapsed`. A poll that returned nothing
    /// (`None`) is not recorded.
    pub fn record_poll(&self, records: u64, elapsed: Duration) {
        let now = self.now();
        let cfg = &self.ctx.config;
        let mut st = self.lock();
        if let KindState::Source(src) = &mut st.kind {
            let n = records as f64;
            src.poll.window.record(cfg, n, now);
            src.poll.total += n;
            src.poll_time.record(cfg, millis(elapsed), now);
            src.active_records = src.active_records.saturating_add(records);
            let active = src.active_records as f64;
            src.active.window.record(cfg, active, now);
            src.active.last = active;
        }
    }

    /// Records the end of a send batch: `acked` records written to Kafka and
    /// `skipped` records dropped by SMTs or tolerated errors. Only `acked`
    /// counts as written; both leave the active count.
    pub fn record_write(&self, acked: u64, skipped: u64) {
        let now = self.now();
        let cfg = &self.ctx.config;
        let mut st = self.lock();
        if let KindState::Source(src) = &mut st.kind {
            let n = acked as f64;
            src.write.window.record(cfg, n, now);
            src.write.total += n;
            src.active_records = src
                .active_records
                .saturating_sub(acked.saturating_add(skipped));
            let active = src.active_records as f64;
            src.active.window.record(cfg, active, now);
            src.active.last = active;
        }
    }

    /// Records the number of records in a committed transaction (exactly-once
    /// source tasks only).
    pub fn record_transaction_size(&self, records: u64) {
        if self.kind != TaskKind::ExactlyOnceSource {
            return;
        }
        let now = self.now();
        let cfg = &self.ctx.config;
        let mut st = self.lock();
        if let KindState::Source(src) = &mut st.kind {
            src.transaction_size.record(cfg, records as f64, now);
        }
    }

    // ---- sink-task-metrics ----

    /// Records `records` records returned by one consumer poll (before SMTs).
    pub fn record_read(&self, records: u64) {
        let now = self.now();
        let cfg = &self.ctx.config;
        let mut st = self.lock();
        if let KindState::Sink(sink) = &mut st.kind {
            let n = records as f64;
            sink.read.window.record(cfg, n, now);
            sink.read.total += n;
        }
    }

    /// Records a successful `put` of `records` records that took `elapsed`
    /// (batch size, records sent and put time, in one call).
    pub fn record_put(&self, records: u64, elapsed: Duration) {
        let now = self.now();
        let cfg = &self.ctx.config;
        let mut st = self.lock();
        let n = records as f64;
        st.batch_size.record(cfg, n, now);
        if let KindState::Sink(sink) = &mut st.kind {
            sink.send.window.record(cfg, n, now);
            sink.send.total += n;
            sink.put_time.record(cfg, millis(elapsed), now);
        }
    }

    /// Records only the duration of a `put` (use with [`TaskMetrics::record_batch`]).
    pub fn record_put_time(&self, elapsed: Duration) {
        let now = self.now();
        let cfg = &self.ctx.config;
        let mut st = self.lock();
        if let KindState::Sink(sink) = &mut st.kind {
            sink.put_time.record(cfg, millis(elapsed), now);
        }
    }

    /// Sets the number of assigned partitions.
    pub fn record_partition_count(&self, partitions: u64) {
        let mut st = self.lock();
        if let KindState::Sink(sink) = &mut st.kind {
            sink.partition_count = partitions as f64;
        }
    }

    /// Sets the current offset-commit sequence number.
    pub fn record_offset_commit_seq_no(&self, seq_no: i64) {
        let mut st = self.lock();
        if let KindState::Sink(sink) = &mut st.kind {
            sink.commit_seq_no = seq_no as f64;
        }
    }

    /// Records a late offset-commit completion that was ignored.
    pub fn record_offset_commit_skip(&self) {
        let now = self.now();
        let cfg = &self.ctx.config;
        let mut st = self.lock();
        if let KindState::Sink(sink) = &mut st.kind {
            sink.commit_skip.window.record(cfg, 1.0, now);
            sink.commit_skip.total += 1.0;
        }
    }

    /// Records the number of records read but not yet committed (the sum over
    /// partitions of consumed minus committed offsets, each at least 0).
    pub fn record_active_count(&self, records: u64) {
        let now = self.now();
        let cfg = &self.ctx.config;
        let mut st = self.lock();
        if let KindState::Sink(sink) = &mut st.kind {
            let n = records as f64;
            sink.active.window.record(cfg, n, now);
            sink.active.last = n;
        }
    }

    // ---- rendering ----

    /// Writes this task's numeric series.
    pub(crate) fn render(&self, out: &mut Exposition, now: i64, extensions: bool) {
        let task = self.task.to_string();
        let labels = [
            ("connector", self.connector.as_str()),
            ("task", task.as_str()),
        ];
        let cfg = &self.ctx.config;
        let mut guard = self.lock();
        let st = &mut *guard;

        let mut put = |group: &str, attr: &str, value: f64| {
            out.attribute(group, attr, &labels, value);
        };

        let g = TASK_GROUP;
        put(g, "running-ratio", st.tracker.ratio(State::Running, now));
        put(g, "pause-ratio", st.tracker.ratio(State::Paused, now));
        put(g, "offset-commit-max-time-ms", st.commit_time.max(cfg, now));
        put(g, "offset-commit-avg-time-ms", st.commit_time.avg(cfg, now));
        put(g, "batch-size-max", st.batch_size.max(cfg, now));
        put(g, "batch-size-avg", st.batch_size.avg(cfg, now));
        put(
            g,
            "offset-commit-failure-percentage",
            st.commit_outcome.frequency(cfg, now, false),
        );
        put(
            g,
            "offset-commit-success-percentage",
            st.commit_outcome.frequency(cfg, now, true),
        );

        match &mut st.kind {
            KindState::Source(src) => {
                let g = SOURCE_TASK_GROUP;
                put(g, "source-record-poll-rate", src.poll.window.rate(cfg, now));
                put(g, "source-record-poll-total", src.poll.total);
                put(
                    g,
                    "source-record-write-rate",
                    src.write.window.rate(cfg, now),
                );
                put(g, "source-record-write-total", src.write.total);
                put(g, "poll-batch-max-time-ms", src.poll_time.max(cfg, now));
                put(g, "poll-batch-avg-time-ms", src.poll_time.avg(cfg, now));
                put(g, "source-record-active-count", src.active.last);
                put(
                    g,
                    "source-record-active-count-max",
                    src.active.window.max(cfg, now),
                );
                put(
                    g,
                    "source-record-active-count-avg",
                    src.active.window.avg(cfg, now),
                );
                if self.kind == TaskKind::ExactlyOnceSource {
                    put(
                        g,
                        "transaction-size-min",
                        src.transaction_size.min(cfg, now),
                    );
                    put(
                        g,
                        "transaction-size-max",
                        src.transaction_size.max(cfg, now),
                    );
                    put(
                        g,
                        "transaction-size-avg",
                        src.transaction_size.avg(cfg, now),
                    );
                }
            }
            KindState::Sink(sink) => {
                let g = SINK_TASK_GROUP;
                put(g, "sink-record-read-rate", sink.read.window.rate(cfg, now));
                put(g, "sink-record-read-total", sink.read.total);
                put(g, "sink-record-send-rate", sink.send.window.rate(cfg, now));
                put(g, "sink-record-send-total", sink.send.total);
                put(g, "partition-count", sink.partition_count);
                put(g, "offset-commit-seq-no", sink.commit_seq_no);
                put(
                    g,
                    "offset-commit-completion-rate",
                    sink.commit_completion.window.rate(cfg, now),
                );
                put(
                    g,
                    "offset-commit-completion-total",
                    sink.commit_completion.total,
                );
                put(
                    g,
                    "offset-commit-skip-rate",
                    sink.commit_skip.window.rate(cfg, now),
                );
                put(g, "offset-commit-skip-total", sink.commit_skip.total);
                put(g, "put-batch-max-time-ms", sink.put_time.max(cfg, now));
                put(g, "put-batch-avg-time-ms", sink.put_time.avg(cfg, now));
                put(g, "sink-record-active-count", sink.active.last);
                put(
                    g,
                    "sink-record-active-count-max",
                    sink.active.window.max(cfg, now),
                );
                put(
                    g,
                    "sink-record-active-count-avg",
                    sink.active.window.avg(cfg, now),
                );
            }
        }
        let state = st.tracker.state;
        drop(guard);

        self.errors.render(out, &labels);

        if extensions {
            if let Some(state) = state {
                let family = super::prometheus::family_name(&[TASK_GROUP, "status"]);
                out.sample(
                    &family,
                    &[labels[0], labels[1], ("status", status_name(state))],
                    1.0,
                );
            }
        }
    }
}

/// The `task-error-metrics` group: cumulative counters and the last error time.
pub struct TaskErrorMetrics {
    ctx: Context,
    record_failures: AtomicU64,
    record_errors: AtomicU64,
    records_skipped: AtomicU64,
    retries: AtomicU64,
    errors_logged: AtomicU64,
    dlq_produce_requests: AtomicU64,
    dlq_produce_failures: AtomicU64,
    last_error_epoch_ms: AtomicI64,
}

impl std::fmt::Debug for TaskErrorMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskErrorMetrics")
            .field("record_failures", &self.record_failures)
            .field("record_errors", &self.record_errors)
            .finish_non_exhaustive()
    }
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl TaskErrorMetrics {
    fn new(ctx: Context) -> Self {
        Self {
            ctx,
            record_failures: AtomicU64::new(0),
            record_errors: AtomicU64::new(0),
            records_skipped: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            errors_logged: AtomicU64::new(0),
            dlq_produce_requests: AtomicU64::new(0),
            dlq_produce_failures: AtomicU64::new(0),
            last_error_epoch_ms: AtomicI64::new(0),
        }
    }

    /// Counts a failed attempt, including ones that will be retried (`total-record-failures`).
    pub fn record_failure(&self) {
        bump(&self.record_failures);
    }

    /// Counts a record that failed processing (`total-record-errors`).
    pub fn record_error(&self) {
        bump(&self.record_errors);
    }

    /// Counts a record skipped under `errors.tolerance=all` (`total-records-skipped`).
    pub fn record_skipped(&self) {
        bump(&self.records_skipped);
    }

    /// Counts a retry (`total-retries`).
    pub fn record_retry(&self) {
        bump(&self.retries);
    }

    /// Counts an error written to the log (`total-errors-logged`).
    pub fn record_error_logged(&self) {
        bump(&self.errors_logged);
    }

    /// Counts a record sent to the dead letter queue.
    pub fn record_dlq_produce_request(&self) {
        bump(&self.dlq_produce_requests);
    }

    /// Counts a failed dead letter queue write.
    pub fn record_dlq_produce_failure(&self) {
        bump(&self.dlq_produce_failures);
    }

    /// Sets `last-error-timestamp` to the current wall-clock time.
    pub fn record_error_timestamp(&self) {
        self.last_error_epoch_ms
            .store(self.ctx.clock.epoch_ms(), Ordering::Relaxed);
    }

    fn render(&self, out: &mut Exposition, labels: &[(&str, &str)]) {
        let counters: [(&str, &AtomicU64); 7] = [
            ("total-record-failures", &self.record_failures),
            ("total-record-errors", &self.record_errors),
            ("total-records-skipped", &self.records_skipped),
            ("total-retries", &self.retries),
            ("total-errors-logged", &self.errors_logged),
            (
                "deadletterqueue-produce-requests",
                &self.dlq_produce_requests,
            ),
            (
                "deadletterqueue-produce-failures",
                &self.dlq_produce_failures,
            ),
        ];
        for (attr, counter) in counters {
            let value = counter.load(Ordering::Relaxed) as f64;
            out.attribute(TASK_ERROR_GROUP, attr, labels, value);
        }
        let last = self.last_error_epoch_ms.load(Ordering::Relaxed) as f64;
        out.attribute(TASK_ERROR_GROUP, "last-error-timestamp", labels, last);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::clock::{Clock, ManualClock};
    use crate::metrics::window::WindowConfig;
    use std::sync::Arc;

    fn setup(kind: TaskKind) -> (Arc<ManualClock>, TaskMetrics) {
        let clock = Arc::new(ManualClock::new(0));
        let ctx = Context {
            config: WindowConfig::default(),
            clock: clock.clone(),
        };
        (clock, TaskMetrics::new(ctx, "c", 0, kind, 1))
    }

    fn render(t: &TaskMetrics, now: i64) -> String {
        let mut out = Exposition::new();
        t.render(&mut out, now, false);
        out.finish()
    }

    fn value(text: &str, series: &str) -> String {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
            .unwrap_or_else(|| panic!("no series {series} in\n{text}"))
            .to_owned()
    }

    #[test]
    fn ratios_follow_state_transitions() {
        let mut t = StateTracker::default();
        assert_eq!(t.ratio(State::Running, 0), 0.0);
        t.change(State::Running, 1_000);
        assert_eq!(t.ratio(State::Running, 1_000), 0.0);
        assert_eq!(t.ratio(State::Running, 4_000), 1.0);
        t.change(State::Paused, 4_000);
        t.change(State::Paused, 5_000); // same state: no-op
        assert_eq!(t.ratio(State::Running, 5_000), 0.75);
        assert_eq!(t.ratio(State::Paused, 5_000), 0.25);
        t.change(State::Running, 6_000);
        assert_eq!(t.ratio(State::Running, 11_000), 0.8);
        assert_eq!(t.ratio(State::Paused, 11_000), 0.2);
        assert_eq!(t.ratio(State::Failed, 11_000), 0.0);
    }

    #[test]
    fn task_ratios_use_the_clock() {
        let (clock, t) = setup(TaskKind::Source);
        assert_eq!(t.state(), None);
        t.record_state(State::Running);
        clock.advance_ms(3_000);
        t.record_state(State::Paused);
        clock.advance_ms(1_000);
        let text = render(&t, clock.monotonic_ms());
        let l = r#"{connector="c",task="0"}"#;
        assert_eq!(
            value(
                &text,
                &format!("kafka_connect_connector_task_metrics_running_ratio{l}")
            ),
            "0.75"
        );
        assert_eq!(
            value(
                &text,
                &format!("kafka_connect_connector_task_metrics_pause_ratio{l}")
            ),
            "0.25"
        );
        assert_eq!(t.state(), Some(State::Paused));
    }

    #[test]
    fn source_totals_and_active_count() {
        let (clock, t) = setup(TaskKind::Source);
        t.record_poll(10, Duration::from_millis(4));
        t.record_batch(10);
        clock.advance_ms(1_000);
        t.record_write(7, 1);
        t.record_poll(5, Duration::from_millis(2));
        // Sink-only calls are ignored on a source task.
        t.record_read(100);
        t.record_transaction_size(3);
        let text = render(&t, 10_000);
        let l = r#"{connector="c",task="0"}"#;
        let s = |name: &str| {
            value(
                &text,
                &format!("kafka_connect_source_task_metrics_{name}{l}"),
            )
        };
        assert_eq!(s("source_record_poll_total"), "15");
        assert_eq!(s("source_record_write_total"), "7");
        assert_eq!(s("source_record_poll_rate"), "0.375"); // 15 / 40 s
        assert_eq!(s("poll_batch_max_time_ms"), "4");
        assert_eq!(s("poll_batch_avg_time_ms"), "3");
        assert_eq!(s("source_record_active_count"), "7");
        assert_eq!(s("source_record_active_count_max"), "10");
        assert!(!text.contains("sink_task_metrics"));
        assert!(!text.contains("transaction_size"));
    }

    #[test]
    fn exactly_once_source_has_transaction_sizes() {
        let (_clock, t) = setup(TaskKind::ExactlyOnceSource);
        let text = render(&t, 0);
        assert!(text.contains("kafka_connect_source_task_metrics_transaction_size_min{connector=\"c\",task=\"0\"} NaN\n"));
        t.record_transaction_size(3);
        t.record_transaction_size(5);
        let text = render(&t, 0);
        let l = r#"{connector="c",task="0"}"#;
        let s = |name: &str| {
            value(
                &text,
                &format!("kafka_connect_source_task_metrics_{name}{l}"),
            )
        };
        assert_eq!(s("transaction_size_min"), "3");
        assert_eq!(s("transaction_size_max"), "5");
        assert_eq!(s("transaction_size_avg"), "4");
    }

    #[test]
    fn empty_task_reports_nan_and_zero() {
        let (_clock, t) = setup(TaskKind::Sink);
        let text = render(&t, 0);
        let l = r#"{connector="c",task="0"}"#;
        let c = |name: &str| {
            value(
                &text,
                &format!("kafka_connect_connector_task_metrics_{name}{l}"),
            )
        };
        assert_eq!(c("offset_commit_avg_time_ms"), "NaN");
        assert_eq!(c("batch_size_max"), "NaN");
        assert_eq!(c("offset_commit_success_percentage"), "0");
        assert_eq!(c("running_ratio"), "0");
        let s = |name: &str| value(&text, &format!("kafka_connect_sink_task_metrics_{name}{l}"));
        assert_eq!(s("sink_record_read_rate"), "0");
        assert_eq!(s("put_batch_avg_time_ms"), "NaN");
        assert_eq!(s("sink_record_active_count"), "0");
        assert_eq!(
            value(
                &text,
                &format!("kafka_connect_task_error_metrics_last_error_timestamp{l}")
            ),
            "0"
        );
    }

    #[test]
    fn sink_commits_puts_and_skips() {
        let (clock, t) = setup(TaskKind::Sink);
        t.record_read(20);
        t.record_put(20, Duration::from_millis(8));
        t.record_partition_count(3);
        t.record_offset_commit_seq_no(2);
        t.record_commit(Duration::from_millis(6), true);
        t.record_commit(Duration::from_millis(100), false);
        t.record_offset_commit_skip();
        t.record_active_count(5);
        clock.advance_ms(20_000);
        let text = render(&t, clock.monotonic_ms());
        let l = r#"{connector="c",task="0"}"#;
        let c = |name: &str| {
            value(
                &text,
                &format!("kafka_connect_connector_task_metrics_{name}{l}"),
            )
        };
        assert_eq!(c("offset_commit_max_time_ms"), "6");
        assert_eq!(c("offset_commit_success_percentage"), "0.5");
        assert_eq!(c("offset_commit_failure_percentage"), "0.5");
        assert_eq!(c("batch_size_avg"), "20");
        let s = |name: &str| value(&text, &format!("kafka_connect_sink_task_metrics_{name}{l}"));
        assert_eq!(s("sink_record_read_total"), "20");
        assert_eq!(s("sink_record_send_total"), "20");
        assert_eq!(s("sink_record_send_rate"), "0.4"); // 20 / 50 s
        assert_eq!(s("partition_count"), "3");
        assert_eq!(s("offset_commit_seq_no"), "2");
        assert_eq!(s("offset_commit_completion_total"), "1");
        assert_eq!(s("offset_commit_skip_total"), "1");
        assert_eq!(s("put_batch_max_time_ms"), "8");
        assert_eq!(s("sink_record_active_count"), "5");
        assert_eq!(s("sink_record_active_count_avg"), "5");
    }

    #[test]
    fn error_counters_and_timestamp() {
        let (clock, t) = setup(TaskKind::Sink);
        let e = t.errors();
        e.record_failure();
        e.record_failure();
        e.record_retry();
        e.record_error();
        e.record_skipped();
        e.record_error_logged();
        e.record_dlq_produce_request();
        e.record_dlq_produce_failure();
        clock.set_ms(1_700_000_000_000);
        e.record_error_timestamp();
        let text = render(&t, clock.monotonic_ms());
        let l = r#"{connector="c",task="0"}"#;
        let s = |name: &str| {
            value(
                &text,
                &format!("kafka_connect_task_error_metrics_{name}{l}"),
            )
        };
        assert_eq!(s("total_record_failures"), "2");
        assert_eq!(s("total_record_errors"), "1");
        assert_eq!(s("total_records_skipped"), "1");
        assert_eq!(s("total_retries"), "1");
        assert_eq!(s("total_errors_logged"), "1");
        assert_eq!(s("deadletterqueue_produce_requests"), "1");
        assert_eq!(s("deadletterqueue_produce_failures"), "1");
        assert_eq!(s("last_error_timestamp"), "1700000000000");
    }

    #[test]
    fn totals_are_monotonic_and_start_over_with_a_new_task_metrics() {
        let (clock, t) = setup(TaskKind::Source);
        let l = r#"{connector="c",task="0"}"#;
        let total = |t: &TaskMetrics, now| {
            value(
                &render(t, now),
                &format!("kafka_connect_source_task_metrics_source_record_poll_total{l}"),
            )
            .parse::<f64>()
            .unwrap_or(f64::NAN)
        };
        let mut last = 0.0;
        for i in 0..5 {
            t.record_poll(3, Duration::ZERO);
            clock.advance_ms(40_000); // windows expire, totals do not
            let now = total(&t, clock.monotonic_ms());
            assert!(now > last, "step {i}: {now} <= {last}");
            last = now;
        }
        assert_eq!(last, 15.0);
        let (_c, restarted) = setup(TaskKind::Source);
        assert_eq!(total(&restarted, 0), 0.0);
    }
}
