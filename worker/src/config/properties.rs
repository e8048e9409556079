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
    // Decoded here as java-properties decodes (windows-1252, or what a byte-order mark says),
    // then handed over as UTF-8 behind a BOM of its own, which java-properties' decoder drops.
    // Its streaming decoder panics when the input ends inside a BOM or inside a character of
    // the encoding a BOM picked: UTF-8 ending on a whole character never does.
    let (text, _, _) = encoding_rs::WINDOWS_1252.decode(bytes);
    let mut utf8 = Vec::with_capacity(text.len() + 3);
    utf8.extend_from_slice(b"\xEF\xBB\xBF");
    utf8.extend_from_slice(text.as_bytes());
    let mut props = Props::new();
    java_properties::PropertiesIter::new_with_encoding(utf8.as_slice(), encoding_rs::UTF_8)
        .read_into(|key, value| {
            props.insert(key, value);
        })
        .map_err(|e| e.to_string())?;
    Ok(props)
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

    /// Found by the `properties` fuzz target: java-properties panics ("Must not use a decoder
    /// that has finished") when a file ends inside a byte-order mark or inside a character of
    /// the encoding its BOM picked.
    #[test]
    fn truncated_bom_or_character_is_not_a_panic() {
        let read = |bytes: &[u8]| parse_properties(bytes, false).unwrap();
        // Only the first byte of a UTF-8 BOM: windows-1252 'ï', a key with no value.
        assert_eq!(read(b"\xEF")["\u{EF}"], "");
        // A UTF-16BE BOM and an odd byte: one replacement character.
        assert_eq!(read(b"\xFE\xFF\xFF")["\u{FFFD}"], "");
        // A UTF-8 BOM and a cut multi-byte character.
        assert_eq!(read(b"\xEF\xBB\xBFa=b\xC3")["a"], "b\u{FFFD}");
        // A text whose own first character is U+FEFF keeps it (only the BOM is dropped).
        assert_eq!(read(b"\xFE\xFF\xFE\xFF\x00=\x00v")["\u{FEFF}"], "v");
        // Unchanged: a UTF-8 BOM is dropped, other bytes are windows-1252.
        assert_eq!(read(b"\xEF\xBB\xBFk=\xC3\xA9")["k"], "\u{E9}");
        assert_eq!(read(b"k=\xE9\x80")["k"], "\u{E9}\u{20AC}");
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
