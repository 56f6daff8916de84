//! The help topics of R17 and R21: an unexpected security alert, and a frozen account.

use super::{HelpSection, HelpTopic};

pub const UNEXPECTED_ALERT: HelpTopic = HelpTopic {
    slug: "unexpected-alert",
    title: "I got an alert I did not expect",
    summary: "What to do when we tell you about a sign-in, a factor change, a withdrawal or a deletion you did not make.",
    sections: &[
        HelpSection {
            heading: "Was it you?",
            paragraphs: &[
                "We send a security alert by email, and by SMS if you bound a phone, when someone signs in from a new device or address, adds or removes a second factor, changes or resets the password, asks for a withdrawal, starts a deletion, or when support approves a recovery of your account.",
                "If you did it yourself, or you just signed in on a new phone or browser, there is nothing to do.",
            ],
        },
        HelpSection {
            heading: "If it was not you: freeze the account",
            paragraphs: &[
                "Open the link \"This wasn't me - freeze my account\" in the alert and confirm. You do not need to sign in. If you are signed in, the Freeze button on the Security page does the same.",
                "Freezing signs out every session and API token at once, stops sign-in, withdrawals, factor changes and deletion, and cancels withdrawals that were not sent yet: their funds go back to your balance. Deposits still arrive.",
                "Each link works once and for 7 days. If it expired, freeze from the Security page or ask support.",
            ],
        },
        HelpSection {
            heading: "Then",
            paragraphs: &[
                "Change the password of your email account: whoever got into your account may have read your mail.",
                "Ask support to recover the account, or lift the freeze yourself after 24 hours.",
            ],
        },
    ],
};

pub const ACCOUNT_FROZEN: HelpTopic = HelpTopic {
    slug: "account-frozen",
    title: "My account is frozen",
    summary: "What a frozen account can and cannot do, and how to lift the freeze.",
    sections: &[
        HelpSection {
            heading: "What a freeze does",
            paragraphs: &[
                "Nobody can sign in, withdraw, add or remove a second factor, or start a deletion. Every session and API token was signed out when the account was frozen.",
                "Your money is safe: deposits are still credited, and withdrawals that were not sent yet were cancelled and their funds returned to your balance.",
                "Sign-in tells you the account is frozen only after the right password, so nobody else learns it.",
            ],
        },
        HelpSection {
            heading: "Lifting the freeze",
            paragraphs: &[
                "Support can lift it through an account recovery: send a recovery request, with the ID number you verified with. Support checks it is you; an account that holds assets needs a lead agent.",
                "You can lift it yourself 24 hours after it began, with your password, a code from every second factor you bound and your ID number.",
                "The link in an alert never lifts a freeze. After the freeze is lifted, deleting the account waits 24 hours.",
            ],
        },
    ],
};
