//! The plugin side of the boundary, used through [`crate::export_plugin!`].

use std::cell::RefCell;
use std::collections::VecDeque;
use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Once, OnceLock};

use super::batch::{RecordBatch, RecordBatchWriter};
use super::*;
use crate::component::{
    ComponentKind, ConfigProviderClass, ConverterClass, HeaderConverterClass, PredicateClass,
    TransformationClass,
};
use crate::connector::{
    Connector, ConnectorContext, ContextTarget, SinkConnector, SinkTask, SourceConnector,
    SourceTask, SourceTaskContext,
};
use crate::converter::{ConnectData, RawData};
use crate::error::ConnectResult;
use crate::transform::ConnectRecord;

/// How to make one connector class and its tasks.
pub struct Factory {
    pub class: &'static str,
    pub kind: ConnectorKind,
    pub version: fn() -> String,
    pub config_def: fn() -> ConfigDef,
    pub new_connector: fn() -> Box<dyn DynConnector>,
    pub new_task: fn() -> Box<dyn DynTask>,
}

impl Factory {
    pub const fn source<C: SourceConnector>() -> Factory {
        Factory {
            class: C::CLASS,
            kind: ConnectorKind::Source,
            version: C::version,
            config_def: C::config_def,
            new_connector: new_source_connector::<C>,
            new_task: new_source_task::<C::Task>,
        }
    }

    pub const fn sink<C: SinkConnector>() -> Factory {
        Factory {
            class: C::CLASS,
            kind: ConnectorKind::Sink,
            version: C::version,
            config_def: C::config_def,
            new_connector: new_sink_connector::<C>,
            new_task: new_sink_task::<C::Task>,
        }
    }
}

/// A connector instance behind the boundary.
pub trait DynConnector: Send {
    fn handle(&mut self, request: ConnectorRequest) -> ConnectResult<ConnectorResponse>;

    /// [`Connector::initialize`].
    fn initialize(&mut self, context: ConnectorContext);
}

/// A task instance behind the boundary.
pub trait DynTask: Send {
    fn handle(&mut self, request: TaskRequest) -> Result<TaskResponse, CallFailure>;

    /// A source task's poll, answered as a [`super::batch`] record batch.
    fn poll(&mut self) -> Result<Vec<u8>, CallFailure> {
        Err(plain(ConnectError::new("a sink task cannot be polled")))
    }
}

struct SourceConnectorBox<C>(C);
struct SinkConnectorBox<C>(C);

fn new_source_connector<C: SourceConnector>() -> Box<dyn DynConnector> {
    Box::new(SourceConnectorBox(C::default()))
}

fn new_sink_connector<C: SinkConnector>() -> Box<dyn DynConnector> {
    Box::new(SinkConnectorBox(C::default()))
}

fn common<C: Connector>(
    c: &mut C,
    request: ConnectorRequest,
) -> Result<ConnectResult<ConnectorResponse>, ConnectorRequest> {
    Ok(match request {
        ConnectorRequest::Start(props) => c.start(&props).map(|()| ConnectorResponse::Done),
        ConnectorRequest::TaskConfigs(max) => c
            .task_configs(max as usize)
            .map(ConnectorResponse::TaskConfigs),
        ConnectorRequest::Stop => c.stop().map(|()| ConnectorResponse::Done),
        ConnectorRequest::Validate(props) => Ok(ConnectorResponse::Validation(c.validate(&props))),
        other => return Err(other),
    })
}

impl<C: SourceConnector> DynConnector for SourceConnectorBox<C> {
    fn initialize(&mut self, context: ConnectorContext) {
        self.0.initialize(context);
    }

    fn handle(&mut self, request: ConnectorRequest) -> ConnectResult<ConnectorResponse> {
        match common(&mut self.0, request) {
            Ok(result) => result,
            Err(ConnectorRequest::ExactlyOnceSupport(props)) => Ok(ConnectorResponse::ExactlyOnce(
                self.0.exactly_once_support(&props),
            )),
            Err(ConnectorRequest::AlterSourceOffsets(props, offsets)) => self
                .0
                .alter_offsets(&props, &offsets)
                .map(ConnectorResponse::OffsetsAltered),
            Err(other) => Err(ConnectError::new(format!(
                "a source connector cannot handle {other:?}"
            ))),
        }
    }
}

