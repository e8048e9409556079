//! Config, offset and status storage. Standalone mode keeps offsets in a local file and
//! status in memory; distributed mode keeps all three in Kafka topics (connect-compat §2).

pub mod aborted;
pub mod config_topic;
pub mod connector_offsets;
pub mod internal_records;
pub mod kafka_log;
pub mod log_tail;
pub mod offsets_file;
pub mod offsets_topic;
pub mod status;
pub mod topic_status;
pub mod transactions;

use tributary_connector_api::OffsetMap;

pub use offsets_file::FileOffsetStore;
pub use status::StatusStore;

/// A storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("offset storage {path}: {message}")]
    Io { path: String, message: String },
}

/// Source offsets per connector: `(partition, offset)` pairs; a `None` offset deletes.
pub trait OffsetStore: Send + Sync {
    /// Every committed `(partition, offset)` of a connector; an error when the store cannot
    /// say (then a task must not start from what it may have missed).
    fn offsets(&self, connector: &str) -> Result<Vec<(OffsetMap, OffsetMap)>, StorageError>;
    /// Writes offsets durably before returning.
    fn put(
        &self,
        connector: &str,
        entries: &[(OffsetMap, Option<OffsetMap>)],
    ) -> Result<(), StorageError>;
}
