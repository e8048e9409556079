//! REST tests over a real listener.
//!
//! `FakeHerder` is a small in-memory test double, kept on purpose: it makes the herder answer
//! every error kind and time out on demand, which the real standalone herder cannot be made to
//! do, so the REST layer's mapping (status codes, bodies, the 90 s timeout) is checked here. The
//! real herder behind the same router is covered end to end in `tests/rest_lifecycle.rs`.
//! It can also play a distributed worker: answer `Forward` for write operations (so requests
//! are forwarded between real listeners here), and take the internal endpoints, checking
//! KIP-507 signatures. [`Standalone`] wraps it without the internal endpoints, so those keep
//! the trait's default answer.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::extract::Request;
use axum::middleware::{from_fn, Next};
use axum::Router;
use reqwest::header::{HeaderMap, AUTHORIZATION, CONTENT_TYPE, LOCATION};
use reqwest::Method;
use serde_json::{json, Value};
use tributary_connector_api::config::Default as KeyDefault;
use tributary_connector_api::{ConfigKey, ConfigKeyInfo, ConfigType, Importance, Props};

use super::api::*;
use super::entities::*;
use super::forward::{CONFLICTING_OPERATION, NO_KNOWN_LEADER};
use super::router;
use super::signing::{self, ALGORITHM_HEADER, SIGNATURE_HEADER};
use crate::logging::LogLevels;
use crate::model::*;

const WORKER: &str = "127.0.0.1:8083";

#[derive(Default)]
struct FakeHerder {
    connectors: Mutex<BTreeMap<String, (Props, TargetState)>>,
    /// Listed by `connectors()` but without info or status (deleted meanwhile).
    ghosts: Vec<String>,
    health: String,
    /// `Some(target)`: write operations answer `Forward(target)`.
    forward: Option<Option<String>>,
    /// `Some(key)`: internal requests must be signed (HmacSHA256) with this session key
    /// (`Some(None)`: none read yet). `None`: signatures are not checked.
    session_key: Option<Option<Vec<u8>>>,
    /// Internal requests served.
    internal: Mutex<Vec<Served>>,
    /// Topic tracking: the topics known per connector (any name, configured or not).
    topics: Mutex<BTreeMap<String, Vec<String>>>,
    /// `topic.tracking.enable=false`.
    tracking_off: bool,
    /// `topic.tracking.allow.reset=false`.
    reset_off: bool,
}

/// An internal request a [`FakeHerder`] served: connector, task configs (`None` for a fence),
/// request.
type Served = (String, Option<Vec<Props>>, InternalRequest);

impl FakeHerder {
    fn healthy() -> FakeHerder {
        FakeHerder {
            health: "healthy".into(),
            ..FakeHerder::default()
        }
    }

    /// A herder that sends every write operation to `target`.
    fn forwarding(target: Option<String>) -> FakeHerder {
        FakeHerder {
            forward: Some(target),
            ..FakeHerder::healthy()
        }
    }

    fn check_forward(&self) -> Result<(), HerderError> {
        match &self.forward {
            Some(target) => Err(HerderError::Forward(target.clone())),
            None => Ok(()),
        }
    }

    fn check_signature(&self, request: &InternalRequest) -> Result<(), HerderError> {
        let Some(key) = &self.session_key else {
            return Ok(());
        };
        signing::verify(
            key.as_deref(),
            &["HmacSHA256".to_owned()],
            request.algorithm.as_deref(),
            request.signature.as_deref(),
            &request.body,
        )
    }

    fn get(&self, name: &str) -> Result<(Props, TargetState), HerderError> {
        let connectors = self.connectors.lock().unwrap();
        connectors
            .get(name)
            .cloned()
            .ok_or_else(|| HerderError::NotFound(format!("Connector {name} not found")))
    }

    fn task_count(target: TargetState) -> u32 {
        u32::from(target != TargetState::Stopped)
    }

    fn state(target: TargetState) -> State {
        match target {
            TargetState::Started => State::Running,
            TargetState::Paused => State::Paused,
            TargetState::Stopped => State::Stopped,
        }
    }

    fn task_state(id: u32, state: State) -> TaskState {
        TaskState {
            id,
            state,
            worker_id: WORKER.into(),
            trace: None,
        }
    }

    fn status_of(name: &str, target: TargetState, restarting: bool) -> ConnectorStateInfo {
        let state = if restarting {
            State::Restarting
        } else {
            Self::state(target)
        };
        ConnectorStateInfo {
            name: name.into(),
            connector: ConnectorState {
                state,
                worker_id: WORKER.into(),
                trace: None,
            },
            tasks: (0..Self::task_count(target))
                .map(|id| Self::task_state(id, state))
                .collect(),
            type_: ConnectorType::Sink,
        }
    }

    fn set_target(&self, name: &str, target: TargetState) -> Result<(), HerderError> {
        self.get(name)?;
        let mut connectors = self.connectors.lock().unwrap();
        if let Some(entry) = connectors.get_mut(name) {
            entry.1 = target;
        }
        Ok(())
    }

    fn require_stopped(&self, name: &str) -> Result<(), HerderError> {
        match self.get(name)?.1 {
            TargetState::Stopped => Ok(()),
            _ => Err(HerderError::BadRequest(
                "Connectors must be in the STOPPED state".into(),
            )),
        }
    }
}

impl Herder for FakeHerder {
    async fn server_info(&self) -> ServerInfo {
        ServerInfo {
            version: "0.1.0".into(),
            commit: "abc123".into(),
            kafka_cluster_id: Some("cluster-1".into()),
        }
    }

    async fn health(&self) -> WorkerStatus {
        WorkerStatus {
            status: self.health.clone(),
            message: "details".into(),
        }
    }

    async fn metrics(&self) -> String {
        "# TYPE kafka_connect_connect_worker_metrics_task_count untyped\n\
         kafka_connect_connect_worker_metrics_task_count{connector=\"aggregate\"} 0\n"
            .to_owned()
    }

    async fn connectors(&self) -> Vec<String> {
        let mut names: Vec<String> = self.connectors.lock().unwrap().keys().cloned().collect();
        names.extend(self.ghosts.iter().cloned());
        names.sort();
        names
    }

    async fn connector_info(&self, name: &str) -> Result<ConnectorInfo, HerderError> {
        let (config, target) = self.get(name)?;
        let tasks = (0..Self::task_count(target))
            .map(|task| ConnectorTaskId {
                connector: name.into(),
                task,
            })
            .collect();
        Ok(ConnectorInfo {
            name: name.into(),
            config,
            tasks,
            type_: ConnectorType::Sink,
        })
    }

    async fn connector_config(&self, name: &str) -> Result<Props, HerderError> {
        Ok(self.get(name)?.0)
    }

    async fn connector_status(&self, name: &str) -> Result<ConnectorStateInfo, HerderError> {
        Ok(Self::status_of(name, self.get(name)?.1, false))
    }

