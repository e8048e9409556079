//! Group coordination for distributed mode: the Connect group protocol.

pub mod assignor;
pub mod batches;
pub mod member;
pub mod oauthbearer;
pub mod protocol;
pub mod scram;
pub mod security;
