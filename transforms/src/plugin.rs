//! The transformation and predicate traits and their plugin descriptions.

use tributary_connector_api::config::ConfigError;
use tributary_connector_api::{ConfigDef, Props};

use crate::record::Side;

pub use tributary_connector_api::transform::{Outcome, Predicate, Transformation};

/// Builds a configured transformation. `side` is the `$Key` / `$Value` variant; transformations
/// without variants ignore it.
pub type TransformFactory = fn(Side, &Props) -> Result<Box<dyn Transformation>, ConfigError>;

/// Builds a configured predicate.
pub type PredicateFactory = fn(&Props) -> Result<Box<dyn Predicate>, ConfigError>;

/// An installed transformation class.
#[derive(Clone, Copy)]
pub struct TransformPlugin {
    /// The Java class name, with `$Key` / `$Value` for the variants.
    pub class: &'static str,
    pub side: Side,
    /// The transformation's own keys (without the `transforms.<alias>.` prefix).
    pub config_def: fn() -> ConfigDef,
    pub create: TransformFactory,
}

impl TransformPlugin {
    /// A transformation without `$Key` / `$Value` variants.
    pub const fn single(
        class: &'static str,
        config_def: fn() -> ConfigDef,
        create: TransformFactory,
    ) -> TransformPlugin {
        TransformPlugin {
            class,
            side: Side::Value,
            config_def,
            create,
        }
    }

    /// Builds the configured transformation.
    pub fn build(&self, props: &Props) -> Result<Box<dyn Transformation>, ConfigError> {
        (self.create)(self.side, props)
    }
}

/// An installed predicate class.
#[derive(Clone, Copy)]
pub struct PredicatePlugin {
    pub class: &'static str,
    pub config_def: fn() -> ConfigDef,
    pub create: PredicateFactory,
}

impl PredicatePlugin {
    pub fn build(&self, props: &Props) -> Result<Box<dyn Predicate>, ConfigError> {
        (self.create)(props)
    }
}

/// The `$Key` and `$Value` variants of a transformation, e.g.
/// `org.apache.kafka.connect.transforms.Cast$Key` and `…Cast$Value`.
pub const fn key_value(
    key_class: &'static str,
    value_class: &'static str,
    config_def: fn() -> ConfigDef,
    create: TransformFactory,
) -> [TransformPlugin; 2] {
    [
        TransformPlugin {
            class: key_class,
            side: Side::Key,
            config_def,
            create,
        },
        TransformPlugin {
            class: value_class,
            side: Side::Value,
            config_def,
            create,
        },
    ]
}
