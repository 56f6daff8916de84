//! Email addresses, parsed once at the edge into one canonical form (PRODUCT.md R9).
//!
//! Account uniqueness and the deletion tombstone (a keyed hash of the address) both use
//! [`EmailAddress::as_str`]. So every spelling of one mailbox has to come out as the same
//! string. If it did not, the owner of a deleted account could sign up again at once with
//! a variant and skip the 30-day wait. All canonicalisation happens here and nowhere else:
//!
//! 1. whitespace around the address is trimmed;
//! 2. the address is put in Unicode NFKC, so full-width and other compatibility forms become
//!    plain letters (`ａｌｉｃｅ` → `alice`, the long s `ſ` → `s`, `＠` → `@`, `ﬁ` → `fi`);
//! 3. the local part is lower-cased with full Unicode lower case, then put in NFKC again;
//! 4. the domain goes through IDNA (UTS #46, strict: STD3 ASCII rules, hyphen checks, DNS
//!    lengths) to its ASCII (punycode) form, so `ÉXAMPLE.com`, `éxample.com` and
//!    `xn--xample-9ua.com` are one domain.
//!
//! Everything that could make two strings look like one address without being equal is
//! refused, each case with its own [`EmailError`]. That covers invisible and format
//! characters (general category Cf, such as U+200B, U+00AD, U+202E and U+FEFF, and the other
//! default-ignorable code points), control characters, unassigned and private-use code
//! points, whitespace, quoted local parts, combining marks left in the local part after
//! NFKC, RFC 5322 comments and other characters outside `atext`, misplaced dots, a trailing
//! dot on the domain, anything but exactly one `@`, empty parts, and more than 64 bytes
//! before the `@` or 254 bytes in all (RFC 5321 counts bytes; in ASCII, one per character).
//! Before any work is done, input over [`MAX_INPUT_CHARS`] characters is refused as too long.
//!
//! Two behaviours depend on [`EmailPolicy`], and both are off by default:
//! - `allow_international`: a local part that is not ASCII is refused unless this is on.
//!   When it is on, the local part is kept in NFKC lower case, but its non-ASCII characters
//!   must be letters or digits, and combining marks are still refused;
//! - `fold_plus_tags`: by default `alice+shop@example.com` and `alice@example.com` are two
//!   different addresses (sub-addressing is a convention of some providers, not a rule of
//!   mail). When this is on, everything from the first `+` to the `@` is dropped, unless
//!   the `+` is the first character.
//!
//! Deliberately not a full RFC 5322 parser: the code we email proves the mailbox.

use std::fmt;

use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, GeneralCategoryGroup, UnicodeGeneralCategory};

/// RFC 5321 limit for a whole address (a 256-byte path less its angle brackets), in bytes
/// of the canonical form.
pub const MAX_ADDRESS_LEN: usize = 254;
/// RFC 5321 limit for the local part, in bytes of the canonical form.
pub const MAX_LOCAL_LEN: usize = 64;
/// A bound on raw input, checked before any work. It is four characters for each byte of a
/// canonical form that fits: NFKC composes at most four code points into one character,
/// and each character of the canonical form is at least one byte.
pub const MAX_INPUT_CHARS: usize = 4 * MAX_ADDRESS_LEN;

/// A canonical email address: see the module documentation for what is folded and refused.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

/// How permissive [`EmailAddress::parse_with`] is. `Default` turns both settings off.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EmailPolicy {
    /// Accept local parts that are not ASCII (RFC 6531), kept in NFKC lower case.
    pub allow_international: bool,
    /// Fold `alice+tag@example.com` into `alice@example.com`.
    pub fold_plus_tags: bool,
}

