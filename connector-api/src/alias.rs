//! Class-name and alias resolution (connect-compat §4.2), shared by every plugin kind:
//! connectors, converters, header converters, transformations, predicates and config
//! providers.
//!
//! A name resolves to the class with exactly that full name; otherwise to the one class whose
//! simple name (after the last `.` and `$`) is the name, or is the name plus the class's type
//! suffix (`Connector`, `Converter`, `HeaderConverter`, `Transformation`, `Predicate`,
//! `ConfigProvider`). A name that matches several classes is ambiguous.

/// The simple class name: after the last `.` and the last `$` (so the nested `Cast$Value` is
/// `Value`, which many classes share and no alias can use).
pub fn simple_name(class: &str) -> &str {
    let after_dot = class.rsplit('.').next().unwrap_or(class);
    after_dot.rsplit('$').next().unwrap_or(after_dot)
}

/// Whether `name` is an alias of `class` with type suffix `suffix` (not the full name).
pub fn is_alias(class: &str, suffix: &str, name: &str) -> bool {
    let simple = simple_name(class);
    simple == name || (!suffix.is_empty() && simple.strip_suffix(suffix) == Some(name))
}

/// The outcome of resolving a name.
#[derive(Debug, PartialEq, Eq)]
pub enum Resolution<T> {
    Found(T),
    NotFound,
    /// Several classes have this alias: the full name must be used.
    Ambiguous(Vec<T>),
}

impl<T> Resolution<T> {
    /// The class if the name resolved to exactly one.
    pub fn found(self) -> Option<T> {
        match self {
            Resolution::Found(t) => Some(t),
            _ => None,
        }
    }
}

/// Resolves `name` (trimmed) among `items`: an exact full class name first, then a unique
/// alias. `class_of` gives each item's full class name and type suffix. Items with the same
/// class are counted once (the first is kept), so a class listed as two kinds is not
/// ambiguous with itself.
pub fn resolve<T: Copy>(
    items: impl IntoIterator<Item = T>,
    class_of: impl Fn(&T) -> (&str, &str),
    name: &str,
) -> Resolution<T> {
    let name = name.trim();
    if name.is_empty() {
        return Resolution::NotFound;
    }
    let mut matches: Vec<T> = Vec::new();
    for item in items {
        let (class, suffix) = class_of(&item);
        if class == name {
            return Resolution::Found(item);
        }
        if is_alias(class, suffix, name) && !matches.iter().any(|m| class_of(m).0 == class) {
            matches.push(item);
        }
    }
    match matches.len() {
        0 => Resolution::NotFound,
        1 => Resolution::Found(matches.remove(0)),
        _ => Resolution::Ambiguous(matches),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classes() -> Vec<(&'static str, &'static str)> {
        vec![
            (
                "org.apache.kafka.connect.file.FileStreamSinkConnector",
                "Connector",
            ),
            (
                "org.apache.kafka.connect.file.FileStreamSourceConnector",
                "Connector",
            ),
            ("io.aiven.kafka.connect.http.HttpSinkConnector", "Connector"),
            (
                "com.github.clescot.kafka.connect.http.sink.HttpSinkConnector",
                "Connector",
            ),
            ("org.apache.kafka.connect.json.JsonConverter", "Converter"),
            (
                "org.apache.kafka.connect.storage.SimpleHeaderConverter",
                "HeaderConverter",
            ),
            (
                "org.apache.kafka.connect.transforms.Cast$Key",
                "Transformation",
            ),
            (
                "org.apache.kafka.connect.transforms.Cast$Value",
                "Transformation",
            ),
            (
                "org.apache.kafka.connect.transforms.ExtractField$Value",
                "Transformation",
            ),
        ]
    }

    fn class(name: &str) -> Option<&'static str> {
        resolve(classes(), |(c, s)| (*c, *s), name)
            .found()
            .map(|(c, _)| c)
    }

    #[test]
    fn full_simple_and_short_names() {
        let sink = "org.apache.kafka.connect.file.FileStreamSinkConnector";
        for name in [
            sink,
            "FileStreamSinkConnector",
            "FileStreamSink",
            " FileStreamSink ",
        ] {
            assert_eq!(class(name), Some(sink), "{name}");
        }
        assert_eq!(
            class("Json"),
            Some("org.apache.kafka.connect.json.JsonConverter")
        );
        assert_eq!(
            class("Simple"),
            Some("org.apache.kafka.connect.storage.SimpleHeaderConverter")
        );
        assert_eq!(class("SimpleHeader"), None);
        assert_eq!(class("json"), None, "case-sensitive");
        assert_eq!(class("FileStream"), None);
        assert_eq!(class("file.FileStreamSink"), None);
        assert_eq!(class(""), None);
        assert_eq!(
            class("org.apache.kafka.connect.transforms.Cast$Value"),
            Some("org.apache.kafka.connect.transforms.Cast$Value")
        );
    }

    #[test]
    fn shared_aliases_are_ambiguous() {
        match resolve(classes(), |(c, s)| (*c, *s), "HttpSink") {
            Resolution::Ambiguous(m) => assert_eq!(m.len(), 2),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            resolve(classes(), |(c, s)| (*c, *s), "Value"),
            Resolution::Ambiguous(_)
        ));
        assert_eq!(
            resolve(classes(), |(c, s)| (*c, *s), "Nope"),
            Resolution::NotFound
        );
    }

    #[test]
    fn a_class_listed_twice_is_not_ambiguous() {
        let items = [
            ("a.b.JsonConverter", "Converter"),
            ("a.b.JsonConverter", "Converter"),
        ];
        assert!(matches!(
            resolve(items, |(c, s)| (*c, *s), "Json"),
            Resolution::Found(_)
        ));
    }

    #[test]
    fn simple_names() {
        assert_eq!(
            simple_name("org.apache.kafka.connect.file.FileStreamSinkConnector"),
            "FileStreamSinkConnector"
        );
        assert_eq!(
            simple_name("org.apache.kafka.connect.transforms.Cast$Value"),
            "Value"
        );
        assert_eq!(simple_name("Plain"), "Plain");
    }
}
