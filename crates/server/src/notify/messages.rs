//! What our messages say. Email bodies are askama templates under
//! `templates/email/` (`.txt` is not escaped, `.html` is); the SMS line is short enough
//! for one GSM-7 segment.

use askama::Template;
use std::fmt;

/// Where the help topic for a code the user did not ask for lives.
pub const WRONG_CODE_HELP: &str = "/help/wrong-code";

/// A one-time code message in every shape we send it. Debug prints only the subject:
/// the other fields hold the code.
#[derive(Clone)]
pub struct CodeMessage {
    pub subject: String,
    pub text: String,
    pub html: String,
    pub sms: String,
}

impl fmt::Debug for CodeMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CodeMessage")
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// An email without a code (plain text and HTML).
#[derive(Debug, Clone)]
pub struct Notice {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The words for one purpose of a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PurposeWords {
    /// Completes "Use this code ...".
    pub phrase: &'static str,
    /// A few words for the SMS line.
    pub short: &'static str,
    pub subject: &'static str,
}

/// The words for a code purpose (`phone_binding`, `withdrawal`, `deletion`,
/// `password_reset`, `unbind`, `login`); `None` for anything else.
pub fn purpose_words(purpose: &str) -> Option<PurposeWords> {
    let words = match purpose {
        "phone_binding" => PurposeWords {
            phrase: "to add this phone number to your offboard account",
            short: "add this phone",
            subject: "Your offboard code to add a phone",
        },
        "withdrawal" => PurposeWords {
            phrase: "to approve a withdrawal from your offboard account",
            short: "approve a withdrawal",
            subject: "Your offboard code to approve a withdrawal",
        },
        "deletion" => PurposeWords {
            phrase: "to confirm that you want to delete your offboard account",
            short: "delete your account",
            subject: "Your offboard code to delete your account",
        },
        "password_reset" => PurposeWords {
            phrase: "to choose a new password for your offboard account",
            short: "reset your password",
            subject: "Your offboard code to reset your password",
        },
        "unbind" => PurposeWords {
            phrase: "to remove a second factor from your offboard account",
            short: "remove a second factor",
            subject: "Your offboard code to remove a second factor",
        },
        "login" => PurposeWords {
            phrase: "to finish signing in to your offboard account",
            short: "sign in",
            subject: "Your offboard sign-in code",
        },
        _ => return None,
    };
    Some(words)
}

/// Used for a purpose [`purpose_words`] does not know, so a new purpose still gets a
/// sensible message rather than none.
const GENERIC: PurposeWords = PurposeWords {
    phrase: "to confirm a request on your offboard account",
    short: "confirm a request",
    subject: "Your offboard code",
};

#[derive(Template)]
#[template(path = "email/code.txt")]
struct CodeText<'a> {
    phrase: &'a str,
    code: &'a str,
    validity: &'a str,
    help_url: &'a str,
}

#[derive(Template)]
#[template(path = "email/code.html")]
struct CodeHtml<'a> {
    subject: &'a str,
    phrase: &'a str,
    code: &'a str,
    validity: &'a str,
    help_url: &'a str,
}

#[derive(Template)]
#[template(path = "email/deletion_notice.txt")]
struct DeletionText<'a> {
    deleted_at: &'a str,
    reregister_after: &'a str,
}

#[derive(Template)]
#[template(path = "email/deletion_notice.html")]
struct DeletionHtml<'a> {
    subject: &'a str,
    deleted_at: &'a str,
    reregister_after: &'a str,
}

/// The code message with a relative help link (`/help/wrong-code`). Prefer
/// [`code_message_at`] once the public address of the site is known: mail clients
/// cannot follow a relative link.
pub fn code_message(purpose: &str, code: &str, valid_minutes: i64) -> CodeMessage {
    code_message_at("", purpose, code, valid_minutes)
}

/// The code message for `purpose`, with the help link under `base_url`
/// (e.g. `https://accounts.example.com`, no trailing slash needed).
pub fn code_message_at(
    base_url: &str,
    purpose: &str,
    code: &str,
    valid_minutes: i64,
) -> CodeMessage {
    let words = purpose_words(purpose).unwrap_or(GENERIC);
    let validity = if valid_minutes == 1 {
        "1 minute".to_owned()
    } else {
        format!("{valid_minutes} minutes")
    };
    let help_url = format!("{}{WRONG_CODE_HELP}", base_url.trim_end_matches('/'));
    let text = render(&CodeText {
        phrase: words.phrase,
        code,
        validity: &validity,
        help_url: &help_url,
    });
    let html = render(&CodeHtml {
        subject: words.subject,
        phrase: words.phrase,
        code,
        validity: &validity,
        help_url: &help_url,
    });
    let sms = format!(
        "offboard code {code}: {}. Valid {valid_minutes} min. Never share it.",
        words.short
    );
    CodeMessage {
        subject: words.subject.to_owned(),
        text,
        html,
        sms,
    }
}

/// The R12 notice sent right before erasure: when the account is deleted and from when
/// the same person may register again. Dates come formatted by the caller.
pub fn deletion_notice(deleted_at: &str, reregister_after: &str) -> Notice {
    let subject = "Your offboard account is being deleted";
    Notice {
        subject: subject.to_owned(),
        text: render(&DeletionText {
            deleted_at,
            reregister_after,
        }),
        html: render(&DeletionHtml {
            subject,
            deleted_at,
            reregister_after,
        }),
    }
}

/// Renders a message template. These templates only print `&str` fields, so rendering
/// cannot fail in practice; if it ever did, the result is empty, which the SMTP sender
/// treats as "no HTML part" (and the text body is still checked by the tests).
fn render<T: Template>(template: &T) -> String {
    template.render().unwrap_or_else(|err| {
        tracing::error!(%err, "message template rendering failed");
        String::new()
    })
}
