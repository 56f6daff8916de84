//! R18's compliance holds for the host (admin token) and lead agents (agent token). An
//! agent without the lead role gets `not_found` here, as if nothing existed; the account
//! holder only ever sees a hold like any other.

use crate::error::{ApiError, ApiResult, AppError, ErrorBody};
use crate::http::admin::AdminAuth;
use crate::http::agent::ApiAgent;
use crate::http::json::ApiJson;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use offboard_app::compliance::{self, ComplianceHold};
use offboard_app::support::AgentAuth;
use offboard_app::AppState;
use offboard_core::actor::Actor;
use offboard_core::AccountId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(admin_place, admin_list))
        .routes(routes!(admin_lift))
        .routes(routes!(lead_place, lead_list))
        .routes(routes!(lead_lift))
}

#[derive(Deserialize, ToSchema)]
pub struct ComplianceHoldRequest {
    /// Why (internal, never shown to the account holder): 1 to 1000 characters.
    #[schema(min_length = 1, max_length = 1000)]
    pub reason: String,
    /// Also stop withdrawals (answered with the neutral `withdrawals_paused`).
    #[serde(default)]
    pub blocks_withdrawals: bool,
}

impl std::fmt::Debug for ComplianceHoldRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ComplianceHoldRequest(***)")
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ComplianceHoldOut {
    #[schema(format = "uuid")]
    pub hold_id: String,
    #[schema(format = "uuid")]
    pub account_id: String,
    /// What the account holder sees: a hold of kind `hold` with this reference.
    #[schema(example = "H-3F09A1C2")]
    pub reference: String,
    pub reason: String,
    /// `admin` or `agent:<id>`.
    pub placed_by: String,
    pub blocks_withdrawals: bool,
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl From<ComplianceHold> for ComplianceHoldOut {
    fn from(h: ComplianceHold) -> Self {
        Self {
            hold_id: h.hold_id,
            account_id: h.account_id.to_string(),
            reference: h.reference,
            reason: h.reason,
            placed_by: h.placed_by,
            blocks_withdrawals: h.blocks_withdrawals,
            created_at: crate::views::rfc3339(h.created_at),
        }
    }
}

fn account_id(text: &str) -> Result<AccountId, AppError> {
    text.parse()
        .map_err(|_| offboard_app::identity::no_such_account())
}

/// Leads only; anyone else sees nothing here.
fn lead(agent: &AgentAuth) -> Result<Actor, ApiError> {
    if agent.is_lead() {
        Ok(agent.actor())
    } else {
        Err(ApiError::not_found())
    }
}

async fn place(
    state: &AppState,
    actor: &Actor,
    account: &str,
    req: &ComplianceHoldRequest,
) -> ApiResult<(StatusCode, Json<ComplianceHoldOut>)> {
    let id = account_id(account)?;
    let hold = compliance::place(state, actor, id, &req.reason, req.blocks_withdrawals).await?;
    Ok((StatusCode::CREATED, Json(hold.into())))
}

async fn list(state: &AppState, account: &str) -> ApiResult<Json<Vec<ComplianceHoldOut>>> {
    let id = account_id(account)?;
    if state.store.get_account(id).await?.is_none() {
        return Err(offboard_app::identity::no_such_account().into());
    }
    let holds = compliance::of_account(state, id).await?;
    Ok(Json(holds.into_iter().map(Into::into).collect()))
}

/// Places a compliance hold (host).
#[utoipa::path(post, path = "/api/v1/admin/accounts/{account_id}/compliance-holds", tag = "admin", operation_id = "admin_compliance_hold_add", request_body = ComplianceHoldRequest,
    security(("admin_token" = [])), params(("account_id" = String, Path, format = "uuid")),
    responses((status = 201, body = ComplianceHoldOut), (status = 401, body = ErrorBody),
        (status = 404, description = "`not_found`: no active account with this id", body = ErrorBody),
        (status = 422, description = "`validation_error`: `reason`", body = ErrorBody)))]
