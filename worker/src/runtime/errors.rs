//! Error handling in the task loops (connect-compat §4.1; Kafka's `RetryWithToleranceOperator`):
//! retries with exponential backoff for retriable failures, `errors.tolerance`, and the error
//! log. The dead letter queue (sink tasks) is in [`super::dead_letter`].
//!
//! A stage's failure is first retried while it is retriable and `errors.retry.timeout` allows
//! (delays 300 ms, 600 ms, … capped at `errors.retry.delay.max.ms`, then random below the cap).
//! Then it is tolerated, and the record skipped, when `errors.tolerance=all` and the stage is
//! one whose failures Kafka tolerates (transformations and converters: any failure; the other
//! stages: retriable failures that ran out of retries). Otherwise the task fails with a trace.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tributary_connector_api::Props;

use super::TaskControl;
use crate::metrics::TaskMetrics;

/// Where a failure happened; the names are the `__connect.errors.stage` header values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    TaskPoll,
    TaskPut,
    Transformation,
    KeyConverter,
    ValueConverter,
    HeaderConverter,
    KafkaProduce,
    KafkaConsume,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::TaskPoll => "TASK_POLL",
            Stage::TaskPut => "TASK_PUT",
            Stage::Transformation => "TRANSFORMATION",
            Stage::KeyConverter => "KEY_CONVERTER",
            Stage::ValueConverter => "VALUE_CONVERTER",
            Stage::HeaderConverter => "HEADER_CONVERTER",
            Stage::KafkaProduce => "KAFKA_PRODUCE",
            Stage::KafkaConsume => "KAFKA_CONSUME",
        }
    }

    /// Kafka tolerates any failure of these stages; of the others, only retriable ones.
    fn tolerates_any(self) -> bool {
        matches!(
            self,
            Stage::Transformation
                | Stage::KeyConverter
                | Stage::ValueConverter
                | Stage::HeaderConverter
        )
    }
}

/// Java exception classes reported in traces and in `__connect.errors.exception.class.name`.
pub const DATA_EXCEPTION: &str = "org.apache.kafka.connect.errors.DataException";
pub const RETRIABLE_EXCEPTION: &str = "org.apache.kafka.connect.errors.RetriableException";
pub const CONNECT_EXCEPTION: &str = "org.apache.kafka.connect.errors.ConnectException";

/// One failed attempt of an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpError {
    pub message: String,
    pub retriable: bool,
}

impl OpError {
    pub fn fatal(message: impl Into<String>) -> OpError {
        OpError {
            message: message.into(),
            retriable: false,
        }
    }

    pub fn retriable(message: impl Into<String>) -> OpError {
        OpError {
            message: message.into(),
            retriable: true,
        }
    }
}

/// A stage's failure, after any retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub stage: Stage,
    /// The class that failed: the converter, the transformation, the connector, or the worker
    /// part (`__connect.errors.class.name`).
    pub class: String,
    pub message: String,
    pub retriable: bool,
}

impl Failure {
    pub fn new(stage: Stage, class: impl Into<String>, error: OpError) -> Failure {
        Failure {
            stage,
            class: class.into(),
            message: error.message,
            retriable: error.retriable,
        }
    }

    /// The Java exception class of the failure.
    pub fn exception_class(&self) -> &'static str {
        if self.retriable {
            RETRIABLE_EXCEPTION
        } else if matches!(self.stage, Stage::TaskPut | Stage::TaskPoll) {
            CONNECT_EXCEPTION
        } else {
            DATA_EXCEPTION
        }
    }

    /// `Stage VALUE_CONVERTER (class …) failed: <message>`.
    pub fn describe(&self) -> String {
        format!(
            "Stage {} (class {}) failed: {}",
            self.stage.as_str(),
            self.class,
            self.message
        )
    }
}

/// Why [`ErrorHandler::run`] gave up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunError {
    /// The operation failed for good (or ran out of retries): apply the tolerance rules.
    Failed(Failure),
    /// The task is stopping while a retriable failure was being retried: the record is
    /// neither done nor failed, and its offset must not advance.
    Stopping,
}

impl From<Failure> for RunError {
    fn from(f: Failure) -> RunError {
        RunError::Failed(f)
    }
}

/// How long retriable failures are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    Never,
    For(Duration),
    Forever,
}

