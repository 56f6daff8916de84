//! Phone numbers, parsed with libphonenumber's rules and kept in E.164 (`+4915112345678`).

use std::fmt;

#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error(
        "enter the number in international format with its country code, such as +44 7911 123456"
    )]
    Unparseable,
    #[error(
        "this is not a valid phone number for its country; check the digits and the country code"
    )]
    Invalid,
}

impl PhoneNumber {
    /// Accepts spaces, dashes and brackets; needs the `+` country code because an exchange
    /// serves customers of many countries and a guess would send codes abroad.
    pub fn parse(input: &str) -> Result<Self, PhoneError> {
        let trimmed = input.trim();
        if !trimmed.starts_with('+') || trimmed.len() > 32 {
            return Err(PhoneError::Unparseable);
        }
        let parsed = phonenumber::parse(None, trimmed).map_err(|_| PhoneError::Unparseable)?;
        if !phonenumber::is_valid(&parsed) {
            return Err(PhoneError::Invalid);
        }
        Ok(Self(
            parsed.format().mode(phonenumber::Mode::E164).to_string(),
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The last 4 digits, for pages that must not show the whole number.
    pub fn masked(&self) -> String {
        let tail: String = self
            .0
            .chars()
            .rev()
            .take(4)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("•••• {tail}")
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneNumber({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn formats_to_e164() {
        assert_eq!(
            PhoneNumber::parse("+44 7911 123456").unwrap().as_str(),
            "+447911123456"
        );
        assert_eq!(
            PhoneNumber::parse(" +1 (415) 555-2671 ").unwrap().as_str(),
            "+14155552671"
        );
        assert_eq!(
            PhoneNumber::parse("+49 151 23456789").unwrap().as_str(),
            "+4915123456789"
        );
    }

    #[test]
    fn refuses_numbers_without_country_code_or_invalid() {
        assert_eq!(
            PhoneNumber::parse("07700 900123"),
            Err(PhoneError::Unparseable)
        );
        assert_eq!(PhoneNumber::parse("hello"), Err(PhoneError::Unparseable));
        assert_eq!(PhoneNumber::parse("+44 12"), Err(PhoneError::Invalid));
    }

    #[test]
    fn debug_and_masked_hide_the_number() {
        let p = PhoneNumber::parse("+447911123456").unwrap();
        assert_eq!(p.masked(), "•••• 3456");
        assert!(!format!("{p:?}").contains("7911123"));
    }

    proptest! {
        #[test]
        fn never_panics_and_output_reparses(input in "\\+?[0-9 ()-]{0,20}") {
            if let Ok(p) = PhoneNumber::parse(&input) {
                prop_assert_eq!(PhoneNumber::parse(p.as_str()).unwrap(), p);
            }
        }
    }
}
