//! `org.apache.kafka.connect.transforms.RegexRouter`: when the whole topic name matches
//! `regex`, the topic becomes `replacement` with `$1`, `${name}` group references (Java's
//! `Matcher.replaceFirst` syntax).

use tributary_connector_api::config::{ConfigError, Validator};
use tributary_connector_api::{ConfigDef, ConfigType, Importance, Props};

use crate::config;
use crate::error::TransformError;
use crate::plugin::{Outcome, TransformPlugin, Transformation};
use crate::record::{ConnectRecord, Side};

pub const CLASS: &str = "org.apache.kafka.connect.transforms.RegexRouter";

pub fn plugins() -> Vec<TransformPlugin> {
    vec![TransformPlugin::single(
        CLASS,
        config_def,
        RegexRouter::create,
    )]
}

fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            config::required(
                "regex",
                ConfigType::String,
                Importance::High,
                "Regular expression to use for matching.",
            )
            .validator(Validator::Regex),
        )
        .define(config::required(
            "replacement",
            ConfigType::String,
            Importance::High,
            "Replacement string.",
        ))
}

/// Rewrites the topic name.
pub struct RegexRouter {
    regex: regex::Regex,
    /// The replacement in the `regex` crate's syntax.
    replacement: String,
    /// The last topic seen and what it became (`None`: unchanged). A task's records mostly
    /// share a few topics, so this saves a regex match per record.
    last: Option<(String, Option<String>)>,
}

impl RegexRouter {
    fn create(_: Side, props: &Props) -> Result<Box<dyn Transformation>, ConfigError> {
        let cfg = config::parse(&config_def(), props)?;
        let regex = config::whole_regex("regex", cfg.get("regex").unwrap_or_default())?;
        let replacement = cfg.get("replacement").unwrap_or_default();
        let replacement = java_replacement(replacement, &regex)
            .map_err(|why| config::invalid("replacement", replacement, why))?;
        Ok(Box::new(RegexRouter {
            regex,
            replacement,
            last: None,
        }))
    }
}

/// Translates a Java replacement string to the `regex` crate's syntax (`${1}`, `${name}`,
/// `$$`), with Java's rules: `\$` is a dollar and `\\` a backslash; after `$` the group
/// number takes as many digits as still name a group of `regex` (so with one group `$10` is
/// group 1 followed by `0`); a reference to a group the regex does not have is an error.
pub fn java_replacement(java: &str, regex: &regex::Regex) -> Result<String, String> {
    // Group 0 is the whole match; `captures_len` counts it.
    let groups = regex.captures_len() - 1;
    let mut out = String::with_capacity(java.len() + 4);
    let mut chars = java.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('$') => out.push_str("$$"),
                Some(other) => out.push(other),
                None => return Err("character to be escaped is missing".into()),
            },
            '$' => match chars.peek() {
                Some('{') => {
                    chars.next();
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some(n) if n.is_ascii_alphanumeric() => name.push(n),
                            _ => return Err("named capturing group is missing trailing '}'".into()),
                        }
                    }
                    if name.is_empty() || !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
                        return Err(format!("named capturing group <{name}> is not valid"));
                    }
                    if !regex.capture_names().flatten().any(|n| n == name) {
                        return Err(format!("No group with name {{{name}}}"));
                    }
                    out.push_str(&format!("${{{name}}}"));
                }
                Some(d) if d.is_ascii_digit() => {
                    let mut number = d.to_digit(10).unwrap_or(0) as usize;
                    chars.next();
                    if number > groups {
                        return Err(format!("No group {number}"));
                    }
                    while let Some(next) = chars.peek().and_then(|c| c.to_digit(10)) {
                        let wider = number * 10 + next as usize;
                        if wider > groups {
                            break;
                        }
                        number = wider;
                        chars.next();
                    }
                    out.push_str(&format!("${{{number}}}"));
                }
                _ => return Err("illegal group reference".into()),
            },
            other => out.push(other),
        }
    }
    Ok(out)
}

impl Transformation for RegexRouter {
    fn apply(&mut self, record: &mut dyn ConnectRecord) -> Result<Outcome, TransformError> {
        let routed = match &self.last {
            Some((input, output)) if input == record.topic() => output.clone(),
            _ => {
                let output = self.regex.captures(record.topic()).map(|caps| {
                    let mut topic = String::new();
                    caps.expand(&self.replacement, &mut topic);
                    topic
                });
                self.last = Some((record.topic().to_owned(), output.clone()));
                output
            }
        };
        if let Some(topic) = routed {
            record.set_topic(topic);
        }
        Ok(Outcome::Keep)
    }
}

#[cfg(test)]
mod tests {
    use tributary_connector_api::Value;

    use super::*;
    use crate::smt::testing::{apply, build, sink, source, transform};

    fn routed(regex: &str, replacement: &str, topic: &str) -> String {
        let mut t = transform(CLASS, &[("regex", regex), ("replacement", replacement)]);
        let mut r = sink(topic, None, Value::Null, None, Value::from("v"));
        assert_eq!(apply(t.as_mut(), &mut r), Outcome::Keep);
        r.topic
    }

    #[test]
    fn documented_examples() {
        // Kafka's docs: drop a prefix, keep the rest.
        assert_eq!(routed("(.*)-raw", "$1", "orders-raw"), "orders");
        assert_eq!(
            routed("([^.]+)\\.([^.]+)\\.([^.]+)", "$3", "db.schema.table"),
            "table"
        );
        assert_eq!(routed("(.*)", "$1-copy", "t"), "t-copy");
        assert_eq!(
            routed("(?<name>[a-z]+)-(\\d+)", "${name}_v$2", "users-7"),
            "users_v7"
        );
        assert_eq!(routed("(.*)", "\\$$1", "cost"), "$cost");
        // Java's `$1a` is group 1 followed by `a`, not a group named `1a`; `$10` with one
        // group is group 1 followed by `0`, with ten groups it is group 10.
        assert_eq!(routed("(.*)-x", "$1a", "t-x"), "ta");
        assert_eq!(routed("(.*)-raw", "$10", "orders-raw"), "orders0");
        assert_eq!(
            routed("(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)", "$10$1", "abcdefghij"),
            "ja"
        );
    }

    #[test]
    fn the_whole_topic_must_match() {
        assert_eq!(routed("raw", "cooked", "orders-raw"), "orders-raw");
        assert_eq!(routed("raw", "cooked", "raw"), "cooked");
    }

    #[test]
    fn works_without_schemas_on_source_records() {
        let mut t = transform(CLASS, &[("regex", "a(.)"), ("replacement", "b$1")]);
        let mut r = source("ax", None, Value::Null, None, Value::Null);
        apply(t.as_mut(), &mut r);
        assert_eq!(r.topic, "bx");
    }

    #[test]
    fn config_errors_name_the_key() {
        let key = |pairs: &[(&str, &str)]| build(CLASS, pairs).err().unwrap().key;
        assert_eq!(key(&[("replacement", "x")]), "regex");
        assert_eq!(key(&[("regex", "x")]), "replacement");
        assert_eq!(key(&[("regex", "(x"), ("replacement", "x")]), "regex");
        assert_eq!(key(&[("regex", "x"), ("replacement", "$")]), "replacement");
        assert_eq!(
            key(&[("regex", "x"), ("replacement", "${1")]),
            "replacement"
        );
    }
}
