//! Transformation errors (defined in the connector API, so plugins share them).

pub use tributary_connector_api::transform::TransformError;
