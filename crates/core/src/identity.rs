//! Identity (KYC) documents: the document type, its number, the issuing country, the
//! expiry date and the verification status, each parsed once at the edge.
//!
//! The document number is what the last deletion step asks for (PRODUCT.md R6), so it is
//! normalised the same way everywhere: case, spaces, hyphens and dots do not matter.
//! It is personal data: [`DocumentNumber`] never prints itself whole (Debug shows the
//! masked form, there is no Display) and its memory is wiped on drop.

use crate::crypto::constant_time_eq;
use std::fmt;
use time::Date;
use zeroize::Zeroizing;

/// The kinds of document an identity verification accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocumentType {
    IdCard,
    Passport,
    DriversLicence,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be one of id_card, passport or drivers_licence")]
pub struct DocumentTypeError;

impl DocumentType {
    pub const ALL: [DocumentType; 3] = [
        DocumentType::IdCard,
        DocumentType::Passport,
        DocumentType::DriversLicence,
    ];

    /// The stored and wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentType::IdCard => "id_card",
            DocumentType::Passport => "passport",
            DocumentType::DriversLicence => "drivers_licence",
        }
    }

    /// For people: "ID card", "passport", "driver's licence" (lower case, to use mid-sentence).
    pub fn label(self) -> &'static str {
        match self {
            DocumentType::IdCard => "ID card",
            DocumentType::Passport => "passport",
            DocumentType::DriversLicence => "driver's licence",
        }
    }

    /// The label with a capital first letter, for headings and list items.
    pub fn title(self) -> &'static str {
        match self {
            DocumentType::IdCard => "ID card",
            DocumentType::Passport => "Passport",
            DocumentType::DriversLicence => "Driver's licence",
        }
    }

    /// Accepts the wire form in any case; `drivers_license` (US spelling) is accepted too.
    pub fn parse(input: &str) -> Result<Self, DocumentTypeError> {
        match input.trim().to_ascii_lowercase().as_str() {
            "id_card" => Ok(DocumentType::IdCard),
            "passport" => Ok(DocumentType::Passport),
            "drivers_licence" | "drivers_license" => Ok(DocumentType::DriversLicence),
            _ => Err(DocumentTypeError),
        }
    }
}

/// Shortest and longest document number accepted, counted after normalisation.
pub const DOCUMENT_NUMBER_MIN: usize = 4;
pub const DOCUMENT_NUMBER_MAX: usize = 32;

/// A document number, normalised: upper-case ASCII letters and digits only.
#[derive(Clone, PartialEq, Eq)]
pub struct DocumentNumber(Zeroizing<String>);

/// Which rule a document number broke. Messages never repeat the number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentNumberError {
    #[error("the document number is empty")]
    Empty,
    #[error("the document number may contain only letters A–Z and digits 0–9 (spaces, hyphens and dots are ignored)")]
    BadCharacter,
    #[error("the document number is too short: it needs at least 4 letters or digits")]
    TooShort,
    #[error("the document number is too long: it has at most 32 letters or digits")]
    TooLong,
}

/// Characters that separate groups of a number and are dropped: whitespace (including
/// the no-break space), hyphens and dashes, dots.
fn is_separator(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '-' | '\u{2010}' // hyphen
                | '\u{2011}' // non-breaking hyphen
                | '\u{2012}' // figure dash
                | '\u{2013}' // en dash
                | '\u{2014}' // em dash
                | '\u{2212}' // minus sign
                | '\u{FE63}' // small hyphen-minus
                | '\u{FF0D}' // fullwidth hyphen-minus
                | '.'
                | '\u{FF0E}' // fullwidth full stop
                | '\u{00B7}' // middle dot
        )
}

