//! The Tributary connector API: the Kafka Connect data model (schemas, values, records,
//! headers), connector and task traits, config definitions, and the plugin ABI.
//!
//! A connector crate is a plain implementation of [`SourceConnector`] / [`SinkConnector`]
//! plus one line:
//!
//! ```ignore
//! tributary_connector_api::export_plugin!(sources: [MySource], sinks: [MySink]);
//! ```

pub mod abi;
pub mod alias;
pub mod component;
pub mod config;
pub mod connector;
pub mod converter;
pub mod error;
pub mod java_text;
pub mod logical;
pub mod nesting;
pub mod provider;
pub mod record;
pub mod schema;
pub mod transform;
pub mod value;
pub mod values_text;

pub use component::{
    ComponentKind, ConfigProviderClass, ConverterClass, HeaderConverterClass, PluginClass,
    PredicateClass, TransformationClass,
};
pub use config::{
    ConfigDef, ConfigKey, ConfigKeyInfo, ConfigType, ConfigValueInfo, Importance, Validator, Width,
};
pub use connector::{
    Connector, ConnectorContext, ContextTarget, ErrantRecord, ExactlyOnceSupport, SinkConnector,
    SinkOffsets, SinkTask, SinkTaskContext, SourceConnector, SourceTask, SourceTaskContext,
};
pub use converter::{Converter, ConverterError, HeaderConverter};
pub use error::{ConnectError, ConnectResult, DataError, ErrorKind};
pub use provider::ConfigProvider;
pub use record::{
    Header, Headers, OffsetMap, Props, RecordMetadata, SinkRecord, SourceRecord, TimestampType,
    TopicPartition,
};
pub use schema::{Field, Schema, SchemaRef, Type};
pub use transform::{ConnectRecord, Outcome, Predicate, Side, TransformError, Transformation};
pub use value::{Struct, Value, ValueRef};

/// Exports a plugin's classes through the C ABI. Use it once per plugin crate (built as a
/// `cdylib`). Connectors first; the other kinds are optional, in this order:
///
/// ```ignore
/// export_plugin!(
///     sources: [MySource], sinks: [MySink],
///     converters: [MyConverter], header_converters: [], transformations: [MySmt],
///     predicates: [], config_providers: [],
/// );
/// ```
#[macro_export]
macro_rules! export_plugin {
    (sources: [$($src:ty),* $(,)?], sinks: [$($sink:ty),* $(,)?]
     $(, converters: [$($conv:ty),* $(,)?])?
     $(, header_converters: [$($hconv:ty),* $(,)?])?
     $(, transformations: [$($smt:ty),* $(,)?])?
     $(, predicates: [$($pred:ty),* $(,)?])?
     $(, config_providers: [$($prov:ty),* $(,)?])?
     $(,)?) => {
        /// The plugin entry point the Tributary worker looks up.
        #[unsafe(no_mangle)]
        pub extern "C" fn tributary_plugin_entry() -> *const $crate::abi::PluginTable {
            static FACTORIES: &[$crate::abi::guest::Factory] = &[
                $($crate::abi::guest::Factory::source::<$src>(),)*
                $($crate::abi::guest::Factory::sink::<$sink>(),)*
            ];
            static COMPONENTS: &[$crate::abi::guest::ComponentFactory] = &[
                $($($crate::abi::guest::ComponentFactory::converter::<$conv>(),)*)?
                $($($crate::abi::guest::ComponentFactory::header_converter::<$hconv>(),)*)?
                $($($crate::abi::guest::ComponentFactory::transformation::<$smt>(),)*)?
                $($($crate::abi::guest::ComponentFactory::predicate::<$pred>(),)*)?
                $($($crate::abi::guest::ComponentFactory::config_provider::<$prov>(),)*)?
            ];
            $crate::abi::guest::table(FACTORIES, COMPONENTS)
        }
    };
}
