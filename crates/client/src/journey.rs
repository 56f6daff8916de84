//! The deletion journey, written once, as steps to compose: the bench walks
//! [`complete`] under load, and HTTP tests call the steps one by one (and stop between
//! them to look around). One-time codes come from the dev outbox, authenticator codes from
//! an [`Authenticator`], the captcha is solved like the browser solves it.
//!
//! ```text
//! sign_up_funded_user ─ sign-up, login, admin deposit, identity approved by the admin API
//! User::empty_account ─ withdrawal with a code per bound factor, completed by the host
//! User::bind_authenticator, User::log_in (password + authenticator)
//! User::start_deletion → Deletion::confirm_notes (captcha) → check_assets
//!                      → verify_factors → prove_identity → Erased
//! ```

use crate::authenticator::Authenticator;
use crate::captcha;
use crate::client::Client;
use crate::deletion::{ConfirmNotes, Flow, IdentityProof};
use crate::error::ClientError;
use crate::factors::FactorCodes;
use crate::identity::Document;
use crate::kinds::{Channel, CodePurpose, Factor, IdentityMethod, ReviewStatus, Step};
use crate::ledger::WithdrawalRequest;
use std::fmt;
use std::future::Future;
use std::time::Instant;

/// The observer's name for the client-side captcha work of [`Deletion::confirm_notes`].
pub const CAPTCHA_SOLVE: &str = "captcha_solve (client)";
/// A BTC address the withdrawal form accepts.
pub const BTC_ADDRESS: &str = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq";

/// An amount of one asset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Funds {
    pub asset: String,
    /// Decimal string.
    pub amount: String,
}

impl Funds {
    pub fn new(asset: &str, amount: &str) -> Self {
        Self {
            asset: asset.to_owned(),
            amount: amount.to_owned(),
        }
    }
}

/// A signed-up account with a session, and what the journey knows about it.
pub struct User {
    /// The client with this account's session (and the admin token, if it had one).
    pub api: Client,
    pub account_id: String,
    pub email: String,
    pub password: String,
    /// The bound phone, after [`User::bind_phone`].
    pub phone: Option<String>,
    /// The approved document's number, after [`User::approve_identity`].
    pub document_number: Option<String>,
    /// After [`User::bind_authenticator`].
    pub authenticator: Option<Authenticator>,
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("account_id", &self.account_id)
            .field("email", &self.email)
            .field("phone", &self.phone)
            .field("authenticator", &self.authenticator.is_some())
            .finish_non_exhaustive()
    }
}

/// Signs up and logs in (`signup`, `login`).
pub async fn sign_up(api: &Client, email: &str, password: &str) -> Result<User, ClientError> {
    let signed_up = api.signup(email, password).await?;
    let session = api.login(email, password).await?;
    Ok(User {
        api: api.with_session(&session.token),
        account_id: signed_up.account_id,
        email: email.to_owned(),
        password: password.to_owned(),
        phone: None,
        document_number: None,
        authenticator: None,
    })
}

/// [`sign_up`], a deposit of `funds` and the identity `document` approved, both through
/// the admin API (`api` needs the admin token).
pub async fn sign_up_funded_user(
    api: &Client,
    email: &str,
    password: &str,
    document: &Document,
    funds: &Funds,
) -> Result<User, ClientError> {
    let mut user = sign_up(api, email, password).await?;
    user.deposit(funds).await?;
    user.approve_identity(document).await?;
    Ok(user)
}

/// Tries `attempt` with a fresh authenticator code, and once more with the next code if
/// the first was `invalid_code`: client and server can straddle a 30-second step.
async fn with_fresh_code<T, F, Fut>(
    authenticator: &mut Authenticator,
    mut attempt: F,
) -> Result<T, ClientError>
where
    F: FnMut(String) -> Fut,
    Fut: Future<Output = Result<T, ClientError>>,
{
    match attempt(authenticator.code().await?).await {
        Err(err) if err.code() == Some("invalid_code") => {
            attempt(authenticator.code().await?).await
        }
        other => other,
    }
}

impl User {
    /// The host credits `funds` (`admin_deposit`); the deposit's id.
    pub async fn deposit(&self, funds: &Funds) -> Result<String, ClientError> {
        let created = self
            .api
            .admin_deposit(&self.account_id, &funds.asset, &funds.amount, None)
            .await?;
        Ok(created.deposit_id)
    }

