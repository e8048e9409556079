//! `FileStreamSinkConnector` and its task: append each record's value as a line.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Stdout, Write};

use tributary_connector_api::config::Default as ConfigDefault;
use tributary_connector_api::{
    ConfigDef, ConfigKey, ConfigType, ConnectError, ConnectResult, Connector, Importance, Props,
    SchemaRef, SinkConnector, SinkOffsets, SinkRecord, SinkTask, SinkTaskContext, Value, ValueRef,
};

use crate::FILE_CONFIG;
use tributary_connector_api::abi::batch::{FieldRef, RecordBatch};
use tributary_connector_api::java_text::push_value;

/// Size of the sink's write buffer.
const WRITE_BUFFER: usize = 64 * 1024;

/// Writes a value as Java's `FileStreamSinkTask` does (its `toString`) and a newline, through
/// `line`, a buffer kept between records.
fn write_value(
    writer: &mut dyn Write,
    line: &mut String,
    value: &Value,
    schema: Option<&SchemaRef>,
) -> io::Result<()> {
    line.clear();
    push_value(line, value, schema);
    line.push('\n');
    writer.write_all(line.as_bytes())
}

fn write_error(target: &str, e: io::Error) -> ConnectError {
    ConnectError::new(format!("Error writing to {target}: {e}"))
}

/// `org.apache.kafka.connect.file.FileStreamSinkConnector`: writes record values to a file (or
/// standard output), one per line. Every task appends to the same file.
#[derive(Debug, Default)]
pub struct FileStreamSinkConnector {
    props: Option<Props>,
}

impl Connector for FileStreamSinkConnector {
    const CLASS: &'static str = "org.apache.kafka.connect.file.FileStreamSinkConnector";

    fn version() -> String {
        env!("CARGO_PKG_VERSION").to_owned()
    }

    fn config_def() -> ConfigDef {
        ConfigDef::new().define(ConfigKey::new(
            FILE_CONFIG,
            ConfigType::String,
            ConfigDefault::Null,
            Importance::High,
            "Path of the file record values are appended to (created if missing). Leave unset \
             (or empty) to write to standard output instead.",
        ))
    }

    fn start(&mut self, props: &Props) -> ConnectResult<()> {
        Self::config_def()
            .parse(props)
            .map_err(|e| ConnectError::new(e.message))?;
        self.props = Some(props.clone());
        Ok(())
    }

    /// `max_tasks` identical configs: tasks share the file without coordination, so lines of
    /// different tasks interleave.
    fn task_configs(&mut self, max_tasks: usize) -> ConnectResult<Vec<Props>> {
        match &self.props {
            Some(props) => Ok(vec![props.clone(); max_tasks]),
            None => Err(ConnectError::new(
                "FileStreamSinkConnector has not been started",
            )),
        }
    }

    fn stop(&mut self) -> ConnectResult<()> {
        Ok(())
    }
}

impl SinkConnector for FileStreamSinkConnector {
    type Task = FileStreamSinkTask;

    /// Accepted as a no-op: the offsets live in the consumer group, which the worker updates.
    fn alter_offsets(&self, _props: &Props, _offsets: &SinkOffsets) -> ConnectResult<bool> {
        Ok(false)
    }
}

/// Where the task writes.
#[derive(Debug)]
enum Output {
    File(BufWriter<File>),
    Stdout(BufWriter<Stdout>),
}

impl Output {
    fn writer(&mut self) -> &mut dyn Write {
        match self {
            Output::File(w) => w,
            Output::Stdout(w) => w,
        }
    }
}

/// The task of [`FileStreamSinkConnector`].
///
/// `put` writes each record's value, rendered like Java's `String.valueOf` by
/// `tributary_connector_api::java_text::push_value` (bytes as base64, not a Java object identity), followed by
/// `\n`, into a buffered writer. Keys, headers and timestamps are ignored. `flush` flushes the
/// buffer to the file (no fsync, as in Java); `stop` flushes and closes it. Each line goes to
/// the buffer in one piece, so tasks sharing a file interleave whole lines.
#[derive(Debug, Default)]
pub struct FileStreamSinkTask {
    output: Option<Output>,
    /// The file being written, or `stdout`, for error messages.
    target: String,
    /// One rendered line, reused across records.
    line: String,
}