    async fn task_status(&self, name: &str, task: u32) -> Result<TaskState, HerderError> {
        let target = self.get(name)?.1;
        if task >= Self::task_count(target) {
            return Err(HerderError::NotFound(format!(
                "Task {name}-{task} not found"
            )));
        }
        Ok(Self::task_state(task, Self::state(target)))
    }

    async fn tasks(&self, name: &str) -> Result<Vec<TaskInfo>, HerderError> {
        let info = self.connector_info(name).await?;
        let config = Props::from([("task.key".to_owned(), "v".to_owned())]);
        Ok(info
            .tasks
            .into_iter()
            .map(|id| TaskInfo {
                id,
                config: config.clone(),
            })
            .collect())
    }

    async fn tasks_config(&self, name: &str) -> Result<BTreeMap<String, Props>, HerderError> {
        let tasks = self.tasks(name).await?;
        Ok(tasks
            .into_iter()
            .map(|t| (format!("{}-{}", t.id.connector, t.id.task), t.config))
            .collect())
    }

    async fn put_connector_config(
        &self,
        name: &str,
        config: Props,
        allow_replace: bool,
        initial_state: Option<TargetState>,
    ) -> Result<Upserted, HerderError> {
        self.check_forward()?;
        if !config.contains_key("connector.class") {
            return Err(HerderError::BadRequest("Missing connector.class".into()));
        }
        let created = {
            let mut connectors = self.connectors.lock().unwrap();
            let existing = connectors.get(name).map(|c| c.1);
            if existing.is_some() && !allow_replace {
                return Err(HerderError::AlreadyExists(format!(
                    "Connector {name} already exists"
                )));
            }
            let target = existing.or(initial_state).unwrap_or(TargetState::Started);
            connectors.insert(name.into(), (config, target));
            existing.is_none()
        };
        let mut info = self.connector_info(name).await?;
        if created {
            info.tasks.clear();
        }
        Ok(Upserted { created, info })
    }

    async fn patch_connector_config(
        &self,
        name: &str,
        patch: BTreeMap<String, Option<String>>,
    ) -> Result<ConnectorInfo, HerderError> {
        self.check_forward()?;
        let (mut config, target) = self.get(name)?;
        for (key, value) in patch {
            match value {
                Some(v) => config.insert(key, v),
                None => config.remove(&key),
            };
        }
        self.connectors
            .lock()
            .unwrap()
            .insert(name.into(), (config, target));
        self.connector_info(name).await
    }

    async fn delete_connector(&self, name: &str) -> Result<(), HerderError> {
        self.check_forward()?;
        self.get(name)?;
        self.connectors.lock().unwrap().remove(name);
        Ok(())
    }

    async fn restart_connector(
        &self,
        name: &str,
        include_tasks: bool,
        only_failed: bool,
    ) -> Result<Option<ConnectorStateInfo>, HerderError> {
        self.check_forward()?;
        let target = self.get(name)?.1;
        Ok((include_tasks || only_failed).then(|| Self::status_of(name, target, true)))
    }

    async fn restart_task(&self, name: &str, task: u32) -> Result<(), HerderError> {
        self.check_forward()?;
        self.task_status(name, task).await.map(|_| ())
    }

    async fn pause(&self, name: &str) -> Result<(), HerderError> {
        self.set_target(name, TargetState::Paused)
    }

    async fn resume(&self, name: &str) -> Result<(), HerderError> {
        self.set_target(name, TargetState::Started)
    }

    async fn stop(&self, name: &str) -> Result<(), HerderError> {
        self.check_forward()?;
        self.set_target(name, TargetState::Stopped)
    }

    async fn offsets(&self, name: &str) -> Result<ConnectorOffsets, HerderError> {
        self.get(name)?;
        let entry = json!({
            "partition": {"kafka_topic": "orders", "kafka_partition": 3},
            "offset": {"kafka_offset": 1042}
        });
        let offset =
            serde_json::from_value(entry).map_err(|e| HerderError::Internal(e.to_string()))?;
        Ok(ConnectorOffsets {
            offsets: vec![offset],
        })
    }

    async fn alter_offsets(
        &self,
        name: &str,
        offsets: ConnectorOffsets,
    ) -> Result<String, HerderError> {
        self.require_stopped(name)?;
        Ok(format!("altered {} partitions", offsets.offsets.len()))
    }

    async fn reset_offsets(&self, name: &str) -> Result<String, HerderError> {
        self.require_stopped(name)?;
        Ok("reset".into())
    }

    async fn connector_active_topics(&self, name: &str) -> Result<Vec<String>, HerderError> {
        if self.tracking_off {
            return Err(HerderError::Forbidden("Topic tracking is disabled.".into()));
        }
        let topics = self.topics.lock().unwrap();
        Ok(topics.get(name).cloned().unwrap_or_default())
    }

    async fn reset_connector_active_topics(&self, name: &str) -> Result<(), HerderError> {
        if self.tracking_off {
            return Err(HerderError::Forbidden("Topic tracking is disabled.".into()));
        }
        if self.reset_off {
            return Err(HerderError::Forbidden(
                "Topic tracking reset is disabled.".into(),
            ));
        }
        self.topics.lock().unwrap().remove(name);
        Ok(())
    }

    async fn plugins(&self, connectors_only: bool) -> Vec<PluginInfo> {
        let plugin = |class: &str, type_: &str, version: Option<&str>| PluginInfo {
            class: class.into(),
            type_: type_.into(),
            version: version.map(Into::into),
        };
        let mut all = vec![
            plugin("io.example.FileStreamSinkConnector", "sink", Some("1.0")),
            plugin("io.example.FileStreamSourceConnector", "source", None),
        ];
        if !connectors_only {
            all.push(plugin(
                "io.example.Cast$Value",
                "transformation",
                Some("1.0"),
            ));
        }
        all
    }

    async fn plugin_config(&self, plugin: &str) -> Result<Vec<ConfigKeyInfo>, HerderError> {
        if !plugin.contains("FileStreamSink") {
            return Err(HerderError::NotFound(format!("Unknown plugin {plugin}")));
        }
        let key = ConfigKey::new(
            "file",
            ConfigType::String,
            KeyDefault::Required,
            Importance::High,
            "Destination file",
        );
        Ok(vec![key.info()])
    }

    async fn validate(&self, config: Props) -> Result<ConfigInfos, HerderError> {
        Ok(ConfigInfos {
            name: config.get("connector.class").cloned().unwrap_or_default(),
            error_count: 0,
            groups: vec!["Common".into()],
            configs: Vec::new(),
        })
    }

    async fn put_task_configs(
        &self,
        name: &str,
        configs: Vec<Props>,
        request: InternalRequest,
    ) -> Result<(), HerderError> {
        self.check_signature(&request)?;
        self.check_forward()?;
        self.get(name)?;
        let mut internal = self.internal.lock().unwrap();
        internal.push((name.into(), Some(configs), request));
        Ok(())
    }

    async fn fence_zombies(&self, name: &str, request: InternalRequest) -> Result<(), HerderError> {
        self.check_signature(&request)?;
        self.check_forward()?;
        self.get(name)?;
        let mut internal = self.internal.lock().unwrap();
        internal.push((name.into(), None, request));
        Ok(())
    }
}

