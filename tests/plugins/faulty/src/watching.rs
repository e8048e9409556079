//! A source connector whose task count follows a file, as the JDBC source's table monitor
//! follows tables: a thread started with the connector re-reads `count.file` every
//! `watch.interval.ms` and, when the number in it changes, asks the worker for task
//! reconfiguration through the connector's context (`requests.per.change` times,
//! `requests.spacing.ms` apart, to check that a burst leads to one regeneration). Text in `error.file` is raised as the
//! connector's error. With `linger.ms`, the thread outlives `stop` by that long and keeps
//! calling the context, as a careless connector would.
//!
//! `calls.file`, when set, gets one line per event: `requested <n>` before each burst,
//! `generated <n>` for each `task_configs` call, `stopped`, and `linger done` when a lingering
//! thread ends. The tasks do nothing.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tributary_connector_api::config::{ConfigKey, ConfigType, Default, Importance};
use tributary_connector_api::*;

#[derive(Default)]
pub struct WatchingSourceConnector {
    props: Props,
    context: ConnectorContext,
    settings: Option<Arc<Settings>>,
    stop: Arc<AtomicBool>,
    watcher: Option<JoinHandle<()>>,
}

/// The connector's config, read at start.
struct Settings {
    count_file: PathBuf,
    calls_file: Option<PathBuf>,
    error_file: Option<PathBuf>,
    requests_per_change: u32,
    spacing: Duration,
    interval: Duration,
    linger: Duration,
}

impl Settings {
    fn from_props(props: &Props) -> ConnectResult<Settings> {
        let path = |key: &str| {
            props
                .get(key)
                .map(|v| v.trim())
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let number = |key: &str, default: u64| -> ConnectResult<u64> {
            match props.get(key).map(|v| v.trim()) {
                None | Some("") => Ok(default),
                Some(v) => v
                    .parse()
                    .map_err(|_| ConnectError::new(format!("{key} is not a number: {v}"))),
            }
        };
        Ok(Settings {
            count_file: path("count.file")
                .ok_or_else(|| ConnectError::new("count.file is required"))?,
            calls_file: path("calls.file"),
            error_file: path("error.file"),
            requests_per_change: number("requests.per.change", 1)? as u32,
            spacing: Duration::from_millis(number("requests.spacing.ms", 0)?),
            interval: Duration::from_millis(number("watch.interval.ms", 50)?),
            linger: Duration::from_millis(number("linger.ms", 0)?),
        })
    }

    /// The task count in the file; `None` while it is missing or not a number.
    fn count(&self) -> Option<usize> {
        std::fs::read_to_string(&self.count_file)
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    fn error(&self) -> Option<String> {
        let text = std::fs::read_to_string(self.error_file.as_ref()?).ok()?;
        let text = text.trim();
        (!text.is_empty()).then(|| text.to_owned())
    }

    fn note(&self, line: &str) {
        if let Some(path) = &self.calls_file {
            append(path, line);
        }
    }
}

fn append(path: &Path, line: &str) {
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = writeln!(f, "{line}");
    }
}

/// The watcher thread: asks for a reconfiguration when the count changes, raises the error
/// file's text, and after `stop` lingers if told to.
fn watch(settings: Arc<Settings>, context: ConnectorContext, stop: Arc<AtomicBool>) {
    let mut last_count = settings.count();
    let mut last_error: Option<String> = None;
    while !stop.load(Ordering::SeqCst) {
        std::thread::sleep(settings.interval);
        let count = settings.count();
        if count.is_some() && count != last_count {
            last_count = count;
            settings.note(&format!("requested {}", count.unwrap_or_default()));
            for i in 0..settings.requests_per_change {
                if i > 0 {
                    std::thread::sleep(settings.spacing);
                }
                context.request_task_reconfiguration();
            }
        }
        let error = settings.error();
        if error.is_some() && error != last_error {
            last_error = error;
            context.raise_error(last_error.as_deref().unwrap_or_default());
        }
    }
    if settings.linger.is_zero() {
        return;
    }
    let until = Instant::now() + settings.linger;
    while Instant::now() < until {
        context.request_task_reconfiguration();
        context.raise_error("raised by a thread that outlived stop");
        std::thread::sleep(Duration::from_millis(50));
    }
    settings.note("linger done");
}

impl Connector for WatchingSourceConnector {
    const CLASS: &'static str = "io.tributary.test.WatchingSourceConnector";