impl SinkTask for FileStreamSinkTask {
    fn start(&mut self, props: &Props, _context: &mut SinkTaskContext) -> ConnectResult<()> {
        FileStreamSinkConnector::config_def()
            .parse(props)
            .map_err(|e| ConnectError::new(e.message))?;
        let path = props
            .get(FILE_CONFIG)
            .map(String::as_str)
            .filter(|f| !f.is_empty());
        let output = match path {
            None => {
                self.target = "stdout".to_owned();
                Output::Stdout(BufWriter::with_capacity(WRITE_BUFFER, io::stdout()))
            }
            Some(path) => {
                self.target = format!("file '{path}'");
                let file = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|e| {
                        ConnectError::new(format!(
                            "Cannot open or create file '{path}' for appending: {e}"
                        ))
                    })?;
                Output::File(BufWriter::with_capacity(WRITE_BUFFER, file))
            }
        };
        self.output = Some(output);
        Ok(())
    }

    fn put(
        &mut self,
        records: Vec<SinkRecord>,
        _context: &mut SinkTaskContext,
    ) -> ConnectResult<()> {
        let Some(output) = self.output.as_mut() else {
            return Err(ConnectError::new("FileStreamSinkTask has not been started"));
        };
        let writer = output.writer();
        for record in &records {
            write_value(
                writer,
                &mut self.line,
                &record.value,
                record.value_schema.as_ref(),
            )
            .map_err(|e| write_error(&self.target, e))?;
        }
        Ok(())
    }

    /// Strings are written from where they lie in the batch; other values as `put` does.
    fn put_batch(
        &mut self,
        batch: &RecordBatch,
        _context: &mut SinkTaskContext,
    ) -> ConnectResult<()> {
        let Some(output) = self.output.as_mut() else {
            return Err(ConnectError::new("FileStreamSinkTask has not been started"));
        };
        let writer = output.writer();
        for record in batch.iter() {
            let written = match record.value() {
                FieldRef::InPlace(ValueRef::String(s)) => writer
                    .write_all(s.as_bytes())
                    .and_then(|()| writer.write_all(b"\n")),
                other => {
                    let value = other.to_value().map_err(ConnectError::new)?;
                    write_value(writer, &mut self.line, &value, record.value_schema())
                }
            };
            written.map_err(|e| write_error(&self.target, e))?;
        }
        Ok(())
    }

    fn flush(&mut self, _offsets: &SinkOffsets) -> ConnectResult<()> {
        match self.output.as_mut() {
            Some(output) => output
                .writer()
                .flush()
                .map_err(|e| ConnectError::new(format!("Error flushing {}: {e}", self.target))),
            None => Ok(()),
        }
    }

    /// Flushes and closes the file (stdout is flushed, not closed).
    fn stop(&mut self) -> ConnectResult<()> {
        let Some(mut output) = self.output.take() else {
            return Ok(());
        };
        output
            .writer()
            .flush()
            .map_err(|e| ConnectError::new(format!("Error flushing {}: {e}", self.target)))
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use tributary_connector_api::{
        Headers, Schema, SchemaRef, Struct, TimestampType, TopicPartition, Value,
    };

    use super::*;

    fn props(file: &Path) -> Props {
        let mut props = Props::new();
        props.insert(FILE_CONFIG.into(), file.to_string_lossy().into_owned());
        props
    }

    fn record(value: Value, schema: Option<SchemaRef>) -> SinkRecord {
        SinkRecord {
            topic: "t".into(),
            kafka_partition: 0,
            kafka_offset: 0,
            key_schema: None,
            key: "ignored-key".into(),
            value_schema: schema,
            value,
            timestamp: Some(1),
            timestamp_type: TimestampType::CreateTime,
            headers: Headers::new(),
            original_topic: None,
        }
    }

    fn started(path: &Path) -> FileStreamSinkTask {
        let mut task = FileStreamSinkTask::default();
        task.start(&props(path), &mut SinkTaskContext::default())
            .unwrap();
        task
    }

    fn read(path: &Path) -> String {
        std::fs::read_to_string(path).unwrap()
    }

    #[test]
    fn appends_values_one_per_line_on_flush() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        let mut task = started(&path);
        let mut ctx = SinkTaskContext::default();
        task.put(
            vec![
                record("first".into(), Some(Schema::string())),
                record("second".into(), None),
            ],
            &mut ctx,
        )
        .unwrap();
        assert_eq!(read(&path), "", "buffered until flush");
        let offsets: SinkOffsets = [(TopicPartition::new("t", 0), 2)].into_iter().collect();
        task.flush(&offsets).unwrap();
        assert_eq!(read(&path), "first\nsecond\n");

        task.put(vec![record("third".into(), None)], &mut ctx)
            .unwrap();
        assert_eq!(task.pre_commit(&offsets).unwrap(), offsets);
        assert_eq!(read(&path), "first\nsecond\nthird\n");
        task.stop().unwrap();
        assert_eq!(ctx, SinkTaskContext::default(), "no requests to the worker");
    }

    #[test]
    fn put_batch_writes_what_put_writes() {
        use tributary_connector_api::abi::batch::RecordBatch;
        let dir = tempfile::tempdir().unwrap();
        let schema = Schema::struct_([("id", Schema::int64())]).into_ref();
        let mut s = Struct::new(schema.clone()).unwrap();
        s.put("id", Value::Int64(7)).unwrap();
        let records = vec![
            record("plain".into(), Some(Schema::string())),
            record("日本語 🚀".into(), None),
            record(Value::Null, None),
            record(Value::Struct(s), Some(schema)),
            record(Value::Int32(-3), None),
            record(Value::Bytes(vec![1, 2]), None),
        ];
        let (a, b) = (dir.path().join("a.txt"), dir.path().join("b.txt"));
        let mut ctx = SinkTaskContext::default();
        let mut by_put = started(&a);
        by_put.put(records.clone(), &mut ctx).unwrap();
        by_put.stop().unwrap();
        let mut by_batch = started(&b);
        let batch = RecordBatch::of_sink_records(&records).unwrap();
        by_batch.put_batch(&batch, &mut ctx).unwrap();
        by_batch.stop().unwrap();
        assert_eq!(read(&b), read(&a));
        assert!(read(&a).starts_with("plain\n日本語 🚀\n"), "{}", read(&a));
    }

    #[test]
    fn renders_non_string_values() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        let schema = Schema::struct_([
            ("id", Schema::int64()),
            ("note", Schema::optional_string()),
            ("ok", Schema::boolean()),
        ])
        .into_ref();
        let mut s = Struct::new(schema.clone()).unwrap();
        s.put("id", Value::Int64(7)).unwrap();
        s.put("ok", Value::Boolean(true)).unwrap();
        let mut task = started(&path);
        task.put(
            vec![
                record(Value::Null, None),
                record(Value::Int32(42), Some(Schema::int32())),
                record(Value::Float64(2.5), None),
                record(Value::Struct(s), Some(schema)),
                record(
                    Value::Map(vec![
                        ("a".into(), Value::Int32(1)),
                        ("b".into(), Value::Null),
                    ]),
                    None,
                ),
                record(Value::Array(vec!["x".into(), Value::Int8(2)]), None),
                record(Value::Bytes(vec![0, 1, 2]), None),
            ],
            &mut SinkTaskContext::default(),
        )
        .unwrap();
        task.stop().unwrap();
        assert_eq!(
            read(&path),
            "null\n42\n2.5\nStruct{id=7,ok=true}\n{a=1, b=null}\n[x, 2]\nAAEC\n"
        );
    }

    #[test]
    fn appends_to_existing_file_and_stop_flushes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        std::fs::write(&path, "already here\n").unwrap();
        let mut task = started(&path);
        task.put(
            vec![record("new".into(), None)],
            &mut SinkTaskContext::default(),
        )
        .unwrap();
        task.stop().unwrap();
        assert_eq!(read(&path), "already here\nnew\n");

        // A second task on the same file appends too.
        let mut again = started(&path);
        again
            .put(
                vec![record("more".into(), None)],
                &mut SinkTaskContext::default(),
            )
            .unwrap();
        again.stop().unwrap();
        assert_eq!(read(&path), "already here\nnew\nmore\n");
        assert!(again.put(vec![], &mut SinkTaskContext::default()).is_err());
    }

    #[test]
    fn open_failure_fails_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing-dir").join("out.txt");
        let err = FileStreamSinkTask::default()
            .start(&props(&path), &mut SinkTaskContext::default())
            .unwrap_err();
        assert!(err.message.contains("out.txt"), "{}", err.message);
    }

    #[test]
    fn task_configs_and_offsets() {
        let mut connector = FileStreamSinkConnector::default();
        assert!(connector.task_configs(2).is_err(), "not started");
        let props = props(Path::new("/tmp/out.txt"));
        connector.start(&props).unwrap();
        for max in [1, 3, 5] {
            let configs = connector.task_configs(max).unwrap();
            assert_eq!(configs.len(), max);
            assert!(configs.iter().all(|c| *c == props));
        }
        let offsets: SinkOffsets = [(TopicPartition::new("t", 0), 10)].into_iter().collect();
        assert_eq!(connector.alter_offsets(&props, &offsets), Ok(false));
        connector.stop().unwrap();

        let def = FileStreamSinkConnector::config_def();
        assert_eq!(def.keys.len(), 1);
        assert_eq!(def.keys[0].name, FILE_CONFIG);
        assert!(!def.keys[0].info().required);
        assert_eq!(def.keys[0].info().default_value, None);
    }
}
