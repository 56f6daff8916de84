//! The Support API (API.md, R11): agent login, search without secrets, assisted recovery
//! end to end, identity unlock, document change, the audit viewer, and no deletion path.
//! Journeys go through the typed client; answers searched as text for secrets, login
//! failures compared byte for byte and `Retry-After` checks stay on raw HTTP.

use crate::both_backends;
use crate::helpers::{api_error, refused, spawn_app_with, urlencode, TestApp, PASSWORD};
use crate::ledger::{deposit, ADMIN};
use offboard_app::config::CaptchaPolicy;
use offboard_client::{
    AccountLookup, AuditScope, ConfirmNotes, Document, DocumentType, Factor, IdNumberCheck,
};
use offboard_core::{PasswordHasher, PhoneNumber};
use offboard_store::{AgentRole, Backend, NewAgent};
use serde_json::{json, Value};

both_backends!(
    support_login_is_throttled_like_user_login,
    support_login_fails_alike_and_tokens_stay_apart,
    support_search_shows_no_secret,
    support_recovery_end_to_end,
    support_unlock_document_change_reject_and_audit,
    support_and_admin_routes_never_delete_accounts,
);

pub(crate) const DOC: &str = "C01X00T47";

// Rules R11, R14 (PRODUCT.md).
pub(crate) async fn app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |c| {
        c.deletion.captcha = CaptchaPolicy::Never;
        c.admin_token = Some(secrecy::SecretString::from(ADMIN));
    })
    .await
}

pub(crate) struct Agent {
    pub(crate) email: String,
    pub(crate) password: String,
    pub(crate) secret: String,
}

/// Creates an agent the way `offboard support add-agent` does (small argon2 parameters
/// to keep the test fast; the server verifies whatever parameters the hash names).
pub(crate) async fn add_agent(app: &TestApp, email: &str, role: AgentRole) -> Agent {
    let password = "agent-password-0123456789".to_owned();
    let secret = offboard_core::totp::generate_secret();
    let hash = PasswordHasher::with_params(256, 1, 1).hash(&password);
    app.state
        .store
        .create_agent(NewAgent {
            id: &format!("agent-{email}"),
            email,
            password_hash: &hash,
            totp_secret: &offboard_core::totp::seal_secret(
                &app.state.config.keys.secrets,
                &format!("agent-{email}"),
                &secret,
            ),
            role,
            now: app.state.clock.now(),
        })
        .await
        .unwrap();
    Agent {
        email: email.to_owned(),
        password,
        secret,
    }
}

async fn agent_login_raw(
    app: &TestApp,
    agent: &Agent,
    password: &str,
    code: &str,
) -> reqwest::Response {
    app.post_json(
        "/api/v1/support/login",
        json!({"email": agent.email, "password": password, "totp_code": code}),
    )
    .await
}

/// Logs in with a fresh authenticator step (the clock moves one step first).
pub(crate) async fn agent_login(app: &TestApp, agent: &Agent) -> String {
    app.advance(30).await;
    let code = app.next_totp(&agent.secret).await;
    let anonymous = app.client();
    let login = anonymous.support_login(&agent.email, &agent.password, &code);
    login.await.unwrap().token
}

async fn search(app: &TestApp, token: &str, query: &str) -> (Value, String) {
    let res = app
        .get_as(token, &format!("/api/v1/support/accounts?{query}"))
        .await;
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    (serde_json::from_str(&text).unwrap(), text)
}

async fn audit(app: &TestApp, token: &str, account: &str) -> (Vec<Value>, String) {
    let res = app
        .get_as(
            token,
            &format!("/api/v1/support/audit?account_id={account}"),
        )
        .await;
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    (serde_json::from_str(&text).unwrap(), text)
}

async fn verify_identity(app: &TestApp, token: &str, number: &str) {
    let document = Document {
        document_type: DocumentType::Passport,
        document_number: number.to_owned(),
        country: "DE".to_owned(),
        expires_on: "2031-01-01".to_owned(),
    };
    let api = app.client_as(token);
    api.submit_identity(&document).await.unwrap();
}