/// [`FakeHerder`] without the internal endpoints: what a standalone worker answers there.
struct Standalone(FakeHerder);

/// Delegates each listed method to the wrapped herder.
macro_rules! delegate {
    ($(fn $method:ident(&self $(, $arg:ident: $ty:ty)*) -> $out:ty;)*) => {
        $(async fn $method(&self $(, $arg: $ty)*) -> $out {
            self.0.$method($($arg),*).await
        })*
    };
}

impl Herder for Standalone {
    delegate! {
        fn server_info(&self) -> ServerInfo;
        fn health(&self) -> WorkerStatus;
        fn metrics(&self) -> String;
        fn connectors(&self) -> Vec<String>;
        fn connector_info(&self, name: &str) -> Result<ConnectorInfo, HerderError>;
        fn connector_config(&self, name: &str) -> Result<Props, HerderError>;
        fn connector_status(&self, name: &str) -> Result<ConnectorStateInfo, HerderError>;
        fn task_status(&self, name: &str, task: u32) -> Result<TaskState, HerderError>;
        fn tasks(&self, name: &str) -> Result<Vec<TaskInfo>, HerderError>;
        fn tasks_config(&self, name: &str) -> Result<BTreeMap<String, Props>, HerderError>;
        fn put_connector_config(
            &self,
            name: &str,
            config: Props,
            allow_replace: bool,
            initial_state: Option<TargetState>
        ) -> Result<Upserted, HerderError>;
        fn patch_connector_config(
            &self,
            name: &str,
            patch: BTreeMap<String, Option<String>>
        ) -> Result<ConnectorInfo, HerderError>;
        fn delete_connector(&self, name: &str) -> Result<(), HerderError>;
        fn restart_connector(
            &self,
            name: &str,
            include_tasks: bool,
            only_failed: bool
        ) -> Result<Option<ConnectorStateInfo>, HerderError>;
        fn restart_task(&self, name: &str, task: u32) -> Result<(), HerderError>;
        fn pause(&self, name: &str) -> Result<(), HerderError>;
        fn resume(&self, name: &str) -> Result<(), HerderError>;
        fn stop(&self, name: &str) -> Result<(), HerderError>;
        fn offsets(&self, name: &str) -> Result<ConnectorOffsets, HerderError>;
        fn alter_offsets(&self, name: &str, offsets: ConnectorOffsets) -> Result<String, HerderError>;
        fn reset_offsets(&self, name: &str) -> Result<String, HerderError>;
        fn connector_active_topics(&self, name: &str) -> Result<Vec<String>, HerderError>;
        fn reset_connector_active_topics(&self, name: &str) -> Result<(), HerderError>;
        fn plugins(&self, connectors_only: bool) -> Vec<PluginInfo>;
        fn plugin_config(&self, plugin: &str) -> Result<Vec<ConfigKeyInfo>, HerderError>;
        fn validate(&self, config: Props) -> Result<ConfigInfos, HerderError>;
    }
}

/// A served router and a client for it.
struct Api {
    base: String,
    http: reqwest::Client,
}

struct Reply {
    status: u16,
    headers: HeaderMap,
    /// `Value::Null` for an empty body.
    body: Value,
    raw: String,
}

impl Api {
    async fn start(herder: FakeHerder) -> Api {
        Api::start_with(herder, LogLevels::detached("info")).await
    }

    async fn start_with(herder: FakeHerder, logs: LogLevels) -> Api {
        Api::serve(router(Arc::new(herder), Arc::new(logs))).await
    }

    async fn serve(app: Router) -> Api {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Api {
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
        }
    }

    /// Sends `body` as is, labelled `application/json`.
    async fn call(&self, method: Method, path: &str, body: Option<&str>) -> Reply {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            req = req
                .header(CONTENT_TYPE, "application/json")
                .body(body.to_owned());
        }
        Reply::read(req.send().await.unwrap()).await
    }

    /// Sends `body` (if any, labelled `application/json` unless `headers` say otherwise) with
    /// extra `headers`.
    async fn call_with(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Reply {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        if let Some(body) = body {
            if !headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
            {
                req = req.header(CONTENT_TYPE, "application/json");
            }
            req = req.body(body.to_owned());
        }
        Reply::read(req.send().await.unwrap()).await
    }

    async fn get(&self, path: &str) -> Reply {
        self.call(Method::GET, path, None).await
    }

    async fn create(&self, name: &str) -> Reply {
        let body = json!({"name": name, "config": {"connector.class": "FileStreamSink"}});
        self.call(Method::POST, "/connectors", Some(&body.to_string()))
            .await
    }
}

impl Reply {
    async fn read(resp: reqwest::Response) -> Reply {
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let raw = resp.text().await.unwrap();
        let json = headers
            .get(CONTENT_TYPE)
            .is_none_or(|t| t.as_bytes().starts_with(b"application/json"));
        let body = if raw.is_empty() || !json {
            Value::Null
        } else {
            serde_json::from_str(&raw).unwrap_or_else(|e| panic!("not JSON ({e}): {raw}"))
        };
        Reply {
            status,
            headers,
            body,
            raw,
        }
    }

    /// Asserts the Connect error shape and returns the message.
    fn error(&self, status: u16) -> String {
        assert_eq!(self.status, status, "body: {}", self.raw);
        let obj = self.body.as_object().expect("error body is an object");
        assert_eq!(obj.len(), 2, "error body: {}", self.raw);
        assert_eq!(obj["error_code"], json!(status));
        obj["message"]
            .as_str()
            .expect("message is a string")
            .to_owned()
    }

    fn empty(&self, status: u16) {
        assert_eq!(self.status, status, "body: {}", self.raw);
        assert!(self.raw.is_empty(), "unexpected body: {}", self.raw);
    }
}

#[tokio::test]
async fn server_info_and_health() {
    let api = Api::start(FakeHerder::healthy()).await;
    let root = api.get("/").await;
    assert_eq!(root.status, 200);
    assert_eq!(
        root.body,
        json!({"version": "0.1.0", "commit": "abc123", "kafka_cluster_id": "cluster-1"})
    );
    assert_eq!(
        root.headers[CONTENT_TYPE].to_str().unwrap(),
        "application/json"
    );
    let health = api.get("/health").await;
    assert_eq!(health.status, 200);
    assert_eq!(
        health.body,
        json!({"status": "healthy", "message": "details"})
    );

    let metrics = api.get("/metrics").await;
    assert_eq!(metrics.status, 200);
    assert_eq!(
        metrics.headers[CONTENT_TYPE].to_str().unwrap(),
        "text/plain; version=0.0.4; charset=utf-8"
    );
    assert!(metrics
        .raw
        .contains("kafka_connect_connect_worker_metrics_task_count{connector=\"aggregate\"} 0"));

    for (status, code) in [("starting", 503), ("unhealthy", 500)] {
        let herder = FakeHerder {
            health: status.into(),
            ..FakeHerder::default()
        };
        let health = Api::start(herder).await.get("/health").await;
        assert_eq!(health.status, code);
        assert_eq!(health.body["status"], json!(status));
    }
}

