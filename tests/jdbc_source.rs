//! The JDBC source connector in a real worker, with a Confluent config unchanged: a table
//! copied into a topic in `incrementing` mode, new rows picked up, and a restart that resumes
//! after the last committed row (each id exactly once). Against SQLite (a file), the local
//! PostgreSQL and MariaDB (`scripts/services.sh` starts them; `TRIBUTARY_TEST_PG_URL` and
//! `TRIBUTARY_TEST_MYSQL_URL` point elsewhere); and bulk mode over a query.

mod support;

use std::time::Duration;

use serde_json::Value;
use support::*;

/// A database the test writes rows into.
enum Db {
    Sqlite(std::path::PathBuf),
    Postgres(String),
    MySql(String),
}

impl Db {
    /// Runs SQL statements.
    fn sql(&self, statements: &[&str]) {
        let statements: Vec<String> = statements.iter().map(|s| s.to_string()).collect();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            use sqlx::Connection;
            match self {
                Db::Sqlite(path) => {
                    let url = format!("sqlite://{}?mode=rwc", path.display());
                    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
                    for s in statements {
                        sqlx::query(&s).execute(&mut conn).await.unwrap();
                    }
                }
                Db::Postgres(url) => {
                    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
                    for s in statements {
                        sqlx::query(&s).execute(&mut conn).await.unwrap();
                    }
                }
                Db::MySql(url) => {
                    let mut conn = sqlx::MySqlConnection::connect(url).await.unwrap();
                    for s in statements {
                        sqlx::query(&s).execute(&mut conn).await.unwrap();
                    }
                }
            }
        });
    }

    fn jdbc_url(&self) -> String {
        match self {
            Db::Sqlite(path) => format!("jdbc:sqlite:{}", path.display()),
            // postgres://user@host:port/db → jdbc:postgresql://host:port/db?user=user
            Db::Postgres(url) => {
                let rest = url.trim_start_matches("postgres://");
                let (user, hostdb) = rest.split_once('@').unwrap_or(("postgres", rest));
                format!("jdbc:postgresql://{hostdb}?user={user}")
            }
            // mysql://user@host:port/db → jdbc:mariadb://host:port/db?user=user
            Db::MySql(url) => {
                let rest = url.trim_start_matches("mysql://");
                let (user, hostdb) = rest.split_once('@').unwrap_or(("root", rest));
                format!("jdbc:mariadb://{hostdb}?user={user}")
            }
        }
    }
}

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
