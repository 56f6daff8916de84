//! Identity verification (KYC): submitting a document, approving it, reading its status.
//! Shared by the user API, the host/admin API and the identity page.
//!
//! The document number is sealed with the document key (XChaCha20-Poly1305, bound to the
//! account id, naming its key id for rotation) and indexed with a keyed hash under the
//! blind-index key (R6). Nothing here returns, logs or audits the whole number: pages and
//! responses get at most its last three characters.

use crate::error::AppError;
use crate::error::ErrorKind;
use crate::state::AppState;
use offboard_core::actor::Actor;
use offboard_core::crypto::sealed_key_id;
use offboard_core::identity::{
    mask_last3, parse_expiry, Country, DocumentNumber, DocumentType, IdentityStatus,
};
use offboard_core::AccountId;
use offboard_store::{AccountStatus, AuditEntry, NewIdentity};
use time::Date;

/// Help pages the identity answers point to.
pub const HELP_UNIQUE_ID: &str = "/help/unique-id";
pub const HELP_DOCUMENT_CHANGED: &str = "/help/document-changed";
pub const HELP_EXPIRED_DOCUMENT: &str = "/help/expired-document";

/// Domain of the document number's blind index (see [`document_index`]).
pub const BLIND_INDEX_DOMAIN: &str = "document-number";

/// A document as submitted, every field parsed. Debug shows the number masked.
#[derive(Debug, Clone)]
pub struct IdentitySubmission {
    pub document_type: DocumentType,
    pub number: DocumentNumber,
    pub country: Country,
    pub expires_on: Date,
}

/// A field that did not parse, named as in the API body and the form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn to_app_error(&self) -> AppError {
        let err = AppError::validation(self.field, &self.message);
        if self.field == "document_number" {
            err.with_help(HELP_UNIQUE_ID)
        } else {
            err
        }
    }
}

impl IdentitySubmission {
    /// Parses every field and reports every field at fault (for the form). Messages
    /// never repeat the document number.
    pub fn check(
        document_type: &str,
        document_number: &str,
        country: &str,
        expires_on: &str,
    ) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut fail = |field: &'static str, message: String| {
            errors.push(FieldError { field, message });
        };
        let document_type = DocumentType::parse(document_type)
            .map_err(|e| fail("document_type", e.to_string()))
            .ok();
        let number = DocumentNumber::parse(document_number)
            .map_err(|e| fail("document_number", e.to_string()))
            .ok();
        let country = Country::parse(country)
            .map_err(|e| fail("country", e.to_string()))
            .ok();
        let expires_on = parse_expiry(expires_on)
            .map_err(|e| fail("expires_on", e.to_string()))
            .ok();
        match (document_type, number, country, expires_on) {
            (Some(document_type), Some(number), Some(country), Some(expires_on)) => Ok(Self {
                document_type,
                number,
                country,
                expires_on,
            }),
            _ => Err(errors),
        }
    }

    /// Like [`IdentitySubmission::check`], answering 422 naming the first field at fault.
    pub fn parse(
        document_type: &str,
        document_number: &str,
        country: &str,
        expires_on: &str,
    ) -> Result<Self, AppError> {
        Self::check(document_type, document_number, country, expires_on).map_err(|errors| {
            errors
                .first()
                .map(FieldError::to_app_error)
                .unwrap_or_else(|| AppError::internal("identity check failed without a reason"))
        })
    }
}

/// The blind index of a document number: HMAC-SHA256 under the blind-index key, in its
/// own domain. The same normalised number always gives the same index, so look-ups
/// (R6's comparison, R9's tombstone) never need the plaintext.
pub fn document_index(state: &AppState, number: &DocumentNumber) -> String {
    state
        .config
        .keys
        .blind_index
        .keyed_hash(BLIND_INDEX_DOMAIN, number.as_str())
}

/// Seals a number for `account_id` (the account id's text is the associated data, so a
/// sealed number cannot be moved to another account).
pub fn seal_number(state: &AppState, account_id: AccountId, number: &DocumentNumber) -> String {
    state.config.keys.document.seal(
        account_id.to_string().as_bytes(),
        number.as_str().as_bytes(),
    )
}

/// Opens a sealed number of `account_id`; `None` (logged) if it names another key or was
/// altered.
pub fn open_number(
    state: &AppState,
    account_id: AccountId,
    sealed: &str,
) -> Option<DocumentNumber> {
    let key = &state.config.keys.document;
    if sealed_key_id(sealed) != Some(key.key_id().as_str()) {
        tracing::error!(
            key_id = sealed_key_id(sealed).unwrap_or("?"),
            "a document number is sealed under a key this server does not hold"
        );
        return None;
    }
    let plain = key.open(account_id.to_string().as_bytes(), sealed);
    let number = plain
        .as_deref()
        .and_then(|bytes| std::str::from_utf8(bytes).ok())
        .and_then(|text| DocumentNumber::parse(text).ok());
    if number.is_none() {
        tracing::error!("a sealed document number did not open");
    }
    number
}

/// 404 for an account id that names no account (distinct from the router's own 404).
pub fn no_such_account() -> AppError {
    AppError::new(
        ErrorKind::NotFound,
        "not_found",
        "There is no account with this id.",
    )
}