impl<C: SinkConnector> DynConnector for SinkConnectorBox<C> {
    fn initialize(&mut self, context: ConnectorContext) {
        self.0.initialize(context);
    }

    fn handle(&mut self, request: ConnectorRequest) -> ConnectResult<ConnectorResponse> {
        match common(&mut self.0, request) {
            Ok(result) => result,
            Err(ConnectorRequest::AlterSinkOffsets(props, offsets)) => self
                .0
                .alter_offsets(&props, &offsets)
                .map(ConnectorResponse::OffsetsAltered),
            Err(ConnectorRequest::ExactlyOnceSupport(_)) => Ok(ConnectorResponse::ExactlyOnce(
                ExactlyOnceSupport::Unsupported,
            )),
            Err(other) => Err(ConnectError::new(format!(
                "a sink connector cannot handle {other:?}"
            ))),
        }
    }
}

struct SourceTaskBox<T> {
    task: T,
    /// Polled records kept until acknowledged, for `commit_record`.
    retained: VecDeque<(u64, SourceRecord)>,
    next_seq: u64,
    /// The size of the last batch, to size the next one's buffer.
    last_batch_bytes: usize,
}

struct SinkTaskBox<T> {
    task: T,
    context: SinkTaskContext,
}

fn new_source_task<T: SourceTask>() -> Box<dyn DynTask> {
    Box::new(SourceTaskBox {
        task: T::default(),
        retained: VecDeque::new(),
        next_seq: 0,
        last_batch_bytes: 0,
    })
}

fn new_sink_task<T: SinkTask>() -> Box<dyn DynTask> {
    Box::new(SinkTaskBox {
        task: T::default(),
        context: SinkTaskContext::default(),
    })
}

fn plain(error: ConnectError) -> CallFailure {
    CallFailure {
        error,
        context: None,
    }
}

fn wrong_kind(request: &TaskRequest, kind: &str) -> CallFailure {
    plain(ConnectError::new(format!(
        "a {kind} task cannot handle {request:?}"
    )))
}

impl<T: SourceTask> DynTask for SourceTaskBox<T> {
    fn poll(&mut self) -> Result<Vec<u8>, CallFailure> {
        let mut batch = RecordBatchWriter::with_capacity(self.last_batch_bytes);
        if T::WANTS_COMMIT_RECORD {
            let records = self.task.poll().map_err(plain)?;
            for (i, r) in records.into_iter().enumerate() {
                batch.push_source(&r).map_err(plain)?;
                self.retained.push_back((self.next_seq + i as u64, r));
            }
        } else {
            self.task.poll_batch(&mut batch).map_err(plain)?;
        }
        let first_seq = self.next_seq;
        self.next_seq += batch.len() as u64;
        let bytes = batch.finish(first_seq, T::WANTS_COMMIT_RECORD);
        self.last_batch_bytes = bytes.len();
        Ok(bytes)
    }

    fn handle(&mut self, request: TaskRequest) -> Result<TaskResponse, CallFailure> {
        match request {
            TaskRequest::StartSource { props, offsets } => self
                .task
                .start(&props, &SourceTaskContext::new(offsets))
                .map(|()| TaskResponse::Done)
                .map_err(plain),
            TaskRequest::Commit(committed) => self
                .task
                .commit_offsets(&committed)
                .map(|()| TaskResponse::Done)
                .map_err(plain),
            TaskRequest::CommitRecords(acked) => {
                for (seq, metadata) in acked {
                    if let Some(pos) = self.retained.iter().position(|(s, _)| *s == seq) {
                        if let Some((_, record)) = self.retained.remove(pos) {
                            self.task
                                .commit_record(&record, metadata.as_ref())
                                .map_err(plain)?;
                        }
                    }
                }
                Ok(TaskResponse::Done)
            }
            TaskRequest::Stop => self.task.stop().map(|()| TaskResponse::Done).map_err(plain),
            other => Err(wrong_kind(&other, "source")),
        }
    }
}

impl<T: SinkTask> SinkTaskBox<T> {
    /// Hands the task's requests to the worker and clears them.
    fn take_context(&mut self) -> SinkTaskContext {
        let snapshot = self.context.clone();
        self.context.offset_resets.clear();
        self.context.commit_requested = false;
        self.context.timeout_ms = None;
        self.context.errant_records.clear();
        snapshot
    }

