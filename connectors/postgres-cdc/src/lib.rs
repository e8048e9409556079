//! PostgreSQL change data capture for Tributary, compatible with Debezium's PostgreSQL
//! connector (`io.debezium.connector.postgresql.PostgresConnector`, `plugin.name=pgoutput`):
//! the same topics, keys, envelopes and offsets (`../shared/spec/connectors.md` §9,
//! `cdc-extras.md`).
//!
//! The layers, bottom up: [`config`] and [`filters`] read the connector's properties;
//! [`pg_types`] maps column types and their text to Connect schemas and values; [`catalog`]
//! is the SQL side channel (keys, nullability, types, publication, slot); [`schemas`] and
//! [`tuples`] shape a table's rows; [`records`] builds Debezium's records; [`offsets`] writes
//! and reads positions; [`capture`] runs slot, snapshot and stream; [`connector`] is the
//! connector and task the worker calls.

/// A line for the worker's log: plugins have no logger of the worker's, and the worker takes
/// in what they write to standard error. `note!(level, key = value, …, "text")`.
macro_rules! note {
    ($level:ident, $($rest:tt)*) => {
        $crate::note_line(stringify!($level), &note!(@fmt $($rest)*))
    };
    (@fmt $msg:literal) => { format!($msg) };
    (@fmt $msg:literal, $($arg:tt)*) => { format!($msg, $($arg)*) };
    (@fmt $key:ident = %$value:expr, $($rest:tt)*) => {
        format!("{} {}={}", note!(@fmt $($rest)*), stringify!($key), $value)
    };
    (@fmt $key:ident = ?$value:expr, $($rest:tt)*) => {
        format!("{} {}={:?}", note!(@fmt $($rest)*), stringify!($key), $value)
    };
    (@fmt $key:ident = $value:expr, $($rest:tt)*) => {
        format!("{} {}={:?}", note!(@fmt $($rest)*), stringify!($key), $value)
    };
}

pub(crate) fn note_line(level: &str, text: &str) {
    if level != "debug" {
        eprintln!("postgres-cdc {}: {text}", level.to_uppercase());
    }
}

pub use tributary_connector_api::config::ConfigError;

pub mod capture;
pub mod catalog;
pub mod config;
pub mod connector;
pub mod filters;
pub mod incremental;
pub mod offsets;
pub mod pg_types;
pub mod records;
pub mod schemas;
pub mod snapshot;
pub mod tuples;

pub use connector::{PostgresConnector, PostgresTask};

tributary_connector_api::export_plugin!(sources: [PostgresConnector], sinks: []);
