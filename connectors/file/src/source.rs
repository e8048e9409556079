//! `FileStreamSourceConnector` and its task: tail one file (or stdin), one record per line.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender, TryRecvError};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tributary_connector_api::abi::batch::{OffsetRef, RecordBatchWriter, RecordRef, Scalar};
use tributary_connector_api::config::{Config, Default as ConfigDefault};
use tributary_connector_api::{
    ConfigDef, ConfigKey, ConfigType, ConnectError, ConnectResult, Connector, ExactlyOnceSupport,
    Headers, Importance, OffsetMap, Props, Schema, SchemaRef, SourceConnector, SourceRecord,
    SourceTask, SourceTaskContext, Validator, Value, ValueRef,
};

use crate::{BATCH_SIZE_CONFIG, FILENAME_FIELD, FILE_CONFIG, POSITION_FIELD, TOPIC_CONFIG};

/// How long an idle `poll` waits before returning an empty batch. Java waits 1 s; we wait less
/// because the worker only checks for pause/stop between two polls, and a short idle wait keeps
/// shutdown and rebalances prompt at no measurable cost.
const IDLE_WAIT: Duration = Duration::from_millis(200);

/// Size of the read buffer (and of each chunk read from stdin). The buffer only grows beyond
/// this to hold a single line that is longer, and shrinks back once that line is consumed.
const READ_CHUNK: usize = 64 * 1024;

/// Chunks of stdin queued ahead of the task (bounds memory when the task is not polling).
const STDIN_QUEUE: usize = 4;

/// Parses a source config, mapping a config error to a [`ConnectError`] naming the key.
fn parse_source_config(props: &Props) -> ConnectResult<Config> {
    FileStreamSourceConnector::config_def()
        .parse(props)
        .map_err(|e| ConnectError::new(e.message))
}

/// The configured file; `None` for stdin (null or empty `file`).
fn configured_file(props: &Props) -> Option<&str> {
    props
        .get(FILE_CONFIG)
        .map(String::as_str)
        .filter(|f| !f.is_empty())
}