pub async fn admin_place(
    State(state): State<AppState>,
    _admin: AdminAuth,
    Path(account): Path<String>,
    ApiJson(req): ApiJson<ComplianceHoldRequest>,
) -> ApiResult<(StatusCode, Json<ComplianceHoldOut>)> {
    place(&state, &Actor::Admin, &account, &req).await
}

/// The account's compliance holds with their reasons (host).
#[utoipa::path(get, path = "/api/v1/admin/accounts/{account_id}/compliance-holds", tag = "admin", operation_id = "admin_compliance_holds",
    security(("admin_token" = [])), params(("account_id" = String, Path, format = "uuid")),
    responses((status = 200, body = [ComplianceHoldOut]), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn admin_list(
    State(state): State<AppState>,
    _admin: AdminAuth,
    Path(account): Path<String>,
) -> ApiResult<Json<Vec<ComplianceHoldOut>>> {
    list(&state, &account).await
}

/// Lifts a compliance hold (host).
#[utoipa::path(delete, path = "/api/v1/admin/compliance-holds/{hold_id}", tag = "admin", operation_id = "admin_compliance_hold_release",
    security(("admin_token" = [])), params(("hold_id" = String, Path, format = "uuid")),
    responses((status = 204, description = "lifted"), (status = 401, body = ErrorBody), (status = 404, description = "`not_found`", body = ErrorBody)))]
pub async fn admin_lift(
    State(state): State<AppState>,
    _admin: AdminAuth,
    Path(hold): Path<String>,
) -> ApiResult<StatusCode> {
    compliance::lift(&state, &Actor::Admin, &hold).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Places a compliance hold (lead agents; `not_found` for other agents).
#[utoipa::path(post, path = "/api/v1/support/accounts/{account_id}/compliance-holds", tag = "support", operation_id = "support_compliance_hold_add", request_body = ComplianceHoldRequest,
    security(("agent_token" = [])), params(("account_id" = String, Path, format = "uuid")),
    responses((status = 201, body = ComplianceHoldOut), (status = 401, body = ErrorBody),
        (status = 404, description = "`not_found`: no active account with this id, or the agent is not a lead", body = ErrorBody),
        (status = 422, description = "`validation_error`: `reason`", body = ErrorBody)))]
pub async fn lead_place(
    State(state): State<AppState>,
    ApiAgent(agent): ApiAgent,
    Path(account): Path<String>,
    ApiJson(req): ApiJson<ComplianceHoldRequest>,
) -> ApiResult<(StatusCode, Json<ComplianceHoldOut>)> {
    place(&state, &lead(&agent)?, &account, &req).await
}

/// The account's compliance holds (lead agents; `not_found` for other agents).
#[utoipa::path(get, path = "/api/v1/support/accounts/{account_id}/compliance-holds", tag = "support", operation_id = "support_compliance_holds",
    security(("agent_token" = [])), params(("account_id" = String, Path, format = "uuid")),
    responses((status = 200, body = [ComplianceHoldOut]), (status = 401, body = ErrorBody),
        (status = 404, description = "`not_found`: no such account, or the agent is not a lead", body = ErrorBody)))]
pub async fn lead_list(
    State(state): State<AppState>,
    ApiAgent(agent): ApiAgent,
    Path(account): Path<String>,
) -> ApiResult<Json<Vec<ComplianceHoldOut>>> {
    lead(&agent)?;
    list(&state, &account).await
}

/// Lifts a compliance hold (lead agents; `not_found` for other agents).
#[utoipa::path(delete, path = "/api/v1/support/compliance-holds/{hold_id}", tag = "support", operation_id = "support_compliance_hold_release",
    security(("agent_token" = [])), params(("hold_id" = String, Path, format = "uuid")),
    responses((status = 204, description = "lifted"), (status = 401, body = ErrorBody),
        (status = 404, description = "`not_found`: no such hold, or the agent is not a lead", body = ErrorBody)))]
pub async fn lead_lift(
    State(state): State<AppState>,
    ApiAgent(agent): ApiAgent,
    Path(hold): Path<String>,
) -> ApiResult<StatusCode> {
    compliance::lift(&state, &lead(&agent)?, &hold).await?;
    Ok(StatusCode::NO_CONTENT)
}
