//! Config, offset and status storage. Standalone mode keeps offsets in a local file and
//! status in memory; distributed mode will add Kafka-backed stores behind the same traits.

pub mod internal_records;
pub mod kafka_log;
pub mod offsets_file;
pub mod status;

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
    /// Every committed `(partition, offset)` of a connector.
    fn offsets(&self, connector: &str) -> Vec<(OffsetMap, OffsetMap)>;
    /// Writes offsets durably before returning.
    fn put(
        &self,
        connector: &str,
        entries: &[(OffsetMap, Option<OffsetMap>)],
    ) -> Result<(), StorageError>;
}
