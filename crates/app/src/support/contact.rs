//! Contact support (issue 15): a signed-in person writes to support about a changed
//! document, a locked identity step or anything else; agents see the open requests in
//! their queue and answer by email. At most three wait per account. Opening and
//! answering each commit with their audit line (R11, R14); the audit line names the
//! topic and the request, never the message (it is personal data, erased with the
//! account: R7, R20).

use super::agents::AgentAuth;
use crate::error::{AppError, ErrorKind};
use crate::sessions::Authenticated;
use crate::state::AppState;
use offboard_core::actor::Actor;
use offboard_core::clock::rfc3339;
use offboard_core::support::{
    SupportRequestStatus, SupportText, SupportTextError, SupportTopic, MAX_OPEN_SUPPORT_REQUESTS,
    MAX_SUPPORT_TEXT_CHARS,
};
use offboard_core::AccountId;
use offboard_store::{
    AccountStatus, AuditEntry, NewSupportRequest, QueuedMail, SupportAnswer, SupportRequestRow,
};
use time::OffsetDateTime;

/// A contact request as its owner and the agents see it.
#[derive(Debug, Clone)]
pub struct ContactRequest {
    pub id: String,
    pub account_id: AccountId,
    pub topic: SupportTopic,
    pub message: String,
    pub status: SupportRequestStatus,
    pub created_at: OffsetDateTime,
    pub answered_at: Option<OffsetDateTime>,
    pub answer: Option<String>,
}

impl From<SupportRequestRow> for ContactRequest {
    fn from(r: SupportRequestRow) -> Self {
        ContactRequest {
            id: r.id,
            account_id: r.account_id,
            topic: r.topic,
            message: r.message,
            status: r.status,
            created_at: r.created_at,
            answered_at: r.answered_at,
            answer: r.answer,
        }
    }
}

/// The topic a form or the API names; anything else is refused on the `topic` field.
pub fn parse_topic(topic: &str) -> Result<SupportTopic, AppError> {
    SupportTopic::parse(topic.trim()).ok_or_else(|| {
        AppError::new(
            ErrorKind::Invalid,
            "validation_error",
            "Choose what your request is about from the list.",
        )
        .with("field", "topic")
        .for_field("topic")
    })
}

/// A message (field `message`) or an answer (field `answer`), checked.
fn parse_text(field: &str, text: &str) -> Result<SupportText, AppError> {
    SupportText::parse(text).map_err(|err| {
        let (code, message) = match (err, field) {
            (SupportTextError::Empty, "answer") => (
                "validation_error",
                "Write the answer the person will get by email.".to_owned(),
            ),
            (SupportTextError::Empty, _) => (
                "validation_error",
                "Tell us what you need help with: the message is empty.".to_owned(),
            ),
            (SupportTextError::TooLong { chars }, _) => (
                "validation_error",
                format!(
                    "Keep it to {MAX_SUPPORT_TEXT_CHARS} characters; this one has {chars}. Shorten it and send again."
                ),
            ),
            (SupportTextError::ControlCharacter, _) => (
                "invalid_text",
                "The text held invisible control characters (often left by a copy and paste), which cannot be sent. Check the text and send it again without them.".to_owned(),
            ),
        };
        AppError::new(ErrorKind::Invalid, code, message)
            .with("field", field)
            .for_field(field)
    })
}

fn too_many_open() -> AppError {
    AppError::new(
        ErrorKind::Conflict,
        "too_many_open_requests",
        format!(
            "You already have {MAX_OPEN_SUPPORT_REQUESTS} requests waiting for support. We answer each one by email; once one is answered you can send a new one."
        ),
    )
    .with("limit", MAX_OPEN_SUPPORT_REQUESTS)
}

