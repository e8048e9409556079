//! The REST server's security over real sockets: HTTPS with client certificates, basic
//! authentication, admin listeners, CORS, response headers and the connection limits. The
//! certificates are made here with OpenSSL (a test CA, a server certificate for 127.0.0.1, a
//! client certificate).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use openssl::pkcs12::Pkcs12;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use tributary_connector_api::Props;

use super::FakeHerder;
use crate::config::rest_server::{
    RestServerConfig, BASIC_AUTH_EXTENSION, JAAS_CONFIG_KEY, PROPERTY_FILE_LOGIN_MODULE,
};
use crate::logging::LogLevels;
use crate::rest::auth::UNAUTHORIZED;
use crate::rest::server::{Limits, RestServer};
use crate::test_pki::{cert, key};

/// Files of a test PKI in `dir`: `ca.pem`, `server.p12` (password `store-pw`), `client.pem`
/// (key and certificate) and the client's `reqwest::Identity`.
struct Pki {
    ca: reqwest::Certificate,
    client: reqwest::Identity,
}

fn pki(dir: &Path) -> Pki {
    let ca_key = key();
    let ca = cert("Test CA", &ca_key, None);
    let server_key = key();
    let server = cert("localhost", &server_key, Some((&ca, &ca_key)));
    let client_key = key();
    let client = cert("client", &client_key, Some((&ca, &ca_key)));
    std::fs::write(dir.join("ca.pem"), ca.to_pem().unwrap()).unwrap();
    let p12 = Pkcs12::builder()
        .name("server")
        .pkey(&server_key)
        .cert(&server)
        .build2("store-pw")
        .unwrap();
    std::fs::write(dir.join("server.p12"), p12.to_der().unwrap()).unwrap();
    let mut client_pem = client.to_pem().unwrap();
    let client_key_pem = client_key.private_key_to_pem_pkcs8().unwrap();
    std::fs::write(
        dir.join("client.pem"),
        [client_key_pem.clone(), client_pem.clone()].concat(),
    )
    .unwrap();
    client_pem.extend(ca.to_pem().unwrap());
    Pki {
        ca: reqwest::Certificate::from_pem(&ca.to_pem().unwrap()).unwrap(),
        client: reqwest::Identity::from_pkcs8_pem(&client_pem, &client_key_pem).unwrap(),
    }
}

/// Writes the JAAS file and a credentials file with `alice`.
fn jaas(dir: &Path) -> String {
    let creds = dir.join("connect.password");
    std::fs::write(&creds, "alice=alice-secret\n").unwrap();
    let jaas = dir.join("connect_jaas.conf");
    std::fs::write(
        &jaas,
        format!(
            "KafkaConnect {{ {PROPERTY_FILE_LOGIN_MODULE} required file=\"{}\"; }};",
            creds.display()
        ),
    )
    .unwrap();
    jaas.display().to_string()
}

struct Running {
    /// Main listeners, then admin listeners.
    addrs: Vec<std::net::SocketAddr>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<()>,
}