#[tokio::test]
async fn create_connector() {
    let api = Api::start(FakeHerder::healthy()).await;
    let body = json!({
        "name": "  pg-sink ",
        "config": {"connector.class": "FileStreamSink", "tasks.max": 2, "flag": true, "f": 1.5}
    });
    let created = api
        .call(
            Method::POST,
            "/connectors?forward=true",
            Some(&body.to_string()),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.raw);
    assert_eq!(created.headers[LOCATION], "/connectors/pg-sink");
    assert_eq!(
        created.body,
        json!({
            "name": "pg-sink",
            "config": {"connector.class": "FileStreamSink", "tasks.max": "2", "flag": "true",
                       "f": "1.5", "name": "pg-sink"},
            "tasks": [],
            "type": "sink"
        })
    );
    assert_eq!(api.get("/connectors").await.body, json!(["pg-sink"]));
    assert_eq!(api.get("/connectors/").await.body, json!(["pg-sink"]));

    let again = api.create("pg-sink").await;
    assert_eq!(again.error(409), "Connector pg-sink already exists");

    let spaced = api.create("a b/c").await;
    assert_eq!(spaced.status, 201);
    assert_eq!(spaced.headers[LOCATION], "/connectors/a%20b/c");
}

#[tokio::test]
async fn create_connector_rejections() {
    let api = &Api::start(FakeHerder::healthy()).await;
    let post = |body: Value| async move {
        api.call(Method::POST, "/connectors", Some(&body.to_string()))
            .await
    };
    let class = json!({"connector.class": "X"});
    post(json!({"config": class})).await.error(400);
    post(json!({"name": "  ", "config": class}))
        .await
        .error(400);
    let msg = post(json!({"name": "a", "config": {"connector.class": "X", "name": "b"}}))
        .await
        .error(400);
    assert!(msg.contains("doesn't match"), "{msg}");
    post(json!({"name": "a", "config": {"connector.class": "X", "k": null}}))
        .await
        .error(400);
    post(json!({"name": "a", "config": {"connector.class": "X", "k": [1]}}))
        .await
        .error(400);
    post(json!({"name": "a", "config": class, "initial_state": "FROZEN"}))
        .await
        .error(400);
    // A herder BadRequest (here: no connector.class) keeps its status and message.
    let msg = post(json!({"name": "a", "config": {}})).await.error(400);
    assert_eq!(msg, "Missing connector.class");

    let paused = post(json!({"name": "p", "config": class, "initial_state": "paused"})).await;
    assert_eq!(paused.status, 201);
    let status = api.get("/connectors/p/status").await;
    assert_eq!(status.body["connector"]["state"], json!("PAUSED"));
}

#[tokio::test]
async fn malformed_bodies_are_json_400() {
    let api = Api::start(FakeHerder::healthy()).await;
    for body in ["{", "not json", "[1,2]", r#"{"name": 5}"#] {
        let reply = api.call(Method::POST, "/connectors", Some(body)).await;
        let msg = reply.error(400);
        assert!(!msg.is_empty());
    }
    let empty = api
        .call(Method::PUT, "/connectors/a/config", Some(""))
        .await;
    assert_eq!(empty.error(400), "Request body is required");

    // A body not declared JSON is a 415, as Kafka Connect's (Jersey's @Consumes).
    let body = json!({"name": "t", "config": {"connector.class": "X"}}).to_string();
    let reply = api
        .http
        .post(format!("{}/connectors", api.base))
        .header(CONTENT_TYPE, "text/plain")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status().as_u16(), 415);
}

#[tokio::test]
async fn put_and_patch_config() {
    let api = Api::start(FakeHerder::healthy()).await;
    let config = json!({"connector.class": "FileStreamSink", "topics": "orders"}).to_string();
    let first = api
        .call(Method::PUT, "/connectors/s1/config", Some(&config))
        .await;
    assert_eq!(first.status, 201);
    assert_eq!(first.headers[LOCATION], "/connectors/s1");
    assert_eq!(first.body["config"]["name"], json!("s1"));

    let second = api
        .call(Method::PUT, "/connectors/s1/config", Some(&config))
        .await;
    assert_eq!(second.status, 200);
    assert!(second.headers.get(LOCATION).is_none());
    assert_eq!(
        second.body["tasks"],
        json!([{"connector": "s1", "task": 0}])
    );

    let wrong = json!({"connector.class": "X", "name": "other"}).to_string();
    api.call(Method::PUT, "/connectors/s1/config", Some(&wrong))
        .await
        .error(400);

    let patch = json!({"topics": null, "tasks.max": 3}).to_string();
    let patched = api
        .call(Method::PATCH, "/connectors/s1/config", Some(&patch))
        .await;
    assert_eq!(patched.status, 200);
    assert_eq!(
        api.get("/connectors/s1/config").await.body,
        json!({"connector.class": "FileStreamSink", "name": "s1", "tasks.max": "3"})
    );
    api.call(Method::PATCH, "/connectors/nope/config", Some(&patch))
        .await
        .error(404);
}

#[tokio::test]
async fn expanded_connector_list() {
    let herder = FakeHerder {
        ghosts: vec!["ghost".into()],
        ..FakeHerder::healthy()
    };
    let api = Api::start(herder).await;
    api.create("a").await;
    assert_eq!(api.get("/connectors").await.body, json!(["a", "ghost"]));

    let both = api.get("/connectors?expand=status&expand=info").await;
    assert_eq!(both.status, 200);
    let map = both.body.as_object().unwrap();
    assert_eq!(map.keys().collect::<Vec<_>>(), ["a"]);
    assert_eq!(map["a"]["status"]["connector"]["state"], json!("RUNNING"));
    assert_eq!(map["a"]["info"]["name"], json!("a"));

    let status_only = api.get("/connectors?expand=status").await.body;
    assert!(status_only["a"].get("info").is_none());
    assert_eq!(
        api.get("/connectors?expand=bogus").await.body,
        json!({"a": {}, "ghost": {}})
    );
}

#[tokio::test]
async fn status_and_tasks() {
    let api = Api::start(FakeHerder::healthy()).await;
    api.create("c").await;
    let status = api.get("/connectors/c/status").await;
    assert_eq!(
        status.body,
        json!({
            "name": "c",
            "connector": {"state": "RUNNING", "worker_id": WORKER},
            "tasks": [{"id": 0, "state": "RUNNING", "worker_id": WORKER}],
            "type": "sink"
        })
    );
    assert_eq!(
        api.get("/connectors/c/tasks").await.body,
        json!([{"id": {"connector": "c", "task": 0}, "config": {"task.key": "v"}}])
    );
    assert_eq!(
        api.get("/connectors/c/tasks-config").await.body,
        json!({"c-0": {"task.key": "v"}})
    );
    assert_eq!(
        api.get("/connectors/c/tasks/0/status").await.body,
        json!({"id": 0, "state": "RUNNING", "worker_id": WORKER})
    );
    api.get("/connectors/c/tasks/7/status").await.error(404);
    let msg = api.get("/connectors/c/tasks/x/status").await.error(404);
    assert_eq!(msg, "HTTP 404 Not Found");
    api.get("/connectors/c/tasks/-1/status").await.error(404);
    let msg = api.get("/connectors/nope/status").await.error(404);
    assert_eq!(msg, "Connector nope not found");
}

