//! The JDBC source connector in a real worker, with a Confluent config unchanged: a table
//! copied into a topic in `incrementing` mode, new rows picked up, and a restart that resumes
//! after the last committed row (each id exactly once). Against SQLite (a file), the local
//! PostgreSQL and MariaDB (`scripts/services.sh` starts them; `TRIBUTARY_TEST_PG_URL` and
//! `TRIBUTARY_TEST_MYSQL_URL` point elsewhere); and bulk mode over a query.

#[path = "support/databases.rs"]
mod databases;
mod support;

use databases::{mariadb, pg, Db};

use std::time::Duration;

use serde_json::Value;
use support::*;

/// The ids in the JSON values read so far.
fn ids(values: &[String]) -> Vec<i64> {
    values
        .iter()
        .map(|v| {
            let json: Value = serde_json::from_str(v).unwrap_or_else(|e| panic!("{e}: {v}"));
            let row = if json.get("payload").is_some() {
                &json["payload"]
            } else {
                &json
            };
            row["id"].as_i64().unwrap_or(-1)
        })
        .collect()
}

/// Copies `table` of `db` in incrementing mode through a worker, adds rows while it runs and
/// while it is down, and checks every row arrives once; `partition` is the table as the
/// stored offsets must name it.
fn incrementing_copy(db: &Db, table: &str, partition: &str, name_the_column: bool) {
    let dir = tempfile::tempdir().unwrap();
    db.sql(&[
        &format!(
            "CREATE TABLE {table} (id INTEGER PRIMARY KEY, item TEXT NOT NULL, qty INTEGER, \
             price DOUBLE PRECISION, note TEXT)"
        ),
        &format!(
            "INSERT INTO {table} (id, item, qty, price, note) VALUES \
             (1, 'apple', 3, 0.5, NULL), (2, 'pear', 1, 0.75, 'ripe'), (3, 'fig', 12, 0.2, NULL)"
        ),
    ]);
    let plugins = plugin_dir(dir.path(), &["tributary_connector_jdbc"]);
    let prefix = format!("{}-", unique("jdbc"));
    let topic = format!("{prefix}{table}");
    // One partition, so the records' order is the rows' (Tansu would create several).
    create_topic(&topic);
    let connector = dir.path().join("jdbc.properties");
    write_props(
        &connector,
        &[
            ("name", "jdbc-orders".into()),
            (
                "connector.class",
                "io.confluent.connect.jdbc.JdbcSourceConnector".into(),
            ),
            ("connection.url", db.jdbc_url()),
            ("mode", "incrementing".into()),
            (
                "incrementing.column.name",
                if name_the_column { "id" } else { "" }.into(),
            ),
            ("table.whitelist", table.into()),
            ("topic.prefix", prefix.clone()),
            ("poll.interval.ms", "200".into()),
            ("batch.max.rows", "2".into()),
        ],
    );
    let port = free_port();
    let props = Worker::props(
        dir.path(),
        port,
        &plugins,
        &[(
            "value.converter",
            "org.apache.kafka.connect.json.JsonConverter",
        )],
    );
    let worker = Worker::start(dir.path(), &props, std::slice::from_ref(&connector));
    let values = read_topic(&topic, 3, Duration::from_secs(60));
    if values.len() < 3 {
        panic!(
            "{} records; task: {:?}; log:\n{}",
            values.len(),
            worker.task_state("jdbc-orders", 0),
            worker.log_text()
        );
    }
    let first: Value = serde_json::from_str(&values[0]).unwrap();
    assert_eq!(
        first["payload"],
        serde_json::json!({"id": 1, "item": "apple", "qty": 3, "price": 0.5, "note": null})
    );
    // The schema is the table's, with the catalog's types and nullability.
    let schema = &first["schema"];
    assert_eq!(schema["name"], table, "{schema}");
    let field = |name: &str| {
        schema["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["field"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no field {name}: {schema}"))
    };
    assert_eq!(field("item")["type"], "string");
    assert_eq!(field("item")["optional"], false, "NOT NULL column");
    // SQLite's integers are 64-bit whatever the declared type.
    let int_type = if matches!(db, Db::Sqlite(_)) {
        "int64"
    } else {
        "int32"
    };
    assert_eq!(field("qty")["type"], int_type);
    assert_eq!(field("qty")["optional"], true);
    assert_eq!(field("price")["type"], "double");
    assert_eq!(ids(&values), [1, 2, 3]);

    // New rows are picked up (in batches of batch.max.rows).
    db.sql(&[&format!(
        "INSERT INTO {table} (id, item, qty, price) VALUES (4, 'kiwi', 2, 0.3), \
         (5, 'lime', 6, 0.1), (6, 'plum', 4, 0.4)"
    )]);
    let values = read_topic(&topic, 6, Duration::from_secs(60));
    assert_eq!(ids(&values), [1, 2, 3, 4, 5, 6]);
    // The offset of every row is committed in Confluent's form, then the worker stops.
    let offsets_file = dir.path().join("offsets.json");
    wait_for("offset of id 6 committed", Duration::from_secs(30), || {
        let text = std::fs::read_to_string(&offsets_file).unwrap_or_default();
        text.contains("\"incrementing\":6").then_some(text)
    });
    let text = std::fs::read_to_string(&offsets_file).unwrap();
    assert!(
        text.contains(&format!("{{\"protocol\":\"1\",\"table\":\"{partition}\"}}")),
        "{text}"
    );
    worker.terminate();

    // While the worker is down a row arrives; the restarted worker sends it and nothing twice.
    db.sql(&[&format!(
        "INSERT INTO {table} (id, item, qty, price) VALUES (7, 'date', 9, 0.9)"
    )]);
    let _worker = Worker::start(dir.path(), &props, &[connector]);
    let values = read_topic_until(&topic, Duration::from_secs(60), |v| ids(v).contains(&7));
    assert_eq!(
        ids(&values),
        [1, 2, 3, 4, 5, 6, 7],
        "each id once, in order"
    );
}

