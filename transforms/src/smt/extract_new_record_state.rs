//! `io.debezium.transforms.ExtractNewRecordState` (Debezium's "unwrap", cdc-extras §1): turns a
//! Debezium change event into the row it carries.
//!
//! A record is an envelope when its value is a struct whose schema name ends with `.Envelope`;
//! anything else (heartbeats, logical-decoding messages, transaction metadata, schema changes,
//! schemaless values) passes through unchanged. Key, partition and timestamp are never changed;
//! the topic only by `route.by.field`.
//!
//! | Input | `drop` | `tombstone` | `rewrite` | `rewrite-with-tombstone` | `delete-to-tombstone` |
//! |---|---|---|---|---|---|
//! | `after` non-null (c/u/r) | `after` | `after` | `after` + `__deleted="false"` | as rewrite | `after` |
//! | `after` null (d) | dropped | value null, schema `after`'s | `before` + `__deleted="true"` | as rewrite | value and schema null |
//! | value null (tombstone) | dropped | dropped | dropped | kept | dropped |
//! | `before` and `after` null (t) | dropped | dropped | dropped | dropped | dropped |
//!
//! `__deleted` is an optional string appended by `InsertField$Value` (so in the rewrite modes
//! `replace.null.with.default` turns null columns into their defaults; dropping fields goes
//! through `ReplaceField` at its defaults, which does the same). The removed keys
//! `drop.tombstones` / `delete.handling.mode` are honoured, with a warning, when
//! `delete.tombstone.handling.mode` is not set.
//!
//! Order of work, as in Debezium: `add.headers` first (from the envelope, for envelopes and
//! tombstones); then for c/u/r: extract `after` → `__deleted` → route → `add.fields` → drop
//! fields; for d: per mode → route (from `before`) → drop fields → `add.fields` (when the value is
//! not null). `add.fields` always rebuilds the row struct (a required struct with the row
//! schema's name, version, doc and parameters: the columns, then `__deleted`, then the added
//! fields in config order), so only the `tombstone` mode's null-valued deletes keep the optional
//! `after` schema itself.
//!
//! `add.fields` / `add.headers` entries: `op`, `ts_ms`, `ts_us`, `ts_ns` name top-level
//! fields; `id`, `total_order`, `data_collection_order` fields of `transaction`; any other bare
//! name a field of `source`; `struct.field` a field of that struct (named `struct_field`); a
//! `:NEW` suffix renames (the prefix still applies). A field missing from its struct is taken
//! from the top level; one missing there too is not added. Added fields and headers get the
//! source field's schema made optional, without default.
//!
//! Where Debezium fails with a Java exception on odd input, this module chooses: a named
//! struct that the envelope lacks (or that is no struct) is treated as not holding the field;
//! dropping fields from a value or key without a schema under
//! `drop.fields.keep.schema.compatible=true` drops nothing; an added struct, array or map field
//! keeps its fields / element schemas (Java's copy loses them and then fails).

use std::sync::Arc;

use tributary_connector_api::config::{Config, ConfigError, Validator};
use tributary_connector_api::{
    ConfigDef, ConfigType, Field, Importance, Props, Schema, SchemaRef, Struct, Type, Value,
};

use crate::config::{self, java_list, java_trim};
use crate::error::TransformError;
use crate::plugin::{Outcome, TransformPlugin, Transformation};
use crate::record::{ConnectRecord, Side};
use crate::schema_util::{check_put, require_struct, struct_schema, type_name, with_default};
use crate::smt::insert_field::InsertField;
use crate::smt::replace_field::ReplaceField;

pub const CLASS: &str = "io.debezium.transforms.ExtractNewRecordState";

const HANDLING_MODE: &str = "delete.tombstone.handling.mode";
const DROP_TOMBSTONES: &str = "drop.tombstones";
const DELETE_HANDLING: &str = "delete.handling.mode";
const ROUTE_BY_FIELD: &str = "route.by.field";
const ADD_FIELDS: &str = "add.fields";
const ADD_FIELDS_PREFIX: &str = "add.fields.prefix";
const ADD_HEADERS: &str = "add.headers";
const ADD_HEADERS_PREFIX: &str = "add.headers.prefix";
const DROP_FIELDS_HEADER: &str = "drop.fields.header.name";
const DROP_FIELDS_FROM_KEY: &str = "drop.fields.from.key";
const DROP_FIELDS_KEEP_SCHEMA_COMPATIBLE: &str = "drop.fields.keep.schema.compatible";

const MODES: [&str; 5] = [
    "drop",
    "tombstone",
    "rewrite",
    "rewrite-with-tombstone",
    "delete-to-tombstone",
];
const LEGACY_MODES: [&str; 3] = ["none", "drop", "rewrite"];
const DEFAULT_PREFIX: &str = "__";
const DELETED_FIELD: &str = "__deleted";
const ENVELOPE_SUFFIX: &str = ".Envelope";
const BEFORE: &str = "before";
const AFTER: &str = "after";
const OPERATION: &str = "op";
const PURPOSE: &str = "source field insertion";

/// Debezium keeps 64 derived schemas per transformation.
const CACHE_SIZE: usize = 64;
/// `ReplaceField` delegates kept for distinct drop lists.
const DROPPERS: usize = 16;

/// The single class (no `$Key` / `$Value` variants).
pub fn plugins() -> Vec<TransformPlugin> {
    vec![TransformPlugin::single(
        CLASS,
        config_def,
        ExtractNewRecordState::create,
    )]
}

fn config_def() -> ConfigDef {
    let one_of =
        |values: &[&str]| Validator::OneOf(values.iter().map(|v| (*v).to_owned()).collect(), true);
    let low = |name: &str, type_: ConfigType, default: &str, doc: &str| {
        config::with_default(name, type_, default, Importance::Low, doc)
    };
    ConfigDef::new()
        .define(
            config::with_default(
                HANDLING_MODE,
                ConfigType::String,
                "tombstone",
                Importance::Medium,
                "What becomes of delete events and tombstones: drop (both dropped), tombstone \
                 (a delete becomes a null value, tombstones dropped), rewrite (a delete becomes \
                 its before row with __deleted=true, tombstones dropped), rewrite-with-tombstone \
                 (as rewrite, tombstones kept), delete-to-tombstone (a delete becomes a tombstone \
                 with null value and value schema, tombstones dropped).",
            )
            .validator(one_of(&MODES)),
        )
        .define(config::optional(
            DROP_TOMBSTONES,
            ConfigType::Boolean,
            Importance::Low,
            "Deprecated (removed in Debezium 3.2): whether to drop tombstones (true when unset). \
             Read only when delete.tombstone.handling.mode is not set.",
        ))
        .define(
            config::optional(
                DELETE_HANDLING,
                ConfigType::String,
                Importance::Low,
                "Deprecated (removed in Debezium 3.2): none, drop (when unset) or rewrite. Read \
                 only when delete.tombstone.handling.mode is not set.",
            )
            .validator(one_of(&LEGACY_MODES)),
        )
        .define(low(
            ROUTE_BY_FIELD,
            ConfigType::String,
            "",
            "A string field of the row whose value becomes the topic (after for creates and \
             updates, before for deletes); a null or blank value keeps the topic.",
        ))
        .define(low(
            ADD_FIELDS_PREFIX,
            ConfigType::String,
            DEFAULT_PREFIX,
            "Prefix of the names of the fields added by add.fields.",
        ))
        .define(low(
            ADD_FIELDS,
            ConfigType::List,
            "",
            "Envelope metadata to add to the row, e.g. op,table,source.ts_ms,source.ts_ms:EVENT_TS \
             (op and ts_* are top-level, id/total_order/data_collection_order in transaction, \
             other bare names in source; struct.field names <struct>_<field>; :NEW renames).",
        ))
        .define(low(
            ADD_HEADERS_PREFIX,
            ConfigType::String,
            DEFAULT_PREFIX,
            "Prefix of the names of the headers added by add.headers.",
        ))
        .define(low(
            ADD_HEADERS,
            ConfigType::List,
            "",
            "Envelope metadata to add as headers, named as for add.fields.",
        ))
        .define(config::optional(
            DROP_FIELDS_HEADER,
            ConfigType::String,
            Importance::Low,
            "A header holding a list of field names to remove from the value (as written by \
             ExtractChangedRecordState).",
        ))
        .define(low(
            DROP_FIELDS_FROM_KEY,
            ConfigType::Boolean,
            "false",
            "Whether the fields named by drop.fields.header.name are removed from the key too.",
        ))
        .define(low(
            DROP_FIELDS_KEEP_SCHEMA_COMPATIBLE,
            ConfigType::Boolean,
            "true",
            "true: only optional fields are removed, so the schema stays compatible; false: the \
             named fields are removed whatever their schema.",
        ))
        .define(config::replace_null_with_default())
}

/// What becomes of a delete event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Deletes {
    Drop,
    /// Value null, value schema the `after` field's: a tombstone to Connect only.
    NullValue,
    /// Value and value schema null: a Kafka tombstone.
    Tombstone,
    /// The `before` row with `__deleted = "true"`.
    Rewrite,
}

/// The effective delete and tombstone handling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Handling {
    keep_tombstones: bool,
    deletes: Deletes,
}

impl Handling {
    /// A `delete.tombstone.handling.mode` value (case-insensitive).
    fn from_mode(mode: &str) -> Option<Handling> {
        let mode = java_trim(mode);
        let (keep_tombstones, deletes) = if mode.eq_ignore_ascii_case("drop") {
            (false, Deletes::Drop)
        } else if mode.eq_ignore_ascii_case("tombstone") {
            (false, Deletes::NullValue)
        } else if mode.eq_ignore_ascii_case("rewrite") {
            (false, Deletes::Rewrite)
        } else if mode.eq_ignore_ascii_case("rewrite-with-tombstone") {
            (true, Deletes::Rewrite)
        } else if mode.eq_ignore_ascii_case("delete-to-tombstone") {
            (false, Deletes::Tombstone)
        } else {
            return None;
        };
        Some(Handling {
            keep_tombstones,
            deletes,
        })
    }

