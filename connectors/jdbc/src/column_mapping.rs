//! How a result column becomes a Connect field (spec §4 "Record shape"): the column's type, as
//! the catalog or the driver names it, picks a [`Mapping`] — what the row reader decodes and
//! which Connect schema the field gets. `numeric.mapping` and `timestamp.granularity` are
//! applied here.
//!
//! Beyond Confluent's connector, which drops such columns with a warning: PostgreSQL arrays
//! become Connect arrays, and `json`/`jsonb`, `uuid` and enum columns become strings (the
//! spec's PostgreSQL tweaks). Types still without a mapping (geometric, network, interval, bit
//! strings, MySQL `YEAR`) are left out of the record, as Confluent's are, and the task says so
//! once.

use tributary_connector_api::{logical, Schema, SchemaRef, Type};

use crate::dialect::Dialect;

/// A column of a table or a query result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnInfo {
    pub name: String,
    /// The database's type name (`int4`, `_text`, `TIMESTAMPTZ`, `decimal`, `DATETIME`…).
    pub type_name: String,
    /// NUMERIC/DECIMAL precision and scale when the column declares them.
    pub precision: Option<u32>,
    pub scale: Option<i32>,
    pub nullable: bool,
    /// MySQL's `UNSIGNED` integers.
    pub unsigned: bool,
    /// A PostgreSQL enum type (or an array of one).
    pub is_enum: bool,
    /// Filled by the database (a sequence, an identity, `AUTO_INCREMENT`, SQLite's rowid).
    pub auto_increment: bool,
}

impl ColumnInfo {
    /// A column known only by name and type (a query's result).
    pub fn of_type(name: &str, type_name: &str) -> ColumnInfo {
        ColumnInfo {
            name: name.to_owned(),
            type_name: type_name.to_owned(),
            precision: None,
            scale: None,
            nullable: true,
            unsigned: false,
            is_enum: false,
            auto_increment: false,
        }
    }
}

/// `numeric.mapping`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumericMapping {
    None,
    PrecisionOnly,
    BestFit,
    BestFitEagerDouble,
}

/// `timestamp.granularity`: how Timestamp columns are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Granularity {
    /// Connect's `Timestamp` (INT64 epoch milliseconds).
    #[default]
    ConnectLogical,
    MicrosLong,
    MicrosString,
    MicrosIsoDatetimeString,
    NanosLong,
    NanosString,
    NanosIsoDatetimeString,
}

impl Granularity {
    pub fn parse(text: &str) -> Option<Granularity> {
        Some(match text {
            "connect_logical" => Granularity::ConnectLogical,
            "micros_long" => Granularity::MicrosLong,
            "micros_string" => Granularity::MicrosString,
            "micros_iso_datetime_string" => Granularity::MicrosIsoDatetimeString,
            "nanos_long" => Granularity::NanosLong,
            "nanos_string" => Granularity::NanosString,
            "nanos_iso_datetime_string" => Granularity::NanosIsoDatetimeString,
            _ => return None,
        })
    }
}

/// What the row reader decodes a column as, and so the field's schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mapping {
    Boolean,
    Int8,
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    /// NUMERIC/DECIMAL as Connect's Decimal of this scale (values are rescaled to it).
    Decimal {
        scale: i32,
        precision: Option<u32>,
    },
    /// MySQL's `BIGINT UNSIGNED`: Decimal of scale 0 (it does not fit an INT64).
    Unsigned64,
    /// NUMERIC narrowed by `numeric.mapping` to an integer (`Int8`…`Int64`) or FLOAT64.
    NumericAs(Type),
    Text,
    /// JSON text (`json`, `jsonb`, MySQL `JSON`).
    Json,
    Uuid,
    /// A PostgreSQL enum's label.
    Enum,
    Bytes,
    Date,
    Time,
    /// `zoned`: the column holds an instant (`timestamptz`, MySQL `TIMESTAMP`); otherwise a wall
    /// time read in `db.timezone`.
    Timestamp {
        zoned: bool,
    },
    /// A PostgreSQL array of the element mapping.
    Array(Box<Mapping>),
}

/// The type name without size, `UNSIGNED` or case: `varchar(20)` → `VARCHAR`.
fn base_name(type_name: &str) -> String {
    let upper = type_name.trim().to_ascii_uppercase();
    let base = upper.split('(').next().unwrap_or("").trim();
    base.strip_suffix(" UNSIGNED")
        .unwrap_or(base)
        .trim()
        .to_owned()
}