#[test]
fn sqlite_incrementing_copy_resumes_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::Sqlite(dir.path().join("shop.db"));
    // No incrementing.column.name: the INTEGER PRIMARY KEY (SQLite's rowid) is found.
    incrementing_copy(&db, "orders", "orders", false);
}

#[test]
fn postgresql_incrementing_copy_resumes_after_a_restart() {
    let url = std::env::var("TRIBUTARY_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let db = Db::Postgres(url);
    let table = unique("orders").replace('-', "_");
    incrementing_copy(&db, &table, &format!("public.{table}"), true);
    db.sql(&[&format!("DROP TABLE {table}")]);
}

#[test]
fn mariadb_incrementing_copy_resumes_after_a_restart() {
    let url = std::env::var("TRIBUTARY_TEST_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".to_owned());
    let db = Db::MySql(url);
    let table = unique("orders").replace('-', "_");
    incrementing_copy(&db, &table, &format!("test.{table}"), true);
    db.sql(&[&format!("DROP TABLE {table}")]);
}

#[test]
fn bulk_mode_copies_a_query_whole_at_every_poll() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::Sqlite(dir.path().join("bulk.db"));
    db.sql(&[
        "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)",
        "INSERT INTO items VALUES (1, 'a'), (2, 'b'), (3, 'c')",
    ]);
    let plugins = plugin_dir(dir.path(), &["tributary_connector_jdbc"]);
    let topic = unique("jdbc-bulk");
    create_topic(&topic);
    let connector = dir.path().join("bulk.properties");
    write_props(
        &connector,
        &[
            ("name", "jdbc-bulk".into()),
            ("connector.class", "JdbcSource".into()),
            ("connection.url", db.jdbc_url()),
            ("mode", "bulk".into()),
            // A query with its own WHERE works: it is read as a subquery.
            ("query", "SELECT id, name FROM items WHERE id >= 2".into()),
            ("topic.prefix", topic.clone()),
            ("poll.interval.ms", "200".into()),
        ],
    );
    let props = Worker::props(
        dir.path(),
        free_port(),
        &plugins,
        &[
            (
                "value.converter",
                "org.apache.kafka.connect.json.JsonConverter",
            ),
            ("value.converter.schemas.enable", "false"),
        ],
    );
    let _worker = Worker::start(dir.path(), &props, &[connector]);
    // Two polls: the two matching rows, twice.
    let values = read_topic(&topic, 4, Duration::from_secs(60));
    assert_eq!(&ids(&values)[..4], [2, 3, 2, 3]);
}

