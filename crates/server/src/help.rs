//! The help centre's topics (PRODUCT.md R15): every error that a person can meet links
//! to one of these by its path, `/help/<slug>`.

/// One help page.
#[derive(Debug, Clone, Copy)]
pub struct HelpTopic {
    pub slug: &'static str,
    pub title: &'static str,
    /// One sentence shown in the index.
    pub summary: &'static str,
    /// The page body as sections, each a heading and its paragraphs.
    pub sections: &'static [HelpSection],
}

#[derive(Debug, Clone, Copy)]
pub struct HelpSection {
    pub heading: &'static str,
    pub paragraphs: &'static [&'static str],
}

mod freeze;

pub const TOPICS: &[HelpTopic] = &[
    HelpTopic {
        slug: "delete-account",
        title: "Delete your account",
        summary: "How deleting your account works, step by step, and what it means for you.",
        sections: &[
            HelpSection {
                heading: "What deletion means",
                paragraphs: &[
                    "Deleting your account is permanent. Once it is done, nobody can undo it, not even our support team.",
                    "You lose access to the account and to all of its data. If you want a record of your balances and history, download your statement before you start.",
                    "You can sign up again with the same email, phone number or ID document only 30 days after the official deletion date.",
                ],
            },
            HelpSection {
                heading: "Before you start",
                paragraphs: &[
                    "Withdraw all your assets and close anything still open, such as orders or bots.",
                    "Keep every 2FA method you have set up close by: your email, your phone if you added one, and your authenticator app if you use one.",
                    "Have the ID document you used for identity verification at hand. You will need to type its number.",
                ],
            },
            HelpSection {
                heading: "The steps",
                paragraphs: &[
                    "Open the menu behind your avatar at the top right, choose Security, then choose Delete.",
                    "Step 1, notes and warnings: read what deletion means, tick the box to show you understand, let the short browser check finish if we ask for one, and press Confirmation to move on.",
                    "Step 2, assets: if anything is left in your account, we list it with a link to deal with it. If nothing is left, you move straight on.",
                    "Step 3, verification: enter a code from every 2FA method you have set up. Press Get code to receive the email and SMS codes.",
                    "Step 4, identity verification: type the number of the ID document you used when you verified your identity, then press Delete my account permanently.",
                    "Finally, a page confirms that your account is deleted. It shows the deletion date and the date from which you can sign up again.",
                ],
            },
            HelpSection {
                heading: "Good to know",
                paragraphs: &[
                    "Only you can delete your account, while you are signed in. Support cannot do it for you.",
                    "If you leave the process idle for too long, it expires and you need to start again.",
                    "Just before your data is erased, we send a notice to your email with the deletion date.",
                ],
            },
        ],
    },
    HelpTopic {
        slug: "assets-remaining",
        title: "Assets still in your account",
        summary: "What stops a deletion at the assets step, and how to clear each item.",
        sections: &[
            HelpSection {
                heading: "Why you cannot go on yet",
                paragraphs: &[
                    "We only delete an account that holds nothing. This makes sure none of your money is lost.",
                    "The assets step lists everything that is still open. Each item has a link to the place where you can deal with it.",
                ],
            },
            HelpSection {
                heading: "What counts, and how to clear it",
                paragraphs: &[
                    "A balance above the dust threshold: withdraw it to a wallet or bank account you control.",
                    "A pending deposit or withdrawal: wait until it is complete, then withdraw anything that arrived.",
                    "An open order: cancel it, or wait until it fills, then withdraw what you have.",
                    "A running bot: stop it so it releases the funds it holds, then withdraw them.",
                    "Any other hold: if you are not sure what it is for, contact support.",
                ],
            },
            HelpSection {
                heading: "Keep a record first",
                paragraphs: &[
                    "Download your statement of balances and history before you empty your account. You can get it on the first step of the deletion. Once the account is deleted, it is gone.",
                ],
            },
            HelpSection {
                heading: "Check again",
                paragraphs: &[
                    "When everything is cleared, press Next Step and we check again.",
                    "If a deposit arrives before the last step, the deletion stops. Withdraw it, then carry on.",
                ],
            },
        ],
    },
    HelpTopic {
        slug: "captcha",
        title: "The browser check",
        summary: "Why we may ask your browser to solve a short check, and what it does.",
        sections: &[
            HelpSection {
                heading: "Why you see it",
                paragraphs: &[
                    "Sometimes we ask for a quick check before you go on. It makes automated attacks slow and costly.",
                    "You are more likely to see it on a new device or network, or after several wrong codes or ID numbers.",
                ],
            },
            HelpSection {
                heading: "How it works",
                paragraphs: &[
                    "Your browser solves a small puzzle by itself. You do not need to pick pictures or type letters.",
                    "It usually takes a few seconds. Keep the page open until it is done.",
                    "It needs JavaScript. If JavaScript is turned off, turn it on for this site and reload the page.",
                ],
            },
            HelpSection {
                heading: "Your privacy",
                paragraphs: &[
                    "The check runs entirely in your browser. It sends nothing to any third party and does not track you.",
                    "A solved check can be used only once.",
                ],
            },
            HelpSection {
                heading: "If it does not finish",
                paragraphs: &[
                    "Older or busy devices can take longer. If it seems stuck, reload the page and try again.",
                ],
            },
        ],
    },
    HelpTopic {
        slug: "email-code-missing",
        title: "I did not get the email code",
        summary: "What to check when a verification email does not arrive.",
        sections: &[
            HelpSection {
                heading: "Check your mailbox",
                paragraphs: &[
                    "Look in your spam or junk folder, and in any other folders or tabs your mail app sorts messages into.",
                    "Add our sending address to your contacts or allow-list, so that future codes land in your inbox.",
                    "Check the email address shown on the page. The code goes to the address on your account and nowhere else.",
                ],
            },
            HelpSection {
                heading: "Wait before you ask again",
                paragraphs: &[
                    "Email can take a minute or two to arrive. You can ask for a new code 60 seconds after the last one.",
                    "You can ask for at most 5 codes in an hour. If you reach that, wait a while and try again.",
                ],
            },
            HelpSection {
                heading: "Use the newest code",
                paragraphs: &[
                    "Each new code replaces the one before it. If several emails arrive, use the code from the latest one.",
                    "A code works for 10 minutes.",
                ],
            },
            HelpSection {
                heading: "Lost access to your email?",
                paragraphs: &[
                    "If you can no longer use that email address, contact support and ask to recover your account.",
                ],
            },
        ],
    },
    HelpTopic {
        slug: "sms-code-missing",
        title: "I did not get the SMS code",
        summary: "What to check when a text message code does not arrive.",
        sections: &[
            HelpSection {
                heading: "Check your number",
                paragraphs: &[
                    "Make sure the phone number on your account is right. It must be in international format, starting with + and your country code.",
                    "Make sure the phone you are holding uses that number.",
                ],
            },
            HelpSection {
                heading: "Check your phone and carrier",
                paragraphs: &[
                    "You need mobile signal to receive texts. Move to a place with better signal, or restart your phone.",
                    "If you are abroad, check that roaming is turned on. Some carriers do not deliver texts while you roam.",
                    "Some carriers filter messages sent from short numbers, or mark them as spam. Check your blocked messages, or ask your carrier to allow them.",
                ],
            },
            HelpSection {
                heading: "Wait before you ask again",
                paragraphs: &[
                    "Texts can take a few minutes. You can ask for a new code 60 seconds after the last one, and at most 5 times an hour.",
                    "Each new code replaces the one before it. Use the code from the latest message.",
                ],
            },
            HelpSection {
                heading: "Lost your phone or number?",
                paragraphs: &[
                    "If you no longer have this number, contact support and ask to recover your account.",
                ],
            },
        ],
    },
    HelpTopic {
        slug: "wrong-code",
        title: "The code was not accepted",
        summary: "Why an email or SMS code can be refused, and what to do next.",
        sections: &[
            HelpSection {
                heading: "What the error means",
                paragraphs: &[
                    "Wrong: the digits do not match. Check for typing mistakes, and make sure the code is for this step.",
                    "Expired: a code works for 10 minutes only. Ask for a new one.",
                    "Already used: each code works once. Ask for a new one.",
                    "Too many tries: after 5 wrong tries a code stops working. Ask for a new one.",
                ],
            },
            HelpSection {
                heading: "Use the newest code",
                paragraphs: &[
                    "When you ask for a new code, the old one stops working. Always type the code from the latest email or text.",
                    "Codes have 6 digits. Type all of them.",
                ],
            },
            HelpSection {
                heading: "If you are asked to wait",
                paragraphs: &[
                    "After 10 wrong codes within an hour, we stop checking codes for a while to protect your account. Asking for a new code does not lift this.",
                    "Wait up to an hour, then ask for a fresh code and try again.",
                ],
            },
        ],
    },
    HelpTopic {
        slug: "authenticator-errors",
        title: "Authenticator app codes do not work",
        summary: "How to fix codes from an authenticator app that are refused.",
        sections: &[
            HelpSection {
                heading: "Check the clock on your phone",
                paragraphs: &[
                    "Authenticator codes are based on the time. If your phone's clock is off by a minute or more, its codes are refused.",
                    "Turn on automatic date and time in your phone's settings, then try the next code.",
                ],
            },
            HelpSection {
                heading: "Use the right entry",
                paragraphs: &[
                    "If your app holds several accounts, pick the entry for this exchange and for the email you signed in with.",
                    "If you set up the app more than once, old entries no longer work. Use the one you added most recently.",
                ],
            },
            HelpSection {
                heading: "Wait for the next code",
                paragraphs: &[
                    "A new code appears every 30 seconds. Type it before it changes.",
                    "Each code is accepted only once. If you have just used one, wait for the next.",
                ],
            },
            HelpSection {
                heading: "Lost the app?",
                paragraphs: &[
                    "If you no longer have the app or the phone it was on, contact support and ask to recover your account.",
                ],
            },
        ],
    },
    HelpTopic {
        slug: "unique-id",
        title: "What is my Unique ID?",
        summary: "The ID number we ask for in the last deletion step, and where to find it.",
        sections: &[
            HelpSection {
                heading: "What it is",
                paragraphs: &[
                    "Your Unique ID is the number of the document you used when you first verified your identity with us.",
                    "Depending on that document, it is your ID card number, passport number or driver's licence number.",
                    "If the document shows more than one number, use the one you entered when you verified your identity.",
                ],
            },
            HelpSection {
                heading: "How to type it",
                paragraphs: &[
                    "Type the number as it appears on that original document.",
                    "Upper or lower case, spaces, hyphens and dots do not matter.",
                ],
            },
            HelpSection {
                heading: "Special cases",
                paragraphs: &[
                    "If you never completed identity verification, you confirm with your password instead.",
                    "If your document has expired, its number still works.",
                    "If your document number has changed since you verified, contact support so they can record the new one.",
                ],
            },
        ],
    },
    HelpTopic {
        slug: "identity-check-failed",
        title: "The ID number was not accepted",
        summary: "Why the identity step can fail, and what to do if it is locked.",
        sections: &[
            HelpSection {
                heading: "Common reasons",
                paragraphs: &[
                    "You used a different document. We compare with the document from your original verification, not a newer one.",
                    "A character is wrong. Look closely at letters and digits that look alike, such as O and 0, or I and 1.",
                    "Your document was replaced and has a new number. Support needs to record the new number first.",
                    "Case, spaces, hyphens and dots are ignored, so you do not need to match them.",
                ],
            },
            HelpSection {
                heading: "Locked for 24 hours",
                paragraphs: &[
                    "After 5 wrong numbers, the identity step locks for 24 hours. This protects you if someone else is guessing.",
                    "Starting the deletion again does not reset the count. Wait until the lock ends, or contact support.",
                ],
            },
            HelpSection {
                heading: "Lost your original document?",
                paragraphs: &[
                    "If you no longer have the document you verified with, contact support. Do not guess, because wrong tries lead to the lock.",
                ],
            },
        ],
    },
    HelpTopic {
        slug: "document-changed",
        title: "My document number changed",
        summary: "What to do if your ID number is not the same as when you verified.",
        sections: &[
            HelpSection {
                heading: "When this happens",
                paragraphs: &[
                    "A renewed passport or ID card often comes with a new number.",
                    "Moving to another country and getting a document there changes it too.",
                ],
            },
            HelpSection {
                heading: "What to do",
                paragraphs: &[
                    "Contact support and tell them your number changed. They check it and record the new number on your account.",
                    "Once it is recorded, use the new number in the identity step.",
                    "Until then, the identity step expects the number from your original verification. If you still have the old document, you can use its number.",
                ],
            },
        ],
    },
    HelpTopic {
        slug: "expired-document",
        title: "My document has expired",
        summary: "An expired ID document does not stop you from deleting your account.",
        sections: &[
            HelpSection {
                heading: "It still works",
                paragraphs: &[
                    "The identity step checks the number from your original verification. It does not matter if the document has expired since then.",
                    "Type the number from that document as usual.",
                ],
            },
            HelpSection {
                heading: "If you have a new document",
                paragraphs: &[
                    "If your new document has a different number, use the number from the old one, or ask support to record the new one.",
                ],
            },
        ],
    },
    HelpTopic {
        slug: "deletion-cool-off",
        title: "Why deletion has to wait 24 hours",
        summary: "Why deletion is paused for 24 hours after a password reset, a 2FA reset or an account recovery.",
        sections: &[
            HelpSection {
                heading: "Why we wait",
                paragraphs: &[
                    "Someone who steals a session might reset your password or 2FA and then delete the account at once, to hide what they did.",
                    "The pause stops that from happening in one go. It gives you time to notice and act if the change was not yours.",
                ],
            },
            HelpSection {
                heading: "What starts the wait",
                paragraphs: &[
                    "Resetting your password, resetting a 2FA method, or getting access back through an account recovery with support.",
                ],
            },
            HelpSection {
                heading: "What you can do",
                paragraphs: &[
                    "Wait 24 hours from the change, then start the deletion again. Nothing else is needed.",
                    "If you did not make the change, secure your account now: change your password and contact support.",
                ],
            },
        ],
    },
    HelpTopic {
        slug: "reregister",
        title: "Signing up again after deletion",
        summary: "When you can open a new account after deleting your old one.",
        sections: &[
            HelpSection {
                heading: "The 30-day wait",
                paragraphs: &[
                    "You can sign up again 30 days after the official deletion date of your old account, not before.",
                    "The wait applies to the same email address, the same phone number and the same ID document.",
                    "The page you see after deletion and the notice we email you both show the date.",
                ],
            },
            HelpSection {
                heading: "If you try too early",
                paragraphs: &[
                    "Sign-up or identity verification is refused, and the message tells you the date from which it works.",
                ],
            },
            HelpSection {
                heading: "What a new account means",
                paragraphs: &[
                    "A new account starts empty. Nothing comes back from the deleted one: no balances, no history, no settings.",
                    "To enforce the wait, we keep only a scrambled fingerprint of your email, phone and ID number, never the values. It is removed when the wait ends.",
                ],
            },
        ],
    },
    HelpTopic {
        slug: "cannot-log-in",
        title: "I cannot sign in",
        summary: "How to get back into your account if you forgot your password or lost a 2FA method.",
        sections: &[
            HelpSection {
                heading: "Forgot your password",
                paragraphs: &[
                    "On the sign-in page, choose to reset your password. We email a code to the address on your account.",
                    "Enter the code and choose a new password.",
                ],
            },
            HelpSection {
                heading: "Lost your 2FA or your email",
                paragraphs: &[
                    "If you lost your phone, your authenticator app or access to your email, send an account recovery request to support.",
                    "Support checks that you are who you say you are, then helps you get back in.",
                ],
            },
            HelpSection {
                heading: "Support will not delete your account",
                paragraphs: &[
                    "Support never deletes an account for anyone. Once you are back in, you can delete it yourself.",
                    "After a password reset or a recovery, deletion is paused for 24 hours to keep your account safe.",
                ],
            },
        ],
    },
    HelpTopic {
        slug: "passkeys",
        title: "Passkeys",
        summary: "What a passkey is, how to add one, and what it confirms.",
        sections: &[
            HelpSection {
                heading: "What a passkey is",
                paragraphs: &[
                    "A passkey is a key your phone, computer or password manager keeps for this site. You unlock it with your fingerprint, your face or the device's PIN, and it signs you in without a password.",
                    "A passkey only works on this site's real address, so a fake page cannot trick you into handing it over. Nothing secret is sent to us: we keep only the public half, sealed.",
                ],
            },
            HelpSection {
                heading: "Adding and using one",
                paragraphs: &[
                    "Open Security, give the new passkey a name such as Laptop or Phone, and press Add a passkey. Your browser asks you to confirm with your fingerprint, face or PIN. An account can have up to 10 passkeys.",
                    "To sign in, press Sign in with a passkey on the sign-in page, or choose the passkey your browser offers in the email field. If you sign in with your password, the passkey is the second step.",
                    "Once you have a passkey, it confirms withdrawals, removing a sign-in method and deleting the account, together with your other methods. Under Security you can also require it: then a password sign-in needs the passkey, not an authenticator code.",
                ],
            },
            HelpSection {
                heading: "When a passkey is refused",
                paragraphs: &[
                    "Each passkey request works once and for 5 minutes. If it expired or was already used, press the button again.",
                    "If we say the passkey looks copied, its use counter went backwards. We refuse it to protect you: sign in another way and remove that passkey under Security.",
                ],
            },
        ],
    },
    HelpTopic {
        slug: "lost-passkey",
        title: "A lost device or a passkey that no longer works",
        summary: "What to do when the device with your passkey is lost, and how to remove an old passkey from a device.",
        sections: &[
            HelpSection {
                heading: "You lost the device",
                paragraphs: &[
                    "Sign in with your password and another method (an authenticator code or, if you have another passkey, that one). Then remove the lost passkey under Security.",
                    "If you cannot sign in at all, ask support to recover your account. After they check your identity, they remove every 2FA method, passkeys included, and you set them up again.",
                ],
            },
            HelpSection {
                heading: "Removing a passkey from a device",
                paragraphs: &[
                    "After you remove a passkey here, or after your account is deleted, the passkey no longer works but your device may still list it. Delete it there too.",
                    "On a phone or computer, open the passkey list in the settings of the system or the password manager (often under Passwords), find this site, and delete the passkey. Some browsers remove it for you when they are told it is gone.",
                ],
            },
        ],
    },
    freeze::UNEXPECTED_ALERT,
    freeze::ACCOUNT_FROZEN,
];
/// The contact form a help page that says "contact support" links to, with its topic
/// chosen. Pages for people who cannot log in point to the recovery request instead
/// (the contact form needs a session), so they have none.
pub fn contact_link(slug: &str) -> Option<String> {
    use offboard_core::support::SupportTopic;
    let topic = match slug {
        "document-changed" | "unique-id" => SupportTopic::DocumentChanged,
        "identity-check-failed" => SupportTopic::IdentityLocked,
        "assets-remaining" | "deletion-cool-off" => SupportTopic::Other,
        _ => return None,
    };
    Some(format!("/support/contact?topic={}", topic.as_str()))
}

/// The topic with this slug.
pub fn find(slug: &str) -> Option<&'static HelpTopic> {
    TOPICS.iter().find(|t| t.slug == slug)
}

#[cfg(test)]
mod tests;
