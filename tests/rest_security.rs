//! The REST API secured as a Java worker secures it, driven with `curl`: an HTTPS listener
//! with a PKCS12 key store (`listeners.https.ssl.*`), Connect's basic authentication extension
//! with its JAAS file given in `KAFKA_OPTS` as Kafka's scripts pass it, and a separate plain
//! admin listener. The key store and CA are the test PKI of `scripts/broker.sh` (made by
//! `scripts/test.sh`; `TRIBUTARY_TEST_TLS_CA` names its CA).

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use support::*;

/// The test PKI's directory.
fn pki() -> PathBuf {
    let ca = std::env::var("TRIBUTARY_TEST_TLS_CA").unwrap_or_else(|_| {
        panic!(
            "TRIBUTARY_TEST_TLS_CA is not set: run scripts/test.sh, or `scripts/broker.sh \
             start-tls 19093 20093` and set it to .tributary/tls/ca.pem"
        )
    });
    PathBuf::from(ca).parent().unwrap().to_owned()
}

/// `curl` with `args`; returns the HTTP code (0 when no HTTP answer came), curl's exit code
/// and the body.
fn curl(args: &[&str]) -> (u16, i32, String) {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "20", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .expect("curl runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", &text));
    (
        code.trim().parse().unwrap_or(0),
        out.status.code().unwrap_or(-1),
        body.to_owned(),
    )
}

#[test]
fn https_and_basic_auth_as_a_java_worker_configures_them() {
    let pki = pki();
    let ca = pki.join("ca.pem").display().to_string();
    let dir = tempfile::tempdir().unwrap();
    let creds = dir.path().join("connect.password");
    std::fs::write(&creds, "# Connect REST users\nalice: alice-secret\n").unwrap();
    let jaas = dir.path().join("connect_jaas.conf");
    std::fs::write(
        &jaas,
        format!(
            "KafkaConnect {{\n  org.apache.kafka.connect.rest.basic.auth.extension.\
             PropertyFileLoginModule required\n  file=\"{}\";\n}};\n",
            creds.display()
        ),
    )
    .unwrap();
    let plugins = plugin_dir(dir.path(), &["tributary_connector_file"]);
    let (port, admin_port) = (free_port(), free_port());
    let props = Worker::props(
        dir.path(),
        port,
        &plugins,
        &[
            ("listeners", &format!("https://127.0.0.1:{port}")),
            ("admin.listeners", &format!("http://127.0.0.1:{admin_port}")),
            (
                "listeners.https.ssl.keystore.location",
                &pki.join("server.p12").display().to_string(),
            ),
            ("listeners.https.ssl.keystore.type", "PKCS12"),
            ("listeners.https.ssl.keystore.password", "changeit"),
            (
                "rest.extension.classes",
                "org.apache.kafka.connect.rest.basic.auth.extension.\
                 BasicAuthSecurityRestExtension",
            ),
        ],
    );
    let rest = RestAccess {
        https: true,
        ca_pem: Some(std::fs::read(&ca).unwrap()),
        basic: Some(("alice".into(), "alice-secret".into())),
        ..RestAccess::default()
    };
    let opts = format!(
        "-Xms256M -Djava.security.auth.login.config={}",
        jaas.display()
    );
    let worker = Worker::start_with(
        "standalone",
        dir.path(),
        &props,
        &[],
        rest,
        &[("KAFKA_OPTS", opts)],
    );
    let base = format!("https://127.0.0.1:{port}");
    let connectors = format!("{base}/connectors");

    // Without credentials, or with a wrong password: 401 and Connect's text.
    let (code, _, body) = curl(&["--cacert", &ca, &connectors]);
    assert_eq!(code, 401);
    assert_eq!(body, "User cannot access the resource.");
    let (code, _, _) = curl(&["--cacert", &ca, "-u", "alice:wrong", &connectors]);
    assert_eq!(code, 401);
    // Without the CA, curl refuses the worker's certificate (exit 60), and plain HTTP on the
    // HTTPS port gets no HTTP answer.
    let (code, exit, _) = curl(&["-u", "alice:alice-secret", &connectors]);
    assert_eq!((code, exit), (0, 60));
    let (code, _, _) = curl(&[&format!("http://127.0.0.1:{port}/connectors")]);
    assert_ne!(code, 200);

    // A connector created with curl runs and moves records.
    let input = dir.path().join("in.txt");
    let lines = mixed_lines(200);
    std::fs::write(&input, file_text(&lines)).unwrap();
    let topic = unique("https-src");
    let body = serde_json::json!({"name": "https-src", "config": {
        "connector.class": "FileStreamSource", "file": input.display().to_string(),
        "topic": topic}})
    .to_string();
    let alice = ["--cacert", &ca, "-u", "alice:alice-secret"];
    let (code, _, reply) = curl(
        &[
            &alice[..],
            &[
                "-H",
                "Content-Type: application/json",
                "-d",
                &body,
                &connectors,
            ],
        ]
        .concat(),
    );
    assert_eq!(code, 201, "{reply}");
    let got = read_topic(&topic, lines.len(), Duration::from_secs(60));
    assert_eq!(got.len(), lines.len());
    worker.wait_task_state("https-src", 0, "RUNNING");

    // `curl -d` sends a form: 415, and nothing is created.
    let (code, _, _) = curl(&[&alice[..], &["-d", "name=form", &connectors]].concat());
    assert_eq!(code, 415);
    let (code, _, list) = curl(&[&alice[..], &[connectors.as_str()]].concat());
    assert_eq!((code, list.as_str()), (200, r#"["https-src"]"#));

    // The admin endpoints are on the admin listener only, without authentication (as in
    // Connect, where REST extensions do not apply there).
    let (code, _, _) = curl(&[&alice[..], &[format!("{base}/admin/loggers").as_str()]].concat());
    assert_eq!(code, 404);
    let (code, _, loggers) = curl(&[&format!("http://127.0.0.1:{admin_port}/admin/loggers")]);
    assert_eq!(code, 200, "{loggers}");
    assert!(loggers.contains("root"), "{loggers}");
}
