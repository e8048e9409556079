//! The pipeline, end to end in one worker: a PostgreSQL table → JDBC source
//! (timestamp+incrementing) → topic → JDBC sinks upserting into MariaDB and SQLite, through
//! inserts, updates, a column added to the source table (auto.evolve on both sides) and a
//! kill -9 of the worker in the middle: both copies end identical to the source table.

#[path = "support/databases.rs"]
mod databases;
mod support;

use std::time::Duration;

use databases::{mariadb, pg, Db};
use support::*;

fn rows_equal(dbs: &[(&Db, &str)], columns: &[&str], worker: &Worker) {
    let (source, table) = dbs[0];
    let want = source.rows(table, columns);
    for (db, table) in &dbs[1..] {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let got = db.rows(table, columns);
            if got == want {
                break;
            }
            if std::time::Instant::now() > deadline {
                panic!(
                    "{table}: {got:?}\nwant {want:?}\nlog:\n{}",
                    worker.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

#[test]
fn postgresql_to_mariadb_and_sqlite_through_a_kill_9() {
    let source = pg();
    let maria = mariadb();
    let dir = tempfile::tempdir().unwrap();
    let lite = Db::Sqlite(dir.path().join("copy.db"));
    let table = unique("shop").replace('-', "_");
    source.sql(&[
        &format!(
            "CREATE TABLE {table} (id SERIAL PRIMARY KEY, name TEXT NOT NULL, qty INT, \
             price NUMERIC(10,2), updated_at TIMESTAMP(3) NOT NULL DEFAULT clock_timestamp())"
        ),
        &format!(
            "INSERT INTO {table} (name, qty, price) VALUES ('apple', 3, 1.25), ('pear', 5, 2.15), \
             ('fig', 7, 3.35)"
        ),
    ]);
    let prefix = format!("{}-", unique("pipe"));
    let topic = format!("{prefix}{table}");
    create_topic(&topic);
    let copy = format!("copy_{table}");
    let connectors: Vec<std::path::PathBuf> = [
        (
            "pg-source",
            vec![
                (
                    "connector.class",
                    "io.confluent.connect.jdbc.JdbcSourceConnector".to_owned(),
                ),
                ("connection.url", source.jdbc_url()),
                ("mode", "timestamp+incrementing".into()),
                ("timestamp.column.name", "updated_at".into()),
                ("incrementing.column.name", "id".into()),
                ("table.whitelist", table.clone()),
                ("topic.prefix", prefix.clone()),
                ("poll.interval.ms", "200".into()),
            ],
        ),
        ("maria-sink", sink(&maria, &topic, &copy)),
        ("sqlite-sink", sink(&lite, &topic, &copy)),
    ]
    .into_iter()
    .map(|(name, settings)| {
        let path = dir.path().join(format!("{name}.properties"));
        let mut all = vec![("name", name.to_owned())];
        all.extend(settings);
        write_props(&path, &all);
        path
    })
    .collect();
    let plugins = plugin_dir(dir.path(), &["tributary_connector_jdbc"]);
    let props = Worker::props(
        dir.path(),
        free_port(),
        &plugins,
        &[
            (
                "value.converter",
                "org.apache.kafka.connect.json.JsonConverter",
            ),
            ("offset.flush.interval.ms", "500"),
        ],
    );
    let copies = [
        (&source, table.as_str()),
        (&maria, copy.as_str()),
        (&lite, copy.as_str()),
    ];
    let columns = ["id", "name", "qty", "price"];
    let worker = Worker::start(dir.path(), &props, &connectors);
    rows_equal(&copies, &columns, &worker);

    // Updates and inserts; then a new column, filled for some rows.
    source.sql(&[
        &format!("UPDATE {table} SET qty = 50, updated_at = clock_timestamp() WHERE name = 'pear'"),
        &format!("INSERT INTO {table} (name, qty, price) VALUES ('kiwi', 1, 4.45)"),
        &format!("ALTER TABLE {table} ADD COLUMN color TEXT"),
        &format!(
            "UPDATE {table} SET color = 'red', updated_at = clock_timestamp() WHERE name = 'apple'"
        ),
        &format!("INSERT INTO {table} (name, qty, price, color) VALUES ('lime', 2, 5.55, 'green')"),
    ]);
    let columns = ["id", "name", "qty", "price", "color"];
    rows_equal(&copies, &columns, &worker);

    // kill -9, changes while it is down, and more after the restart.
    worker.kill9();
    source.sql(&[
        &format!("UPDATE {table} SET qty = 0, updated_at = clock_timestamp() WHERE name = 'fig'"),
        &format!("INSERT INTO {table} (name, qty, price, color) VALUES ('plum', 9, 6.65, 'blue')"),
    ]);
    let worker = Worker::start(dir.path(), &props, &connectors);
    source.sql(&[&format!(
        "UPDATE {table} SET color = 'yellow', updated_at = clock_timestamp() WHERE name = 'pear'"
    )]);
    rows_equal(&copies, &columns, &worker);
    assert_eq!(source.rows(&table, &["id"]).len(), 6);
    drop(worker);
    source.sql(&[&format!("DROP TABLE {table}")]);
    maria.sql(&[&format!("DROP TABLE {copy}")]);
}

fn sink(db: &Db, topic: &str, table: &str) -> Vec<(&'static str, String)> {
    vec![
        (
            "connector.class",
            "io.confluent.connect.jdbc.JdbcSinkConnector".to_owned(),
        ),
        ("topics", topic.to_owned()),
        ("connection.url", db.jdbc_url()),
        ("insert.mode", "upsert".into()),
        ("pk.mode", "record_value".into()),
        ("pk.fields", "id".into()),
        ("auto.create", "true".into()),
        ("auto.evolve", "true".into()),
        ("table.name.format", table.to_owned()),
    ]
}
