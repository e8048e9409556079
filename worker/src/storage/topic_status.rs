//! The topics each connector has used (KIP-558 topic tracking), as this worker knows them: what
//! its own tasks recorded, plus (distributed mode) what every worker wrote to the status topic
//! as `status-topic-<topic>:connector-<connector>` records.
//!
//! [`ActiveTopics`] is only the cache; [`super::StatusStore`] writes the records. Every removal
//! advances an epoch ([`ActiveTopics::epoch`]) so that tasks, which remember which topics they
//! already reported, know to report them again after a reset.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use super::internal_records::TopicStatusValue;

/// Topic statuses per connector, then per topic.
#[derive(Default)]
pub struct ActiveTopics {
    inner: Mutex<BTreeMap<String, BTreeMap<String, TopicStatusValue>>>,
    epoch: AtomicU64,
}

impl ActiveTopics {
    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, BTreeMap<String, BTreeMap<String, TopicStatusValue>>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Advances after every removal (a reset, a deleted connector, a tombstone read back).
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    fn removed(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
    }

    /// Adds an entry unless one is known for its connector and topic; true if it was added.
    pub fn insert_if_absent(&self, status: TopicStatusValue) -> bool {
        let mut inner = self.lock();
        let topics = match inner.get_mut(&status.connector) {
            Some(topics) => topics,
            None => inner.entry(status.connector.clone()).or_default(),
        };
        if topics.contains_key(&status.topic) {
            return false;
        }
        topics.insert(status.topic.clone(), status);
        true
    }

    /// Sets (or replaces) the entry for `connector` and `topic` (a record read back).
    pub fn put(&self, connector: String, topic: String, status: TopicStatusValue) {
        self.lock()
            .entry(connector)
            .or_default()
            .insert(topic, status);
    }

    /// Forgets one entry (a tombstone read back); true if it was known.
    pub fn remove(&self, connector: &str, topic: &str) -> bool {
        let removed = {
            let mut inner = self.lock();
            let removed = inner
                .get_mut(connector)
                .is_some_and(|topics| topics.remove(topic).is_some());
            if inner.get(connector).is_some_and(BTreeMap::is_empty) {
                inner.remove(connector);
            }
            removed
        };
        if removed {
            self.removed();
        }
        removed
    }

    /// Forgets every topic of a connector and returns them.
    pub fn remove_connector(&self, connector: &str) -> Vec<String> {
        let gone: Vec<String> = self
            .lock()
            .remove(connector)
            .map(|topics| topics.into_keys().collect())
            .unwrap_or_default();
        if !gone.is_empty() {
            self.removed();
        }
        gone
    }

    /// The topics known for a connector, sorted.
    pub fn topics(&self, connector: &str) -> Vec<String> {
        self.lock()
            .get(connector)
            .map(|topics| topics.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// The entry for `connector` and `topic`.
    pub fn get(&self, connector: &str, topic: &str) -> Option<TopicStatusValue> {
        self.lock().get(connector)?.get(topic).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(connector: &str, topic: &str, task: i32) -> TopicStatusValue {
        TopicStatusValue {
            topic: topic.into(),
            connector: connector.into(),
            task,
            discover_timestamp: 1,
        }
    }

    #[test]
    fn first_entry_wins_and_removals_advance_the_epoch() {
        let t = ActiveTopics::default();
        assert!(t.insert_if_absent(status("c", "a", 0)));
        assert!(!t.insert_if_absent(status("c", "a", 1)));
        assert_eq!(t.get("c", "a").map(|s| s.task), Some(0));
        assert!(t.insert_if_absent(status("c", "b", 1)));
        assert!(t.insert_if_absent(status("d", "a", 0)));
        assert_eq!(t.topics("c"), ["a", "b"]);
        assert!(t.topics("none").is_empty());
        assert!(t.get("d", "a").is_some() && t.get("d", "b").is_none());

        let e = t.epoch();
        assert!(!t.remove("c", "zz"));
        assert_eq!(t.epoch(), e, "nothing was removed");
        assert!(t.remove("c", "a"));
        assert!(t.epoch() > e);
        assert_eq!(t.topics("c"), ["b"]);

        let e = t.epoch();
        assert_eq!(t.remove_connector("c"), ["b"]);
        assert!(t.epoch() > e);
        assert!(t.remove_connector("c").is_empty());
        assert_eq!(t.topics("d"), ["a"]);

        t.put("d".into(), "a".into(), status("d", "a", 7));
        assert_eq!(t.get("d", "a").map(|s| s.task), Some(7));
    }
}
