//! Tributary: a Kafka Connect compatible integration worker.
//!
//! Layers: [`herder`] (connector lifecycle), [`runtime`] (task loops), [`storage`]
//! (offsets and status), [`rest`] (the Kafka Connect REST API), [`converters`],
//! [`plugins`] (the plugin loader) and [`config`].

pub mod config;
pub mod converters;
pub mod coordination;
pub mod distributed;
pub mod herder;
pub mod logging;
pub mod metrics;
pub mod model;
pub mod plugins;
pub mod process;
pub mod rest;
pub mod runtime;
pub mod standalone;
pub mod storage;
#[cfg(test)]
mod test_pki;
pub mod worker;
