//! The built-in transformations, one module each: Kafka's, and Debezium's
//! `ExtractNewRecordState`.

pub mod cast;
pub mod date_format;
pub mod drop_headers;
pub mod extract_field;
pub mod extract_new_record_state;
pub mod field_path;
pub mod filter;
pub mod flatten;
pub mod header_from;
pub mod hoist_field;
pub mod insert_field;
pub mod insert_header;
pub mod mask_field;
pub mod regex_router;
pub mod replace_field;
pub mod set_schema_metadata;
pub mod timestamp_converter;
pub mod timestamp_router;
pub mod value_to_key;

#[cfg(test)]
pub(crate) mod testing;

use crate::plugin::TransformPlugin;

/// Every built-in transformation.
pub fn plugins() -> Vec<TransformPlugin> {
    [
        cast::plugins(),
        drop_headers::plugins(),
        extract_field::plugins(),
        extract_new_record_state::plugins(),
        filter::plugins(),
        flatten::plugins(),
        header_from::plugins(),
        hoist_field::plugins(),
        insert_field::plugins(),
        insert_header::plugins(),
        mask_field::plugins(),
        regex_router::plugins(),
        replace_field::plugins(),
        set_schema_metadata::plugins(),
        timestamp_converter::plugins(),
        timestamp_router::plugins(),
        value_to_key::plugins(),
    ]
    .concat()
}