impl DocumentNumber {
    /// Drops spaces, hyphens and dots, upper-cases, and checks that 4 to 32 ASCII letters
    /// and digits remain. Idempotent: parsing the result again gives the same number.
    pub fn parse(input: &str) -> Result<Self, DocumentNumberError> {
        let mut out = Zeroizing::new(String::with_capacity(input.len().min(64)));
        let mut seen = 0usize;
        for c in input.chars() {
            if is_separator(c) {
                continue;
            }
            if !c.is_ascii_alphanumeric() {
                return Err(DocumentNumberError::BadCharacter);
            }
            seen += 1;
            if seen > DOCUMENT_NUMBER_MAX {
                return Err(DocumentNumberError::TooLong);
            }
            out.push(c.to_ascii_uppercase());
        }
        match out.len() {
            0 => Err(DocumentNumberError::Empty),
            n if n < DOCUMENT_NUMBER_MIN => Err(DocumentNumberError::TooShort),
            _ => Ok(Self(out)),
        }
    }

    /// The normalised number. Only for sealing and keyed hashing; never show it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The last three characters, the most any page or response shows.
    pub fn last3(&self) -> &str {
        let n = self.0.len();
        &self.0[n.saturating_sub(3)..]
    }

    /// `•••456`.
    pub fn masked(&self) -> String {
        mask_last3(self.last3())
    }

    /// Constant-time equality, for comparing a typed number with a stored one.
    pub fn matches(&self, other: &DocumentNumber) -> bool {
        constant_time_eq(self.0.as_bytes(), other.0.as_bytes())
    }
}

/// `•••` followed by the given last characters.
pub fn mask_last3(last3: &str) -> String {
    format!("•••{last3}")
}

impl fmt::Debug for DocumentNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DocumentNumber({})", self.masked())
    }
}

/// An officially assigned ISO 3166-1 alpha-2 country code, upper case.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Country([u8; 2]);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CountryError {
    #[error("the country is empty: use its two-letter code, like GB or DE")]
    Empty,
    #[error("the country must be a two-letter ISO 3166-1 code, like GB or DE")]
    Shape,
    #[error("that is not an assigned ISO 3166-1 country code; use the two-letter code of the issuing country, like GB or DE")]
    Unassigned,
}

impl Country {
    /// Trims and upper-cases, then looks the code up in [`ISO_3166_ALPHA2`].
    pub fn parse(input: &str) -> Result<Self, CountryError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(CountryError::Empty);
        }
        let bytes = trimmed.as_bytes();
        if bytes.len() != 2 || !bytes.iter().all(u8::is_ascii_alphabetic) {
            return Err(CountryError::Shape);
        }
        let code = [bytes[0].to_ascii_uppercase(), bytes[1].to_ascii_uppercase()];
        let text = std::str::from_utf8(&code).map_err(|_| CountryError::Shape)?;
        if ISO_3166_ALPHA2.binary_search(&text).is_ok() {
            Ok(Self(code))
        } else {
            Err(CountryError::Unassigned)
        }
    }

    pub fn as_str(&self) -> &str {
        // Only ever built from two ASCII letters.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Country({})", self.as_str())
    }
}

/// The 249 officially assigned ISO 3166-1 alpha-2 codes, sorted (binary search).
/// User-assigned codes such as XK are not included.
pub const ISO_3166_ALPHA2: [&str; 249] = [
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
];

/// Where a verification stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdentityStatus {
    Pending,
    Approved,
    Rejected,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be one of pending, approved or rejected")]
pub struct IdentityStatusError;