/// A connector's error settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorPolicy {
    pub tolerate_all: bool,
    pub retry: Retry,
    pub max_delay: Duration,
    pub log: bool,
    pub log_messages: bool,
}

impl Default for ErrorPolicy {
    fn default() -> ErrorPolicy {
        ErrorPolicy {
            tolerate_all: false,
            retry: Retry::Never,
            max_delay: Duration::from_millis(60_000),
            log: false,
            log_messages: false,
        }
    }
}

/// The first retry waits this long (Kafka's `RETRIES_DELAY_MIN_MS`).
const FIRST_DELAY: Duration = Duration::from_millis(300);
/// The shortest wait between attempts.
const MIN_DELAY: Duration = Duration::from_millis(1);

impl ErrorPolicy {
    /// From a (validated) connector config; unset keys take Kafka's defaults.
    pub fn from_props(props: &Props) -> ErrorPolicy {
        let get = |k: &str| props.get(k).map(|v| v.trim());
        let flag = |k: &str| get(k).is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let retry = match get("errors.retry.timeout").and_then(|v| v.parse::<i64>().ok()) {
            Some(-1) => Retry::Forever,
            Some(ms) if ms > 0 => Retry::For(Duration::from_millis(ms as u64)),
            _ => Retry::Never,
        };
        let max_delay = get("errors.retry.delay.max.ms")
            .and_then(|v| v.parse::<u64>().ok())
            .map(Duration::from_millis)
            .unwrap_or(Duration::from_millis(60_000));
        ErrorPolicy {
            tolerate_all: get("errors.tolerance").is_some_and(|v| v.eq_ignore_ascii_case("all")),
            retry,
            max_delay,
            log: flag("errors.log.enable"),
            log_messages: flag("errors.log.include.messages"),
        }
    }

    /// The wait before retry number `attempt` (1-based), not past `deadline`.
    fn backoff(&self, attempt: u32, deadline: Option<Instant>) -> Duration {
        let doubled = FIRST_DELAY
            .checked_mul(
                1u32.checked_shl(attempt.saturating_sub(1))
                    .unwrap_or(u32::MAX),
            )
            .unwrap_or(Duration::MAX);
        let mut delay = if doubled > self.max_delay {
            let cap = self.max_delay.as_millis() as u64;
            Duration::from_millis(if cap == 0 {
                0
            } else {
                rand::random::<u64>() % cap
            })
        } else {
            doubled
        };
        if let Some(deadline) = deadline {
            delay = delay.min(deadline.saturating_duration_since(Instant::now()));
        }
        // Never spin: with `errors.retry.delay.max.ms=0` (which Java refuses at the first
        // retry) attempts are still a millisecond apart.
        delay.max(MIN_DELAY)
    }
}

/// Applies a connector's error policy in one task.
#[derive(Debug)]
pub struct ErrorHandler {
    pub policy: ErrorPolicy,
    connector: String,
    task: u32,
    /// The task's `task-error-metrics`, once the loop sets them.
    metrics: Option<Arc<TaskMetrics>>,
}

impl ErrorHandler {
    pub fn new(policy: ErrorPolicy, connector: &str, task: u32) -> ErrorHandler {
        ErrorHandler {
            policy,
            connector: connector.to_owned(),
            task,
            metrics: None,
        }
    }

    /// Counts failures, retries, skips and logged errors in the task's metrics.
    pub fn set_metrics(&mut self, metrics: Arc<TaskMetrics>) {
        self.metrics = Some(metrics);
    }

    /// Counts a record sent to the dead letter queue.
    pub fn count_dlq_request(&self) {
        self.count(|m| m.record_dlq_produce_request());
    }

    /// Counts a dead letter queue send that failed.
    pub fn count_dlq_failure(&self) {
        self.count(|m| m.record_dlq_produce_failure());
    }

    fn count(&self, f: impl FnOnce(&crate::metrics::TaskErrorMetrics)) {
        if let Some(m) = &self.metrics {
            f(m.errors());
        }
    }

