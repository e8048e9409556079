//! Kafka Connect metrics, rendered for `GET /metrics` in the Prometheus text
//! format with the names of Confluent's jmx_exporter rules.
//!
//! One [`Metrics`] registry is shared (`Arc`) by the whole worker:
//!
//! * the worker records connector/task startups ([`Metrics::record_connector_startup`]);
//! * the distributed herder feeds [`Metrics::rebalance`];
//! * each running task records into its own [`TaskMetrics`], obtained from
//!   [`Metrics::register_source_task`] or [`Metrics::register_sink_task`] and
//!   dropped (or [unregistered](Metrics::unregister_task)) when the task stops;
//! * the worker registers the Connector instances it runs ([`Metrics::register_connector`]);
//! * the REST handler calls [`Metrics::render`] with a [`WorkerSnapshot`].
//!
//! Recording is O(1); windowed rates, averages and frequencies follow Kafka's
//! `metrics.sample.window.ms` × `metrics.num.samples` semantics and are
//! computed at render time.

pub mod clock;
pub mod prometheus;
pub mod rebalance;
pub mod task;
pub mod window;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::time::Duration;

pub use clock::{Clock, ManualClock, SystemClock};
pub use prometheus::CONTENT_TYPE;
pub use rebalance::RebalanceMetrics;
pub use task::{status_name, TaskErrorMetrics, TaskKind, TaskMetrics};
pub use window::{SampledStat, WindowConfig};

use prometheus::Exposition;

use crate::model::ConnectorType;

/// Group name of the worker metrics.
pub const WORKER_GROUP: &str = "connect-worker-metrics";
/// Group name of the connector metrics.
pub const CONNECTOR_GROUP: &str = "connector-metrics";

/// Window config and clock shared by all groups of a registry.
#[derive(Clone)]
pub(crate) struct Context {
    pub(crate) config: WindowConfig,
    pub(crate) clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// The fixed attributes of a `connector-metrics` group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectorInfo {
    /// `connector-type`.
    pub connector_type: ConnectorType,
    /// `connector-class`, the fully qualified class name.
    pub class: String,
    /// `connector-version`, as reported by the plugin.
    pub version: String,
}

/// State the caller gathers at scrape time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkerSnapshot {
    /// Connectors whose Connector instance runs on this worker.
    pub connectors: Vec<ConnectorSnapshot>,
    /// Tasks running on this worker.
    pub tasks: Vec<TaskSnapshot>,
}

/// One connector instance running on this worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectorSnapshot {
    /// Connector name.
    pub name: String,
    /// Lower-case state: `running`, `paused`, `stopped`, `failed`, …
    pub status: String,
}

/// One task running on this worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskSnapshot {
    /// Connector name.
    pub connector: String,
    /// Task number.
    pub task: u32,
    /// The task's state in the status store (`running`, `paused`, `failed`,
    /// `unassigned`, `destroyed`, `restarting`; compared case-insensitively).
    pub status: String,
}

/// Startup counters and the windowed success/failure frequency.
#[derive(Debug, Default)]
struct StartupStats {
    attempts: u64,
    successes: u64,
    failures: u64,
    outcomes: SampledStat,
}

#[derive(Debug)]
struct TaskEntry {
    incarnation: u64,
    metrics: Weak<TaskMetrics>,
}

/// The worker's metrics registry.
#[derive(Debug)]
pub struct Metrics {
    ctx: Context,
    extensions: AtomicBool,
    next_incarnation: AtomicU64,
    connector_startups: Mutex<StartupStats>,
    task_startups: Mutex<StartupStats>,
    rebalance: OnceLock<RebalanceMetrics>,
    connectors: Mutex<BTreeMap<String, ConnectorInfo>>,
    tasks: Mutex<BTreeMap<(String, u32), TaskEntry>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The per-connector task-state gauges and the states they count.
const TASK_STATE_COUNTS: [(&str, &str); 6] = [
    ("connector-running-task-count", "running"),
    ("connector-paused-task-count", "paused"),
    ("connector-failed-task-count", "failed"),
    ("connector-unassigned-task-count", "unassigned"),
    ("connector-destroyed-task-count", "destroyed"),
    ("connector-restarting-task-count", "restarting"),
];

impl Metrics {
    /// Creates a registry with the given sample window and sample count, on the system clock.
    pub fn new(window: Duration, samples: usize) -> Arc<Metrics> {
        Self::with_clock(
            WindowConfig::new(window, samples),
            Arc::new(SystemClock::new()),
        )
    }

