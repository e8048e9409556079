//! SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677) for the group member's SASL login,
//! done by the rsasl crate: this module only feeds it the credentials and the broker's
//! messages. The client checks the broker's final signature, so a broker that does not know
//! the password cannot pass for the real one.

use std::sync::Arc;

use rsasl::prelude::{Mechname, MessageSent, SASLClient, SASLConfig, Session, State};

use super::security::SaslMechanism;

/// One SCRAM exchange in progress.
pub struct Scram {
    session: Session,
}

/// What the client does next.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// Send these bytes and wait for the answer.
    Send(Vec<u8>),
    /// The exchange succeeded.
    Done,
}

impl Scram {
    /// Starts an exchange for `mechanism` (a SCRAM one).
    pub fn start(
        mechanism: SaslMechanism,
        username: &str,
        password: &str,
    ) -> Result<Scram, String> {
        let config: Arc<SASLConfig> =
            SASLConfig::with_credentials(None, username.to_owned(), password.to_owned())
                .map_err(|e| e.to_string())?;
        let name = Mechname::parse(mechanism.name().as_bytes()).map_err(|e| e.to_string())?;
        let session = SASLClient::new(config)
            .start_suggested(&[name])
            .map_err(|e| format!("{} is not available: {e}", mechanism.name()))?;
        if session.get_mechname().as_str() != mechanism.name() {
            return Err(format!("{} is not available", mechanism.name()));
        }
        Ok(Scram { session })
    }

    /// The client's first message (`input` = `None`), or its answer to the broker's message.
    pub fn step(&mut self, input: Option<&[u8]>) -> Result<Next, String> {
        let mut out = Vec::new();
        let state = self
            .session
            .step(input, &mut out)
            .map_err(|e| e.to_string())?;
        match state {
            State::Running | State::Finished(MessageSent::Yes) => Ok(Next::Send(out)),
            State::Finished(MessageSent::No) => Ok(Next::Done),
        }
    }
}