/// Opens a request for the signed-in person. Every field at fault is named at once.
pub async fn open_request(
    state: &AppState,
    user: &Authenticated,
    topic: &str,
    message: &str,
) -> Result<ContactRequest, AppError> {
    let (topic, message) = match (parse_topic(topic), parse_text("message", message)) {
        (Ok(topic), Ok(message)) => (topic, message),
        (topic, message) => {
            let errors = [topic.err(), message.err()].into_iter().flatten().collect();
            return Err(AppError::combine(errors)
                .unwrap_or_else(|| AppError::internal("no error to report")));
        }
    };
    let now = state.now();
    let id = uuid::Uuid::now_v7().to_string();
    let actor = Actor::User.to_string();
    let detail = format!("request={id} topic={}", topic.as_str());
    let audit = AuditEntry {
        at: now,
        account_id: Some(user.account.id),
        actor: &actor,
        action: "support_request_opened",
        detail: Some(&detail),
    };
    let new = NewSupportRequest {
        id: &id,
        account_id: user.account.id,
        topic,
        message: message.as_str(),
        now,
    };
    if !state.store.open_support_request(&new, &audit).await? {
        return Err(too_many_open());
    }
    Ok(ContactRequest {
        id,
        account_id: user.account.id,
        topic,
        message: message.as_str().to_owned(),
        status: SupportRequestStatus::Open,
        created_at: now,
        answered_at: None,
        answer: None,
    })
}

/// The signed-in person's requests, newest first.
pub async fn my_requests(
    state: &AppState,
    user: &Authenticated,
) -> Result<Vec<ContactRequest>, AppError> {
    let rows = state.store.support_requests_of(user.account.id).await?;
    Ok(rows.into_iter().map(ContactRequest::from).collect())
}

/// The agents' queue: open requests, oldest first.
pub async fn open_contact_requests(state: &AppState) -> Result<Vec<ContactRequest>, AppError> {
    let rows = state.store.open_support_requests().await?;
    Ok(rows.into_iter().map(ContactRequest::from).collect())
}

fn request_not_found() -> AppError {
    AppError::new(
        ErrorKind::NotFound,
        "not_found",
        "There is no contact request with this id.",
    )
}

fn already_answered() -> AppError {
    AppError::conflict("This request was already answered; reload the open requests.")
}

/// The answer's email: the agent's words under a line saying what it answers. The
/// person's own message is not repeated (it stays out of the mail queue).
fn answer_email(request: &SupportRequestRow, answer: &str) -> String {
    format!(
        "Hello,\n\nour support team answered the request you sent on {sent} about \"{topic}\":\n\n{answer}\n\nTo reply or ask something else, sign in and choose \"Contact support\" in the help pages or at the bottom of any page.\n\nThe offboard support team",
        sent = rfc3339(request.created_at),
        topic = request.topic.label(),
    )
}

/// Answers an open request by email and marks it answered, with the agent as actor.
pub async fn answer_request(
    state: &AppState,
    agent: &AgentAuth,
    id: &str,
    answer: &str,
) -> Result<(), AppError> {
    let answer = parse_text("answer", answer)?;
    let request = state
        .store
        .support_request(id)
        .await?
        .ok_or_else(request_not_found)?;
    if request.status != SupportRequestStatus::Open {
        return Err(already_answered());
    }
    let account = state
        .store
        .get_account(request.account_id)
        .await?
        .filter(|a| a.status == AccountStatus::Active)
        .ok_or_else(request_not_found)?;
    let now = state.now();
    let mail_id = uuid::Uuid::now_v7().to_string();
    // R20: the recipient and the body wait in the queue sealed, like every queued mail.
    let recipient = crate::jobs::seal_mail(state, &account.email);
    let body = crate::jobs::seal_mail(state, &answer_email(&request, answer.as_str()));
    let actor = agent.actor().to_string();
    let detail = format!("request={id} topic={}", request.topic.as_str());
    let audit = AuditEntry {
        at: now,
        account_id: Some(account.id),
        actor: &actor,
        action: "support_request_answered",
        detail: Some(&detail),
    };
    let answered = SupportAnswer {
        request_id: id,
        agent_id: &agent.agent.id,
        answer: answer.as_str(),
        now,
        mail: QueuedMail {
            id: &mail_id,
            recipient_sealed: &recipient,
            subject: "Support answered your request",
            body_sealed: &body,
        },
    };
    // The answer, its email and its audit line commit together: an answer is never
    // marked sent without the email queued to carry it.
    if !state
        .store
        .answer_support_request(&answered, &audit)
        .await?
    {
        return Err(already_answered());
    }
    crate::jobs::run_detached(state, &mail_id).await;
    Ok(())
}
