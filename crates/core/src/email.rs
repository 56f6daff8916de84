//! Email addresses, parsed once at the edge and normalised so the same mailbox can never
//! hold two accounts (case differences are folded).

use std::fmt;

#[derive(Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("the email address is empty")]
    Empty,
    #[error("the email address is longer than 254 characters")]
    TooLong,
    #[error("the email address needs exactly one @ with a name before it and a domain after it")]
    Shape,
    #[error("the email address contains spaces or control characters")]
    BadCharacter,
    #[error("the domain of the email address needs a dot, as in example.com")]
    Domain,
}

impl EmailAddress {
    /// Trims surrounding whitespace, lower-cases the whole address and checks its shape.
    /// Deliberately not a full RFC 5322 parser: the code we email proves the mailbox.
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(EmailError::Empty);
        }
        if trimmed.chars().count() > 254 {
            return Err(EmailError::TooLong);
        }
        if trimmed.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(EmailError::BadCharacter);
        }
        let normalised = trimmed.to_lowercase();
        let mut parts = normalised.split('@');
        let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(EmailError::Shape);
        };
        if local.is_empty() || local.len() > 64 || domain.is_empty() {
            return Err(EmailError::Shape);
        }
        let labels_ok = domain
            .split('.')
            .all(|label| !label.is_empty() && !label.starts_with('-') && !label.ends_with('-'));
        if !domain.contains('.') || !labels_ok {
            return Err(EmailError::Domain);
        }
        Ok(Self(normalised))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Debug shows only the domain: addresses are personal data and do not belong in logs.
impl fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let domain = self.0.split('@').nth(1).unwrap_or("");
        write!(f, "EmailAddress(***@{domain})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn folds_case_and_trims() {
        let email = EmailAddress::parse("  Alice.Smith@Example.COM ").unwrap();
        assert_eq!(email.as_str(), "alice.smith@example.com");
    }

    #[test]
    fn rejects_bad_shapes_with_the_reason() {
        assert_eq!(EmailAddress::parse(""), Err(EmailError::Empty));
        assert_eq!(EmailAddress::parse("no-at-sign"), Err(EmailError::Shape));
        assert_eq!(EmailAddress::parse("a@b@c.com"), Err(EmailError::Shape));
        assert_eq!(EmailAddress::parse("@example.com"), Err(EmailError::Shape));
        assert_eq!(EmailAddress::parse("a@localhost"), Err(EmailError::Domain));
        assert_eq!(EmailAddress::parse("a@exa..com"), Err(EmailError::Domain));
        assert_eq!(
            EmailAddress::parse("a b@example.com"),
            Err(EmailError::BadCharacter)
        );
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(EmailAddress::parse(&long), Err(EmailError::TooLong));
    }

    #[test]
    fn debug_hides_the_mailbox() {
        let email = EmailAddress::parse("secret.person@example.com").unwrap();
        assert!(!format!("{email:?}").contains("secret.person"));
    }

    proptest! {
        #[test]
        fn parsing_is_idempotent_and_case_insensitive(local in "[a-zA-Z0-9._%+-]{1,30}", domain in "[a-zA-Z0-9]{1,20}\\.[a-zA-Z]{2,6}") {
            let raw = format!("{local}@{domain}");
            let once = EmailAddress::parse(&raw).unwrap();
            let twice = EmailAddress::parse(once.as_str()).unwrap();
            prop_assert_eq!(&once, &twice);
            let upper = EmailAddress::parse(&raw.to_uppercase()).unwrap();
            prop_assert_eq!(once, upper);
        }

        #[test]
        fn never_panics(input in "\\PC*") {
            let _ = EmailAddress::parse(&input);
        }
    }
}
