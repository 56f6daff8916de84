//! The fixed values of string fields, for the schemas that name them with
//! `#[schema(value_type = ...)]` (the wire format stays a plain string). Schema-only:
//! nothing builds these types.

use utoipa::ToSchema;

/// A deletion flow's step.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum StepName {
    Notes,
    Assets,
    Verification,
    Identity,
    Deleted,
}

/// Where a code is sent.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum ChannelName {
    Email,
    Sms,
}

/// A verification factor.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum FactorName {
    Email,
    Sms,
    Totp,
    Passkey,
}

/// The actions a passkey challenge (`POST /api/v1/me/passkeys/challenge`) is for.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum PasskeyPurpose {
    Deletion,
    Withdrawal,
    Unbind,
}

/// The purposes `POST /api/v1/me/codes` sends codes for.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum ActionPurpose {
    Withdrawal,
    Unbind,
}

/// An identity record's status; `none` when there is no record.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum IdentityStatusName {
    None,
    Pending,
    Approved,
    Rejected,
}

/// The outcome of the host platform's identity verification.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum ReviewStatus {
    Pending,
    Approved,
    Rejected,
}

/// An identity document's type.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum DocumentTypeName {
    IdCard,
    Passport,
    DriversLicence,
}

/// How the deletion's last step confirms the person.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum IdentityMethod {
    IdNumber,
    Password,
}

/// What blocks a deletion.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum BlockerKind {
    Balance,
    PendingDeposit,
    PendingWithdrawal,
    Hold,
}

/// What clears a blocker.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum BlockerAction {
    Withdraw,
    Wait,
    CloseOnExchange,
}

/// A pending ledger item.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum PendingKind {
    Deposit,
    Withdrawal,
}

/// A webhook delivery's state.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    Dead,
}

/// Where a webhook endpoint was registered.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum WebhookSource {
    Api,
    Settings,
}

/// The events a webhook endpoint can receive.
#[derive(ToSchema)]
pub enum WebhookEvent {
    #[schema(rename = "account.deleted")]
    AccountDeleted,
    #[schema(rename = "account.deletion_started")]
    AccountDeletionStarted,
    #[schema(rename = "account.recovered")]
    AccountRecovered,
    #[schema(rename = "account.frozen")]
    AccountFrozen,
}

/// Whether a recovery request's typed ID number matched the one on file.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum IdNumberCheck {
    Match,
    Mismatch,
    NotGiven,
}

/// An account's status as support sees it.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum AccountStatusName {
    Active,
    Deleted,
}

/// The statement's formats.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum ExportFormat {
    Json,
    Csv,
}

/// The deletion captcha (ALTCHA proof of work, API.md "Captcha").
#[allow(dead_code)] // documentation only: `offboard_core::captcha::Challenge` is served
#[derive(ToSchema)]
pub struct CaptchaChallenge {
    /// `SHA-256`.
    #[schema(example = "SHA-256")]
    algorithm: String,
    /// Hex SHA-256 of `salt` followed by the decimal number to find.
    challenge: String,
    salt: String,
    /// The number lies in `0..=maxnumber`.
    #[schema(minimum = 0)]
    maxnumber: u64,
    /// The server's HMAC-SHA256 of `challenge`.
    signature: String,
}

/// Every vocabulary, so a `value_type` in parameters (which utoipa does not follow)
/// finds its schema too.
pub fn all(
    out: &mut Vec<(
        String,
        utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
    )>,
) {
    fn one<T: ToSchema>(
        out: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        out.push((T::name().into_owned(), T::schema()));
    }
    one::<StepName>(out);
    one::<ChannelName>(out);
    one::<FactorName>(out);
    one::<ActionPurpose>(out);
    one::<PasskeyPurpose>(out);
    one::<IdentityStatusName>(out);
    one::<ReviewStatus>(out);
    one::<DocumentTypeName>(out);
    one::<IdentityMethod>(out);
    one::<BlockerKind>(out);
    one::<BlockerAction>(out);
    one::<PendingKind>(out);
    one::<DeliveryStatus>(out);
    one::<WebhookSource>(out);
    one::<WebhookEvent>(out);
    one::<IdNumberCheck>(out);
    one::<AccountStatusName>(out);
    one::<ExportFormat>(out);
    one::<CaptchaChallenge>(out);
    one::<SupportTopicName>(out);
    one::<SupportRequestStatusName>(out);
}

/// What a contact request is about.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum SupportTopicName {
    DocumentChanged,
    IdentityLocked,
    Other,
}

/// Where a contact request stands.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum SupportRequestStatusName {
    Open,
    Answered,
}
