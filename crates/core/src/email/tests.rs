use super::*;
use proptest::prelude::*;

const INTERNATIONAL: EmailPolicy = EmailPolicy {
    allow_international: true,
    fold_plus_tags: false,
};
const FOLD_PLUS: EmailPolicy = EmailPolicy {
    allow_international: false,
    fold_plus_tags: true,
};

fn canonical(input: &str) -> String {
    match EmailAddress::parse(input) {
        Ok(email) => email.as_str().to_owned(),
        Err(e) => format!("refused: {e}"),
    }
}

/// The full-width form of every printable ASCII character (U+FF01..U+FF5E).
fn full_width(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '!'..='~' => char::from_u32(c as u32 - 0x21 + 0xFF01).unwrap_or(c),
            other => other,
        })
        .collect()
}

#[test]
fn folds_case_and_trims() {
    let email = EmailAddress::parse("  Alice.Smith@Example.COM ").unwrap();
    assert_eq!(email.as_str(), "alice.smith@example.com");
}

#[test]
fn rejects_bad_shapes_with_the_reason() {
    assert_eq!(EmailAddress::parse(""), Err(EmailError::Empty));
    assert_eq!(EmailAddress::parse("   "), Err(EmailError::Empty));
    assert_eq!(EmailAddress::parse("no-at-sign"), Err(EmailError::Shape));
    assert_eq!(
        EmailAddress::parse("a@b@c.com"),
        Err(EmailError::MoreThanOneAt)
    );
    assert_eq!(
        EmailAddress::parse("@example.com"),
        Err(EmailError::EmptyLocalPart)
    );
    assert_eq!(EmailAddress::parse("alice@"), Err(EmailError::EmptyDomain));
    assert_eq!(EmailAddress::parse("a@localhost"), Err(EmailError::Domain));
    assert_eq!(EmailAddress::parse("a@exa..com"), Err(EmailError::Domain));
    assert_eq!(
        EmailAddress::parse("a@.example.com"),
        Err(EmailError::Domain)
    );
    assert_eq!(EmailAddress::parse("a@-ex.com"), Err(EmailError::Domain));
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

// R9: every variant below is the mailbox alice@example.com and must share its key.

#[test]
fn r9_full_width_folds_to_ascii() {
    assert_eq!(canonical("ａｌｉｃｅ@example.com"), "alice@example.com");
    assert_eq!(
        canonical("ＡＬＩＣＥ＠ＥＸＡＭＰＬＥ．ＣＯＭ"),
        "alice@example.com"
    );
    assert_eq!(
        canonical(&full_width("Alice@Example.com")),
        "alice@example.com"
    );
}

#[test]
fn r9_long_s_folds_to_s() {
    assert_eq!("\u{017F}".nfkc().collect::<String>(), "s");
    assert_eq!(
        canonical("al\u{017F}ce@example.com"),
        canonical("alsce@example.com")
    );
    assert_eq!(canonical("al\u{017F}ce@example.com"), "alsce@example.com");
    assert_eq!(canonical("\u{017F}am@example.com"), "sam@example.com");
}

#[test]
fn r9_other_compatibility_forms_fold() {
    // Kelvin sign, the fi ligature, the Angstrom sign (international).
    assert_eq!(canonical("\u{212A}im@example.com"), "kim@example.com");
    assert_eq!(canonical("\u{FB01}n@example.com"), "fin@example.com");
    assert_eq!(
        EmailAddress::parse_with("\u{212B}sa@example.com", &INTERNATIONAL)
            .unwrap()
            .as_str(),
        "\u{E5}sa@example.com"
    );
}

#[test]
fn r9_upper_case_folds() {
    assert_eq!(canonical("ALICE@EXAMPLE.COM"), "alice@example.com");
    assert_eq!(canonical("aLiCe@eXaMpLe.CoM"), "alice@example.com");
}

#[test]
fn r9_idna_domain_unicode_and_punycode_agree() {
    let punycode = canonical("alice@xn--xample-9ua.com");
    assert_eq!(punycode, "alice@xn--xample-9ua.com");
    assert_eq!(canonical("alice@ÉXAMPLE.com"), punycode);
    assert_eq!(canonical("alice@éxample.com"), punycode);
    // Decomposed é (e + U+0301) composes under NFKC.
    assert_eq!(canonical("alice@e\u{0301}xample.com"), punycode);
    assert_eq!(canonical("alice@XN--XAMPLE-9UA.COM"), punycode);
    // The ideographic full stop separates labels, as UTS #46 says.
    assert_eq!(canonical("alice@example\u{3002}com"), "alice@example.com");
    let debug = format!("{:?}", EmailAddress::parse("alice@ÉXAMPLE.com").unwrap());
    assert_eq!(debug, "EmailAddress(***@xn--xample-9ua.com)");
}

#[test]
fn r9_quoted_local_part_is_refused() {
    assert_eq!(
        EmailAddress::parse("\"alice\"@example.com"),
        Err(EmailError::Quoted)
    );
    assert_eq!(
        EmailAddress::parse("\"alice smith\"@example.com"),
        Err(EmailError::Quoted)
    );
    // The full-width quotation mark becomes `"` under NFKC.
    assert_eq!(
        EmailAddress::parse("\u{FF02}alice\u{FF02}@example.com"),
        Err(EmailError::Quoted)
    );
    assert!(EmailError::Quoted
        .to_string()
        .contains("quoted email addresses are not accepted"));
}

#[test]
fn r9_zero_width_space_is_refused() {
    for input in [
        "al\u{200B}ice@example.com",
        "\u{200B}alice@example.com",
        "alice\u{200B}@example.com",
        "alice@exam\u{200B}ple.com",
        "alice@example.com\u{200B}",
    ] {
        assert_eq!(
            EmailAddress::parse(input),
            Err(EmailError::InvisibleCharacter)
        );
    }
}

#[test]
fn r9_soft_hyphen_is_refused() {
    // UTS #46 would silently drop U+00AD from a domain: refused before it gets there.
    assert_eq!(
        EmailAddress::parse("al\u{00AD}ice@example.com"),
        Err(EmailError::InvisibleCharacter)
    );
    assert_eq!(
        EmailAddress::parse("alice@exam\u{00AD}ple.com"),
        Err(EmailError::InvisibleCharacter)
    );
}

#[test]
fn r9_rtl_override_is_refused() {
    assert_eq!(
        EmailAddress::parse("\u{202E}ecila@example.com"),
        Err(EmailError::InvisibleCharacter)
    );
    assert_eq!(
        EmailAddress::parse_with("alice@example.com\u{202E}", &INTERNATIONAL),
        Err(EmailError::InvisibleCharacter)
    );
}

#[test]
fn r9_other_invisible_characters_are_refused() {
    for c in [
        '\u{FEFF}',
        '\u{2060}',
        '\u{200C}',
        '\u{200D}',
        '\u{200E}',
        '\u{061C}',
        '\u{180E}',
        '\u{2066}',
        '\u{E0001}',
        '\u{E0041}',
        '\u{034F}',
        '\u{FE0F}',
        '\u{3164}',
        '\u{FFA0}',
        '\u{115F}',
        '\u{E0100}',
    ] {
        let input = format!("ali{c}ce@example.com");
        for policy in [EmailPolicy::default(), INTERNATIONAL] {
            assert_eq!(
                EmailAddress::parse_with(&input, &policy),
                Err(EmailError::InvisibleCharacter),
                "U+{:04X}",
                c as u32
            );
        }
    }
}

#[test]
fn r9_combining_mark_is_refused() {
    // U+0335 (combining short stroke overlay) has no precomposed letter with `c`.
    for policy in [EmailPolicy::default(), INTERNATIONAL] {
        assert_eq!(
            EmailAddress::parse_with("alic\u{0335}e@example.com", &policy),
            Err(EmailError::CombiningMark)
        );
        assert_eq!(
            EmailAddress::parse_with("\u{0301}alice@example.com", &policy),
            Err(EmailError::CombiningMark)
        );
    }
    // U+0130 lower-cases to `i` and U+0307, which does not compose: refused too.
    assert_eq!(
        EmailAddress::parse_with("\u{0130}lse@example.com", &INTERNATIONAL),
        Err(EmailError::CombiningMark)
    );
    // A mark that NFKC composes is one letter, the same as the precomposed one.
    let composed = EmailAddress::parse_with("ren\u{E9}e@example.com", &INTERNATIONAL);
    let decomposed = EmailAddress::parse_with("rene\u{0301}e@example.com", &INTERNATIONAL);
    assert!(composed.is_ok());
    assert_eq!(composed, decomposed);
}

#[test]
fn r9_trailing_dot_is_refused() {
    for input in [
        "a@example.com.",
        "alice@example.com.",
        "alice@example.com\u{3002}",
        "alice@example.com\u{FF0E}",
        "alice@.",
    ] {
        assert_eq!(EmailAddress::parse(input), Err(EmailError::TrailingDot));
    }
    assert!(EmailError::TrailingDot
        .to_string()
        .contains("remove the dot at the end of the domain"));
}

#[test]
fn r9_whitespace_and_controls_are_refused() {
    for input in [
        "ali ce@example.com",
        "alice@exa mple.com",
        "ali\u{00A0}ce@example.com",
        "ali\u{3000}ce@example.com",
        "ali\u{2028}ce@example.com",
        "ali\tce@example.com",
        "ali\u{0}ce@example.com",
        "ali\u{85}ce@example.com",
        "alice@example.com\r\nBcc: x@example.com",
    ] {
        assert_eq!(
            EmailAddress::parse(input),
            Err(EmailError::BadCharacter),
            "{input:?}"
        );
    }
    // Whitespace around the address is trimmed, not refused.
    assert_eq!(
        canonical("\u{00A0}alice@example.com\n"),
        "alice@example.com"
    );
}

#[test]
fn r9_unassigned_and_private_use_are_refused() {
    for input in ["ali\u{E000}ce@example.com", "ali\u{0378}ce@example.com"] {
        assert_eq!(
            EmailAddress::parse_with(input, &INTERNATIONAL),
            Err(EmailError::UnassignedCharacter)
        );
    }
}

#[test]
fn r9_comments_and_other_specials_are_refused() {
    for input in [
        "alice(work)@example.com",
        "ali\\ce@example.com",
        "alice,bob@example.com",
        "<alice>@example.com",
        "alice[1]@example.com",
        "ali:ce@example.com",
    ] {
        assert_eq!(
            EmailAddress::parse(input),
            Err(EmailError::LocalPartCharacter),
            "{input:?}"
        );
    }
    // The full-width parenthesis becomes `(` under NFKC.
    assert_eq!(
        EmailAddress::parse("alice\u{FF08}x\u{FF09}@example.com"),
        Err(EmailError::LocalPartCharacter)
    );
    // Non-ASCII punctuation that looks like `-` is not a letter.
    assert_eq!(
        EmailAddress::parse_with("ali\u{2010}ce@example.com", &INTERNATIONAL),
        Err(EmailError::LocalPartCharacter)
    );
    // Every atext symbol is fine.
    assert!(EmailAddress::parse("o'brien!#$%&*+-/=?^_`{|}~@example.com").is_ok());
}

#[test]
fn r9_dots_in_the_local_part() {
    for input in [
        ".alice@example.com",
        "alice.@example.com",
        "al..ice@example.com",
    ] {
        assert_eq!(EmailAddress::parse(input), Err(EmailError::LocalPartDots));
    }
    assert_eq!(
        canonical("alice.smith@example.com"),
        "alice.smith@example.com"
    );
}

#[test]
fn r9_domain_must_be_a_valid_idna_name() {
    for input in [
        "alice@exa_mple.com",
        "alice@xn--zz.com",
        "alice@[127.0.0.1]",
        "alice@ex!ample.com",
    ] {
        assert_eq!(
            EmailAddress::parse(input),
            Err(EmailError::DomainName),
            "{input:?}"
        );
    }
    let long_label = format!("alice@{}.com", "a".repeat(64));
    assert_eq!(
        EmailAddress::parse(&long_label),
        Err(EmailError::DomainName)
    );
}

#[test]
fn r9_length_limits_apply_to_the_canonical_form() {
    let local64 = "a".repeat(64);
    assert!(EmailAddress::parse(&format!("{local64}@example.com")).is_ok());
    assert_eq!(
        EmailAddress::parse(&format!("{local64}a@example.com")),
        Err(EmailError::LocalPartTooLong)
    );
    // 64 full-width letters are 64 bytes once folded.
    assert!(EmailAddress::parse(&format!("{}@example.com", "ａ".repeat(64))).is_ok());
    let domain = format!(
        "{}.{}.{}.com",
        "b".repeat(63),
        "c".repeat(63),
        "d".repeat(57)
    );
    let at_limit = format!("{local64}@{domain}");
    assert_eq!(at_limit.len(), 254);
    assert!(EmailAddress::parse(&at_limit).is_ok());
    assert_eq!(
        EmailAddress::parse(&format!("{local64}@e.{domain}")),
        Err(EmailError::TooLong)
    );
    // Punycode counts: 57 letters é are a label of 63 characters once encoded, so this
    // address of 242 characters as typed is 260 in its canonical form.
    let e57 = "é".repeat(57);
    let idn = format!("{local64}@{e57}.{e57}.{e57}.com");
    assert_eq!(idn.chars().count(), 242);
    assert_eq!(EmailAddress::parse(&idn), Err(EmailError::TooLong));
    // And 58 are one label too long for DNS.
    let idn = format!("alice@{}.com", "é".repeat(58));
    assert_eq!(EmailAddress::parse(&idn), Err(EmailError::DomainName));
    assert_eq!(
        EmailAddress::parse(&"a".repeat(MAX_INPUT_CHARS + 1)),
        Err(EmailError::TooLong)
    );
    // International local parts count bytes, as RFC 5321 does: 33 × 2 bytes > 64.
    assert_eq!(
        EmailAddress::parse_with(&format!("{}@example.com", "é".repeat(33)), &INTERNATIONAL),
        Err(EmailError::LocalPartTooLong)
    );
}

#[test]
fn r9_international_local_part_needs_the_policy() {
    assert_eq!(
        EmailAddress::parse("j\u{F6}rg@example.com"),
        Err(EmailError::InternationalLocalPart)
    );
    assert_eq!(
        EmailAddress::parse("\u{0430}lice@example.com"),
        Err(EmailError::InternationalLocalPart)
    );
    let email = EmailAddress::parse_with("J\u{D6}RG@Example.com", &INTERNATIONAL).unwrap();
    assert_eq!(email.as_str(), "j\u{F6}rg@example.com");
    assert_eq!(
        EmailAddress::parse_with("jo\u{0308}rg@example.com", &INTERNATIONAL),
        Ok(email)
    );
    let greek = EmailAddress::parse_with(
        "\u{3A3}\u{39F}\u{3A6}\u{399}\u{391}@example.com",
        &INTERNATIONAL,
    )
    .unwrap();
    assert_eq!(
        greek.as_str(),
        "\u{3C3}\u{3BF}\u{3C6}\u{3B9}\u{3B1}@example.com"
    );
}

#[test]
fn r9_plus_tags_are_distinct_unless_folded() {
    assert_eq!(
        canonical("alice+shop@example.com"),
        "alice+shop@example.com"
    );
    let folded = EmailAddress::parse_with("Alice+Shop@example.com", &FOLD_PLUS).unwrap();
    assert_eq!(folded.as_str(), "alice@example.com");
    let folded = EmailAddress::parse_with("alice+a+b@example.com", &FOLD_PLUS).unwrap();
    assert_eq!(folded.as_str(), "alice@example.com");
    // A leading `+` is the whole name, not a tag.
    let plus = EmailAddress::parse_with("+shop@example.com", &FOLD_PLUS).unwrap();
    assert_eq!(plus.as_str(), "+shop@example.com");
    assert_eq!(
        EmailAddress::parse_with("alice.+shop@example.com", &FOLD_PLUS),
        Err(EmailError::LocalPartDots)
    );
    // Full-width plus folds to `+` first.
    let folded = EmailAddress::parse_with("alice\u{FF0B}shop@example.com", &FOLD_PLUS).unwrap();
    assert_eq!(folded.as_str(), "alice@example.com");
}

#[test]
fn r9_messages_never_echo_the_address() {
    for input in [
        "secretname",
        "secretname@",
        "\"secretname\"@example.com",
        "secret\u{200B}name@example.com",
        "secretname@example.com.",
        "secretname@secretdomain",
        "secretname(x)@example.com",
        "secretn\u{E4}me@example.com",
        "secretname@secret_domain.com",
        "secretname@a@b.com",
    ] {
        let message = EmailAddress::parse(input).unwrap_err().to_string();
        assert!(!message.contains("secret"), "{message}");
    }
}

fn invisible_char() -> impl Strategy<Value = char> {
    prop::sample::select(vec![
        '\u{00AD}',
        '\u{061C}',
        '\u{180E}',
        '\u{200B}',
        '\u{200C}',
        '\u{200D}',
        '\u{200E}',
        '\u{200F}',
        '\u{202A}',
        '\u{202B}',
        '\u{202C}',
        '\u{202D}',
        '\u{202E}',
        '\u{2060}',
        '\u{2061}',
        '\u{2066}',
        '\u{2069}',
        '\u{FEFF}',
        '\u{E0001}',
        '\u{E007F}',
        '\u{034F}',
        '\u{FE0F}',
        '\u{3164}',
    ])
}

proptest! {
    #[test]
    fn parsing_is_idempotent_and_case_insensitive(
        local in "[a-zA-Z0-9_%+-]{1,15}(\\.[a-zA-Z0-9_%+-]{1,14})?",
        domain in "[a-zA-Z0-9]{1,20}\\.[a-zA-Z]{2,6}",
    ) {
        let raw = format!("{local}@{domain}");
        let once = EmailAddress::parse(&raw).unwrap();
        let twice = EmailAddress::parse(once.as_str()).unwrap();
        prop_assert_eq!(&once, &twice);
        let upper = EmailAddress::parse(&raw.to_uppercase()).unwrap();
        prop_assert_eq!(&once, &upper);
        // R9: the full-width spelling is the same mailbox.
        let wide = EmailAddress::parse(&full_width(&raw)).unwrap();
        prop_assert_eq!(once, wide);
    }

    #[test]
    fn r9_any_input_is_idempotent_when_accepted(input in any::<String>(), international in any::<bool>()) {
        let policy = EmailPolicy { allow_international: international, fold_plus_tags: false };
        if let Ok(once) = EmailAddress::parse_with(&input, &policy) {
            prop_assert_eq!(Ok(once.clone()), EmailAddress::parse_with(once.as_str(), &policy));
        }
    }

    #[test]
    fn never_panics(input in "\\PC*") {
        let _ = EmailAddress::parse(&input);
        let _ = EmailAddress::parse_with(&input, &EmailPolicy { allow_international: true, fold_plus_tags: true });
    }

    /// R9: an invisible character anywhere is refused, never folded away.
    #[test]
    fn r9_invisible_characters_are_refused_anywhere(
        local in "[a-z0-9]{1,20}",
        domain in "[a-z0-9]{1,20}\\.[a-z]{2,6}",
        c in invisible_char(),
        at in any::<prop::sample::Index>(),
    ) {
        let raw = format!("{local}@{domain}");
        let boundaries: Vec<usize> = (1..raw.len()).collect();
        let mut variant = raw.clone();
        variant.insert(*at.get(&boundaries), c);
        prop_assert_eq!(
            EmailAddress::parse_with(&variant, &INTERNATIONAL),
            Err(EmailError::InvisibleCharacter)
        );
    }

    /// R9: `+tag` is another address by default and the same one with the policy.
    #[test]
    fn r9_plus_tags_distinct_by_default_folded_with_policy(
        local in "[a-z0-9]{1,20}",
        tag in "[a-z0-9+]{0,10}",
        domain in "[a-z0-9]{1,20}\\.[a-z]{2,6}",
    ) {
        let plain = format!("{local}@{domain}");
        let tagged = format!("{local}+{tag}@{domain}");
        prop_assert_ne!(EmailAddress::parse(&plain).unwrap(), EmailAddress::parse(&tagged).unwrap());
        prop_assert_eq!(
            EmailAddress::parse_with(&plain, &FOLD_PLUS).unwrap(),
            EmailAddress::parse_with(&tagged, &FOLD_PLUS).unwrap()
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// R9: whatever the input and the policy, the canonical form parses to itself. The
    /// letters mix ASCII, full-width, Latin, Greek and Cyrillic (with their combining
    /// marks) and any other Unicode letter.
    #[test]
    fn r9_canonicalisation_is_idempotent_for_unicode(
        local in "([a-zA-Z0-9À-ɏͰ-ϿЀ-ӿＡ-Ｚａ-ｚſ.+_-]|\\p{L}){1,20}",
        domain in "([a-zA-Z0-9À-ɏͰ-ϿЀ-ӿＡ-Ｚ-]|\\p{L}){1,15}\\.[a-zA-Z]{2,6}",
        international in any::<bool>(),
        fold in any::<bool>(),
    ) {
        let policy = EmailPolicy { allow_international: international, fold_plus_tags: fold };
        let raw = format!("{local}@{domain}");
        if let Ok(once) = EmailAddress::parse_with(&raw, &policy) {
            let twice = EmailAddress::parse_with(once.as_str(), &policy);
            prop_assert_eq!(Ok(once.clone()), twice);
            prop_assert!(once.as_str().split('@').nth(1).is_some_and(|d| d.is_ascii()));
        }
    }
}
