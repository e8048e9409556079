//! Reading Java `.properties` files (escapes, continuation lines) and JSON connector files.

use std::path::Path;

use tributary_connector_api::Props;

/// A config file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PropertiesError {
    #[error("cannot read {path}: {message}")]
    Read { path: String, message: String },
}

/// Reads a `.properties` file. A file ending in `.json` is read as Kafka Connect's JSON
/// connector form (`{"name": …, "config": {…}}` or a flat object).
pub fn load_properties(path: &Path) -> Result<Props, PropertiesError> {
    let err = |message: String| PropertiesError::Read {
        path: path.display().to_string(),
        message,
    };
    let bytes = std::fs::read(path).map_err(|e| err(e.to_string()))?;
    let json = path.extension().and_then(|e| e.to_str()) == Some("json");
    parse_properties(&bytes, json).map_err(err)
}

/// Parses the contents of a config file: Java `.properties` text, or with `json` Kafka Connect's
/// JSON connector form (see [`load_properties`], which reads files through this). The error is
/// the message only (no path).
pub fn parse_properties(bytes: &[u8], json: bool) -> Result<Props, String> {
    if json {
        let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        return json_props(&value).ok_or_else(|| "expected a JSON object".into());
    }
    let map = java_properties::read(bytes).map_err(|e| e.to_string())?;
    Ok(map.into_iter().collect())
}

fn json_props(value: &serde_json::Value) -> Option<Props> {
    let obj = value.as_object()?;
    let (config, name) = match obj.get("config").and_then(|c| c.as_object()) {
        Some(config) => (config, obj.get("name").and_then(|n| n.as_str())),
        None => (obj, None),
    };
    let mut props: Props = config
        .iter()
        .map(|(k, v)| {
            let text = match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (k.clone(), text)
        })
        .collect();
    if let Some(name) = name {
        props
            .entry("name".into())
            .or_insert_with(|| name.to_owned());
    }
    Some(props)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_escapes_and_continuations() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.properties");
        std::fs::write(
            &path,
            "# comment\nname=file\\\n  -source\nfile=/tmp/a\\u00e9.txt\nkey\\ with\\ space = v\n! bang comment\ntopics:a,b\n",
        )
        .unwrap();
        let props = load_properties(&path).unwrap();
        assert_eq!(props["name"], "file-source");
        assert_eq!(props["file"], "/tmp/a\u{e9}.txt");
        assert_eq!(props["key with space"], "v");
        assert_eq!(props["topics"], "a,b");
        assert_eq!(props.len(), 4);
    }

    #[test]
    fn reads_json_connector_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.json");
        std::fs::write(
            &path,
            r#"{"name":"x","config":{"tasks.max":2,"topic":"t"}}"#,
        )
        .unwrap();
        let props = load_properties(&path).unwrap();
        assert_eq!(props["name"], "x");
        assert_eq!(props["tasks.max"], "2");
    }
}
