//! One task's side of KIP-558 topic tracking: it records each topic it uses in the status
//! store the first time it sees it (a sink task after conversion, a source task on the
//! producer's acknowledgement).
//!
//! This runs for every record, so it is kept off the heap: a task remembers the topics it has
//! seen in a small table and checks the topic of each record against the last one it saw (a
//! string comparison) before a hash lookup; only a topic new to the task allocates, and only a
//! topic not yet reported takes the status store's lock. The store's topic epoch tells the
//! task when topics were forgotten (a reset, a deleted connector), so it reports them again.

use std::collections::HashMap;
use std::sync::Arc;

use crate::storage::StatusStore;

/// A topic's index in a task's table; [`TaskTopics::NONE`] for no topic.
pub type TopicIndex = u32;

struct Seen {
    name: Box<str>,
    /// Recorded in the status store (as of `TaskTopics::epoch`).
    reported: bool,
}

/// The topics one task has seen and whether each was reported.
pub struct TaskTopics {
    status: Arc<StatusStore>,
    connector: String,
    task: u32,
    seen: Vec<Seen>,
    index: HashMap<Box<str>, TopicIndex>,
    /// The topic of the previous record.
    last: Option<TopicIndex>,
    /// The store's topic epoch the `reported` flags are valid for.
    epoch: u64,
}

impl TaskTopics {
    /// Stands for "no topic" where an index is stored.
    pub const NONE: TopicIndex = TopicIndex::MAX;

    pub fn new(status: Arc<StatusStore>, connector: &str, task: u32) -> TaskTopics {
        TaskTopics {
            epoch: status.topic_epoch(),
            status,
            connector: connector.to_owned(),
            task,
            seen: Vec::new(),
            index: HashMap::new(),
            last: None,
        }
    }

    /// The index of `topic`, added to the table when new.
    pub fn intern(&mut self, topic: &str) -> TopicIndex {
        if let Some(i) = self.last {
            if self.seen.get(i as usize).is_some_and(|s| &*s.name == topic) {
                return i;
            }
        }
        let i = match self.index.get(topic) {
            Some(&i) => i,
            None => {
                // A table of u32::MAX - 1 topics is beyond any real task; stop tracking more.
                let Ok(i) = TopicIndex::try_from(self.seen.len()) else {
                    return Self::NONE;
                };
                if i == Self::NONE {
                    return Self::NONE;
                }
                self.seen.push(Seen {
                    name: topic.into(),
                    reported: false,
                });
                self.index.insert(topic.into(), i);
                i
            }
        };
        self.last = Some(i);
        i
    }

    /// Records the topic at `index` unless this task already reported it.
    pub fn record_index(&mut self, index: TopicIndex) {
        let epoch = self.status.topic_epoch();
        if epoch != self.epoch {
            // Topics were forgotten: report again whatever this task uses next.
            for s in &mut self.seen {
                s.reported = false;
            }
            self.epoch = epoch;
        }
        let Some(seen) = self.seen.get_mut(index as usize) else {
            return;
        };
        if seen.reported {
            return;
        }
        // False when another task (or worker) already recorded it: reported either way.
        self.status
            .record_topic(&self.connector, &seen.name, self.task);
        seen.reported = true;
    }

    /// Records `topic` unless this task already reported it.
    pub fn record(&mut self, topic: &str) {
        let index = self.intern(topic);
        self.record_index(index);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_each_topic_once_until_the_store_forgets_it() {
        let status = Arc::new(StatusStore::new("w:1"));
        let mut a = TaskTopics::new(status.clone(), "c", 0);
        let mut b = TaskTopics::new(status.clone(), "c", 1);
        a.record("orders");
        a.record("orders");
        let i = a.intern("audit");
        assert_eq!(a.intern("orders"), 0);
        assert_eq!(a.intern("audit"), i);
        assert_eq!(
            status.active_topics("c"),
            ["orders"],
            "interned, not yet acked"
        );
        a.record_index(i);
        b.record("orders");
        assert_eq!(status.active_topics("c"), ["audit", "orders"]);
        a.record_index(TaskTopics::NONE);

        // Forgotten (a reset): reported again on next use.
        status.reset_topics("c");
        a.record("audit");
        assert_eq!(status.active_topics("c"), ["audit"]);
        b.record("orders");
        assert_eq!(status.active_topics("c"), ["audit", "orders"]);
        // A reset of another connector only makes the tasks look again.
        status.record_topic("d", "x", 0);
        status.reset_topics("d");
        a.record("orders");
        assert_eq!(status.active_topics("c"), ["audit", "orders"]);
    }
}
