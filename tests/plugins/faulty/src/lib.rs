//! Test fixture: connectors that misbehave on purpose, to check that a plugin's panic or
//! error fails only its task and the worker keeps serving.

use tributary_connector_api::config::{ConfigKey, ConfigType, Default, Importance};
use tributary_connector_api::*;

/// Source whose task panics on its first poll.
#[derive(Default)]
pub struct PanickingSourceConnector {
    props: Props,
}

impl Connector for PanickingSourceConnector {
    const CLASS: &'static str = "io.tributary.test.PanickingSourceConnector";

    fn version() -> String {
        "0.0.1".into()
    }

    fn config_def() -> ConfigDef {
        ConfigDef::new().define(ConfigKey::new(
            "topic",
            ConfigType::String,
            Default::Value("unused".into()),
            Importance::Low,
            "Topic (unused)",
        ))
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

impl SourceConnector for PanickingSourceConnector {
    type Task = PanickingSourceTask;
}

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

/// Sink whose task fails with an error from put.
#[derive(Default)]
pub struct FailingSinkConnector {
    props: Props,
}

impl Connector for FailingSinkConnector {
    const CLASS: &'static str = "io.tributary.test.FailingSinkConnector";

    fn version() -> String {
        "0.0.1".into()
    }

    fn config_def() -> ConfigDef {
        ConfigDef::new()
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

impl SinkConnector for FailingSinkConnector {
    type Task = FailingSinkTask;
}

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

export_plugin!(
    sources: [PanickingSourceConnector],
    sinks: [FailingSinkConnector],
);
