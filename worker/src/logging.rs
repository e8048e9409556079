//! Log setup and runtime log levels (the `/admin/loggers` endpoints).
//!
//! Kafka Connect names loggers after Java packages (`org.apache.kafka.connect.runtime`); tracing
//! names targets after Rust module paths (`tributary::runtime`). A logger name maps to a target by
//! replacing `.` with `::`, and back. `root` is the default level for every target.
//!
//! The model follows Connect's `Loggers` class:
//! * the known loggers are the ones given a level by the startup directives (`RUST_LOG` or the
//!   default) and the ones set through REST; `root` is always known;
//! * setting a namespace sets it and every known logger whose name starts with it, and returns the
//!   affected names sorted; setting `root` sets the default and every known logger (startup
//!   directives that are not plain `target=level` pairs are dropped then);
//! * `last_modified` is the time of the last REST change in ms since the epoch, `null` before.
//!
//! Levels are Java's: `TRACE DEBUG INFO WARN ERROR` map one-to-one, `FATAL` filters as `ERROR`,
//! `ALL` as `TRACE`, `OFF` as `off`. The level reported back is the name that was set.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use tracing_subscriber::filter::{Directive, LevelFilter};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, reload, EnvFilter, Registry};

/// The name of the default logger.
pub const ROOT_LOGGER: &str = "root";

/// One logger's level as REST shows it (`LoggerLevel`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoggerLevel {
    /// Java level name, upper case: `TRACE DEBUG INFO WARN ERROR FATAL OFF ALL`.
    pub level: String,
    /// When the level was last set through REST (ms since the epoch).
    pub last_modified: Option<u64>,
}

/// Why a level change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LevelError {
    /// Not a Java log level (REST 404, as in Connect).
    #[error("invalid log level '{0}'.")]
    InvalidLevel(String),
    /// The name cannot be a tracing target (REST 400).
    #[error("Invalid logger name '{0}'.")]
    InvalidLogger(String),
    /// The new filter could not be installed (REST 500).
    #[error("Unable to change log levels: {0}")]
    Reload(String),
}

/// Runtime log levels: what REST reports and changes, and the live filter behind it.
pub struct LogLevels {
    /// `None` when detached: levels are recorded but no subscriber is changed.
    handle: Option<reload::Handle<EnvFilter, Registry>>,
    state: Mutex<LevelState>,
}

impl LogLevels {
    /// Levels from `directives` (tracing `EnvFilter` syntax) that drive no subscriber; for tests
    /// and for embedding where the caller owns logging.
    pub fn detached(directives: &str) -> LogLevels {
        LogLevels {
            handle: None,
            state: Mutex::new(LevelState::parse(directives)),
        }
    }

    /// Every known logger plus `root` (`GET /admin/loggers`).
    pub fn all(&self) -> BTreeMap<String, LoggerLevel> {
        let state = self.lock();
        let mut all: BTreeMap<String, LoggerLevel> = state
            .loggers
            .iter()
            .map(|(name, entry)| (name.clone(), entry.view()))
            .collect();
        all.insert(ROOT_LOGGER.to_owned(), state.root.view());
        all
    }

    /// One known logger (`root` in any case), or `None` (`GET /admin/loggers/<logger>`).
    pub fn level(&self, logger: &str) -> Option<LoggerLevel> {
        let state = self.lock();
        if logger.eq_ignore_ascii_case(ROOT_LOGGER) {
            return Some(state.root.view());
        }
        state.loggers.get(logger).map(|entry| entry.view())
    }

    /// Sets `namespace` and every known logger under it to `level`; returns the affected logger
    /// names, sorted (`PUT /admin/loggers/<logger>`).
    pub fn set_level(&self, namespace: &str, level: &str) -> Result<Vec<String>, LevelError> {
        let level =
            JavaLevel::parse(level).ok_or_else(|| LevelError::InvalidLevel(level.into()))?;
        let mut state = self.lock();
        let mut next = state.clone();
        let affected = next.set(namespace, level, now_ms())?;
        if let Some(handle) = &self.handle {
            let filter = next.filter().map_err(LevelError::Reload)?;
            handle
                .reload(filter)
                .map_err(|e| LevelError::Reload(e.to_string()))?;
        }
        *state = next;
        drop(state);
        tracing::info!(namespace, level = level.name(), "set log level");
        Ok(affected)
    }

    /// The filter currently in force, in `EnvFilter` syntax.
    pub fn directives(&self) -> String {
        self.lock().directives().join(",")
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LevelState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Installs the global subscriber: fmt to stderr, filtered by `RUST_LOG` if set and non-empty,
/// else by `default_directive` (e.g. `"info"`). Directives that do not parse are skipped. `log`
/// records are bridged into tracing. If a global subscriber is already installed the result is
/// detached.
pub fn init(default_directive: &str) -> Arc<LogLevels> {
    let from_env = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty());
    let directives = from_env.as_deref().unwrap_or(default_directive);
    let state = LevelState::parse(directives);
    let filter = state
        .filter()
        .unwrap_or_else(|_| EnvFilter::new(LevelFilter::INFO.to_string()));
    let (layer, handle) = reload::Layer::new(filter);
    // An error may also mean only that the `log` bridge was taken; the handle tells whether our
    // subscriber is the global one (otherwise it was dropped).
    let _ = tracing_subscriber::registry()
        .with(layer)
        .with(fmt::layer().with_writer(std::io::stderr))
        .try_init();
    let installed = handle.with_current(|_| ()).is_ok();
    Arc::new(LogLevels {
        handle: installed.then_some(handle),
        state: Mutex::new(state),
    })
}

/// A Java log level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JavaLevel {
    All,
    Trace,
    Debug,
    Info,
    Warn,
    Error,
    Fatal,
    Off,
}