    fn finish(&mut self, result: ConnectResult<()>) -> Result<TaskResponse, CallFailure> {
        let context = self.take_context();
        match result {
            Ok(()) => Ok(TaskResponse::SinkContext(context)),
            Err(error) => Err(CallFailure {
                error,
                context: Some(Box::new(context)),
            }),
        }
    }
}

impl<T: SinkTask> DynTask for SinkTaskBox<T> {
    fn handle(&mut self, request: TaskRequest) -> Result<TaskResponse, CallFailure> {
        match request {
            TaskRequest::StartSink { props } => {
                let result = self.task.start(&props, &mut self.context);
                self.finish(result)
            }
            TaskRequest::Open(partitions) => {
                for tp in &partitions {
                    if !self.context.assignment.contains(tp) {
                        self.context.assignment.push(tp.clone());
                    }
                }
                let result = self.task.open(&partitions, &mut self.context);
                self.finish(result)
            }
            TaskRequest::Close(partitions) => {
                self.context
                    .assignment
                    .retain(|tp| !partitions.contains(tp));
                let result = self.task.close(&partitions);
                self.finish(result)
            }
            TaskRequest::Put(bytes) => {
                let batch = RecordBatch::parse(bytes.0).map_err(|e| plain(ConnectError::new(e)))?;
                let result = self.task.put_batch(&batch, &mut self.context);
                self.finish(result)
            }
            TaskRequest::PreCommit(offsets) => self
                .task
                .pre_commit(&offsets)
                .map(TaskResponse::Committable)
                .map_err(plain),
            TaskRequest::Stop => self.task.stop().map(|()| TaskResponse::Done).map_err(plain),
            other => Err(wrong_kind(&other, "sink")),
        }
    }
}

/// How to make one non-connector class.
pub struct ComponentFactory {
    pub class: &'static str,
    pub kind: ComponentKind,
    pub version: fn() -> String,
    pub config_def: fn() -> ConfigDef,
    pub new: fn(&ComponentNew) -> ConnectResult<Box<dyn DynComponent>>,
}

/// A component instance behind the boundary.
pub trait DynComponent: Send {
    fn handle(&mut self, request: ComponentRequest) -> ConnectResult<ComponentResponse>;
}

fn config_error(e: impl std::fmt::Display) -> ConnectError {
    ConnectError::new(e.to_string())
}

fn unexpected(kind: &str, request: &ComponentRequest) -> ConnectError {
    ConnectError::new(format!("a {kind} cannot handle {request:?}"))
}

struct ConverterBox<T>(T);
struct HeaderConverterBox<T>(T);
struct TransformationBox<T>(T);
struct PredicateBox<T>(T);
struct ProviderBox<T>(T);

impl<T: ConverterClass> DynComponent for ConverterBox<T> {
    fn handle(&mut self, request: ComponentRequest) -> ConnectResult<ComponentResponse> {
        match request {
            ComponentRequest::FromConnect(items) => {
                let batch: Vec<ConnectData<'_>> = items
                    .iter()
                    .map(|d| ConnectData {
                        topic: &d.topic,
                        schema: d.schema.as_ref(),
                        value: (&d.value).into(),
                    })
                    .collect();
                let out = self.0.from_connect_batch(&batch);
                Ok(ComponentResponse::Bytes(
                    out.into_iter()
                        .map(|r| r.map(|b| b.map(|b| component::ByteBuf(b.into_owned()))))
                        .collect(),
                ))
            }
            ComponentRequest::ToConnect(items) => {
                let batch: Vec<RawData<'_>> = items
                    .iter()
                    .map(|d| RawData {
                        topic: &d.topic,
                        bytes: d.bytes.as_ref().map(|b| b.0.as_slice()),
                    })
                    .collect();
                let out = self.0.to_connect_batch(&batch);
                Ok(ComponentResponse::Connected(
                    out.into_iter()
                        .map(|r| {
                            r.map(|(schema, value)| component::ConnectedOwned { schema, value })
                        })
                        .collect(),
                ))
            }
            other => Err(unexpected("converter", &other)),
        }
    }
}

