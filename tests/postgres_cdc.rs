//! The PostgreSQL CDC connector in a real worker against the local PostgreSQL (wal_level
//! logical: `scripts/services.sh` sets it; `TRIBUTARY_TEST_PG_URL` points elsewhere), with a
//! Debezium config unchanged: the snapshot, then inserts, updates, deletes, a key change and
//! a TOASTed column streamed as Debezium's envelopes; a kill -9 in the middle of a stream of
//! transactions; the slot confirmed only to what the offsets hold; heartbeats moving an idle
//! slot; the unwrap SMT with the JDBC sink reproducing the table in MariaDB; several snapshot
//! threads; and exactly-once delivery (KIP-618) through a kill -9 of a distributed worker.

#[path = "support/databases.rs"]
mod databases;
mod support;

use databases::{mariadb, pg, Db};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Value};
use support::*;

fn pg_url() -> String {
    match pg() {
        Db::Postgres(url) => url,
        _ => unreachable!(),
    }
}

/// The first column of the first row of a query, as text (NULL as None).
fn pg_scalar(sql: &str) -> Option<String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        use sqlx::{Connection, Row};
        let mut conn = sqlx::PgConnection::connect(&pg_url()).await.unwrap();
        let row = sqlx::query(sql).fetch_optional(&mut conn).await.unwrap()?;
        row.try_get::<Option<String>, _>(0).unwrap()
    })
}

/// Host, port, user and database of the test server, as Debezium's keys want them.
fn database_props() -> Vec<(&'static str, String)> {
    let url = pg_url();
    let rest = url.trim_start_matches("postgres://");
    let (user, rest) = rest.split_once('@').unwrap_or(("postgres", rest));
    let (hostport, db) = rest.split_once('/').unwrap_or((rest, "test"));
    let (host, port) = hostport.split_once(':').unwrap_or((hostport, "5432"));
    vec![
        ("database.hostname", host.to_owned()),
        ("database.port", port.to_owned()),
        ("database.user", user.to_owned()),
        ("database.dbname", db.to_owned()),
    ]
}

/// One test's names (slot, publication, topic prefix, table), and cleanup of what PostgreSQL
/// keeps: the slot (a leaked one would hold WAL for ever and use up max_replication_slots),
/// the publication and the tables.
struct Names {
    id: String,
    slot: String,
    publication: String,
    prefix: String,
    tables: Vec<String>,
}

impl Names {
    fn new(tag: &str, tables: &[&str]) -> Names {
        let id = unique(tag).replace('-', "_");
        drop_stale_slots();
        Names {
            slot: format!("tributary_test_{id}"),
            publication: format!("pub_{id}"),
            prefix: format!("cdc_{id}"),
            tables: tables.iter().map(|t| format!("{t}_{id}")).collect(),
            id,
        }
    }

    fn table(&self, i: usize) -> &str {
        &self.tables[i]
    }

    fn topic(&self, i: usize) -> String {
        format!("{}.public.{}", self.prefix, self.tables[i])
    }

    /// The connector config Debezium would take, with this test's names. The tables' topics
    /// are created with one partition, so records keep the order of the changes (Tansu would
    /// create several).
    fn connector(&self, dir: &Path, extra: &[(&str, &str)]) -> PathBuf {
        let path = dir.join(format!("{}.properties", self.id));
        write_props(&path, &self.connector_props(extra));
        path
    }

    /// [`Names::connector`]'s properties (its topics are created here).
    fn connector_props<'a>(&self, extra: &[(&'a str, &str)]) -> Vec<(&'a str, String)> {
        for i in 0..self.tables.len() {
            create_topic(&self.topic(i));
        }
        create_topic(&format!("__debezium-heartbeat.{}", self.prefix));
        let mut props: Vec<(&str, String)> = vec![
            ("name", "pg-cdc".into()),
            (
                "connector.class",
                "io.debezium.connector.postgresql.PostgresConnector".into(),
            ),
            ("plugin.name", "pgoutput".into()),
            ("topic.prefix", self.prefix.clone()),
            ("slot.name", self.slot.clone()),
            ("publication.name", self.publication.clone()),
            ("publication.autocreate.mode", "filtered".into()),
            (
                "table.include.list",
                self.tables
                    .iter()
                    .map(|t| format!("public.{t}"))
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            ("status.update.interval.ms", "200".into()),
            ("poll.interval.ms", "100".into()),
        ];
        props.extend(database_props());
        for (k, v) in extra {
            props.retain(|(pk, _)| pk != k);
            props.push((k, (*v).to_owned()));
        }
        props
    }

    fn confirmed_flush(&self) -> Option<u64> {
        pg_scalar(&format!(
            "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = '{}'",
            self.slot
        ))
        .and_then(|t| parse_lsn(&t))
    }
}

