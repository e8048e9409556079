//! Transformation errors.

use thiserror::Error;
use tributary_connector_api::DataError;

/// A transformation could not handle a record (Java's `DataException`), or hit a failure
/// worth retrying (Java's `RetriableException`).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{message}")]
pub struct TransformError {
    pub message: String,
    /// The framework may retry the same record (`errors.retry.timeout`). A transformation that
    /// returns a retriable error must leave the record as it found it.
    pub retriable: bool,
}

impl TransformError {
    /// A data error: the record cannot be transformed.
    pub fn new(message: impl Into<String>) -> TransformError {
        TransformError {
            message: message.into(),
            retriable: false,
        }
    }
}

impl From<DataError> for TransformError {
    fn from(e: DataError) -> TransformError {
        TransformError::new(e.message)
    }
}