impl<T: HeaderConverterClass> DynComponent for HeaderConverterBox<T> {
    fn handle(&mut self, request: ComponentRequest) -> ConnectResult<ComponentResponse> {
        match request {
            ComponentRequest::FromConnectHeader(items) => Ok(ComponentResponse::Bytes(
                items
                    .iter()
                    .map(|h| {
                        self.0
                            .from_connect_header(&h.topic, &h.key, h.schema.as_ref(), &h.value)
                            .map(|b| b.map(component::ByteBuf))
                    })
                    .collect(),
            )),
            ComponentRequest::ToConnectHeader(items) => Ok(ComponentResponse::Connected(
                items
                    .iter()
                    .map(|h| {
                        self.0
                            .to_connect_header(
                                &h.topic,
                                &h.key,
                                h.bytes.as_ref().map(|b| b.0.as_slice()),
                            )
                            .map(|(schema, value)| component::ConnectedOwned { schema, value })
                    })
                    .collect(),
            )),
            other => Err(unexpected("header converter", &other)),
        }
    }
}

impl<T: TransformationClass> DynComponent for TransformationBox<T> {
    fn handle(&mut self, request: ComponentRequest) -> ConnectResult<ComponentResponse> {
        match request {
            ComponentRequest::Apply(records) => Ok(ComponentResponse::Applied(
                records
                    .into_iter()
                    .map(|mut r| {
                        let outcome = self.0.apply(&mut r as &mut dyn ConnectRecord)?;
                        Ok((outcome, r))
                    })
                    .collect(),
            )),
            other => Err(unexpected("transformation", &other)),
        }
    }
}

impl<T: PredicateClass> DynComponent for PredicateBox<T> {
    fn handle(&mut self, request: ComponentRequest) -> ConnectResult<ComponentResponse> {
        match request {
            ComponentRequest::Test(records) => Ok(ComponentResponse::Tested(
                records.iter().map(|r| self.0.test(r)).collect(),
            )),
            other => Err(unexpected("predicate", &other)),
        }
    }
}

impl<T: ConfigProviderClass> DynComponent for ProviderBox<T> {
    fn handle(&mut self, request: ComponentRequest) -> ConnectResult<ComponentResponse> {
        match request {
            ComponentRequest::Get { path, keys } => self
                .0
                .get(&path, &keys)
                .map(ComponentResponse::Values)
                .map_err(ConnectError::new),
            other => Err(unexpected("config provider", &other)),
        }
    }
}

impl ComponentFactory {
    pub const fn converter<T: ConverterClass>() -> ComponentFactory {
        ComponentFactory {
            class: T::CLASS,
            kind: ComponentKind::Converter,
            version: T::version,
            config_def: T::config_def,
            new: |n| {
                let c = T::configure(&n.config, n.is_key).map_err(config_error)?;
                Ok(Box::new(ConverterBox(c)))
            },
        }
    }

    pub const fn header_converter<T: HeaderConverterClass>() -> ComponentFactory {
        ComponentFactory {
            class: T::CLASS,
            kind: ComponentKind::HeaderConverter,
            version: T::version,
            config_def: T::config_def,
            new: |n| {
                let c = T::configure(&n.config).map_err(config_error)?;
                Ok(Box::new(HeaderConverterBox(c)))
            },
        }
    }

    pub const fn transformation<T: TransformationClass>() -> ComponentFactory {
        ComponentFactory {
            class: T::CLASS,
            kind: ComponentKind::Transformation,
            version: T::version,
            config_def: T::config_def,
            new: |n| {
                let t = T::configure(&n.config).map_err(config_error)?;
                Ok(Box::new(TransformationBox(t)))
            },
        }
    }

    pub const fn predicate<T: PredicateClass>() -> ComponentFactory {
        ComponentFactory {
            class: T::CLASS,
            kind: ComponentKind::Predicate,
            version: T::version,
            config_def: T::config_def,
            new: |n| {
                let p = T::configure(&n.config).map_err(config_error)?;
                Ok(Box::new(PredicateBox(p)))
            },
        }
    }

