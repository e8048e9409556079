//! One loaded plugin library and safe wrappers around its C table.

use std::ffi::c_void;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{de::DeserializeOwned, Serialize};
use tributary_connector_api::abi::batch::RecordBatch;
use tributary_connector_api::abi::{
    self, CallFailure, ComponentManifest, ComponentNew, ComponentResponse, ConnectorManifest,
    ConnectorRequest, ConnectorResponse, FfiResult, FfiSlice, HostContext, PluginManifest,
    PluginTable, TaskRequest, TaskResponse,
};
use tributary_connector_api::ConnectError;

/// Loading a plugin failed.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot load plugin {path}: {message}")]
    Open { path: PathBuf, message: String },
    #[error(
        "plugin {path} was built for plugin ABI version {found}, but this worker speaks version {expected}; rebuild the plugin against connector-api {api}"
    )]
    AbiMismatch {
        path: PathBuf,
        found: u32,
        expected: u32,
        api: &'static str,
    },
    #[error("plugin {path} did not describe itself: {message}")]
    Manifest { path: PathBuf, message: String },
    /// An ordinary shared library (no Tributary entry point): `plugin.path` may hold those
    /// next to plugins, as a Java plugin directory holds dependency jars.
    #[error("{path} is not a Tributary plugin (no entry symbol tributary_plugin_entry)")]
    NotAPlugin { path: PathBuf },
}

/// A call across the boundary failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CallError {
    /// The connector or task returned an error.
    #[error("{}", .0.error.message)]
    Failed(CallFailure),
    /// The plugin panicked; the text has the message, location and backtrace.
    #[error("{0}")]
    Panicked(String),
    /// The two sides did not understand each other.
    #[error("plugin protocol error: {0}")]
    Protocol(String),
}

impl CallError {
    /// The error as the connector error it stands for.
    pub fn into_connect_error(self) -> ConnectError {
        match self {
            CallError::Failed(f) => f.error,
            other => ConnectError::new(other.to_string()),
        }
    }

    pub fn is_retriable(&self) -> bool {
        matches!(self, CallError::Failed(f) if f.error.is_retriable())
    }
}

/// A loaded plugin library. Never unloaded: handles may outlive a directory change, and
/// unloading Rust code with thread-locals is unsound.
pub struct Library {
    path: PathBuf,
    table: &'static PluginTable,
    manifest: PluginManifest,
    _lib: libloading::Library,
}

type Entry = unsafe extern "C" fn() -> *const PluginTable;

