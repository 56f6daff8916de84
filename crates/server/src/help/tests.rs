//! The help topics' own checks: unique slugs, plain text, every linked page present.

use super::*;
use std::collections::HashSet;

/// Paths already linked from code and templates.
const LINKED: &[&str] = &[
    "delete-account",
    "unique-id",
    "document-changed",
    "expired-document",
    "identity-check-failed",
    "reregister",
    "cannot-log-in",
    "email-code-missing",
    "sms-code-missing",
    "wrong-code",
    "authenticator-errors",
    "assets-remaining",
    "deletion-cool-off",
    "captcha",
    "passkeys",
    "lost-passkey",
    // R17, R21: `freeze::HELP_FROZEN` and `alerts::HELP_UNEXPECTED_ALERT`.
    "account-frozen",
    "unexpected-alert",
];

#[test]
fn slugs_are_unique_and_url_safe() {
    let mut seen = HashSet::new();
    for topic in TOPICS {
        assert!(seen.insert(topic.slug), "duplicate slug {}", topic.slug);
        assert!(!topic.slug.is_empty());
        assert!(
            topic
                .slug
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
            "bad slug {}",
            topic.slug
        );
    }
}

#[test]
fn every_topic_has_plain_text_content() {
    for topic in TOPICS {
        assert!(!topic.sections.is_empty(), "{} has no sections", topic.slug);
        let mut texts = vec![topic.title, topic.summary];
        for section in topic.sections {
            assert!(
                !section.paragraphs.is_empty(),
                "{}: empty section",
                topic.slug
            );
            texts.push(section.heading);
            texts.extend_from_slice(section.paragraphs);
        }
        for text in texts {
            assert!(!text.trim().is_empty(), "{}: empty text", topic.slug);
            assert!(
                text.is_ascii() && !text.contains(['<', '>']),
                "{}: {text}",
                topic.slug
            );
        }
    }
}

#[test]
fn find_finds_each_topic() {
    for topic in TOPICS {
        assert_eq!(find(topic.slug).map(|t| t.slug), Some(topic.slug));
    }
    assert!(find("no-such-topic").is_none());
}

#[test]
fn topics_are_exactly_the_linked_ones() {
    let mut have: Vec<&str> = TOPICS.iter().map(|t| t.slug).collect();
    let mut want = LINKED.to_vec();
    have.sort_unstable();
    want.sort_unstable();
    assert_eq!(have, want);
}