#[tokio::test]
async fn restarts() {
    let api = Api::start(FakeHerder::healthy()).await;
    api.create("c").await;
    api.call(Method::POST, "/connectors/c/restart", None)
        .await
        .empty(204);
    api.call(
        Method::POST,
        "/connectors/c/restart?includeTasks=false&onlyFailed=nope",
        None,
    )
    .await
    .empty(204);
    for query in [
        "includeTasks=true",
        "onlyFailed=TRUE",
        "includeTasks=true&onlyFailed=true",
    ] {
        let reply = api
            .call(
                Method::POST,
                &format!("/connectors/c/restart?{query}"),
                None,
            )
            .await;
        assert_eq!(reply.status, 202, "{query}");
        assert_eq!(reply.body["connector"]["state"], json!("RESTARTING"));
        assert_eq!(reply.body["tasks"][0]["state"], json!("RESTARTING"));
    }
    api.call(Method::POST, "/connectors/c/tasks/0/restart", None)
        .await
        .empty(204);
    api.call(Method::POST, "/connectors/c/tasks/1/restart", None)
        .await
        .error(404);
    api.call(Method::POST, "/connectors/x/restart", None)
        .await
        .error(404);
}

#[tokio::test]
async fn pause_resume_stop_delete() {
    let api = Api::start(FakeHerder::healthy()).await;
    api.create("c").await;
    let state =
        || async { api.get("/connectors/c/status").await.body["connector"]["state"].clone() };

    api.call(Method::PUT, "/connectors/c/pause", None)
        .await
        .empty(202);
    assert_eq!(state().await, json!("PAUSED"));
    api.call(Method::PUT, "/connectors/c/resume", None)
        .await
        .empty(202);
    assert_eq!(state().await, json!("RUNNING"));
    api.call(Method::PUT, "/connectors/c/stop", None)
        .await
        .empty(204);
    assert_eq!(state().await, json!("STOPPED"));
    assert_eq!(api.get("/connectors/c/tasks").await.body, json!([]));

    api.call(Method::PUT, "/connectors/x/pause", None)
        .await
        .error(404);
    api.call(Method::DELETE, "/connectors/c", None)
        .await
        .empty(204);
    api.get("/connectors/c").await.error(404);
    api.call(Method::DELETE, "/connectors/c", None)
        .await
        .error(404);
}

#[tokio::test]
async fn offsets() {
    let api = Api::start(FakeHerder::healthy()).await;
    api.create("c").await;
    let got = api.get("/connectors/c/offsets").await;
    assert_eq!(
        got.body,
        json!({"offsets": [{"partition": {"kafka_topic": "orders", "kafka_partition": 3},
                            "offset": {"kafka_offset": 1042}}]})
    );
    let patch = json!({"offsets": [{"partition": {"kafka_topic": "orders", "kafka_partition": 3},
                                    "offset": null}]})
    .to_string();
    api.call(Method::PATCH, "/connectors/c/offsets", Some(&patch))
        .await
        .error(400);
    api.call(Method::PUT, "/connectors/c/stop", None).await;

    for empty in ["", "{}", r#"{"offsets": []}"#, r#"{"offsets": null}"#] {
        let msg = api
            .call(Method::PATCH, "/connectors/c/offsets", Some(empty))
            .await
            .error(400);
        assert!(msg.starts_with("Partitions / offsets"), "{empty}: {msg}");
    }
    let altered = api
        .call(Method::PATCH, "/connectors/c/offsets", Some(&patch))
        .await;
    assert_eq!(altered.status, 200);
    assert_eq!(altered.body, json!({"message": "altered 1 partitions"}));
    let reset = api
        .call(Method::DELETE, "/connectors/c/offsets", None)
        .await;
    assert_eq!(reset.status, 200);
    assert_eq!(reset.body, json!({"message": "reset"}));
    api.get("/connectors/x/offsets").await.error(404);
}

#[tokio::test]
async fn plugins_and_validation() {
    let api = &Api::start(FakeHerder::healthy()).await;
    assert_eq!(
        api.get("/connector-plugins").await.body,
        json!([
            {"class": "io.example.FileStreamSinkConnector", "type": "sink", "version": "1.0"},
            {"class": "io.example.FileStreamSourceConnector", "type": "source"}
        ])
    );
    let all = api
        .get("/connector-plugins?connectorsOnly=false")
        .await
        .body;
    assert_eq!(all[2]["type"], json!("transformation"));

    let config = api.get("/connector-plugins/FileStreamSink/config").await;
    assert_eq!(
        config.body,
        json!([{"name": "file", "type": "STRING", "required": true, "default_value": null,
                "importance": "HIGH", "documentation": "Destination file", "group": null,
                "order": -1, "width": "NONE", "display_name": "file", "dependents": []}])
    );
    api.get("/connector-plugins/Nope/config").await.error(404);

    let validate = |plugin: &'static str, body: Value| async move {
        let path = format!("/connector-plugins/{plugin}/config/validate");
        api.call(Method::PUT, &path, Some(&body.to_string())).await
    };
    let class = "io.example.FileStreamSinkConnector";
    let ok = validate(
        "FileStreamSinkConnector",
        json!({"connector.class": class, "tasks.max": 1}),
    )
    .await;
    assert_eq!(ok.status, 200);
    assert_eq!(
        ok.body,
        json!({"name": class, "error_count": 0, "groups": ["Common"], "configs": []})
    );
    assert_eq!(
        validate("FileStreamSink", json!({"connector.class": class}))
            .await
            .status,
        200
    );
    validate("FileStreamSink", json!({"topics": "t"}))
        .await
        .error(400);
    let msg = validate("FileStreamSource", json!({"connector.class": class}))
        .await
        .error(400);
    assert!(msg.contains("does not match"), "{msg}");
}

#[tokio::test]
async fn routing_errors_and_topics() {
    let api = Api::start(FakeHerder::healthy()).await;
    assert_eq!(api.get("/nope").await.error(404), "HTTP 404 Not Found");
    assert_eq!(
        api.get("/connectors/a/b/c").await.error(404),
        "HTTP 404 Not Found"
    );
    let msg = api
        .call(Method::DELETE, "/connectors", None)
        .await
        .error(405);
    assert_eq!(msg, "HTTP 405 Method Not Allowed");
    api.call(Method::POST, "/connectors/a/pause", None)
        .await
        .error(405);
}

