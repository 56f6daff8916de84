//! Contact support (PRODUCT.md "Around the journey"; R11, R15): what a signed-in person
//! can write to support about, and the rules a message (or an agent's answer) follows.
//! The help pages that say "contact support" link here with the matching topic.

/// What a contact request is about. The first two are the cases the help pages send
/// people to support for (a changed document number, a locked identity step).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SupportTopic {
    DocumentChanged,
    IdentityLocked,
    Other,
}

impl SupportTopic {
    pub const ALL: [SupportTopic; 3] = [
        SupportTopic::DocumentChanged,
        SupportTopic::IdentityLocked,
        SupportTopic::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SupportTopic::DocumentChanged => "document_changed",
            SupportTopic::IdentityLocked => "identity_locked",
            SupportTopic::Other => "other",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == text)
    }

    /// The topic as a person reads it on the form and in emails.
    pub fn label(self) -> &'static str {
        match self {
            SupportTopic::DocumentChanged => "My ID document number changed",
            SupportTopic::IdentityLocked => "My identity step is locked",
            SupportTopic::Other => "Something else",
        }
    }
}

/// Where a contact request stands (`support_requests.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SupportRequestStatus {
    /// Waiting for support.
    Open,
    /// Support answered it by email.
    Answered,
}

impl SupportRequestStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SupportRequestStatus::Open => "open",
            SupportRequestStatus::Answered => "answered",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [SupportRequestStatus::Open, SupportRequestStatus::Answered]
            .into_iter()
            .find(|s| s.as_str() == text)
    }

    pub fn label(self) -> &'static str {
        match self {
            SupportRequestStatus::Open => "Waiting for support",
            SupportRequestStatus::Answered => "Answered by email",
        }
    }
}

/// An account may have this many requests waiting at once: enough for real needs, and
/// a cap on how much one account can pile into the agents' queue.
pub const MAX_OPEN_SUPPORT_REQUESTS: u32 = 3;
/// The longest message (or answer), in characters, after trimming.
pub const MAX_SUPPORT_TEXT_CHARS: usize = 2000;

/// Why a message (or an answer) was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SupportTextError {
    #[error("the text is empty")]
    Empty,
    #[error("the text is longer than {MAX_SUPPORT_TEXT_CHARS} characters")]
    TooLong { chars: usize },
    /// NUL or another control character besides line breaks and tabs.
    #[error("the text holds a control character")]
    ControlCharacter,
}

/// A message to support, or support's answer: 1 to 2000 characters after trimming, with
/// line breaks and tabs but no other control character (a NUL cannot be stored on
/// PostgreSQL, and the rest are never typed by a person). Line breaks are stored as
/// `\n` whatever the browser sent (`\r\n` from a text area).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupportText(String);

impl SupportText {
    pub fn parse(text: &str) -> Result<Self, SupportTextError> {
        let text = text.replace("\r\n", "\n").replace('\r', "\n");
        // Before trimming: some control characters (NEL) count as white space.
        if text
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            return Err(SupportTextError::ControlCharacter);
        }
        let text = text.trim();
        if text.is_empty() {
            return Err(SupportTextError::Empty);
        }
        let chars = text.chars().count();
        if chars > MAX_SUPPORT_TEXT_CHARS {
            return Err(SupportTextError::TooLong { chars });
        }
        Ok(SupportText(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_and_statuses_read_back_as_written() {
        for topic in SupportTopic::ALL {
            assert_eq!(SupportTopic::parse(topic.as_str()), Some(topic));
            assert!(!topic.label().is_empty());
        }
        assert_eq!(SupportTopic::parse("Other"), None);
        assert_eq!(SupportTopic::parse(""), None);
        for status in [SupportRequestStatus::Open, SupportRequestStatus::Answered] {
            assert_eq!(SupportRequestStatus::parse(status.as_str()), Some(status));
        }
    }

    #[test]
    fn text_is_trimmed_and_keeps_lines_and_tabs() {
        let text = SupportText::parse("  Hello\r\n\tsupport\rthanks  ").unwrap();
        assert_eq!(text.as_str(), "Hello\n\tsupport\nthanks");
    }

    #[test]
    fn text_refuses_empty_long_and_control_characters() {
        assert_eq!(SupportText::parse(" \n\t "), Err(SupportTextError::Empty));
        assert_eq!(
            SupportText::parse(&"é".repeat(2001)),
            Err(SupportTextError::TooLong { chars: 2001 })
        );
        assert!(SupportText::parse(&"é".repeat(2000)).is_ok());
        for bad in [
            "a\u{0}b",
            "bell\u{7}",
            "esc\u{1b}[31m",
            "del\u{7f}",
            "c1\u{85}",
        ] {
            assert_eq!(
                SupportText::parse(bad),
                Err(SupportTextError::ControlCharacter),
                "{bad:?}"
            );
        }
    }
}
