//! How deep values and schemas may nest. Every reader of outside input stops at
//! [`MAX_DEPTH`] (Jackson's default, which Kafka Connect's JSON converter inherits), so that
//! anything a converter accepts also crosses the plugin boundary, and a plugin buffer nested
//! deeper fails with an error instead of overflowing a thread's stack (which would abort the
//! whole worker).

use std::cell::Cell;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};

/// The deepest nesting any reader accepts.
pub const MAX_DEPTH: usize = 1000;

/// The stack of the worker's task threads, where plugin tasks run: enough for values
/// [`MAX_DEPTH`] deep in an unoptimised build (2 MiB, Rust's default, is not).
pub const TASK_STACK_BYTES: usize = 16 << 20;

type Counter = &'static std::thread::LocalKey<Cell<usize>>;

thread_local! {
    /// How deep the value being decoded is.
    static VALUES: Cell<usize> = const { Cell::new(0) };
    /// How deep the schema being decoded is (counted apart: a struct value nests its schema
    /// as deep as itself).
    static SCHEMAS: Cell<usize> = const { Cell::new(0) };
    /// Why the last decode on this thread was refused, for decoders that drop the message.
    static REFUSAL: Cell<Option<&'static str>> = const { Cell::new(None) };
}

/// Forgets an earlier refusal (call before decoding).
pub fn clear_refusal() {
    REFUSAL.with(|r| r.set(None));
}

/// Why the nesting limit refused the last decode on this thread, if it did.
pub fn take_refusal() -> Option<String> {
    REFUSAL
        .with(|r| r.take())
        .map(|what| format!("{what} nested deeper than {MAX_DEPTH} levels"))
}

/// One level of nesting while decoding; leaves it when dropped.
struct Level(Counter);

impl Level {
    fn enter(counter: Counter) -> Option<Level> {
        counter.with(|d| {
            let depth = d.get() + 1;
            if depth > MAX_DEPTH {
                None
            } else {
                d.set(depth);
                Some(Level(counter))
            }
        })
    }
}

impl Drop for Level {
    fn drop(&mut self) {
        self.0.with(|d| d.set(d.get().saturating_sub(1)));
    }
}

fn within<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    counter: Counter,
    what: &'static str,
    de: D,
) -> Result<T, D::Error> {
    let Some(_level) = Level::enter(counter) else {
        REFUSAL.with(|r| r.set(Some(what)));
        return Err(D::Error::custom(format!(
            "{what} nested deeper than {MAX_DEPTH} levels"
        )));
    };
    T::deserialize(de)
}

/// Decodes a value's nested part (a list's items, a map's entries, a struct's fields) one
/// level deeper; `serde(deserialize_with = "crate::nesting::nested")`.
pub fn nested<'de, D: Deserializer<'de>, T: Deserialize<'de>>(de: D) -> Result<T, D::Error> {
    within(&VALUES, "value", de)
}

/// Decodes a schema one level deeper.
pub fn nested_schema<'de, D: Deserializer<'de>, T: Deserialize<'de>>(de: D) -> Result<T, D::Error> {
    within(&SCHEMAS, "schema", de)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::abi::batch::RecordBatch;
    use crate::schema::{Schema, SchemaRef, Type};
    use crate::{SourceRecord, Struct, Value};

    /// Runs `f` on a thread with the stack the worker gives task threads.
    fn small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        std::thread::Builder::new()
            .stack_size(crate::nesting::TASK_STACK_BYTES)
            .spawn(f)
            .unwrap()
            .join()
            .expect("no stack overflow")
    }

    fn array(depth: usize) -> Value {
        (0..depth).fold(Value::Null, |v, _| Value::Array(vec![v]))
    }

    fn map(depth: usize) -> Value {
        (0..depth).fold(Value::Null, |v, _| {
            Value::Map(vec![(Value::String("k".into()), v)])
        })
    }

    /// A struct `depth` levels deep, with its schema.
    fn structs(depth: usize) -> (SchemaRef, Value) {
        let mut schema: SchemaRef = Arc::new(Schema::new(Type::Int32).optional());
        let mut value = Value::Int32(1);
        for _ in 0..depth {
            let outer: SchemaRef = Schema::struct_([("f", schema.clone())]).into_ref();
            let s = Struct::from_values(outer.clone(), vec![value]).unwrap();
            schema = outer;
            value = Value::Struct(s);
        }
        (schema, value)
    }

    fn round_trip(schema: Option<SchemaRef>, value: Value) -> Result<(), String> {
        let record = SourceRecord::new(None, None, "t", schema, value);
        let batch = RecordBatch::of_source_records(std::slice::from_ref(&record), 0, false)
            .map_err(|e| e.to_string())?;
        let back = batch.record(0).ok_or("no record")?.to_source_record()?;
        assert!(back == record, "read back as written");
        std::mem::forget(back);
        std::mem::forget(record);
        Ok(())
    }

    #[test]
    fn the_deepest_value_a_converter_accepts_crosses_the_plugin_boundary() {
        small_stack(|| {
            round_trip(None, array(MAX_DEPTH)).unwrap();
            round_trip(None, map(MAX_DEPTH)).unwrap();
            let (schema, value) = structs(MAX_DEPTH - 1);
            round_trip(Some(schema), value).unwrap();
        });
    }

    #[test]
    fn deeper_values_are_an_error_not_a_stack_overflow() {
        let e = small_stack(|| round_trip(None, array(MAX_DEPTH + 1))).unwrap_err();
        assert!(e.contains("nested deeper than 1000 levels"), "{e}");
        // A plugin buffer that claims 100,000 nested lists (postcard: variant 10, length 1,
        // …, then null) is refused as soon as it passes the limit.
        let mut bytes = [10u8, 1].repeat(100_000);
        bytes.push(0);
        let e = small_stack(move || crate::abi::decode::<Value>(&bytes).map(|_| ())).unwrap_err();
        assert!(e.contains("value nested deeper than 1000 levels"), "{e}");
        // The counters are back at zero after an error: a normal value decodes again.
        small_stack(|| round_trip(None, array(10))).unwrap();
    }
}