    /// The host platform approves `document` (`admin_identity`).
    pub async fn approve_identity(&mut self, document: &Document) -> Result<(), ClientError> {
        self.api
            .admin_set_identity(&self.account_id, document, ReviewStatus::Approved)
            .await?;
        self.document_number = Some(document.document_number.clone());
        Ok(())
    }

    /// A code for every bound factor, for an action of `purpose`: email and SMS codes
    /// sent (`me_codes`) and read from the dev outbox (`dev_outbox`), an authenticator code.
    pub async fn action_codes(&mut self, purpose: CodePurpose) -> Result<FactorCodes, ClientError> {
        self.api.send_code(Channel::Email, purpose).await?;
        let mut codes = FactorCodes {
            email_code: Some(self.api.latest_code(&self.email).await?),
            ..FactorCodes::default()
        };
        if let Some(phone) = &self.phone {
            self.api.send_code(Channel::Sms, purpose).await?;
            codes.sms_code = Some(self.api.latest_code(phone).await?);
        }
        if let Some(authenticator) = &mut self.authenticator {
            codes.totp_code = Some(authenticator.code().await?);
        }
        Ok(codes)
    }

    /// Withdraws `funds` to `address` with a code per bound factor (`withdrawal`); the
    /// withdrawal's id, pending until the host settles it.
    pub async fn withdraw(&mut self, funds: &Funds, address: &str) -> Result<String, ClientError> {
        let codes = self.action_codes(CodePurpose::Withdrawal).await?;
        let request = WithdrawalRequest {
            asset: funds.asset.clone(),
            amount: funds.amount.clone(),
            address: address.to_owned(),
            codes,
        };
        Ok(self.api.withdraw(&request).await?.withdrawal_id)
    }

    /// [`User::withdraw`], then the host completes it (`admin_withdrawal_complete`).
    pub async fn empty_account(&mut self, funds: &Funds, address: &str) -> Result<(), ClientError> {
        let withdrawal = self.withdraw(funds, address).await?;
        self.api.admin_complete_withdrawal(&withdrawal).await
    }

    /// Binds an authenticator (`totp_setup`, `totp_confirm`) and keeps it.
    pub async fn bind_authenticator(&mut self) -> Result<(), ClientError> {
        let setup = self.api.totp_begin().await?;
        let mut authenticator = Authenticator::new(setup.secret);
        let api = &self.api;
        with_fresh_code(&mut authenticator, |code| async move {
            api.totp_confirm(&code).await
        })
        .await?;
        self.authenticator = Some(authenticator);
        Ok(())
    }

    /// Binds `phone` (`phone_setup`, the SMS code from the outbox, `phone_confirm`).
    pub async fn bind_phone(&mut self, phone: &str) -> Result<(), ClientError> {
        self.api.phone_begin(phone).await?;
        let code = self.api.latest_code(phone).await?;
        self.api.phone_confirm(&code).await?;
        self.phone = Some(phone.to_owned());
        Ok(())
    }

    /// Logs in again, with an authenticator code once one is bound (`login` or
    /// `login_totp`), and carries on with the new session.
    pub async fn log_in(&mut self) -> Result<(), ClientError> {
        let anonymous = self.api.without_session();
        let session = match &mut self.authenticator {
            None => anonymous.login(&self.email, &self.password).await?,
            Some(authenticator) => {
                let (anonymous, email, password) = (&anonymous, &self.email, &self.password);
                with_fresh_code(authenticator, |code| async move {
                    anonymous.login_with_totp(email, password, &code).await
                })
                .await?
            }
        };
        self.api = self.api.with_session(&session.token);
        Ok(())
    }

    /// The host reports something open (`admin_hold`); the hold's id.
    pub async fn add_hold(&self, kind: &str, reference: &str) -> Result<String, ClientError> {
        let hold = self
            .api
            .admin_add_hold(&self.account_id, kind, reference)
            .await?;
        Ok(hold.hold_id)
    }

    /// The host lifts a hold (`admin_hold_release`).
    pub async fn release_hold(&self, hold_id: &str) -> Result<(), ClientError> {
        self.api.admin_release_hold(hold_id).await
    }

    /// Starts the deletion (`deletion_start`), or takes up the live flow.
    pub async fn start_deletion(&mut self) -> Result<Deletion<'_>, ClientError> {
        let flow = self.api.deletion_start().await?;
        Ok(Deletion { user: self, flow })
    }
}

/// A deletion flow under way; each step sends its request and keeps the answer.
pub struct Deletion<'u> {
    user: &'u mut User,
    flow: Flow,
}

