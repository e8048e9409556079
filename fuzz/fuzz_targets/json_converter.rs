//! The JsonConverter: bytes → Connect data with `schemas.enable` true and false, and what it
//! accepts back to bytes. What was written must read back and write again to the same bytes.
//!
//! The first input byte picks the other settings (decimal format, null handling, cache size),
//! the rest is the record.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use tributary::converters::{Converter, JsonConverter};

fn converter(schemas: bool, flags: u8) -> JsonConverter {
    let mut config = BTreeMap::new();
    let mut set = |k: &str, v: &str| config.insert(k.to_owned(), v.to_owned());
    set("schemas.enable", if schemas { "true" } else { "false" });
    set(
        "decimal.format",
        if flags & 1 == 0 { "BASE64" } else { "NUMERIC" },
    );
    set(
        "replace.null.with.default",
        if flags & 2 == 0 { "true" } else { "false" },
    );
    set(
        "schemas.cache.size",
        if flags & 4 == 0 { "1000" } else { "0" },
    );
    match JsonConverter::new(&config) {
        Ok(c) => c,
        Err(e) => panic!("valid config rejected: {e}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, record)) = data.split_first() else {
        return;
    };
    for schemas in [true, false] {
        let c = converter(schemas, flags);
        let Ok((schema, value)) = c.to_connect("t", Some(record)) else {
            continue;
        };
        // Again, now through the schema caches.
        let again = c.to_connect("t", Some(record));
        assert!(again.is_ok(), "second read failed: {again:?}");
        let Ok(Some(written)) = c.from_connect("t", schema.as_ref(), &value) else {
            continue;
        };
        let reread = c.to_connect("t", Some(&written));
        let (schema2, value2) = match reread {
            Ok(read) => read,
            Err(e) => panic!(
                "cannot read what was written: {e}\nwritten: {}",
                String::from_utf8_lossy(&written)
            ),
        };
        let rewritten = c.from_connect("t", schema2.as_ref(), &value2);
        match rewritten {
            Ok(Some(bytes)) => assert_eq!(
                String::from_utf8_lossy(&bytes),
                String::from_utf8_lossy(&written),
                "second write differs"
            ),
            other => panic!(
                "cannot write what was read back: {other:?}\nwritten: {}",
                String::from_utf8_lossy(&written)
            ),
        }
    }
});
