//! The set of loaded plugins, class-name resolution (connect-compat §4.2) and the
//! `plugin.path` scan.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use tributary_connector_api::abi::ConnectorKind;
use tributary_connector_api::alias::{self, Resolution};

use tributary_connector_api::ComponentKind;

use super::library::{ComponentPlugin, ConnectorPlugin, Library, LoadError};

/// Resolving a `connector.class` failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error(
        "Failed to find any class that implements Connector and which name matches {0}, available connectors are: {1}{2}"
    )]
    NotFound(String, String, String),
    #[error("More than one connector matches alias {0}. Please use full package and class name instead. Classes found: {1}")]
    Ambiguous(String, String),
}

/// A plugin file that could not be loaded, kept for diagnostics.
#[derive(Debug, Clone)]
pub struct LoadFailure {
    pub path: PathBuf,
    pub message: String,
}

#[derive(Default)]
struct Inner {
    /// Full class name → plugin.
    by_class: BTreeMap<String, ConnectorPlugin>,
    /// (kind, full class name) → plugin, for converters, transformations, predicates, …
    components: BTreeMap<(String, String), ComponentPlugin>,
    /// Library paths already loaded.
    loaded: HashMap<PathBuf, Arc<Library>>,
    failures: Vec<LoadFailure>,
}

/// Loaded connector plugins. Cheap to share; plugins found later by the watcher are added.
#[derive(Default)]
pub struct PluginRegistry {
    inner: RwLock<Inner>,
}

/// Whether a file name looks like a shared library on this platform.
pub fn is_library(path: &Path) -> bool {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    matches!(ext, "so" | "dylib" | "dll")
}

impl PluginRegistry {
    pub fn new() -> Arc<PluginRegistry> {
        Arc::new(PluginRegistry::default())
    }