/// Records a document for an active account with the given status, sealing the number
/// and indexing it. `actor` is `user`, `admin`, `system` or `agent:<id>`; `reason` is for
/// support recording a changed document. Unknown account: 404; deleted: 409.
pub async fn submit(
    state: &AppState,
    account_id: AccountId,
    submission: &IdentitySubmission,
    actor: &Actor,
    status: IdentityStatus,
    reason: Option<&str>,
    also_audit: Option<(&str, &str)>,
) -> Result<(), AppError> {
    match state.store.get_account(account_id).await? {
        None => return Err(no_such_account()),
        Some(account) if account.status == AccountStatus::Deleted => {
            return Err(AppError::new(
                ErrorKind::Conflict,
                "account_deleted",
                "This account is deleted; its identity record cannot change.",
            ))
        }
        Some(_) => {}
    }
    let index = document_index(state, &submission.number);
    // R9: a document of an account deleted less than 30 days ago waits.
    crate::tombstones::check(state, "ID number", &index).await?;
    let sealed = seal_number(state, account_id, &submission.number);
    let masked = submission.number.masked();
    let detail = format!(
        "document_type={} country={} status={}",
        submission.document_type.as_str(),
        submission.country.as_str(),
        status.as_str()
    );
    let now = state.now();
    let actor = &actor.to_string();
    let line = |action, detail| AuditEntry {
        at: now,
        account_id: Some(account_id),
        actor,
        action,
        detail: Some(detail),
    };
    // The record and its audit lines commit together (R11, R14).
    let mut audit = vec![line("identity_submitted", &detail)];
    if let Some((action, detail)) = also_audit {
        audit.push(line(action, detail));
    }
    let new = NewIdentity {
        account_id,
        document_type: submission.document_type,
        country: submission.country,
        expires_on: submission.expires_on,
        status,
        number_sealed: &sealed,
        number_index: &index,
        number_masked: &masked,
        reason,
        actor,
        now,
        audit,
    };
    state.store.upsert_identity(new).await?;
    Ok(())
}

/// The account holder submits their document. An approved identity cannot be replaced
/// this way (a changed document goes through support: 409). In dev mode the submission
/// is approved at once; in production it waits for the host platform.
pub async fn submit_by_user(
    state: &AppState,
    account_id: AccountId,
    submission: &IdentitySubmission,
) -> Result<IdentityStatus, AppError> {
    let current = state.store.identity(account_id).await?;
    if current.is_some_and(|row| row.status == IdentityStatus::Approved) {
        return Err(AppError::conflict(
            "Your identity is already verified. If your document or its number changed, contact support to record the new one.",
        )
        .with_help(HELP_DOCUMENT_CHANGED));
    }
    submit(
        state,
        account_id,
        submission,
        &Actor::User,
        IdentityStatus::Pending,
        None,
        None,
    )
    .await?;
    if !state.config.is_dev() {
        return Ok(IdentityStatus::Pending);
    }
    state
        .store
        .set_identity_status(
            account_id,
            IdentityStatus::Approved,
            &Actor::System.to_string(),
            state.now(),
        )
        .await?;
    crate::audit::by(
        state,
        &Actor::System,
        Some(account_id),
        "identity_approved",
        Some("automatically: dev mode"),
    )
    .await;
    Ok(IdentityStatus::Approved)
}

/// What may be shown of an identity record: never more than the last three characters
/// of the number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityDetails {
    pub status: IdentityStatus,
    pub document_type: DocumentType,
    pub country: Country,
    pub expires_on: Date,
    /// Last three characters of the number on file; `None` if it could not be opened.
    pub number_last3: Option<String>,
}

impl IdentityDetails {
    /// `•••456`.
    pub fn masked_number(&self) -> Option<String> {
        self.number_last3.as_deref().map(mask_last3)
    }
}

/// An account's identity as users and the host may see it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IdentityOverview(pub Option<IdentityDetails>);

impl IdentityOverview {
    /// `none`, `pending`, `approved` or `rejected`.
    pub fn status_str(&self) -> &'static str {
        self.0.as_ref().map_or("none", |d| d.status.as_str())
    }

    /// For pages: "Approved (passport •••456)", or "Not verified yet".
    pub fn line(&self) -> String {
        match &self.0 {
            None => "Not verified yet".to_owned(),
            Some(d) => match d.masked_number() {
                Some(masked) => format!(
                    "{} ({} {masked})",
                    d.status.label(),
                    d.document_type.label()
                ),
                None => format!("{} ({})", d.status.label(), d.document_type.label()),
            },
        }
    }
}

/// The account's identity status and, if a record exists, the masked latest number.
pub async fn status(state: &AppState, account_id: AccountId) -> Result<IdentityOverview, AppError> {
    let Some(row) = state.store.identity(account_id).await? else {
        return Ok(IdentityOverview(None));
    };
    let number_last3 = row
        .latest_number()
        .and_then(|n| open_number(state, account_id, &n.sealed))
        .map(|n| n.last3().to_owned());
    Ok(IdentityOverview(Some(IdentityDetails {
        status: row.status,
        document_type: row.document_type,
        country: row.country,
        expires_on: row.expires_on,
        number_last3,
    })))
}

/// The security page's one-line status; a database error shows as "unavailable".
pub async fn status_line(state: &AppState, account_id: AccountId) -> String {
    match status(state, account_id).await {
        Ok(overview) => overview.line(),
        Err(_) => "Unavailable right now".to_owned(),
    }
}