#[test]
fn a_database_that_cannot_be_reached_fails_the_connector_without_showing_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(dir.path(), &["tributary_connector_jdbc"]);
    let connector = dir.path().join("down.properties");
    // Port 1: nothing listens there.
    write_props(
        &connector,
        &[
            ("name", "jdbc-down".into()),
            ("connector.class", "JdbcSourceConnector".into()),
            (
                "connection.url",
                "jdbc:postgresql://127.0.0.1:1/shop?user=app".into(),
            ),
            ("connection.password", "pg-secret-4711".into()),
            ("connection.attempts", "2".into()),
            ("connection.backoff.ms", "100".into()),
            ("mode", "incrementing".into()),
            ("incrementing.column.name", "id".into()),
            ("table.whitelist", "orders".into()),
        ],
    );
    let props = Worker::props(dir.path(), free_port(), &plugins, &[]);
    let worker = Worker::start(dir.path(), &props, &[connector]);
    // The connector lists the database's tables at start: it is the one that fails.
    let failed = wait_for(
        "connector jdbc-down FAILED",
        Duration::from_secs(30),
        || {
            let (code, body) = worker.get("/connectors/jdbc-down/status");
            (code == 200 && body["connector"]["state"] == "FAILED").then_some(body)
        },
    );
    let trace = failed["connector"]["trace"].as_str().unwrap_or_default();
    assert!(
        trace.contains(
            "cannot connect to postgres://app:%5Bhidden%5D@127.0.0.1:1/shop after 2 attempt"
        ),
        "{trace}"
    );
    assert!(!trace.contains("pg-secret-4711"), "{trace}");
    assert!(
        !worker.log_text().contains("pg-secret-4711"),
        "the log shows the password"
    );
}

/// A JDBC source connector in a worker writing JSON (with schemas, decimals as numbers).
struct Running {
    worker: Worker,
    props: Vec<(&'static str, String)>,
    connector: std::path::PathBuf,
    offsets: std::path::PathBuf,
}

fn run_source(dir: &std::path::Path, name: &str, settings: &[(&str, String)]) -> Running {
    let plugins = plugin_dir(dir, &["tributary_connector_jdbc"]);
    let connector = dir.join(format!("{name}.properties"));
    let mut all = vec![
        ("name", name.to_owned()),
        (
            "connector.class",
            "io.confluent.connect.jdbc.JdbcSourceConnector".to_owned(),
        ),
        ("poll.interval.ms", "200".to_owned()),
    ];
    all.extend(settings.iter().cloned());
    write_props(&connector, &all);
    let props = Worker::props(
        dir,
        free_port(),
        &plugins,
        &[
            (
                "value.converter",
                "org.apache.kafka.connect.json.JsonConverter",
            ),
            ("value.converter.decimal.format", "NUMERIC"),
        ],
    );
    let worker = Worker::start(dir, &props, std::slice::from_ref(&connector));
    Running {
        worker,
        props,
        connector,
        offsets: dir.join("offsets.json"),
    }
}

impl Running {
    fn restart(self, dir: &std::path::Path) -> Running {
        self.worker.terminate();
        let worker = Worker::start(dir, &self.props, std::slice::from_ref(&self.connector));
        Running { worker, ..self }
    }