    /// The pre-3.2 `drop.tombstones` / `delete.handling.mode` pair.
    fn from_legacy(drop_tombstones: bool, delete_handling: &str) -> Option<Handling> {
        let mode = java_trim(delete_handling);
        let deletes = if mode.eq_ignore_ascii_case("drop") {
            Deletes::Drop
        } else if mode.eq_ignore_ascii_case("none") {
            Deletes::NullValue
        } else if mode.eq_ignore_ascii_case("rewrite") {
            Deletes::Rewrite
        } else {
            return None;
        };
        Some(Handling {
            keep_tombstones: !drop_tombstones,
            deletes,
        })
    }

    /// The `delete.tombstone.handling.mode` with the same effect, if there is one.
    fn mode_name(self) -> Option<&'static str> {
        Some(match (self.deletes, self.keep_tombstones) {
            (Deletes::Drop, false) => "drop",
            (Deletes::NullValue, false) => "tombstone",
            (Deletes::Rewrite, false) => "rewrite",
            (Deletes::Rewrite, true) => "rewrite-with-tombstone",
            (Deletes::Tombstone, false) => "delete-to-tombstone",
            _ => return None,
        })
    }

    fn rewrites(self) -> bool {
        self.deletes == Deletes::Rewrite
    }

    /// The handling `props` ask for: the mode key when set (or when no removed key is), else
    /// the removed keys with their old defaults (`true`, `drop`).
    fn configured(cfg: &Config, props: &Props) -> Result<Handling, ConfigError> {
        let legacy = props.contains_key(DROP_TOMBSTONES) || props.contains_key(DELETE_HANDLING);
        if props.contains_key(HANDLING_MODE) || !legacy {
            if legacy {
                tracing::warn!(
                    "{CLASS}: \"{DROP_TOMBSTONES}\" and \"{DELETE_HANDLING}\" are ignored because \
                     \"{HANDLING_MODE}\" is set (they were removed in Debezium 3.2)"
                );
            }
            let mode = cfg.get(HANDLING_MODE).unwrap_or("tombstone");
            return Handling::from_mode(mode).ok_or_else(|| {
                config::invalid(
                    HANDLING_MODE,
                    mode,
                    format!("String must be one of: {}", MODES.join(", ")),
                )
            });
        }
        let drop_tombstones = cfg.get_bool(DROP_TOMBSTONES).unwrap_or(true);
        let delete_handling = cfg.get(DELETE_HANDLING).unwrap_or("drop");
        let handling =
            Handling::from_legacy(drop_tombstones, delete_handling).ok_or_else(|| {
                config::invalid(
                    DELETE_HANDLING,
                    delete_handling,
                    format!("String must be one of: {}", LEGACY_MODES.join(", ")),
                )
            })?;
        let instead = match handling.mode_name() {
            Some(mode) => format!("{HANDLING_MODE}={mode}"),
            None => format!(
                "{HANDLING_MODE} (no mode keeps tombstones while {})",
                if handling.deletes == Deletes::Drop {
                    "dropping deletes"
                } else {
                    "turning deletes into null values"
                }
            ),
        };
        tracing::warn!(
            "{CLASS}: \"{DROP_TOMBSTONES}\" and \"{DELETE_HANDLING}\" are deprecated and were \
             removed in Debezium 3.2; honouring {DROP_TOMBSTONES}={drop_tombstones}, \
             {DELETE_HANDLING}={}; use {instead}",
            java_trim(delete_handling).to_ascii_lowercase()
        );
        Ok(handling)
    }
}

/// Java's `String.split` with a one-character separator: trailing empty parts are dropped, and
/// an empty string is one empty part.
fn java_split(s: &str, separator: char) -> Vec<&str> {
    if s.is_empty() {
        return vec![s];
    }
    let mut parts: Vec<&str> = s.split(separator).collect();
    while parts.last() == Some(&"") {
        parts.pop();
    }
    parts
}

/// An `add.fields` / `add.headers` entry: where its value is read and the name it gets.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FieldRef {
    /// The envelope struct field holding the field; `None` for a top-level field.
    holder: Option<String>,
    /// The field's name within its holder.
    field: String,
    /// The added field's or header's name, prefix included.
    name: String,
}

impl FieldRef {
    /// Parses one entry of the list under `key` (`raw` is the whole list, for the error).
    fn parse(key: &str, raw: &str, prefix: &str, entry: &str) -> Result<FieldRef, ConfigError> {
        let bad = || config::invalid(key, raw, format!("Unexpected field name: {entry}"));
        let parts = java_split(entry, ':');
        let (path, rename) = match parts[..] {
            [path] => (path, None),
            [path, new] => (path, Some(new)),
            _ => return Err(bad()),
        };
        let steps = java_split(path, '.');
        let (holder, field) = match steps[..] {
            [] => return Err(bad()),
            [field] => (default_holder(field).map(str::to_owned), field),
            // Java reads only the first two steps of a longer path.
            [holder, field, ..] => (Some(holder.to_owned()), field),
        };
        let name = match (rename, &holder) {
            (Some(new), _) => format!("{prefix}{new}"),
            (None, Some(holder)) if steps.len() > 1 => format!("{prefix}{holder}_{field}"),
            (None, _) => format!("{prefix}{field}"),
        };
        Ok(FieldRef {
            holder,
            field: field.to_owned(),
            name,
        })
    }

    /// The field this entry reads in an envelope schema: in its holder, else at top level.
    fn locate<'a>(&self, envelope: &'a Schema) -> Option<&'a Field> {
        self.holder
            .as_deref()
            .and_then(|holder| envelope.field(holder))
            .filter(|holder| holder.schema.type_ == Type::Struct)
            .and_then(|holder| holder.schema.field(&self.field))
            .or_else(|| envelope.field(&self.field))
    }

    /// The raw value (no default substitution); null when the holder is null.
    fn value(&self, envelope: &Struct) -> Value {
        let top = || envelope.get(&self.field).cloned().unwrap_or(Value::Null);
        let Some(holder) = &self.holder else {
            return top();
        };
        match envelope.get(holder) {
            Some(Value::Struct(holder)) => match holder.get(&self.field) {
                Some(v) => v.clone(),
                None => top(),
            },
            Some(Value::Null) => Value::Null,
            _ => top(),
        }
    }
}

/// The struct holding a bare field name.
fn default_holder(field: &str) -> Option<&'static str> {
    match field {
        "id" | "total_order" | "data_collection_order" => Some("transaction"),
        "op" | "ts_ms" | "ts_us" | "ts_ns" => None,
        // MongoDB's envelopes.
        "updateDescription" => Some("updateDescription"),
        _ => Some("source"),
    }
}

/// An added field's or header's schema: the source field's, optional, without default.
fn optional_copy(schema: &SchemaRef) -> SchemaRef {
    if schema.optional && schema.default.is_none() {
        return schema.clone();
    }
    Arc::new(Schema {
        optional: true,
        default: None,
        ..(**schema).clone()
    })
}

/// How `add.headers` and `add.fields` resolve against one envelope schema: the schema of each
/// entry, `None` for an entry the envelope does not have.
#[derive(Debug)]
struct EnvelopePlan {
    headers: Vec<Option<SchemaRef>>,
    fields: Vec<Option<SchemaRef>>,
}

/// A bounded memo keyed by an envelope schema and optionally a row schema; looked up by
/// pointer, then by equality, least recently used evicted first.
struct Memo<V> {
    entries: Vec<((SchemaRef, Option<SchemaRef>), V)>,
}

impl<V: Clone> Memo<V> {
    fn new() -> Memo<V> {
        Memo {
            entries: Vec::new(),
        }
    }

