//! Input at the edge (issue 13, items 4, 7, 8, 10): text the database refuses, one
//! identity per live account, email variants around the 30-day wait, and errors that
//! never echo a secret — on both databases.

use crate::both_backends;
use crate::deletion::{post, to_identity, user, user_with_document, ID};
use crate::helpers::{error_code, spawn_app_with, TestApp, PASSWORD};
use crate::ledger::ADMIN;
use crate::support::{add_agent, agent_login};
use offboard_app::config::CaptchaPolicy;
use offboard_store::{AgentRole, Backend};
use serde_json::json;

both_backends!(
    r14_nul_and_control_characters_get_422_naming_the_field,
    r11_an_unlock_with_a_refused_reason_does_not_happen,
    r19_a_document_approved_on_a_live_account_is_refused_elsewhere,
    r9_email_variants_wait_out_the_tombstone_too,
    errors_name_the_field_and_never_echo_a_secret,
);

async fn app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |c| {
        c.admin_token = Some(secrecy::SecretString::from(ADMIN));
        c.deletion.captcha = CaptchaPolicy::Never;
    })
    .await
}

async fn field_error(res: reqwest::Response) -> (u16, String, String) {
    let (status, body) = error_code(res).await;
    (
        status,
        body["error"]["code"].as_str().unwrap_or("").to_owned(),
        body["error"]["field"].as_str().unwrap_or("").to_owned(),
    )
}

fn validation(field: &str) -> (u16, String, String) {
    (422, "validation_error".to_owned(), field.to_owned())
}