/// The precision and scale written in a declared type: `NUMERIC(10,2)` → (10, 2).
pub fn declared_precision(type_name: &str) -> (Option<u32>, Option<i32>) {
    let Some(inner) = type_name
        .split_once('(')
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(inner, _)| inner)
    else {
        return (None, None);
    };
    let mut parts = inner.split(',').map(str::trim);
    let precision = parts.next().and_then(|p| p.parse().ok());
    let scale = parts.next().and_then(|s| s.parse().ok()).or(Some(0));
    (precision, precision.and(scale))
}

/// The mapping of a column, or `None` when its type has none (the column is left out).
pub fn mapping(dialect: Dialect, column: &ColumnInfo, numeric: NumericMapping) -> Option<Mapping> {
    let name = base_name(&column.type_name);
    // PostgreSQL arrays: `_int4` in the catalog, `INT4[]` from the driver.
    if dialect == Dialect::PostgreSql {
        let element = name
            .strip_prefix('_')
            .or_else(|| name.strip_suffix("[]"))
            .map(str::to_owned);
        if let Some(element) = element {
            let element = ColumnInfo {
                type_name: element,
                precision: None,
                scale: None,
                ..column.clone()
            };
            return match mapping(dialect, &element, NumericMapping::None)? {
                Mapping::Array(_) => None,
                m => Some(Mapping::Array(Box::new(m))),
            };
        }
        if column.is_enum {
            return Some(Mapping::Enum);
        }
    }
    let unsigned = column.unsigned || column.type_name.to_ascii_uppercase().contains("UNSIGNED");
    Some(match name.as_str() {
        "BOOLEAN" | "BOOL" => Mapping::Boolean,
        "TINYINT" if unsigned => Mapping::Int16,
        "TINYINT" => Mapping::Int8,
        "SMALLINT" | "INT2" if unsigned => Mapping::Int32,
        "SMALLINT" | "INT2" => Mapping::Int16,
        "MEDIUMINT" => Mapping::Int32,
        // SQLite's integers are 64-bit whatever the declared name.
        "INTEGER" | "INT" | "INT4" if dialect == Dialect::Sqlite => Mapping::Int64,
        "INTEGER" | "INT" | "INT4" if unsigned => Mapping::Int64,
        "INTEGER" | "INT" | "INT4" => Mapping::Int32,
        "BIGINT" | "INT8" if unsigned => Mapping::Unsigned64,
        "BIGINT" | "INT8" => Mapping::Int64,
        "REAL" | "FLOAT4" if dialect == Dialect::Sqlite => Mapping::Float64,
        "REAL" | "FLOAT4" => Mapping::Float32,
        "FLOAT" if dialect == Dialect::MySql => Mapping::Float32,
        "FLOAT" | "FLOAT8" | "DOUBLE" | "DOUBLE PRECISION" => Mapping::Float64,
        "NUMERIC" | "DECIMAL" => numeric_mapping(dialect, &name, column, numeric),
        "CHAR" | "CHARACTER" | "VARCHAR" | "CHARACTER VARYING" | "BPCHAR" | "NAME" | "TEXT"
        | "CITEXT" | "CLOB" | "NCHAR" | "NVARCHAR" | "NATIVE CHARACTER" | "VARYING CHARACTER"
        | "TINYTEXT" | "MEDIUMTEXT" | "LONGTEXT" | "ENUM" | "SET" | "XML" => Mapping::Text,
        "JSON" | "JSONB" => Mapping::Json,
        "UUID" => Mapping::Uuid,
        "BYTEA" | "BLOB" | "BINARY" | "VARBINARY" | "TINYBLOB" | "MEDIUMBLOB" | "LONGBLOB" => {
            Mapping::Bytes
        }
        "DATE" => Mapping::Date,
        "TIME" | "TIME WITHOUT TIME ZONE" => Mapping::Time,
        "TIMESTAMP" if dialect == Dialect::MySql => Mapping::Timestamp { zoned: true },
        "TIMESTAMP" | "TIMESTAMP WITHOUT TIME ZONE" | "DATETIME" => {
            Mapping::Timestamp { zoned: false }
        }
        "TIMESTAMPTZ" | "TIMESTAMP WITH TIME ZONE" => Mapping::Timestamp { zoned: true },
        // A query's column without a declared type: SQLite names the stored value's class.
        "NULL" if dialect == Dialect::Sqlite => Mapping::Text,
        "" if dialect == Dialect::Sqlite => Mapping::Text,
        _ => return None,
    })
}

