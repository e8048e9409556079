//! The JDBC sink connector in a real worker, with Confluent configs unchanged: records with
//! schemas (JSON converter) upserted by key into SQLite, the local PostgreSQL and MariaDB
//! with tables created and evolved, tombstones deleting rows, a kill -9 and replay leaving one
//! row per key; a row the database refuses goes to the dead letter queue while the rest is
//! written; `pk.mode=kafka`; and bad configs refused naming their key.

#[path = "support/databases.rs"]
mod databases;
mod support;

use std::time::Duration;

use databases::{mariadb, pg, Db};
use support::*;

/// A JSON-with-schema key `{id}`.
fn key(id: i32) -> Option<String> {
    Some(format!(
        r#"{{"schema":{{"type":"struct","fields":[{{"field":"id","type":"int32","optional":false}}],"optional":false}},"payload":{{"id":{id}}}}}"#
    ))
}

/// A JSON-with-schema value `{id, name, qty}` (and `color` when given: a field added later).
fn value(id: i32, name: &str, qty: i64, color: Option<&str>) -> Option<String> {
    let mut fields = vec![
        r#"{"field":"id","type":"int32","optional":false}"#.to_owned(),
        r#"{"field":"name","type":"string","optional":true}"#.to_owned(),
        r#"{"field":"qty","type":"int64","optional":false}"#.to_owned(),
    ];
    let mut payload = format!(r#""id":{id},"name":"{name}","qty":{qty}"#);
    if let Some(c) = color {
        fields.push(r#"{"field":"color","type":"string","optional":true}"#.to_owned());
        payload.push_str(&format!(r#","color":"{c}""#));
    }
    Some(format!(
        r#"{{"schema":{{"type":"struct","name":"item","fields":[{}],"optional":false}},"payload":{{{payload}}}}}"#,
        fields.join(",")
    ))
}

fn json_converters() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            "key.converter",
            "org.apache.kafka.connect.json.JsonConverter",
        ),
        (
            "value.converter",
            "org.apache.kafka.connect.json.JsonConverter",
        ),
    ]
}

fn sink_props(
    dir: &std::path::Path,
    name: &str,
    settings: &[(&str, String)],
) -> std::path::PathBuf {
    let connector = dir.join(format!("{name}.properties"));
    let mut all = vec![
        ("name", name.to_owned()),
        (
            "connector.class",
            "io.confluent.connect.jdbc.JdbcSinkConnector".to_owned(),
        ),
    ];
    all.extend(settings.iter().cloned());
    write_props(&connector, &all);
    connector
}

fn wait_rows(db: &Db, table: &str, columns: &[&str], want: &[&str], worker: &Worker, name: &str) {
    let got = wait_for_rows(db, table, columns, want);
    if got != want {
        panic!(
            "rows of {table}: {got:?}, want {want:?}; task: {:?}; log:\n{}",
            worker.task_state(name, 0),
            worker.log_text()
        );
    }
}

fn wait_for_rows(db: &Db, table: &str, columns: &[&str], want: &[&str]) -> Vec<String> {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let rows = db.rows(table, columns);
        if rows == want || std::time::Instant::now() > deadline {
            return rows;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Upserts by record key with auto.create, deletes by tombstone, adds a column with
/// auto.evolve, and survives a kill -9 with a replay: one row per key, the last values.
fn upsert_copy(db: &Db, table: &str) {
    let dir = tempfile::tempdir().unwrap();
    create_topic(table);
    let name = "jdbc-sink";
    let connector = sink_props(
        dir.path(),
        name,
        &[
            ("topics", table.to_owned()),
            ("connection.url", db.jdbc_url()),
            ("insert.mode", "upsert".into()),
            ("pk.mode", "record_key".into()),
            ("pk.fields", "id".into()),
            ("delete.enabled", "true".into()),
            ("auto.create", "true".into()),
            ("auto.evolve", "true".into()),
        ],
    );
    let plugins = plugin_dir(dir.path(), &["tributary_connector_jdbc"]);
    let props = Worker::props(dir.path(), free_port(), &plugins, &json_converters());
    let worker = Worker::start(dir.path(), &props, std::slice::from_ref(&connector));
    produce_keyed(
        table,
        &[
            (key(1), value(1, "apple", 3, None)),
            (key(2), value(2, "pear", 5, None)),
            (key(3), value(3, "fig", 7, None)),
            (key(2), value(2, "pear", 6, None)),
            (key(3), None),
        ],
    );
    let columns = ["id", "name", "qty"];
    wait_rows(
        db,
        table,
        &columns,
        &["1|apple|3", "2|pear|6"],
        &worker,
        name,
    );

    // A new field: the column is added, older rows have NULL in it.
    produce_keyed(table, &[(key(4), value(4, "kiwi", 1, Some("green")))]);
    let columns = ["id", "name", "qty", "color"];
    wait_rows(
        db,
        table,
        &columns,
        &["1|apple|3|-", "2|pear|6|-", "4|kiwi|1|green"],
        &worker,
        name,
    );

    // kill -9 right after a write: whatever was not committed is replayed onto the same keys.
    produce_keyed(table, &[(key(1), value(1, "apple", 30, Some("red")))]);
    wait_rows(
        db,
        table,
        &columns,
        &["1|apple|30|red", "2|pear|6|-", "4|kiwi|1|green"],
        &worker,
        name,
    );
    worker.kill9();
    let worker = Worker::start(dir.path(), &props, std::slice::from_ref(&connector));
    produce_keyed(table, &[(key(5), value(5, "lime", 2, Some("green")))]);
    wait_rows(
        db,
        table,
        &columns,
        &[
            "1|apple|30|red",
            "2|pear|6|-",
            "4|kiwi|1|green",
            "5|lime|2|green",
        ],
        &worker,
        name,
    );
    assert_eq!(
        worker.task_state(name, 0).map(|(s, _)| s).as_deref(),
        Some("RUNNING")
    );
}

#[test]
fn sqlite_upsert_by_key_with_deletes_and_a_new_column() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::Sqlite(dir.path().join("sink.db"));
    upsert_copy(&db, &unique("items").replace('-', "_"));
}

#[test]
fn postgresql_upsert_by_key_with_deletes_and_a_new_column() {
    let db = pg();
    let table = unique("items").replace('-', "_");
    upsert_copy(&db, &table);
    db.sql(&[&format!("DROP TABLE \"{table}\"")]);
}

#[test]
fn mariadb_upsert_by_key_with_deletes_and_a_new_column() {
    let db = mariadb();
    let table = unique("items").replace('-', "_");
    upsert_copy(&db, &table);
    db.sql(&[&format!("DROP TABLE `{table}`")]);
}

/// A row the table's CHECK refuses goes to the dead letter queue (errors.tolerance=all); the
/// rows around it are written.
#[test]
fn a_row_the_database_refuses_goes_to_the_dead_letter_queue() {
    let db = pg();
    let table = unique("checked").replace('-', "_");
    db.sql(&[&format!(
        "CREATE TABLE \"{table}\" (id INT PRIMARY KEY, name TEXT, qty BIGINT NOT NULL CHECK (qty >= 0))"
    )]);
    let dir = tempfile::tempdir().unwrap();
    create_topic(&table);
    let dlq = format!("{table}-dlq");
    create_topic(&dlq);
    let name = "jdbc-dlq";
    let connector = sink_props(
        dir.path(),
        name,
        &[
            ("topics", table.clone()),
            ("connection.url", db.jdbc_url()),
            ("pk.mode", "record_value".into()),
            ("pk.fields", "id".into()),
            ("errors.tolerance", "all".into()),
            ("errors.deadletterqueue.topic.name", dlq.clone()),
            (
                "errors.deadletterqueue.topic.replication.factor",
                "1".into(),
            ),
            (
                "errors.deadletterqueue.context.headers.enable",
                "true".into(),
            ),
        ],
    );
    let plugins = plugin_dir(dir.path(), &["tributary_connector_jdbc"]);
    let props = Worker::props(dir.path(), free_port(), &plugins, &json_converters());
    let worker = Worker::start(dir.path(), &props, std::slice::from_ref(&connector));
    let records: Vec<_> = (1..=9)
        .map(|i| {
            let qty = if i == 6 { -1 } else { i64::from(i) };
            (key(i), value(i, &format!("n{i}"), qty, None))
        })
        .collect();
    produce_keyed(&table, &records);
    let want: Vec<String> = (1..=9)
        .filter(|i| *i != 6)
        .map(|i| format!("{i}|n{i}|{i}"))
        .collect();
    let want: Vec<&str> = want.iter().map(String::as_str).collect();
    wait_rows(&db, &table, &["id", "name", "qty"], &want, &worker, name);
    let dead = read_records(&dlq, 1, Duration::from_secs(30));
    assert_eq!(dead.len(), 1, "one record in the DLQ");
    assert!(
        dead[0].value_text().contains("\"qty\":-1"),
        "{}",
        dead[0].value_text()
    );
    let reason = dead[0]
        .header("__connect.errors.exception.message")
        .unwrap_or_default();
    assert!(reason.contains("check"), "{reason}");
    assert_eq!(
        worker.task_state(name, 0).map(|(s, _)| s).as_deref(),
        Some("RUNNING")
    );
    drop(worker);
    db.sql(&[&format!("DROP TABLE \"{table}\"")]);
}

/// pk.mode=kafka: each record is a row keyed by its topic, partition and offset (insert mode;
/// a replay would hit the same keys).
#[test]
fn kafka_coordinates_as_the_primary_key() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::Sqlite(dir.path().join("kafka.db"));
    let topic = unique("events").replace('-', "_");
    create_topic(&topic);
    let name = "jdbc-kafka-pk";
    let connector = sink_props(
        dir.path(),
        name,
        &[
            ("topics", topic.clone()),
            ("connection.url", db.jdbc_url()),
            ("pk.mode", "kafka".into()),
            ("auto.create", "true".into()),
            ("table.name.format", "copy_of_${topic}".into()),
        ],
    );
    let plugins = plugin_dir(dir.path(), &["tributary_connector_jdbc"]);
    let props = Worker::props(dir.path(), free_port(), &plugins, &json_converters());
    let worker = Worker::start(dir.path(), &props, std::slice::from_ref(&connector));
    produce_keyed(
        &topic,
        &[
            (None, value(1, "a", 1, None)),
            (None, value(1, "a", 1, None)),
        ],
    );
    let table = format!("copy_of_{topic}");
    wait_rows(
        &db,
        &table,
        &[
            "__connect_offset",
            "__connect_topic",
            "__connect_partition",
            "name",
        ],
        &[&format!("0|{topic}|0|a"), &format!("1|{topic}|0|a")],
        &worker,
        name,
    );
}

/// Bad configs are refused by validation with their key named.
#[test]
fn bad_sink_configs_name_their_key() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(dir.path(), &["tributary_connector_jdbc"]);
    let props = Worker::props(dir.path(), free_port(), &plugins, &[]);
    let worker = Worker::start(dir.path(), &props, &[]);
    for (extra, key) in [
        (vec![("insert.mode", "merge")], "insert.mode"),
        (vec![("delete.enabled", "true")], "delete.enabled"),
        (vec![("insert.mode", "upsert")], "pk.mode"),
        (vec![("db.timezone", "Mars/Olympus")], "db.timezone"),
        (
            vec![("connection.url", "jdbc:oracle:thin:@h:1521:x")],
            "connection.url",
        ),
    ] {
        let mut config = serde_json::json!({
            "connector.class": "JdbcSinkConnector",
            "topics": "t",
            "connection.url": "jdbc:sqlite:/tmp/x.db",
        });
        for (k, v) in extra {
            config[k] = serde_json::Value::String(v.to_owned());
        }
        let (code, body, _) = worker.send(
            "PUT",
            "/connector-plugins/JdbcSinkConnector/config/validate",
            Some(config),
        );
        assert_eq!(code, 200, "{body}");
        let named = body["configs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["value"]["name"] == key)
            .cloned()
            .unwrap_or_default();
        assert!(
            !named["value"]["errors"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .is_empty(),
            "{key}: {body}"
        );
    }
}

/// PostgreSQL insert mode goes through COPY: every Connect type lands as its column type,
/// text with tabs, newlines and backslashes intact, nulls as NULL.
#[test]
fn postgresql_insert_mode_writes_every_type() {
    let db = pg();
    let table = unique("typed").replace('-', "_");
    let dir = tempfile::tempdir().unwrap();
    create_topic(&table);
    let name = "jdbc-types";
    let connector = sink_props(
        dir.path(),
        name,
        &[
            ("topics", table.clone()),
            ("connection.url", db.jdbc_url()),
            ("auto.create", "true".into()),
            ("db.timezone", "Europe/Berlin".into()),
        ],
    );
    let plugins = plugin_dir(dir.path(), &["tributary_connector_jdbc"]);
    let props = Worker::props(dir.path(), free_port(), &plugins, &json_converters());
    let worker = Worker::start(dir.path(), &props, std::slice::from_ref(&connector));
    let schema = r#"{"type":"struct","optional":false,"fields":[
        {"field":"id","type":"int64","optional":false},
        {"field":"tiny","type":"int8","optional":false},
        {"field":"small","type":"int16","optional":false},
        {"field":"real","type":"float","optional":false},
        {"field":"dbl","type":"double","optional":false},
        {"field":"ok","type":"boolean","optional":false},
        {"field":"txt","type":"string","optional":true},
        {"field":"raw","type":"bytes","optional":true},
        {"field":"price","type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"}},
        {"field":"born","type":"int32","optional":false,"name":"org.apache.kafka.connect.data.Date","version":1},
        {"field":"opens","type":"int32","optional":false,"name":"org.apache.kafka.connect.data.Time","version":1},
        {"field":"seen","type":"int64","optional":false,"name":"org.apache.kafka.connect.data.Timestamp","version":1}]}"#
        .replace(['\n', ' '], "");
    // "BNI=" is 1234 (12.34 at scale 2); "AQL/" is 01 02 ff.
    let row = |id: i64, txt: &str, raw: &str| {
        Some(format!(
            r#"{{"schema":{schema},"payload":{{"id":{id},"tiny":-3,"small":300,"real":1.5,"dbl":2.25,"ok":true,"txt":{txt},"raw":{raw},"price":"BNI=","born":19782,"opens":49530500,"seen":1705320000000}}}}"#
        ))
    };
    produce_keyed(
        &table,
        &[
            (None, row(1, r#""tab\there\nnew \\ back""#, r#""AQL/""#)),
            (None, row(2, "null", "null")),
        ],
    );
    let columns = [
        "id", "tiny", "small", "real", "dbl", "ok", "txt", "raw", "price", "born", "opens", "seen",
    ];
    wait_rows(
        &db,
        &table,
        &columns,
        &[
            "1|-3|300|1.5|2.25|true|tab\there\nnew \\ back|\\x0102ff|12.34|2024-02-29|13:45:30.5|2024-01-15 13:00:00",
            "2|-3|300|1.5|2.25|true|-|-|12.34|2024-02-29|13:45:30.5|2024-01-15 13:00:00",
        ],
        &worker,
        name,
    );
    drop(worker);
    db.sql(&[&format!("DROP TABLE \"{table}\"")]);
}

/// A TCP forwarder to the local PostgreSQL that can be taken down and brought back, to lose
/// the database under a running task.
struct Proxy {
    port: u16,
    up: std::sync::Arc<std::sync::atomic::AtomicBool>,
    open: std::sync::Arc<std::sync::Mutex<Vec<std::net::TcpStream>>>,
}

impl Proxy {
    fn start(target: &str) -> Proxy {
        use std::net::{TcpListener, TcpStream};
        use std::sync::atomic::Ordering;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let open = std::sync::Arc::new(std::sync::Mutex::new(Vec::<TcpStream>::new()));
        let (flag, streams, target) = (up.clone(), open.clone(), target.to_owned());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                let server = match TcpStream::connect(&target) {
                    Ok(s) if flag.load(Ordering::SeqCst) => s,
                    _ => continue, // down: the connection is dropped at once
                };
                let mut list = streams.lock().unwrap();
                for s in [&client, &server] {
                    list.push(s.try_clone().unwrap());
                }
                for (mut from, mut to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server, client),
                ] {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    });
                }
            }
        });
        Proxy { port, up, open }
    }

    fn set_up(&self, up: bool) {
        self.up.store(up, std::sync::atomic::Ordering::SeqCst);
        if !up {
            for s in self.open.lock().unwrap().drain(..) {
                let _ = s.shutdown(std::net::Shutdown::Both);
            }
        }
    }
}