/// Why an address was refused. The messages name the rule and never include the address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("the email address is empty")]
    Empty,
    /// Counted in bytes of the canonical form (one per character in ASCII), or over
    /// [`MAX_INPUT_CHARS`] characters as typed.
    #[error("the email address is longer than 254 characters")]
    TooLong,
    /// No `@` at all.
    #[error("the email address needs exactly one @ with a name before it and a domain after it")]
    Shape,
    /// Whitespace anywhere inside the address (trimmed at the ends), or a control character.
    #[error("the email address contains spaces or control characters")]
    BadCharacter,
    /// The domain has no dot, an empty label, or a label that starts or ends with a hyphen.
    #[error(
        "the domain of the email address needs a dot, as in example.com, with no empty part \
         and no part that starts or ends with a hyphen"
    )]
    Domain,
    /// A format (Cf) or other default-ignorable character: U+200B, U+00AD, U+202E, U+FEFF …
    #[error(
        "the email address contains an invisible or formatting character (such as a zero-width \
         space, a soft hyphen or a text-direction mark), which email addresses cannot contain"
    )]
    InvisibleCharacter,
    /// An unassigned (Cn) or private-use (Co) code point, whose meaning could change.
    #[error("the email address contains an unassigned or private-use character")]
    UnassignedCharacter,
    /// Any `"`: quoted local parts are not accepted.
    #[error("quoted email addresses are not accepted: write the address without quotation marks")]
    Quoted,
    /// The domain ends with a dot, as in `alice@example.com.`.
    #[error(
        "the domain of the email address ends with a dot: remove the dot at the end of the domain"
    )]
    TrailingDot,
    #[error("the email address contains more than one @")]
    MoreThanOneAt,
    #[error("the email address needs a name before the @")]
    EmptyLocalPart,
    #[error("the email address needs a domain after the @, as in example.com")]
    EmptyDomain,
    /// More than 64 bytes before the `@`, in the canonical form.
    #[error("the part of the email address before the @ is longer than 64 characters")]
    LocalPartTooLong,
    /// A character outside RFC 5322 `atext` (such as `(`, `,` or `\`), or a non-ASCII
    /// character that is not a letter or a digit.
    #[error(
        "the part of the email address before the @ may contain only letters, digits, dots \
         and the symbols ! # $ % & ' * + - / = ? ^ _ ` {{ | }} ~"
    )]
    LocalPartCharacter,
    #[error(
        "the part of the email address before the @ cannot start or end with a dot or have \
         two dots in a row"
    )]
    LocalPartDots,
    /// A combining mark (M*) in the local part that NFKC did not compose into a letter.
    #[error(
        "the part of the email address before the @ contains a combining mark that is not part \
         of a single accented letter"
    )]
    CombiningMark,
    /// A local part that is not ASCII, while the policy does not allow it.
    #[error(
        "the part of the email address before the @ must use ASCII letters, digits and symbols: \
         internationalised email addresses are not accepted here"
    )]
    InternationalLocalPart,
    /// IDNA (UTS #46, strict) refused the domain.
    #[error(
        "the domain of the email address is not a valid domain name: use letters, digits and \
         hyphens, at most 63 characters between dots"
    )]
    DomainName,
}

impl EmailAddress {
    /// [`EmailAddress::parse_with`] under [`EmailPolicy::default`]: ASCII local parts only,
    /// `+tag` kept.
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        Self::parse_with(input, &EmailPolicy::default())
    }

    /// Canonicalises `input` (see the module documentation) or says which rule refused it.
    pub fn parse_with(input: &str, policy: &EmailPolicy) -> Result<Self, EmailError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(EmailError::Empty);
        }
        if trimmed.chars().count() > MAX_INPUT_CHARS {
            return Err(EmailError::TooLong);
        }
        check_characters(trimmed)?;
        let normalised: String = trimmed.nfkc().collect();
        // NFKC can turn a harmless-looking character into a refused one (U+FF02 into `"`,
        // U+3000 into a space), so the normalised form is checked as well.
        check_characters(&normalised)?;

        let mut parts = normalised.split('@');
        let (Some(local), Some(domain)) = (parts.next(), parts.next()) else {
            return Err(EmailError::Shape);
        };
        if parts.next().is_some() {
            return Err(EmailError::MoreThanOneAt);
        }
        if local.is_empty() {
            return Err(EmailError::EmptyLocalPart);
        }
        if domain.is_empty() {
            return Err(EmailError::EmptyDomain);
        }

        let local = canonical_local(local, policy)?;
        let domain = canonical_domain(domain)?;
        if local.len() + 1 + domain.len() > MAX_ADDRESS_LEN {
            return Err(EmailError::TooLong);
        }
        if local.len() > MAX_LOCAL_LEN {
            return Err(EmailError::LocalPartTooLong);
        }
        Ok(Self(format!("{local}@{domain}")))
    }

    /// The canonical form: the key for uniqueness and for the deletion tombstone.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Characters refused anywhere in the address, in order of precedence.
fn check_characters(s: &str) -> Result<(), EmailError> {
    if s.chars().any(is_invisible) {
        return Err(EmailError::InvisibleCharacter);
    }
    if s.chars().any(char::is_control) {
        return Err(EmailError::BadCharacter);
    }
    if s.chars().any(|c| {
        matches!(
            c.general_category(),
            GeneralCategory::Unassigned | GeneralCategory::PrivateUse | GeneralCategory::Surrogate
        )
    }) {
        return Err(EmailError::UnassignedCharacter);
    }
    if s.contains('"') {
        return Err(EmailError::Quoted);
    }
    if s.chars().any(char::is_whitespace) {
        return Err(EmailError::BadCharacter);
    }
    Ok(())
}