/// NUMERIC/DECIMAL per `numeric.mapping` (Confluent applies it to NUMERIC, which is what
/// PostgreSQL's columns are; MySQL reports DECIMAL and keeps Decimal). An unconstrained
/// NUMERIC has scale 127, as Confluent's.
fn numeric_mapping(
    dialect: Dialect,
    name: &str,
    column: &ColumnInfo,
    numeric: NumericMapping,
) -> Mapping {
    let decimal = Mapping::Decimal {
        scale: column.scale.unwrap_or(127),
        precision: column.precision,
    };
    let is_numeric = name == "NUMERIC" || dialect == Dialect::PostgreSql;
    let (Some(precision), Some(scale)) = (column.precision, column.scale) else {
        return decimal;
    };
    if !is_numeric || numeric == NumericMapping::None || precision == 0 {
        return decimal;
    }
    let integer = || {
        Mapping::NumericAs(match precision {
            0..=2 => Type::Int8,
            3..=4 => Type::Int16,
            5..=9 => Type::Int32,
            _ => Type::Int64,
        })
    };
    match numeric {
        NumericMapping::PrecisionOnly if scale == 0 && precision <= 18 => integer(),
        NumericMapping::BestFit | NumericMapping::BestFitEagerDouble
            if precision <= 18 && (-84..=0).contains(&scale) =>
        {
            integer()
        }
        NumericMapping::BestFit if precision <= 18 && scale > 0 => {
            Mapping::NumericAs(Type::Float64)
        }
        NumericMapping::BestFitEagerDouble if scale > 0 => Mapping::NumericAs(Type::Float64),
        _ => decimal,
    }
}