impl Library {
    /// Opens a plugin, checks its ABI version and reads its manifest.
    pub fn open(path: &Path) -> Result<Arc<Library>, LoadError> {
        let open_err = |message: String| LoadError::Open {
            path: path.to_owned(),
            message,
        };
        // Safety: loading a library runs its initialisers; plugin.path is trusted like Java's.
        let lib = unsafe { libloading::Library::new(path) }.map_err(|e| open_err(e.to_string()))?;
        // Safety: the symbol's type is fixed by the ABI.
        let entry: libloading::Symbol<Entry> =
            unsafe { lib.get(abi::ENTRY_SYMBOL) }.map_err(|_| LoadError::NotAPlugin {
                path: path.to_owned(),
            })?;
        // Safety: the entry returns a pointer to a static table.
        let table_ptr = unsafe { entry() };
        if table_ptr.is_null() {
            return Err(open_err("the entry point returned no table".into()));
        }
        // Only the first field is read before the version check: its layout is stable.
        // Safety: every ABI version starts the table with a u32 version.
        let found = unsafe { *(table_ptr as *const u32) };
        if found != abi::ABI_VERSION {
            return Err(LoadError::AbiMismatch {
                path: path.to_owned(),
                found,
                expected: abi::ABI_VERSION,
                api: abi::API_VERSION,
            });
        }
        // Safety: same ABI version, so the layout matches; the table is static in the library,
        // which we never unload.
        let table: &'static PluginTable = unsafe { &*table_ptr };
        let manifest: PluginManifest =
            decode_result(table, (table.manifest)()).map_err(|e| LoadError::Manifest {
                path: path.to_owned(),
                message: e.to_string(),
            })?;
        Ok(Arc::new(Library {
            path: path.to_owned(),
            table,
            manifest,
            _lib: lib,
        }))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn manifest(&self) -> &PluginManifest {
        &self.manifest
    }

    fn new_handle(
        self: &Arc<Self>,
        class: &str,
        make: extern "C" fn(FfiSlice, *mut *mut c_void) -> FfiResult,
    ) -> Result<*mut c_void, CallError> {
        let mut handle: *mut c_void = std::ptr::null_mut();
        let result = make(FfiSlice::new(class.as_bytes()), &mut handle);
        take(self.table, result, |_| Ok(()))?;
        if handle.is_null() {
            return Err(CallError::Protocol(
                "the plugin returned a null handle".into(),
            ));
        }
        Ok(handle)
    }

    /// A new connector instance of `class`.
    pub fn new_connector(self: &Arc<Self>, class: &str) -> Result<RemoteConnector, CallError> {
        let handle = self.new_handle(class, self.table.connector_new)?;
        Ok(RemoteConnector {
            lib: self.clone(),
            handle,
        })
    }

    /// A new configured component (converter, transformation, …).
    pub fn new_component(
        self: &Arc<Self>,
        new: &ComponentNew,
    ) -> Result<RemoteComponent, CallError> {
        let bytes = abi::encode(new).map_err(CallError::Protocol)?;
        let mut handle: *mut c_void = std::ptr::null_mut();
        let result = (self.table.component_new)(FfiSlice::new(&bytes), &mut handle);
        take(self.table, result, |_| Ok(()))?;
        if handle.is_null() {
            return Err(CallError::Protocol(
                "the plugin returned a null handle".into(),
            ));
        }
        Ok(RemoteComponent {
            lib: self.clone(),
            handle: std::sync::Mutex::new(Handle(handle)),
        })
    }

    /// A new task instance for connector `class`.
    pub fn new_task(self: &Arc<Self>, class: &str) -> Result<RemoteTask, CallError> {
        let handle = self.new_handle(class, self.table.task_new)?;
        Ok(RemoteTask {
            lib: self.clone(),
            handle,
        })
    }
}

/// Reads a result with `read` (its bytes for [`abi::STATUS_OK`]), then frees the plugin's
/// buffer: the bytes are decoded in place, never copied.
fn take<T>(
    table: &PluginTable,
    result: FfiResult,
    read: impl FnOnce(&[u8]) -> Result<T, CallError>,
) -> Result<T, CallError> {
    let out = {
        // Safety: the buffer is live until we hand it back below, after the last use.
        let bytes = unsafe { result.data.as_bytes() };
        match result.status {
            abi::STATUS_OK => read(bytes),
            abi::STATUS_ERROR => match abi::decode::<CallFailure>(bytes) {
                Ok(f) => Err(CallError::Failed(f)),
                Err(e) => Err(CallError::Protocol(e)),
            },
            abi::STATUS_PANIC => Err(CallError::Panicked(
                String::from_utf8_lossy(bytes).into_owned(),
            )),
            _ => Err(CallError::Protocol(
                String::from_utf8_lossy(bytes).into_owned(),
            )),
        }
    };
    (table.free_buf)(result.data);
    out
}

fn decode_result<T: DeserializeOwned>(
    table: &PluginTable,
    result: FfiResult,
) -> Result<T, CallError> {
    take(table, result, |bytes| {
        abi::decode(bytes).map_err(CallError::Protocol)
    })
}

fn call<Req: Serialize, Resp: DeserializeOwned>(
    table: &PluginTable,
    f: extern "C" fn(*mut c_void, FfiSlice) -> FfiResult,
    handle: *mut c_void,
    request: &Req,
) -> Result<Resp, CallError> {
    let bytes = abi::encode(request).map_err(CallError::Protocol)?;
    decode_result(table, f(handle, FfiSlice::new(&bytes)))
}

/// A connector instance living in a plugin. Used by one thread at a time.
pub struct RemoteConnector {
    lib: Arc<Library>,
    handle: *mut c_void,
}

// The handle is only used through &mut self, one thread at a time.
unsafe impl Send for RemoteConnector {}

impl RemoteConnector {
    /// Hands the instance its context (before `Start`). The plugin owns `context` from here
    /// on and releases it when done, whatever this returns.
    pub fn initialize(&mut self, context: HostContext) -> Result<(), CallError> {
        let result = (self.lib.table.connector_initialize)(self.handle, context);
        take(self.lib.table, result, |_| Ok(()))
    }

