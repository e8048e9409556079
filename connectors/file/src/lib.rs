//! The FileStream example connectors of Kafka Connect, for Tributary.
//!
//! * [`FileStreamSourceConnector`] / [`FileStreamSourceTask`] tail one file (or standard input)
//!   and emit each line as a string record, tracking the byte position in the file as the
//!   source offset.
//! * [`FileStreamSinkConnector`] / [`FileStreamSinkTask`] append each record's value, rendered
//!   like Java's `String.valueOf`, as one line of a file (or standard output).
//!
//! Config keys, offsets and behaviour follow Kafka's `connect/file` module; the few places
//! where this implementation deliberately differs are documented on the items concerned.

mod sink;
mod source;

pub use sink::{FileStreamSinkConnector, FileStreamSinkTask};
pub use source::{FileStreamSourceConnector, FileStreamSourceTask};

/// `file`: the file to read (source) or append to (sink); null/empty means stdin/stdout.
pub const FILE_CONFIG: &str = "file";
/// `topic`: the source connector's destination topic.
pub const TOPIC_CONFIG: &str = "topic";
/// `batch.size`: the most records one source `poll` returns.
pub const BATCH_SIZE_CONFIG: &str = "batch.size";
/// The key of the source partition map: the file name as configured.
pub const FILENAME_FIELD: &str = "filename";
/// The key of the source offset map: the byte position just after the record's line.
pub const POSITION_FIELD: &str = "position";

tributary_connector_api::export_plugin!(
    sources: [FileStreamSourceConnector],
    sinks: [FileStreamSinkConnector]
);
