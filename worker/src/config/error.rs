//! The error every part of the worker config reports.

/// An invalid worker config; names the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid worker config {key}: {message}")]
pub struct WorkerConfigError {
    pub key: String,
    pub message: String,
}
