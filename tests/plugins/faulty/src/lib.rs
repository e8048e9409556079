//! Test fixtures: connectors that misbehave on purpose, to check that a plugin's panic or
//! error fails only its task and the worker keeps serving; a multi-task sequence source
//! for the distributed-mode tests; and a source whose task count follows a file it watches,
//! asking for task reconfiguration through its `ConnectorContext`.

use tributary_connector_api::config::{ConfigKey, ConfigType, Default, Importance};
use tributary_connector_api::*;

/// A connector that hands its own config to each of `tasks.max` tasks.
macro_rules! connector {
    ($name:ident, $class:literal, $kind:ident, $task:ident, $def:expr) => {
        #[derive(Default)]
        pub struct $name {
            props: Props,
        }

        impl Connector for $name {
            const CLASS: &'static str = $class;

            fn version() -> String {
                "0.0.1".into()
            }

            fn config_def() -> ConfigDef {
                $def
            }

            fn start(&mut self, props: &Props) -> ConnectResult<()> {
                self.props = props.clone();
                Ok(())
            }

            fn task_configs(&mut self, max_tasks: usize) -> ConnectResult<Vec<Props>> {
                Ok(vec![self.props.clone(); max_tasks])
            }

            fn stop(&mut self) -> ConnectResult<()> {
                Ok(())
            }
        }

        impl $kind for $name {
            type Task = $task;
        }
    };
}

// Source whose task panics on its first poll.
connector!(
    PanickingSourceConnector,
    "io.tributary.test.PanickingSourceConnector",
    SourceConnector,
    PanickingSourceTask,
    ConfigDef::new().define(ConfigKey::new(
        "topic",
        ConfigType::String,
        Default::Value("unused".into()),
        Importance::Low,
        "Topic (unused)",
    ))
);

#[derive(Default)]
pub struct PanickingSourceTask;

impl SourceTask for PanickingSourceTask {
    fn start(&mut self, _props: &Props, _context: &SourceTaskContext) -> ConnectResult<()> {
        Ok(())
    }

    fn poll(&mut self) -> ConnectResult<Vec<SourceRecord>> {
        let items: Vec<u32> = Vec::new();
        // Index out of bounds on purpose.
        let first = items[usize::from(items.is_empty())];
        Ok(vec![SourceRecord::new(
            None,
            None,
            "t",
            None,
            Value::Int32(first as i32),
        )])
    }

    fn stop(&mut self) -> ConnectResult<()> {
        Ok(())
    }
}

// Sink whose task fails with an error from put.
connector!(
    FailingSinkConnector,
    "io.tributary.test.FailingSinkConnector",
    SinkConnector,
    FailingSinkTask,
    ConfigDef::new()
);

#[derive(Default)]
pub struct FailingSinkTask;

impl SinkTask for FailingSinkTask {
    fn start(&mut self, _props: &Props, _context: &mut SinkTaskContext) -> ConnectResult<()> {
        Ok(())
    }

    fn put(
        &mut self,
        records: Vec<SinkRecord>,
        _context: &mut SinkTaskContext,
    ) -> ConnectResult<()> {
        Err(ConnectError::new(format!(
            "refusing a batch of {} records on purpose",
            records.len()
        )))
    }

    fn stop(&mut self) -> ConnectResult<()> {
        Ok(())
    }
}

/// Source with `tasks.max` tasks; task `i` writes `"<i>:<n>"` for n = 0, 1, 2, … to `topic`,
/// one record every `interval.ms`, with source partition `{"task": i}` and offset
/// `{"n": n}`, and resumes after its committed offset. A task that ran twice at once, or lost
/// or repeated records, shows in the topic.
#[derive(Default)]
pub struct SequenceSourceConnector {
    props: Props,
}

impl Connector for SequenceSourceConnector {
    const CLASS: &'static str = "io.tributary.test.SequenceSourceConnector";

    fn version() -> String {
        "0.0.1".into()
    }

    fn config_def() -> ConfigDef {
        ConfigDef::new()
            .define(ConfigKey::new(
                "topic",
                ConfigType::String,
                Default::Required,
                Importance::High,
                "Topic to write to",
            ))
            .define(ConfigKey::new(
                "interval.ms",
                ConfigType::Long,
                Default::Value("20".into()),
                Importance::Low,
                "Pause between records of one task",
            ))
    }

