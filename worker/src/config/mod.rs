//! Configuration: Java `.properties` files, the worker config, and the framework part of
//! every connector config.

pub mod client_names;
pub mod client_security;
pub mod connector;
pub mod distributed;
pub mod error;
pub mod jaas;
pub mod override_policy;
pub mod properties;
pub mod providers;
pub mod rest_server;
pub mod values;
pub mod worker;

pub use properties::load_properties;
pub use worker::WorkerConfig;
