//! Reading single values out of a worker's properties, the same way in every part of the
//! worker config.

use tributary_connector_api::Props;

/// A setting's value, trimmed; `None` when absent or blank.
pub fn get<'a>(props: &'a Props, key: &str) -> Option<&'a str> {
    props.get(key).map(|s| s.trim()).filter(|s| !s.is_empty())
}

/// A comma-separated list (Java's `LIST` type): trimmed entries, blanks left out.
pub fn list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}