async fn run(pairs: &[(&str, String)], limits: Limits) -> Running {
    let props: Props = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let config = RestServerConfig::from_props(&props, None).unwrap();
    let server = RestServer::bind(&config, limits).await.unwrap();
    let addrs = server.local_addrs();
    let http = crate::rest::tls::client(&config.https)
        .unwrap()
        .build()
        .unwrap();
    let app = crate::rest::app(
        Arc::new(FakeHerder::healthy()),
        Arc::new(LogLevels::detached("info")),
        &config,
        http,
        server.limits(),
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let done = tokio::spawn(server.serve(app.main, app.admin, async move {
        let _ = stopped.await;
    }));
    Running {
        addrs,
        stop: Some(stop),
        done,
    }
}

fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

#[tokio::test]
async fn https_with_client_certificates_and_basic_auth() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki(dir.path());
    let d = |f: &str| dir.path().join(f).display().to_string();
    let server = run(
        &[
            ("listeners", "https://127.0.0.1:0".into()),
            ("listeners.https.ssl.keystore.location", d("server.p12")),
            ("listeners.https.ssl.keystore.password", "store-pw".into()),
            ("listeners.https.ssl.truststore.location", d("ca.pem")),
            ("listeners.https.ssl.client.auth", "required".into()),
            ("rest.extension.classes", BASIC_AUTH_EXTENSION.into()),
            (JAAS_CONFIG_KEY, jaas(dir.path())),
        ],
        Limits::default(),
    )
    .await;
    let base = format!("https://localhost:{}", server.addrs[0].port());
    let client = reqwest::Client::builder()
        .add_root_certificate(pki.ca.clone())
        .identity(pki.client.clone())
        .build()
        .unwrap();

    // No client certificate: the handshake fails.
    let anonymous = reqwest::Client::builder()
        .add_root_certificate(pki.ca.clone())
        .build()
        .unwrap();
    assert!(anonymous
        .get(format!("{base}/connectors"))
        .send()
        .await
        .is_err());
    // Plain HTTP to the HTTPS port gets no HTTP answer.
    let plain = format!("http://127.0.0.1:{}/connectors", server.addrs[0].port());
    assert!(reqwest::get(&plain)
        .await
        .map(|r| !r.status().is_success())
        .unwrap_or(true));

    // A certificate but no password: 401, Connect's body, no WWW-Authenticate.
    let r = client
        .get(format!("{base}/connectors"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().get("www-authenticate").is_none());
    assert_eq!(r.text().await.unwrap(), UNAUTHORIZED);
    for auth in [
        basic("alice", "wrong"),
        basic("bob", "alice-secret"),
        "Basic !!".into(),
    ] {
        let r = client
            .get(format!("{base}/connectors"))
            .header(AUTHORIZATION, auth)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    }
    let alice = basic("alice", "alice-secret");
    let r = client
        .get(format!("{base}/connectors"))
        .header(AUTHORIZATION, &alice)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "[]");
    // The admin endpoints are on the main listener, behind the same check.
    let r = client
        .get(format!("{base}/admin/loggers"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = client
        .get(format!("{base}/admin/loggers"))
        .header(AUTHORIZATION, &alice)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Unknown paths are 404 before authentication, as with Jersey's post-matching filter.
    let r = client.get(format!("{base}/nowhere")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    // A form post with credentials is 415 and creates nothing.
    let r = client
        .post(format!("{base}/connectors"))
        .header(AUTHORIZATION, &alice)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("name=x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    // The internal endpoint workers call on each other skips basic authentication (the
    // herder checks its signature).
    let r = client
        .post(format!("{base}/connectors/c/tasks"))
        .header(CONTENT_TYPE, "application/json")
        .body("[]")
        .send()
        .await
        .unwrap();
    assert_ne!(r.status(), 401);
    let r = client
        .get(format!("{base}/connectors/c/tasks"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // The inter-worker client built from the same settings gets through TLS (it presents
    // the server's certificate as its client certificate, as Connect's RestClient does).
    let props: Props = [
        ("listeners", "https://127.0.0.1:0".to_owned()),
        ("listeners.https.ssl.keystore.location", d("server.p12")),
        ("listeners.https.ssl.keystore.password", "store-pw".into()),
        ("listeners.https.ssl.truststore.location", d("ca.pem")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let config = RestServerConfig::from_props(&props, None).unwrap();
    let worker_client = crate::rest::tls::client(&config.https)
        .unwrap()
        .build()
        .unwrap();
    let r = worker_client
        .get(format!("{base}/connectors"))
        .header(AUTHORIZATION, &alice)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    drop(server);
}

#[tokio::test]
async fn admin_listeners_cors_and_response_headers() {
    let server = run(
        &[
            ("listeners", "http://127.0.0.1:0".into()),
            ("admin.listeners", "http://127.0.0.1:0".into()),
            (
                "access.control.allow.origin",
                "https://ui.example, https://*.corp.example".into(),
            ),
            ("access.control.allow.methods", "GET,POST,PUT,DELETE".into()),
            (
                "response.http.headers.config",
                "set X-Frame-Options: DENY,\"add Cache-Control: no-cache, no-store\",setDate Expires: 3600000"
                    .into(),
            ),
        ],
        Limits::default(),
    )
    .await;
    let main = format!("http://127.0.0.1:{}", server.addrs[0].port());
    let admin = format!("http://127.0.0.1:{}", server.addrs[1].port());
    let http = reqwest::Client::new();

    // The admin endpoints moved to the admin listener, which serves nothing else.
    assert_eq!(
        http.get(format!("{main}/admin/loggers"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let r = http
        .get(format!("{admin}/admin/loggers"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers().get("x-frame-options").is_none(),
        "admin gets no rules"
    );
    assert_eq!(
        http.get(format!("{admin}/connectors"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    // Response headers on the main listener.
    let r = http.get(format!("{main}/connectors")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-frame-options"], "DENY");
    assert_eq!(r.headers()["cache-control"], "no-cache, no-store");
    let expires = httpdate::parse_http_date(r.headers()["expires"].to_str().unwrap()).unwrap();
    assert!(expires > std::time::SystemTime::now() + Duration::from_secs(3000));

    // CORS: a listed origin (or one matching a wildcard) is echoed, with credentials.
    for origin in ["https://ui.example", "https://team.corp.example"] {
        let r = http
            .get(format!("{main}/connectors"))
            .header("Origin", origin)
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()["access-control-allow-origin"], origin);
        assert_eq!(r.headers()["access-control-allow-credentials"], "true");
    }
    let r = http
        .get(format!("{main}/connectors"))
        .header("Origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the request still runs");
    assert!(r.headers().get("access-control-allow-origin").is_none());
    let r = http
        .request(reqwest::Method::OPTIONS, format!("{main}/connectors"))
        .header("Origin", "https://ui.example")
        .header("Access-Control-Request-Method", "DELETE")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let methods = r.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap();
    assert!(methods.contains("DELETE"), "{methods}");
    assert_eq!(r.headers()["access-control-max-age"], "1800");

    // admin.listeners empty: the admin endpoints are off.
    let off = run(
        &[
            ("listeners", "http://127.0.0.1:0".into()),
            ("admin.listeners", "".into()),
        ],
        Limits::default(),
    )
    .await;
    let url = format!("http://127.0.0.1:{}/admin/loggers", off.addrs[0].port());
    assert_eq!(http.get(url).send().await.unwrap().status(), 404);
}

/// Sends `request` as raw bytes and returns the first 12 bytes of the answer (`HTTP/1.1 NNN`).
async fn status_line(addr: std::net::SocketAddr, request: Vec<u8>) -> [u8; 12] {
    tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.write_all(&request).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut reply = [0u8; 12];
        stream.read_exact(&mut reply).unwrap();
        reply
    })
    .await
    .unwrap()
}

/// Reads until the peer closes (or errors); returns how long that took.
fn wait_closed(stream: &mut TcpStream, limit: Duration) -> Duration {
    let started = Instant::now();
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return started.elapsed(),
            Ok(_) => continue,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_idle_clients_are_cut_off_and_never_hold_the_server() {
    let dir = tempfile::tempdir().unwrap();
    pki(dir.path());
    let d = |f: &str| dir.path().join(f).display().to_string();
    let limits = Limits {
        max_connections: 3,
        handshake_timeout: Duration::from_millis(300),
        header_timeout: Duration::from_millis(300),
        body_timeout: Duration::from_millis(300),
        ..Limits::default()
    };
    let server = run(
        &[
            ("listeners", "http://127.0.0.1:0,https://127.0.0.1:0".into()),
            ("ssl.keystore.location", d("server.p12")),
            ("ssl.keystore.password", "store-pw".into()),
        ],
        limits,
    )
    .await;
    let (plain, tls) = (server.addrs[0], server.addrs[1]);
    let result = tokio::task::spawn_blocking(move || {
        // A head that never ends, a client that sends nothing, a TLS client that never
        // shakes hands: each is closed after its timeout.
        let mut slow = TcpStream::connect(plain).unwrap();
        slow.write_all(b"GET /connectors HTTP/1.1\r\nHost: x\r\n")
            .unwrap();
        let mut silent = TcpStream::connect(plain).unwrap();
        let mut no_handshake = TcpStream::connect(tls).unwrap();
        // Meanwhile the server answers others (the three slots are taken, so this waits for
        // one of them to be freed by its timeout, instead of hanging).
        let answered = {
            let mut stream = TcpStream::connect(plain).unwrap();
            stream
                .write_all(b"GET /connectors HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            let mut status = [0u8; 12];
            stream.read_exact(&mut status).map(|_| status)
        };
        let limit = Duration::from_secs(10);
        let closed = [
            wait_closed(&mut slow, limit),
            wait_closed(&mut silent, limit),
            wait_closed(&mut no_handshake, limit),
        ];
        // A head over the cap is refused (431) rather than buffered.
        let mut big = TcpStream::connect(plain).unwrap();
        let head = format!(
            "GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
            "a".repeat(128 << 10)
        );
        let _ = big.write_all(head.as_bytes());
        let mut reply = String::new();
        big.set_read_timeout(Some(limit)).unwrap();
        let _ = big.read_to_string(&mut reply);
        (answered, closed, reply)
    })
    .await
    .unwrap();
    let (answered, closed, reply) = result;
    assert_eq!(&answered.unwrap(), b"HTTP/1.1 200");
    for took in closed {
        assert!(took < Duration::from_secs(5), "closed after {took:?}");
    }
    assert!(reply.starts_with("HTTP/1.1 431"), "{reply:.80}");

    // A body declared larger than the cap is refused before it is read.
    let head = format!(
        "POST /connectors HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n",
        64u64 << 20
    );
    assert_eq!(
        &status_line(plain, head.into_bytes()).await,
        b"HTTP/1.1 413"
    );
    // A body that stops coming is answered 408 when its time is up.
    let partial = b"POST /connectors HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                    Content-Length: 100\r\n\r\n{\"name\":";
    assert_eq!(&status_line(plain, partial.to_vec()).await, b"HTTP/1.1 408");

    // Shutdown with an idle keep-alive connection open returns at once (the drain timeout
    // is 60 s).
    let idle_client = reqwest::Client::new();
    let r = idle_client
        .get(format!("http://{plain}/connectors"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut server = server;
    let _ = server.stop.take().unwrap().send(());
    tokio::time::timeout(Duration::from_secs(10), server.done)
        .await
        .expect("the server stops without waiting for idle connections")
        .unwrap();
}
