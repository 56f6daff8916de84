//! The Support API (API.md, R11): agent login, search without secrets, assisted recovery
//! end to end, identity unlock, document change, the audit viewer, and no deletion path.

use crate::both_backends;
use crate::helpers::{error_code, spawn_app_with, urlencode, TestApp, PASSWORD};
use crate::ledger::{deposit, ADMIN};
use offboard_app::config::CaptchaPolicy;
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
    let res = agent_login_raw(app, agent, &agent.password, &code).await;
    assert_eq!(res.status(), 200);
    res.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned()
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
    let body = json!({"document_type": "passport", "document_number": number, "country": "DE", "expires_on": "2031-01-01"});
    let res = app.post_json_as(token, "/api/v1/me/identity", body).await;
    assert_eq!(res.status(), 202);
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
    assert_eq!(
        app.get_as(&token, "/api/v1/support/recovery")
            .await
            .status(),
        200
    );
    assert_eq!(app.get_as(&token, "/api/v1/me").await.status(), 401);
    app.signup("user@example.com").await;
    let user = app.login("user@example.com").await;
    for path in [
        "/api/v1/support/recovery",
        "/api/v1/support/accounts?email=user%40example.com",
    ] {
        assert_eq!(app.get_as(&user, path).await.status(), 401, "{path}");
    }
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
    assert_eq!(
        app.get_as(&token, "/api/v1/support/recovery")
            .await
            .status(),
        401
    );
    app.advance(30).await;
    let code = app.next_totp(&agent.secret).await;
    let res = agent_login_raw(&app, &agent, &agent.password, &code).await;
    assert_eq!(res.status(), 401);
    assert_eq!(res.text().await.unwrap(), bodies[0]);

    // Agent sessions end after 30 minutes idle.
    let other = add_agent(&app, "bob@support.test", AgentRole::Lead).await;
    let token = agent_login(&app, &other).await;
    app.advance(31 * 60).await;
    assert_eq!(
        app.get_as(&token, "/api/v1/support/recovery")
            .await
            .status(),
        401
    );
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
    let me: Value = app.get_as(&user, "/api/v1/me").await.json().await.unwrap();
    let account = me["account_id"]
        .as_str()
        .or(me["id"].as_str())
        .unwrap()
        .to_owned();
    deposit(&app, &account, "BTC", "0.5").await;

    let res = app
        .post_json(
            "/api/v1/recovery",
            json!({"email": email, "message": "I lost my phone.", "id_number": "c01x-00t47"}),
        )
        .await;
    assert_eq!(res.status(), 202);

    let agent = add_agent(&app, "ann@support.test", AgentRole::Agent).await;
    let lead = add_agent(&app, "lea@support.test", AgentRole::Lead).await;
    let agent_token = agent_login(&app, &agent).await;
    let lead_token = agent_login(&app, &lead).await;
    let open: Vec<Value> = app
        .get_as(&agent_token, "/api/v1/support/recovery")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(open.len(), 1);
    let request = &open[0];
    assert_eq!(request["account_id"], account.as_str());
    assert_eq!(request["email"], email);
    assert_eq!(request["message"], "I lost my phone.");
    assert_eq!(request["id_number_check"], "match");
    assert!(request["created_at"].is_string());
    let approve = format!(
        "/api/v1/support/recovery/{}/approve",
        request["id"].as_str().unwrap()
    );

    let (status, err) = error_code(
        app.post_json_as(&lead_token, &approve, json!({"reason": "  "}))
            .await,
    )
    .await;
    assert_eq!(
        (status, err["error"]["field"].as_str()),
        (422, Some("reason"))
    );
    let (status, err) = error_code(
        app.post_json_as(
            &agent_token,
            &approve,
            json!({"reason": "passport checked on call"}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (403, Some("forbidden")),
        "an agent may not: the account holds BTC"
    );
    let res = app
        .post_json_as(
            &lead_token,
            &approve,
            json!({"reason": "passport checked on call"}),
        )
        .await;
    assert_eq!(res.status(), 204);
    assert_eq!(
        app.post_json_as(&lead_token, &approve, json!({"reason": "again"}))
            .await
            .status(),
        409,
        "decided once"
    );
    let open: Vec<Value> = app
        .get_as(&agent_token, "/api/v1/support/recovery")
        .await
        .json()
        .await
        .unwrap();
    assert!(open.is_empty());
    assert_eq!(
        app.get_as(&user, "/api/v1/me").await.status(),
        401,
        "sessions revoked"
    );

    // The owner resets the password with the emailed code and logs in without 2FA.
    let code = app.latest_code(email).await;
    let new_password = "a brand new passphrase";
    let res = app
        .post_json(
            "/api/v1/password-reset/confirm",
            json!({"email": email, "code": code, "new_password": new_password}),
        )
        .await;
    assert_eq!(res.status(), 204);
    let res = app
        .post_json(
            "/api/v1/login",
            json!({"email": email, "password": new_password}),
        )
        .await;
    assert_eq!(res.status(), 200, "factors were reset");
    let token = res.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (found, _) = search(&app, &agent_token, &format!("account_id={account}")).await;
    assert_eq!(found[0]["factors"], json!(["email"]));

    // Deletion waits 24 hours, then the owner goes on alone.
    let flow: Value = app
        .post_json_as(&token, "/api/v1/deletion", json!({}))
        .await
        .json()
        .await
        .unwrap();
    let confirm =
        |flow: &Value| format!("/api/v1/deletion/{}/confirm", flow["id"].as_str().unwrap());
    let (status, err) = error_code(
        app.post_json_as(&token, &confirm(&flow), json!({"acknowledged": true}))
            .await,
    )
    .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (403, Some("deletion_cool_off"))
    );
    app.advance(24 * 3600 + 60).await;
    let token = {
        let res = app
            .post_json(
                "/api/v1/login",
                json!({"email": email, "password": new_password}),
            )
            .await;
        assert_eq!(res.status(), 200);
        res.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let flow: Value = app
        .post_json_as(&token, "/api/v1/deletion", json!({}))
        .await
        .json()
        .await
        .unwrap();
    let res = app
        .post_json_as(&token, &confirm(&flow), json!({"acknowledged": true}))
        .await;
    assert_eq!(res.status(), 200, "{:?}", res.text().await);

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
    let (found, _) = search(&app, &token, &format!("account_id={account}")).await;
    assert!(found[0]["identity_locked_until"].is_string(), "{found}");

    let unlock = format!("/api/v1/support/accounts/{account}/identity-unlock");
    assert_eq!(
        app.post_json_as(&token, &unlock, json!({"reason": ""}))
            .await
            .status(),
        422
    );
    assert_eq!(
        app.post_json_as(&token, &unlock, json!({"reason": "verified by video call"}))
            .await
            .status(),
        204
    );
    let (found, _) = search(&app, &token, &format!("account_id={account}")).await;
    assert!(found[0]["identity_locked_until"].is_null(), "{found}");
    assert_eq!(
        app.post_json_as(
            &token,
            "/api/v1/support/accounts/00000000-0000-7000-8000-000000000000/identity-unlock",
            json!({"reason": "x"})
        )
        .await
        .status(),
        404
    );

    let change = format!("/api/v1/support/accounts/{account}/document-change");
    assert_eq!(
        app.post_json_as(
            &token,
            &change,
            json!({"document_number": "NEW123456", "reason": " "})
        )
        .await
        .status(),
        422
    );
    assert_eq!(
        app.post_json_as(
            &token,
            &change,
            json!({"document_number": "NEW123456", "reason": "passport renewed"})
        )
        .await
        .status(),
        204
    );
    // Old and new numbers both identify the owner now.
    for number in [DOC, "new-123456"] {
        let res = app
            .post_json(
                "/api/v1/recovery",
                json!({"email": email, "message": "help", "id_number": number}),
            )
            .await;
        assert_eq!(res.status(), 202);
    }
    let open: Vec<Value> = app
        .get_as(&token, "/api/v1/support/recovery")
        .await
        .json()
        .await
        .unwrap();
    let checks: Vec<_> = open
        .iter()
        .map(|r| r["id_number_check"].as_str().unwrap())
        .collect();
    assert_eq!(checks, ["match", "match"]);

    // Rejecting tells the requester why.
    let reject = format!(
        "/api/v1/support/recovery/{}/reject",
        open[0]["id"].as_str().unwrap()
    );
    assert_eq!(
        app.post_json_as(&token, &reject, json!({})).await.status(),
        422
    );
    assert_eq!(
        app.post_json_as(&token, &reject, json!({"reason": "duplicate request"}))
            .await
            .status(),
        204
    );
    let outbox: Vec<Value> = app
        .api
        .get(app.url(&format!("/api/v1/dev/outbox?to={}", urlencode(email))))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        outbox[0]["body"]
            .as_str()
            .unwrap()
            .contains("duplicate request"),
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
    let res = app
        .get_as(
            &token,
            &format!("/api/v1/support/audit?agent={}", urlencode(&agent.email)),
        )
        .await;
    assert_eq!(res.status(), 200);
    let by_agent: Vec<Value> = res.json().await.unwrap();
    for action in [
        "support_identity_unlocked",
        "support_document_changed",
        "support_recovery_rejected",
    ] {
        let entry = by_agent
            .iter()
            .find(|e| e["action"] == action)
            .unwrap_or_else(|| panic!("no {action} for the agent"));
        assert_eq!(entry["agent"], agent.email.as_str());
        assert!(entry["account_id"].is_string());
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
