//! Kafka Connect's single-message transforms and predicates, selected by their Java class
//! names, with the same config keys and defaults (connect-compat §4.3, §6).
//!
//! A transformation is a pure function over one record ([`Transformation::apply`] rewrites a
//! [`ConnectRecord`] in place); the worker runs a connector's [`TransformChain`] on the source
//! path before the converter and on the sink path after it.

pub mod chain;
pub mod config;
pub mod error;
pub mod plugin;
pub mod predicates;
pub mod record;
pub mod schema_util;
pub mod smt;

use std::sync::LazyLock;

pub use chain::{
    intern_class, BuiltInsOnly, ChainValidation, ExternalClasses, ExternalTransformation,
    TransformChain,
};
pub use error::TransformError;
pub use plugin::{Outcome, Predicate, PredicatePlugin, TransformPlugin, Transformation};
pub use record::{ConnectRecord, Side};

/// Every built-in transformation class (`$Key` and `$Value` variants listed separately).
pub fn transformations() -> &'static [TransformPlugin] {
    static ALL: LazyLock<Vec<TransformPlugin>> = LazyLock::new(|| {
        let mut all = smt::plugins();
        all.sort_by_key(|p| p.class);
        all
    });
    &ALL
}

/// Every built-in predicate class.
pub fn predicates() -> &'static [PredicatePlugin] {
    static ALL: LazyLock<Vec<PredicatePlugin>> = LazyLock::new(|| {
        let mut all = predicates::plugins();
        all.sort_by_key(|p| p.class);
        all
    });
    &ALL
}

/// Finds a class by its full name, or by a simple name (or the simple name without
/// `suffix`) that exactly one of `classes` has (connect-compat §4.2).
fn resolve<'a, T>(
    items: &'a [T],
    class_of: impl Fn(&T) -> &'static str,
    name: &str,
    suffix: &'static str,
) -> Option<&'a T> {
    tributary_connector_api::alias::resolve(items, |p| (class_of(p), suffix), name).found()
}

/// A transformation by class name or unique alias (`RegexRouter`; the nested `$Key` /
/// `$Value` classes only by full name).
pub fn find_transformation(name: &str) -> Option<&'static TransformPlugin> {
    resolve(transformations(), |p| p.class, name, "Transformation")
}

/// A predicate by class name or unique alias (`RecordIsTombstone`).
pub fn find_predicate(name: &str) -> Option<&'static PredicatePlugin> {
    resolve(predicates(), |p| p.class, name, "Predicate")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_resolve_by_full_name_and_unique_alias() {
        let full = "org.apache.kafka.connect.transforms.RegexRouter";
        assert_eq!(find_transformation(full).map(|p| p.class), Some(full));
        assert_eq!(
            find_transformation("RegexRouter").map(|p| p.class),
            Some(full)
        );
        assert!(
            find_transformation("Value").is_none(),
            "nested names are ambiguous"
        );
        assert!(find_transformation("NoSuchTransform").is_none());
        let unwrap = "io.debezium.transforms.ExtractNewRecordState";
        assert_eq!(find_transformation(unwrap).map(|p| p.class), Some(unwrap));
        assert_eq!(
            find_transformation("ExtractNewRecordState").map(|p| p.class),
            Some(unwrap)
        );
        let tomb = "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone";
        assert_eq!(
            find_predicate("RecordIsTombstone").map(|p| p.class),
            Some(tomb)
        );
    }

    #[test]
    fn every_builtin_is_installed() {
        let base = "org.apache.kafka.connect.transforms.";
        let kv = [
            "Cast",
            "ExtractField",
            "Flatten",
            "HeaderFrom",
            "HoistField",
            "InsertField",
            "MaskField",
            "ReplaceField",
            "SetSchemaMetadata",
            "TimestampConverter",
        ];
        let single = [
            "DropHeaders",
            "Filter",
            "InsertHeader",
            "RegexRouter",
            "TimestampRouter",
            "ValueToKey",
        ];
        let mut want: Vec<String> = Vec::new();
        for name in kv {
            want.push(format!("{base}{name}$Key"));
            want.push(format!("{base}{name}$Value"));
        }
        for name in single {
            want.push(format!("{base}{name}"));
        }
        want.push("io.debezium.transforms.ExtractNewRecordState".to_owned());
        want.sort();
        let got: Vec<&str> = transformations().iter().map(|p| p.class).collect();
        assert_eq!(got, want);
        let preds: Vec<&str> = predicates().iter().map(|p| p.class).collect();
        assert_eq!(
            preds,
            [
                "org.apache.kafka.connect.transforms.predicates.HasHeaderKey",
                "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone",
                "org.apache.kafka.connect.transforms.predicates.TopicNameMatches",
            ]
        );
    }
}