    /// Creates a registry from the worker properties `metrics.sample.window.ms`
    /// and `metrics.num.samples`.
    pub fn from_worker_props(sample_window_ms: u64, num_samples: usize) -> Arc<Metrics> {
        Self::with_clock(
            WindowConfig::from_millis(sample_window_ms, num_samples),
            Arc::new(SystemClock::new()),
        )
    }

    /// Creates a registry on an explicit clock (for tests).
    pub fn with_clock(config: WindowConfig, clock: Arc<dyn Clock>) -> Arc<Metrics> {
        Arc::new(Metrics {
            ctx: Context { config, clock },
            extensions: AtomicBool::new(false),
            next_incarnation: AtomicU64::new(1),
            connector_startups: Mutex::new(StartupStats::default()),
            task_startups: Mutex::new(StartupStats::default()),
            rebalance: OnceLock::new(),
            connectors: Mutex::new(BTreeMap::new()),
            tasks: Mutex::new(BTreeMap::new()),
        })
    }

    /// The window config in use.
    pub fn config(&self) -> WindowConfig {
        self.ctx.config
    }

    /// Turns the Tributary extension series on or off
    /// (`kafka_connect_connector_task_metrics_status` and
    /// `kafka_connect_connect_worker_rebalance_metrics_info`). Off by default.
    pub fn set_extension_series(&self, enabled: bool) {
        self.extensions.store(enabled, Ordering::Relaxed);
    }

    // ---- connect-worker-metrics ----

    /// Records a connector startup: `true` when the connector reports startup,
    /// `false` when it fails without having started (later failures are not counted).
    pub fn record_connector_startup(&self, success: bool) {
        self.record_startup(&self.connector_startups, success);
    }

    /// Records a task startup: `true` when the task reports startup, `false`
    /// when it fails without having started (later failures are not counted).
    pub fn record_task_startup(&self, success: bool) {
        self.record_startup(&self.task_startups, success);
    }

    fn record_startup(&self, stats: &Mutex<StartupStats>, success: bool) {
        let now = self.ctx.clock.monotonic_ms();
        let mut st = lock(stats);
        st.attempts += 1;
        if success {
            st.successes += 1;
        } else {
            st.failures += 1;
        }
        st.outcomes.record_outcome(&self.ctx.config, success, now);
    }

    // ---- connect-worker-rebalance-metrics ----

    /// The rebalance group, created on first use. Only the distributed herder
    /// should call this: the group is rendered once it exists.
    pub fn rebalance(&self) -> &RebalanceMetrics {
        self.rebalance
            .get_or_init(|| RebalanceMetrics::new(self.ctx.clone()))
    }

    // ---- connector-metrics ----

    /// Registers the `connector-metrics` group of a Connector instance started
    /// on this worker, replacing any previous one of the same name.
    pub fn register_connector(&self, name: &str, info: ConnectorInfo) {
        lock(&self.connectors).insert(name.to_owned(), info);
    }

    /// Removes a connector's `connector-metrics` group.
    pub fn unregister_connector(&self, name: &str) {
        lock(&self.connectors).remove(name);
    }

    // ---- task groups ----

    /// Creates and registers the metrics of a starting source task. Pass
    /// `exactly_once` for exactly-once source tasks (adds `transaction-size-*`).
    pub fn register_source_task(
        &self,
        connector: &str,
        task: u32,
        exactly_once: bool,
    ) -> Arc<TaskMetrics> {
        let kind = if exactly_once {
            TaskKind::ExactlyOnceSource
        } else {
            TaskKind::Source
        };
        self.register_task(connector, task, kind)
    }

    /// Creates and registers the metrics of a starting sink task.
    pub fn register_sink_task(&self, connector: &str, task: u32) -> Arc<TaskMetrics> {
        self.register_task(connector, task, TaskKind::Sink)
    }

    /// Creates and registers fresh task metrics (totals start at zero),
    /// replacing any earlier incarnation of the same task.
    pub fn register_task(&self, connector: &str, task: u32, kind: TaskKind) -> Arc<TaskMetrics> {
        let incarnation = self.next_incarnation.fetch_add(1, Ordering::Relaxed);
        let metrics = Arc::new(TaskMetrics::new(
            self.ctx.clone(),
            connector,
            task,
            kind,
            incarnation,
        ));
        let entry = TaskEntry {
            incarnation,
            metrics: Arc::downgrade(&metrics),
        };
        lock(&self.tasks).insert((connector.to_owned(), task), entry);
        metrics
    }

