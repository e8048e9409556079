//! Group coordination for distributed mode: the Connect group protocol.

pub mod protocol;
