//! Prometheus text exposition (format 0.0.4) with the jmx_exporter naming
//! rules of Confluent's `kafka_connect.yml`.
//!
//! Every family is written as one `# TYPE <family> untyped` line followed by
//! all of its samples, in the order families were first used.

use std::collections::HashMap;
use std::fmt::Write as _;

/// Content type of the rendered text, for the `GET /metrics` response.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Prefix of every family name.
const PREFIX: &str = "kafka_connect";

/// Builds the exposition text family by family.
#[derive(Debug, Default)]
pub struct Exposition {
    families: Vec<Family>,
    index: HashMap<String, usize>,
}

#[derive(Debug)]
struct Family {
    name: String,
    lines: String,
}

impl Exposition {
    /// Creates an empty exposition.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the sample `group`/`attribute` as `kafka_connect_<group>_<attribute>`.
    pub fn attribute(&mut self, group: &str, attribute: &str, labels: &[(&str, &str)], value: f64) {
        let family = family_name(&[group, attribute]);
        self.sample(&family, labels, value);
    }

    /// Adds one sample to `family` (already a valid metric name).
    pub fn sample(&mut self, family: &str, labels: &[(&str, &str)], value: f64) {
        let idx = match self.index.get(family) {
            Some(&idx) => idx,
            None => {
                self.families.push(Family {
                    name: family.to_owned(),
                    lines: String::new(),
                });
                self.index
                    .insert(family.to_owned(), self.families.len() - 1);
                self.families.len() - 1
            }
        };
        let lines = &mut self.families[idx].lines;
        lines.push_str(family);
        if !labels.is_empty() {
            lines.push('{');
            for (i, (name, value)) in labels.iter().enumerate() {
                if i > 0 {
                    lines.push(',');
                }
                lines.push_str(&safe_name(name));
                lines.push_str("=\"");
                escape_label_value_into(lines, value);
                lines.push('"');
            }
            lines.push('}');
        }
        lines.push(' ');
        lines.push_str(&format_value(value));
        lines.push('\n');
    }

    /// Returns the text: each family's `# TYPE` line and then its samples.
    pub fn finish(self) -> String {
        let mut out = String::new();
        for family in self.families {
            let _ = writeln!(out, "# TYPE {} untyped", family.name);
            out.push_str(&family.lines);
        }
        out
    }
}

/// Joins `kafka_connect` and `parts` with `_`, lower-cased and made safe.
pub fn family_name(parts: &[&str]) -> String {
    let mut raw = String::from(PREFIX);
    for part in parts {
        raw.push('_');
        raw.push_str(part);
    }
    safe_name(&raw.to_lowercase())
}

/// Makes a metric or label name valid the way jmx_exporter does: every
/// character outside `[a-zA-Z0-9:_]` becomes `_`, runs of `_` collapse to one,
/// and a leading digit gets a `_` prefix.
pub fn safe_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 1);
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        out.push('_');
    }
    let mut prev_underscore = false;
    for c in name.chars() {
        let legal = c.is_ascii_alphanumeric() || c == ':';
        if legal {
            out.push(c);
            prev_underscore = false;
        } else if !prev_underscore {
            out.push('_');
            prev_underscore = true;
        }
    }
    out
}

/// Escapes a label value: `\` → `\\`, `"` → `\"`, newline → `\n`.
pub fn escape_label_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    escape_label_value_into(&mut out, value);
    out
}

fn escape_label_value_into(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            _ => out.push(c),
        }
    }
}

/// Formats a sample value: `NaN`, `+Inf`, `-Inf`, integers without a
/// fraction (`4`), other numbers in shortest round-trip form (`12.5`).
pub fn format_value(value: f64) -> String {
    if value.is_nan() {
        "NaN".to_owned()
    } else if value == f64::INFINITY {
        "+Inf".to_owned()
    } else if value == f64::NEG_INFINITY {
        "-Inf".to_owned()
    } else if value == 0.0 {
        // Avoid "-0".
        "0".to_owned()
    } else {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn family_names_follow_jmx_exporter_rules() {
        assert_eq!(
            family_name(&["source-task-metrics", "source-record-poll-rate"]),
            "kafka_connect_source_task_metrics_source_record_poll_rate"
        );
        assert_eq!(family_name(&["A--b", "c.d"]), "kafka_connect_a_b_c_d");
        assert_eq!(safe_name("1abc"), "_1abc");
        assert_eq!(safe_name("client-id"), "client_id");
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape_label_value(r#"a\b"c"#), r#"a\\b\"c"#);
        assert_eq!(escape_label_value("x\ny"), "x\\ny");
        assert_eq!(escape_label_value("plain é"), "plain é");
    }

    #[test]
    fn values_are_formatted_for_prometheus() {
        assert_eq!(format_value(4.0), "4");
        assert_eq!(format_value(12.5), "12.5");
        assert_eq!(format_value(-0.0), "0");
        assert_eq!(format_value(f64::NAN), "NaN");
        assert_eq!(format_value(f64::INFINITY), "+Inf");
        assert_eq!(format_value(f64::NEG_INFINITY), "-Inf");
        assert_eq!(format_value(1_700_000_000_000.0), "1700000000000");
        assert_eq!(format_value(0.1), "0.1");
    }

    #[test]
    fn families_group_their_samples_under_one_type_line() {
        let mut e = Exposition::new();
        e.attribute("g", "a", &[("connector", "x")], 1.0);
        e.attribute("g", "b", &[], 2.0);
        e.attribute("g", "a", &[("connector", "y\"z")], 3.0);
        assert_eq!(
            e.finish(),
            "# TYPE kafka_connect_g_a untyped\n\
             kafka_connect_g_a{connector=\"x\"} 1\n\
             kafka_connect_g_a{connector=\"y\\\"z\"} 3\n\
             # TYPE kafka_connect_g_b untyped\n\
             kafka_connect_g_b 2\n"
        );
    }

    #[test]
    fn empty_exposition_is_empty() {
        assert_eq!(Exposition::new().finish(), "");
    }
}