// Rules R11, R14 (PRODUCT.md).
async fn support_login_fails_alike_and_tokens_stay_apart(backend: Backend) {
    let app = app(backend).await;
    let agent = add_agent(&app, "ann@support.test", AgentRole::Agent).await;
    let ghost = Agent {
        email: "ghost@support.test".into(),
        password: agent.password.clone(),
        secret: agent.secret.clone(),
    };
    app.advance(30).await;
    let code = app.next_totp(&agent.secret).await;
    let wrong_password = agent_login_raw(&app, &agent, "not the password at all", &code).await;
    let missing_code = agent_login_raw(&app, &agent, &agent.password, "").await;
    let unknown = agent_login_raw(&app, &ghost, &ghost.password, &code).await;
    let mut bodies = Vec::new();
    for res in [wrong_password, missing_code, unknown] {
        assert_eq!(res.status(), 401);
        bodies.push(res.text().await.unwrap());
    }
    let ok = agent_login_raw(&app, &agent, &agent.password, &code).await;
    assert_eq!(ok.status(), 200);
    let token = ok.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let replayed = agent_login_raw(&app, &agent, &agent.password, &code).await;
    assert_eq!(replayed.status(), 401, "a code's step is accepted once");
    bodies.push(replayed.text().await.unwrap());
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "every failure looks the same: {bodies:?}"
    );

    // Agent and user tokens never cross.
    let as_agent = app.client_as(&token);
    as_agent.support_recovery_requests().await.unwrap();
    assert_eq!(as_agent.me().await.unwrap_err().status(), Some(401));
    let user = app.user("user@example.com").await.api;
    let requests = user.support_recovery_requests().await;
    assert_eq!(requests.unwrap_err().status(), Some(401), "recovery");
    let lookup = AccountLookup::Email("user@example.com".to_owned());
    let found = user.support_find_accounts(&lookup).await;
    assert_eq!(found.unwrap_err().status(), Some(401), "accounts");
    assert_eq!(
        app.get_as("", "/api/v1/support/recovery").await.status(),
        401
    );

    // A disabled agent can neither use its session nor log in.
    assert!(app
        .state
        .store
        .disable_agent(&agent.email, app.state.clock.now())
        .await
        .unwrap());
    let requests = as_agent.support_recovery_requests().await;
    assert_eq!(requests.unwrap_err().status(), Some(401));
    app.advance(30).await;
    let code = app.next_totp(&agent.secret).await;
    let res = agent_login_raw(&app, &agent, &agent.password, &code).await;
    assert_eq!(res.status(), 401);
    assert_eq!(res.text().await.unwrap(), bodies[0]);

    // Agent sessions end after 30 minutes idle.
    let other = add_agent(&app, "bob@support.test", AgentRole::Lead).await;
    let token = agent_login(&app, &other).await;
    app.advance(31 * 60).await;
    let requests = app.client_as(&token).support_recovery_requests().await;
    assert_eq!(requests.unwrap_err().status(), Some(401));
}