    /// Reads `topic` until `done`, showing the task's state and the log when it does not come.
    fn read(&self, topic: &str, name: &str, done: impl Fn(&[String]) -> bool) -> Vec<String> {
        let values = read_topic_until(topic, Duration::from_secs(60), &done);
        if !done(&values) {
            panic!(
                "{} records: {values:?}; task: {:?}; log:\n{}",
                values.len(),
                self.worker.task_state(name, 0),
                self.worker.log_text()
            );
        }
        values
    }

    fn wait_offset(&self, fragment: &str) {
        wait_for(
            &format!("an offset with {fragment}"),
            Duration::from_secs(30),
            || {
                std::fs::read_to_string(&self.offsets)
                    .ok()
                    .filter(|t| t.contains(fragment))
            },
        );
    }
}

fn payloads(values: &[String]) -> Vec<Value> {
    values
        .iter()
        .map(|v| serde_json::from_str::<Value>(v).unwrap()["payload"].clone())
        .collect()
}

/// timestamp+incrementing mode: rows in (timestamp, id) order, an updated row sent again, and
/// a restart that resumes after the last committed (timestamp, id) — no row twice.
fn timestamp_incrementing_copy(db: &Db, table: &str, time_type: &str, partition: &str) {
    let dir = tempfile::tempdir().unwrap();
    db.sql(&[
        &format!(
            "CREATE TABLE {table} (id INTEGER PRIMARY KEY, item VARCHAR(20) NOT NULL, \
             updated_at {time_type} NOT NULL)"
        ),
        // Two rows share a timestamp; the third is earlier than both.
        &format!(
            "INSERT INTO {table} (id, item, updated_at) VALUES \
             (1, 'apple', '2024-01-01 10:00:00'), (2, 'pear', '2024-01-01 10:00:00'), \
             (3, 'fig', '2024-01-01 09:30:00.250')"
        ),
    ]);
    let prefix = format!("{}-", unique("jdbcts"));
    let topic = format!("{prefix}{table}");
    create_topic(&topic);
    let name = "jdbc-ts";
    let running = run_source(
        dir.path(),
        name,
        &[
            ("connection.url", db.jdbc_url()),
            ("mode", "timestamp+incrementing".into()),
            ("timestamp.column.name", "updated_at".into()),
            ("incrementing.column.name", "id".into()),
            ("table.whitelist", table.into()),
            ("topic.prefix", prefix),
            ("batch.max.rows", "2".into()),
        ],
    );
    let values = running.read(&topic, name, |v| v.len() >= 3);
    assert_eq!(ids(&values), [3, 1, 2], "in (timestamp, id) order");
    let first: Value = serde_json::from_str(&values[0]).unwrap();
    let field = first["schema"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["field"] == "updated_at")
        .cloned()
        .unwrap();
    assert_eq!(field["name"], "org.apache.kafka.connect.data.Timestamp");
    // 2024-01-01T09:30:00.250Z
    assert_eq!(first["payload"]["updated_at"], 1_704_101_400_250i64);

    // An update moves the row's timestamp past the others: it is sent again.
    db.sql(&[&format!(
        "UPDATE {table} SET item = 'apple2', updated_at = '2024-01-02 00:00:00' WHERE id = 1"
    )]);
    let values = running.read(&topic, name, |v| v.len() >= 4);
    assert_eq!(ids(&values), [3, 1, 2, 1]);
    assert_eq!(payloads(&values)[3]["item"], "apple2");
    running.wait_offset("\"incrementing\":1,");
    let text = std::fs::read_to_string(&running.offsets).unwrap();
    assert!(
        text.contains(&format!("{{\"protocol\":\"1\",\"table\":\"{partition}\"}}")),
        "{text}"
    );
    // 2024-01-02T00:00:00Z, as Confluent stores it: epoch ms and the sub-second nanos.
    assert!(
        text.contains("\"timestamp\":1704153600000,\"timestamp_nanos\":0"),
        "{text}"
    );

    // A row added while the worker is down arrives after the restart; nothing is sent twice.
    running.worker.terminate();
    db.sql(&[&format!(
        "INSERT INTO {table} (id, item, updated_at) VALUES (4, 'kiwi', '2024-01-03 08:00:00')"
    )]);
    let worker = Worker::start(
        dir.path(),
        &running.props,
        std::slice::from_ref(&running.connector),
    );
    let running = Running { worker, ..running };
    let values = running.read(&topic, name, |v| ids(v).contains(&4));
    assert_eq!(ids(&values), [3, 1, 2, 1, 4], "each change once");
}

#[test]
fn sqlite_timestamp_incrementing_copy_reads_text_dates() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::Sqlite(dir.path().join("ts.db"));
    timestamp_incrementing_copy(&db, "orders", "TEXT", "orders");
}

