//! Kafka Connect's JDBC connectors (Confluent's `io.confluent.connect.jdbc`), for Tributary:
//! PostgreSQL, MySQL/MariaDB and SQLite through sqlx (`../shared/spec/connectors.md` §4–§5).
//!
//! This first part is the layer under the database work: [`url`] turns a JDBC
//! `connection.url` and the credentials into the database, its dialect and a sqlx URL;
//! [`source_config`] reads and checks a JDBC source connector's config, every error naming its
//! key; [`offsets`] writes and reads Confluent's source partitions and offsets; [`task_split`]
//! spreads tables over tasks.

pub mod column_mapping;
pub mod config_keys;
pub mod db;
pub mod dialect;
pub mod offsets;
pub mod query;
pub mod row_reader;
pub mod row_stream;
pub mod sink;
pub mod sink_config;
pub mod sink_params;
pub mod sink_schemaless;
pub mod sink_sql;
pub mod sink_writer;
pub mod source;
pub mod source_config;
pub mod table_monitor;
pub mod task_split;
pub mod url;
pub mod zone;

pub use tributary_connector_api::config::ConfigError;

pub use sink::{JdbcSinkConnector, JdbcSinkTask};
pub use source::{JdbcSourceConnector, JdbcSourceTask};

tributary_connector_api::export_plugin!(sources: [JdbcSourceConnector], sinks: [JdbcSinkConnector]);
