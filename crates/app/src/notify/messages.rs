//! What our messages say. Email bodies are templates under `templates/email/`, compiled
//! into the binary and rendered with minijinja (`.txt` is not escaped, `.html` is; the
//! extension decides). The page templates of the web edge are askama; email wording is
//! the application's own, sent by workers with no web in them, so it uses a template
//! engine without compile-time ties to the web crate. The SMS line is short enough for
//! one GSM-7 segment.

use minijinja::{context, Environment};
use std::fmt;
use std::sync::OnceLock;

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
        "unfreeze" => PurposeWords {
            phrase: "to lift the freeze of your offboard account",
            short: "unfreeze your account",
            subject: "Your offboard code to unfreeze your account",
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

/// minijinja's own HTML escaping, except that `/` stays `/`: it is not special in HTML
/// text or in a quoted attribute, and links read plainly in a message's source (as they
/// did under askama). `&` is escaped first, so no input can forge the entity.
fn html_formatter(
    out: &mut minijinja::Output,
    state: &minijinja::State,
    value: &minijinja::Value,
) -> Result<(), minijinja::Error> {
    if state.auto_escape() == minijinja::AutoEscape::Html && !value.is_safe() && !value.is_none() {
        let escaped = minijinja::HtmlEscape(&value.to_string()).to_string();
        return out
            .write_str(&escaped.replace("&#x2f;", "/"))
            .map_err(|err| {
                minijinja::Error::new(minijinja::ErrorKind::WriteFailure, err.to_string())
            });
    }
    minijinja::escape_formatter(out, state, value)
}

/// The email templates, parsed once.
fn templates() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_formatter(html_formatter);
        for (name, source) in [
            ("code.txt", include_str!("../../templates/email/code.txt")),
            ("code.html", include_str!("../../templates/email/code.html")),
            (
                "deletion_notice.txt",
                include_str!("../../templates/email/deletion_notice.txt"),
            ),
            (
                "deletion_notice.html",
                include_str!("../../templates/email/deletion_notice.html"),
            ),
            ("alert.txt", include_str!("../../templates/email/alert.txt")),
            (
                "alert.html",
                include_str!("../../templates/email/alert.html"),
            ),
        ] {
            if let Err(err) = env.add_template(name, source) {
                tracing::error!(%err, name, "an email template does not parse");
            }
        }
        env
    })
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
    let fields = context! {
        subject => words.subject,
        phrase => words.phrase,
        code => code,
        validity => validity,
        help_url => help_url,
    };
    let text = render("code.txt", &fields);
    let html = render("code.html", &fields);
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

/// The R12 notice queued inside the erasure transaction (so it goes out only if the
/// deletion committed): when the account is deleted and from when
/// the same person may register again. Dates come formatted by the caller.
pub fn deletion_notice(deleted_at: &str, reregister_after: &str) -> Notice {
    let subject = "Your offboard account was deleted";
    let fields = context! { subject, deleted_at, reregister_after };
    Notice {
        subject: subject.to_owned(),
        text: render("deletion_notice.txt", &fields),
        html: render("deletion_notice.html", &fields),
    }
}

/// A security alert (R21) in every shape we send it. Debug prints only the subject: the
/// other fields hold the freeze link, a credential.
#[derive(Clone)]
pub struct AlertText {
    pub subject: String,
    pub text: String,
    pub html: String,
    pub sms: String,
}

impl fmt::Debug for AlertText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AlertText")
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// The alert for `what` happened (`"a sign-in from a new device"`) at `when`, with the
/// one-time freeze link and the help page (both absolute when the site's address is
/// known).
pub fn alert_message(
    subject: &str,
    what: &str,
    when: &str,
    freeze_url: &str,
    help_url: &str,
) -> AlertText {
    let fields = context! { subject, what, when, freeze_url, help_url };
    AlertText {
        subject: subject.to_owned(),
        text: render("alert.txt", &fields),
        html: render("alert.html", &fields),
        sms: format!("offboard alert: {what}. Not you? Freeze: {freeze_url}"),
    }
}

/// Renders a message template. These templates only print text fields, so rendering
/// cannot fail in practice; if it ever did, the result is empty, which the SMTP sender
/// treats as "no HTML part" (and the text body is still checked by the tests).
fn render(name: &str, fields: &minijinja::Value) -> String {
    templates()
        .get_template(name)
        .and_then(|template| template.render(fields))
        .unwrap_or_else(|err| {
            tracing::error!(%err, name, "message template rendering failed");
            String::new()
        })
}