/// The database goes away under a running sink: the task stays RUNNING, keeps the records and
/// writes them once the database is back.
#[test]
fn a_lost_database_is_retried_with_the_task_running() {
    let db = pg();
    let proxy = Proxy::start("127.0.0.1:5432");
    let table = unique("lost").replace('-', "_");
    let dir = tempfile::tempdir().unwrap();
    create_topic(&table);
    let name = "jdbc-lost";
    let url = db
        .jdbc_url()
        .replace("127.0.0.1:5432", &format!("127.0.0.1:{}", proxy.port));
    let connector = sink_props(
        dir.path(),
        name,
        &[
            ("topics", table.clone()),
            ("connection.url", url),
            ("insert.mode", "upsert".into()),
            ("pk.mode", "record_key".into()),
            ("pk.fields", "id".into()),
            ("auto.create", "true".into()),
            ("retry.backoff.ms", "200".into()),
        ],
    );
    let plugins = plugin_dir(dir.path(), &["tributary_connector_jdbc"]);
    let props = Worker::props(dir.path(), free_port(), &plugins, &json_converters());
    let worker = Worker::start(dir.path(), &props, std::slice::from_ref(&connector));
    produce_keyed(&table, &[(key(1), value(1, "a", 1, None))]);
    wait_rows(&db, &table, &["id", "name"], &["1|a"], &worker, name);

    proxy.set_up(false);
    produce_keyed(
        &table,
        &[
            (key(2), value(2, "b", 2, None)),
            (key(3), value(3, "c", 3, None)),
        ],
    );
    wait_for("the sink to notice", Duration::from_secs(30), || {
        worker
            .log_text()
            .contains("the database cannot be reached")
            .then_some(())
    });
    assert_eq!(
        worker.task_state(name, 0).map(|(s, _)| s).as_deref(),
        Some("RUNNING")
    );
    proxy.set_up(true);
    wait_rows(
        &db,
        &table,
        &["id", "name"],
        &["1|a", "2|b", "3|c"],
        &worker,
        name,
    );
    drop(worker);
    db.sql(&[&format!("DROP TABLE \"{table}\"")]);
}