#[test]
fn postgresql_timestamp_incrementing_copy() {
    let db = pg();
    let table = unique("tsorders").replace('-', "_");
    timestamp_incrementing_copy(&db, &table, "TIMESTAMP(3)", &format!("public.{table}"));
    db.sql(&[&format!("DROP TABLE {table}")]);
}

#[test]
fn mariadb_timestamp_incrementing_copy() {
    let db = mariadb();
    let table = unique("tsorders").replace('-', "_");
    timestamp_incrementing_copy(&db, &table, "DATETIME(3)", &format!("test.{table}"));
    db.sql(&[&format!("DROP TABLE {table}")]);
}

/// timestamp mode over a query that has its own WHERE, on SQLite dates written in several
/// forms; the offset holds only the timestamp.
#[test]
fn timestamp_mode_over_a_query_with_a_where() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::Sqlite(dir.path().join("q.db"));
    db.sql(&[
        "CREATE TABLE events (id INTEGER PRIMARY KEY, kind TEXT, at TEXT NOT NULL)",
        "INSERT INTO events VALUES (1, 'keep', '2024-03-01 10:00:00'), \
         (2, 'skip', '2024-03-01 11:00:00'), (3, 'keep', '2024-03-01T12:00:00.5Z'), \
         (4, 'keep', '2024-03-02')",
    ]);
    let topic = unique("jdbc-query-ts");
    create_topic(&topic);
    let name = "jdbc-query-ts";
    let running = run_source(
        dir.path(),
        name,
        &[
            ("connection.url", db.jdbc_url()),
            ("mode", "timestamp".into()),
            ("timestamp.column.name", "at".into()),
            (
                "query",
                "SELECT id, at FROM events WHERE kind = 'keep' ORDER BY id DESC".into(),
            ),
            ("topic.prefix", topic.clone()),
        ],
    );
    let values = running.read(&topic, name, |v| v.len() >= 3);
    assert_eq!(ids(&values), [1, 3, 4]);
    assert_eq!(payloads(&values)[1]["at"], 1_709_294_400_500i64);
    // 2024-03-02T00:00:00Z
    running.wait_offset("\"timestamp\":1709337600000");
    let running = running.restart(dir.path());
    db.sql(&["INSERT INTO events VALUES (5, 'keep', '2024-03-03 00:00:00')"]);
    let values = running.read(&topic, name, |v| ids(v).contains(&5));
    assert_eq!(
        ids(&values),
        [1, 3, 4, 5],
        "nothing twice after the restart"
    );
}

