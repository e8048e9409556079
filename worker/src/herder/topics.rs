//! KIP-558 topic tracking as both herders serve it: `GET /connectors/<name>/topics` and
//! `PUT /connectors/<name>/topics/reset` answer from this worker's status store (never
//! forwarded), and a deleted connector's topics are forgotten.

use crate::config::WorkerConfig;
use crate::rest::api::HerderError;
use crate::storage::StatusStore;

fn disabled() -> HerderError {
    HerderError::Forbidden("Topic tracking is disabled.".to_owned())
}

/// The topics this worker knows `name` used; an unknown connector has none (not a 404).
pub fn active_topics(
    config: &WorkerConfig,
    status: &StatusStore,
    name: &str,
) -> Result<Vec<String>, HerderError> {
    if !config.topic_tracking_enable {
        return Err(disabled());
    }
    Ok(status.active_topics(name))
}

/// Forgets (and tombstones) the topics this worker knows `name` used; nothing for an unknown
/// connector. Tracking being disabled is checked before reset being disallowed.
pub fn reset_active_topics(
    config: &WorkerConfig,
    status: &StatusStore,
    name: &str,
) -> Result<(), HerderError> {
    if !config.topic_tracking_enable {
        return Err(disabled());
    }
    if !config.topic_tracking_allow_reset {
        return Err(HerderError::Forbidden(
            "Topic tracking reset is disabled.".to_owned(),
        ));
    }
    status.reset_topics(name);
    Ok(())
}

/// After a connector was deleted and its work here stopped: forget its topics (when tracking
/// is enabled, as Java does).
pub fn forget_deleted(config: &WorkerConfig, status: &StatusStore, name: &str) {
    if config.topic_tracking_enable {
        status.reset_topics(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(enable: &str, allow_reset: &str) -> WorkerConfig {
        let props = [
            (
                "key.converter",
                "org.apache.kafka.connect.storage.StringConverter",
            ),
            (
                "value.converter",
                "org.apache.kafka.connect.storage.StringConverter",
            ),
            ("topic.tracking.enable", enable),
            ("topic.tracking.allow.reset", allow_reset),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        WorkerConfig::from_props(props).expect("worker config")
    }

    fn forbidden(message: &str) -> HerderError {
        HerderError::Forbidden(message.to_owned())
    }

    #[test]
    fn answers_from_the_status_store() {
        let status = StatusStore::new("w:1");
        status.record_topic("c", "orders", 0);
        let on = config("true", "true");
        assert_eq!(active_topics(&on, &status, "c"), Ok(vec!["orders".into()]));
        assert_eq!(active_topics(&on, &status, "unknown"), Ok(vec![]));
        assert_eq!(reset_active_topics(&on, &status, "unknown"), Ok(()));
        assert_eq!(reset_active_topics(&on, &status, "c"), Ok(()));
        assert_eq!(active_topics(&on, &status, "c"), Ok(vec![]));
    }

    #[test]
    fn disabled_tracking_and_reset_are_forbidden() {
        let status = StatusStore::new("w:1");
        status.record_topic("c", "orders", 0);
        let off = config("false", "false");
        let disabled = forbidden("Topic tracking is disabled.");
        assert_eq!(active_topics(&off, &status, "c"), Err(disabled.clone()));
        assert_eq!(reset_active_topics(&off, &status, "c"), Err(disabled));
        let no_reset = config("true", "false");
        assert_eq!(
            reset_active_topics(&no_reset, &status, "c"),
            Err(forbidden("Topic tracking reset is disabled."))
        );
        assert_eq!(status.active_topics("c"), ["orders"]);
        // A deleted connector's topics stay while tracking is off (as Java), go otherwise.
        forget_deleted(&off, &status, "c");
        assert_eq!(status.active_topics("c"), ["orders"]);
        forget_deleted(&no_reset, &status, "c");
        assert!(status.active_topics("c").is_empty());
    }
}
