//! Who did something, as the audit log (R14) and the identity history name them:
//! `user` (the account holder), `admin` (the host API), `system` (the service itself) or
//! `agent:<id>` (a support agent, R11). Written and read back in one place.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    User,
    Admin,
    System,
    /// A support agent, by agent id.
    Agent(String),
}

const AGENT_PREFIX: &str = "agent:";

impl Actor {
    /// The actor an audit line names; `None` for text no version of offboard writes.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "user" => Some(Actor::User),
            "admin" => Some(Actor::Admin),
            "system" => Some(Actor::System),
            other => other
                .strip_prefix(AGENT_PREFIX)
                .filter(|id| !id.is_empty())
                .map(|id| Actor::Agent(id.to_owned())),
        }
    }

    /// The agent's id, for an agent.
    pub fn agent_id(&self) -> Option<&str> {
        match self {
            Actor::Agent(id) => Some(id),
            _ => None,
        }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::User => f.write_str("user"),
            Actor::Admin => f.write_str("admin"),
            Actor::System => f.write_str("system"),
            Actor::Agent(id) => write!(f, "{AGENT_PREFIX}{id}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_actor_reads_back_as_written() {
        for actor in [
            Actor::User,
            Actor::Admin,
            Actor::System,
            Actor::Agent("0190-ab".into()),
        ] {
            assert_eq!(Actor::parse(&actor.to_string()), Some(actor));
        }
        assert_eq!(Actor::parse("agent:"), None);
        assert_eq!(Actor::parse("someone"), None);
        assert_eq!(
            Actor::parse("agent:x").as_ref().and_then(Actor::agent_id),
            Some("x")
        );
    }
}