impl Drop for Names {
    fn drop(&mut self) {
        let db = pg();
        let mut statements = vec![
            format!(
                "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots \
                 WHERE slot_name = '{}' AND NOT active",
                self.slot
            ),
            format!("DROP PUBLICATION IF EXISTS {}", self.publication),
        ];
        for t in &self.tables {
            statements.push(format!("DROP TABLE IF EXISTS {t}"));
        }
        let refs: Vec<&str> = statements.iter().map(String::as_str).collect();
        // The worker may still hold the slot for a moment after its process died.
        for _ in 0..50 {
            db.sql(&refs);
            if pg_scalar(&format!(
                "SELECT slot_name::text FROM pg_replication_slots WHERE slot_name = '{}'",
                self.slot
            ))
            .is_none()
            {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Slots left by an earlier run that died (their names carry the test process's id): dropped
/// when that process is gone, so they neither hold WAL nor use up `max_replication_slots`.
fn drop_stale_slots() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let slots: Vec<String> = runtime.block_on(async {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&pg_url()).await.unwrap();
        sqlx::query_scalar(
            "SELECT slot_name::text FROM pg_replication_slots \
             WHERE slot_name LIKE 'tributary_test_%' AND NOT active",
        )
        .fetch_all(&mut conn)
        .await
        .unwrap()
    });
    for slot in slots {
        let parts: Vec<&str> = slot.rsplit('_').collect();
        let Some(pid) = parts.get(1).and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            pg().sql(&[&format!(
                "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots \
                 WHERE slot_name = '{slot}' AND NOT active"
            )]);
        }
    }
}

fn parse_lsn(text: &str) -> Option<u64> {
    let (hi, lo) = text.split_once('/')?;
    Some((u64::from_str_radix(hi, 16).ok()? << 32) | u64::from_str_radix(lo, 16).ok()?)
}

fn current_lsn() -> u64 {
    parse_lsn(&pg_scalar("SELECT pg_current_wal_lsn()::text").unwrap()).unwrap()
}

/// A worker with the CDC plugin (and the JDBC one), JSON values with schemas, JSON keys.
fn start_worker(dir: &Path, connectors: &[PathBuf], extra: &[(&str, &str)]) -> Worker {
    let plugins = plugin_dir(
        dir,
        &[
            "tributary_connector_postgres_cdc",
            "tributary_connector_jdbc",
        ],
    );
    let mut settings = vec![
        (
            "key.converter",
            "org.apache.kafka.connect.json.JsonConverter",
        ),
        ("key.converter.schemas.enable", "false"),
        (
            "value.converter",
            "org.apache.kafka.connect.json.JsonConverter",
        ),
    ];
    settings.extend_from_slice(extra);
    let props = Worker::props(dir, free_port(), &plugins, &settings);
    Worker::start(dir, &props, connectors)
}

/// A change event read back: its key, and the envelope's payload (None for a tombstone).
#[derive(Debug, Clone)]
struct Event {
    key: Value,
    value: Option<Value>,
    schema: Option<Value>,
    headers: Vec<(String, Option<Vec<u8>>)>,
}

impl Event {
    fn op(&self) -> &str {
        self.value
            .as_ref()
            .and_then(|v| v["op"].as_str())
            .unwrap_or("tombstone")
    }

    fn after(&self) -> &Value {
        &self.value.as_ref().unwrap()["after"]
    }

    fn before(&self) -> &Value {
        &self.value.as_ref().unwrap()["before"]
    }

    fn source(&self) -> &Value {
        &self.value.as_ref().unwrap()["source"]
    }
}

fn events(records: &[Consumed]) -> Vec<Event> {
    records
        .iter()
        .map(|r| {
            let key = r
                .key
                .as_ref()
                .map(|k| serde_json::from_slice(k).unwrap())
                .unwrap_or(Value::Null);
            let (value, schema) = match &r.value {
                None => (None, None),
                Some(v) => {
                    let v: Value = serde_json::from_slice(v).unwrap();
                    (Some(v["payload"].clone()), Some(v["schema"].clone()))
                }
            };
            Event {
                key,
                value,
                schema,
                headers: r.headers.clone(),
            }
        })
        .collect()
}

fn read_events(topic: &str, expected: usize, worker: &Worker) -> Vec<Event> {
    let records = read_records(topic, expected, Duration::from_secs(60));
    if records.len() < expected {
        panic!(
            "{} of {expected} records on {topic}; task: {:?}; log:\n{}",
            records.len(),
            worker.task_state("pg-cdc", 0),
            worker.log_text()
        );
    }
    events(&records)
}

/// A JSON value as the database prints it (NULL as `-`).
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

/// Applies change events in order: the table they describe, by key.
fn replay(events: &[Event], column: &str) -> BTreeMap<String, String> {
    let mut table = BTreeMap::new();
    for e in events {
        apply(&mut table, e, column);
    }
    table
}

fn apply(table: &mut BTreeMap<String, String>, e: &Event, column: &str) {
    match e.op() {
        "r" | "c" | "u" => {
            table.insert(e.key.to_string(), text(&e.after()[column]));
        }
        "d" => {
            table.remove(&e.key.to_string());
        }
        _ => {}
    }
}

/// Compares a replayed table with the database's, showing a few differences.
fn assert_same_table(
    got: &BTreeMap<String, String>,
    want: &BTreeMap<String, String>,
    worker: &Worker,
) {
    if got == want {
        return;
    }
    let missing: Vec<&String> = want
        .keys()
        .filter(|k| !got.contains_key(*k))
        .take(5)
        .collect();
    let extra: Vec<&String> = got
        .keys()
        .filter(|k| !want.contains_key(*k))
        .take(5)
        .collect();
    let differ: Vec<(&String, &String, &String)> = want
        .iter()
        .filter_map(|(k, v)| got.get(k).filter(|g| *g != v).map(|g| (k, g, v)))
        .take(5)
        .collect();
    panic!(
        "replayed {} rows, table has {}; missing {missing:?}, extra {extra:?}, differing (got, want) {differ:?}; log:\n{}",
        got.len(),
        want.len(),
        worker.log_text()
    );
}

fn table_now(table: &str, column: &str) -> BTreeMap<String, String> {
    pg().rows(table, &["id", column])
        .into_iter()
        .map(|r| {
            let (id, v) = r.split_once('|').unwrap();
            (
                json!({ "id": id.parse::<i64>().unwrap() }).to_string(),
                v.to_owned(),
            )
        })
        .collect()
}

#[test]
fn snapshot_then_streaming_as_debezium_writes_them() {
    let names = Names::new("stream", &["items"]);
    let t = names.table(0).to_owned();
    let db = pg();
    db.sql(&[
        &format!(
            "CREATE TABLE {t} (id INTEGER PRIMARY KEY, name TEXT NOT NULL, big TEXT, \
             amount NUMERIC(10,2), price NUMERIC, at TIMESTAMPTZ, day DATE, tags TEXT[], \
             doc JSONB, uid UUID)"
        ),
        &format!(
            "INSERT INTO {t} VALUES (1, 'one', NULL, 1.50, 3.14159, '2024-01-31 13:45:10.5+02', \
             '2024-01-31', '{{a,b}}', '{{\"k\": 1}}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'), \
             (2, 'two', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL), \
             (3, 'three', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)"
        ),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let connector = names.connector(dir.path(), &[]);
    let worker = start_worker(dir.path(), &[connector], &[]);
    let topic = names.topic(0);

    // The snapshot: three reads, first/…/last marked.
    let snap = read_events(&topic, 3, &worker);
    let ops: Vec<&str> = snap.iter().map(Event::op).collect();
    assert_eq!(ops, ["r", "r", "r"]);
    let markers: Vec<&str> = snap
        .iter()
        .map(|e| e.source()["snapshot"].as_str().unwrap())
        .collect();
    assert_eq!(markers, ["first", "true", "last"]);
    let first = &snap[0];
    assert_eq!(first.key, json!({ "id": 1 }));
    assert_eq!(first.before(), &Value::Null);
    let after = first.after();
    assert_eq!(after["name"], "one");
    assert_eq!(
        after["at"], "2024-01-31T11:45:10.500000Z",
        "ZonedTimestamp in UTC"
    );
    assert_eq!(after["day"], 19753, "io.debezium.time.Date: days");
    assert_eq!(after["tags"], json!(["a", "b"]));
    assert_eq!(after["doc"], "{\"k\": 1}");
    assert_eq!(after["amount"], "AJY=", "Decimal(scale 2) 1.50 as bytes");
    assert_eq!(after["price"]["scale"], 5, "VariableScaleDecimal");
    let source = first.source();
    assert_eq!(source["connector"], "postgresql");
    assert_eq!(source["name"], names.prefix.as_str());
    assert_eq!(source["db"], "test");
    assert_eq!(source["schema"], "public");
    assert_eq!(source["table"], t.as_str());
    let schema = first.schema.as_ref().unwrap();
    assert_eq!(
        schema["name"],
        format!("{}.public.{t}.Envelope", names.prefix)
    );
    let field = |name: &str| {
        schema["fields"][1]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["field"] == name)
            .cloned()
            .unwrap()
    };
    assert_eq!(field("uid")["name"], "io.debezium.data.Uuid");
    assert_eq!(field("doc")["name"], "io.debezium.data.Json");
    assert_eq!(field("at")["name"], "io.debezium.time.ZonedTimestamp");
    assert_eq!(field("name")["optional"], false, "NOT NULL");

    // Streaming: an insert with a TOASTed value, an update leaving it unchanged, a key
    // change, a delete.
    db.sql(&[
        &format!(
            "INSERT INTO {t} (id, name, big) VALUES (4, 'four', \
             (SELECT string_agg(md5(i::text), '') FROM generate_series(1, 400) i))"
        ),
        &format!("UPDATE {t} SET name = 'FOUR' WHERE id = 4"),
        &format!("UPDATE {t} SET id = 10 WHERE id = 1"),
        &format!("DELETE FROM {t} WHERE id = 2"),
    ]);
    let all = read_events(&topic, 3 + 7, &worker);
    let streamed = &all[3..];
    let ops: Vec<&str> = streamed.iter().map(Event::op).collect();
    assert_eq!(
        ops,
        ["c", "u", "d", "tombstone", "c", "d", "tombstone"],
        "{streamed:#?}"
    );
    assert_eq!(streamed[0].after()["big"].as_str().unwrap().len(), 12_800);
    assert_eq!(
        streamed[1].after()["big"],
        "__debezium_unavailable_value",
        "an unchanged TOASTed value under REPLICA IDENTITY DEFAULT"
    );
    assert_eq!(streamed[1].after()["name"], "FOUR");
    assert_eq!(streamed[1].source()["snapshot"], "false");
    assert!(streamed[1].source()["txId"].as_i64().is_some());
    assert!(streamed[1].source()["lsn"].as_i64().is_some());
    // The key change: delete of the old key (header newkey), tombstone, create (oldkey).
    assert_eq!(streamed[2].key, json!({ "id": 1 }));
    assert_eq!(streamed[2].before()["id"], 1);
    let newkey = streamed[2]
        .headers
        .iter()
        .find(|(k, _)| k == "__debezium.newkey")
        .expect("newkey header");
    assert!(String::from_utf8_lossy(newkey.1.as_deref().unwrap()).contains("10"));
    assert_eq!(streamed[3].key, json!({ "id": 1 }));
    assert_eq!(streamed[4].key, json!({ "id": 10 }));
    assert!(streamed[4]
        .headers
        .iter()
        .any(|(k, _)| k == "__debezium.oldkey"));
    // The delete: before holds the key (REPLICA IDENTITY DEFAULT), then a tombstone.
    assert_eq!(streamed[5].key, json!({ "id": 2 }));
    assert_eq!(streamed[5].before()["id"], 2);
    assert_eq!(streamed[5].after(), &Value::Null);
    assert_eq!(replay(&all, "name"), table_now(&t, "name"));

    // The slot is confirmed past the last change once its offset is committed.
    let end = current_lsn();
    db.sql(&[&format!("INSERT INTO {t} (id, name) VALUES (5, 'five')")]);
    read_events(&topic, 3 + 7 + 1, &worker);
    wait_for(
        "the slot confirmed past the change",
        Duration::from_secs(30),
        || names.confirmed_flush().filter(|l| *l > end),
    );
}

#[test]
fn replica_identity_full_fills_unchanged_toast_from_the_old_row() {
    let names = Names::new("full", &["docs"]);
    let t = names.table(0).to_owned();
    let db = pg();
    db.sql(&[
        &format!("CREATE TABLE {t} (id INTEGER PRIMARY KEY, name TEXT, body TEXT)"),
        &format!("ALTER TABLE {t} REPLICA IDENTITY FULL"),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let connector = names.connector(dir.path(), &[("snapshot.mode", "no_data")]);
    let worker = start_worker(dir.path(), &[connector], &[]);
    worker.wait_task_state("pg-cdc", 0, "RUNNING");
    // The slot exists once the task streams: changes from now on are captured.
    wait_for("the slot", Duration::from_secs(30), || {
        names.confirmed_flush()
    });
    db.sql(&[
        &format!(
            "INSERT INTO {t} VALUES (1, 'a', (SELECT string_agg(md5(i::text), '') FROM generate_series(1, 400) i))"
        ),
        &format!("UPDATE {t} SET name = 'b' WHERE id = 1"),
        &format!("DELETE FROM {t} WHERE id = 1"),
    ]);
    let got = read_events(&names.topic(0), 4, &worker);
    let ops: Vec<&str> = got.iter().map(Event::op).collect();
    assert_eq!(ops, ["c", "u", "d", "tombstone"]);
    let body = got[0].after()["body"].as_str().unwrap().to_owned();
    assert_eq!(
        got[1].after()["body"],
        body.as_str(),
        "filled from the old row"
    );
    assert_eq!(got[1].before()["body"], body.as_str());
    assert_eq!(got[1].before()["name"], "a");
    assert_eq!(got[2].before()["name"], "b", "FULL: the whole old row");
}

#[test]
fn a_kill_in_the_middle_of_a_stream_resumes_without_loss() {
    let names = Names::new("kill", &["counter"]);
    let t = names.table(0).to_owned();
    let db = pg();
    db.sql(&[
        &format!("CREATE TABLE {t} (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)"),
        &format!("INSERT INTO {t} SELECT i, 0 FROM generate_series(1, 50) i"),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let connector = names.connector(dir.path(), &[]);
    let topic = names.topic(0);
    let worker = start_worker(dir.path(), std::slice::from_ref(&connector), &[]);
    read_events(&topic, 50, &worker);
    // Transactions of several changes each; the worker dies while they stream.
    let write = |from: i32, to: i32| {
        for i in from..to {
            db.sql(&[
                "BEGIN",
                &format!("UPDATE {t} SET v = v + 1 WHERE id = {}", i % 50 + 1),
                &format!("INSERT INTO {t} VALUES ({}, {i})", 1000 + i),
                &format!("DELETE FROM {t} WHERE id = {}", 1000 + i - 1),
                "COMMIT",
            ]);
        }
    };
    write(0, 40);
    let seen = read_records(&topic, 70, Duration::from_secs(60)).len();
    assert!(seen >= 70, "{seen} records before the kill");
    worker.kill9();
    write(40, 80);
    let worker = start_worker(dir.path(), &[connector], &[]);
    write(80, 100);
    // Everything up to the last transaction's delete arrives; replaying gives the table.
    let last_key = json!({ "id": 1098 });
    let records = consume_until(&topic, Duration::from_secs(90), |r| {
        events(r).iter().any(|e| e.key == last_key && e.op() == "d")
    });
    let all = events(&records);
    if !all.iter().any(|e| e.key == last_key && e.op() == "d") {
        panic!(
            "the last change did not arrive; log:\n{}",
            worker.log_text()
        );
    }
    assert_eq!(replay(&all, "v"), table_now(&t, "v"));
    // Every transaction's insert is there (at least once).
    for i in 0..100 {
        let key = json!({ "id": 1000 + i });
        assert!(
            all.iter().any(|e| e.key == key && e.op() == "c"),
            "insert of {} missing",
            1000 + i
        );
    }
}

#[test]
fn heartbeats_move_an_idle_slot_with_a_logical_message() {
    let names = Names::new("beat", &["quiet"]);
    let t = names.table(0).to_owned();
    pg().sql(&[&format!("CREATE TABLE {t} (id INTEGER PRIMARY KEY)")]);
    let dir = tempfile::tempdir().unwrap();
    let connector = names.connector(
        dir.path(),
        &[
            ("heartbeat.interval.ms", "300"),
            (
                "heartbeat.action.query",
                "SELECT pg_logical_emit_message(false, 'heartbeat', now()::text)",
            ),
            ("snapshot.mode", "no_data"),
        ],
    );
    let worker = start_worker(dir.path(), &[connector], &[]);
    worker.wait_task_state("pg-cdc", 0, "RUNNING");
    let start = wait_for("the slot", Duration::from_secs(30), || {
        names.confirmed_flush()
    });
    // Unrelated WAL (not in the publication) while the captured table is idle.
    pg().sql(&[
        "CREATE TABLE IF NOT EXISTS cdc_unrelated_wal (n INTEGER)",
        "INSERT INTO cdc_unrelated_wal SELECT generate_series(1, 1000)",
    ]);
    let topic = format!("__debezium-heartbeat.{}", names.prefix);
    let beats = read_records(&topic, 2, Duration::from_secs(30));
    assert!(beats.len() >= 2, "log:\n{}", worker.log_text());
    let key: Value = serde_json::from_slice(beats[0].key.as_deref().unwrap()).unwrap();
    assert_eq!(key, json!({ "serverName": names.prefix }));
    wait_for("the idle slot advanced", Duration::from_secs(30), || {
        names.confirmed_flush().filter(|l| *l > start)
    });
}

#[test]
fn plugin_name_must_be_pgoutput_and_bad_values_name_their_key() {
    let dir = tempfile::tempdir().unwrap();
    let worker = start_worker(dir.path(), &[], &[]);
    let mut config = json!({
        "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
        "topic.prefix": "x",
        "database.hostname": "127.0.0.1",
        "database.user": "postgres",
        "database.dbname": "test",
        "database.password": "hunter2-secret"
    });
    let (code, body, _) = worker.send(
        "PUT",
        "/connector-plugins/PostgresConnector/config/validate",
        Some(config.clone()),
    );
    assert_eq!(code, 200, "{body}");
    let errors_of = |body: &Value, key: &str| -> Vec<String> {
        body["configs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["value"]["name"] == key)
            .map(|c| {
                c["value"]["errors"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| e.as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    let errors = errors_of(&body, "plugin.name");
    assert!(errors.iter().any(|e| e.contains("only pgoutput")), "{body}");
    assert!(!body.to_string().contains("hunter2-secret"));
    config["plugin.name"] = json!("pgoutput");
    config["snapshot.mode"] = json!("sometimes");
    let (_, body, _) = worker.send(
        "PUT",
        "/connector-plugins/PostgresConnector/config/validate",
        Some(config),
    );
    assert_eq!(errors_of(&body, "plugin.name"), Vec::<String>::new());
    assert_eq!(errors_of(&body, "snapshot.mode").len(), 1, "{body}");
}

#[test]
fn unwrap_and_the_jdbc_sink_reproduce_the_table_in_mariadb() {
    let names = Names::new("repl", &["customers"]);
    let t = names.table(0).to_owned();
    let db = pg();
    db.sql(&[
        &format!("CREATE TABLE {t} (id INTEGER PRIMARY KEY, name TEXT NOT NULL, score INTEGER)"),
        &format!("INSERT INTO {t} VALUES (1, 'ann', 10), (2, 'bob', 20), (3, 'cy', NULL)"),
    ]);
    let maria = mariadb();
    maria.sql(&[&format!("DROP TABLE IF EXISTS {t}")]);
    let dir = tempfile::tempdir().unwrap();
    let source = names.connector(dir.path(), &[]);
    let sink = dir.path().join("sink.properties");
    let jdbc_url = maria.jdbc_url();
    write_props(
        &sink,
        &[
            ("name", "mariadb-sink".into()),
            (
                "connector.class",
                "io.confluent.connect.jdbc.JdbcSinkConnector".into(),
            ),
            ("connection.url", jdbc_url),
            ("topics", names.topic(0)),
            ("table.name.format", t.clone()),
            ("insert.mode", "upsert".into()),
            ("pk.mode", "record_key".into()),
            ("pk.fields", "id".into()),
            ("delete.enabled", "true".into()),
            ("auto.create", "true".into()),
            ("auto.evolve", "true".into()),
            ("transforms", "unwrap".into()),
            (
                "transforms.unwrap.type",
                "io.debezium.transforms.ExtractNewRecordState".into(),
            ),
            ("key.converter.schemas.enable", "true".into()),
        ],
    );
    let worker = start_worker(
        dir.path(),
        &[source, sink],
        &[("key.converter.schemas.enable", "true")],
    );
    let mariadb_rows = || maria_rows(&maria, &t);
    wait_for("the snapshot in MariaDB", Duration::from_secs(60), || {
        (mariadb_rows() == ["1|ann|10", "2|bob|20", "3|cy|-"]).then_some(())
    });
    db.sql(&[
        &format!("INSERT INTO {t} VALUES (4, 'dee', 40)"),
        &format!("UPDATE {t} SET score = 11 WHERE id = 1"),
        &format!("DELETE FROM {t} WHERE id = 2"),
        &format!("UPDATE {t} SET id = 30 WHERE id = 3"),
    ]);
    let want = ["1|ann|11", "4|dee|40", "30|cy|-"];
    let ok = (0..600).any(|_| {
        if mariadb_rows() == want {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
        false
    });
    assert!(
        ok,
        "MariaDB has {:?}; log:\n{}",
        mariadb_rows(),
        worker.log_text()
    );
    maria.sql(&[&format!("DROP TABLE IF EXISTS {t}")]);
}

fn maria_rows(maria: &Db, table: &str) -> Vec<String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let url = match maria {
        Db::MySql(u) => u.clone(),
        _ => unreachable!(),
    };
    runtime.block_on(async {
        use sqlx::{Connection, Row};
        let Ok(mut conn) = sqlx::MySqlConnection::connect(&url).await else {
            return Vec::new();
        };
        let sql = format!(
            "SELECT CAST(CONCAT_WS('|', id, name, COALESCE(CAST(score AS CHAR), '-')) AS CHAR) FROM `{table}` ORDER BY id"
        );
        match sqlx::query(&sql).fetch_all(&mut conn).await {
            Ok(rows) => rows.iter().map(|r| r.get::<String, _>(0)).collect(),
            Err(_) => Vec::new(),
        }
    })
}

#[test]
fn an_incremental_snapshot_by_signal_keeps_streamed_changes_in_order() {
    let names = Names::new("incr", &["rows", "signal"]);
    let (t, signal) = (names.table(0).to_owned(), names.table(1).to_owned());
    let db = pg();
    db.sql(&[
        // Types whose `::text` cast differs from their output (bool, inet, char(n)): the
        // chunks read the output, as the stream sends it.
        &format!(
            "CREATE TABLE {t} (id INTEGER PRIMARY KEY, v INTEGER NOT NULL, \
             flag BOOLEAN DEFAULT true, addr INET DEFAULT '10.0.0.1', code CHAR(4) DEFAULT 'ab')"
        ),
        &format!("INSERT INTO {t} SELECT i, 0 FROM generate_series(1, 2500) i"),
        &format!(
            "CREATE TABLE {signal} (id VARCHAR(64) PRIMARY KEY, type VARCHAR(32) NOT NULL, data VARCHAR(2048))"
        ),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let signal_collection = format!("public.{signal}");
    let connector = names.connector(
        dir.path(),
        &[
            ("snapshot.mode", "no_data"),
            ("signal.data.collection", &signal_collection),
            ("incremental.snapshot.chunk.size", "700"),
        ],
    );
    let worker = start_worker(dir.path(), &[connector], &[]);
    worker.wait_task_state("pg-cdc", 0, "RUNNING");
    wait_for("the slot", Duration::from_secs(30), || {
        names.confirmed_flush()
    });
    db.sql(&[&format!(
        "INSERT INTO {signal} VALUES ('sig-1', 'execute-snapshot', \
         '{{\"data-collections\": [\"public.{t}\"], \"type\": \"incremental\"}}')"
    )]);
    // Changes while the chunks are read: streamed events, which win over chunk rows.
    for round in 1..=5 {
        db.sql(&[&format!("UPDATE {t} SET v = {round} WHERE id % 97 = 0")]);
    }
    db.sql(&[&format!("DELETE FROM {t} WHERE id = 1500")]);
    let topic = names.topic(0);
    // Read until replaying the topic gives the table (the records new since the last call
    // are applied; the table does not change any more).
    let want = table_now(&t, "v");
    let mut replayed = BTreeMap::new();
    let mut parsed = 0;
    let records = consume_until(&topic, Duration::from_secs(90), |r| {
        for e in events(&r[parsed..]) {
            apply(&mut replayed, &e, "v");
        }
        parsed = r.len();
        replayed == want
    });
    let all = events(&records);
    let reads = all.iter().filter(|e| e.op() == "r").count();
    assert!(
        reads >= 2400,
        "{reads} snapshot reads; log:\n{}",
        worker.log_text()
    );
    assert!(all
        .iter()
        .filter(|e| e.op() == "r")
        .all(|e| e.source()["snapshot"] == "incremental"));
    let read = all.iter().find(|e| e.op() == "r").unwrap().after();
    assert_eq!(
        (&read["flag"], &read["addr"], &read["code"]),
        (&json!(true), &json!("10.0.0.1"), &json!("ab  "))
    );
    assert_same_table(&replay(&all, "v"), &want, &worker);
    // The signal row itself is an event of the signal table's topic.
    let sig = read_events(&names.topic(1), 1, &worker);
    assert_eq!(sig[0].after()["type"], "execute-snapshot");
}

#[test]
fn an_interrupted_initial_snapshot_resumes_with_the_tables_not_yet_read() {
    // Tables are read in name order: the small one first.
    let names = Names::new("resume", &["a_small", "b_large"]);
    let (a, b) = (names.table(0).to_owned(), names.table(1).to_owned());
    let db = pg();
    db.sql(&[
        &format!("CREATE TABLE {a} (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)"),
        &format!("INSERT INTO {a} SELECT i, i FROM generate_series(1, 300) i"),
        &format!("CREATE TABLE {b} (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)"),
        &format!("INSERT INTO {b} SELECT i, i FROM generate_series(1, 80000) i"),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let connector = names.connector(dir.path(), &[("incremental.snapshot.chunk.size", "5000")]);
    // The first worker's producer sends one record per request, so that the kill lands in
    // the middle of the large table however fast the rest is.
    let worker = start_worker(
        dir.path(),
        std::slice::from_ref(&connector),
        &[("producer.batch.num.messages", "1")],
    );
    // Kill once the large table streams…
    let first = read_records(&names.topic(1), 1, Duration::from_secs(60));
    assert!(!first.is_empty(), "log:\n{}", worker.log_text());
    // …and once the offsets say the small table was read.
    wait_for(
        "the small table's snapshot committed",
        Duration::from_secs(30),
        || {
            std::fs::read_to_string(dir.path().join("offsets.json"))
                .ok()
                .filter(|o| o.contains(&format!("public.{a}")))
        },
    );
    worker.kill9();
    db.sql(&[
        &format!("UPDATE {a} SET v = -1 WHERE id = 7"),
        &format!("UPDATE {b} SET v = -1 WHERE id = 79999"),
    ]);
    let worker = start_worker(dir.path(), &[connector], &[]);
    let want = table_now(&b, "v");
    let mut replayed = BTreeMap::new();
    let mut parsed = 0;
    let large = consume_until(&names.topic(1), Duration::from_secs(120), |r| {
        for e in events(&r[parsed..]) {
            apply(&mut replayed, &e, "v");
        }
        parsed = r.len();
        replayed == want
    });
    let large = events(&large);
    assert_same_table(&replay(&large, "v"), &want, &worker);
    let small = events(&read_records(&names.topic(0), 301, Duration::from_secs(30)));
    let reads = small.iter().filter(|e| e.op() == "r").count();
    assert_eq!(reads, 300, "the small table was read once, not again");
    assert_eq!(replay(&small, "v"), table_now(&a, "v"));
    assert!(
        worker
            .log_text()
            .contains("resuming the interrupted initial snapshot"),
        "log:\n{}",
        worker.log_text()
    );
}

#[test]
fn several_snapshot_threads_read_every_table_once_with_debezium_markers() {
    let names = Names::new("threads", &["t0", "t1", "t2", "t3"]);
    let t: Vec<String> = (0..4).map(|i| names.table(i).to_owned()).collect();
    let db = pg();
    let mut setup = Vec::new();
    for (name, rows) in t.iter().zip([2000, 1, 0, 1500]) {
        setup.push(format!(
            "CREATE TABLE {name} (id INTEGER PRIMARY KEY, v INTEGER)"
        ));
        setup.push(format!(
            "INSERT INTO {name} SELECT i, i * 10 FROM generate_series(1, {rows}) i"
        ));
    }
    setup.push(format!(
        "ALTER TABLE {} ADD COLUMN flag BOOLEAN DEFAULT true, \
         ADD COLUMN addr INET DEFAULT '10.0.0.1', ADD COLUMN code CHAR(4) DEFAULT 'ab'",
        t[1]
    ));
    let setup: Vec<&str> = setup.iter().map(String::as_str).collect();
    db.sql(&setup);
    let dir = tempfile::tempdir().unwrap();
    // t3 is read through an override that returns only the even ids and not `v`: a column
    // the statement leaves out reads as null, as in Debezium.
    let overrides = format!("public.{}", t[3]);
    let key = format!("snapshot.select.statement.overrides.public.{}", t[3]);
    let select = format!("SELECT id FROM public.{} WHERE id % 2 = 0;", t[3]);
    let connector = names.connector(
        dir.path(),
        &[
            ("snapshot.max.threads", "3"),
            ("snapshot.select.statement.overrides", &overrides),
            (&key, &select),
        ],
    );
    let worker = start_worker(dir.path(), &[connector], &[]);
    let t0 = read_events(&names.topic(0), 2000, &worker);
    let t1 = read_events(&names.topic(1), 1, &worker);
    let t3 = read_events(&names.topic(3), 750, &worker);
    assert_same_table(&replay(&t0, "v"), &table_now(&t[0], "v"), &worker);
    assert_eq!(replay(&t1, "v").values().collect::<Vec<_>>(), ["10"]);
    // Each value is the type's output, as the stream sends it.
    let after = t1[0].after();
    assert_eq!(
        (&after["flag"], &after["addr"], &after["code"]),
        (&json!(true), &json!("10.0.0.1"), &json!("ab  "))
    );
    let ids: Vec<i64> = t3
        .iter()
        .map(|e| e.after()["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, (1..=750).map(|i| i * 2).collect::<Vec<_>>());
    assert!(
        t3.iter().all(|e| e.after()["v"].is_null()),
        "v left out: null"
    );
    // Markers: one first and one last in the whole snapshot; per table, its first and last
    // record say so and the others are `true`.
    let mut all = Vec::new();
    for events in [&t0, &t1, &t3] {
        assert!(events.iter().all(|e| e.op() == "r"));
        let markers: Vec<&str> = events
            .iter()
            .map(|e| e.source()["snapshot"].as_str().unwrap())
            .collect();
        let (first, last) = (markers[0], markers[markers.len() - 1]);
        // Debezium's precedence: last, first, last_in_…, first_in_….
        if markers.len() == 1 {
            assert!(
                ["first", "last", "last_in_data_collection"].contains(&first),
                "{markers:?}"
            );
        } else {
            assert!(
                ["first", "first_in_data_collection"].contains(&first),
                "{markers:?}"
            );
            assert!(
                ["last", "last_in_data_collection"].contains(&last),
                "{markers:?}"
            );
        }
        if markers.len() > 2 {
            assert!(markers[1..markers.len() - 1].iter().all(|m| *m == "true"));
        }
        all.extend(markers);
    }
    assert_eq!(all.iter().filter(|m| **m == "first").count(), 1, "{all:?}");
    assert_eq!(all.iter().filter(|m| **m == "last").count(), 1, "{all:?}");
    assert!(
        worker.log_text().contains("threads=3"),
        "{}",
        worker.log_text()
    );
    // Streaming follows the snapshot, in the empty table too; by then nothing of the
    // snapshot came twice.
    db.sql(&[&format!("INSERT INTO {} VALUES (1, 1)", t[2])]);
    let t2 = read_events(&names.topic(2), 1, &worker);
    assert_eq!(t2[0].op(), "c");
    for (i, n) in [(0, 2000), (1, 1), (3, 750)] {
        let again = read_records(&names.topic(i), n + 1, Duration::from_secs(1));
        assert_eq!(again.len(), n, "table {i} read once");
    }
}

#[test]
fn a_role_with_other_text_forms_is_refused_naming_the_setting() {
    // The SQL client sets DateStyle for its own sessions, so the check must read what a
    // replication session of this role would start with.
    let names = Names::new("datestyle", &["t"]);
    let role = format!("tributary_test_role_{}", names.id);
    let db = pg();
    db.sql(&[
        &format!("CREATE ROLE {role} LOGIN REPLICATION"),
        &format!("ALTER ROLE {role} SET DateStyle = 'SQL, DMY'"),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let connector = names.connector(dir.path(), &[("database.user", &role)]);
    let worker = start_worker(dir.path(), &[connector], &[]);
    let status = worker.wait_task_state("pg-cdc", 0, "FAILED");
    worker.terminate();
    db.sql(&[&format!("DROP ROLE {role}")]);
    let trace = status["trace"].as_str().unwrap_or_default();
    assert!(
        trace.contains("DateStyle") && trace.contains("SQL, DMY"),
        "{status}"
    );
}

#[test]
fn a_lost_slot_is_never_skipped_silently() {
    let names = Names::new("lost", &["kept"]);
    let t = names.table(0).to_owned();
    let db = pg();
    db.sql(&[
        &format!("CREATE TABLE {t} (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)"),
        &format!("INSERT INTO {t} VALUES (1, 1), (2, 2)"),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let topic = names.topic(0);
    let connector = names.connector(dir.path(), &[]);
    let worker = start_worker(dir.path(), std::slice::from_ref(&connector), &[]);
    read_events(&topic, 2, &worker);
    let before = current_lsn();
    db.sql(&[&format!("INSERT INTO {t} VALUES (3, 3)")]);
    read_events(&topic, 3, &worker);
    // The offsets are committed (the slot is confirmed past the insert), then the worker
    // stops and the slot is dropped behind its back: the changes since are gone from WAL.
    wait_for("the offsets committed", Duration::from_secs(30), || {
        names.confirmed_flush().filter(|l| *l > before)
    });
    worker.terminate();
    pg().sql(&[&format!(
        "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '{}'",
        names.slot
    )]);
    db.sql(&[&format!("UPDATE {t} SET v = 30 WHERE id = 3")]);
    // snapshot.mode=initial: the task fails, saying why.
    let worker = start_worker(dir.path(), std::slice::from_ref(&connector), &[]);
    let status = worker.wait_task_state("pg-cdc", 0, "FAILED");
    let trace = status["trace"].as_str().unwrap_or_default();
    assert!(
        trace.contains("does not exist") && trace.contains("when_needed"),
        "{status}"
    );
    worker.terminate();
    // when_needed: a new snapshot, so the topic again describes the table.
    let connector = names.connector(dir.path(), &[("snapshot.mode", "when_needed")]);
    let worker = start_worker(dir.path(), &[connector], &[]);
    let all = read_events(&topic, 3 + 3, &worker);
    assert!(all[3..].iter().all(|e| e.op() == "r"), "{all:#?}");
    assert_eq!(replay(&all, "v"), table_now(&t, "v"));
}

/// The changes of a one-partition topic that a read-committed consumer reads, records of
/// aborted transactions dropped by their control markers (the test broker returns them):
/// (op, id) in topic order.
fn committed_changes(topic: &str) -> Vec<(String, i64)> {
    let (records, _) =
        support::txn::committed_records(&bootstrap(), topic, &[0]).expect("raw read");
    records
        .iter()
        .filter_map(|r| {
            let v: Value = serde_json::from_slice(r.value.as_deref()?).ok()?;
            let id = v["after"]["id"].as_i64()?;
            Some((v["op"].as_str()?.to_owned(), id))
        })
        .collect()
}

#[test]
fn exactly_once_a_cdc_task_killed_mid_stream_writes_every_change_once() {
    use support::cluster::{wait_running, ClusterSpec};
    const SETTLE: Duration = Duration::from_secs(120);
    let names = Names::new("eos", &["rows"]);
    let t = names.table(0).to_owned();
    let snapshot_rows = 300_i64;
    pg().sql(&[
        &format!("CREATE TABLE {t} (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)"),
        &format!("INSERT INTO {t} SELECT i, i FROM generate_series(1, {snapshot_rows}) i"),
    ]);
    let root = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(root.path(), &["tributary_connector_postgres_cdc"]);
    let mut spec = ClusterSpec::new(root.path(), &plugins);
    spec.extra
        .push(("exactly.once.source.support", "enabled".into()));
    let mut workers = spec.start(2);
    let ids: Vec<String> = workers.iter().map(|w| w.id()).collect();
    let mut config = json!({
        "tasks.max": "1",
        "exactly.once.support": "required",
        "slot.retry.delay.ms": "500",
        "key.converter": "org.apache.kafka.connect.json.JsonConverter",
        "key.converter.schemas.enable": "false",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "false",
    });
    for (k, v) in names.connector_props(&[]) {
        if k != "name" {
            config[k] = json!(v);
        }
    }
    workers[1].create("pg-cdc", config);
    let running = wait_running(&workers[0], "pg-cdc", 1, &ids, SETTLE);
    let topic = names.topic(0);
    wait_for("the snapshot committed", SETTLE, || {
        (committed_changes(&topic).len() as i64 >= snapshot_rows).then_some(())
    });
    // Transactions of 10 inserts, from before the kill until after the takeover; the
    // writer counts what it inserted and returns the last id.
    use std::sync::atomic::{AtomicBool, AtomicI64, Ordering::SeqCst};
    let table = t.clone();
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let inserted = std::sync::Arc::new(AtomicI64::new(snapshot_rows));
    let (stop_writer, progress) = (stop.clone(), inserted.clone());
    let writer = std::thread::spawn(move || {
        let db = pg();
        let mut next = snapshot_rows + 1;
        while !stop_writer.load(SeqCst) {
            let end = next + 9;
            db.sql(&[&format!(
                "INSERT INTO {table} SELECT i, i FROM generate_series({next}, {end}) i"
            )]);
            progress.store(end, SeqCst);
            next = end + 1;
            std::thread::sleep(Duration::from_millis(20));
        }
        next - 1
    });
    // Committed in Kafka up to `rows` inserted: the slot is confirmed only to offsets the
    // worker committed (a cheap check; the topic is read once, at the end).
    let committed_up_to = |rows: i64| {
        wait_for("inserts", SETTLE, || {
            (inserted.load(SeqCst) >= rows).then_some(())
        });
        let lsn = current_lsn();
        wait_for("their offsets committed", SETTLE, || {
            names.confirmed_flush().filter(|c| *c >= lsn)
        });
    };
    committed_up_to(snapshot_rows + 1000);
    let victim = workers
        .iter()
        .position(|w| w.id() == running["task-0"])
        .unwrap();
    workers.remove(victim).kill9();
    let survivors: Vec<String> = workers.iter().map(|w| w.id()).collect();
    wait_running(&workers[0], "pg-cdc", 1, &survivors, SETTLE);
    // Some more after the takeover, committed by the new task.
    committed_up_to(inserted.load(SeqCst) + 300);
    stop.store(true, SeqCst);
    let total = writer.join().unwrap();

    // Every row once, in commit order: the snapshot's reads, then one insert each.
    let want: Vec<(String, i64)> = (1..=total)
        .map(|i| (if i <= snapshot_rows { "r" } else { "c" }.to_owned(), i))
        .collect();
    let deadline = std::time::Instant::now() + SETTLE;
    loop {
        let got = committed_changes(&topic);
        if got == want {
            break;
        }
        if std::time::Instant::now() >= deadline || got.len() > want.len() {
            let mut seen = BTreeMap::new();
            for (_, id) in &got {
                *seen.entry(*id).or_insert(0) += 1;
            }
            let repeated: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).take(10).collect();
            let missing: Vec<_> = (1..=total)
                .filter(|i| !seen.contains_key(i))
                .take(10)
                .collect();
            panic!(
                "{} committed changes, want {total}; repeated (first 10) {repeated:?}, \
                 missing (first 10) {missing:?}",
                got.len()
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}
