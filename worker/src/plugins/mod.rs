//! The plugin loader: shared libraries from `plugin.path`, loaded with libloading.

pub mod library;
pub mod registry;
pub mod watcher;

pub use library::{CallError, ConnectorPlugin, Library, LoadError, RemoteConnector, RemoteTask};
pub use registry::{PluginRegistry, ResolveError};