impl JavaLevel {
    fn parse(s: &str) -> Option<JavaLevel> {
        let level = match s.to_ascii_uppercase().as_str() {
            "ALL" => JavaLevel::All,
            "TRACE" => JavaLevel::Trace,
            "DEBUG" => JavaLevel::Debug,
            "INFO" => JavaLevel::Info,
            "WARN" => JavaLevel::Warn,
            "ERROR" => JavaLevel::Error,
            "FATAL" => JavaLevel::Fatal,
            "OFF" => JavaLevel::Off,
            _ => return None,
        };
        Some(level)
    }

    fn from_filter(f: LevelFilter) -> JavaLevel {
        match f {
            LevelFilter::TRACE => JavaLevel::Trace,
            LevelFilter::DEBUG => JavaLevel::Debug,
            LevelFilter::INFO => JavaLevel::Info,
            LevelFilter::WARN => JavaLevel::Warn,
            LevelFilter::ERROR => JavaLevel::Error,
            _ => JavaLevel::Off,
        }
    }

    fn name(self) -> &'static str {
        match self {
            JavaLevel::All => "ALL",
            JavaLevel::Trace => "TRACE",
            JavaLevel::Debug => "DEBUG",
            JavaLevel::Info => "INFO",
            JavaLevel::Warn => "WARN",
            JavaLevel::Error => "ERROR",
            JavaLevel::Fatal => "FATAL",
            JavaLevel::Off => "OFF",
        }
    }

    /// The tracing level this filters as.
    fn directive(self) -> &'static str {
        match self {
            JavaLevel::All | JavaLevel::Trace => "trace",
            JavaLevel::Debug => "debug",
            JavaLevel::Info => "info",
            JavaLevel::Warn => "warn",
            JavaLevel::Error | JavaLevel::Fatal => "error",
            JavaLevel::Off => "off",
        }
    }
}

/// A level with the time it was set through REST.
#[derive(Debug, Clone, Copy)]
struct Entry {
    level: JavaLevel,
    last_modified: Option<u64>,
}

impl Entry {
    fn view(self) -> LoggerLevel {
        LoggerLevel {
            level: self.level.name().to_owned(),
            last_modified: self.last_modified,
        }
    }
}

#[derive(Debug, Clone)]
struct LevelState {
    root: Entry,
    /// Known loggers by Java name.
    loggers: BTreeMap<String, Entry>,
    /// Startup directives kept verbatim (span and field filters).
    extra: Vec<String>,
}

impl LevelState {
    /// Reads startup directives, skipping those that do not parse. Without a plain level, `root`
    /// is `ERROR` (`EnvFilter`'s own fallback for an empty filter).
    fn parse(directives: &str) -> LevelState {
        let mut state = LevelState {
            root: Entry {
                level: JavaLevel::Error,
                last_modified: None,
            },
            loggers: BTreeMap::new(),
            extra: Vec::new(),
        };
        for piece in directives.split(',').map(str::trim) {
            if piece.is_empty() || piece.parse::<Directive>().is_err() {
                continue;
            }
            if piece.contains('[') {
                state.extra.push(piece.to_owned());
                continue;
            }
            let (target, level) = match piece.split_once('=') {
                Some((target, level)) => (target, level.parse().unwrap_or(LevelFilter::TRACE)),
                None => match piece.parse::<LevelFilter>() {
                    Ok(level) => ("", level),
                    Err(_) => (piece, LevelFilter::TRACE),
                },
            };
            let entry = Entry {
                level: JavaLevel::from_filter(level),
                last_modified: None,
            };
            if target.is_empty() {
                state.root = entry;
            } else {
                state.loggers.insert(target.replace("::", "."), entry);
            }
        }
        state
    }

    fn set(
        &mut self,
        namespace: &str,
        level: JavaLevel,
        now: u64,
    ) -> Result<Vec<String>, LevelError> {
        let entry = Entry {
            level,
            last_modified: Some(now),
        };
        let is_root = namespace.eq_ignore_ascii_case(ROOT_LOGGER);
        if !is_root && target_of(namespace).is_none() {
            return Err(LevelError::InvalidLogger(namespace.into()));
        }
        let mut affected: Vec<String> = self
            .loggers
            .keys()
            .filter(|name| is_root || name.starts_with(namespace))
            .cloned()
            .collect();
        if !is_root && !self.loggers.contains_key(namespace) {
            affected.push(namespace.to_owned());
        }
        for name in &affected {
            self.loggers.insert(name.clone(), entry);
        }
        if is_root {
            self.root = entry;
            self.extra.clear();
            affected.push(ROOT_LOGGER.to_owned());
        }
        affected.sort();
        Ok(affected)
    }