// Rules R11, R14 (PRODUCT.md).
async fn support_search_shows_no_secret(backend: Backend) {
    let app = app(backend).await;
    let email = "seek@example.com";
    let (user, totp_secret) = app.user_with_totp(email).await;
    verify_identity(&app, &user, DOC).await;
    let account = app
        .state
        .store
        .find_account_by_email(&offboard_core::EmailAddress::parse(email).unwrap())
        .await
        .unwrap()
        .unwrap();
    let phone = PhoneNumber::parse("+4915123456789").unwrap();
    app.state
        .store
        .set_phone(account.id, &phone, app.state.clock.now())
        .await
        .unwrap();
    let agent = add_agent(&app, "ann@support.test", AgentRole::Agent).await;
    let token = agent_login(&app, &agent).await;
    let account_id = account.id.to_string();
    for query in [
        format!("email={}", urlencode(email)),
        format!("phone={}", urlencode(phone.as_str())),
        format!("account_id={account_id}"),
        // By blind index, in another format: a match answers the account, never the number.
        "document_number=c01x-00t%2047".to_owned(),
    ] {
        let (found, text) = search(&app, &token, &query).await;
        let found = found.as_array().unwrap();
        assert_eq!(found.len(), 1, "{query}: {text}");
        assert_eq!(found[0]["account_id"], account_id.as_str());
        assert_eq!(found[0]["status"], "active");
        assert_eq!(found[0]["factors"], json!(["email", "sms", "totp"]));
        assert_eq!(found[0]["identity"]["status"], "approved");
        let lower = text.to_lowercase();
        for secret in [
            "password",
            "secret",
            "token",
            "code",
            "c01x00t47",
            &totp_secret.to_lowercase(),
        ] {
            assert!(!lower.contains(secret), "{query} shows {secret:?}: {text}");
        }
    }
    let (none, _) = search(&app, &token, "email=nobody%40example.com").await;
    assert_eq!(none, json!([]));
    let (none, _) = search(&app, &token, "document_number=ZZ999999").await;
    assert_eq!(none, json!([]), "no match");
    let res = app.get_as(&token, "/api/v1/support/accounts").await;
    assert_eq!(res.status(), 422);
}

// Rules R11, R14 (PRODUCT.md).
async fn support_recovery_end_to_end(backend: Backend) {
    let app = app(backend).await;
    let email = "lost@example.com";
    let (user, _) = app.user_with_totp(email).await;
    verify_identity(&app, &user, DOC).await;
    let account = app.client_as(&user).me().await.unwrap().account_id;
    deposit(&app, &account, "BTC", "0.5").await;

    let anonymous = app.client();
    anonymous
        .recovery_request(email, "I lost my phone.", Some("c01x-00t47"))
        .await
        .unwrap();

    let agent = add_agent(&app, "ann@support.test", AgentRole::Agent).await;
    let lead = add_agent(&app, "lea@support.test", AgentRole::Lead).await;
    let as_agent = app.client_as(&agent_login(&app, &agent).await);
    let as_lead = app.client_as(&agent_login(&app, &lead).await);
    let open = as_agent.support_recovery_requests().await.unwrap();
    assert_eq!(open.len(), 1);
    let request = &open[0];
    assert_eq!(request.account_id.as_deref(), Some(account.as_str()));
    assert_eq!(request.email, email);
    assert_eq!(request.message, "I lost my phone.");
    assert_eq!(request.id_number_check, IdNumberCheck::Match);
    assert!(!request.created_at.is_empty());
    let id = request.id.as_str();

    let err = api_error(as_lead.support_approve_recovery(id, "  ").await);
    assert_eq!((err.status, err.detail_str("field")), (422, Some("reason")));
    let err = api_error(
        as_agent
            .support_approve_recovery(id, "passport checked on call")
            .await,
    );
    assert_eq!(
        (err.status, err.code.as_str()),
        (403, "forbidden"),
        "an agent may not: the account holds BTC"
    );
    as_lead
        .support_approve_recovery(id, "passport checked on call")
        .await
        .unwrap();
    let again = as_lead.support_approve_recovery(id, "again").await;
    assert_eq!(again.unwrap_err().status(), Some(409), "decided once");
    assert!(as_agent
        .support_recovery_requests()
        .await
        .unwrap()
        .is_empty());
    let me = app.client_as(&user).me().await;
    assert_eq!(me.unwrap_err().status(), Some(401), "sessions revoked");

    // The owner resets the password with the emailed code and logs in without 2FA.
    let code = app.latest_code(email).await;
    let new_password = "a brand new passphrase";
    anonymous
        .password_reset_confirm(email, &code, new_password)
        .await
        .unwrap();
    let login = anonymous.login(email, new_password).await;
    let api = app.client_as(&login.expect("factors were reset").token);
    let lookup = AccountLookup::AccountId(account.clone());
    let found = as_agent.support_find_accounts(&lookup).await.unwrap();
    assert_eq!(found[0].factors, [Factor::Email]);

    // Deletion waits 24 hours, then the owner goes on alone.
    let notes = ConfirmNotes::acknowledged(None);
    let flow = api.deletion_start().await.unwrap();
    refused(
        api.deletion_confirm(&flow.id, &notes).await,
        403,
        "deletion_cool_off",
    );
    app.advance(24 * 3600 + 60).await;
    let login = anonymous.login(email, new_password).await.unwrap();
    let api = app.client_as(&login.token);
    let flow = api.deletion_start().await.unwrap();
    api.deletion_confirm(&flow.id, &notes).await.unwrap();

    // The approval is in the account's audit log with the lead's email and reason.
    let agent_token = agent_login(&app, &agent).await;
    let (entries, text) = audit(&app, &agent_token, &account).await;
    let approved = entries
        .iter()
        .find(|e| e["action"] == "support_recovery_approved")
        .unwrap_or_else(|| panic!("no approval in {text}"));
    assert_eq!(approved["agent"], lead.email.as_str());
    assert_eq!(approved["reason"], "passport checked on call");
    assert!(entries
        .iter()
        .any(|e| e["action"] == "password_reset" && e["agent"].is_null()));
    assert!(!text.contains(PASSWORD) && !text.contains(new_password));
    // R13: downstream services hear of the recovery through the outbox.
    let events = app.state.store.events().await.unwrap();
    assert!(
        events.iter().any(
            |(kind, payload)| kind == "account.recovered" && payload.contains(account.as_str())
        ),
        "{events:?}"
    );
}