    /// Removes a task's groups. Does nothing if a newer incarnation of the
    /// same task has been registered since. Dropping the last `Arc` has the
    /// same effect at the next render.
    pub fn unregister_task(&self, metrics: &TaskMetrics) {
        let mut tasks = lock(&self.tasks);
        let key = (metrics.connector().to_owned(), metrics.task());
        if tasks
            .get(&key)
            .is_some_and(|e| e.incarnation == metrics.incarnation())
        {
            tasks.remove(&key);
        }
    }

    /// Live task metrics in (connector, task) order; forgets dropped ones.
    fn live_tasks(&self) -> Vec<Arc<TaskMetrics>> {
        let mut tasks = lock(&self.tasks);
        let mut live = Vec::with_capacity(tasks.len());
        tasks.retain(|_, entry| match entry.metrics.upgrade() {
            Some(m) => {
                live.push(m);
                true
            }
            None => false,
        });
        live
    }

    // ---- rendering ----

    /// Renders every group in the Prometheus text format (see [`CONTENT_TYPE`]).
    pub fn render(&self, snapshot: &WorkerSnapshot) -> String {
        let now = self.ctx.clock.monotonic_ms();
        let extensions = self.extensions.load(Ordering::Relaxed);
        let mut out = Exposition::new();

        self.render_worker(&mut out, snapshot, now);
        if let Some(rebalance) = self.rebalance.get() {
            rebalance.render(&mut out, now, extensions);
        }
        self.render_connectors(&mut out, snapshot);
        for task in self.live_tasks() {
            task.render(&mut out, now, extensions);
        }
        out.finish()
    }

    fn render_worker(&self, out: &mut Exposition, snapshot: &WorkerSnapshot, now: i64) {
        let cfg = &self.ctx.config;
        let aggregate = [("connector", "aggregate")];
        let g = WORKER_GROUP;
        out.attribute(
            g,
            "connector-count",
            &aggregate,
            snapshot.connectors.len() as f64,
        );
        out.attribute(g, "task-count", &aggregate, snapshot.tasks.len() as f64);
        for (prefix, stats) in [
            ("connector", &self.connector_startups),
            ("task", &self.task_startups),
        ] {
            let mut st = lock(stats);
            let values = [
                ("startup-attempts-total", st.attempts as f64),
                ("startup-success-total", st.successes as f64),
                (
                    "startup-success-percentage",
                    st.outcomes.frequency(cfg, now, true),
                ),
                ("startup-failure-total", st.failures as f64),
                (
                    "startup-failure-percentage",
                    st.outcomes.frequency(cfg, now, false),
                ),
            ];
            drop(st);
            for (attr, value) in values {
                out.attribute(g, &format!("{prefix}-{attr}"), &aggregate, value);
            }
        }

        // One group per connector with at least one task on this worker.
        let mut by_connector: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for task in &snapshot.tasks {
            by_connector
                .entry(task.connector.as_str())
                .or_default()
                .push(task.status.as_str());
        }
        for (connector, statuses) in by_connector {
            let labels = [("connector", connector)];
            out.attribute(
                g,
                "connector-total-task-count",
                &labels,
                statuses.len() as f64,
            );
            for (attr, state) in TASK_STATE_COUNTS {
                let count = statuses
                    .iter()
                    .filter(|s| s.eq_ignore_ascii_case(state))
                    .count();
                out.attribute(g, attr, &labels, count as f64);
            }
        }
    }

