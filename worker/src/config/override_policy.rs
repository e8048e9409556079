//! `connector.client.config.override.policy`: which `producer.override.*`,
//! `consumer.override.*` and `admin.override.*` keys a connector config may set (Kafka's
//! `ConnectorClientConfigOverridePolicy`, security-metrics spec §1.2). Checked when a config is
//! validated (a 400 naming the key) and again when a task starts.

use tributary_connector_api::Props;

use super::client_security;

/// The worker property.
pub const KEY: &str = "connector.client.config.override.policy";

const PREFIXES: [&str; 3] = [
    "producer.override.",
    "consumer.override.",
    "admin.override.",
];

/// The keys the `Principal` policy allows.
const PRINCIPAL_KEYS: [&str; 3] = ["sasl.jaas.config", "sasl.mechanism", "security.protocol"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OverridePolicy {
    /// Kafka's default since 3.0.
    #[default]
    All,
    None,
    Principal,
}

impl OverridePolicy {
    /// From the worker property: an alias (`All`, `None`, `Principal`), the class's simple name
    /// or its full name. The error is the message for [`KEY`].
    pub fn parse(value: Option<&str>) -> Result<OverridePolicy, String> {
        let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) else {
            return Ok(OverridePolicy::All);
        };
        let simple = v.rsplit('.').next().unwrap_or(v);
        let alias = simple
            .strip_suffix("ConnectorClientConfigOverridePolicy")
            .unwrap_or(simple);
        let full = v.contains('.');
        if full && !v.starts_with("org.apache.kafka.connect.connector.policy.") {
            return Err(unknown(v));
        }
        match alias {
            "All" => Ok(OverridePolicy::All),
            "None" => Ok(OverridePolicy::None),
            "Principal" => Ok(OverridePolicy::Principal),
            _ => Err(unknown(v)),
        }
    }

    fn name(self) -> &'static str {
        match self {
            OverridePolicy::All => "All",
            OverridePolicy::None => "None",
            OverridePolicy::Principal => "Principal",
        }
    }

    /// The override keys of `config` this policy refuses, each with Kafka's message.
    pub fn violations<'a>(
        self,
        config: impl IntoIterator<Item = &'a String>,
    ) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for key in config {
            let Some(client_key) = PREFIXES.iter().find_map(|p| key.strip_prefix(p)) else {
                continue;
            };
            let allowed = match self {
                OverridePolicy::All => true,
                OverridePolicy::None => false,
                OverridePolicy::Principal => PRINCIPAL_KEYS.contains(&client_key),
            };
            if !allowed {
                out.push((
                    key.clone(),
                    format!(
                        "The '{}' policy does not allow '{client_key}' to be overridden in the \
                         connector configuration.",
                        self.name()
                    ),
                ));
            }
        }
        out
    }
}

/// The `*.override.*` keys of a connector config that `policy` refuses, or else the accepted
/// ones a Kafka client cannot use (e.g. a JKS key store), each with its message.
pub fn errors(policy: OverridePolicy, config: &Props) -> Vec<(String, String)> {
    let mut errors = policy.violations(config.keys());
    if !errors.is_empty() {
        return errors;
    }
    for prefix in PREFIXES {
        let layer: Vec<(String, String)> = config
            .iter()
            .filter_map(|(k, v)| k.strip_prefix(prefix).map(|k| (k.to_owned(), v.clone())))
            .collect();
        if let Err(e) = client_security::to_librdkafka(&layer, prefix) {
            errors.push((e.key, e.message));
        }
    }
    errors
}

fn unknown(value: &str) -> String {
    format!("unknown policy {value}; expected All, None or Principal (or the full class name)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_and_class_names_parse() {
        assert_eq!(OverridePolicy::parse(None), Ok(OverridePolicy::All));
        assert_eq!(
            OverridePolicy::parse(Some("None")),
            Ok(OverridePolicy::None)
        );
        assert_eq!(
            OverridePolicy::parse(Some("PrincipalConnectorClientConfigOverridePolicy")),
            Ok(OverridePolicy::Principal)
        );
        assert_eq!(
            OverridePolicy::parse(Some(
                "org.apache.kafka.connect.connector.policy.NoneConnectorClientConfigOverridePolicy"
            )),
            Ok(OverridePolicy::None)
        );
        let e = OverridePolicy::parse(Some("com.example.AllConnectorClientConfigOverridePolicy"))
            .unwrap_err();
        assert!(e.contains("unknown policy"), "{e}");
        assert!(OverridePolicy::parse(Some("Some")).is_err());
    }

    #[test]
    fn each_policy_refuses_what_kafkas_does() {
        let keys: Vec<String> = [
            "producer.override.linger.ms",
            "consumer.override.sasl.jaas.config",
            "admin.override.security.protocol",
            "producer.override.ssl.truststore.location",
            "topics",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert!(OverridePolicy::All.violations(&keys).is_empty());
        let none: Vec<String> = OverridePolicy::None
            .violations(&keys)
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(none, keys[..4]);
        let principal = OverridePolicy::Principal.violations(&keys);
        assert_eq!(
            principal,
            vec![
                (
                    "producer.override.linger.ms".to_string(),
                    "The 'Principal' policy does not allow 'linger.ms' to be overridden in the \
                     connector configuration."
                        .to_string()
                ),
                (
                    "producer.override.ssl.truststore.location".to_string(),
                    "The 'Principal' policy does not allow 'ssl.truststore.location' to be \
                     overridden in the connector configuration."
                        .to_string()
                ),
            ]
        );
    }
}
