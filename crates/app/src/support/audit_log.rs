//! Reading the audit log (R14): an account's, or an agent's, without secrets.

use super::agents::*;
use crate::error::{AppError, ErrorKind};
use crate::identity::{self};
use crate::state::AppState;
use offboard_core::actor::Actor;
use offboard_core::AccountId;
use std::collections::HashMap;
use time::OffsetDateTime;

/// Whose audit log to read.
#[derive(Debug, Clone)]
pub enum AuditScope {
    /// Everything that happened to this account (its id as typed).
    Account(String),
    /// Everything this agent (email) did.
    Agent(String),
}

/// One audit entry as support sees it.
#[derive(Debug, Clone)]
pub struct AuditItem {
    pub at: OffsetDateTime,
    pub action: String,
    /// The account the entry concerns (as it was asked for).
    pub account_id: Option<String>,
    /// The agent's email, on support actions.
    pub agent: Option<String>,
    /// The agent's reason, on support actions.
    pub reason: Option<String>,
}

/// An audit log, oldest first. Support actions name the agent (by email) and reason;
/// other details stay out, so no secret or personal detail reaches the viewer.
/// Entries about compliance holds are shown to lead agents only (R18: an agent without
/// the lead role must not learn that an account is under investigation).
pub async fn audit_entries(
    state: &AppState,
    viewer: &AgentAuth,
    scope: &AuditScope,
) -> Result<Vec<AuditItem>, AppError> {
    let records: Vec<(Option<String>, offboard_store::AuditRecord)> = match scope {
        AuditScope::Account(account) => {
            let account = account.trim();
            let id: AccountId = account.parse().map_err(|_| identity::no_such_account())?;
            if state.store.get_account(id).await?.is_none() {
                return Err(identity::no_such_account());
            }
            state
                .store
                .audit_of_account(id)
                .await?
                .into_iter()
                .map(|r| (Some(account.to_owned()), r))
                .collect()
        }
        AuditScope::Agent(email) => {
            let Some(agent) = state
                .store
                .find_agent_by_email(&email.trim().to_lowercase())
                .await?
            else {
                return Err(AppError::new(
                    ErrorKind::NotFound,
                    "not_found",
                    "There is no agent with this email.",
                ));
            };
            state
                .store
                .audit_of_actor(&Actor::Agent(agent.id.clone()).to_string())
                .await?
        }
    };
    let mut emails: HashMap<String, Option<String>> = HashMap::new();
    let mut out = Vec::with_capacity(records.len());
    for (account_id, record) in records {
        if !viewer.is_lead() && crate::compliance::is_compliance_action(&record.action) {
            continue;
        }
        let actor = Actor::parse(&record.actor);
        let (agent, reason) = match actor.as_ref().and_then(Actor::agent_id) {
            Some(agent_id) => {
                if !emails.contains_key(agent_id) {
                    let email = state.store.get_agent(agent_id).await?.map(|a| a.email);
                    emails.insert(agent_id.to_owned(), email);
                }
                let email = emails.get(agent_id).cloned().flatten();
                let reason = record
                    .detail
                    .as_deref()
                    .and_then(reason_of)
                    .map(str::to_owned);
                (email, reason)
            }
            None => (None, None),
        };
        out.push(AuditItem {
            at: record.at,
            action: record.action,
            agent,
            reason,
            account_id,
        });
    }
    Ok(out)
}