    fn render_connectors(&self, out: &mut Exposition, snapshot: &WorkerSnapshot) {
        let connectors = lock(&self.connectors).clone();
        let family = prometheus::family_name(&[CONNECTOR_GROUP]);
        for (name, info) in &connectors {
            let status = snapshot
                .connectors
                .iter()
                .find(|c| &c.name == name)
                .map(|c| c.status.as_str());
            let attrs = [
                ("connector-type", Some(info.connector_type.as_str())),
                ("connector-class", Some(info.class.as_str())),
                ("connector-version", Some(info.version.as_str())),
                ("status", status),
            ];
            for (attr, value) in attrs {
                // jmx_exporter's `(.+)` pattern skips empty strings.
                let Some(value) = value.filter(|v| !v.is_empty()) else {
                    continue;
                };
                out.sample(&family, &[("connector", name), (attr, value)], 1.0);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::State;

    fn setup() -> (Arc<ManualClock>, Arc<Metrics>) {
        let clock = Arc::new(ManualClock::new(0));
        let metrics = Metrics::with_clock(WindowConfig::default(), clock.clone());
        (clock, metrics)
    }

    fn task(connector: &str, task: u32, status: &str) -> TaskSnapshot {
        TaskSnapshot {
            connector: connector.to_owned(),
            task,
            status: status.to_owned(),
        }
    }

    fn has_line(text: &str, line: &str) -> bool {
        text.lines().any(|l| l == line)
    }

    #[track_caller]
    fn assert_lines(text: &str, lines: &[&str]) {
        for line in lines {
            assert!(has_line(text, line), "missing line {line:?} in\n{text}");
        }
    }

    /// Every family's samples follow its single `# TYPE` line.
    #[track_caller]
    fn assert_well_formed(text: &str) {
        let mut seen = std::collections::HashSet::new();
        let mut current = String::new();
        for line in text.lines() {
            if let Some(family) = line
                .strip_prefix("# TYPE ")
                .and_then(|r| r.strip_suffix(" untyped"))
            {
                assert!(seen.insert(family.to_owned()), "family {family} twice");
                current = family.to_owned();
            } else {
                let name = line.split(['{', ' ']).next().unwrap_or("");
                assert_eq!(name, current, "sample outside its family: {line}");
            }
        }
    }

    #[test]
    fn handles_are_shareable_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Metrics>();
        assert_send_sync::<TaskMetrics>();
        assert_send_sync::<RebalanceMetrics>();
    }

    #[test]
    fn constructors_apply_the_window_config() {
        let m = Metrics::new(Duration::from_secs(10), 3);
        assert_eq!(m.config(), WindowConfig::from_millis(10_000, 3));
        let m = Metrics::from_worker_props(30_000, 2);
        assert_eq!(m.config(), WindowConfig::default());
    }

    #[test]
    fn small_worker_renders_expected_lines() {
        let (clock, metrics) = setup();
        metrics.register_connector(
            "c",
            ConnectorInfo {
                connector_type: ConnectorType::Source,
                class: "com.example.Src".to_owned(),
                version: "1.0".to_owned(),
            },
        );
        metrics.record_connector_startup(true);
        metrics.record_task_startup(true);
        metrics.record_task_startup(false);

        let src = metrics.register_source_task("c", 0, false);
        let sink = metrics.register_sink_task("s", 0);
        src.record_state(State::Running);
        sink.record_state(State::Running);

        src.record_poll(10, Duration::from_millis(5));
        src.record_batch(10);
        src.record_write(10, 0);
        src.record_commit(Duration::from_millis(3), true);
        sink.record_read(4);
        sink.record_put(4, Duration::from_millis(2));
        sink.record_partition_count(2);
        clock.advance_ms(10_000);

        let snapshot = WorkerSnapshot {
            connectors: vec![ConnectorSnapshot {
                name: "c".to_owned(),
                status: "running".to_owned(),
            }],
            tasks: vec![task("c", 0, "RUNNING"), task("s", 0, "running")],
        };
        let text = metrics.render(&snapshot);
        assert_well_formed(&text);
        assert_lines(
            &text,
            &[
                "# TYPE kafka_connect_connect_worker_metrics_task_count untyped",
                r#"kafka_connect_connect_worker_metrics_connector_count{connector="aggregate"} 1"#,
                r#"kafka_connect_connect_worker_metrics_task_count{connector="aggregate"} 2"#,
                r#"kafka_connect_connect_worker_metrics_connector_startup_attempts_total{connector="aggregate"} 1"#,
                r#"kafka_connect_connect_worker_metrics_connector_startup_success_percentage{connector="aggregate"} 1"#,
                r#"kafka_connect_connect_worker_metrics_task_startup_attempts_total{connector="aggregate"} 2"#,
                r#"kafka_connect_connect_worker_metrics_task_startup_failure_total{connector="aggregate"} 1"#,
                r#"kafka_connect_connect_worker_metrics_task_startup_failure_percentage{connector="aggregate"} 0.5"#,
                r#"kafka_connect_connect_worker_metrics_connector_total_task_count{connector="c"} 1"#,
                r#"kafka_connect_connect_worker_metrics_connector_running_task_count{connector="c"} 1"#,
                r#"kafka_connect_connect_worker_metrics_connector_failed_task_count{connector="s"} 0"#,
                "# TYPE kafka_connect_connector_metrics untyped",
                r#"kafka_connect_connector_metrics{connector="c",connector_type="source"} 1"#,
                r#"kafka_connect_connector_metrics{connector="c",connector_class="com.example.Src"} 1"#,
                r#"kafka_connect_connector_metrics{connector="c",connector_version="1.0"} 1"#,
                r#"kafka_connect_connector_metrics{connector="c",status="running"} 1"#,
                r#"kafka_connect_connector_task_metrics_running_ratio{connector="c",task="0"} 1"#,
                r#"kafka_connect_connector_task_metrics_offset_commit_success_percentage{connector="c",task="0"} 1"#,
                r#"kafka_connect_connector_task_metrics_offset_commit_avg_time_ms{connector="s",task="0"} NaN"#,
                r#"kafka_connect_connector_task_metrics_batch_size_max{connector="c",task="0"} 10"#,
                "# TYPE kafka_connect_source_task_metrics_source_record_poll_total untyped",
                r#"kafka_connect_source_task_metrics_source_record_poll_total{connector="c",task="0"} 10"#,
                r#"kafka_connect_source_task_metrics_source_record_poll_rate{connector="c",task="0"} 0.25"#,
                r#"kafka_connect_source_task_metrics_source_record_write_total{connector="c",task="0"} 10"#,
                r#"kafka_connect_source_task_metrics_poll_batch_avg_time_ms{connector="c",task="0"} 5"#,
                r#"kafka_connect_source_task_metrics_source_record_active_count{connector="c",task="0"} 0"#,
                r#"kafka_connect_source_task_metrics_source_record_active_count_max{connector="c",task="0"} 10"#,
                r#"kafka_connect_sink_task_metrics_sink_record_read_total{connector="s",task="0"} 4"#,
                r#"kafka_connect_sink_task_metrics_sink_record_send_rate{connector="s",task="0"} 0.1"#,
                r#"kafka_connect_sink_task_metrics_partition_count{connector="s",task="0"} 2"#,
                r#"kafka_connect_sink_task_metrics_put_batch_max_time_ms{connector="s",task="0"} 2"#,
                "# TYPE kafka_connect_task_error_metrics_total_record_errors untyped",
                r#"kafka_connect_task_error_metrics_total_record_errors{connector="c",task="0"} 0"#,
                r#"kafka_connect_task_error_metrics_last_error_timestamp{connector="s",task="0"} 0"#,
            ],
        );
        // No rebalance group in standalone mode, no extension series by default.
        assert!(!text.contains("rebalance"));
        assert!(!text.contains("_status{"));
        assert!(!text.contains(
            r#"kafka_connect_source_task_metrics_source_record_poll_total{connector="s""#
        ));
        assert!(!text
            .contains("kafka_connect_sink_task_metrics_sink_record_read_total{connector=\"c\""));
        // The connector group of the worker-metrics is absent for a connector without local tasks.
        assert!(!text.contains(r#"connector_total_task_count{connector="x"}"#));
    }

    #[test]
    fn extension_series_are_opt_in() {
        let (_clock, metrics) = setup();
        let t = metrics.register_sink_task("s", 1);
        t.record_state(State::Paused);
        metrics.rebalance().set_connect_protocol("SESSIONED");
        let snapshot = WorkerSnapshot::default();
        let text = metrics.render(&snapshot);
        assert!(!text.contains("_status{"));
        assert!(!text.contains("rebalance_metrics_info"));
        assert!(text.contains(
            "kafka_connect_connect_worker_rebalance_metrics_completed_rebalances_total 0\n"
        ));

        metrics.set_extension_series(true);
        let text = metrics.render(&snapshot);
        assert_well_formed(&text);
        assert_lines(
            &text,
            &[
                "# TYPE kafka_connect_connector_task_metrics_status untyped",
                r#"kafka_connect_connector_task_metrics_status{connector="s",task="1",status="paused"} 1"#,
                r#"kafka_connect_connect_worker_rebalance_metrics_info{leader_name="",connect_protocol="SESSIONED"} 1"#,
            ],
        );
    }

    #[test]
    fn label_values_are_escaped_in_output() {
        let (_clock, metrics) = setup();
        let name = "we\"ird\\name\nx";
        let _t = metrics.register_source_task(name, 3, false);
        let text = metrics.render(&WorkerSnapshot {
            connectors: vec![],
            tasks: vec![task(name, 3, "running")],
        });
        assert_lines(
            &text,
            &[
                r#"kafka_connect_source_task_metrics_source_record_poll_total{connector="we\"ird\\name\nx",task="3"} 0"#,
                r#"kafka_connect_connect_worker_metrics_connector_running_task_count{connector="we\"ird\\name\nx"} 1"#,
            ],
        );
        assert_well_formed(&text);
    }

    #[test]
    fn task_series_disappear_after_unregister_or_drop() {
        let (_clock, metrics) = setup();
        let snapshot = WorkerSnapshot::default();
        let a = metrics.register_source_task("c", 0, false);
        let b = metrics.register_sink_task("c", 1);
        a.record_poll(1, Duration::ZERO);
        let text = metrics.render(&snapshot);
        assert!(text.contains(r#"{connector="c",task="0"}"#));
        assert!(text.contains(r#"{connector="c",task="1"}"#));

        metrics.unregister_task(&a);
        let text = metrics.render(&snapshot);
        assert!(!text.contains(r#"{connector="c",task="0"}"#));
        assert!(!text.contains("source_task_metrics"));
        assert!(text.contains(r#"{connector="c",task="1"}"#));

        drop(b);
        let text = metrics.render(&snapshot);
        assert!(!text.contains("task=\""), "{text}");
        assert!(!text.contains("connector_task_metrics"));
    }

    #[test]
    fn restart_resets_totals_and_old_unregister_keeps_new_incarnation() {
        let (_clock, metrics) = setup();
        let snapshot = WorkerSnapshot::default();
        let line =
            r#"kafka_connect_source_task_metrics_source_record_poll_total{connector="c",task="0"}"#;
        let old = metrics.register_source_task("c", 0, false);
        old.record_poll(7, Duration::ZERO);
        assert!(has_line(&metrics.render(&snapshot), &format!("{line} 7")));

        let new = metrics.register_source_task("c", 0, false);
        metrics.unregister_task(&old); // late cleanup of the old incarnation
        drop(old);
        let text = metrics.render(&snapshot);
        assert!(has_line(&text, &format!("{line} 0")), "{text}");
        new.record_poll(2, Duration::ZERO);
        assert!(has_line(&metrics.render(&snapshot), &format!("{line} 2")));
    }

    #[test]
    fn connector_group_follows_registration_and_snapshot() {
        let (_clock, metrics) = setup();
        let info = ConnectorInfo {
            connector_type: ConnectorType::Sink,
            class: "S".to_owned(),
            version: String::new(),
        };
        metrics.register_connector("k", info);
        let text = metrics.render(&WorkerSnapshot::default());
        assert_lines(
            &text,
            &[
                r#"kafka_connect_connector_metrics{connector="k",connector_type="sink"} 1"#,
                r#"kafka_connect_connector_metrics{connector="k",connector_class="S"} 1"#,
            ],
        );
        assert!(!text.contains("connector_version"));
        assert!(!text.contains("status="));
        metrics.unregister_connector("k");
        let text = metrics.render(&WorkerSnapshot::default());
        assert!(!text.contains("kafka_connect_connector_metrics"));
    }

    #[test]
    fn startup_percentages_are_windowed() {
        let (clock, metrics) = setup();
        let series = r#"kafka_connect_connect_worker_metrics_connector_startup_success_percentage{connector="aggregate"}"#;
        let total = r#"kafka_connect_connect_worker_metrics_connector_startup_success_total{connector="aggregate"}"#;
        let snapshot = WorkerSnapshot::default();
        assert!(has_line(&metrics.render(&snapshot), &format!("{series} 0")));
        metrics.record_connector_startup(true);
        metrics.record_connector_startup(false);
        assert!(has_line(
            &metrics.render(&snapshot),
            &format!("{series} 0.5")
        ));
        clock.advance_ms(60_000);
        let text = metrics.render(&snapshot);
        assert!(has_line(&text, &format!("{series} 0")));
        assert!(has_line(&text, &format!("{total} 1")));
    }
}