#[tokio::test]
async fn topic_tracking() {
    let herder = FakeHerder::healthy();
    herder
        .topics
        .lock()
        .unwrap()
        .insert("src".into(), vec!["orders".into(), "audit".into()]);
    let api = Api::start(herder).await;
    let listed = api.get("/connectors/src/topics").await;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.body, json!({"src": {"topics": ["orders", "audit"]}}));
    // An unknown connector has no topics: 200, not 404; its reset is accepted.
    let unknown = api.get("/connectors/any/topics").await;
    assert_eq!(unknown.status, 200);
    assert_eq!(unknown.body, json!({"any": {"topics": []}}));
    api.call(Method::PUT, "/connectors/any/topics/reset", None)
        .await
        .empty(202);
    // The name is the path segment, decoded.
    assert_eq!(
        api.get("/connectors/a%20b/topics").await.body,
        json!({"a b": {"topics": []}})
    );
    api.call(Method::PUT, "/connectors/src/topics/reset", None)
        .await
        .empty(202);
    assert_eq!(
        api.get("/connectors/src/topics").await.body,
        json!({"src": {"topics": []}})
    );
    api.call(Method::POST, "/connectors/src/topics/reset", None)
        .await
        .error(405);
    api.call(Method::GET, "/connectors/src/topics/reset", None)
        .await
        .error(405);
    api.call(Method::PUT, "/connectors/src/topics", None)
        .await
        .error(405);
}

#[tokio::test]
async fn topic_tracking_disabled_is_403() {
    let api = Api::start(FakeHerder {
        tracking_off: true,
        // Tracking being off is checked first.
        reset_off: true,
        ..FakeHerder::healthy()
    })
    .await;
    for (method, path) in [
        (Method::GET, "/connectors/src/topics"),
        (Method::PUT, "/connectors/src/topics/reset"),
    ] {
        let msg = api.call(method, path, None).await.error(403);
        assert_eq!(msg, "Topic tracking is disabled.");
    }

    let herder = FakeHerder {
        reset_off: true,
        ..FakeHerder::healthy()
    };
    herder
        .topics
        .lock()
        .unwrap()
        .insert("src".into(), vec!["orders".into()]);
    let api = Api::start(herder).await;
    let msg = api
        .call(Method::PUT, "/connectors/src/topics/reset", None)
        .await
        .error(403);
    assert_eq!(msg, "Topic tracking reset is disabled.");
    assert_eq!(
        api.get("/connectors/src/topics").await.body,
        json!({"src": {"topics": ["orders"]}}),
        "a refused reset changes nothing"
    );
}

#[tokio::test]
async fn topic_tracking_is_never_forwarded() {
    // A follower that would forward every write still answers topic requests itself.
    let herder = FakeHerder::forwarding(Some("http://127.0.0.1:9/".into()));
    herder
        .topics
        .lock()
        .unwrap()
        .insert("src".into(), vec!["orders".into()]);
    let api = Api::start(herder).await;
    assert_eq!(
        api.get("/connectors/src/topics").await.body,
        json!({"src": {"topics": ["orders"]}})
    );
    api.call(Method::PUT, "/connectors/src/topics/reset", None)
        .await
        .empty(202);
}