/// Schemaless JSON (no schemas in the converter) into an existing PostgreSQL table: each map
/// entry typed as its column (numeric, timestamp, jsonb, uuid), tombstones deleting by a bare
/// key, and a record with a field the table lacks reported and skipped (errors.tolerance=all).
#[test]
fn schemaless_records_are_written_to_an_existing_table() {
    let db = pg();
    let table = unique("loose").replace('-', "_");
    db.sql(&[&format!(
        "CREATE TABLE \"{table}\" (id INT PRIMARY KEY, name TEXT, price NUMERIC(10,2), \
         doc JSONB, ref UUID, seen TIMESTAMP, seen_tz TIMESTAMPTZ)"
    )]);
    let dir = tempfile::tempdir().unwrap();
    create_topic(&table);
    let name = "jdbc-schemaless";
    let connector = sink_props(
        dir.path(),
        name,
        &[
            ("topics", table.clone()),
            ("connection.url", db.jdbc_url()),
            ("insert.mode", "upsert".into()),
            ("pk.mode", "record_key".into()),
            ("pk.fields", "id".into()),
            ("delete.enabled", "true".into()),
            ("errors.tolerance", "all".into()),
            ("errors.log.enable", "true".into()),
            // Wall times are read and written in Berlin; a TIMESTAMPTZ gets the instant.
            ("db.timezone", "Europe/Berlin".into()),
        ],
    );
    let plugins = plugin_dir(dir.path(), &["tributary_connector_jdbc"]);
    let mut converters = json_converters();
    converters.push(("key.converter.schemas.enable", "false"));
    converters.push(("value.converter.schemas.enable", "false"));
    let props = Worker::props(dir.path(), free_port(), &plugins, &converters);
    let worker = Worker::start(dir.path(), &props, std::slice::from_ref(&connector));
    let row = |id: i32, extra: &str| {
        Some(format!(
            r#"{{"id":{id},"name":"n{id}","price":1.25,"doc":{{"x":[1,2]}},"ref":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1{id}","seen":"2024-01-15 12:00:00","seen_tz":"2024-01-15 12:00:00"{extra}}}"#
        ))
    };
    produce_keyed(
        &table,
        &[
            (Some("1".into()), row(1, "")),
            (Some("2".into()), row(2, "")),
            (Some("3".into()), row(3, r#","color":"red""#)),
            (Some("4".into()), row(4, "")),
            (Some("2".into()), None),
        ],
    );
    wait_rows(
        &db,
        &table,
        &["id", "name", "price", "doc", "ref", "seen", "seen_tz"],
        &[
            "1|n1|1.25|{\"x\": [1, 2]}|a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11|2024-01-15 12:00:00|2024-01-15 11:00:00+00",
            "4|n4|1.25|{\"x\": [1, 2]}|a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a14|2024-01-15 12:00:00|2024-01-15 11:00:00+00",
        ],
        &worker,
        name,
    );
    assert!(
        worker.log_text().contains("no column color"),
        "the skipped record is logged"
    );
    drop(worker);
    db.sql(&[&format!("DROP TABLE \"{table}\"")]);
}

/// insert.mode=update: existing rows are updated by the value's key field; a record for a row
/// that does not exist changes nothing (as Confluent's).
#[test]
fn update_mode_changes_existing_rows_only() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::Sqlite(dir.path().join("update.db"));
    let table = unique("stock").replace('-', "_");
    db.sql(&[
        &format!("CREATE TABLE {table} (id INTEGER PRIMARY KEY, name TEXT, qty INTEGER NOT NULL)"),
        &format!("INSERT INTO {table} VALUES (1, 'apple', 3), (2, 'pear', 5), (3, 'fig', 7)"),
    ]);
    create_topic(&table);
    let name = "jdbc-update";
    let connector = sink_props(
        dir.path(),
        name,
        &[
            ("topics", table.clone()),
            ("connection.url", db.jdbc_url()),
            ("insert.mode", "update".into()),
            ("pk.mode", "record_value".into()),
            ("pk.fields", "id".into()),
        ],
    );
    let plugins = plugin_dir(dir.path(), &["tributary_connector_jdbc"]);
    let props = Worker::props(dir.path(), free_port(), &plugins, &json_converters());
    let worker = Worker::start(dir.path(), &props, std::slice::from_ref(&connector));
    produce_keyed(
        &table,
        &[
            (None, value(1, "apple", 30, None)),
            (None, value(9, "ghost", 1, None)),
            (None, value(3, "fig", 70, None)),
        ],
    );
    wait_rows(
        &db,
        &table,
        &["id", "name", "qty"],
        &["1|apple|30", "2|pear|5", "3|fig|70"],
        &worker,
        name,
    );
}