    pub const fn config_provider<T: ConfigProviderClass>() -> ComponentFactory {
        ComponentFactory {
            class: T::CLASS,
            kind: ComponentKind::ConfigProvider,
            version: T::version,
            config_def: T::config_def,
            new: |n| {
                let p = T::configure(&n.config).map_err(ConnectError::new)?;
                Ok(Box::new(ProviderBox(p)))
            },
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The exported C functions.

static FACTORIES: OnceLock<&'static [Factory]> = OnceLock::new();
static COMPONENTS: OnceLock<&'static [ComponentFactory]> = OnceLock::new();
static HOOK: Once = Once::new();

thread_local! {
    /// Location and backtrace of the last panic on this thread, set by our panic hook.
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

static TABLE: PluginTable = PluginTable {
    abi_version: ABI_VERSION,
    api_version_ptr: API_VERSION.as_ptr(),
    api_version_len: API_VERSION.len(),
    manifest,
    connector_new,
    connector_call,
    connector_free,
    task_new,
    task_call,
    task_free,
    free_buf,
    component_new,
    component_call,
    component_free,
    connector_initialize,
};

/// Registers the plugin's classes and returns its table (called by the export macro).
pub fn table(
    factories: &'static [Factory],
    components: &'static [ComponentFactory],
) -> *const PluginTable {
    let _ = FACTORIES.set(factories);
    let _ = COMPONENTS.set(components);
    HOOK.call_once(|| {
        // Record where a panic happened instead of printing it: the host reports it as the
        // task's trace.
        std::panic::set_hook(Box::new(|info| {
            let location = info
                .location()
                .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
                .unwrap_or_else(|| "unknown location".to_owned());
            let backtrace = std::backtrace::Backtrace::force_capture();
            LAST_PANIC.with(|p| {
                *p.borrow_mut() = Some(format!("at {location}\n{backtrace}"));
            });
        }));
    });
    &TABLE
}

fn factories() -> &'static [Factory] {
    FACTORIES.get().copied().unwrap_or(&[])
}

fn respond(status: i32, bytes: Vec<u8>) -> FfiResult {
    FfiResult {
        status,
        data: FfiBuf::from_vec(bytes),
    }
}

fn text(status: i32, message: impl Into<String>) -> FfiResult {
    respond(status, message.into().into_bytes())
}

/// Runs `f`, turning a panic into a [`STATUS_PANIC`] result.
fn guarded(f: impl FnOnce() -> FfiResult) -> FfiResult {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic with a non-string payload".to_owned());
            let detail = LAST_PANIC
                .with(|p| p.borrow_mut().take())
                .unwrap_or_default();
            text(STATUS_PANIC, format!("panicked: {message}\n{detail}"))
        }
    }
}

fn encoded<T: Serialize>(value: &T) -> FfiResult {
    match encode(value) {
        Ok(bytes) => respond(STATUS_OK, bytes),
        Err(e) => text(STATUS_BAD_REQUEST, e),
    }
}

fn failure(f: &CallFailure) -> FfiResult {
    match encode(f) {
        Ok(bytes) => respond(STATUS_ERROR, bytes),
        Err(e) => text(STATUS_BAD_REQUEST, e),
    }
}

extern "C" fn manifest() -> FfiResult {
    guarded(|| {
        let connectors = factories()
            .iter()
            .map(|f| ConnectorManifest {
                class: f.class.to_owned(),
                kind: f.kind,
                version: (f.version)(),
                config_def: (f.config_def)(),
            })
            .collect();
        let components = COMPONENTS
            .get()
            .copied()
            .unwrap_or(&[])
            .iter()
            .map(|f| ComponentManifest {
                class: f.class.to_owned(),
                kind: f.kind,
                version: (f.version)(),
                config_def: (f.config_def)(),
            })
            .collect();
        encoded(&PluginManifest {
            api_version: API_VERSION.to_owned(),
            connectors,
            components,
        })
    })
}

fn find(class: FfiSlice) -> Result<&'static Factory, FfiResult> {
    // Safety: the host passes a slice that lives for the call.
    let bytes = unsafe { class.as_bytes() };
    let name = std::str::from_utf8(bytes)
        .map_err(|_| text(STATUS_BAD_REQUEST, "class name is not UTF-8"))?;
    factories().iter().find(|f| f.class == name).ok_or_else(|| {
        text(
            STATUS_BAD_REQUEST,
            format!("no class {name} in this plugin"),
        )
    })
}