    /// Runs `op`, retrying retriable failures as the policy allows. The error is the last
    /// failure, or [`RunError::Stopping`] when the task is asked to stop while retrying.
    pub fn run<T>(
        &mut self,
        control: &TaskControl,
        stage: Stage,
        class: &str,
        mut op: impl FnMut() -> Result<T, OpError>,
    ) -> Result<T, RunError> {
        let mut attempt = 0u32;
        // Set at the first failure: the clock is not read on the path that succeeds.
        let mut deadline: Option<Option<Instant>> = None;
        loop {
            let error = match op() {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            let deadline = *deadline.get_or_insert_with(|| {
                let start = Instant::now();
                match self.policy.retry {
                    Retry::Never => Some(start),
                    Retry::For(d) => Some(start + d),
                    Retry::Forever => None,
                }
            });
            attempt += 1;
            self.count(|m| {
                m.record_failure();
                m.record_error_timestamp();
            });
            let time_left = deadline.is_none_or(|d| Instant::now() < d);
            if !error.retriable || !time_left {
                return Err(RunError::Failed(Failure::new(stage, class, error)));
            }
            if control.stopping() {
                return Err(RunError::Stopping);
            }
            self.count(|m| m.record_retry());
            let delay = self.policy.backoff(attempt, deadline);
            tracing::debug!(
                stage = stage.as_str(),
                attempt,
                delay_ms = delay.as_millis() as u64,
                error = %error.message,
                "retriable failure; retrying"
            );
            control.wait(delay);
        }
    }

    /// Decides a failure: `Ok` means tolerated (the caller skips the record and reports it),
    /// `Err` is the trace the task fails with.
    pub fn tolerate(&mut self, failure: Failure) -> Result<Failure, String> {
        let tolerable = failure.stage.tolerates_any() || failure.retriable;
        if tolerable && self.policy.tolerate_all {
            self.count(|m| m.record_skipped());
            return Ok(failure);
        }
        self.count(|m| m.record_error());
        let why = if tolerable {
            "Tolerance exceeded in error handler"
        } else {
            "Unhandled exception in error handler"
        };
        Err(format!(
            "{CONNECT_EXCEPTION}: {why}\nCaused by: {}: {}",
            failure.exception_class(),
            failure.describe()
        ))
    }

    /// Decides a failure the task itself reported (the errant record reporter): tolerated with
    /// `errors.tolerance=all`, whatever the stage.
    pub fn tolerate_reported(&mut self, failure: Failure) -> Result<Failure, String> {
        self.count(|m| {
            m.record_failure();
            m.record_error_timestamp();
        });
        if self.policy.tolerate_all {
            self.count(|m| m.record_skipped());
            return Ok(failure);
        }
        self.count(|m| m.record_error());
        Err(format!(
            "{CONNECT_EXCEPTION}: Tolerance exceeded in error handler\nCaused by: {}: {}",
            failure.exception_class(),
            failure.describe()
        ))
    }

    /// The error log (`errors.log.enable`): the failure and where the record came from, plus
    /// the record itself with `errors.log.include.messages`.
    pub fn log(&self, failure: &Failure, position: &str, record: impl FnOnce() -> String) {
        if !self.policy.log {
            return;
        }
        self.count(|m| m.record_error_logged());
        if self.policy.log_messages {
            tracing::error!(
                "Error encountered in task {}-{}. Executing stage '{}' with class '{}', where {position} is {}: {}",
                self.connector,
                self.task,
                failure.stage.as_str(),
                failure.class,
                record(),
                failure.message
            );
        } else {
            tracing::error!(
                "Error encountered in task {}-{}. Executing stage '{}' with class '{}', where {position}: {}",
                self.connector,
                self.task,
                failure.stage.as_str(),
                failure.class,
                failure.message
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> Props {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn policy_defaults_and_values() {
        assert_eq!(
            ErrorPolicy::from_props(&Props::new()),
            ErrorPolicy::default()
        );
        let p = ErrorPolicy::from_props(&props(&[
            ("errors.tolerance", "ALL"),
            ("errors.retry.timeout", "-1"),
            ("errors.retry.delay.max.ms", "1000"),
            ("errors.log.enable", "true"),
            ("errors.log.include.messages", "true"),
        ]));
        assert!(p.tolerate_all && p.log && p.log_messages);
        assert_eq!(p.retry, Retry::Forever);
        assert_eq!(p.max_delay, Duration::from_secs(1));
        let p = ErrorPolicy::from_props(&props(&[("errors.retry.timeout", "2500")]));
        assert_eq!(p.retry, Retry::For(Duration::from_millis(2500)));
    }

    #[test]
    fn backoff_doubles_then_stays_below_the_cap() {
        let p = ErrorPolicy {
            max_delay: Duration::from_millis(1000),
            ..ErrorPolicy::default()
        };
        assert_eq!(p.backoff(1, None), Duration::from_millis(300));
        assert_eq!(p.backoff(2, None), Duration::from_millis(600));
        for attempt in [3, 10, 40] {
            assert!(p.backoff(attempt, None) < Duration::from_millis(1000));
        }
        let soon = Instant::now() + Duration::from_millis(50);
        assert!(p.backoff(1, Some(soon)) <= Duration::from_millis(50));
        let no_cap = ErrorPolicy {
            max_delay: Duration::ZERO,
            ..ErrorPolicy::default()
        };
        assert_eq!(no_cap.backoff(1, None), MIN_DELAY, "never a busy loop");
    }

    #[test]
    fn retriable_failures_retry_until_they_pass() {
        let policy = ErrorPolicy {
            retry: Retry::For(Duration::from_secs(30)),
            max_delay: Duration::from_millis(1),
            ..ErrorPolicy::default()
        };
        let mut h = ErrorHandler::new(policy, "c", 0);
        let control = TaskControl::default();
        let mut calls = 0;
        let got = h.run(&control, Stage::ValueConverter, "X", || {
            calls += 1;
            if calls < 4 {
                Err(OpError::retriable("registry unavailable"))
            } else {
                Ok(calls)
            }
        });
        assert_eq!(got, Ok(4));
        assert_eq!(calls, 4, "three retries, then success");
    }

    #[test]
    fn without_retries_a_retriable_failure_is_returned_at_once() {
        let mut h = ErrorHandler::new(ErrorPolicy::default(), "c", 0);
        let control = TaskControl::default();
        let mut calls = 0;
        let got: Result<(), RunError> = h.run(&control, Stage::KafkaProduce, "P", || {
            calls += 1;
            Err(OpError::retriable("timeout"))
        });
        assert_eq!(calls, 1);
        let RunError::Failed(failure) = got.unwrap_err() else {
            panic!("a failure, not a stop")
        };
        assert!(failure.retriable);
    }

    #[test]
    fn a_stop_request_ends_the_retries() {
        let policy = ErrorPolicy {
            retry: Retry::Forever,
            ..ErrorPolicy::default()
        };
        let mut h = ErrorHandler::new(policy, "c", 0);
        let control = TaskControl::default();
        control.request_stop();
        let got: Result<(), RunError> = h.run(&control, Stage::Transformation, "T", || {
            Err(OpError::retriable("again"))
        });
        assert_eq!(
            got,
            Err(RunError::Stopping),
            "a stop is not a failure to tolerate"
        );
        // A non-retriable failure is still a failure while stopping.
        let got: Result<(), RunError> = h.run(&control, Stage::Transformation, "T", || {
            Err(OpError::fatal("bad"))
        });
        assert!(matches!(got, Err(RunError::Failed(_))));
    }

    #[test]
    fn tolerance_decides_by_stage_and_setting() {
        let data = |stage| Failure::new(stage, "C", OpError::fatal("bad"));
        let mut none = ErrorHandler::new(ErrorPolicy::default(), "c", 0);
        let trace = none.tolerate(data(Stage::ValueConverter)).unwrap_err();
        assert!(trace.starts_with(
            "org.apache.kafka.connect.errors.ConnectException: Tolerance exceeded in error handler"
        ));
        assert!(trace.contains("DataException: Stage VALUE_CONVERTER (class C) failed: bad"));

        let all = ErrorPolicy {
            tolerate_all: true,
            ..ErrorPolicy::default()
        };
        let mut all = ErrorHandler::new(all, "c", 0);
        assert!(all.tolerate(data(Stage::Transformation)).is_ok());
        assert!(all.tolerate(data(Stage::HeaderConverter)).is_ok());
        let put = all.tolerate(data(Stage::TaskPut)).unwrap_err();
        assert!(put.contains("Unhandled exception"), "{put}");
        let retried_out = Failure::new(Stage::KafkaProduce, "P", OpError::retriable("t"));
        assert!(all.tolerate(retried_out).is_ok());
    }
}