// Rules R11, R14 (PRODUCT.md).
async fn support_unlock_document_change_reject_and_audit(backend: Backend) {
    let app = app(backend).await;
    let email = "doc@example.com";
    let account = app.signup(email).await;
    let user = app.login(email).await;
    verify_identity(&app, &user, DOC).await;
    let id: offboard_core::AccountId = account.parse().unwrap();
    for _ in 0..5 {
        app.state
            .store
            .record_identity_failure(id, app.state.clock.now())
            .await
            .unwrap();
    }
    let agent = add_agent(&app, "ann@support.test", AgentRole::Agent).await;
    let token = agent_login(&app, &agent).await;
    let api = app.client_as(&token);
    let lookup = AccountLookup::AccountId(account.clone());
    let found = api.support_find_accounts(&lookup).await.unwrap();
    assert!(found[0].identity_locked_until.is_some(), "{found:?}");

    let status = |res: Result<(), offboard_client::ClientError>| match res {
        Ok(()) => 204,
        Err(e) => e.status().unwrap_or_else(|| panic!("{e}")),
    };
    assert_eq!(status(api.support_unlock_identity(&account, "").await), 422);
    api.support_unlock_identity(&account, "verified by video call")
        .await
        .unwrap();
    let found = api.support_find_accounts(&lookup).await.unwrap();
    assert!(found[0].identity_locked_until.is_none(), "{found:?}");
    let nobody = "00000000-0000-7000-8000-000000000000";
    assert_eq!(status(api.support_unlock_identity(nobody, "x").await), 404);

    let change = api
        .support_change_document(&account, "NEW123456", " ")
        .await;
    assert_eq!(status(change), 422);
    api.support_change_document(&account, "NEW123456", "passport renewed")
        .await
        .unwrap();
    // Old and new numbers both identify the owner now.
    for number in [DOC, "new-123456"] {
        app.client()
            .recovery_request(email, "help", Some(number))
            .await
            .unwrap();
    }
    let open = api.support_recovery_requests().await.unwrap();
    let checks: Vec<_> = open.iter().map(|r| r.id_number_check).collect();
    assert_eq!(checks, [IdNumberCheck::Match, IdNumberCheck::Match]);

    // Rejecting tells the requester why (raw first: a request without any reason).
    let reject = format!("/api/v1/support/recovery/{}/reject", open[0].id);
    assert_eq!(
        app.post_json_as(&token, &reject, json!({})).await.status(),
        422
    );
    api.support_reject_recovery(&open[0].id, "duplicate request")
        .await
        .unwrap();
    let outbox = app.client().dev_outbox(Some(email)).await.unwrap();
    assert!(
        outbox[0].body.contains("duplicate request"),
        "{:?}",
        outbox[0]
    );

    let (entries, text) = audit(&app, &token, &account).await;
    for (action, reason) in [
        ("support_identity_unlocked", "verified by video call"),
        ("support_document_changed", "passport renewed"),
        ("support_recovery_rejected", "duplicate request"),
    ] {
        let entry = entries
            .iter()
            .find(|e| e["action"] == action)
            .unwrap_or_else(|| panic!("no {action} in {text}"));
        assert_eq!(entry["agent"], agent.email.as_str());
        assert_eq!(entry["reason"], reason);
        assert!(entry["at"].is_string());
    }
    assert!(!text.contains("NEW123456") && !text.contains(DOC), "{text}");
    // The same actions, seen per agent.
    let scope = AuditScope::Agent(agent.email.clone());
    let by_agent = api.support_audit(&scope).await.unwrap();
    for action in [
        "support_identity_unlocked",
        "support_document_changed",
        "support_recovery_rejected",
    ] {
        let entry = by_agent
            .iter()
            .find(|e| e.action == action)
            .unwrap_or_else(|| panic!("no {action} for the agent"));
        assert_eq!(entry.agent.as_deref(), Some(agent.email.as_str()));
        assert!(entry.account_id.is_some());
    }
    let res = app.get_as(&token, "/api/v1/support/audit").await;
    assert_eq!(res.status(), 422, "one of account_id or agent");
}

