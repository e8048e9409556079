//! The plugin loader: shared libraries from `plugin.path`, loaded with libloading.

pub mod components;
pub mod library;
pub mod registry;
pub mod watcher;

pub use library::{
    CallError, ComponentPlugin, ConnectorPlugin, Library, LoadError, RemoteComponent,
    RemoteConnector, RemoteTask,
};
pub use registry::{PluginRegistry, ResolveError};
