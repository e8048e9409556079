//! `org.apache.kafka.connect.transforms.DropHeaders`: removes every header whose key is listed
//! in `headers`.

use std::collections::HashSet;

use tributary_connector_api::config::{ConfigError, Validator};
use tributary_connector_api::{ConfigDef, ConfigType, Importance, Props};

use crate::config;
use crate::error::TransformError;
use crate::plugin::{Outcome, TransformPlugin, Transformation};
use crate::record::{ConnectRecord, Side};

pub const CLASS: &str = "org.apache.kafka.connect.transforms.DropHeaders";

pub fn plugins() -> Vec<TransformPlugin> {
    vec![TransformPlugin::single(
        CLASS,
        config_def,
        DropHeaders::create,
    )]
}

fn config_def() -> ConfigDef {
    ConfigDef::new().define(
        config::required(
            "headers",
            ConfigType::List,
            Importance::High,
            "The keys of the headers to remove.",
        )
        .validator(Validator::NonEmptyList),
    )
}

/// Removes headers by key.
pub struct DropHeaders {
    headers: HashSet<String>,
}

impl DropHeaders {
    fn create(_: Side, props: &Props) -> Result<Box<dyn Transformation>, ConfigError> {
        let cfg = config::parse(&config_def(), props)?;
        Ok(Box::new(DropHeaders {
            headers: cfg.get_list("headers").into_iter().collect(),
        }))
    }
}

impl Transformation for DropHeaders {
    fn apply(&mut self, record: &mut dyn ConnectRecord) -> Result<Outcome, TransformError> {
        record
            .headers_mut()
            .0
            .retain(|h| !self.headers.contains(&h.key));
        Ok(Outcome::Keep)
    }
}

#[cfg(test)]
mod tests {
    use tributary_connector_api::{Schema, Value};

    use super::*;
    use crate::smt::testing::{apply, build, sink, source, transform};

    #[test]
    fn removes_every_header_with_a_listed_key() {
        let mut t = transform(CLASS, &[("headers", "dummy, trace")]);
        let mut r = sink(
            "t",
            None,
            Value::Null,
            Some(Schema::string()),
            Value::from("v"),
        );
        r.headers
            .add("dummy", Some(Schema::string()), Value::from("a"));
        r.headers.add("keep", None, Value::Int32(1));
        r.headers.add("trace", None, Value::Null);
        r.headers.add("dummy", None, Value::from("again"));
        assert_eq!(apply(t.as_mut(), &mut r), Outcome::Keep);
        let keys: Vec<&str> = r.headers.iter().map(|h| h.key.as_str()).collect();
        assert_eq!(keys, ["keep"]);
        assert_eq!(r.value, Value::from("v"), "key and value untouched");
    }

    #[test]
    fn schemaless_records_and_absent_headers() {
        let mut t = transform(CLASS, &[("headers", "gone")]);
        let mut r = source("t", None, Value::Null, None, Value::Null);
        r.headers.add("other", None, Value::from("x"));
        apply(t.as_mut(), &mut r);
        assert_eq!(r.headers.len(), 1);
    }

    #[test]
    fn config_errors() {
        assert_eq!(build(CLASS, &[]).err().unwrap().key, "headers");
        assert_eq!(
            build(CLASS, &[("headers", "")]).err().unwrap().key,
            "headers"
        );
        assert_eq!(
            build(CLASS, &[("headers", " , ")]).err().unwrap().key,
            "headers"
        );
    }
}