/// The Connect schema of a mapped column (optional when the column is nullable).
pub fn schema(mapping: &Mapping, granularity: Granularity, nullable: bool) -> SchemaRef {
    let schema = match mapping {
        Mapping::Boolean => Schema::new(Type::Boolean),
        Mapping::Int8 => Schema::new(Type::Int8),
        Mapping::Int16 => Schema::new(Type::Int16),
        Mapping::Int32 => Schema::new(Type::Int32),
        Mapping::Int64 => Schema::new(Type::Int64),
        Mapping::Float32 => Schema::new(Type::Float32),
        Mapping::Float64 => Schema::new(Type::Float64),
        Mapping::NumericAs(t) => Schema::new(*t),
        Mapping::Decimal { scale, precision } => {
            let d = logical::decimal(*scale);
            match precision {
                Some(p) => d.with_parameter("connect.decimal.precision", p.to_string()),
                None => d,
            }
        }
        Mapping::Unsigned64 => logical::decimal(0),
        Mapping::Text | Mapping::Json | Mapping::Uuid | Mapping::Enum => Schema::new(Type::String),
        Mapping::Bytes => Schema::new(Type::Bytes),
        Mapping::Date => logical::date(),
        Mapping::Time => logical::time(),
        Mapping::Timestamp { .. } => match granularity {
            Granularity::ConnectLogical => logical::timestamp(),
            Granularity::MicrosLong | Granularity::NanosLong => Schema::new(Type::Int64),
            _ => Schema::new(Type::String),
        },
        Mapping::Array(element) => {
            Schema::array(self::schema(element, Granularity::ConnectLogical, true))
        }
    };
    if nullable {
        schema.optional().into_ref()
    } else {
        schema.into_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(type_name: &str) -> ColumnInfo {
        ColumnInfo::of_type("c", type_name)
    }

    fn numeric(precision: u32, scale: i32) -> ColumnInfo {
        ColumnInfo {
            precision: Some(precision),
            scale: Some(scale),
            ..col("numeric")
        }
    }

    #[test]
    fn types_map_per_dialect() {
        let pg = |t: &str| mapping(Dialect::PostgreSql, &col(t), NumericMapping::None);
        let my = |t: &str| mapping(Dialect::MySql, &col(t), NumericMapping::None);
        let lite = |t: &str| mapping(Dialect::Sqlite, &col(t), NumericMapping::None);
        assert_eq!(pg("int4"), Some(Mapping::Int32));
        assert_eq!(pg("INT8"), Some(Mapping::Int64));
        assert_eq!(pg("varchar"), Some(Mapping::Text));
        assert_eq!(pg("jsonb"), Some(Mapping::Json));
        assert_eq!(pg("uuid"), Some(Mapping::Uuid));
        assert_eq!(pg("timestamptz"), Some(Mapping::Timestamp { zoned: true }));
        assert_eq!(pg("timestamp"), Some(Mapping::Timestamp { zoned: false }));
        assert_eq!(pg("_int4"), Some(Mapping::Array(Box::new(Mapping::Int32))));
        assert_eq!(pg("TEXT[]"), Some(Mapping::Array(Box::new(Mapping::Text))));
        assert_eq!(pg("inet"), None);
        assert_eq!(pg("_inet"), None);
        let mood = ColumnInfo {
            is_enum: true,
            ..col("mood")
        };
        assert_eq!(
            mapping(Dialect::PostgreSql, &mood, NumericMapping::None),
            Some(Mapping::Enum)
        );
        assert_eq!(
            pg("numeric"),
            Some(Mapping::Decimal {
                scale: 127,
                precision: None
            })
        );
        assert_eq!(my("tinyint"), Some(Mapping::Int8));
        assert_eq!(my("TINYINT UNSIGNED"), Some(Mapping::Int16));
        assert_eq!(my("INT UNSIGNED"), Some(Mapping::Int64));
        assert_eq!(my("bigint unsigned"), Some(Mapping::Unsigned64));
        assert_eq!(my("float"), Some(Mapping::Float32));
        assert_eq!(my("timestamp"), Some(Mapping::Timestamp { zoned: true }));
        assert_eq!(my("datetime"), Some(Mapping::Timestamp { zoned: false }));
        assert_eq!(my("json"), Some(Mapping::Json));
        assert_eq!(my("year"), None);
        assert_eq!(lite("INTEGER"), Some(Mapping::Int64));
        assert_eq!(lite("REAL"), Some(Mapping::Float64));
        assert_eq!(lite("DATETIME"), Some(Mapping::Timestamp { zoned: false }));
        assert_eq!(lite(""), Some(Mapping::Text));
    }

    #[test]
    fn numeric_mapping_narrows_numeric_as_confluent() {
        let pg = |c: &ColumnInfo, m| mapping(Dialect::PostgreSql, c, m);
        let decimal = |scale, precision| Mapping::Decimal {
            scale,
            precision: Some(precision),
        };
        assert_eq!(
            pg(&numeric(10, 2), NumericMapping::None),
            Some(decimal(2, 10))
        );
        assert_eq!(
            pg(&numeric(4, 0), NumericMapping::PrecisionOnly),
            Some(Mapping::NumericAs(Type::Int16))
        );
        assert_eq!(
            pg(&numeric(10, 2), NumericMapping::PrecisionOnly),
            Some(decimal(2, 10))
        );
        assert_eq!(
            pg(&numeric(2, 0), NumericMapping::BestFit),
            Some(Mapping::NumericAs(Type::Int8))
        );
        assert_eq!(
            pg(&numeric(9, 0), NumericMapping::BestFit),
            Some(Mapping::NumericAs(Type::Int32))
        );
        assert_eq!(
            pg(&numeric(18, 0), NumericMapping::BestFit),
            Some(Mapping::NumericAs(Type::Int64))
        );
        assert_eq!(
            pg(&numeric(10, 2), NumericMapping::BestFit),
            Some(Mapping::NumericAs(Type::Float64))
        );
        assert_eq!(
            pg(&numeric(30, 2), NumericMapping::BestFit),
            Some(decimal(2, 30))
        );
        assert_eq!(
            pg(&numeric(30, 2), NumericMapping::BestFitEagerDouble),
            Some(Mapping::NumericAs(Type::Float64))
        );
        assert_eq!(
            pg(&numeric(30, 0), NumericMapping::BestFit),
            Some(decimal(0, 30))
        );
        // MySQL's DECIMAL keeps Decimal, as Confluent's does.
        let my_decimal = ColumnInfo {
            precision: Some(10),
            scale: Some(2),
            ..col("decimal")
        };
        assert_eq!(
            mapping(Dialect::MySql, &my_decimal, NumericMapping::BestFit),
            Some(decimal(2, 10))
        );
    }

    #[test]
    fn schemas_follow_the_mapping_and_granularity() {
        let d = schema(
            &Mapping::Decimal {
                scale: 2,
                precision: Some(10),
            },
            Granularity::ConnectLogical,
            false,
        );
        assert_eq!(d.name.as_deref(), Some(logical::DECIMAL));
        assert!(!d.optional);
        let params = d.parameters.as_ref().unwrap();
        assert_eq!(params.get("scale").map(String::as_str), Some("2"));
        assert_eq!(
            params.get("connect.decimal.precision").map(String::as_str),
            Some("10")
        );
        let ts = Mapping::Timestamp { zoned: false };
        assert_eq!(
            schema(&ts, Granularity::ConnectLogical, true)
                .name
                .as_deref(),
            Some(logical::TIMESTAMP)
        );
        assert_eq!(
            schema(&ts, Granularity::MicrosLong, true).type_,
            Type::Int64
        );
        assert_eq!(
            schema(&ts, Granularity::NanosIsoDatetimeString, true).type_,
            Type::String
        );
        let a = schema(
            &Mapping::Array(Box::new(Mapping::Int32)),
            Granularity::ConnectLogical,
            true,
        );
        assert_eq!(a.type_, Type::Array);
        assert!(a.optional);
        assert_eq!(declared_precision("NUMERIC(10, 2)"), (Some(10), Some(2)));
        assert_eq!(declared_precision("DECIMAL(5)"), (Some(5), Some(0)));
        assert_eq!(declared_precision("TEXT"), (None, None));
    }
}