/// Format characters (general category Cf: U+00AD, U+061C, U+180E, U+200B–U+200F,
/// U+202A–U+202E, U+2060–U+206F, U+FEFF, the tag characters …), plus the default-ignorable
/// code points of other categories.
fn is_invisible(c: char) -> bool {
    c.general_category() == GeneralCategory::Format
        || DEFAULT_IGNORABLE_NOT_FORMAT
            .iter()
            .any(|&(first, last)| (first..=last).contains(&c))
}

/// The assigned code points with the Default_Ignorable_Code_Point property (Unicode's
/// DerivedCoreProperties.txt) that are not in category Cf. unicode-properties has no such
/// property, so they are listed here. The unassigned ones are refused as unassigned.
const DEFAULT_IGNORABLE_NOT_FORMAT: &[(char, char)] = &[
    // combining grapheme joiner (Mn)
    ('\u{034F}', '\u{034F}'),
    // Hangul choseong and jungseong fillers (Lo)
    ('\u{115F}', '\u{1160}'),
    // Khmer inherent vowels (Mn)
    ('\u{17B4}', '\u{17B5}'),
    // Mongolian free variation selectors one to three (Mn)
    ('\u{180B}', '\u{180D}'),
    // Mongolian free variation selector four (Mn)
    ('\u{180F}', '\u{180F}'),
    // Hangul filler (Lo)
    ('\u{3164}', '\u{3164}'),
    // variation selectors (Mn)
    ('\u{FE00}', '\u{FE0F}'),
    // halfwidth Hangul filler (Lo)
    ('\u{FFA0}', '\u{FFA0}'),
    // variation selectors supplement (Mn)
    ('\u{E0100}', '\u{E01EF}'),
];

/// RFC 5322 `atext`, without the letters and digits.
const ATEXT_SYMBOLS: &str = "!#$%&'*+-/=?^_`{|}~";

fn canonical_local(local: &str, policy: &EmailPolicy) -> Result<String, EmailError> {
    // Lower case can produce what NFKC changes again (U+0130 becomes `i` and U+0307), so
    // NFKC runs after it too: the result is stable when parsed again.
    let mut local: String = local.to_lowercase().nfkc().collect();
    if local
        .chars()
        .any(|c| c.general_category_group() == GeneralCategoryGroup::Mark)
    {
        return Err(EmailError::CombiningMark);
    }
    if !local.is_ascii() && !policy.allow_international {
        return Err(EmailError::InternationalLocalPart);
    }
    let allowed = |c: char| {
        if c.is_ascii() {
            c.is_ascii_alphanumeric() || c == '.' || ATEXT_SYMBOLS.contains(c)
        } else {
            matches!(
                c.general_category_group(),
                GeneralCategoryGroup::Letter | GeneralCategoryGroup::Number
            )
        }
    };
    if !local.chars().all(allowed) {
        return Err(EmailError::LocalPartCharacter);
    }
    check_dots(&local)?;
    if policy.fold_plus_tags {
        if let Some(plus) = local.find('+').filter(|&at| at > 0) {
            local.truncate(plus);
            // `alice.+tag` would leave `alice.`, which is not an address.
            check_dots(&local)?;
        }
    }
    Ok(local)
}

fn check_dots(local: &str) -> Result<(), EmailError> {
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err(EmailError::LocalPartDots);
    }
    Ok(())
}

fn canonical_domain(domain: &str) -> Result<String, EmailError> {
    // UTS #46 treats the ideographic full stop as a dot (NFKC has already mapped U+FF0E and
    // U+FF61); mapping it here lets the shape checks below give the right reason.
    let domain = domain.replace('\u{3002}', ".");
    check_domain_shape(&domain)?;
    let ascii = idna::domain_to_ascii_strict(&domain).map_err(|_| EmailError::DomainName)?;
    if !ascii.is_ascii() {
        return Err(EmailError::DomainName);
    }
    check_domain_shape(&ascii)?;
    Ok(ascii)
}

fn check_domain_shape(domain: &str) -> Result<(), EmailError> {
    if domain.ends_with('.') {
        return Err(EmailError::TrailingDot);
    }
    let labels_ok = domain
        .split('.')
        .all(|label| !label.is_empty() && !label.starts_with('-') && !label.ends_with('-'));
    if !domain.contains('.') || !labels_ok {
        return Err(EmailError::Domain);
    }
    Ok(())
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
mod tests;