fn partition_for(file: &str) -> OffsetMap {
    let mut partition = OffsetMap::new();
    partition.insert(FILENAME_FIELD.to_owned(), file.into());
    partition
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------------------------
// Connector

/// `org.apache.kafka.connect.file.FileStreamSourceConnector`: reads lines from a file (or
/// standard input) into one topic. Always runs exactly one task.
#[derive(Debug, Default)]
pub struct FileStreamSourceConnector {
    props: Option<Props>,
}

impl Connector for FileStreamSourceConnector {
    const CLASS: &'static str = "org.apache.kafka.connect.file.FileStreamSourceConnector";

    fn version() -> String {
        env!("CARGO_PKG_VERSION").to_owned()
    }

    fn config_def() -> ConfigDef {
        ConfigDef::new()
            .define(ConfigKey::new(
                FILE_CONFIG,
                ConfigType::String,
                ConfigDefault::Null,
                Importance::High,
                "Path of the file to tail. Leave unset (or empty) to read standard input instead.",
            ))
            .define(
                ConfigKey::new(
                    TOPIC_CONFIG,
                    ConfigType::String,
                    ConfigDefault::Required,
                    Importance::High,
                    "The topic every line is published to.",
                )
                .validator(Validator::NonEmptyString),
            )
            .define(
                ConfigKey::new(
                    BATCH_SIZE_CONFIG,
                    ConfigType::Int,
                    ConfigDefault::Value("2000".to_owned()),
                    Importance::Low,
                    "Upper bound on the number of records handed to the worker by one poll.",
                )
                .validator(Validator::AtLeast(1.0)),
            )
    }

    fn start(&mut self, props: &Props) -> ConnectResult<()> {
        parse_source_config(props)?;
        self.props = Some(props.clone());
        Ok(())
    }

    /// One task config, whatever `max_tasks` is: a file is read by a single task.
    fn task_configs(&mut self, _max_tasks: usize) -> ConnectResult<Vec<Props>> {
        match &self.props {
            Some(props) => Ok(vec![props.clone()]),
            None => Err(ConnectError::new(
                "FileStreamSourceConnector has not been started",
            )),
        }
    }

    fn stop(&mut self) -> ConnectResult<()> {
        Ok(())
    }
}

impl SourceConnector for FileStreamSourceConnector {
    type Task = FileStreamSourceTask;

    /// Supported when reading a file (its offsets allow an exact resume), not for stdin.
    fn exactly_once_support(&self, props: &Props) -> ExactlyOnceSupport {
        if configured_file(props).is_some() {
            ExactlyOnceSupport::Supported
        } else {
            ExactlyOnceSupport::Unsupported
        }
    }

    /// Validates offsets written through `PATCH /offsets`. The worker stores them (the
    /// connector keeps no offsets of its own), so valid offsets yield `Ok(false)`. Rejected:
    /// any alteration in stdin mode; an offset that is not null and has no non-negative integer
    /// `position`; for a non-null offset, a partition without `filename`. (As in Java, a
    /// tombstone is accepted for any partition.) Whether the position fits the file is only
    /// seen when the task starts.
    fn alter_offsets(
        &self,
        props: &Props,
        offsets: &[(OffsetMap, Option<OffsetMap>)],
    ) -> ConnectResult<bool> {
        if configured_file(props).is_none() {
            return Err(ConnectError::new(format!(
                "Offsets cannot be modified when '{FILE_CONFIG}' is not set: the connector then \
                 reads standard input, whose offsets are not tracked"
            )));
        }
        for (partition, offset) in offsets {
            let Some(offset) = offset else {
                continue;
            };
            let Some(position) = offset.get(POSITION_FIELD) else {
                return Err(ConnectError::new(format!(
                    "Offset objects must either be null or contain the key '{POSITION_FIELD}'"
                )));
            };
            match position.as_i64() {
                Some(p) if p >= 0 => {}
                Some(_) => {
                    return Err(ConnectError::new(format!(
                        "The value of '{POSITION_FIELD}' must be non-negative, got {position}"
                    )))
                }
                None => {
                    return Err(ConnectError::new(format!(
                        "The value of '{POSITION_FIELD}' must be an integer (long), got {position}"
                    )))
                }
            }
            if !partition.contains_key(FILENAME_FIELD) {
                return Err(ConnectError::new(format!(
                    "Partition objects must contain the key '{FILENAME_FIELD}'"
                )));
            }
        }
        Ok(false)
    }
}

// ---------------------------------------------------------------------------------------------
// Line buffer

/// Bytes read but not yet emitted, and the splitting of complete lines out of them.
///
/// `data` is fully initialised; `data[start..end]` holds the pending bytes. No line terminator
/// lies in `data[start..scan_from]`, so a long partial line is not rescanned on every read.
#[derive(Debug)]
struct LineBuffer {
    data: Vec<u8>,
    start: usize,
    end: usize,
    scan_from: usize,
}

impl Default for LineBuffer {
    fn default() -> LineBuffer {
        LineBuffer {
            data: vec![0; READ_CHUNK],
            start: 0,
            end: 0,
            scan_from: 0,
        }
    }
}

impl LineBuffer {
    /// Drops everything buffered.
    fn clear(&mut self) {
        self.start = 0;
        self.end = 0;
        self.scan_from = 0;
    }

    /// Takes the next complete line off the buffer: returns the line's byte range in `data`
    /// (terminator excluded) and the number of bytes consumed (terminator included).
    ///
    /// Terminators are `\n`, `\r\n` and a lone `\r`. A `\r` that is the last buffered byte is
    /// left in the buffer until the next byte tells whether it starts a `\r\n`.
    fn next_line(&mut self) -> Option<(usize, usize, usize)> {
        let from = self.scan_from.max(self.start);
        let Some(i) = memchr::memchr2(b'\n', b'\r', &self.data[from..self.end]) else {
            self.scan_from = self.end;
            return None;
        };
        let at = from + i;
        let next = if self.data[at] == b'\n' {
            at + 1
        } else if at + 1 >= self.end {
            self.scan_from = at;
            return None;
        } else if self.data[at + 1] == b'\n' {
            at + 2
        } else {
            at + 1
        };
        let line_start = self.start;
        self.start = next;
        self.scan_from = next;
        Some((line_start, at, next - line_start))
    }

    /// The free space to read into: moves pending bytes to the front, grows the buffer when a
    /// single partial line fills it, shrinks it back after a long line was consumed.
    fn spare(&mut self) -> &mut [u8] {
        if self.start > 0 {
            self.data.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.scan_from = self.scan_from.saturating_sub(self.start);
            self.start = 0;
        }
        if self.end == self.data.len() {
            let grown = self.data.len().saturating_mul(2).max(READ_CHUNK);
            self.data.resize(grown, 0);
        } else if self.data.len() > READ_CHUNK && self.end <= READ_CHUNK / 2 {
            self.data.truncate(READ_CHUNK);
            self.data.shrink_to_fit();
        }
        &mut self.data[self.end..]
    }

    /// Records that `n` bytes were written into [`LineBuffer::spare`].
    fn filled(&mut self, n: usize) {
        self.end = (self.end + n).min(self.data.len());
    }
}

// ---------------------------------------------------------------------------------------------
// Stdin

/// Chunks of standard input, read by a background thread.
type StdinChunks = Mutex<Receiver<Vec<u8>>>;

static STDIN: OnceLock<StdinChunks> = OnceLock::new();
static STDIN_INIT: Mutex<()> = Mutex::new(());

/// The process-wide stdin reader. Reading stdin blocks, so a background thread does it and
/// queues chunks; a poll then never blocks longer than its idle wait, and the worker can stop
/// the task at any time. There is one reader for the whole process (stdin is one stream), so a
/// restarted task picks up where the previous one stopped rather than racing a stale reader.
fn stdin_chunks() -> ConnectResult<&'static StdinChunks> {
    if let Some(chunks) = STDIN.get() {
        return Ok(chunks);
    }
    let _init = STDIN_INIT.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(chunks) = STDIN.get() {
        return Ok(chunks);
    }
    let (tx, rx) = sync_channel(STDIN_QUEUE);
    thread::Builder::new()
        .name("file-source-stdin".to_owned())
        .spawn(move || pump(io::stdin(), tx))
        .map_err(|e| ConnectError::new(format!("Cannot start the stdin reader thread: {e}")))?;
    Ok(STDIN.get_or_init(|| Mutex::new(rx)))
}