extern "C" fn connector_new(class: FfiSlice, out: *mut *mut c_void) -> FfiResult {
    guarded(|| {
        let factory = match find(class) {
            Ok(f) => f,
            Err(r) => return r,
        };
        let handle: Box<Box<dyn DynConnector>> = Box::new((factory.new_connector)());
        // Safety: `out` is a valid pointer supplied by the host.
        unsafe { *out = Box::into_raw(handle).cast() };
        respond(STATUS_OK, Vec::new())
    })
}

extern "C" fn connector_call(handle: *mut c_void, request: FfiSlice) -> FfiResult {
    guarded(|| {
        // Safety: handle came from connector_new and is used by one thread at a time.
        let connector = unsafe { &mut *handle.cast::<Box<dyn DynConnector>>() };
        let request: ConnectorRequest = match decode(unsafe { request.as_bytes() }) {
            Ok(r) => r,
            Err(e) => return text(STATUS_BAD_REQUEST, e),
        };
        match connector.handle(request) {
            Ok(response) => encoded(&response),
            Err(error) => failure(&CallFailure {
                error,
                context: None,
            }),
        }
    })
}

extern "C" fn connector_free(handle: *mut c_void) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        if !handle.is_null() {
            // Safety: handle came from connector_new and is freed once.
            drop(unsafe { Box::from_raw(handle.cast::<Box<dyn DynConnector>>()) });
        }
    }));
}

/// The worker's context callbacks behind a plugin's [`ConnectorContext`]: shared by every
/// clone, and handed back to the worker once, when the last clone is dropped.
struct HostLink(HostContext);

impl ContextTarget for HostLink {
    fn request_task_reconfiguration(&self) {
        (self.0.request_task_reconfiguration)(self.0.handle);
    }

    fn raise_error(&self, message: &str) {
        (self.0.raise_error)(self.0.handle, FfiSlice::new(message.as_bytes()));
    }
}

impl Drop for HostLink {
    fn drop(&mut self) {
        (self.0.release)(self.0.handle);
    }
}

extern "C" fn connector_initialize(handle: *mut c_void, context: HostContext) -> FfiResult {
    // Owned from here on: released when the last clone goes, also if the connector panics.
    let context = ConnectorContext::new(Arc::new(HostLink(context)));
    guarded(move || {
        if handle.is_null() {
            return text(STATUS_BAD_REQUEST, "null connector handle");
        }
        // Safety: handle came from connector_new and is used by one thread at a time.
        let connector = unsafe { &mut *handle.cast::<Box<dyn DynConnector>>() };
        connector.initialize(context);
        respond(STATUS_OK, Vec::new())
    })
}

extern "C" fn task_new(class: FfiSlice, out: *mut *mut c_void) -> FfiResult {
    guarded(|| {
        let factory = match find(class) {
            Ok(f) => f,
            Err(r) => return r,
        };
        let handle: Box<Box<dyn DynTask>> = Box::new((factory.new_task)());
        // Safety: `out` is a valid pointer supplied by the host.
        unsafe { *out = Box::into_raw(handle).cast() };
        respond(STATUS_OK, Vec::new())
    })
}

extern "C" fn task_call(handle: *mut c_void, request: FfiSlice) -> FfiResult {
    guarded(|| {
        // Safety: handle came from task_new and is used by one thread at a time.
        let task = unsafe { &mut *handle.cast::<Box<dyn DynTask>>() };
        let request: TaskRequest = match decode(unsafe { request.as_bytes() }) {
            Ok(r) => r,
            Err(e) => return text(STATUS_BAD_REQUEST, e),
        };
        let result = match request {
            TaskRequest::Poll => task.poll().map(|batch| respond(STATUS_OK, batch)),
            request => task.handle(request).map(|response| encoded(&response)),
        };
        result.unwrap_or_else(|f| failure(&f))
    })
}

extern "C" fn task_free(handle: *mut c_void) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        if !handle.is_null() {
            // Safety: handle came from task_new and is freed once.
            drop(unsafe { Box::from_raw(handle.cast::<Box<dyn DynTask>>()) });
        }
    }));
}