    pub fn call(&mut self, request: &ConnectorRequest) -> Result<ConnectorResponse, CallError> {
        call(
            self.lib.table,
            self.lib.table.connector_call,
            self.handle,
            request,
        )
    }
}

impl Drop for RemoteConnector {
    fn drop(&mut self) {
        (self.lib.table.connector_free)(self.handle);
    }
}

/// A task instance living in a plugin. Used by one thread at a time.
pub struct RemoteTask {
    lib: Arc<Library>,
    handle: *mut c_void,
}

// The handle is only used through &mut self, one thread at a time.
unsafe impl Send for RemoteTask {}

impl RemoteTask {
    pub fn call(&mut self, request: &TaskRequest) -> Result<TaskResponse, CallError> {
        call(
            self.lib.table,
            self.lib.table.task_call,
            self.handle,
            request,
        )
    }

    /// A source task's next batch: the plugin's buffer is copied once and read in place.
    pub fn poll(&mut self) -> Result<RecordBatch, CallError> {
        let request = abi::encode(&TaskRequest::Poll).map_err(CallError::Protocol)?;
        let result = (self.lib.table.task_call)(self.handle, FfiSlice::new(&request));
        take(self.lib.table, result, |bytes| {
            RecordBatch::parse(bytes.to_vec()).map_err(CallError::Protocol)
        })
    }
}

impl Drop for RemoteTask {
    fn drop(&mut self) {
        (self.lib.table.task_free)(self.handle);
    }
}

/// A connector class and the library that provides it.
#[derive(Clone)]
pub struct ConnectorPlugin {
    pub library: Arc<Library>,
    pub manifest: ConnectorManifest,
}

impl ConnectorPlugin {
    pub fn class(&self) -> &str {
        &self.manifest.class
    }

    pub fn new_connector(&self) -> Result<RemoteConnector, CallError> {
        self.library.new_connector(&self.manifest.class)
    }

    pub fn new_task(&self) -> Result<RemoteTask, CallError> {
        self.library.new_task(&self.manifest.class)
    }
}

struct Handle(*mut c_void);

// The handle is only used under the component's mutex, one call at a time.
unsafe impl Send for Handle {}

/// A converter, header converter, transformation, predicate or config provider living in a
/// plugin. Calls are serialised by a mutex (uncontended: each task owns its instances), so it
/// may be shared like the built-in converters (`Send + Sync`).
pub struct RemoteComponent {
    lib: Arc<Library>,
    handle: std::sync::Mutex<Handle>,
}

impl RemoteComponent {
    /// One request (usually a whole batch: [`abi::FromConnectRef`], [`abi::ToConnectRef`],
    /// [`abi::ComponentRequest`]) → one response.
    pub fn call<Req: Serialize>(&self, request: &Req) -> Result<ComponentResponse, CallError> {
        let guard = self.handle.lock().unwrap_or_else(|p| p.into_inner());
        call(
            self.lib.table,
            self.lib.table.component_call,
            guard.0,
            request,
        )
    }
}

impl Drop for RemoteComponent {
    fn drop(&mut self) {
        let handle = self.handle.get_mut().unwrap_or_else(|p| p.into_inner());
        (self.lib.table.component_free)(handle.0);
    }
}

/// A non-connector class and the library that provides it.
#[derive(Clone)]
pub struct ComponentPlugin {
    pub library: Arc<Library>,
    pub manifest: ComponentManifest,
}

impl ComponentPlugin {
    pub fn class(&self) -> &str {
        &self.manifest.class
    }

    /// A configured instance (`is_key` matters to converters only).
    pub fn instantiate(
        &self,
        config: &tributary_connector_api::Props,
        is_key: bool,
    ) -> Result<RemoteComponent, CallError> {
        self.library.new_component(&ComponentNew {
            kind: self.manifest.kind,
            class: self.manifest.class.clone(),
            config: config.clone(),
            is_key,
        })
    }
}