/// What the last step answers: the account is erased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Erased {
    pub account_id: String,
    pub flow_id: String,
    pub deleted_at: String,
    /// When the email and document may sign up again.
    pub reregister_after: String,
}

fn expect_step(request: &'static str, got: Step, expected: Step) -> Result<(), ClientError> {
    if got == expected {
        Ok(())
    } else {
        Err(ClientError::WrongStep {
            request,
            expected,
            got,
        })
    }
}

impl Deletion<'_> {
    /// The flow as the last answer showed it.
    pub fn flow(&self) -> &Flow {
        &self.flow
    }

    pub fn user(&self) -> &User {
        self.user
    }

    /// Notes: solves the captcha if the flow shows one (observed as [`CAPTCHA_SOLVE`]) and
    /// acknowledges (`deletion_confirm`). The step it moved to: `assets` if anything
    /// blocks, else `verification`.
    pub async fn confirm_notes(&mut self) -> Result<Step, ClientError> {
        let captcha = match &self.flow.captcha {
            None => None,
            Some(challenge) => {
                let started = Instant::now();
                let answer = captcha::solve(challenge).await?;
                self.user.api.observe_local(CAPTCHA_SOLVE, started);
                Some(answer)
            }
        };
        let confirm = ConfirmNotes::acknowledged(captcha);
        self.flow = self
            .user
            .api
            .deletion_confirm(&self.flow.id, &confirm)
            .await?;
        Ok(self.flow.step)
    }

    /// Assets: re-checks (`deletion_assets`); nothing may block any more.
    pub async fn check_assets(&mut self) -> Result<(), ClientError> {
        let flow = self.user.api.deletion_check_assets(&self.flow.id).await?;
        self.flow = flow.expect("deletion_assets", Step::Verification)?;
        Ok(())
    }

    /// Verification: a code for each factor the flow asks for (`deletion_codes` and
    /// `dev_outbox` per channel, the authenticator's code), then `deletion_verify`.
    pub async fn verify_factors(&mut self) -> Result<(), ClientError> {
        let user = &mut *self.user;
        let (api, id) = (&user.api, self.flow.id.as_str());
        let mut codes = FactorCodes::default();
        for factor in &self.flow.factors {
            let (channel, to) = match factor {
                Factor::Email => (Channel::Email, user.email.as_str()),
                Factor::Sms => (
                    Channel::Sms,
                    user.phone
                        .as_deref()
                        .ok_or(ClientError::Missing("the bound phone"))?,
                ),
                Factor::Totp => continue,
            };
            api.deletion_send_code(id, channel).await?;
            let code = Some(api.latest_code(to).await?);
            match channel {
                Channel::Email => codes.email_code = code,
                Channel::Sms => codes.sms_code = code,
            }
        }
        let flow = if self.flow.factors.contains(&Factor::Totp) {
            let authenticator = user
                .authenticator
                .as_mut()
                .ok_or(ClientError::Missing("the bound authenticator"))?;
            let codes = &codes;
            with_fresh_code(authenticator, |totp| {
                let codes = FactorCodes {
                    totp_code: Some(totp),
                    ..codes.clone()
                };
                async move { api.deletion_verify(id, &codes).await }
            })
            .await?
        } else {
            api.deletion_verify(id, &codes).await?
        };
        self.flow = flow.expect("deletion_verify", Step::Identity)?;
        Ok(())
    }

    /// Identity: the ID number on file or the password, as the flow asks
    /// (`deletion_identity`); the account is erased.
    pub async fn prove_identity(self) -> Result<Erased, ClientError> {
        let proof = match self.flow.identity_method {
            IdentityMethod::IdNumber => IdentityProof::IdNumber(
                self.user
                    .document_number
                    .clone()
                    .ok_or(ClientError::Missing("the ID number on file"))?,
            ),
            IdentityMethod::Password => IdentityProof::Password(self.user.password.clone()),
        };
        let flow = self
            .user
            .api
            .deletion_identity(&self.flow.id, &proof)
            .await?
            .expect("deletion_identity", Step::Deleted)?;
        let (Some(deleted_at), Some(reregister_after)) = (flow.deleted_at, flow.reregister_after)
        else {
            return Err(ClientError::Decode {
                request: "deletion_identity",
                reason: "a deleted flow without deleted_at or reregister_after".to_owned(),
                body: String::new(),
            });
        };
        Ok(Erased {
            account_id: self.user.account_id.clone(),
            flow_id: flow.id,
            deleted_at,
            reregister_after,
        })
    }
}

