//! The record a transformation sees (defined in the connector API, so plugins share it).

pub use tributary_connector_api::transform::{ConnectRecord, Side};
