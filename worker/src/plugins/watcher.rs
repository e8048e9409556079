//! Watches `plugin.path` and loads new plugin files without a restart.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use notify::{EventKind, RecursiveMode, Watcher};

use super::registry::{is_library, PluginRegistry};

/// Keeps the watcher alive; dropping it stops watching.
pub struct PluginWatcher {
    _watcher: notify::RecommendedWatcher,
}

/// Starts watching each directory of `paths`. New or replaced library files are loaded once
/// their writes have settled.
pub fn watch(registry: Arc<PluginRegistry>, paths: &[PathBuf]) -> notify::Result<PluginWatcher> {
    let (tx, rx) = std::sync::mpsc::channel::<PathBuf>();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event {
            if matches!(event.kind, EventKind::Create(_) | EventKind::Modify(_)) {
                for path in event.paths {
                    if is_library(&path) {
                        let _ = tx.send(path);
                    }
                }
            }
        }
    })?;
    for path in paths.iter().filter(|p| p.is_dir()) {
        watcher.watch(path, RecursiveMode::Recursive)?;
    }
    std::thread::Builder::new()
        .name("plugin-watcher".into())
        .spawn(move || {
            // A file being copied raises many events: wait until it has been quiet briefly.
            while let Ok(first) = rx.recv() {
                let mut pending = vec![first];
                while let Ok(more) = rx.recv_timeout(Duration::from_millis(300)) {
                    if !pending.contains(&more) {
                        pending.push(more);
                    }
                }
                for path in pending {
                    if path.is_file() {
                        let added = registry.load(&path);
                        if !added.is_empty() {
                            tracing::info!(path = %path.display(), classes = ?added, "new plugin picked up");
                        }
                    }
                }
            }
        })
        .map_err(|e| notify::Error::generic(&e.to_string()))?;
    Ok(PluginWatcher { _watcher: watcher })
}