// R14 (no 5xx, nothing half done): NUL and control characters anywhere in the input.
async fn r14_nul_and_control_characters_get_422_naming_the_field(backend: Backend) {
    let app = app(backend).await;
    let account = app.signup("text@example.com").await;
    let token = app.login("text@example.com").await;
    let recovery = json!({"email": "text@example.com", "message": "lost\u{0}phone"});
    assert_eq!(
        field_error(app.post_json("/api/v1/recovery", recovery).await).await,
        validation("message")
    );
    let hold = json!({"kind": "order", "reference": "BTC\u{0}#1"});
    let path = format!("/api/v1/admin/accounts/{account}/holds");
    assert_eq!(
        field_error(app.post_json_as(ADMIN, &path, hold).await).await,
        validation("reference")
    );
    let login = json!({"email": "agent\u{0}@example.com", "password": "x", "totp_code": "123456"});
    assert_eq!(
        field_error(app.post_json("/api/v1/support/login", login).await).await,
        validation("email")
    );
    for bad in ["\u{1b}[31m", "\u{7f}", "\u{85}", "a\u{8}b"] {
        let body = json!({"email": format!("x{bad}@example.com"), "password": PASSWORD});
        assert_eq!(
            field_error(app.post_json("/api/v1/signup", body).await).await,
            validation("email"),
            "{bad:?}"
        );
    }
    // Lines and tabs in free text are fine.
    let fine = json!({"email": "text@example.com", "message": "line one\nline two\tend"});
    assert_eq!(app.post_json("/api/v1/recovery", fine).await.status(), 202);
    // Query parameters and path segments too.
    let res = app
        .get_as(&token, "/api/v1/dev/outbox?to=a%00b@example.com")
        .await;
    assert_eq!(field_error(res).await, validation("to"));
    let res = app.get_as(&token, "/api/v1/deletion/abc%00def").await;
    assert_eq!(res.status(), 404);
    // A page form with a NUL is refused with a page, not a 500.
    let browser = crate::helpers::client(true);
    let csrf = app.csrf_token(&browser, "/recovery").await;
    let res = browser
        .post(app.url("/recovery"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("email", "text@example.com"),
            ("message", "nul\u{0}here"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("message"));
}

// R11, R14: a support action whose audit line cannot be written does not happen; a
// reason the audit log cannot hold is refused before anything changes.
async fn r11_an_unlock_with_a_refused_reason_does_not_happen(backend: Backend) {
    let app = app(backend).await;
    let (account, _) = user(&app, "locked.edge@example.com").await;
    let id: offboard_core::AccountId = account.parse().unwrap();
    for _ in 0..5 {
        app.state
            .store
            .record_identity_failure(id, app.state.clock.now())
            .await
            .unwrap();
    }
    let agent = add_agent(&app, "edge.agent@example.com", AgentRole::Lead).await;
    let agent_token = agent_login(&app, &agent).await;
    let path = format!("/api/v1/support/accounts/{account}/identity-unlock");
    let res = app
        .post_json_as(&agent_token, &path, json!({"reason": "called\u{0}in"}))
        .await;
    assert_eq!(field_error(res).await, validation("reason"));
    let audit = app.state.store.audit_of_account(id).await.unwrap();
    assert!(
        !audit
            .iter()
            .any(|a| a.action == "support_identity_unlocked"),
        "no unlock was audited"
    );
    let (failures, _) = app
        .state
        .store
        .identity_failures(id, app.state.clock.now())
        .await
        .unwrap();
    assert_eq!(failures, 5, "and none happened: the step is still locked");
    // With a proper reason the unlock and its audit line land together.
    let res = app
        .post_json_as(&agent_token, &path, json!({"reason": "checked on a call"}))
        .await;
    assert_eq!(res.status(), 204);
    let audit = app.state.store.audit_of_account(id).await.unwrap();
    assert!(audit
        .iter()
        .any(|a| a.action == "support_identity_unlocked" && a.actor.starts_with("agent:")));
}

// R19: one document number per live account; support sees which account holds it.
async fn r19_a_document_approved_on_a_live_account_is_refused_elsewhere(backend: Backend) {
    let app = app(backend).await;
    let (holder, _) = user_with_document(&app, "holder@example.com", "D-777-123").await;
    let other = app.signup("second@example.com").await;
    let token = app.login("second@example.com").await;
    let doc = json!({"document_type": "passport", "document_number": "d777123", "country": "DE", "expires_on": "2031-01-31"});
    let (status, body) = error_code(
        app.post_json_as(&token, "/api/v1/me/identity", doc.clone())
            .await,
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("conflict"))
    );
    assert!(
        body["error"]["help"].is_string(),
        "with a help link: {body}"
    );
    assert!(
        !body.to_string().contains("777"),
        "never the number: {body}"
    );
    // The host's approval is refused the same way.
    let admin = json!({"document_type": "passport", "document_number": "D777123", "country": "DE", "expires_on": "2031-01-31", "status": "approved"});
    let res = app
        .api
        .put(app.url(&format!("/api/v1/admin/accounts/{other}/identity")))
        .bearer_auth(ADMIN)
        .json(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(field_error(res).await.1, "conflict");
    // Support's look-up by number (the console's search, by blind index) names the
    // holder only: the refused account never had the number approved.
    let number = offboard_core::identity::DocumentNumber::parse("D 777 123").unwrap();
    let index = offboard_app::identity::document_index(&app.state, &number);
    let holders = app
        .state
        .store
        .accounts_by_document_index(&index)
        .await
        .unwrap();
    assert!(holders.contains(&holder.parse().unwrap()), "{holders:?}");
    let other_row = app
        .state
        .store
        .identity(other.parse().unwrap())
        .await
        .unwrap();
    assert!(
        other_row.is_none_or(|r| r.approved_numbers().next().is_none()),
        "nothing was approved on the second account"
    );
}

// R9: after a deletion, the same mailbox written another way waits too, or is refused.
async fn r9_email_variants_wait_out_the_tombstone_too(backend: Backend) {
    let app = app(backend).await;
    let email = "alice.tomb@example.com";
    let (_, token) = user(&app, email).await;
    let flow = to_identity(&app, &token, email).await;
    let res = post(&app, &token, &flow, "identity", json!({"id_number": ID})).await;
    assert_eq!(res.status(), 200);
    let signup = |email: String| {
        let app = &app;
        async move {
            let body = json!({"email": email, "password": PASSWORD});
            error_code(app.post_json("/api/v1/signup", body).await).await
        }
    };
    // Equal after canonicalisation: blocked until the wait is over.
    for variant in [
        "ALICE.TOMB@EXAMPLE.COM".to_owned(),
        "  alice.tomb@example.com ".to_owned(),
        "ａｌｉｃｅ.ｔｏｍｂ@example.com".to_owned(),
        "alice.tomb@ＥＸＡＭＰＬＥ.com".to_owned(),
    ] {
        let (status, body) = signup(variant.clone()).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (403, Some("reregistration_blocked")),
            "{variant:?}"
        );
    }
    // Variants that only look alike are refused outright, with a reason.
    for variant in [
        "\"alice.tomb\"@example.com",
        "alice\u{200b}.tomb@example.com",
        "alice.to\u{ad}mb@example.com",
        "alice.tomb\u{202e}@example.com",
        "alice.to\u{301}mb@example.com",
        "aliᴄe.tomb@example.com",
        "alice.tomb@example.com.",
    ] {
        let (status, body) = signup(variant.to_owned()).await;
        assert_eq!(
            (status, body["error"]["field"].as_str()),
            (422, Some("email")),
            "{variant:?}: {body}"
        );
    }
    let (_, body) = signup("alice.tomb@example.com.".to_owned()).await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("dot at the end"),
        "{body}"
    );
    // The long s folds to s: "ſ" is "s" for the tombstone too.
    let (_, token) = user_with_document(&app, "sam.tomb@example.com", "S-100-200").await;
    let flow = to_identity(&app, &token, "sam.tomb@example.com").await;
    let res = post(
        &app,
        &token,
        &flow,
        "identity",
        json!({"id_number": "S-100-200"}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let (status, _) = signup("ſam.tomb@example.com".to_owned()).await;
    assert_eq!(status, 403, "the long s is the same mailbox");
}

// Validation messages name the field and the rule, never the value of a secret field.
async fn errors_name_the_field_and_never_echo_a_secret(backend: Backend) {
    let app = app(backend).await;
    let body = json!({"email": "echo@example.com", "password": 12345678901_u64});
    let (status, err) = error_code(app.post_json("/api/v1/signup", body).await).await;
    assert_eq!(
        (status, err["error"]["field"].as_str()),
        (422, Some("password"))
    );
    assert!(!err.to_string().contains("12345678901"), "{err}");
    let body = json!({"email": "echo@example.com", "password": "hunter2"});
    let (status, err) = error_code(app.post_json("/api/v1/signup", body).await).await;
    assert_eq!(
        (status, err["error"]["field"].as_str()),
        (422, Some("password"))
    );
    assert!(!err.to_string().contains("hunter2"), "{err}");
    let token = {
        app.signup("echo@example.com").await;
        app.login("echo@example.com").await
    };
    let body = json!({"channel": "pigeon-secret", "purpose": "withdrawal"});
    let (status, err) = error_code(app.post_json_as(&token, "/api/v1/me/codes", body).await).await;
    assert_eq!(
        (status, err["error"]["field"].as_str()),
        (422, Some("channel"))
    );
    assert!(!err.to_string().contains("pigeon"), "{err}");
}
