//! Herders: who decides what runs where. Both implement the REST layer's
//! [`Herder`](crate::rest::api::Herder) contract over the [`Worker`](crate::worker::Worker),
//! which runs connectors and tasks; they keep only what differs: where configs, target states
//! and statuses live, and who may write them. [`standalone`] keeps configs in memory and
//! offsets in a file; [`distributed`] shares them through Kafka's internal topics and the
//! group protocol.

pub mod distributed;
pub mod reconfigure;
pub mod standalone;
pub mod topics;
pub mod validation;