    fn directives(&self) -> Vec<String> {
        let mut out = vec![self.root.level.directive().to_owned()];
        out.extend(self.extra.iter().cloned());
        for (name, entry) in &self.loggers {
            if let Some(target) = target_of(name) {
                out.push(format!("{target}={}", entry.level.directive()));
            }
        }
        out
    }

    fn filter(&self) -> Result<EnvFilter, String> {
        EnvFilter::builder()
            .parse(self.directives().join(","))
            .map_err(|e| e.to_string())
    }
}

/// The tracing target of a Java logger name, if the name can be one.
fn target_of(logger: &str) -> Option<String> {
    let allowed = |c: char| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '$' | ':');
    if logger.is_empty() || !logger.chars().all(allowed) {
        return None;
    }
    let target = logger.replace('.', "::");
    let directive: Directive = format!("{target}=trace").parse().ok()?;
    directive.to_string().starts_with(&target).then_some(target)
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(logs: &LogLevels, logger: &str) -> Option<String> {
        logs.level(logger).map(|l| l.level)
    }

    #[test]
    fn startup_directives_become_loggers() {
        let logs = LogLevels::detached("info, tributary::runtime=debug,hyper,[conn]=trace,x=loud");
        let all = logs.all();
        assert_eq!(
            all.keys().collect::<Vec<_>>(),
            ["hyper", "root", "tributary.runtime"]
        );
        assert_eq!(level(&logs, "root").as_deref(), Some("INFO"));
        assert_eq!(level(&logs, "Root").as_deref(), Some("INFO"));
        assert_eq!(level(&logs, "hyper").as_deref(), Some("TRACE"));
        assert_eq!(level(&logs, "tributary.runtime").as_deref(), Some("DEBUG"));
        assert!(all.values().all(|l| l.last_modified.is_none()));
        assert_eq!(
            logs.directives(),
            "info,[conn]=trace,hyper=trace,tributary::runtime=debug"
        );
        assert_eq!(LogLevels::detached("").directives(), "error");
    }

    #[test]
    fn setting_a_namespace_sets_known_descendants() {
        let logs = LogLevels::detached("warn,tributary::runtime=debug,tributary_x=info");
        let affected = logs.set_level("tributary", "trace").unwrap();
        assert_eq!(affected, ["tributary", "tributary.runtime", "tributary_x"]);
        assert_eq!(level(&logs, "tributary.runtime").as_deref(), Some("TRACE"));
        assert!(logs.level("tributary").unwrap().last_modified.is_some());

        assert_eq!(logs.set_level("a.b", "FATAL").unwrap(), ["a.b"]);
        assert_eq!(level(&logs, "a.b").as_deref(), Some("FATAL"));
        assert!(logs.directives().contains("a::b=error"));
        logs.set_level("a.b", "off").unwrap();
        assert!(logs.directives().contains("a::b=off"));
        assert_eq!(level(&logs, "a").as_deref(), None);
    }

    #[test]
    fn setting_root_resets_everything() {
        let logs = LogLevels::detached("info,[span]=debug,tributary=debug");
        let affected = logs.set_level("ROOT", "ALL").unwrap();
        assert_eq!(affected, ["root", "tributary"]);
        assert_eq!(logs.directives(), "trace,tributary=trace");
        assert_eq!(level(&logs, "root").as_deref(), Some("ALL"));
    }

    #[test]
    fn invalid_levels_and_names() {
        let logs = LogLevels::detached("info");
        assert_eq!(
            logs.set_level("x", "LOUD"),
            Err(LevelError::InvalidLevel("LOUD".into()))
        );
        for name in ["a,b", "a=b", "a[b]", "a b", "{x}"] {
            assert_eq!(
                logs.set_level(name, "INFO"),
                Err(LevelError::InvalidLogger(name.into())),
                "{name}"
            );
        }
        assert_eq!(logs.all().len(), 1);
        assert_eq!(
            logs.set_level("Outer$Inner-1.x_y", "INFO").unwrap().len(),
            1
        );
    }

    /// Drives the global subscriber; skipped if something else installed one first.
    #[test]
    fn init_reloads_the_live_filter() {
        use tracing::{enabled, Level};
        let logs = init("info");
        if logs.handle.is_none() {
            return;
        }
        logs.set_level("root", "INFO").unwrap();
        assert!(!enabled!(target: "tributary::probe", Level::DEBUG));
        logs.set_level("tributary", "DEBUG").unwrap();
        assert!(enabled!(target: "tributary::probe", Level::DEBUG));
        assert!(!enabled!(target: "other::probe", Level::DEBUG));
        logs.set_level("tributary.probe", "OFF").unwrap();
        assert!(!enabled!(target: "tributary::probe", Level::ERROR));
    }
}
