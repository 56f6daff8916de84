//! The events offboard announces to the exchange's other services (R13), named once: the
//! store writes them, webhook endpoints subscribe to them, the API lists them.

/// One kind of event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EventType {
    /// The account was erased (R7).
    AccountDeleted,
    /// A deletion flow began (R2).
    AccountDeletionStarted,
    /// Support approved an assisted recovery (R11).
    AccountRecovered,
    /// The owner froze the account (R17): every session was revoked.
    AccountFrozen,
}

impl EventType {
    /// Every event, in the order endpoints list them.
    pub const ALL: [EventType; 4] = [
        EventType::AccountDeleted,
        EventType::AccountDeletionStarted,
        EventType::AccountRecovered,
        EventType::AccountFrozen,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::AccountDeleted => "account.deleted",
            EventType::AccountDeletionStarted => "account.deletion_started",
            EventType::AccountRecovered => "account.recovered",
            EventType::AccountFrozen => "account.frozen",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_reads_back_as_written() {
        for event in EventType::ALL {
            assert_eq!(EventType::parse(event.as_str()), Some(event));
        }
        assert_eq!(EventType::parse("account.created"), None);
    }
}