#[tokio::test]
async fn loggers() {
    let logs = LogLevels::detached("info,tributary::runtime=warn");
    let api = &Api::start_with(FakeHerder::healthy(), logs).await;
    assert_eq!(
        api.get("/admin/loggers").await.body,
        json!({
            "root": {"level": "INFO", "last_modified": null},
            "tributary.runtime": {"level": "WARN", "last_modified": null}
        })
    );
    api.get("/admin/loggers/tributary.rest").await.error(404);
    assert_eq!(
        api.get("/admin/loggers/ROOT").await.body["level"],
        json!("INFO")
    );

    let set = |logger: &'static str, query: &'static str, body: &'static str| async move {
        let path = format!("/admin/loggers/{logger}{query}");
        api.call(Method::PUT, &path, Some(body)).await
    };
    let reply = set("tributary", "", r#"{"level": "debug"}"#).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, json!(["tributary", "tributary.runtime"]));
    let level = api.get("/admin/loggers/tributary.runtime").await.body;
    assert_eq!(level["level"], json!("DEBUG"));
    assert!(level["last_modified"]
        .as_u64()
        .is_some_and(|ms| ms > 1_600_000_000_000));

    set("tributary", "", "{}").await.error(400);
    set("tributary", "", r#"{"level": null}"#).await.error(400);
    set("tributary", "", r#"{"level": "LOUD"}"#)
        .await
        .error(404);
    set("tributary", "?scope=cluster", r#"{"level": "LOUD"}"#)
        .await
        .error(404);
    set("bad,name", "", r#"{"level": "INFO"}"#).await.error(400);
    set(
        "tributary.connect",
        "?scope=cluster",
        r#"{"level": "FATAL"}"#,
    )
    .await
    .empty(204);
    assert_eq!(
        api.get("/admin/loggers/tributary.connect").await.body["level"],
        json!("FATAL")
    );

    let root = set("root", "?scope=worker", r#"{"level": "WARN"}"#).await;
    assert_eq!(
        root.body,
        json!([
            "root",
            "tributary",
            "tributary.connect",
            "tributary.runtime"
        ])
    );
    let all = api.get("/admin/loggers").await.body;
    assert!(all
        .as_object()
        .unwrap()
        .values()
        .all(|l| l["level"] == json!("WARN")));
}

#[tokio::test]
async fn herder_timeout_is_500() {
    let never = std::future::pending::<Result<(), HerderError>>();
    let never = super::ask_within(std::time::Duration::from_millis(10), never).await;
    let err = never.unwrap_err();
    assert_eq!(err.status.as_u16(), 500);
    assert!(err.message.starts_with("Request timed out"));
}

/// A request as it reached a [`Worker`]'s listener.
#[derive(Clone)]
struct Received {
    method: Method,
    uri: String,
    headers: HeaderMap,
    body: Vec<u8>,
}

/// A served [`FakeHerder`] that records every request reaching its listener.
struct Worker {
    api: Api,
    herder: Arc<FakeHerder>,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Worker {
    async fn start(herder: FakeHerder) -> Worker {
        let herder = Arc::new(herder);
        let received: Arc<Mutex<Vec<Received>>> = Arc::default();
        let log = Arc::clone(&received);
        let record = move |req: Request, next: Next| {
            let log = Arc::clone(&log);
            async move {
                let (parts, body) = req.into_parts();
                let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
                log.lock().unwrap().push(Received {
                    method: parts.method.clone(),
                    uri: parts.uri.to_string(),
                    headers: parts.headers.clone(),
                    body: body.to_vec(),
                });
                next.run(Request::from_parts(parts, body.into())).await
            }
        };
        let logs = Arc::new(LogLevels::detached("info"));
        let app = router(Arc::clone(&herder), logs).layer(from_fn(record));
        Worker {
            api: Api::serve(app).await,
            herder,
            received,
        }
    }

    /// The base URL as a herder would advertise it (with a trailing `/`).
    fn url(&self) -> String {
        format!("{}/", self.api.base)
    }

    fn count(&self) -> usize {
        self.received.lock().unwrap().len()
    }

    fn last(&self) -> Received {
        let received = self.received.lock().unwrap();
        received.last().expect("no request received").clone()
    }
}

#[tokio::test]
async fn forwarding_follows_the_forward_parameter() {
    let b = Worker::start(FakeHerder::healthy()).await;
    let a = Api::start(FakeHerder::forwarding(Some(b.url()))).await;

    // A client's request goes to B with forward=true; B's 201, body and Location come back.
    let created = a.create("x").await;
    assert_eq!(created.status, 201, "{}", created.raw);
    assert_eq!(created.headers[LOCATION], "/connectors/x");
    assert_eq!(created.headers[CONTENT_TYPE], "application/json");
    assert_eq!(created.body["name"], json!("x"));
    assert_eq!(
        created.body["config"]["connector.class"],
        json!("FileStreamSink")
    );
    let got = b.last();
    assert_eq!(got.method, Method::POST);
    assert_eq!(got.uri, "/connectors?forward=true");
    assert_eq!(got.headers[CONTENT_TYPE], "application/json");
    let sent = json!({"name": "x", "config": {"connector.class": "FileStreamSink"}});
    assert_eq!(got.body, sent.to_string().into_bytes());
    assert_eq!(b.herder.connectors().await, ["x"]);

    // Arrived with forward=true (already one hop): goes on with forward=false.
    let body = json!({"name": "y", "config": {"connector.class": "X"}}).to_string();
    let reply = a
        .call(Method::POST, "/connectors?forward=true", Some(&body))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.raw);
    assert_eq!(b.last().uri, "/connectors?forward=false");

    // Arrived with forward=false: no third hop.
    let before = b.count();
    for path in ["/connectors?forward=false", "/connectors?forward=nonsense"] {
        let msg = a.call(Method::POST, path, Some(&body)).await.error(409);
        assert_eq!(msg, CONFLICTING_OPERATION);
    }
    assert_eq!(b.count(), before);

    // B's errors are relayed with their status and body.
    assert_eq!(a.create("x").await.error(409), "Connector x already exists");
    let msg = a
        .call(Method::DELETE, "/connectors/nope", None)
        .await
        .error(404);
    assert_eq!(msg, "Connector nope not found");
    a.call(Method::DELETE, "/connectors/x", None)
        .await
        .empty(204);
    let got = b.last();
    assert_eq!(
        (got.method, got.uri.as_str()),
        (Method::DELETE, "/connectors/x?forward=true")
    );
    assert!(got.headers.get(CONTENT_TYPE).is_none());
    assert!(got.body.is_empty());
    assert_eq!(b.herder.connectors().await, ["y"]);

    // Reads are served locally.
    assert_eq!(a.get("/connectors").await.body, json!([]));
}

#[tokio::test]
async fn forwarding_copies_query_and_authorization_only() {
    let b = Worker::start(FakeHerder::healthy()).await;
    b.api.create("a b").await;
    let a = Api::start(FakeHerder::forwarding(Some(b.url()))).await;
    let headers = [
        ("Authorization", "Basic dXNlcjpwYXNz"),
        ("X-Custom", "1"),
        (SIGNATURE_HEADER, "c2ln"),
        (ALGORITHM_HEADER, "HmacSHA256"),
    ];

    let reply = a
        .call_with(
            Method::POST,
            "/connectors/a%20b/restart?includeTasks=true&onlyFailed=false",
            &headers,
            None,
        )
        .await;
    assert_eq!(reply.status, 202, "{}", reply.raw);
    assert_eq!(reply.body["name"], json!("a b"));
    assert_eq!(reply.body["connector"]["state"], json!("RESTARTING"));
    let got = b.last();
    assert_eq!(
        got.uri,
        "/connectors/a%20b/restart?forward=true&includeTasks=true&onlyFailed=false"
    );
    assert_eq!(got.headers[AUTHORIZATION], "Basic dXNlcjpwYXNz");
    for absent in [
        "x-custom",
        SIGNATURE_HEADER,
        ALGORITHM_HEADER,
        "content-type",
    ] {
        assert!(got.headers.get(absent).is_none(), "{absent} was copied");
    }

    a.call_with(
        Method::POST,
        "/connectors/a%20b/tasks/0/restart",
        &headers,
        None,
    )
    .await
    .empty(204);
    assert_eq!(
        b.last().uri,
        "/connectors/a%20b/tasks/0/restart?forward=true"
    );
    a.call(Method::PUT, "/connectors/a%20b/stop?forward=true", None)
        .await
        .empty(204);
    let got = b.last();
    assert_eq!(got.uri, "/connectors/a%20b/stop?forward=false");
    assert!(got.headers.get(AUTHORIZATION).is_none());
}

#[tokio::test]
async fn forwarding_takes_at_most_two_hops() {
    // A → B → C: C serves it.
    let c = Worker::start(FakeHerder::healthy()).await;
    let b = Worker::start(FakeHerder::forwarding(Some(c.url()))).await;
    let a = Api::start(FakeHerder::forwarding(Some(b.url()))).await;
    let created = a.create("z").await;
    assert_eq!(created.status, 201, "{}", created.raw);
    assert_eq!(created.headers[LOCATION], "/connectors/z");
    assert_eq!(b.last().uri, "/connectors?forward=true");
    assert_eq!(c.last().uri, "/connectors?forward=false");

    // A → B → C → D would be a third hop: C answers 409, relayed back to the client.
    let d = Worker::start(FakeHerder::healthy()).await;
    let c = Worker::start(FakeHerder::forwarding(Some(d.url()))).await;
    let b = Worker::start(FakeHerder::forwarding(Some(c.url()))).await;
    let a = Api::start(FakeHerder::forwarding(Some(b.url()))).await;
    assert_eq!(a.create("z").await.error(409), CONFLICTING_OPERATION);
    assert_eq!(c.last().uri, "/connectors?forward=false");
    assert_eq!(d.count(), 0);
}

#[tokio::test]
async fn no_known_leader_is_409() {
    let a = Api::start(FakeHerder::forwarding(None)).await;
    assert_eq!(a.create("x").await.error(409), NO_KNOWN_LEADER);
    let msg = a
        .call(Method::POST, "/connectors/x/restart?forward=true", None)
        .await
        .error(409);
    assert_eq!(msg, NO_KNOWN_LEADER);
    let msg = a
        .call(Method::POST, "/connectors/x/restart?forward=false", None)
        .await
        .error(409);
    assert_eq!(msg, CONFLICTING_OPERATION);
}

#[tokio::test]
async fn unreachable_or_odd_targets_are_500() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let a = Api::start(FakeHerder::forwarding(Some(format!("http://{addr}")))).await;
    let msg = a.create("x").await.error(500);
    assert!(
        msg.starts_with(&format!(
            "IO Error trying to forward REST request to http://{addr}/connectors"
        )),
        "{msg}"
    );

    // A redirect is not followed (nor relayed): 500, as Connect's RestClient answers.
    let redirect = Router::new().fallback(|| async {
        (
            axum::http::StatusCode::TEMPORARY_REDIRECT,
            [(LOCATION, "http://example.invalid/")],
        )
    });
    let odd = Api::serve(redirect).await;
    let a = Api::start(FakeHerder::forwarding(Some(odd.base.clone()))).await;
    let msg = a.create("x").await.error(500);
    assert_eq!(
        msg,
        "Unexpected status code when handling forwarded request: 307"
    );
}

/// A signed internal request's headers.
fn signed(key: &[u8], body: &str) -> [(&'static str, String); 2] {
    [
        (ALGORITHM_HEADER, "HmacSHA256".to_owned()),
        (
            SIGNATURE_HEADER,
            signing::sign(key, "HmacSHA256", body.as_bytes()).unwrap(),
        ),
    ]
}

async fn internal(
    api: &Api,
    method: Method,
    path: &str,
    headers: &[(&str, String)],
    body: &str,
) -> Reply {
    let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    api.call_with(method, path, &headers, Some(body)).await
}

#[tokio::test]
async fn internal_endpoints_check_signatures() {
    let key = signing::generate_key("HmacSHA256", None).unwrap();
    let herder = FakeHerder {
        session_key: Some(Some(key.clone())),
        ..FakeHerder::healthy()
    };
    let w = Worker::start(herder).await;
    w.api.create("c").await;
    let tasks = "/connectors/c/tasks";

    let body = r#"[{"task.class": "T", "n": 1, "on": true}, {}]"#;
    internal(&w.api, Method::POST, tasks, &signed(&key, body), body)
        .await
        .empty(204);
    let (name, configs, request) = w.herder.internal.lock().unwrap().pop().unwrap();
    assert_eq!(name, "c");
    let first = Props::from([
        ("task.class".to_owned(), "T".to_owned()),
        ("n".to_owned(), "1".to_owned()),
        ("on".to_owned(), "true".to_owned()),
    ]);
    assert_eq!(configs, Some(vec![first, Props::new()]));
    assert_eq!(
        request,
        InternalRequest {
            algorithm: Some("HmacSHA256".into()),
            signature: Some(signing::sign(&key, "HmacSHA256", body.as_bytes()).unwrap()),
            body: body.as_bytes().to_vec(),
        }
    );

    let msg = internal(&w.api, Method::POST, tasks, &[], body)
        .await
        .error(400);
    assert_eq!(msg, "Internal request missing required signature");
    internal(&w.api, Method::POST, tasks, &signed(&key, "[]"), body)
        .await
        .error(403);
    let mut sha512 = signed(&key, body);
    sha512[0].1 = "HmacSHA512".into();
    internal(&w.api, Method::POST, tasks, &sha512, body)
        .await
        .error(400);
    let unknown = "/connectors/nope/tasks";
    internal(&w.api, Method::POST, unknown, &signed(&key, body), body)
        .await
        .error(404);

    // Fencing: an empty body, signed as such.
    let fence = "/connectors/c/fence";
    internal(&w.api, Method::PUT, fence, &signed(&key, ""), "")
        .await
        .empty(204);
    let (name, configs, request) = w.herder.internal.lock().unwrap().pop().unwrap();
    assert_eq!((name.as_str(), configs), ("c", None));
    assert!(request.body.is_empty());
    internal(&w.api, Method::PUT, fence, &[], "")
        .await
        .error(400);

    // No session key read yet: 503.
    let waiting = Api::start(FakeHerder {
        session_key: Some(None),
        ..FakeHerder::healthy()
    })
    .await;
    waiting.create("c").await;
    internal(&waiting, Method::POST, tasks, &signed(&key, body), body)
        .await
        .error(503);
    internal(&waiting, Method::PUT, fence, &signed(&key, ""), "")
        .await
        .error(503);

    // The public task list is unchanged.
    assert_eq!(w.api.get(tasks).await.status, 200);
}

#[tokio::test]
async fn internal_task_configs_must_be_an_array_of_string_maps() {
    let key = signing::generate_key("HmacSHA256", None).unwrap();
    let herder = FakeHerder {
        session_key: Some(Some(key.clone())),
        ..FakeHerder::healthy()
    };
    let w = Worker::start(herder).await;
    w.api.create("c").await;
    for bad in [
        "",
        "{",
        r#"{"a": "b"}"#,
        "[1]",
        r#"[{"k": null}]"#,
        r#"[{"k": [1]}]"#,
    ] {
        let reply = internal(
            &w.api,
            Method::POST,
            "/connectors/c/tasks",
            &signed(&key, bad),
            bad,
        )
        .await;
        assert!(!reply.error(400).is_empty(), "{bad}");
    }
    assert!(w.herder.internal.lock().unwrap().is_empty());
    internal(
        &w.api,
        Method::POST,
        "/connectors/c/tasks",
        &signed(&key, "[]"),
        "[]",
    )
    .await
    .empty(204);
}

#[tokio::test]
async fn internal_requests_are_forwarded_with_their_exact_body() {
    let b = Worker::start(FakeHerder::healthy()).await;
    b.api.create("c").await;
    let a = Api::start(FakeHerder::forwarding(Some(b.url()))).await;
    let body = "[ {\"k\" : \"v\"} ]";
    let headers = [(ALGORITHM_HEADER, "HmacSHA256".to_owned())];
    internal(&a, Method::POST, "/connectors/c/tasks", &headers, body)
        .await
        .empty(204);
    let got = b.last();
    assert_eq!(got.uri, "/connectors/c/tasks?forward=true");
    assert_eq!(got.body, body.as_bytes());
    let (_, configs, request) = b.herder.internal.lock().unwrap().pop().unwrap();
    assert_eq!(
        configs,
        Some(vec![Props::from([("k".to_owned(), "v".to_owned())])])
    );
    assert_eq!(request.body, body.as_bytes());
    // Only Authorization is copied, so the signature headers are not.
    assert_eq!(request.algorithm, None);

    internal(&a, Method::PUT, "/connectors/c/fence", &[], "")
        .await
        .empty(204);
    assert_eq!(b.last().uri, "/connectors/c/fence?forward=true");
}

#[tokio::test]
async fn standalone_refuses_internal_endpoints() {
    let logs = Arc::new(LogLevels::detached("info"));
    let api = Api::serve(router(Arc::new(Standalone(FakeHerder::healthy())), logs)).await;
    api.create("c").await;
    let msg = api
        .call(Method::POST, "/connectors/c/tasks", Some(r#"[{"k": "v"}]"#))
        .await
        .error(500);
    assert!(msg.contains("standalone"), "{msg}");
    let msg = api
        .call(Method::PUT, "/connectors/c/fence", None)
        .await
        .error(500);
    assert!(msg.contains("standalone"), "{msg}");
    api.call(Method::POST, "/connectors/c/tasks", Some("{"))
        .await
        .error(400);
    // Forward is never asked for: `forward` is ignored.
    let created = api
        .call(
            Method::POST,
            "/connectors?forward=false",
            Some(&json!({"name": "d", "config": {"connector.class": "X"}}).to_string()),
        )
        .await;
    assert_eq!(created.status, 201);
}

mod security;
