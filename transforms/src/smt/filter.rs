//! `org.apache.kafka.connect.transforms.Filter`: drops every record it is applied to; used with
//! a predicate to drop the records that match (or, with `negate`, the ones that do not).

use tributary_connector_api::ConfigDef;

use crate::error::TransformError;
use crate::plugin::{Outcome, TransformPlugin, Transformation};
use crate::record::ConnectRecord;

pub const CLASS: &str = "org.apache.kafka.connect.transforms.Filter";

pub fn plugins() -> Vec<TransformPlugin> {
    vec![TransformPlugin::single(CLASS, ConfigDef::new, |_, _| {
        Ok(Box::new(Filter))
    })]
}

/// Drops the record.
pub struct Filter;

impl Transformation for Filter {
    fn apply(&mut self, _record: &mut dyn ConnectRecord) -> Result<Outcome, TransformError> {
        Ok(Outcome::Drop)
    }
}

#[cfg(test)]
mod tests {
    use tributary_connector_api::{Schema, Value};

    use super::*;
    use crate::smt::testing::{apply, sink, source, transform};

    #[test]
    fn drops_records_with_and_without_schemas() {
        let mut t = transform(CLASS, &[]);
        let mut r = sink(
            "t",
            None,
            Value::Null,
            Some(Schema::string()),
            Value::from("v"),
        );
        assert_eq!(apply(t.as_mut(), &mut r), Outcome::Drop);
        let mut r = source("t", None, Value::Null, None, Value::Null);
        assert_eq!(apply(t.as_mut(), &mut r), Outcome::Drop);
        assert!(crate::find_transformation("Filter").is_some());
    }
}
