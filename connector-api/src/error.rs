//! Error types of the connector API.

use thiserror::Error;

/// A value does not fit its schema, or a schema is malformed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{message}")]
pub struct DataError {
    pub message: String,
}

impl DataError {
    pub fn new(message: impl Into<String>) -> DataError {
        DataError {
            message: message.into(),
        }
    }
}

/// Whether the framework may retry the failed operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ErrorKind {
    /// The operation may succeed if tried again (Java `RetriableException`).
    Retriable,
    /// The task cannot go on (Java `ConnectException`).
    Fatal,
}

/// An error raised by a connector or task.
#[derive(Debug, Clone, PartialEq, Eq, Error, serde::Serialize, serde::Deserialize)]
#[error("{message}")]
pub struct ConnectError {
    pub kind: ErrorKind,
    pub message: String,
}

impl ConnectError {
    /// A fatal error: the task fails with this message as its trace.
    pub fn new(message: impl Into<String>) -> ConnectError {
        ConnectError {
            kind: ErrorKind::Fatal,
            message: message.into(),
        }
    }

    /// A retriable error: the framework retries the call.
    pub fn retriable(message: impl Into<String>) -> ConnectError {
        ConnectError {
            kind: ErrorKind::Retriable,
            message: message.into(),
        }
    }

    pub fn is_retriable(&self) -> bool {
        self.kind == ErrorKind::Retriable
    }
}

impl From<DataError> for ConnectError {
    fn from(e: DataError) -> ConnectError {
        ConnectError::new(e.message)
    }
}

impl From<std::io::Error> for ConnectError {
    fn from(e: std::io::Error) -> ConnectError {
        ConnectError::new(e.to_string())
    }
}

/// Result of connector and task calls.
pub type ConnectResult<T> = Result<T, ConnectError>;