/// PostgreSQL's types as Connect types: decimals (with numeric.mapping), dates, times,
/// timestamps with and without zone (db.timezone), JSON, UUID, enums and arrays.
#[test]
fn postgresql_column_types_map_to_connect_types() {
    let db = pg();
    let table = unique("types").replace('-', "_");
    let mood = format!("{table}_mood");
    db.sql(&[
        &format!("CREATE TYPE {mood} AS ENUM ('sad', 'happy')"),
        &format!(
            "CREATE TABLE {table} (id BIGINT PRIMARY KEY, price NUMERIC(10,2), \
             qty NUMERIC(5,0), exact NUMERIC(30,4), born DATE, opens TIME, \
             seen TIMESTAMP, seen_tz TIMESTAMPTZ, doc JSONB, ref UUID, mood {mood}, \
             tags TEXT[], scores INT4[], raw BYTEA, ok BOOLEAN, spot POINT)"
        ),
        &format!(
            "INSERT INTO {table} VALUES (1, 12.34, 42, 123456789012345678901234.5678, \
             '2024-02-29', '13:45:30.5', '2024-01-15 12:00:00', '2024-01-15 12:00:00+00', \
             '{{\"a\": [1, 2]}}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'happy', \
             ARRAY['x', NULL, 'z'], ARRAY[1, 2], '\\x0102ff', true, '(1,2)')"
        ),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let topic_prefix = format!("{}-", unique("jdbctypes"));
    let topic = format!("{topic_prefix}{table}");
    create_topic(&topic);
    let name = "jdbc-types";
    let running = run_source(
        dir.path(),
        name,
        &[
            ("connection.url", pg().jdbc_url()),
            ("mode", "incrementing".into()),
            ("incrementing.column.name", "id".into()),
            ("table.whitelist", table.clone()),
            ("topic.prefix", topic_prefix),
            ("numeric.mapping", "best_fit".into()),
            // Wall times (TIMESTAMP) are read in this zone; TIMESTAMPTZ is an instant.
            ("db.timezone", "Europe/Berlin".into()),
        ],
    );
    let values = running.read(&topic, name, |v| !v.is_empty());
    let record: Value = serde_json::from_str(&values[0]).unwrap();
    let p = &record["payload"];
    assert_eq!(p["price"], 12.34, "best_fit: NUMERIC(10,2) is a double");
    assert_eq!(p["qty"], 42, "best_fit: NUMERIC(5,0) is an int32");
    // Too wide for a double: a Decimal, written exactly (the raw JSON text is checked, as a
    // JSON parser would round it).
    assert!(
        values[0].contains("\"exact\":123456789012345678901234.5678"),
        "{}",
        values[0]
    );
    assert_eq!(p["born"], 19_782, "days since the epoch");
    assert_eq!(p["opens"], 49_530_500, "milliseconds of the day");
    assert_eq!(
        p["seen"], 1_705_316_400_000i64,
        "12:00 in Berlin is 11:00 UTC"
    );
    assert_eq!(p["seen_tz"], 1_705_320_000_000i64);
    let doc: Value = serde_json::from_str(p["doc"].as_str().unwrap()).unwrap();
    assert_eq!(doc, serde_json::json!({"a": [1, 2]}));
    assert_eq!(p["ref"], "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
    assert_eq!(p["mood"], "happy");
    assert_eq!(p["tags"], serde_json::json!(["x", null, "z"]));
    assert_eq!(p["scores"], serde_json::json!([1, 2]));
    assert_eq!(p["raw"], "AQL/", "bytes, base64 in JSON");
    assert_eq!(p["ok"], true);
    assert!(p.get("spot").is_none(), "a POINT has no mapping: left out");
    let fields = record["schema"]["fields"].as_array().unwrap();
    let field = |name: &str| fields.iter().find(|f| f["field"] == name).unwrap().clone();
    assert_eq!(field("id")["optional"], false);
    assert_eq!(field("qty")["type"], "int32");
    assert_eq!(
        field("exact")["name"],
        "org.apache.kafka.connect.data.Decimal"
    );
    assert_eq!(field("exact")["parameters"]["scale"], "4");
    assert_eq!(field("born")["name"], "org.apache.kafka.connect.data.Date");
    assert_eq!(field("opens")["name"], "org.apache.kafka.connect.data.Time");
    assert_eq!(field("tags")["type"], "array");
    assert_eq!(field("tags")["items"]["type"], "string");
    assert!(
        running.worker.log_text().contains("spot (point)"),
        "the left-out column is noted"
    );
    drop(running);
    db.sql(&[&format!("DROP TABLE {table}"), &format!("DROP TYPE {mood}")]);
}

/// MariaDB's types: DECIMAL, unsigned integers (widened), DATETIME and TIMESTAMP, JSON, DATE,
/// TIME and BLOB.
#[test]
fn mariadb_column_types_map_to_connect_types() {
    let db = mariadb();
    let table = unique("types").replace('-', "_");
    db.sql(&[
        &format!(
            "CREATE TABLE {table} (id INT UNSIGNED PRIMARY KEY AUTO_INCREMENT, \
             price DECIMAL(10,2), small TINYINT UNSIGNED, big BIGINT UNSIGNED, \
             seen DATETIME(3), stamp TIMESTAMP(3) NULL, doc JSON, born DATE, opens TIME, \
             raw BLOB, f FLOAT, d DOUBLE)"
        ),
        &format!(
            "INSERT INTO {table} (price, small, big, seen, stamp, doc, born, opens, raw, f, d) \
             VALUES (12.34, 200, 18446744073709551615, '2024-01-15 12:00:00.125', \
             '2024-01-15 12:00:00', '{{\"a\": 1}}', '2024-02-29', '13:45:30', X'0102ff', \
             1.5, 2.25)"
        ),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let topic_prefix = format!("{}-", unique("jdbctypes"));
    let topic = format!("{topic_prefix}{table}");
    create_topic(&topic);
    let name = "jdbc-my-types";
    let running = run_source(
        dir.path(),
        name,
        &[
            ("connection.url", db.jdbc_url()),
            ("mode", "incrementing".into()),
            ("table.whitelist", table.clone()),
            ("topic.prefix", topic_prefix),
        ],
    );
    let values = running.read(&topic, name, |v| !v.is_empty());
    let record: Value = serde_json::from_str(&values[0]).unwrap();
    let p = &record["payload"];
    assert_eq!(p["id"], 1);
    assert_eq!(p["price"].to_string(), "12.34");
    assert_eq!(p["small"], 200);
    assert!(
        values[0].contains("\"big\":18446744073709551615"),
        "{}",
        values[0]
    );
    assert_eq!(p["seen"], 1_705_320_000_125i64);
    assert_eq!(p["stamp"], 1_705_320_000_000i64);
    assert_eq!(p["doc"], "{\"a\": 1}");
    assert_eq!(p["born"], 19_782);
    assert_eq!(p["opens"], 49_530_000);
    assert_eq!(p["raw"], "AQL/");
    assert_eq!(p["f"], 1.5);
    assert_eq!(p["d"], 2.25);
    let fields = record["schema"]["fields"].as_array().unwrap();
    let field = |name: &str| fields.iter().find(|f| f["field"] == name).unwrap().clone();
    assert_eq!(field("id")["type"], "int64", "INT UNSIGNED widens to int64");
    assert_eq!(field("small")["type"], "int16");
    assert_eq!(
        field("big")["name"],
        "org.apache.kafka.connect.data.Decimal"
    );
    assert_eq!(field("f")["type"], "float");
    drop(running);
    db.sql(&[&format!("DROP TABLE {table}")]);
}

/// No whitelist: the connector lists a schema's tables (schema.pattern), keeps those the
/// include list matches and the exclude list does not, and spreads them over two tasks.
#[test]
fn tables_are_found_in_the_catalog_and_spread_over_tasks() {
    let db = pg();
    let schema = unique("shop").replace('-', "_");
    db.sql(&[
        &format!("CREATE SCHEMA {schema}"),
        &format!("CREATE TABLE {schema}.orders (id SERIAL PRIMARY KEY, item TEXT)"),
        &format!("CREATE TABLE {schema}.customers (id SERIAL PRIMARY KEY, name TEXT)"),
        &format!("CREATE TABLE {schema}.tmp_scratch (id SERIAL PRIMARY KEY)"),
        &format!("INSERT INTO {schema}.orders (item) VALUES ('apple'), ('pear')"),
        &format!("INSERT INTO {schema}.customers (name) VALUES ('ada')"),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let prefix = format!("{}-", unique("jdbcfound"));
    for t in ["orders", "customers"] {
        create_topic(&format!("{prefix}{t}"));
    }
    let name = "jdbc-found";
    let running = run_source(
        dir.path(),
        name,
        &[
            ("connection.url", db.jdbc_url()),
            ("mode", "incrementing".into()),
            ("schema.pattern", schema.clone()),
            ("table.include.list", format!("{schema}\\..*")),
            ("table.exclude.list", ".*tmp_.*".into()),
            ("topic.prefix", prefix.clone()),
            ("tasks.max", "2".into()),
            ("table.poll.interval.ms", "300".into()),
        ],
    );
    let orders = running.read(&format!("{prefix}orders"), name, |v| v.len() >= 2);
    assert_eq!(ids(&orders), [1, 2]);
    let customers = running.read(&format!("{prefix}customers"), name, |v| !v.is_empty());
    assert_eq!(payloads(&customers)[0]["name"], "ada");
    let (code, tasks) = running.worker.get(&format!("/connectors/{name}/tasks"));
    assert_eq!(code, 200);
    let tables: Vec<String> = tasks
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["config"]["tables"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(
        tables,
        [format!("{schema}.customers"), format!("{schema}.orders")],
        "one table per task, tmp_scratch excluded"
    );

    // A table created while it runs is found by the table monitor: the tasks are
    // reconfigured and its rows copied; a dropped one leaves the task configs.
    create_topic(&format!("{prefix}invoices"));
    db.sql(&[
        &format!("CREATE TABLE {schema}.invoices (id SERIAL PRIMARY KEY, total INT)"),
        &format!("INSERT INTO {schema}.invoices (total) VALUES (42)"),
    ]);
    let invoices = running.read(&format!("{prefix}invoices"), name, |v| !v.is_empty());
    assert_eq!(payloads(&invoices)[0]["total"], 42);
    let task_tables = || -> Vec<String> {
        let (_, tasks) = running.worker.get(&format!("/connectors/{name}/tasks"));
        tasks
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|t| t["config"]["tables"].as_str().unwrap_or("").to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(
        task_tables(),
        [
            format!("{schema}.customers,{schema}.invoices"),
            format!("{schema}.orders")
        ]
    );
    db.sql(&[&format!("DROP TABLE {schema}.customers")]);
    wait_for(
        "the dropped table to leave the tasks",
        Duration::from_secs(30),
        || {
            (task_tables() == [format!("{schema}.invoices"), format!("{schema}.orders")])
                .then_some(())
        },
    );
    drop(running);
    db.sql(&[&format!("DROP SCHEMA {schema} CASCADE")]);
}

/// A PostgreSQL `infinity` timestamp has no Connect value: the task fails naming the column
/// (after the rows before it), instead of the read ending there silently.
#[test]
fn an_infinite_timestamp_fails_the_task_naming_the_column() {
    let db = pg();
    let table = unique("forever").replace('-', "_");
    db.sql(&[
        &format!("CREATE TABLE {table} (id INT PRIMARY KEY, valid_until TIMESTAMP)"),
        &format!(
            "INSERT INTO {table} VALUES (1, '2030-01-01 00:00:00'), (2, 'infinity'), (3, NULL)"
        ),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let prefix = format!("{}-", unique("jdbcinf"));
    let topic = format!("{prefix}{table}");
    create_topic(&topic);
    let name = "jdbc-infinity";
    let running = run_source(
        dir.path(),
        name,
        &[
            ("connection.url", db.jdbc_url()),
            ("mode", "incrementing".into()),
            ("incrementing.column.name", "id".into()),
            ("table.whitelist", table.clone()),
            ("topic.prefix", prefix),
        ],
    );
    let failed = running.worker.wait_task_state(name, 0, "FAILED");
    let trace = failed["trace"].as_str().unwrap_or_default();
    assert!(
        trace.contains("column valid_until") && trace.contains("infinity"),
        "{trace}"
    );
    let values = running.read(&topic, name, |v| !v.is_empty());
    assert_eq!(
        ids(&values),
        [1],
        "the row before it was sent, nothing after"
    );
    drop(running);
    db.sql(&[&format!("DROP TABLE {table}")]);
}