/// Every step of the deletion for an account nothing blocks any more (or only what the
/// assets step's re-check finds cleared): notes, assets if shown, verification, identity.
pub async fn delete_account(user: &mut User) -> Result<Erased, ClientError> {
    let mut deletion = user.start_deletion().await?;
    if deletion.confirm_notes().await? == Step::Assets {
        deletion.check_assets().await?;
    }
    deletion.verify_factors().await?;
    deletion.prove_identity().await
}

/// The complete journey the bench measures, for one person.
#[derive(Debug, Clone)]
pub struct CompleteJourney {
    pub email: String,
    pub password: String,
    pub document: Document,
    /// Deposited, then withdrawn to `address` before the deletion.
    pub funds: Funds,
    pub address: String,
    /// An open order the host reports: the assets step waits until it is lifted.
    pub hold_kind: String,
    pub hold_reference: String,
}

impl CompleteJourney {
    /// 0.5 BTC in and out again, a passport, an open `BTC/USDT #1` order.
    pub fn new(email: &str, password: &str, document_number: &str) -> Self {
        Self {
            email: email.to_owned(),
            password: password.to_owned(),
            document: Document::passport(document_number),
            funds: Funds::new("BTC", "0.5"),
            address: BTC_ADDRESS.to_owned(),
            hold_kind: "order".to_owned(),
            hold_reference: "BTC/USDT #1".to_owned(),
        }
    }
}

/// Sign-up, login, admin deposit, identity approved by the admin API, withdrawal of the
/// deposit (email code) completed by the host, authenticator bound, login with password +
/// authenticator, an open order (admin hold); then the deletion: notes (captcha), assets
/// (the hold blocks; the host lifts it), verification (email + authenticator codes),
/// identity (ID number), erased.
pub async fn complete(api: &Client, journey: &CompleteJourney) -> Result<Erased, ClientError> {
    let j = journey;
    let mut user = sign_up_funded_user(api, &j.email, &j.password, &j.document, &j.funds).await?;
    user.empty_account(&j.funds, &j.address).await?;
    user.bind_authenticator().await?;
    user.log_in().await?;
    let hold = user.add_hold(&j.hold_kind, &j.hold_reference).await?;
    let mut deletion = user.start_deletion().await?;
    let step = deletion.confirm_notes().await?;
    expect_step("deletion_confirm", step, Step::Assets)?;
    deletion.user().release_hold(&hold).await?;
    deletion.check_assets().await?;
    deletion.verify_factors().await?;
    deletion.prove_identity().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_second_code_is_tried_only_after_invalid_code() {
        let secret = offboard_core::totp::generate_secret();
        let mut authenticator = Authenticator::new(secret);
        let mut tries = Vec::new();
        let result: Result<(), ClientError> = with_fresh_code(&mut authenticator, |code| {
            tries.push(code);
            let n = tries.len();
            async move {
                if n == 1 {
                    Err(ClientError::Api {
                        request: "totp_confirm",
                        error: Box::new(
                            crate::ApiError::parse(
                                400,
                                br#"{"error":{"code":"invalid_code","message":"no"}}"#,
                            )
                            .unwrap(),
                        ),
                    })
                } else {
                    Ok(())
                }
            }
        })
        .await;
        result.unwrap();
        assert_eq!(tries.len(), 2);
        assert_ne!(tries[0], tries[1], "the retry uses the next step's code");

        let mut calls = 0;
        let err = with_fresh_code(&mut authenticator, |_| {
            calls += 1;
            async { Err::<(), _>(ClientError::Missing("x")) }
        })
        .await
        .unwrap_err();
        assert!(matches!(err, ClientError::Missing("x")));
        assert_eq!(calls, 1, "other errors are not retried");
    }

    #[test]
    fn the_bench_journey_defaults() {
        let j = CompleteJourney::new("a@example.com", "pw", "J1");
        assert_eq!(j.funds, Funds::new("BTC", "0.5"));
        assert_eq!(j.document.document_number, "J1");
        assert_eq!(j.address, BTC_ADDRESS);
        assert!(expect_step("x", Step::Assets, Step::Assets).is_ok());
        assert!(matches!(
            expect_step("deletion_confirm", Step::Verification, Step::Assets),
            Err(ClientError::WrongStep { .. })
        ));
    }
}
