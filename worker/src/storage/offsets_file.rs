//! Source offsets in a local file (`offset.storage.file.filename`), written atomically.
//!
//! The file is JSON: `{"version":1,"offsets":[[["<connector>",{partition}],{offset}],…]}`; the
//! keys have the same shape as the Kafka offsets topic's (connect-compat §2.3). Java's file
//! format (Java serialization) is not portable, so the formats differ by design.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_json::{json, Value as Json};
use tributary_connector_api::OffsetMap;

use super::{OffsetStore, StorageError};

/// File-backed offsets: an in-memory map, persisted whole on every write by writing a
/// temporary file, syncing it, and renaming it over the old one.
pub struct FileOffsetStore {
    path: PathBuf,
    /// (connector, compact partition JSON) → (partition, offset). serde_json sorts object
    /// keys, so the JSON text is a canonical key.
    data: Mutex<BTreeMap<(String, String), (OffsetMap, OffsetMap)>>,
}

impl FileOffsetStore {
    /// Opens (or starts) the store; a missing file means no offsets yet.
    pub fn open(path: &Path) -> Result<FileOffsetStore, StorageError> {
        let err = |message: String| StorageError::Io {
            path: path.display().to_string(),
            message,
        };
        let mut data = BTreeMap::new();
        match std::fs::read(path) {
            Ok(bytes) => {
                let doc: Json = serde_json::from_slice(&bytes)
                    .map_err(|e| err(format!("corrupt offsets file: {e}")))?;
                let entries = doc
                    .get("offsets")
                    .and_then(Json::as_array)
                    .ok_or_else(|| err("corrupt offsets file: no offsets array".into()))?;
                for entry in entries {
                    let parsed = entry.as_array().and_then(|pair| {
                        let key = pair.first()?.as_array()?;
                        let connector = key.first()?.as_str()?.to_owned();
                        let partition = key.get(1)?.as_object()?.clone();
                        let offset = pair.get(1)?.as_object()?.clone();
                        Some(((connector, partition), offset))
                    });
                    match parsed {
                        Some(((connector, partition), offset)) => {
                            data.insert(key(&connector, &partition), (partition, offset));
                        }
                        None => tracing::warn!(entry = %entry, "skipping malformed offsets entry"),
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(err(e.to_string())),
        }
        Ok(FileOffsetStore {
            path: path.to_owned(),
            data: Mutex::new(data),
        })
    }

    fn persist(
        &self,
        data: &BTreeMap<(String, String), (OffsetMap, OffsetMap)>,
    ) -> Result<(), StorageError> {
        let err = |message: String| StorageError::Io {
            path: self.path.display().to_string(),
            message,
        };
        let offsets: Vec<Json> = data
            .iter()
            .map(|((c, _), (p, o))| json!([[c, p], o]))
            .collect();
        let bytes = serde_json::to_vec(&json!({"version": 1, "offsets": offsets}))
            .map_err(|e| err(e.to_string()))?;
        let dir = self
            .path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
        let tmp = self.path.with_extension("tmp");
        let mut f = std::fs::File::create(&tmp).map_err(|e| err(e.to_string()))?;
        f.write_all(&bytes).map_err(|e| err(e.to_string()))?;
        f.sync_all().map_err(|e| err(e.to_string()))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| err(e.to_string()))?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

fn key(connector: &str, partition: &OffsetMap) -> (String, String) {
    (
        connector.to_owned(),
        serde_json::to_string(partition).unwrap_or_default(),
    )
}

impl OffsetStore for FileOffsetStore {
    fn offsets(&self, connector: &str) -> Result<Vec<(OffsetMap, OffsetMap)>, StorageError> {
        let data = self.data.lock().unwrap_or_else(|p| p.into_inner());
        Ok(data
            .iter()
            .filter(|((c, _), _)| c == connector)
            .map(|(_, (p, o))| (p.clone(), o.clone()))
            .collect())
    }

    fn put(
        &self,
        connector: &str,
        entries: &[(OffsetMap, Option<OffsetMap>)],
    ) -> Result<(), StorageError> {
        let mut data = self.data.lock().unwrap_or_else(|p| p.into_inner());
        for (partition, offset) in entries {
            let key = key(connector, partition);
            match offset {
                Some(o) => {
                    data.insert(key, (partition.clone(), o.clone()));
                }
                None => {
                    data.remove(&key);
                }
            }
        }
        self.persist(&data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(v: Json) -> OffsetMap {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn offsets_survive_reopen_and_tombstones_remove() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("offsets.json");
        let store = FileOffsetStore::open(&path).unwrap();
        let p1 = map(json!({"filename": "/a"}));
        let p2 = map(json!({"filename": "/b"}));
        store
            .put(
                "src",
                &[
                    (p1.clone(), Some(map(json!({"position": 10})))),
                    (p2.clone(), Some(map(json!({"position": 3})))),
                ],
            )
            .unwrap();
        store
            .put("src", &[(p1.clone(), Some(map(json!({"position": 42}))))])
            .unwrap();
        store.put("src", &[(p2.clone(), None)]).unwrap();
        store
            .put("other", &[(p2.clone(), Some(map(json!({"position": 7}))))])
            .unwrap();

        let reopened = FileOffsetStore::open(&path).unwrap();
        assert_eq!(
            reopened.offsets("src").unwrap(),
            vec![(p1, map(json!({"position": 42})))]
        );
        assert_eq!(reopened.offsets("other").unwrap().len(), 1);
        assert!(!path.with_extension("tmp").exists());
    }

    #[test]
    fn corrupt_file_is_an_error_not_an_empty_store() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("offsets.json");
        std::fs::write(&path, b"{not json").unwrap();
        assert!(FileOffsetStore::open(&path).is_err());
    }
}