    /// Loads every library in each `plugin.path` entry (a library file or a directory, searched
    /// one level deep). Failures are logged and kept; they never stop the worker.
    pub fn scan(&self, paths: &[PathBuf]) {
        for path in paths {
            if path.is_file() {
                self.load(path);
                continue;
            }
            let entries = match std::fs::read_dir(path) {
                Ok(entries) => entries,
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "cannot read plugin.path entry");
                    continue;
                }
            };
            let mut files: Vec<PathBuf> = Vec::new();
            for entry in entries.flatten() {
                let p = entry.path();
                if p.is_dir() {
                    if let Ok(sub) = std::fs::read_dir(&p) {
                        files.extend(sub.flatten().map(|e| e.path()));
                    }
                } else {
                    files.push(p);
                }
            }
            files.sort();
            for file in files.iter().filter(|f| is_library(f)) {
                self.load(file);
            }
        }
    }

    /// Loads one library unless it is already loaded. Returns the classes it added.
    pub fn load(&self, path: &Path) -> Vec<String> {
        let canonical = path.canonicalize().unwrap_or_else(|_| path.to_owned());
        if self.read().loaded.contains_key(&canonical) {
            return Vec::new();
        }
        match Library::open(&canonical) {
            Ok(lib) => self.add(canonical, lib),
            Err(e @ LoadError::NotAPlugin { .. }) => {
                tracing::debug!(error = %e, "skipped");
                Vec::new()
            }
            Err(e) => {
                self.fail(&canonical, &e);
                Vec::new()
            }
        }
    }

    fn fail(&self, path: &Path, error: &LoadError) {
        tracing::error!(path = %path.display(), error = %error, "plugin not loaded");
        let mut inner = self.write();
        inner.failures.retain(|f| f.path != path);
        inner.failures.push(LoadFailure {
            path: path.to_owned(),
            message: error.to_string(),
        });
    }

    fn add(&self, path: PathBuf, lib: Arc<Library>) -> Vec<String> {
        let mut inner = self.write();
        let mut added = Vec::new();
        for manifest in &lib.manifest().connectors {
            if let Some(existing) = inner.by_class.get(&manifest.class) {
                tracing::warn!(
                    class = %manifest.class,
                    kept = %existing.library.path().display(),
                    ignored = %path.display(),
                    "connector class provided twice; keeping the first"
                );
                continue;
            }
            inner.by_class.insert(
                manifest.class.clone(),
                ConnectorPlugin {
                    library: lib.clone(),
                    manifest: manifest.clone(),
                },
            );
            added.push(manifest.class.clone());
        }
        for manifest in &lib.manifest().components {
            let key = (
                manifest.kind.plugin_type().to_owned(),
                manifest.class.clone(),
            );
            if inner.components.contains_key(&key) {
                tracing::warn!(class = %manifest.class, ignored = %path.display(),
                    "plugin class provided twice; keeping the first");
                continue;
            }
            inner.components.insert(
                key,
                ComponentPlugin {
                    library: lib.clone(),
                    manifest: manifest.clone(),
                },
            );
            added.push(manifest.class.clone());
        }
        tracing::info!(path = %path.display(), classes = ?added, "plugin loaded");
        inner.failures.retain(|f| f.path != path);
        inner.loaded.insert(path, lib);
        added
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Resolves a `connector.class` value: full name, then unambiguous alias (simple name, or
    /// simple name without `Connector`), then a unique connector whose simple name is the value
    /// or the value plus `Connector`.
    pub fn resolve(&self, name: &str) -> Result<ConnectorPlugin, ResolveError> {
        let inner = self.read();
        let resolution = alias::resolve(
            inner.by_class.values(),
            |p| (p.manifest.class.as_str(), "Connector"),
            name,
        );
        match resolution {
            Resolution::Found(one) => Ok(one.clone()),
            Resolution::NotFound => Err(ResolveError::NotFound(
                name.to_owned(),
                inner
                    .by_class
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
                inner
                    .failures
                    .iter()
                    .map(|f| format!("\n(plugin not loaded: {})", f.message))
                    .collect::<String>(),
            )),
            Resolution::Ambiguous(many) => Err(ResolveError::Ambiguous(
                name.to_owned(),
                many.iter()
                    .map(|p| p.manifest.class.clone())
                    .collect::<Vec<_>>()
                    .join(", "),
            )),
        }
    }

    /// Every connector plugin, sinks first then sources, each sorted by class.
    pub fn connectors(&self) -> Vec<ConnectorPlugin> {
        let inner = self.read();
        let mut all: Vec<ConnectorPlugin> = inner.by_class.values().cloned().collect();
        all.sort_by_key(|p| {
            (
                p.manifest.kind == ConnectorKind::Source,
                p.manifest.class.clone(),
            )
        });
        all
    }

    /// Every plugin class of `kind` (converters, transformations, …), sorted by class.
    pub fn components(&self, kind: ComponentKind) -> Vec<ComponentPlugin> {
        self.read()
            .components
            .values()
            .filter(|c| c.manifest.kind == kind)
            .cloned()
            .collect()
    }

    /// The plugin class of `kind` a class name or unique alias names.
    pub fn component(&self, kind: ComponentKind, name: &str) -> Option<ComponentPlugin> {
        let all = self.components(kind);
        tributary_connector_api::alias::resolve(
            all.iter(),
            |c| {
                (
                    c.manifest.class.as_str(),
                    kind.alias_suffix(&c.manifest.class),
                )
            },
            name,
        )
        .found()
        .cloned()
    }

    /// Plugin files that failed to load.
    pub fn failures(&self) -> Vec<LoadFailure> {
        self.read().failures.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ordinary_shared_library_is_skipped_not_a_failure() {
        // zlib is on every machine that builds the worker (librdkafka links it).
        let path = Path::new("/usr/lib/x86_64-linux-gnu/libz.so.1");
        assert!(path.exists(), "{} is missing", path.display());
        let registry = PluginRegistry::new();
        assert!(registry.load(path).is_empty());
        assert!(registry.failures().is_empty(), "{:?}", registry.failures());
        // A file that is no library at all is still a failure worth an error.
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("libjunk.so");
        std::fs::write(&junk, b"not an ELF file").unwrap();
        assert!(registry.load(&junk).is_empty());
        assert_eq!(registry.failures().len(), 1);
    }
}