// Rules R11, R14 (PRODUCT.md).
async fn support_and_admin_routes_never_delete_accounts(backend: Backend) {
    let app = app(backend).await;
    let doc: Value = app
        .api
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let paths = doc["paths"].as_object().unwrap();
    let mut support_routes = 0;
    for (path, item) in paths {
        let guarded = path.starts_with("/api/v1/support") || path.starts_with("/api/v1/admin");
        if !guarded {
            continue;
        }
        for method in item.as_object().unwrap().keys() {
            assert!(
                // Lifting a hold removes the hold, never an account.
                method != "delete"
                    || matches!(
                        path.as_str(),
                        "/api/v1/admin/holds/{hold_id}"
                            | "/api/v1/admin/compliance-holds/{hold_id}"
                            | "/api/v1/support/compliance-holds/{hold_id}"
                    ),
                "{method} {path} deletes something"
            );
        }
        // The agents' API (`/api/v1/support-requests` is the account holder's).
        if path.starts_with("/api/v1/support/") {
            support_routes += 1;
            assert!(
                !path.contains("deletion") && !path.contains("erase"),
                "{path}"
            );
            let text = item.to_string().to_lowercase();
            assert!(!text.contains("erase"), "{path} mentions erasure");
        }
    }
    // Ten, and issue 17's two compliance-hold paths (lead agents only).
    assert_eq!(support_routes, 12);
}

// Rules R11, R14 (PRODUCT.md).
async fn support_login_is_throttled_like_user_login(backend: Backend) {
    let app = spawn_app_with(backend, |_| {}).await;
    let agent = add_agent(&app, "guarded@support.example", AgentRole::Agent).await;
    for _ in 0..5 {
        let res = agent_login_raw(&app, &agent, "wrong password!", "000000").await;
        assert_eq!(res.status(), 401);
        assert!(res.headers().get("retry-after").is_none());
    }
    let code = app.next_totp(&agent.secret).await;
    let res = agent_login_raw(&app, &agent, &agent.password, &code).await;
    assert_eq!(
        res.status(),
        401,
        "throttled even with the right password and code"
    );
    assert!(res.headers().contains_key("retry-after"));
    app.advance(3).await;
    let res = agent_login_raw(&app, &agent, &agent.password, &code).await;
    assert_eq!(
        res.status(),
        200,
        "after the wait the right credentials work"
    );
}