    fn start(&mut self, props: &Props) -> ConnectResult<()> {
        self.props = props.clone();
        Ok(())
    }

    fn task_configs(&mut self, max_tasks: usize) -> ConnectResult<Vec<Props>> {
        Ok((0..max_tasks)
            .map(|i| {
                let mut p = self.props.clone();
                p.insert("task.index".into(), i.to_string());
                p
            })
            .collect())
    }

    fn stop(&mut self) -> ConnectResult<()> {
        Ok(())
    }
}

impl SourceConnector for SequenceSourceConnector {
    type Task = SequenceSourceTask;
}

#[derive(Default)]
pub struct SequenceSourceTask {
    topic: String,
    index: i64,
    next: i64,
    interval: std::time::Duration,
    partition: Option<std::sync::Arc<OffsetMap>>,
}

impl SourceTask for SequenceSourceTask {
    fn start(&mut self, props: &Props, context: &SourceTaskContext) -> ConnectResult<()> {
        self.topic = props.get("topic").cloned().unwrap_or_default();
        self.index = props
            .get("task.index")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let ms: u64 = props
            .get("interval.ms")
            .and_then(|v| v.parse().ok())
            .unwrap_or(20);
        self.interval = std::time::Duration::from_millis(ms);
        let mut partition = OffsetMap::new();
        partition.insert("task".into(), self.index.into());
        self.next = context
            .offset(&partition)
            .and_then(|o| o.get("n"))
            .and_then(|n| n.as_i64())
            .map(|n| n + 1)
            .unwrap_or(0);
        self.partition = Some(std::sync::Arc::new(partition));
        Ok(())
    }

    fn poll(&mut self) -> ConnectResult<Vec<SourceRecord>> {
        std::thread::sleep(self.interval);
        let n = self.next;
        self.next += 1;
        let mut offset = OffsetMap::new();
        offset.insert("n".into(), n.into());
        Ok(vec![SourceRecord::new(
            self.partition.clone(),
            Some(offset),
            self.topic.clone(),
            None,
            Value::String(format!("{}:{n}", self.index)),
        )])
    }

    fn stop(&mut self) -> ConnectResult<()> {
        Ok(())
    }
}

// Sink that appends each string value to `file`, except values containing `bad`, which its
// task reports as errant records (Kafka's `ErrantRecordReporter`) and skips.
connector!(
    ErrantSinkConnector,
    "io.tributary.test.ErrantSinkConnector",
    SinkConnector,
    ErrantSinkTask,
    ConfigDef::new().define(ConfigKey::new(
        "file",
        ConfigType::String,
        Default::Required,
        Importance::High,
        "File the good values are appended to",
    ))
);

#[derive(Default)]
pub struct ErrantSinkTask {
    file: Option<std::fs::File>,
}

impl SinkTask for ErrantSinkTask {
    fn start(&mut self, props: &Props, _context: &mut SinkTaskContext) -> ConnectResult<()> {
        let path = props
            .get("file")
            .ok_or_else(|| ConnectError::new("file is required"))?;
        self.file = Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)?,
        );
        Ok(())
    }

    fn put(
        &mut self,
        records: Vec<SinkRecord>,
        context: &mut SinkTaskContext,
    ) -> ConnectResult<()> {
        use std::io::Write as _;
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| ConnectError::new("not started"))?;
        for record in &records {
            let text = record.value.as_str().unwrap_or_default();
            if text.contains("bad") {
                context.report(record, format!("cannot store {text:?}"));
            } else {
                writeln!(file, "{text}")?;
            }
        }
        file.flush()?;
        Ok(())
    }

    fn stop(&mut self) -> ConnectResult<()> {
        Ok(())
    }
}

mod watching;
pub use watching::WatchingSourceConnector;

export_plugin!(
    sources: [PanickingSourceConnector, SequenceSourceConnector, WatchingSourceConnector],
    sinks: [FailingSinkConnector, ErrantSinkConnector],
);
