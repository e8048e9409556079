//! Config providers (Kafka's `ConfigProvider`): the values behind `${provider:path:key}`
//! placeholders. The built-ins live in the worker; a plugin library exports its own with
//! [`crate::export_plugin!`].

use std::collections::{BTreeMap, BTreeSet};

/// Looks up the values of config placeholders.
pub trait ConfigProvider: Send + Sync {
    /// The values of `keys` at `path`; missing keys are absent from the result.
    fn get(&self, path: &str, keys: &BTreeSet<String>) -> Result<BTreeMap<String, String>, String>;
}
