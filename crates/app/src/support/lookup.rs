//! Finding accounts: by exactly one key, each account seen audited (R11, R14).

use super::agents::*;
use crate::audit;
use crate::error::AppError;
use crate::factors;
use crate::identity::{self};
use crate::state::AppState;
use offboard_core::identity::{DocumentNumber, IdentityStatus};
use offboard_core::{AccountId, PhoneNumber};
use offboard_store::{AccountRow, AccountStatus};
use time::OffsetDateTime;

/// What support may see of an account: no secret, code, token or document number.
#[derive(Debug, Clone)]
pub struct AccountSummary {
    pub account_id: AccountId,
    pub status: AccountStatus,
    /// Bound factors (none for a deleted account).
    pub factors: Option<factors::BoundFactors>,
    /// `None` when no identity is on file.
    pub identity: Option<IdentityStatus>,
    /// The step of a deletion in progress, if any.
    pub open_deletion_step: Option<offboard_core::deletion::Step>,
    /// Set while the identity step is locked after wrong answers.
    pub identity_locked_until: Option<OffsetDateTime>,
    /// R17: when the account was frozen, while it is.
    pub frozen_at: Option<OffsetDateTime>,
}

async fn summary(state: &AppState, account: &AccountRow) -> Result<AccountSummary, AppError> {
    let active = account.status == AccountStatus::Active;
    let (bound, identity) = factors::factors_and_identity(account);
    let open_deletion_step = if active {
        state.store.live_flow(account.id).await?.map(|f| f.step)
    } else {
        None
    };
    let now = state.now();
    let (failures, last) = state.store.identity_failures(account.id, now).await?;
    Ok(AccountSummary {
        account_id: account.id,
        status: account.status,
        factors: active.then_some(bound),
        identity,
        open_deletion_step,
        identity_locked_until: offboard_core::deletion::identity_locked_until(failures, last, now),
        frozen_at: account.frozen_at,
    })
}

/// How an agent looks accounts up: by exactly one key.
#[derive(Clone)]
pub enum AccountLookup {
    Email(String),
    Phone(String),
    AccountId(String),
    /// Compared by blind index; the answer says which accounts match, never the number.
    DocumentNumber(String),
}

impl std::fmt::Debug for AccountLookup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AccountLookup::Email(_) => f.write_str("AccountLookup::Email(***)"),
            AccountLookup::Phone(_) => f.write_str("AccountLookup::Phone(***)"),
            AccountLookup::AccountId(id) => write!(f, "AccountLookup::AccountId({id})"),
            AccountLookup::DocumentNumber(_) => f.write_str("AccountLookup::DocumentNumber(***)"),
        }
    }
}

impl AccountLookup {
    /// Exactly one of the keys must be given, or 422.
    pub fn exactly_one(
        email: Option<String>,
        phone: Option<String>,
        account_id: Option<String>,
        document_number: Option<String>,
    ) -> Result<Self, AppError> {
        let mut given = [
            email.map(AccountLookup::Email),
            phone.map(AccountLookup::Phone),
            account_id.map(AccountLookup::AccountId),
            document_number.map(AccountLookup::DocumentNumber),
        ]
        .into_iter()
        .flatten();
        match (given.next(), given.next()) {
            (Some(lookup), None) => Ok(lookup),
            _ => Err(AppError::validation(
                "query",
                "give exactly one of email, phone, account_id or document_number",
            )),
        }
    }
}

/// Finds accounts (an empty list when nothing matches) and audits each one the agent
/// sees. A document number is compared by blind index only.
pub async fn find_accounts(
    state: &AppState,
    agent: &AgentAuth,
    lookup: &AccountLookup,
) -> Result<Vec<AccountSummary>, AppError> {
    let actor = agent.actor();
    let account = match lookup {
        AccountLookup::DocumentNumber(number) => {
            let number = DocumentNumber::parse(number)
                .map_err(|e| AppError::validation("document_number", e))?;
            let index = identity::document_index(state, &number);
            let mut out = Vec::new();
            for id in state.store.accounts_by_document_index(&index).await? {
                if let Some(account) = state.store.get_account(id).await? {
                    audit::by(
                        state,
                        &actor,
                        Some(account.id),
                        "support_document_search_match",
                        None,
                    )
                    .await;
                    out.push(summary(state, &account).await?);
                }
            }
            return Ok(out);
        }
        AccountLookup::Email(email) => {
            let email = state
                .parse_email(email)
                .map_err(|e| AppError::validation("email", e))?;
            state.store.find_account_by_email(&email).await?
        }
        AccountLookup::Phone(phone) => {
            let phone = PhoneNumber::parse(phone).map_err(|e| AppError::validation("phone", e))?;
            match state.store.find_account_id_by_phone(phone.as_str()).await? {
                Some(id) => state.store.get_account(id).await?,
                None => None,
            }
        }
        AccountLookup::AccountId(id) => match id.trim().parse::<AccountId>() {
            Ok(id) => state.store.get_account(id).await?,
            Err(_) => None,
        },
    };
    let mut out = Vec::new();
    if let Some(account) = account {
        audit::by(
            state,
            &actor,
            Some(account.id),
            "support_account_viewed",
            None,
        )
        .await;
        out.push(summary(state, &account).await?);
    }
    Ok(out)
}