/// Copies `input` into `tx` in chunks until end of input, a read error, or a closed channel.
fn pump(mut input: impl Read, tx: SyncSender<Vec<u8>>) {
    let mut chunk = vec![0u8; READ_CHUNK];
    loop {
        match input.read(&mut chunk) {
            Ok(0) => return,
            Ok(n) => {
                if tx.send(chunk[..n].to_vec()).is_err() {
                    return;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

fn lock(chunks: &StdinChunks) -> MutexGuard<'_, Receiver<Vec<u8>>> {
    chunks.lock().unwrap_or_else(PoisonError::into_inner)
}

// ---------------------------------------------------------------------------------------------
// Task

/// Where the task reads from.
#[derive(Debug, Default)]
enum Input {
    /// Not started (or stopped).
    #[default]
    Idle,
    File {
        /// The file as configured (also the partition's `filename`).
        path: String,
        /// Shared by every record of the file.
        partition: Arc<OffsetMap>,
        /// `None` until the file exists.
        file: Option<File>,
        /// Where to seek once the file is opened: the committed position.
        resume_at: u64,
    },
    Stdin {
        chunks: &'static StdinChunks,
        /// The chunk being copied into the line buffer, and how much of it was copied.
        pending: Vec<u8>,
        pending_pos: usize,
    },
}

/// The task of [`FileStreamSourceConnector`].
///
/// Source partition `{"filename": <file as configured>}`, source offset `{"position": <long>}`:
/// the position just after the record's line terminator, so a restarted task resumes at the
/// next line.
///
/// **Divergence from Java:** the position counts *bytes* of the file. Java's task counts decoded
/// UTF-16 chars but resumes by skipping bytes, so with non-ASCII text it resumes at the wrong
/// place; here positions and resume agree. Offsets written by the Java connector for pure-ASCII
/// files are identical.
///
/// Lines are split on `\n`, `\r\n` and `\r`; a last line without a terminator is held back until
/// its terminator is written. Malformed UTF-8 is replaced by U+FFFD. In stdin mode records carry
/// no source partition or offset.
#[derive(Debug, Default)]
pub struct FileStreamSourceTask {
    topic: String,
    batch_size: usize,
    input: Input,
    buffer: LineBuffer,
    /// File position of the first buffered byte.
    position: u64,
    value_schema: Option<SchemaRef>,
}

impl SourceTask for FileStreamSourceTask {
    fn start(&mut self, props: &Props, context: &SourceTaskContext) -> ConnectResult<()> {
        self.start_with(props, context, stdin_chunks)
    }

    fn poll(&mut self) -> ConnectResult<Vec<SourceRecord>> {
        // Never preallocate `batch.size` slots: it may be huge.
        let mut records = Vec::with_capacity(self.batch_size.min(1024));
        let value_schema = self.value_schema.clone();
        self.read_lines(|topic, line, origin, timestamp| {
            records.push(SourceRecord {
                source_partition: origin.map(|(p, _)| p.clone()),
                source_offset: origin.map(|(_, position)| {
                    let mut offset = OffsetMap::new();
                    offset.insert(POSITION_FIELD.to_owned(), position.into());
                    offset
                }),
                topic: topic.to_owned(),
                kafka_partition: None,
                key_schema: None,
                key: Value::Null,
                value_schema: value_schema.clone(),
                value: Value::String(line.to_owned()),
                timestamp: Some(timestamp),
                headers: Headers::new(),
            });
            Ok(())
        })?;
        Ok(records)
    }

    fn poll_batch(&mut self, batch: &mut RecordBatchWriter) -> ConnectResult<()> {
        let value_schema = self.value_schema.clone();
        self.read_lines(|topic, line, origin, timestamp| {
            let position = origin.map(|(_, position)| [(POSITION_FIELD, Scalar::I64(position))]);
            batch.push(&RecordRef {
                source_partition: origin.map(|(p, _)| p),
                source_offset: position.as_ref().map(|p| OffsetRef::Entries(p)),
                value_schema: value_schema.as_ref(),
                value: ValueRef::String(line),
                timestamp: Some(timestamp),
                ..RecordRef::new(topic)
            })
        })
    }

    fn stop(&mut self) -> ConnectResult<()> {
        // Dropping the handle closes the file; the stdin reader is shared and keeps running.
        self.input = Input::Idle;
        self.buffer.clear();
        Ok(())
    }
}

impl FileStreamSourceTask {
    /// `start`, with the stdin source injectable for tests.
    fn start_with(
        &mut self,
        props: &Props,
        context: &SourceTaskContext,
        stdin: impl FnOnce() -> ConnectResult<&'static StdinChunks>,
    ) -> ConnectResult<()> {
        let config = parse_source_config(props)?;
        let topic = config.get_string(TOPIC_CONFIG).unwrap_or_default();
        let batch_size = config
            .get_i32(BATCH_SIZE_CONFIG)
            .and_then(|b| usize::try_from(b).ok())
            .filter(|b| *b >= 1)
            .ok_or_else(|| {
                ConnectError::new(format!(
                    "Invalid value for configuration {BATCH_SIZE_CONFIG}"
                ))
            })?;
        let input = match configured_file(props) {
            None => Input::Stdin {
                chunks: stdin()?,
                pending: Vec::new(),
                pending_pos: 0,
            },
            Some(path) => {
                let partition = partition_for(path);
                let resume_at = committed_position(path, context.offset(&partition))?;
                Input::File {
                    path: path.to_owned(),
                    partition: Arc::new(partition),
                    file: None,
                    resume_at,
                }
            }
        };
        self.topic = topic;
        self.batch_size = batch_size;
        self.input = input;
        self.buffer.clear();
        self.position = 0;
        self.value_schema = Some(Schema::string());
        // Open now if the file is there, so that unreadable files fail the start.
        self.ensure_open()?;
        Ok(())
    }

    /// Opens the file if not open yet and seeks to the committed position. Returns false while
    /// the file does not exist (the task keeps waiting for it); other errors are fatal.
    fn ensure_open(&mut self) -> ConnectResult<bool> {
        let Input::File {
            path,
            file,
            resume_at,
            ..
        } = &mut self.input
        else {
            return Ok(true);
        };
        if file.is_some() {
            return Ok(true);
        }
        let mut opened = match File::open(&*path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => {
                return Err(ConnectError::new(format!(
                    "Cannot open file '{path}' for reading: {e}"
                )))
            }
        };
        if *resume_at > 0 {
            // Seeking past the end is allowed: nothing is read until the file grows past it.
            opened.seek(SeekFrom::Start(*resume_at)).map_err(|e| {
                ConnectError::new(format!(
                    "Cannot seek file '{path}' to position {resume_at}: {e}"
                ))
            })?;
        }
        self.position = *resume_at;
        *file = Some(opened);
        Ok(true)
    }

    /// Reads whatever is available into the buffer, without blocking; 0 when nothing is.
    fn read_some(&mut self) -> ConnectResult<usize> {
        let buffer = &mut self.buffer;
        match &mut self.input {
            Input::Idle => Ok(0),
            Input::File { path, file, .. } => {
                let Some(file) = file else {
                    return Ok(0);
                };
                loop {
                    match file.read(buffer.spare()) {
                        Ok(n) => {
                            buffer.filled(n);
                            return Ok(n);
                        }
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => {
                            return Err(ConnectError::new(format!(
                                "Error reading file '{path}': {e}"
                            )))
                        }
                    }
                }
            }
            Input::Stdin {
                chunks,
                pending,
                pending_pos,
            } => {
                if *pending_pos >= pending.len() {
                    match lock(chunks).try_recv() {
                        Ok(chunk) => {
                            *pending = chunk;
                            *pending_pos = 0;
                        }
                        Err(TryRecvError::Empty | TryRecvError::Disconnected) => return Ok(0),
                    }
                }
                let src = &pending[*pending_pos..];
                let dst = buffer.spare();
                let n = src.len().min(dst.len());
                dst[..n].copy_from_slice(&src[..n]);
                buffer.filled(n);
                *pending_pos += n;
                Ok(n)
            }
        }
    }

    /// Waits a little when nothing was available. For stdin, returns early when input arrives.
    fn idle_wait(&mut self) {
        match &mut self.input {
            Input::Stdin {
                chunks,
                pending,
                pending_pos,
            } if *pending_pos >= pending.len() => {
                let received = lock(chunks).recv_timeout(IDLE_WAIT);
                match received {
                    Ok(chunk) => {
                        *pending = chunk;
                        *pending_pos = 0;
                    }
                    Err(RecvTimeoutError::Timeout) => {}
                    // Stdin is closed: nothing will ever come, just pace the polls.
                    Err(RecvTimeoutError::Disconnected) => thread::sleep(IDLE_WAIT),
                }
            }
            _ => thread::sleep(IDLE_WAIT),
        }
    }

    /// Reads up to `batch.size` complete lines, handing each to `emit` with the task's topic,
    /// the source partition and the position after the line (none for stdin), and the time
    /// of the read; waits a little when there is nothing to read.
    fn read_lines(
        &mut self,
        mut emit: impl FnMut(&str, &str, Option<(&Arc<OffsetMap>, i64)>, i64) -> ConnectResult<()>,
    ) -> ConnectResult<()> {
        if let Input::Idle = self.input {
            return Err(ConnectError::new(
                "FileStreamSourceTask has not been started",
            ));
        }
        if !self.ensure_open()? {
            thread::sleep(IDLE_WAIT);
            return Ok(());
        }
        let mut taken = self.take_lines(&mut emit, 0, now_ms())?;
        let mut read_any = false;
        while taken < self.batch_size {
            if self.read_some()? == 0 {
                break;
            }
            read_any = true;
            taken = self.take_lines(&mut emit, taken, now_ms())?;
        }
        if taken == 0 && !read_any {
            self.idle_wait();
        }
        Ok(())
    }

    /// Hands complete buffered lines to `emit` until `taken` reaches the batch size; returns
    /// the new `taken`.
    fn take_lines(
        &mut self,
        emit: &mut impl FnMut(&str, &str, Option<(&Arc<OffsetMap>, i64)>, i64) -> ConnectResult<()>,
        mut taken: usize,
        timestamp: i64,
    ) -> ConnectResult<usize> {
        while taken < self.batch_size {
            let Some((from, to, consumed)) = self.buffer.next_line() else {
                break;
            };
            self.position += consumed as u64;
            let line = String::from_utf8_lossy(&self.buffer.data[from..to]);
            let origin = match &self.input {
                Input::File { partition, .. } => {
                    Some((partition, i64::try_from(self.position).unwrap_or(i64::MAX)))
                }
                _ => None,
            };
            emit(&self.topic, &line, origin, timestamp)?;
            taken += 1;
        }
        Ok(taken)
    }
}

/// The committed position of `path`: 0 without a committed offset or position; an error when the
/// position is not a non-negative integer.
fn committed_position(path: &str, offset: Option<&OffsetMap>) -> ConnectResult<u64> {
    let Some(position) = offset.and_then(|o| o.get(POSITION_FIELD)) else {
        return Ok(0);
    };
    if position.is_null() {
        return Ok(0);
    }
    match position.as_i64() {
        Some(p) => u64::try_from(p).map_err(|_| {
            ConnectError::new(format!("Offset position {p} for file '{path}' is negative"))
        }),
        None => Err(ConnectError::new(format!(
            "Offset position for file '{path}' is the incorrect type: expected an integer \
             (long), got {position}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::path::Path;

    use super::*;

    fn props(file: Option<&Path>, batch_size: Option<&str>) -> Props {
        let mut props = Props::new();
        props.insert(TOPIC_CONFIG.into(), "lines".into());
        if let Some(f) = file {
            props.insert(FILE_CONFIG.into(), f.to_string_lossy().into_owned());
        }
        if let Some(b) = batch_size {
            props.insert(BATCH_SIZE_CONFIG.into(), b.into());
        }
        props
    }

    fn started(props: &Props, context: &SourceTaskContext) -> FileStreamSourceTask {
        let mut task = FileStreamSourceTask::default();
        task.start(props, context).unwrap();
        task
    }

    fn values(records: &[SourceRecord]) -> Vec<&str> {
        records.iter().map(|r| r.value.as_str().unwrap()).collect()
    }

    fn positions(records: &[SourceRecord]) -> Vec<i64> {
        records
            .iter()
            .map(|r| {
                r.source_offset.as_ref().unwrap()[POSITION_FIELD]
                    .as_i64()
                    .unwrap()
            })
            .collect()
    }

    fn append(path: &Path, bytes: &[u8]) {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        f.write_all(bytes).unwrap();
    }

    fn context_with(path: &Path, position: serde_json::Value) -> SourceTaskContext {
        let partition = partition_for(&path.to_string_lossy());
        let mut offset = OffsetMap::new();
        offset.insert(POSITION_FIELD.into(), position);
        SourceTaskContext::new(vec![(partition, offset)])
    }

    #[test]
    fn reads_lines_with_all_terminators_and_record_shape() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.txt");
        append(&path, b"unix\nwindows\r\nmac\rlast\n");
        let props = props(Some(&path), None);
        let mut task = started(&props, &SourceTaskContext::default());
        let records = task.poll().unwrap();
        assert_eq!(values(&records), ["unix", "windows", "mac", "last"]);
        assert_eq!(positions(&records), [5, 14, 18, 23]);
        let file = path.to_string_lossy().into_owned();
        for r in &records {
            assert_eq!(r.topic, "lines");
            assert_eq!(r.kafka_partition, None);
            assert_eq!(r.key, Value::Null);
            assert!(r.key_schema.is_none());
            assert_eq!(r.value_schema, Some(Schema::string()));
            assert!(!r.value_schema.as_ref().unwrap().optional);
            assert!(r.timestamp.unwrap() > 1_600_000_000_000);
            assert_eq!(
                r.source_partition.as_ref().unwrap()[FILENAME_FIELD],
                file.as_str()
            );
        }
        task.stop().unwrap();
    }

    #[test]
    fn poll_batch_writes_the_records_poll_returns() {
        use tributary_connector_api::abi::batch::{RecordBatch, RecordBatchWriter};
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.txt"), dir.path().join("b.txt"));
        let text = b"one\ncaf\xc3\xa9\n\xff bad utf-8\nthree\nfour\n";
        append(&a, text);
        append(&b, text);
        let context = SourceTaskContext::default();
        let (mut by_poll, mut by_batch) = (
            started(&props(Some(&a), Some("3")), &context),
            started(&props(Some(&b), Some("3")), &context),
        );
        for expected in [3, 2] {
            let polled = by_poll.poll().unwrap();
            assert_eq!(polled.len(), expected);
            let mut writer = RecordBatchWriter::default();
            by_batch.poll_batch(&mut writer).unwrap();
            let batch = RecordBatch::parse(writer.finish(0, false)).unwrap();
            let mut written: Vec<SourceRecord> = batch
                .iter()
                .map(|r| r.to_source_record().unwrap())
                .collect();
            assert_eq!(written.len(), polled.len());
            // Same records but for the file name (and the read time).
            for (w, p) in written.iter_mut().zip(&polled) {
                w.source_partition.clone_from(&p.source_partition);
                w.timestamp = p.timestamp;
            }
            assert_eq!(written, polled);
        }
    }

    #[test]
    fn holds_back_trailing_cr_and_unterminated_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.txt");
        append(&path, b"a\r");
        let mut task = started(&props(Some(&path), None), &SourceTaskContext::default());
        assert!(
            task.poll().unwrap().is_empty(),
            "a trailing \\r is held back"
        );

        // The \r turns out to start a \r\n: one line, ending after both bytes.
        append(&path, b"\nb\r");
        let records = task.poll().unwrap();
        assert_eq!(values(&records), ["a"]);
        assert_eq!(positions(&records), [3]);

        // The next byte is not \n: the held \r was a line terminator on its own.
        append(&path, b"c");
        let records = task.poll().unwrap();
        assert_eq!(values(&records), ["b"]);
        assert_eq!(positions(&records), [5]);

        // "c" has no terminator yet: not emitted, however often we poll.
        append(&path, b"cc");
        assert!(task.poll().unwrap().is_empty());
        assert!(task.poll().unwrap().is_empty());
        append(&path, b"\n");
        let records = task.poll().unwrap();
        assert_eq!(values(&records), ["ccc"]);
        assert_eq!(positions(&records), [9]);
    }

    #[test]
    fn respects_batch_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.txt");
        let text: String = (0..7).map(|i| format!("line{i}\n")).collect();
        append(&path, text.as_bytes());
        let mut task = started(
            &props(Some(&path), Some("3")),
            &SourceTaskContext::default(),
        );
        assert_eq!(values(&task.poll().unwrap()), ["line0", "line1", "line2"]);
        assert_eq!(values(&task.poll().unwrap()), ["line3", "line4", "line5"]);
        let last = task.poll().unwrap();
        assert_eq!(values(&last), ["line6"]);
        assert_eq!(positions(&last), [42]);
        assert!(task.poll().unwrap().is_empty());
    }

    #[test]
    fn resumes_from_committed_position() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.txt");
        append(&path, b"one\ntwo\nthree\n");
        let mut first = started(&props(Some(&path), None), &SourceTaskContext::default());
        let records = first.poll().unwrap();
        assert_eq!(values(&records), ["one", "two", "three"]);
        first.stop().unwrap();

        // Committed after "one": the restarted task emits only the later lines.
        let context = context_with(&path, serde_json::json!(4));
        let mut task = started(&props(Some(&path), None), &context);
        let records = task.poll().unwrap();
        assert_eq!(values(&records), ["two", "three"]);
        assert_eq!(positions(&records), [8, 14]);

        append(&path, b"four\n");
        let records = task.poll().unwrap();
        assert_eq!(values(&records), ["four"]);
        assert_eq!(positions(&records), [19]);
    }

    #[test]
    fn offsets_for_another_file_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.txt");
        append(&path, b"one\ntwo\n");
        let context = context_with(&dir.path().join("other.txt"), serde_json::json!(4));
        let mut task = started(&props(Some(&path), None), &context);
        assert_eq!(values(&task.poll().unwrap()), ["one", "two"]);
    }

    #[test]
    fn positions_count_bytes_of_multibyte_utf8() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.txt");
        // "héllo" is 6 bytes, "日本" 6 bytes, "🦀" 4 bytes.
        append(&path, "héllo\n日本\r\n🦀\n".as_bytes());
        let mut task = started(&props(Some(&path), None), &SourceTaskContext::default());
        let records = task.poll().unwrap();
        assert_eq!(values(&records), ["héllo", "日本", "🦀"]);
        assert_eq!(positions(&records), [7, 15, 20]);

        // Resuming at a byte position lands exactly on the next line.
        let context = context_with(&path, serde_json::json!(7));
        let mut task = started(&props(Some(&path), None), &context);
        assert_eq!(values(&task.poll().unwrap()), ["日本", "🦀"]);
    }

    #[test]
    fn malformed_utf8_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.txt");
        append(&path, b"ok\xff\xfeend\n");
        let mut task = started(&props(Some(&path), None), &SourceTaskContext::default());
        let records = task.poll().unwrap();
        assert_eq!(values(&records), ["ok\u{FFFD}\u{FFFD}end"]);
        assert_eq!(positions(&records), [8]);
    }

    #[test]
    fn waits_for_missing_file_then_reads_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("later.txt");
        let mut task = started(&props(Some(&path), None), &SourceTaskContext::default());
        let begin = std::time::Instant::now();
        assert!(task.poll().unwrap().is_empty());
        assert!(task.poll().unwrap().is_empty());
        assert!(
            begin.elapsed() >= IDLE_WAIT,
            "idle polls wait before returning"
        );
        append(&path, b"finally\n");
        assert_eq!(values(&task.poll().unwrap()), ["finally"]);
    }

    #[test]
    fn lines_longer_than_the_buffer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.txt");
        let long = "x".repeat(READ_CHUNK * 3 + 17);
        append(&path, format!("{long}\nshort\n{long}").as_bytes());
        let mut task = started(&props(Some(&path), None), &SourceTaskContext::default());
        let records = task.poll().unwrap();
        assert_eq!(values(&records), [long.as_str(), "short"]);
        let first = (long.len() + 1) as i64;
        assert_eq!(positions(&records), [first, first + 6]);
        append(&path, b"\r\n");
        let records = task.poll().unwrap();
        assert_eq!(values(&records), [long.as_str()]);
        assert_eq!(positions(&records), [first + 6 + long.len() as i64 + 2]);
        assert!(task.buffer.data.len() <= READ_CHUNK * 8);
    }

    #[test]
    fn many_lines_across_reads_keep_exact_positions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.txt");
        let mut text = String::new();
        for i in 0..50_000 {
            text.push_str(&format!("record-{i}"));
            text.push_str(["\n", "\r\n", "\r"][i % 3]);
        }
        // Record 49999 ends with \r\n, so nothing is held back at the end.
        assert!(text.ends_with("\r\n"));
        append(&path, text.as_bytes());
        let mut task = started(&props(Some(&path), None), &SourceTaskContext::default());
        let mut all = Vec::new();
        loop {
            let batch = task.poll().unwrap();
            if batch.is_empty() {
                break;
            }
            assert!(batch.len() <= 2000);
            all.extend(batch);
        }
        assert_eq!(all.len(), 50_000);
        assert_eq!(all[49_999].value.as_str(), Some("record-49999"));
        assert_eq!(positions(&all)[49_999], text.len() as i64);
        for (i, r) in all.iter().enumerate() {
            assert_eq!(r.value.as_str(), Some(format!("record-{i}").as_str()));
        }
    }

    #[test]
    fn non_integer_position_fails_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.txt");
        append(&path, b"x\n");
        for bad in [
            serde_json::json!("12"),
            serde_json::json!(1.5),
            serde_json::json!(-3),
        ] {
            let context = context_with(&path, bad.clone());
            let err = FileStreamSourceTask::default()
                .start(&props(Some(&path), None), &context)
                .unwrap_err();
            assert!(!err.is_retriable());
            assert!(err.message.contains("position"), "{bad}: {}", err.message);
        }
        // A null position means "from the start".
        let context = context_with(&path, serde_json::Value::Null);
        let mut task = started(&props(Some(&path), None), &context);
        assert_eq!(values(&task.poll().unwrap()), ["x"]);
    }

    #[test]
    fn unreadable_file_fails_start() {
        let dir = tempfile::tempdir().unwrap();
        // A path under a regular file: opening fails with something other than NotFound.
        let blocker = dir.path().join("blocker");
        append(&blocker, b"");
        let path = blocker.join("in.txt");
        let err = FileStreamSourceTask::default()
            .start(&props(Some(&path), None), &SourceTaskContext::default())
            .unwrap_err();
        assert!(err.message.contains("in.txt"), "{}", err.message);
    }

    #[test]
    fn config_errors_name_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.txt");
        let mut missing_topic = props(Some(&path), None);
        missing_topic.remove(TOPIC_CONFIG);
        let mut empty_topic = props(Some(&path), None);
        empty_topic.insert(TOPIC_CONFIG.into(), String::new());
        for (props, key) in [
            (missing_topic, TOPIC_CONFIG),
            (empty_topic, TOPIC_CONFIG),
            (props(Some(&path), Some("0")), BATCH_SIZE_CONFIG),
            (props(Some(&path), Some("lots")), BATCH_SIZE_CONFIG),
        ] {
            let err = FileStreamSourceConnector::default()
                .start(&props)
                .unwrap_err();
            assert!(err.message.contains(key), "{}", err.message);
            let err = FileStreamSourceTask::default()
                .start(&props, &SourceTaskContext::default())
                .unwrap_err();
            assert!(err.message.contains(key), "{}", err.message);
        }
    }

    #[test]
    fn config_def_declares_the_keys() {
        let def = FileStreamSourceConnector::config_def();
        let names: Vec<&str> = def.keys.iter().map(|k| k.name.as_str()).collect();
        assert_eq!(names, [FILE_CONFIG, TOPIC_CONFIG, BATCH_SIZE_CONFIG]);
        let infos = def.infos();
        assert_eq!(infos[0].default_value, None);
        assert!(!infos[0].required);
        assert!(infos[1].required);
        assert_eq!(infos[2].default_value.as_deref(), Some("2000"));
        assert_eq!(infos[2].importance, Importance::Low);
    }

    #[test]
    fn one_task_config_whatever_max_tasks() {
        let mut connector = FileStreamSourceConnector::default();
        assert!(connector.task_configs(1).is_err(), "not started");
        let props = props(Some(Path::new("/tmp/x.txt")), None);
        connector.start(&props).unwrap();
        for max in [1, 3, 10] {
            assert_eq!(connector.task_configs(max).unwrap(), vec![props.clone()]);
        }
        connector.stop().unwrap();
    }

    #[test]
    fn exactly_once_only_for_files() {
        let connector = FileStreamSourceConnector::default();
        let file = props(Some(Path::new("/tmp/x.txt")), None);
        assert_eq!(
            connector.exactly_once_support(&file),
            ExactlyOnceSupport::Supported
        );
        let mut empty = file.clone();
        empty.insert(FILE_CONFIG.into(), String::new());
        assert_eq!(
            connector.exactly_once_support(&empty),
            ExactlyOnceSupport::Unsupported
        );
        assert_eq!(
            connector.exactly_once_support(&props(None, None)),
            ExactlyOnceSupport::Unsupported
        );
    }

    #[test]
    fn alter_offsets_validation() {
        let connector = FileStreamSourceConnector::default();
        let file = props(Some(Path::new("/tmp/x.txt")), None);
        let partition = partition_for("/tmp/x.txt");
        let offset = |v: serde_json::Value| {
            let mut o = OffsetMap::new();
            o.insert(POSITION_FIELD.into(), v);
            Some(o)
        };

        let ok = vec![
            (partition.clone(), offset(serde_json::json!(0))),
            (partition_for("/old.txt"), offset(serde_json::json!(1234))),
            (partition.clone(), None),
            (OffsetMap::new(), None),
        ];
        assert_eq!(connector.alter_offsets(&file, &ok), Ok(false));

        let err = connector
            .alter_offsets(&props(None, None), &[(partition.clone(), None)])
            .unwrap_err();
        assert!(err.message.contains("standard input"), "{}", err.message);

        for (bad, needle) in [
            (
                (partition.clone(), offset(serde_json::json!(-1))),
                "non-negative",
            ),
            (
                (partition.clone(), offset(serde_json::json!("5"))),
                "integer",
            ),
            (
                (partition.clone(), offset(serde_json::json!(2.5))),
                "integer",
            ),
            ((partition.clone(), Some(OffsetMap::new())), POSITION_FIELD),
            (
                (OffsetMap::new(), offset(serde_json::json!(3))),
                FILENAME_FIELD,
            ),
        ] {
            let err = connector.alter_offsets(&file, &[bad]).unwrap_err();
            assert!(err.message.contains(needle), "{}", err.message);
        }
    }

    #[test]
    fn stdin_mode_has_no_offsets() {
        let (tx, rx) = sync_channel(STDIN_QUEUE);
        let chunks: &'static StdinChunks = Box::leak(Box::new(Mutex::new(rx)));
        let mut task = FileStreamSourceTask::default();
        task.start_with(&props(None, None), &SourceTaskContext::default(), || {
            Ok(chunks)
        })
        .unwrap();
        assert!(task.poll().unwrap().is_empty());

        tx.send(b"from stdin\nsec".to_vec()).unwrap();
        tx.send(b"ond\r\npartial".to_vec()).unwrap();
        let records = task.poll().unwrap();
        assert_eq!(values(&records), ["from stdin", "second"]);
        for r in &records {
            assert_eq!(r.source_partition, None);
            assert_eq!(r.source_offset, None);
            assert_eq!(r.topic, "lines");
        }
        drop(tx);
        assert!(task.poll().unwrap().is_empty(), "partial line held back");
        task.stop().unwrap();
    }

    #[test]
    fn pump_copies_all_input() {
        let (tx, rx) = sync_channel(STDIN_QUEUE);
        let input = vec![7u8; READ_CHUNK * 2 + 5];
        let expected = input.clone();
        let reader = thread::spawn(move || pump(io::Cursor::new(input), tx));
        let mut got = Vec::new();
        while let Ok(chunk) = rx.recv() {
            got.extend(chunk);
        }
        reader.join().unwrap();
        assert_eq!(got, expected);
    }
}