extern "C" fn free_buf(buf: FfiBuf) {
    if !buf.ptr.is_null() {
        // Safety: the buffer was made by FfiBuf::from_vec in this library.
        drop(unsafe { Vec::from_raw_parts(buf.ptr, buf.len, buf.cap) });
    }
}

extern "C" fn component_new(request: FfiSlice, out: *mut *mut c_void) -> FfiResult {
    guarded(|| {
        // Safety: the host passes a slice that lives for the call.
        let request: ComponentNew = match decode(unsafe { request.as_bytes() }) {
            Ok(r) => r,
            Err(e) => return text(STATUS_BAD_REQUEST, e),
        };
        let Some(factory) = COMPONENTS
            .get()
            .copied()
            .unwrap_or(&[])
            .iter()
            .find(|f| f.class == request.class && f.kind == request.kind)
        else {
            return text(
                STATUS_BAD_REQUEST,
                format!(
                    "no {:?} class {} in this plugin",
                    request.kind, request.class
                ),
            );
        };
        match (factory.new)(&request) {
            Ok(component) => {
                let handle: Box<Box<dyn DynComponent>> = Box::new(component);
                // Safety: `out` is a valid pointer supplied by the host.
                unsafe { *out = Box::into_raw(handle).cast() };
                respond(STATUS_OK, Vec::new())
            }
            Err(error) => failure(&CallFailure {
                error,
                context: None,
            }),
        }
    })
}

extern "C" fn component_call(handle: *mut c_void, request: FfiSlice) -> FfiResult {
    guarded(|| {
        // Safety: handle came from component_new and is used by one thread at a time.
        let component = unsafe { &mut *handle.cast::<Box<dyn DynComponent>>() };
        let request: ComponentRequest = match decode(unsafe { request.as_bytes() }) {
            Ok(r) => r,
            Err(e) => return text(STATUS_BAD_REQUEST, e),
        };
        match component.handle(request) {
            Ok(response) => encoded(&response),
            Err(error) => failure(&CallFailure {
                error,
                context: None,
            }),
        }
    })
}

