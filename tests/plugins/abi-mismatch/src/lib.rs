//! Test fixture: a plugin built for a different (future) ABI version. The worker must refuse
//! it with a clear message instead of calling into it.

use std::ffi::c_void;

use tributary_connector_api::abi::{FfiBuf, FfiResult, FfiSlice, HostContext, PluginTable};

extern "C" fn never() -> FfiResult {
    unreachable_result()
}

extern "C" fn never_new(_: FfiSlice, _: *mut *mut c_void) -> FfiResult {
    unreachable_result()
}

extern "C" fn never_call(_: *mut c_void, _: FfiSlice) -> FfiResult {
    unreachable_result()
}

extern "C" fn never_free(_: *mut c_void) {}

extern "C" fn never_free_buf(_: FfiBuf) {}

extern "C" fn never_initialize(_: *mut c_void, _: HostContext) -> FfiResult {
    unreachable_result()
}

fn unreachable_result() -> FfiResult {
    FfiResult {
        status: 3,
        data: FfiBuf {
            ptr: std::ptr::null_mut(),
            len: 0,
            cap: 0,
        },
    }
}

static VERSION: &str = "999.0.0";

static TABLE: PluginTable = PluginTable {
    abi_version: 999,
    api_version_ptr: VERSION.as_ptr(),
    api_version_len: VERSION.len(),
    manifest: never,
    connector_new: never_new,
    connector_call: never_call,
    connector_free: never_free,
    task_new: never_new,
    task_call: never_call,
    task_free: never_free,
    free_buf: never_free_buf,
    component_new: never_new,
    component_call: never_call,
    component_free: never_free,
    connector_initialize: never_initialize,
};

/// Exports a table whose ABI version this worker does not speak.
#[unsafe(no_mangle)]
pub extern "C" fn tributary_plugin_entry() -> *const PluginTable {
    &TABLE
}