impl IdentityStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            IdentityStatus::Pending => "pending",
            IdentityStatus::Approved => "approved",
            IdentityStatus::Rejected => "rejected",
        }
    }

    /// For people.
    pub fn label(self) -> &'static str {
        match self {
            IdentityStatus::Pending => "Waiting for review",
            IdentityStatus::Approved => "Approved",
            IdentityStatus::Rejected => "Rejected",
        }
    }

    pub fn parse(input: &str) -> Result<Self, IdentityStatusError> {
        match input.trim().to_ascii_lowercase().as_str() {
            "pending" => Ok(IdentityStatus::Pending),
            "approved" => Ok(IdentityStatus::Approved),
            "rejected" => Ok(IdentityStatus::Rejected),
            _ => Err(IdentityStatusError),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpiryError {
    #[error("the expiry date is empty: use the date printed on the document, as YYYY-MM-DD")]
    Empty,
    #[error("the expiry date must be a real date written YYYY-MM-DD, like 2031-04-30")]
    Format,
    #[error("the expiry date must be between the years 1900 and 2199")]
    OutOfRange,
}

/// Parses a document's expiry date, `YYYY-MM-DD`. Past dates are fine: an expired
/// document still identifies its holder (R6: the expiry does not matter).
pub fn parse_expiry(input: &str) -> Result<Date, ExpiryError> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(ExpiryError::Empty);
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = Date::parse(trimmed, &format).map_err(|_| ExpiryError::Format)?;
    if !(1900..=2199).contains(&date.year()) {
        return Err(ExpiryError::OutOfRange);
    }
    Ok(date)
}

/// `YYYY-MM-DD`, the stored and wire form of an expiry date.
pub fn format_date(date: Date) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    date.format(&format).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::date;

    #[test]
    fn document_types_round_trip_with_labels() {
        for t in DocumentType::ALL {
            assert_eq!(DocumentType::parse(t.as_str()), Ok(t));
            assert!(!t.label().is_empty() && !t.title().is_empty());
        }
        assert_eq!(
            DocumentType::parse(" Passport "),
            Ok(DocumentType::Passport)
        );
        assert_eq!(
            DocumentType::parse("drivers_license"),
            Ok(DocumentType::DriversLicence)
        );
        assert_eq!(DocumentType::parse("visa"), Err(DocumentTypeError));
        assert_eq!(DocumentType::parse(""), Err(DocumentTypeError));
    }

    #[test]
    fn numbers_normalise_case_spaces_hyphens_and_dots() {
        let n = DocumentNumber::parse(" ab-12 34.56 ").unwrap();
        assert_eq!(n.as_str(), "AB123456");
        for raw in [
            "AB123456",
            "ab 123 456",
            "AB–123–456",
            "A\u{a0}B.12.34.56",
            "a-b-1-2-3-4-5-6",
        ] {
            assert_eq!(DocumentNumber::parse(raw).unwrap(), n, "{raw}");
        }
    }

    #[test]
    fn numbers_say_which_rule_they_break() {
        assert_eq!(DocumentNumber::parse(""), Err(DocumentNumberError::Empty));
        assert_eq!(
            DocumentNumber::parse(" - . "),
            Err(DocumentNumberError::Empty)
        );
        assert_eq!(
            DocumentNumber::parse("AB1"),
            Err(DocumentNumberError::TooShort)
        );
        assert!(DocumentNumber::parse("AB12").is_ok());
        assert!(DocumentNumber::parse(&"9".repeat(32)).is_ok());
        assert_eq!(
            DocumentNumber::parse(&"9".repeat(33)),
            Err(DocumentNumberError::TooLong)
        );
        assert_eq!(
            DocumentNumber::parse("AB12/34"),
            Err(DocumentNumberError::BadCharacter)
        );
        assert_eq!(
            DocumentNumber::parse("ÄB1234"),
            Err(DocumentNumberError::BadCharacter),
            "no letters outside A–Z, even ones that upper-case into it"
        );
        assert_eq!(
            DocumentNumber::parse("ıd1234"),
            Err(DocumentNumberError::BadCharacter)
        );
        for err in [
            DocumentNumberError::Empty,
            DocumentNumberError::BadCharacter,
            DocumentNumberError::TooShort,
            DocumentNumberError::TooLong,
        ] {
            assert!(err.to_string().starts_with("the document number"));
        }
    }

    #[test]
    fn masked_and_debug_show_only_the_last_three() {
        let n = DocumentNumber::parse("ZQ9876543").unwrap();
        assert_eq!(n.masked(), "•••543");
        assert_eq!(n.last3(), "543");
        let debug = format!("{n:?}");
        assert_eq!(debug, "DocumentNumber(•••543)");
        assert!(!debug.contains("ZQ98"));
        let short = DocumentNumber::parse("ab12").unwrap();
        assert_eq!(short.masked(), "•••B12");
        assert!(n.matches(&DocumentNumber::parse("zq 987-6543").unwrap()));
        assert!(!n.matches(&short));
    }

    #[test]
    fn countries_are_assigned_iso_codes() {
        assert_eq!(ISO_3166_ALPHA2.len(), 249);
        assert!(
            ISO_3166_ALPHA2.windows(2).all(|w| w[0] < w[1]),
            "sorted and unique"
        );
        assert!(ISO_3166_ALPHA2
            .iter()
            .all(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase())));
        assert_eq!(Country::parse("gb").unwrap().as_str(), "GB");
        assert_eq!(Country::parse(" De ").unwrap().to_string(), "DE");
        for code in ISO_3166_ALPHA2 {
            assert_eq!(Country::parse(code).unwrap().as_str(), code);
        }
        assert_eq!(Country::parse(""), Err(CountryError::Empty));
        assert_eq!(Country::parse("GBR"), Err(CountryError::Shape));
        assert_eq!(Country::parse("G1"), Err(CountryError::Shape));
        assert_eq!(Country::parse("ÄB"), Err(CountryError::Shape));
        assert_eq!(
            Country::parse("XK"),
            Err(CountryError::Unassigned),
            "user-assigned"
        );
        assert_eq!(Country::parse("UK"), Err(CountryError::Unassigned));
    }

    #[test]
    fn statuses_round_trip() {
        for s in [
            IdentityStatus::Pending,
            IdentityStatus::Approved,
            IdentityStatus::Rejected,
        ] {
            assert_eq!(IdentityStatus::parse(s.as_str()), Ok(s));
            assert!(!s.label().is_empty());
        }
        assert_eq!(IdentityStatus::parse("done"), Err(IdentityStatusError));
    }

    #[test]
    fn expiry_dates_parse_and_may_be_past() {
        assert_eq!(parse_expiry("2031-04-30"), Ok(date!(2031 - 04 - 30)));
        assert_eq!(
            parse_expiry(" 1999-01-01 "),
            Ok(date!(1999 - 01 - 01)),
            "expired is fine"
        );
        assert_eq!(parse_expiry(""), Err(ExpiryError::Empty));
        assert_eq!(parse_expiry("2031-02-30"), Err(ExpiryError::Format));
        assert_eq!(parse_expiry("30/04/2031"), Err(ExpiryError::Format));
        assert_eq!(parse_expiry("2031-4-30"), Err(ExpiryError::Format));
        assert_eq!(parse_expiry("0031-04-30"), Err(ExpiryError::OutOfRange));
        assert_eq!(format_date(date!(2031 - 04 - 03)), "2031-04-03");
    }

    /// A separator the parser drops.
    fn separator() -> impl Strategy<Value = char> {
        prop::sample::select(vec![' ', '-', '.', '\u{a0}', '\u{2013}', '\t'])
    }

    proptest! {
        #[test]
        fn parse_is_idempotent(raw in "[a-zA-Z0-9 .\\-]{0,40}") {
            if let Ok(once) = DocumentNumber::parse(&raw) {
                let twice = DocumentNumber::parse(once.as_str()).unwrap();
                prop_assert_eq!(&once, &twice);
                prop_assert!(once.as_str().bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
                prop_assert!((DOCUMENT_NUMBER_MIN..=DOCUMENT_NUMBER_MAX).contains(&once.as_str().len()));
            }
        }

        #[test]
        fn separators_and_case_do_not_matter(
            number in "[A-Z0-9]{4,32}",
            flips in prop::collection::vec(any::<bool>(), 32),
            inserts in prop::collection::vec((0usize..40, separator()), 0..12),
        ) {
            let canonical = DocumentNumber::parse(&number).unwrap();
            prop_assert_eq!(canonical.as_str(), number.as_str());
            let mut chars: Vec<char> = number
                .chars()
                .zip(flips.iter())
                .map(|(c, flip)| if *flip { c.to_ascii_lowercase() } else { c })
                .collect();
            for (at, sep) in inserts {
                let at = at.min(chars.len());
                chars.insert(at, sep);
            }
            let messy: String = chars.into_iter().collect();
            prop_assert_eq!(DocumentNumber::parse(&messy).unwrap(), canonical);
        }

        #[test]
        fn never_panics(input in "\\PC*") {
            let _ = DocumentNumber::parse(&input);
            let _ = Country::parse(&input);
            let _ = DocumentType::parse(&input);
            let _ = parse_expiry(&input);
        }
    }
}