    fn version() -> String {
        "0.0.1".into()
    }

    fn config_def() -> ConfigDef {
        let optional = |name: &'static str, type_: ConfigType, default: &str, doc: &'static str| {
            ConfigKey::new(
                name,
                type_,
                Default::Value(default.into()),
                Importance::Low,
                doc,
            )
        };
        ConfigDef::new()
            .define(ConfigKey::new(
                "count.file",
                ConfigType::String,
                Default::Required,
                Importance::High,
                "File holding the number of tasks (at most tasks.max)",
            ))
            .define(optional(
                "calls.file",
                ConfigType::String,
                "",
                "File that gets a line per request and per task_configs call",
            ))
            .define(optional(
                "error.file",
                ConfigType::String,
                "",
                "Text written here is raised as the connector's error",
            ))
            .define(optional(
                "requests.per.change",
                ConfigType::Int,
                "1",
                "Reconfiguration requests made in a row per change of the count",
            ))
            .define(optional(
                "requests.spacing.ms",
                ConfigType::Long,
                "0",
                "Pause between the requests of one change",
            ))
            .define(optional(
                "watch.interval.ms",
                ConfigType::Long,
                "50",
                "How often the files are read",
            ))
            .define(optional(
                "linger.ms",
                ConfigType::Long,
                "0",
                "How long the watcher keeps calling the context after stop",
            ))
    }

    fn initialize(&mut self, context: ConnectorContext) {
        self.context = context;
    }

    fn start(&mut self, props: &Props) -> ConnectResult<()> {
        let settings = Arc::new(Settings::from_props(props)?);
        self.props = props.clone();
        self.stop = Arc::new(AtomicBool::new(false));
        let (s, context, stop) = (
            Arc::clone(&settings),
            self.context.clone(),
            Arc::clone(&self.stop),
        );
        self.watcher = Some(
            std::thread::Builder::new()
                .name("count-watcher".into())
                .spawn(move || watch(s, context, stop))?,
        );
        self.settings = Some(settings);
        Ok(())
    }

    fn task_configs(&mut self, max_tasks: usize) -> ConnectResult<Vec<Props>> {
        let settings = self
            .settings
            .as_ref()
            .ok_or_else(|| ConnectError::new("not started"))?;
        let count = settings.count().unwrap_or(1).min(max_tasks);
        settings.note(&format!("generated {count}"));
        Ok((0..count)
            .map(|i| {
                let mut p = self.props.clone();
                p.insert("task.index".into(), i.to_string());
                p.insert("task.count".into(), count.to_string());
                p
            })
            .collect())
    }

    fn stop(&mut self) -> ConnectResult<()> {
        self.stop.store(true, Ordering::SeqCst);
        let lingers = self.settings.as_ref().is_some_and(|s| !s.linger.is_zero());
        if let Some(watcher) = self.watcher.take() {
            // A lingering watcher is left running, holding its clone of the context.
            if !lingers {
                let _ = watcher.join();
            }
        }
        if let Some(settings) = &self.settings {
            settings.note("stopped");
        }
        Ok(())
    }
}

impl SourceConnector for WatchingSourceConnector {
    type Task = IdleSourceTask;
}

/// Does nothing but wait to be stopped.
#[derive(Default)]
pub struct IdleSourceTask;

impl SourceTask for IdleSourceTask {
    fn start(&mut self, _props: &Props, _context: &SourceTaskContext) -> ConnectResult<()> {
        Ok(())
    }

    fn poll(&mut self) -> ConnectResult<Vec<SourceRecord>> {
        std::thread::sleep(Duration::from_millis(100));
        Ok(Vec::new())
    }

    fn stop(&mut self) -> ConnectResult<()> {
        Ok(())
    }
}