extern "C" fn component_free(handle: *mut c_void) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        if !handle.is_null() {
            // Safety: handle came from component_new and is freed once.
            drop(unsafe { Box::from_raw(handle.cast::<Box<dyn DynComponent>>()) });
        }
    }));
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    use super::*;
    use crate::record::Props;

    /// The worker's side, counting what the plugin did with its context.
    #[derive(Default)]
    struct FakeHost {
        requests: AtomicUsize,
        errors: Mutex<Vec<String>>,
        released: AtomicUsize,
    }

    fn fake<'a>(handle: *const c_void) -> &'a FakeHost {
        // Safety: the tests pass a FakeHost that outlives the plugin calls.
        unsafe { &*handle.cast::<FakeHost>() }
    }

    extern "C" fn fake_request(handle: *const c_void) {
        fake(handle).requests.fetch_add(1, Ordering::SeqCst);
    }

    extern "C" fn fake_raise(handle: *const c_void, message: FfiSlice) {
        // Safety: the plugin passes a slice that lives for the call.
        let text = String::from_utf8_lossy(unsafe { message.as_bytes() }).into_owned();
        fake(handle).errors.lock().unwrap().push(text);
    }

    extern "C" fn fake_release(handle: *const c_void) {
        fake(handle).released.fetch_add(1, Ordering::SeqCst);
    }

    fn host(fake: &FakeHost) -> HostContext {
        HostContext {
            handle: (fake as *const FakeHost).cast(),
            request_task_reconfiguration: fake_request,
            raise_error: fake_raise,
            release: fake_release,
        }
    }

    /// Asks for a reconfiguration when initialized; its started thread raises an error and
    /// keeps its clone of the context until the connector stops.
    #[derive(Default)]
    struct Watching {
        context: ConnectorContext,
        thread: Option<std::thread::JoinHandle<()>>,
    }

    impl Connector for Watching {
        const CLASS: &'static str = "test.Watching";
        fn version() -> String {
            "1".into()
        }
        fn config_def() -> ConfigDef {
            ConfigDef::new()
        }
        fn initialize(&mut self, context: ConnectorContext) {
            context.request_task_reconfiguration();
            self.context = context;
        }
        fn start(&mut self, _props: &Props) -> ConnectResult<()> {
            let context = self.context.clone();
            self.thread = Some(std::thread::spawn(move || {
                context.request_task_reconfiguration();
                context.raise_error("from a thread");
            }));
            Ok(())
        }
        fn task_configs(&mut self, _max_tasks: usize) -> ConnectResult<Vec<Props>> {
            Ok(Vec::new())
        }
        fn stop(&mut self) -> ConnectResult<()> {
            if let Some(thread) = self.thread.take() {
                let _ = thread.join();
            }
            Ok(())
        }
    }

    impl SourceConnector for Watching {
        type Task = Idle;
    }

    #[derive(Default)]
    struct Idle;

    impl SourceTask for Idle {
        fn start(&mut self, _props: &Props, _context: &SourceTaskContext) -> ConnectResult<()> {
            Ok(())
        }
        fn poll(&mut self) -> ConnectResult<Vec<SourceRecord>> {
            Ok(Vec::new())
        }
        fn stop(&mut self) -> ConnectResult<()> {
            Ok(())
        }
    }

    /// Panics in `initialize`.
    #[derive(Default)]
    struct Panicking;

    impl Connector for Panicking {
        const CLASS: &'static str = "test.Panicking";
        fn version() -> String {
            "1".into()
        }
        fn config_def() -> ConfigDef {
            ConfigDef::new()
        }
        fn initialize(&mut self, _context: ConnectorContext) {
            panic!("initialize refused");
        }
        fn start(&mut self, _props: &Props) -> ConnectResult<()> {
            Ok(())
        }
        fn task_configs(&mut self, _max_tasks: usize) -> ConnectResult<Vec<Props>> {
            Ok(Vec::new())
        }
        fn stop(&mut self) -> ConnectResult<()> {
            Ok(())
        }
    }

    impl SourceConnector for Panicking {
        type Task = Idle;
    }

    fn handle_of(connector: Box<dyn DynConnector>) -> *mut c_void {
        Box::into_raw(Box::new(connector)).cast()
    }

    fn call_status(handle: *mut c_void, request: &ConnectorRequest) -> i32 {
        let bytes = encode(request).unwrap();
        let result = connector_call(handle, FfiSlice::new(&bytes));
        let status = result.status;
        free_buf(result.data);
        status
    }

    #[test]
    fn a_connector_keeps_its_context_in_a_thread_and_releases_it_once() {
        let host_side = FakeHost::default();
        let handle = handle_of(new_source_connector::<Watching>());
        let result = connector_initialize(handle, host(&host_side));
        assert_eq!(result.status, STATUS_OK);
        free_buf(result.data);
        assert_eq!(host_side.requests.load(Ordering::SeqCst), 1);

        assert_eq!(
            call_status(handle, &ConnectorRequest::Start(Props::new())),
            STATUS_OK
        );
        assert_eq!(call_status(handle, &ConnectorRequest::Stop), STATUS_OK);
        assert_eq!(host_side.requests.load(Ordering::SeqCst), 2);
        assert_eq!(*host_side.errors.lock().unwrap(), ["from a thread"]);
        // The connector still holds its context: not released until it is freed.
        assert_eq!(host_side.released.load(Ordering::SeqCst), 0);
        connector_free(handle);
        assert_eq!(host_side.released.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_panicking_initialize_still_releases_the_context() {
        let host_side = FakeHost::default();
        let handle = handle_of(new_source_connector::<Panicking>());
        let result = connector_initialize(handle, host(&host_side));
        assert_eq!(result.status, STATUS_PANIC);
        free_buf(result.data);
        assert_eq!(host_side.released.load(Ordering::SeqCst), 1);
        connector_free(handle);
        assert_eq!(host_side.released.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_null_handle_is_refused_and_the_context_released() {
        let host_side = FakeHost::default();
        let result = connector_initialize(std::ptr::null_mut(), host(&host_side));
        assert_eq!(result.status, STATUS_BAD_REQUEST);
        free_buf(result.data);
        assert_eq!(host_side.released.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_context_the_worker_never_gave_ignores_calls() {
        let context = ConnectorContext::default();
        context.request_task_reconfiguration();
        context.raise_error("nobody listens");
        assert_eq!(
            format!("{context:?}"),
            "ConnectorContext { attached: false }"
        );
    }
}
