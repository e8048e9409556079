//! Which schemas, tables and columns are captured, and custom message keys: Debezium's
//! `schema.*.list`, `table.*.list`, `column.*.list` (anchored, case-insensitive regular
//! expressions) and `message.key.columns`.

use regex::{Regex, RegexBuilder};

use crate::ConfigError;

/// Schemas PostgreSQL keeps for itself: never captured.
const SYSTEM_SCHEMAS: &[&str] = &["pg_catalog", "information_schema", "pg_toast"];

#[derive(Debug, Clone, Default)]
pub struct Filters {
    schema_include: Vec<Regex>,
    schema_exclude: Vec<Regex>,
    table_include: Vec<Regex>,
    table_exclude: Vec<Regex>,
    column_include: Vec<Regex>,
    column_exclude: Vec<Regex>,
    /// (table pattern, key columns) of `message.key.columns`.
    custom_keys: Vec<(Regex, Vec<String>)>,
    /// The signal table, always captured.
    signal_table: Option<String>,
}

fn anchored(key: &str, pattern: &str) -> Result<Regex, ConfigError> {
    RegexBuilder::new(&format!("^(?:{pattern})$"))
        .case_insensitive(true)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| ConfigError::new(key, format!("'{pattern}' is not a regular expression: {e}")))
}

fn matches_any(patterns: &[Regex], name: &str) -> bool {
    patterns.iter().any(|p| p.is_match(name))
}

impl Filters {
    /// Reads the filter keys; `list` gives a list key's entries.
    pub fn parse(
        props: &tributary_connector_api::Props,
        list: impl Fn(&str) -> Vec<String>,
    ) -> Result<Filters, ConfigError> {
        let regexes = |key: &str| -> Result<Vec<Regex>, ConfigError> {
            list(key).iter().map(|p| anchored(key, p)).collect()
        };
        let both = |a: &str, b: &str| -> Result<(), ConfigError> {
            if !list(a).is_empty() && !list(b).is_empty() {
                return Err(ConfigError::new(
                    b,
                    format!("{a} and {b} cannot both be set"),
                ));
            }
            Ok(())
        };
        both("schema.include.list", "schema.exclude.list")?;
        both("table.include.list", "table.exclude.list")?;
        both("column.include.list", "column.exclude.list")?;
        let mut custom_keys = Vec::new();
        let spec = props
            .get("message.key.columns")
            .map(|s| s.trim())
            .unwrap_or("");
        for entry in spec.split(';').map(str::trim).filter(|e| !e.is_empty()) {
            let bad = || {
                ConfigError::new(
                    "message.key.columns",
                    format!("'{entry}' is not <table regex>:<column>,<column>…"),
                )
            };
            let (table, columns) = entry.rsplit_once(':').ok_or_else(bad)?;
            let columns: Vec<String> = columns
                .split(',')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect();
            if columns.is_empty() || table.trim().is_empty() {
                return Err(bad());
            }
            custom_keys.push((anchored("message.key.columns", table.trim())?, columns));
        }
        Ok(Filters {
            schema_include: regexes("schema.include.list")?,
            schema_exclude: regexes("schema.exclude.list")?,
            table_include: regexes("table.include.list")?,
            table_exclude: regexes("table.exclude.list")?,
            column_include: regexes("column.include.list")?,
            column_exclude: regexes("column.exclude.list")?,
            custom_keys,
            signal_table: props
                .get("signal.data.collection")
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty()),
        })
    }

    /// Whether changes of `schema.table` are captured.
    pub fn captures(&self, schema: &str, table: &str) -> bool {
        let qualified = format!("{schema}.{table}");
        if self.signal_table.as_deref() == Some(qualified.as_str()) {
            return true;
        }
        if SYSTEM_SCHEMAS.contains(&schema) {
            return false;
        }
        if !self.schema_include.is_empty() && !matches_any(&self.schema_include, schema) {
            return false;
        }
        if matches_any(&self.schema_exclude, schema) {
            return false;
        }
        if !self.table_include.is_empty() {
            return matches_any(&self.table_include, &qualified);
        }
        !matches_any(&self.table_exclude, &qualified)
    }

    /// Whether a column is emitted (key columns are kept whatever this says).
    pub fn keeps_column(&self, schema: &str, table: &str, column: &str) -> bool {
        if self.column_include.is_empty() && self.column_exclude.is_empty() {
            return true;
        }
        let qualified = format!("{schema}.{table}.{column}");
        if !self.column_include.is_empty() {
            return matches_any(&self.column_include, &qualified);
        }
        !matches_any(&self.column_exclude, &qualified)
    }

    /// The key columns `message.key.columns` gives a table, if any.
    pub fn custom_key(&self, schema: &str, table: &str) -> Option<&[String]> {
        let qualified = format!("{schema}.{table}");
        self.custom_keys
            .iter()
            .find(|(p, _)| p.is_match(&qualified))
            .map(|(_, c)| c.as_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tributary_connector_api::Props;

    fn filters(pairs: &[(&str, &str)]) -> Result<Filters, ConfigError> {
        let props: Props = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let list = |k: &str| -> Vec<String> {
            props
                .get(k)
                .map(|v| {
                    v.split(',')
                        .map(|s| s.trim().to_owned())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default()
        };
        Filters::parse(&props, list)
    }

    #[test]
    fn tables_are_matched_whole_and_case_insensitively() {
        let f = filters(&[("table.include.list", "public.orders,inventory\\..*")]).unwrap();
        assert!(f.captures("public", "orders"));
        assert!(f.captures("PUBLIC", "ORDERS"));
        assert!(!f.captures("public", "orders_archive"), "anchored");
        assert!(f.captures("inventory", "items"));
        assert!(!f.captures("public", "customers"));
    }

    #[test]
    fn excludes_and_system_schemas() {
        let f = filters(&[("schema.exclude.list", "audit")]).unwrap();
        assert!(f.captures("public", "t"));
        assert!(!f.captures("audit", "t"));
        assert!(!f.captures("pg_catalog", "pg_class"));
        let f = filters(&[("table.exclude.list", "public\\.tmp_.*")]).unwrap();
        assert!(!f.captures("public", "tmp_1"));
        assert!(f.captures("public", "t"));
    }

    #[test]
    fn the_signal_table_is_always_captured() {
        let f = filters(&[
            ("table.include.list", "public.orders"),
            ("signal.data.collection", "public.debezium_signal"),
        ])
        .unwrap();
        assert!(f.captures("public", "debezium_signal"));
    }

    #[test]
    fn columns_and_custom_keys() {
        let f = filters(&[
            ("column.exclude.list", "public.users.password"),
            (
                "message.key.columns",
                "public.users:email;inventory\\..*:sku,site",
            ),
        ])
        .unwrap();
        assert!(!f.keeps_column("public", "users", "password"));
        assert!(f.keeps_column("public", "users", "email"));
        assert_eq!(
            f.custom_key("public", "users"),
            Some(&["email".to_owned()][..])
        );
        assert_eq!(
            f.custom_key("inventory", "items").map(<[String]>::len),
            Some(2)
        );
        assert_eq!(f.custom_key("public", "orders"), None);
    }

    #[test]
    fn bad_filters_name_their_key() {
        for (k, v) in [
            ("message.key.columns", "public.users"),
            ("message.key.columns", "public.users:"),
            ("column.include.list", "(("),
        ] {
            assert_eq!(filters(&[(k, v)]).unwrap_err().key, k);
        }
        let e = filters(&[("table.include.list", "a"), ("table.exclude.list", "b")]).unwrap_err();
        assert_eq!(e.key, "table.exclude.list");
    }
}