    fn get_or_try_insert(
        &mut self,
        envelope: &SchemaRef,
        row: Option<&SchemaRef>,
        build: impl FnOnce() -> Result<V, TransformError>,
    ) -> Result<V, TransformError> {
        let same = |(e, r): &(SchemaRef, Option<SchemaRef>)| {
            Arc::ptr_eq(e, envelope)
                && match (r, row) {
                    (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                    (a, b) => a.is_none() && b.is_none(),
                }
        };
        let equal = |(e, r): &(SchemaRef, Option<SchemaRef>)| {
            **e == **envelope
                && match (r, row) {
                    (Some(a), Some(b)) => **a == **b,
                    (a, b) => a.is_none() && b.is_none(),
                }
        };
        let key = (envelope.clone(), row.cloned());
        if let Some(i) = self
            .entries
            .iter()
            .position(|(k, _)| same(k))
            .or_else(|| self.entries.iter().position(|(k, _)| equal(k)))
        {
            // Most recently used last, keyed by the newest pointers.
            let (_, out) = self.entries.remove(i);
            self.entries.push((key, out.clone()));
            return Ok(out);
        }
        let out = build()?;
        if self.entries.len() >= CACHE_SIZE {
            self.entries.remove(0);
        }
        self.entries.push((key, out.clone()));
        Ok(out)
    }
}

/// A `ReplaceField` delegate for one side and drop list.
type Dropper = (Side, Vec<String>, Box<dyn Transformation>);

/// Unwraps Debezium change events.
pub struct ExtractNewRecordState {
    handling: Handling,
    route_by_field: Option<String>,
    add_fields: Vec<FieldRef>,
    add_headers: Vec<FieldRef>,
    drop_fields_header: Option<String>,
    drop_fields_from_key: bool,
    keep_schema_compatible: bool,
    /// `InsertField$Value` delegates appending `__deleted = "true"` / `"false"`.
    mark_deleted: Box<dyn Transformation>,
    mark_current: Box<dyn Transformation>,
    plans: Memo<Arc<EnvelopePlan>>,
    /// The row schema with the added fields, per envelope and row schema. (Debezium keys on the
    /// row schema and the op, the op standing in for envelopes that differ by a top-level field
    /// another SMT added; the envelope schema is what the added fields actually depend on.)
    outputs: Memo<SchemaRef>,
    droppers: Vec<Dropper>,
}

impl ExtractNewRecordState {
    fn create(_: Side, props: &Props) -> Result<Box<dyn Transformation>, ConfigError> {
        let cfg = config::parse(&config_def(), props)?;
        let handling = Handling::configured(&cfg, props)?;
        let refs = |list_key: &str, prefix_key: &str| -> Result<Vec<FieldRef>, ConfigError> {
            let prefix = cfg.get(prefix_key).unwrap_or(DEFAULT_PREFIX);
            let raw = cfg.get(list_key).unwrap_or_default();
            java_list(raw)
                .iter()
                // An empty entry names no field any envelope has.
                .filter(|entry| !entry.is_empty())
                .map(|entry| FieldRef::parse(list_key, raw, prefix, entry))
                .collect()
        };
        let add_fields = refs(ADD_FIELDS, ADD_FIELDS_PREFIX)?;
        let add_headers = refs(ADD_HEADERS, ADD_HEADERS_PREFIX)?;
        let replace_null_with_default = cfg
            .get_bool(config::REPLACE_NULL_WITH_DEFAULT)
            .unwrap_or(true);
        let marker = |value: &str| {
            let props: Props = [
                ("static.field", DELETED_FIELD),
                ("static.value", value),
                (
                    config::REPLACE_NULL_WITH_DEFAULT,
                    if replace_null_with_default {
                        "true"
                    } else {
                        "false"
                    },
                ),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
            InsertField::create(Side::Value, &props)
        };
        let non_blank = |key: &str| {
            cfg.get(key)
                .filter(|v| !java_trim(v).is_empty())
                .map(str::to_owned)
        };
        Ok(Box::new(ExtractNewRecordState {
            handling,
            route_by_field: cfg
                .get(ROUTE_BY_FIELD)
                .filter(|v| !v.is_empty())
                .map(str::to_owned),
            add_fields,
            add_headers,
            drop_fields_header: non_blank(DROP_FIELDS_HEADER),
            drop_fields_from_key: cfg.get_bool(DROP_FIELDS_FROM_KEY).unwrap_or(false),
            keep_schema_compatible: cfg
                .get_bool(DROP_FIELDS_KEEP_SCHEMA_COMPATIBLE)
                .unwrap_or(true),
            mark_deleted: marker("true")?,
            mark_current: marker("false")?,
            plans: Memo::new(),
            outputs: Memo::new(),
            droppers: Vec::new(),
        }))
    }

    /// A record with a null value: only an `op` header (`"d"`) is added.
    fn tombstone(&self, record: &mut dyn ConnectRecord) -> Outcome {
        for r in &self.add_headers {
            if r.field == OPERATION {
                record
                    .headers_mut()
                    .add(r.name.clone(), Some(Schema::string()), Value::from("d"));
            }
        }
        if self.handling.keep_tombstones {
            Outcome::Keep
        } else {
            Outcome::Drop
        }
    }

    fn plan(&mut self, envelope: &SchemaRef) -> Result<Arc<EnvelopePlan>, TransformError> {
        let (headers, fields) = (&self.add_headers, &self.add_fields);
        self.plans.get_or_try_insert(envelope, None, || {
            let resolve = |refs: &[FieldRef]| {
                refs.iter()
                    .map(|r| r.locate(envelope).map(|f| optional_copy(&f.schema)))
                    .collect()
            };
            Ok(Arc::new(EnvelopePlan {
                headers: resolve(headers),
                fields: resolve(fields),
            }))
        })
    }

    /// The values of the `add.fields` entries the envelope has, in order.
    fn extras(&self, envelope: &Struct, plan: &EnvelopePlan) -> Vec<Value> {
        self.add_fields
            .iter()
            .zip(&plan.fields)
            .filter(|(_, schema)| schema.is_some())
            .map(|(r, _)| r.value(envelope))
            .collect()
    }

    fn unwrap_envelope(
        &mut self,
        record: &mut dyn ConnectRecord,
        envelope: Struct,
    ) -> Result<Outcome, TransformError> {
        let schema = envelope.schema().clone();
        let plan = self.plan(&schema)?;
        for (r, header_schema) in self.add_headers.iter().zip(&plan.headers) {
            if let Some(header_schema) = header_schema {
                record.headers_mut().add(
                    r.name.clone(),
                    Some(header_schema.clone()),
                    r.value(&envelope),
                );
            }
        }
        let (after, _) = envelope_field(&schema, AFTER)?;
        if field_value(&envelope, &schema, after).is_null() {
            self.delete(record, envelope, &plan, after)
        } else {
            self.upsert(record, envelope, &plan, after)
        }
    }

    /// A create, update or read: the `after` row.
    fn upsert(
        &mut self,
        record: &mut dyn ConnectRecord,
        envelope: Struct,
        plan: &EnvelopePlan,
        after: usize,
    ) -> Result<Outcome, TransformError> {
        let extras = self.extras(&envelope, plan);
        let schema = envelope.schema().clone();
        let row_schema = schema.fields.get(after).map(|f| f.schema.clone());
        let row = take_field(envelope, after);
        let (schema_slot, value_slot) = record.value_mut();
        *schema_slot = row_schema;
        *value_slot = row;
        if self.handling.rewrites()
            && matches!(record.value(), Value::Struct(_))
            && self.mark_current.apply(record)? == Outcome::Drop
        {
            return Ok(Outcome::Drop);
        }
        if let Some(field) = &self.route_by_field {
            let row = require_struct(
                record.value(),
                "Read record to set topic routing for CREATE / UPDATE",
            )?;
            let topic = route_target(row, field)?;
            set_topic(record, topic);
        }
        self.add_fields(record, &schema, plan, extras)?;
        self.drop_fields(record)?;
        Ok(Outcome::Keep)
    }

    /// A delete (`after` null) or a truncate (`before` null too).
    fn delete(
        &mut self,
        record: &mut dyn ConnectRecord,
        envelope: Struct,
        plan: &EnvelopePlan,
        after: usize,
    ) -> Result<Outcome, TransformError> {
        let schema = envelope.schema().clone();
        let (before, _) = envelope_field(&schema, BEFORE)?;
        let old_row = field_value(&envelope, &schema, before);
        if old_row.is_null() || self.handling.deletes == Deletes::Drop {
            return Ok(Outcome::Drop);
        }
        let topic = match &self.route_by_field {
            Some(field) => route_target(
                require_struct(old_row, "Read record to set topic routing for DELETE")?,
                field,
            )?,
            None => None,
        };
        let extras = if self.handling.rewrites() {
            self.extras(&envelope, plan)
        } else {
            Vec::new()
        };
        let field_schema = |i: usize| schema.fields.get(i).map(|f| f.schema.clone());
        let (value_schema, value) = match self.handling.deletes {
            Deletes::NullValue => (field_schema(after), Value::Null),
            Deletes::Tombstone => (None, Value::Null),
            Deletes::Drop | Deletes::Rewrite => {
                (field_schema(before), take_field(envelope, before))
            }
        };
        let (schema_slot, value_slot) = record.value_mut();
        *schema_slot = value_schema;
        *value_slot = value;
        if self.handling.rewrites()
            && matches!(record.value(), Value::Struct(_))
            && self.mark_deleted.apply(record)? == Outcome::Drop
        {
            return Ok(Outcome::Drop);
        }
        set_topic(record, topic);
        self.drop_fields(record)?;
        if !record.value().is_null() {
            self.add_fields(record, &schema, plan, extras)?;
        }
        Ok(Outcome::Keep)
    }

    /// Rebuilds the row struct with the `add.fields` entries the envelope has appended.
    fn add_fields(
        &mut self,
        record: &mut dyn ConnectRecord,
        envelope: &SchemaRef,
        plan: &EnvelopePlan,
        extras: Vec<Value>,
    ) -> Result<(), TransformError> {
        let row = require_struct(record.value(), PURPOSE)?;
        let row_schema = row.schema().clone();
        // Java copies each column with `Struct.put`, which refuses a null in a required field.
        for (field, v) in row_schema.fields.iter().zip(row.values()) {
            check_put(&field.name, &field.schema, v)?;
        }
        let added = &self.add_fields;
        let out_schema = self
            .outputs
            .get_or_try_insert(envelope, Some(&row_schema), || {
                let columns = row_schema
                    .fields
                    .iter()
                    .map(|f| (f.name.clone(), f.schema.clone()));
                let extra = added
                    .iter()
                    .zip(&plan.fields)
                    .filter_map(|(r, s)| s.as_ref().map(|s| (r.name.clone(), s.clone())));
                struct_schema(&row_schema, columns.chain(extra))
            })?;
        let (schema_slot, value_slot) = record.value_mut();
        let Value::Struct(row) = std::mem::take(value_slot) else {
            return Err(TransformError::new(
                "the row value changed under the transformation",
            ));
        };
        let (_, mut values) = row.into_parts();
        values.extend(extras);
        let out = Struct::from_values(out_schema.clone(), values)?;
        *schema_slot = Some(out_schema);
        *value_slot = Value::Struct(out);
        Ok(())
    }

    /// Removes the fields listed in the `drop.fields.header.name` header from the value (and
    /// the key, with `drop.fields.from.key`).
    fn drop_fields(&mut self, record: &mut dyn ConnectRecord) -> Result<(), TransformError> {
        let Some(header_name) = &self.drop_fields_header else {
            return Ok(());
        };
        let Some(header) = record.headers().iter().find(|h| h.key == *header_name) else {
            return Ok(());
        };
        let names: Vec<String> = match &header.value {
            Value::Null => return Ok(()),
            Value::Array(items) => items
                .iter()
                .map(|item| match item {
                    Value::String(name) => Ok(name.clone()),
                    other => Err(TransformError::new(format!(
                        "The header {header_name} ({DROP_FIELDS_HEADER}) must list field names, \
                         found an element of type {}",
                        type_name(other)
                    ))),
                })
                .collect::<Result<_, _>>()?,
            other => {
                return Err(TransformError::new(format!(
                    "The header {header_name} ({DROP_FIELDS_HEADER}) must hold a list of field \
                     names, found: {}",
                    type_name(other)
                )))
            }
        };
        if names.is_empty() {
            return Ok(());
        }
        if self.drop_fields_from_key && !record.key().is_null() {
            let drop = self.to_drop(record.key_schema(), &names);
            if !drop.is_empty() {
                self.dropper(Side::Key, drop)?.apply(record)?;
            }
        }
        // A null value has nothing to drop (ReplaceField passes it through).
        if !record.value().is_null() {
            let drop = self.to_drop(record.value_schema(), &names);
            if !drop.is_empty() {
                self.dropper(Side::Value, drop)?.apply(record)?;
            }
        }
        Ok(())
    }

    /// The listed names to drop from a key or value with this schema.
    fn to_drop(&self, schema: Option<&SchemaRef>, names: &[String]) -> Vec<String> {
        if !self.keep_schema_compatible {
            return names.to_vec();
        }
        schema
            .map(|s| {
                s.fields
                    .iter()
                    .filter(|f| f.schema.optional && names.contains(&f.name))
                    .map(|f| f.name.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The `ReplaceField` delegate excluding `names` on `side`.
    fn dropper(
        &mut self,
        side: Side,
        names: Vec<String>,
    ) -> Result<&mut dyn Transformation, TransformError> {
        let i = match self
            .droppers
            .iter()
            .position(|(s, n, _)| *s == side && *n == names)
        {
            Some(i) => i,
            None => {
                let props: Props = [("exclude".to_owned(), names.join(","))]
                    .into_iter()
                    .collect();
                let delegate = ReplaceField::create(side, &props)
                    .map_err(|e| TransformError::new(e.message))?;
                if self.droppers.len() >= DROPPERS {
                    self.droppers.remove(0);
                }
                self.droppers.push((side, names, delegate));
                self.droppers.len() - 1
            }
        };
        match self.droppers.get_mut(i) {
            Some((_, _, delegate)) => Ok(delegate.as_mut()),
            None => Err(TransformError::new("the field-drop delegate is missing")),
        }
    }
}

/// The position and schema of a field of the envelope, or `Unknown field: <name>` (Java's
/// `ExtractField`).
fn envelope_field<'a>(
    schema: &'a Schema,
    name: &str,
) -> Result<(usize, &'a Field), TransformError> {
    schema
        .fields
        .iter()
        .enumerate()
        .find(|(_, f)| f.name == name)
        .ok_or_else(|| TransformError::new(format!("Unknown field: {name}")))
}

/// A field's value as `ExtractField` reads it (a null with a default reads as the default).
fn field_value<'a>(envelope: &'a Struct, schema: &'a Schema, index: usize) -> &'a Value {
    match (envelope.values().get(index), schema.fields.get(index)) {
        (Some(v), Some(field)) => with_default(v, &field.schema, true),
        _ => &Value::Null,
    }
}

/// Moves a field's value (as [`field_value`] reads it) out of the envelope.
fn take_field(envelope: Struct, index: usize) -> Value {
    let (schema, mut values) = envelope.into_parts();
    let value = values
        .get_mut(index)
        .map(std::mem::take)
        .unwrap_or_default();
    match (value, schema.fields.get(index)) {
        (Value::Null, Some(field)) => field.schema.default.clone().unwrap_or_default(),
        (value, _) => value,
    }
}

/// The topic a row routes to by `field` (a string field; Java's `Struct.getString`).
fn route_target(row: &Struct, field: &str) -> Result<Option<String>, TransformError> {
    let Some(f) = row.schema().field(field) else {
        return Err(TransformError::new(format!(
            "{field} is not a valid field name"
        )));
    };
    if f.schema.type_ != Type::String {
        return Err(TransformError::new(format!(
            "Field '{field}' is not of type STRING"
        )));
    }
    let value = row.get(field).unwrap_or(&Value::Null);
    Ok(with_default(value, &f.schema, true)
        .as_str()
        .map(str::to_owned))
}

/// Sets the topic unless `topic` is null or blank.
fn set_topic(record: &mut dyn ConnectRecord, topic: Option<String>) {
    if let Some(topic) = topic.filter(|t| !java_trim(t).is_empty()) {
        record.set_topic(topic);
    }
}

impl Transformation for ExtractNewRecordState {
    fn apply(&mut self, record: &mut dyn ConnectRecord) -> Result<Outcome, TransformError> {
        if record.value().is_null() {
            return Ok(self.tombstone(record));
        }
        let is_envelope = record
            .value_schema()
            .and_then(|s| s.name.as_deref())
            .is_some_and(|name| name.ends_with(ENVELOPE_SUFFIX));
        if !is_envelope || !matches!(record.value(), Value::Struct(_)) {
            return Ok(Outcome::Keep);
        }
        let (_, slot) = record.value_mut();
        let Value::Struct(envelope) = std::mem::take(slot) else {
            return Err(TransformError::new(
                "the envelope changed under the transformation",
            ));
        };
        self.unwrap_envelope(record, envelope)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tributary_connector_api::SinkRecord;

    use super::*;
    use crate::smt::testing::{apply, build, map, sink, source, strukt, transform};

    const TOPIC: &str = "dbserver1.inventory.customers";

    /// The schemas of Debezium's PostgreSQL connector for `inventory.customers`
    /// (`topic.prefix=dbserver1`).
    struct Pg {
        key: SchemaRef,
        row: SchemaRef,
        source: SchemaRef,
        tx: SchemaRef,
        envelope: SchemaRef,
    }

    /// How `Pg::event` fills an envelope.
    struct Event {
        op: &'static str,
        before: Value,
        after: Value,
        tx: bool,
    }

    fn pg() -> Pg {
        let email = Schema::new(Type::String)
            .optional()
            .with_default(Value::from("nobody@example.com"))
            .into_ref();
        let row = Schema::struct_([
            ("id", Schema::int32()),
            ("name", Schema::optional_string()),
            ("email", email),
        ])
        .with_name(format!("{TOPIC}.Value"))
        .optional()
        .into_ref();
        let key = Schema::struct_([("id", Schema::int32())])
            .with_name(format!("{TOPIC}.Key"))
            .into_ref();
        let snapshot = Schema::new(Type::String)
            .optional()
            .with_name("io.debezium.data.Enum")
            .with_version(1)
            .with_parameter("allowed", "true,first,last,false,incremental")
            .with_default(Value::from("false"))
            .into_ref();
        let source = Schema::struct_([
            ("version", Schema::string()),
            ("connector", Schema::string()),
            ("name", Schema::string()),
            ("ts_ms", Schema::int64()),
            ("snapshot", snapshot),
            ("db", Schema::string()),
            ("sequence", Schema::optional_string()),
            ("schema", Schema::string()),
            ("table", Schema::string()),
            ("txId", Schema::optional_int64()),
            ("lsn", Schema::optional_int64()),
            ("xmin", Schema::optional_int64()),
        ])
        .with_name("io.debezium.connector.postgresql.Source")
        .into_ref();
        let tx = Schema::struct_([
            ("id", Schema::string()),
            ("total_order", Schema::int64()),
            ("data_collection_order", Schema::int64()),
        ])
        .with_name("event.block")
        .with_version(1)
        .optional()
        .into_ref();
        let envelope = envelope_schema(&row, &source, &tx, &[]);
        Pg {
            key,
            row,
            source,
            tx,
            envelope,
        }
    }

    /// The envelope schema, with `extra` top-level fields appended.
    fn envelope_schema(
        row: &SchemaRef,
        source: &SchemaRef,
        tx: &SchemaRef,
        extra: &[(&str, SchemaRef)],
    ) -> SchemaRef {
        let mut fields = vec![
            ("before", row.clone()),
            ("after", row.clone()),
            ("source", source.clone()),
            ("transaction", tx.clone()),
            ("op", Schema::string()),
            ("ts_ms", Schema::optional_int64()),
            ("ts_us", Schema::optional_int64()),
            ("ts_ns", Schema::optional_int64()),
        ];
        fields.extend(extra.iter().map(|(n, s)| (*n, s.clone())));
        Schema::struct_(fields)
            .with_name(format!("{TOPIC}.Envelope"))
            .with_version(2)
            .into_ref()
    }

    impl Pg {
        fn row(&self, id: i32, name: Option<&str>, email: Option<&str>) -> Value {
            let text = |v: Option<&str>| v.map_or(Value::Null, Value::from);
            strukt(
                &self.row,
                vec![
                    ("id", Value::Int32(id)),
                    ("name", text(name)),
                    ("email", text(email)),
                ],
            )
        }

        fn key(&self) -> Value {
            strukt(&self.key, vec![("id", Value::Int32(1))])
        }

        fn source(&self) -> Value {
            strukt(
                &self.source,
                vec![
                    ("version", "3.2.0.Final".into()),
                    ("connector", "postgresql".into()),
                    ("name", "dbserver1".into()),
                    ("ts_ms", Value::Int64(1_700_000_000_000)),
                    ("snapshot", "false".into()),
                    ("db", "postgres".into()),
                    ("sequence", "[\"24023128\",\"24023184\"]".into()),
                    ("schema", "inventory".into()),
                    ("table", "customers".into()),
                    ("txId", Value::Int64(565)),
                    ("lsn", Value::Int64(24_023_184)),
                ],
            )
        }

        fn tx(&self) -> Value {
            strukt(
                &self.tx,
                vec![
                    ("id", "565:24023184".into()),
                    ("total_order", Value::Int64(3)),
                    ("data_collection_order", Value::Int64(2)),
                ],
            )
        }

        fn envelope_value(&self, schema: &SchemaRef, e: Event) -> Value {
            strukt(
                schema,
                vec![
                    ("before", e.before),
                    ("after", e.after),
                    ("source", self.source()),
                    ("transaction", if e.tx { self.tx() } else { Value::Null }),
                    ("op", e.op.into()),
                    ("ts_ms", Value::Int64(1_700_000_000_123)),
                    ("ts_us", Value::Int64(1_700_000_000_123_456)),
                    ("ts_ns", Value::Int64(1_700_000_000_123_456_789)),
                ],
            )
        }

        fn event(&self, e: Event) -> SinkRecord {
            let value = self.envelope_value(&self.envelope, e);
            sink(
                TOPIC,
                Some(self.key.clone()),
                self.key(),
                Some(self.envelope.clone()),
                value,
            )
        }

        fn anne(&self) -> Value {
            self.row(1, Some("Anne"), Some("anne@example.com"))
        }

        /// Anne renamed, her email cleared.
        fn annie(&self) -> Value {
            self.row(1, Some("Annie"), None)
        }

        fn create(&self) -> SinkRecord {
            self.event(Event {
                op: "c",
                before: Value::Null,
                after: self.anne(),
                tx: true,
            })
        }

        fn update(&self) -> SinkRecord {
            self.event(Event {
                op: "u",
                before: self.anne(),
                after: self.annie(),
                tx: true,
            })
        }

        /// A snapshot read (no transaction block).
        fn read(&self) -> SinkRecord {
            self.event(Event {
                op: "r",
                before: Value::Null,
                after: self.anne(),
                tx: false,
            })
        }

        fn delete(&self) -> SinkRecord {
            self.event(Event {
                op: "d",
                before: self.annie(),
                after: Value::Null,
                tx: true,
            })
        }

        fn truncate(&self) -> SinkRecord {
            self.event(Event {
                op: "t",
                before: Value::Null,
                after: Value::Null,
                tx: true,
            })
        }

        /// The tombstone Debezium writes after a delete.
        fn tombstone(&self) -> SinkRecord {
            sink(TOPIC, Some(self.key.clone()), self.key(), None, Value::Null)
        }

        /// c, u, r, d, tombstone, t.
        fn all(&self) -> [SinkRecord; 6] {
            [
                self.create(),
                self.update(),
                self.read(),
                self.delete(),
                self.tombstone(),
                self.truncate(),
            ]
        }
    }

    /// The record after the transformation, `None` if dropped.
    fn run(pairs: &[(&str, &str)], mut record: SinkRecord) -> Option<SinkRecord> {
        let mut t = transform(CLASS, pairs);
        match apply(t.as_mut(), &mut record) {
            Outcome::Keep => Some(record),
            Outcome::Drop => None,
        }
    }

    fn run_err(pairs: &[(&str, &str)], mut record: SinkRecord) -> String {
        let mut t = transform(CLASS, pairs);
        t.apply(&mut record).unwrap_err().message
    }

    fn values(v: &Value) -> Vec<Value> {
        match v {
            Value::Struct(s) => s.values().to_vec(),
            other => panic!("not a struct: {other:?}"),
        }
    }

    fn field_names(schema: &Option<SchemaRef>) -> Vec<&str> {
        let schema = schema.as_ref().expect("a value schema");
        schema.fields.iter().map(|f| f.name.as_str()).collect()
    }

    fn get<'a>(v: &'a Value, name: &str) -> &'a Value {
        match v {
            Value::Struct(s) => s.get(name).unwrap_or_else(|| panic!("no field {name}")),
            other => panic!("not a struct: {other:?}"),
        }
    }

    fn headers(r: &SinkRecord) -> Vec<(&str, Value)> {
        r.headers
            .iter()
            .map(|h| (h.key.as_str(), h.value.clone()))
            .collect()
    }

    /// What a record should become.
    #[derive(Debug, Clone, Copy)]
    enum Out {
        Dropped,
        /// The `after` row, with `__deleted` if given.
        After(Option<&'static str>),
        /// The `before` row with `__deleted = "true"`.
        Before,
        /// Value null, value schema the row's.
        NullValue,
        /// Value and value schema null.
        Tombstone,
        Unchanged,
    }

    fn check(pg: &Pg, label: &str, input: &SinkRecord, got: Option<SinkRecord>, want: Out) {
        let envelope = &input.value;
        // Rewriting goes through InsertField, which (replace.null.with.default=true) reads null
        // columns with their defaults.
        let row_with = |row: &Value, deleted: Option<&str>| {
            let mut v: Vec<Value> = values(row)
                .iter()
                .zip(&pg.row.fields)
                .map(|(v, f)| match deleted {
                    Some(_) => with_default(v, &f.schema, true).clone(),
                    None => v.clone(),
                })
                .collect();
            v.extend(deleted.map(Value::from));
            v
        };
        match (want, got) {
            (Out::Dropped, None) => {}
            (Out::Dropped, Some(r)) => panic!("{label}: kept {r:?}"),
            (_, None) => panic!("{label}: dropped"),
            (Out::Unchanged, Some(r)) => assert_eq!(&r, input, "{label}"),
            (want, Some(r)) => {
                // Only the value (and nothing else) changes.
                assert_eq!(r.topic, TOPIC, "{label}");
                assert_eq!((r.kafka_partition, r.kafka_offset), (0, 42), "{label}");
                assert_eq!(r.timestamp, Some(1000), "{label}");
                assert_eq!((&r.key_schema, &r.key), (&input.key_schema, &input.key));
                match want {
                    Out::After(deleted) => {
                        assert_eq!(
                            values(&r.value),
                            row_with(get(envelope, "after"), deleted),
                            "{label}"
                        );
                        assert_eq!(
                            r.value_schema.as_ref().unwrap().name.as_deref(),
                            Some("dbserver1.inventory.customers.Value")
                        );
                    }
                    Out::Before => assert_eq!(
                        values(&r.value),
                        row_with(get(envelope, "before"), Some("true")),
                        "{label}"
                    ),
                    Out::NullValue => {
                        assert_eq!(r.value, Value::Null, "{label}");
                        assert!(Arc::ptr_eq(r.value_schema.as_ref().unwrap(), &pg.row));
                    }
                    Out::Tombstone => {
                        assert_eq!((r.value_schema, r.value), (None, Value::Null), "{label}")
                    }
                    Out::Dropped | Out::Unchanged => unreachable!(),
                }
            }
        }
    }

    #[test]
    fn resolves_by_class_and_simple_name() {
        assert_eq!(
            crate::find_transformation(CLASS).map(|p| p.class),
            Some(CLASS)
        );
        assert_eq!(
            crate::find_transformation("ExtractNewRecordState").map(|p| p.class),
            Some(CLASS)
        );
    }

    #[test]
    fn every_mode_on_every_kind_of_record() {
        use Out::*;
        let pg = pg();
        let upserts = |o: Out| [o, o, o];
        let table: [(Option<&str>, [Out; 3], [Out; 3]); 6] = [
            // (mode, [c, u, r], [d, tombstone, t])
            (None, upserts(After(None)), [NullValue, Dropped, Dropped]),
            (
                Some("drop"),
                upserts(After(None)),
                [Dropped, Dropped, Dropped],
            ),
            (
                Some("tombstone"),
                upserts(After(None)),
                [NullValue, Dropped, Dropped],
            ),
            (
                Some("rewrite"),
                upserts(After(Some("false"))),
                [Before, Dropped, Dropped],
            ),
            (
                Some("rewrite-with-tombstone"),
                upserts(After(Some("false"))),
                [Before, Unchanged, Dropped],
            ),
            (
                Some("delete-to-tombstone"),
                upserts(After(None)),
                [Tombstone, Dropped, Dropped],
            ),
        ];
        let kinds = ["c", "u", "r", "d", "tombstone", "t"];
        for (mode, upsert, rest) in table {
            let pairs: Vec<(&str, &str)> = mode.iter().map(|m| (HANDLING_MODE, *m)).collect();
            let wants = upsert.iter().chain(&rest);
            for ((kind, input), want) in kinds.iter().zip(pg.all()).zip(wants) {
                let label = format!("{mode:?} {kind}");
                let got = run(&pairs, input.clone());
                check(&pg, &label, &input, got, *want);
            }
        }
    }

    #[test]
    fn mode_is_case_insensitive_and_trimmed() {
        let pg = pg();
        for mode in ["REWRITE", " Rewrite ", "rewrite"] {
            let r = run(&[(HANDLING_MODE, mode)], pg.delete()).unwrap();
            assert_eq!(get(&r.value, "__deleted"), &Value::from("true"), "{mode}");
        }
        for mode in ["Delete-To-Tombstone", "DELETE-TO-TOMBSTONE"] {
            let r = run(&[(HANDLING_MODE, mode)], pg.delete()).unwrap();
            assert_eq!((r.value_schema, r.value), (None, Value::Null));
        }
    }

    #[test]
    fn output_schemas() {
        let pg = pg();
        // c/u/r: the row struct rebuilt (required, same name, version, doc, parameters and
        // fields) even with nothing to add, as Debezium's add.fields step always rebuilds it.
        let r = run(&[], pg.create()).unwrap();
        let rebuilt = Schema {
            optional: false,
            ..(*pg.row).clone()
        };
        assert_eq!(r.value_schema.as_deref(), Some(&rebuilt));
        let Value::Struct(s) = &r.value else { panic!() };
        assert!(Arc::ptr_eq(s.schema(), r.value_schema.as_ref().unwrap()));
        // Rewrite: the optional string __deleted after the columns.
        for input in [pg.create(), pg.delete()] {
            let r = run(&[(HANDLING_MODE, "rewrite")], input).unwrap();
            let schema = r.value_schema.as_ref().unwrap();
            assert_eq!(
                field_names(&r.value_schema),
                ["id", "name", "email", "__deleted"]
            );
            assert_eq!(
                schema.name.as_deref(),
                Some("dbserver1.inventory.customers.Value")
            );
            assert!(!schema.optional);
            assert_eq!(schema.fields[3].schema, Schema::optional_string());
        }
        // Tombstone-mode deletes keep the `after` field's schema itself.
        let r = run(&[], pg.delete()).unwrap();
        assert!(Arc::ptr_eq(r.value_schema.as_ref().unwrap(), &pg.row));
    }

    #[test]
    fn replace_null_with_default_only_matters_when_rewriting() {
        let pg = pg();
        // Annie's email is null; its column defaults to nobody@example.com.
        let email = |pairs: &[(&str, &str)], input: SinkRecord| {
            get(&run(pairs, input).unwrap().value, "email").clone()
        };
        let default = Value::from("nobody@example.com");
        assert_eq!(email(&[], pg.update()), Value::Null);
        assert_eq!(
            email(&[("replace.null.with.default", "true")], pg.update()),
            Value::Null
        );
        for input in [pg.update(), pg.delete()] {
            assert_eq!(email(&[(HANDLING_MODE, "rewrite")], input.clone()), default);
            assert_eq!(
                email(
                    &[
                        (HANDLING_MODE, "rewrite-with-tombstone"),
                        ("replace.null.with.default", "false")
                    ],
                    input
                ),
                Value::Null
            );
        }
    }

    #[test]
    fn legacy_keys_map_to_modes() {
        let pg = pg();
        let outcomes = |pairs: &[(&str, &str)]| -> Vec<Option<SinkRecord>> {
            pg.all().into_iter().map(|r| run(pairs, r)).collect()
        };
        for (legacy, mode) in [
            (
                vec![(DROP_TOMBSTONES, "true"), (DELETE_HANDLING, "drop")],
                "drop",
            ),
            (
                vec![(DROP_TOMBSTONES, "true"), (DELETE_HANDLING, "none")],
                "tombstone",
            ),
            (
                vec![(DROP_TOMBSTONES, "true"), (DELETE_HANDLING, "rewrite")],
                "rewrite",
            ),
            (
                vec![(DROP_TOMBSTONES, "false"), (DELETE_HANDLING, "rewrite")],
                "rewrite-with-tombstone",
            ),
            // The old defaults: drop.tombstones=true, delete.handling.mode=drop.
            (vec![(DROP_TOMBSTONES, "true")], "drop"),
            (vec![(DELETE_HANDLING, "drop")], "drop"),
            (vec![(DELETE_HANDLING, "none")], "tombstone"),
            (vec![(DELETE_HANDLING, " REWRITE ")], "rewrite"),
            (
                vec![(DROP_TOMBSTONES, "FALSE"), (DELETE_HANDLING, "Rewrite")],
                "rewrite-with-tombstone",
            ),
        ] {
            assert_eq!(
                outcomes(&legacy),
                outcomes(&[(HANDLING_MODE, mode)]),
                "{legacy:?}"
            );
        }

        // The two combinations no mode has.
        let kinds = ["c", "u", "r", "d", "tombstone", "t"];
        use Out::*;
        for (legacy, wants) in [
            (
                vec![(DROP_TOMBSTONES, "false"), (DELETE_HANDLING, "drop")],
                [
                    After(None),
                    After(None),
                    After(None),
                    Dropped,
                    Unchanged,
                    Dropped,
                ],
            ),
            (
                vec![(DROP_TOMBSTONES, "false")],
                [
                    After(None),
                    After(None),
                    After(None),
                    Dropped,
                    Unchanged,
                    Dropped,
                ],
            ),
            (
                vec![(DROP_TOMBSTONES, "false"), (DELETE_HANDLING, "none")],
                [
                    After(None),
                    After(None),
                    After(None),
                    NullValue,
                    Unchanged,
                    Dropped,
                ],
            ),
        ] {
            for ((kind, input), want) in kinds.iter().zip(pg.all()).zip(wants) {
                let got = run(&legacy, input.clone());
                check(&pg, &format!("{legacy:?} {kind}"), &input, got, want);
            }
        }

        // The mode key, when set, wins over the removed keys.
        let mixed = [
            (HANDLING_MODE, "rewrite"),
            (DROP_TOMBSTONES, "false"),
            (DELETE_HANDLING, "none"),
        ];
        assert_eq!(outcomes(&mixed), outcomes(&[(HANDLING_MODE, "rewrite")]));
    }

    #[test]
    fn handling_names() {
        for mode in MODES {
            let h = Handling::from_mode(mode).unwrap();
            assert_eq!(h.mode_name(), Some(mode));
        }
        assert_eq!(Handling::from_mode("nope"), None);
        assert_eq!(Handling::from_legacy(true, "bogus"), None);
        assert_eq!(
            Handling::from_legacy(false, "drop").unwrap().mode_name(),
            None
        );
        assert_eq!(
            Handling::from_legacy(false, "none").unwrap().mode_name(),
            None
        );
        assert_eq!(
            Handling::from_legacy(true, "none"),
            Handling::from_mode("tombstone")
        );
    }

    #[test]
    fn add_fields_naming_and_schemas() {
        let pg = pg();
        let list = "op,table,lsn,source.ts_ms,ts_ms,ts_us,ts_ns,id,total_order,\
                    data_collection_order,version:V,source.txId:TX,snapshot,nope,transaction.nope";
        let r = run(&[(ADD_FIELDS, list)], pg.create()).unwrap();
        assert_eq!(
            field_names(&r.value_schema),
            [
                "id",
                "name",
                "email",
                "__op",
                "__table",
                "__lsn",
                "__source_ts_ms",
                "__ts_ms",
                "__ts_us",
                "__ts_ns",
                "__id",
                "__total_order",
                "__data_collection_order",
                "__V",
                "__TX",
                "__snapshot",
            ]
        );
        assert_eq!(
            values(&r.value)[3..],
            [
                Value::from("c"),
                Value::from("customers"),
                Value::Int64(24_023_184),
                Value::Int64(1_700_000_000_000),
                Value::Int64(1_700_000_000_123),
                Value::Int64(1_700_000_000_123_456),
                Value::Int64(1_700_000_000_123_456_789),
                Value::from("565:24023184"),
                Value::Int64(3),
                Value::Int64(2),
                Value::from("3.2.0.Final"),
                Value::Int64(565),
                Value::from("false"),
            ]
        );
        let schema = r.value_schema.as_ref().unwrap();
        let of = |name: &str| schema.field(name).unwrap().schema.clone();
        // Optional copies of the source fields' schemas.
        assert_eq!(of("__op"), Schema::optional_string());
        assert_eq!(of("__source_ts_ms"), Schema::optional_int64());
        assert_eq!(of("__table"), Schema::optional_string());
        assert_eq!(of("__id"), Schema::optional_string());
        assert_eq!(of("__total_order"), Schema::optional_int64());
        assert_eq!(of("__lsn"), Schema::optional_int64());
        // Name, version and parameters kept; the default is not.
        let snapshot = of("__snapshot");
        assert_eq!(snapshot.name.as_deref(), Some("io.debezium.data.Enum"));
        assert_eq!(snapshot.version, Some(1));
        assert!(snapshot.parameters.is_some());
        assert!(snapshot.optional);
        assert_eq!(snapshot.default, None);
        // The row struct keeps its name.
        assert_eq!(
            schema.name.as_deref(),
            Some("dbserver1.inventory.customers.Value")
        );
    }

    #[test]
    fn add_fields_prefix_and_renames() {
        let pg = pg();
        let r = run(
            &[
                (ADD_FIELDS, "op, source.ts_ms:event_ts ,table,db:database"),
                (ADD_FIELDS_PREFIX, ""),
            ],
            pg.update(),
        )
        .unwrap();
        assert_eq!(
            field_names(&r.value_schema),
            ["id", "name", "email", "op", "event_ts", "table", "database"]
        );
        assert_eq!(get(&r.value, "op"), &Value::from("u"));
        assert_eq!(get(&r.value, "event_ts"), &Value::Int64(1_700_000_000_000));
        assert_eq!(get(&r.value, "database"), &Value::from("postgres"));
        // A prefix applies to renames too.
        let r = run(
            &[
                (ADD_FIELDS, "source.ts_ms:EVENT_TS"),
                (ADD_FIELDS_PREFIX, "meta_"),
            ],
            pg.update(),
        )
        .unwrap();
        assert_eq!(field_names(&r.value_schema)[3..], ["meta_EVENT_TS"]);
        // A name taken by a column cannot be added.
        let err = run_err(
            &[(ADD_FIELDS, "name"), (ADD_FIELDS_PREFIX, "")],
            pg.create(),
        );
        assert!(err.contains("field name duplication name"), "{err}");
    }

    #[test]
    fn add_fields_without_transaction_metadata_and_on_deletes() {
        let pg = pg();
        // A snapshot read has no transaction block: its fields are added, null.
        let r = run(&[(ADD_FIELDS, "op,id,total_order")], pg.read()).unwrap();
        assert_eq!(
            values(&r.value)[3..],
            [Value::from("r"), Value::Null, Value::Null]
        );
        // Rewritten deletes get them after __deleted.
        let r = run(
            &[(HANDLING_MODE, "rewrite"), (ADD_FIELDS, "op,table")],
            pg.delete(),
        )
        .unwrap();
        assert_eq!(
            field_names(&r.value_schema),
            ["id", "name", "email", "__deleted", "__op", "__table"]
        );
        assert_eq!(
            values(&r.value)[3..],
            [
                Value::from("true"),
                Value::from("d"),
                Value::from("customers")
            ]
        );
        let r = run(
            &[(HANDLING_MODE, "rewrite"), (ADD_FIELDS, "op")],
            pg.update(),
        )
        .unwrap();
        assert_eq!(
            values(&r.value)[3..],
            [Value::from("false"), Value::from("u")]
        );
        // A null-valued delete gets none.
        let r = run(&[(ADD_FIELDS, "op,table")], pg.delete()).unwrap();
        assert_eq!(r.value, Value::Null);
        assert!(Arc::ptr_eq(r.value_schema.as_ref().unwrap(), &pg.row));
    }

    #[test]
    fn add_fields_falls_back_to_top_level_fields() {
        let pg = pg();
        // A field another SMT put at the top level of the envelope (as HeaderToValue does).
        let envelope = envelope_schema(
            &pg.row,
            &pg.source,
            &pg.tx,
            &[("changed", Schema::optional_string())],
        );
        let mut value = pg.envelope_value(
            &envelope,
            Event {
                op: "u",
                before: pg.anne(),
                after: pg.annie(),
                tx: true,
            },
        );
        if let Value::Struct(s) = &mut value {
            s.put("changed", "name,email").unwrap();
        }
        let input = sink(TOPIC, None, Value::Null, Some(envelope), value);
        let r = run(&[(ADD_FIELDS, "changed,source.changed:c2")], input).unwrap();
        assert_eq!(field_names(&r.value_schema)[3..], ["__changed", "__c2"]);
        assert_eq!(
            values(&r.value)[3..],
            [Value::from("name,email"), Value::from("name,email")]
        );
        // The plain envelope has no such field: nothing is added.
        let r = run(&[(ADD_FIELDS, "changed")], pg.update()).unwrap();
        assert_eq!(field_names(&r.value_schema), ["id", "name", "email"]);
    }

    #[test]
    fn add_headers() {
        let pg = pg();
        let pairs = [(ADD_HEADERS, "op,table,source.ts_ms:EVENT_TS,id,lsn,nope")];
        let mut input = pg.create();
        input.headers.add("existing", None, Value::from("kept"));
        let r = run(&pairs, input).unwrap();
        assert_eq!(
            headers(&r),
            [
                ("existing", Value::from("kept")),
                ("__op", Value::from("c")),
                ("__table", Value::from("customers")),
                ("__EVENT_TS", Value::Int64(1_700_000_000_000)),
                ("__id", Value::from("565:24023184")),
                ("__lsn", Value::Int64(24_023_184)),
            ]
        );
        let schema_of = |r: &SinkRecord, key: &str| {
            r.headers
                .iter()
                .find(|h| h.key == key)
                .and_then(|h| h.schema.clone())
        };
        assert_eq!(schema_of(&r, "__op"), Some(Schema::optional_string()));
        assert_eq!(schema_of(&r, "__EVENT_TS"), Some(Schema::optional_int64()));
        // The value itself gains no fields.
        assert_eq!(field_names(&r.value_schema), ["id", "name", "email"]);

        // Deletes and reads (no transaction block: a null id).
        let r = run(&pairs, pg.delete()).unwrap();
        assert_eq!(headers(&r)[0], ("__op", Value::from("d")));
        let r = run(&pairs, pg.read()).unwrap();
        assert_eq!(headers(&r)[3], ("__id", Value::Null));

        // No prefix.
        let r = run(
            &[(ADD_HEADERS, "op"), (ADD_HEADERS_PREFIX, "")],
            pg.update(),
        )
        .unwrap();
        assert_eq!(headers(&r), [("op", Value::from("u"))]);

        // A kept tombstone gets only the op header, "d", with a required string schema.
        let keep = [
            (HANDLING_MODE, "rewrite-with-tombstone"),
            (ADD_HEADERS, "op,table,source.op:OP2"),
        ];
        let r = run(&keep, pg.tombstone()).unwrap();
        assert_eq!(
            headers(&r),
            [("__op", Value::from("d")), ("__OP2", Value::from("d"))]
        );
        assert_eq!(schema_of(&r, "__op"), Some(Schema::string()));
        assert_eq!((r.value_schema, r.value), (None, Value::Null));

        // Records that are no envelopes get none.
        let plain = sink(
            TOPIC,
            None,
            Value::Null,
            None,
            map(vec![("op", "c".into())]),
        );
        let r = run(&pairs, plain.clone()).unwrap();
        assert_eq!(r, plain);
    }

    #[test]
    fn route_by_field() {
        let pg = pg();
        let route = [(ROUTE_BY_FIELD, "name")];
        // c/u/r read the new row, deletes the old one.
        assert_eq!(run(&route, pg.create()).unwrap().topic, "Anne");
        assert_eq!(run(&route, pg.update()).unwrap().topic, "Annie");
        assert_eq!(run(&route, pg.read()).unwrap().topic, "Anne");
        for mode in [
            "tombstone",
            "rewrite",
            "rewrite-with-tombstone",
            "delete-to-tombstone",
        ] {
            let r = run(&[route[0], (HANDLING_MODE, mode)], pg.delete()).unwrap();
            assert_eq!(r.topic, "Annie", "{mode}");
        }
        // In the rewrite modes __deleted is there by the time the row is routed.
        let r = run(
            &[(ROUTE_BY_FIELD, "__deleted"), (HANDLING_MODE, "rewrite")],
            pg.create(),
        )
        .unwrap();
        assert_eq!(r.topic, "false");
        // A null or blank value keeps the topic.
        let nameless = |name: Option<&str>| {
            pg.event(Event {
                op: "c",
                before: Value::Null,
                after: pg.row(2, name, None),
                tx: false,
            })
        };
        assert_eq!(run(&route, nameless(None)).unwrap().topic, TOPIC);
        assert_eq!(run(&route, nameless(Some("  "))).unwrap().topic, TOPIC);
        // The field must exist and be a string.
        assert_eq!(
            run_err(&[(ROUTE_BY_FIELD, "nope")], pg.create()),
            "nope is not a valid field name"
        );
        assert_eq!(
            run_err(&[(ROUTE_BY_FIELD, "id")], pg.delete()),
            "Field 'id' is not of type STRING"
        );
        // Unset (or empty) routes nowhere.
        assert_eq!(
            run(&[(ROUTE_BY_FIELD, "")], pg.create()).unwrap().topic,
            TOPIC
        );
    }

    /// `input` with the header `unchanged` listing `names`.
    fn with_drop_header(mut input: SinkRecord, names: Value) -> SinkRecord {
        let schema = Schema::array(Schema::string()).optional().into_ref();
        input.headers.add("unchanged", Some(schema), names);
        input
    }

    fn names(list: &[&str]) -> Value {
        Value::Array(list.iter().map(|n| Value::from(*n)).collect())
    }

    #[test]
    fn drop_fields_named_by_a_header() {
        let pg = pg();
        let header = (DROP_FIELDS_HEADER, "unchanged");
        let listed = || with_drop_header(pg.update(), names(&["name", "id", "nope"]));
        // Schema compatible (the default): only optional fields go; `id` is required.
        let r = run(&[header], listed()).unwrap();
        assert_eq!(field_names(&r.value_schema), ["id", "email"]);
        // Dropping goes through ReplaceField at its defaults (as in Debezium), which reads the
        // null email with its default.
        assert_eq!(
            values(&r.value),
            [Value::Int32(1), Value::from("nobody@example.com")]
        );
        assert_eq!(
            r.value_schema.as_ref().unwrap().name.as_deref(),
            Some("dbserver1.inventory.customers.Value")
        );
        assert_eq!(r.key, pg.key());
        // From the key too: its only field is required, so it stays.
        let r = run(&[header, (DROP_FIELDS_FROM_KEY, "true")], listed()).unwrap();
        assert_eq!((r.key_schema, r.key), (Some(pg.key.clone()), pg.key()));
        // Not schema compatible: every listed field goes.
        let loose = (DROP_FIELDS_KEEP_SCHEMA_COMPATIBLE, "false");
        let r = run(&[header, loose], listed()).unwrap();
        assert_eq!(field_names(&r.value_schema), ["email"]);
        assert_eq!(r.key, pg.key());
        let r = run(&[header, loose, (DROP_FIELDS_FROM_KEY, "true")], listed()).unwrap();
        assert!(field_names(&r.key_schema).is_empty());
        assert_eq!(field_names(&r.value_schema), ["email"]);

        // Nothing to do: no header, a null one, an empty list, or no header name configured.
        let plain = run(&[], pg.update()).unwrap();
        for (pairs, input) in [
            (vec![header], pg.update()),
            (vec![header], with_drop_header(pg.update(), Value::Null)),
            (vec![header], with_drop_header(pg.update(), names(&[]))),
            (vec![(DROP_FIELDS_HEADER, "  ")], listed()),
            (vec![], listed()),
        ] {
            let r = run(&pairs, input).unwrap();
            assert_eq!(r.value_schema, plain.value_schema, "{pairs:?}");
            assert_eq!(values(&r.value), values(&plain.value), "{pairs:?}");
        }

        // The header must hold a list of strings.
        let err = run_err(&[header], with_drop_header(pg.update(), "name".into()));
        assert!(err.contains("must hold a list of field names"), "{err}");
        let err = run_err(
            &[header],
            with_drop_header(pg.update(), Value::Array(vec![Value::Int32(1)])),
        );
        assert!(err.contains("element of type int32"), "{err}");
    }

    #[test]
    fn drop_fields_order_and_deletes() {
        let pg = pg();
        let header = (DROP_FIELDS_HEADER, "unchanged");
        // c/u/r: fields are added, then dropped, so an added field can be dropped...
        let r = run(
            &[header, (ADD_FIELDS, "op,table")],
            with_drop_header(pg.update(), names(&["__op", "name"])),
        )
        .unwrap();
        assert_eq!(field_names(&r.value_schema), ["id", "email", "__table"]);
        // ...deletes drop first and add after.
        let r = run(
            &[header, (ADD_FIELDS, "op,table"), (HANDLING_MODE, "rewrite")],
            with_drop_header(pg.delete(), names(&["__op", "name"])),
        )
        .unwrap();
        assert_eq!(
            field_names(&r.value_schema),
            ["id", "email", "__deleted", "__op", "__table"]
        );
        // A null-valued delete keeps its schema; a Kafka tombstone stays one.
        let r = run(&[header], with_drop_header(pg.delete(), names(&["name"]))).unwrap();
        assert!(Arc::ptr_eq(r.value_schema.as_ref().unwrap(), &pg.row));
        for keep in ["true", "false"] {
            let r = run(
                &[
                    header,
                    (HANDLING_MODE, "delete-to-tombstone"),
                    (DROP_FIELDS_KEEP_SCHEMA_COMPATIBLE, keep),
                    (DROP_FIELDS_FROM_KEY, "true"),
                ],
                with_drop_header(pg.delete(), names(&["name", "id"])),
            )
            .unwrap();
            assert_eq!((r.value_schema, r.value), (None, Value::Null), "{keep}");
            if keep == "true" {
                assert_eq!(r.key, pg.key());
            } else {
                assert!(field_names(&r.key_schema).is_empty());
            }
        }
    }

    #[test]
    fn other_records_pass_through_unchanged() {
        let pg = pg();
        let pairs = [
            (ADD_HEADERS, "op,ts_ms"),
            (ADD_FIELDS, "op"),
            (ROUTE_BY_FIELD, "name"),
            (HANDLING_MODE, "rewrite"),
        ];
        // A heartbeat.
        let hb_key = Schema::struct_([("serverName", Schema::string())])
            .with_name("io.debezium.connector.common.ServerNameKey")
            .into_ref();
        let hb_value = Schema::struct_([("ts_ms", Schema::int64())])
            .with_name("io.debezium.connector.common.Heartbeat")
            .into_ref();
        let heartbeat = source(
            "__debezium-heartbeat.dbserver1",
            Some(hb_key.clone()),
            strukt(&hb_key, vec![("serverName", "dbserver1".into())]),
            Some(hb_value.clone()),
            strukt(&hb_value, vec![("ts_ms", Value::Int64(1_700_000_000_000))]),
        );
        let mut t = transform(CLASS, &pairs);
        let mut r = heartbeat.clone();
        assert_eq!(apply(t.as_mut(), &mut r), Outcome::Keep);
        assert_eq!(r, heartbeat);

        // A logical decoding message (op "m", no before/after).
        let message = Schema::struct_([
            ("prefix", Schema::optional_string()),
            ("content", Schema::optional_bytes()),
        ])
        .with_name("io.debezium.connector.postgresql.Message")
        .into_ref();
        let m_value = Schema::struct_([
            ("op", Schema::string()),
            ("ts_ms", Schema::optional_int64()),
            ("source", pg.source.clone()),
            ("transaction", pg.tx.clone()),
            ("message", message.clone()),
        ])
        .with_name("io.debezium.connector.postgresql.MessageValue")
        .into_ref();
        let m = sink(
            "dbserver1.message",
            None,
            Value::Null,
            Some(m_value.clone()),
            strukt(
                &m_value,
                vec![
                    ("op", "m".into()),
                    ("source", pg.source()),
                    (
                        "message",
                        strukt(&message, vec![("prefix", "heartbeat".into())]),
                    ),
                ],
            ),
        );
        // An unnamed struct with an envelope's fields, a schemaless map, a plain string, and
        // an "Envelope" schema over a value that is no struct.
        let unnamed =
            Schema::struct_([("op", Schema::string()), ("after", pg.row.clone())]).into_ref();
        let unnamed_record = sink(
            TOPIC,
            None,
            Value::Null,
            Some(unnamed.clone()),
            strukt(&unnamed, vec![("op", "c".into()), ("after", pg.anne())]),
        );
        let schemaless = sink(
            TOPIC,
            None,
            Value::Null,
            None,
            map(vec![("op", "c".into()), ("after", Value::Null)]),
        );
        let text = sink(TOPIC, None, Value::Null, Some(Schema::string()), "x".into());
        let odd = sink(
            TOPIC,
            None,
            Value::Null,
            Some(pg.envelope.clone()),
            map(vec![("op", "c".into())]),
        );
        for input in [m, unnamed_record, schemaless, text, odd] {
            assert_eq!(run(&pairs, input.clone()).as_ref(), Some(&input));
        }
    }

    #[test]
    fn works_on_source_records() {
        let pg = pg();
        let value = pg.envelope_value(
            &pg.envelope,
            Event {
                op: "c",
                before: Value::Null,
                after: pg.anne(),
                tx: true,
            },
        );
        let mut r = source(
            TOPIC,
            Some(pg.key.clone()),
            pg.key(),
            Some(pg.envelope.clone()),
            value,
        );
        r.kafka_partition = Some(3);
        r.timestamp = Some(77);
        let mut t = transform(CLASS, &[(ADD_FIELDS, "lsn")]);
        assert_eq!(apply(t.as_mut(), &mut r), Outcome::Keep);
        assert_eq!(
            values(&r.value),
            [
                Value::Int32(1),
                "Anne".into(),
                "anne@example.com".into(),
                Value::Int64(24_023_184)
            ]
        );
        assert_eq!((r.kafka_partition, r.timestamp), (Some(3), Some(77)));
        assert_eq!(r.key, pg.key());
    }

    #[test]
    fn output_schemas_are_cached_per_envelope_and_row_schema() {
        let pg = pg();
        let mut t = transform(CLASS, &[(ADD_FIELDS, "op,changed")]);
        let mut out = |mut r: SinkRecord| {
            apply(t.as_mut(), &mut r);
            r.value_schema.unwrap()
        };
        let first = out(pg.create());
        let second = out(pg.update());
        assert!(Arc::ptr_eq(&first, &second));
        // An equal envelope schema in another allocation hits as well.
        let copy = Arc::new((*pg.envelope).clone());
        let mut r = pg.create();
        r.value = pg.envelope_value(
            &copy,
            Event {
                op: "c",
                before: Value::Null,
                after: pg.anne(),
                tx: true,
            },
        );
        r.value_schema = Some(copy);
        assert!(Arc::ptr_eq(&first, &out(r)));
        // Another envelope schema over the same row schema can add other fields.
        let wider = envelope_schema(
            &pg.row,
            &pg.source,
            &pg.tx,
            &[("changed", Schema::optional_string())],
        );
        let value = pg.envelope_value(
            &wider,
            Event {
                op: "c",
                before: Value::Null,
                after: pg.anne(),
                tx: true,
            },
        );
        let third = out(sink(TOPIC, None, Value::Null, Some(wider), value));
        assert_eq!(
            third
                .fields
                .iter()
                .map(|f| f.name.as_str())
                .collect::<Vec<_>>(),
            ["id", "name", "email", "__op", "__changed"]
        );
        assert_eq!(
            first
                .fields
                .iter()
                .map(|f| f.name.as_str())
                .collect::<Vec<_>>(),
            ["id", "name", "email", "__op"]
        );
    }

    #[test]
    fn malformed_envelopes_are_errors() {
        let pg = pg();
        let no_after = Schema::struct_([("before", pg.row.clone()), ("op", Schema::string())])
            .with_name("x.Envelope")
            .into_ref();
        let value = strukt(&no_after, vec![("op", "c".into())]);
        let input = sink(TOPIC, None, Value::Null, Some(no_after), value);
        assert_eq!(run_err(&[], input), "Unknown field: after");
        let no_before = Schema::struct_([("after", pg.row.clone()), ("op", Schema::string())])
            .with_name("x.Envelope")
            .into_ref();
        let value = strukt(&no_before, vec![("op", "d".into())]);
        let input = sink(TOPIC, None, Value::Null, Some(no_before), value);
        assert_eq!(run_err(&[], input), "Unknown field: before");
    }

    #[test]
    fn field_reference_parsing() {
        let parse = |entry: &str| FieldRef::parse(ADD_FIELDS, entry, "__", entry);
        let r = |holder: Option<&str>, field: &str, name: &str| FieldRef {
            holder: holder.map(str::to_owned),
            field: field.to_owned(),
            name: name.to_owned(),
        };
        assert_eq!(parse("op").unwrap(), r(None, "op", "__op"));
        assert_eq!(parse("ts_ns").unwrap(), r(None, "ts_ns", "__ts_ns"));
        assert_eq!(
            parse("data_collection_order").unwrap(),
            r(
                Some("transaction"),
                "data_collection_order",
                "__data_collection_order"
            )
        );
        assert_eq!(parse("lsn").unwrap(), r(Some("source"), "lsn", "__lsn"));
        assert_eq!(
            parse("source.ts_ms").unwrap(),
            r(Some("source"), "ts_ms", "__source_ts_ms")
        );
        assert_eq!(
            parse("transaction.id:TX").unwrap(),
            r(Some("transaction"), "id", "__TX")
        );
        // Java's split drops a trailing empty part, and reads two steps of a longer path.
        assert_eq!(parse("db:").unwrap(), r(Some("source"), "db", "__db"));
        assert_eq!(parse("a.b.c").unwrap(), r(Some("a"), "b", "__a_b"));
        for bad in ["a:b:c", ":", "::", ".", ".:x"] {
            let err = parse(bad).unwrap_err();
            assert_eq!(err.key, ADD_FIELDS, "{bad}");
            assert!(err.message.contains("Unexpected field name"), "{bad}");
        }
    }

    #[test]
    fn config_errors_name_the_key() {
        let key = |pairs: &[(&str, &str)]| build(CLASS, pairs).err().unwrap().key;
        for (pairs, want) in [
            (vec![(HANDLING_MODE, "bogus")], HANDLING_MODE),
            (vec![(HANDLING_MODE, "")], HANDLING_MODE),
            (
                vec![(HANDLING_MODE, "none"), (DROP_TOMBSTONES, "true")],
                HANDLING_MODE,
            ),
            (vec![(DROP_TOMBSTONES, "maybe")], DROP_TOMBSTONES),
            (vec![(DELETE_HANDLING, "tombstone")], DELETE_HANDLING),
            (
                vec![(DROP_TOMBSTONES, "false"), (DELETE_HANDLING, "bogus")],
                DELETE_HANDLING,
            ),
            (vec![(ADD_FIELDS, "op,a:b:c")], ADD_FIELDS),
            (vec![(ADD_HEADERS, "op,:")], ADD_HEADERS),
            (vec![(DROP_FIELDS_FROM_KEY, "yes")], DROP_FIELDS_FROM_KEY),
            (
                vec![(DROP_FIELDS_KEEP_SCHEMA_COMPATIBLE, "no")],
                DROP_FIELDS_KEEP_SCHEMA_COMPATIBLE,
            ),
            (
                vec![("replace.null.with.default", "1")],
                "replace.null.with.default",
            ),
        ] {
            assert_eq!(key(&pairs), want, "{pairs:?}");
        }
        let err = build(CLASS, &[(HANDLING_MODE, "bogus")]).err().unwrap();
        assert!(
            err.message.starts_with(
                "Invalid value bogus for configuration delete.tombstone.handling.mode"
            ),
            "{}",
            err.message
        );
        // Everything at its default configures.
        assert!(build(CLASS, &[]).is_ok());
    }

    #[test]
    fn config_def_lists_every_key() {
        let def = config_def();
        let names: Vec<&str> = def.keys.iter().map(|k| k.name.as_str()).collect();
        assert_eq!(
            names,
            [
                HANDLING_MODE,
                DROP_TOMBSTONES,
                DELETE_HANDLING,
                ROUTE_BY_FIELD,
                ADD_FIELDS_PREFIX,
                ADD_FIELDS,
                ADD_HEADERS_PREFIX,
                ADD_HEADERS,
                DROP_FIELDS_HEADER,
                DROP_FIELDS_FROM_KEY,
                DROP_FIELDS_KEEP_SCHEMA_COMPATIBLE,
                "replace.null.with.default",
            ]
        );
    }
}
