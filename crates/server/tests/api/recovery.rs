//! Password reset and recovery requests (API.md), without enumeration; through the typed
//! client, but for the answers compared byte for byte and the pages.

use crate::both_backends;
use crate::helpers::{api_error, refused, spawn_app_with, PASSWORD};
use offboard_app::config::CaptchaPolicy;
use offboard_client::{ConfirmNotes, Document, DocumentType};
use offboard_store::Backend;
use serde_json::json;

both_backends!(
    password_reset_by_email_code_then_deletion_waits,
    recovery_requests_are_taken_without_telling_who_exists,
    reset_and_recovery_pages_work_without_an_account,
);

// Rules R11, R15 (PRODUCT.md). Typed, but for the byte comparison of a wrong code with an
// unknown account.
async fn password_reset_by_email_code_then_deletion_waits(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.deletion.captcha = CaptchaPolicy::Never).await;
    let email = "reset@example.com";
    let old_session = app.user(email).await.api;
    let anonymous = app.client();
    anonymous
        .password_reset("nobody@example.com")
        .await
        .unwrap();
    anonymous.password_reset(email).await.unwrap();
    // A second request within the cooldown answers the same (no enumeration through limits).
    anonymous.password_reset(email).await.unwrap();
    let code = app.latest_code(email).await;
    let new_password = "a brand new passphrase";
    let confirm = |who: &'static str, code: String| {
        app.post_json(
            "/api/v1/password-reset/confirm",
            json!({"email": who, "code": code, "new_password": new_password}),
        )
    };
    let wrong = confirm(email, "000000".into()).await;
    let unknown = confirm("nobody@example.com", code.clone()).await;
    assert_eq!(wrong.status(), 400);
    assert_eq!(
        wrong.text().await.unwrap(),
        unknown.text().await.unwrap(),
        "a wrong code and an unknown account look the same"
    );
    let err = api_error(
        anonymous
            .password_reset_confirm(email, &code, "short")
            .await,
    );
    assert_eq!(
        (err.status, err.detail_str("field")),
        (422, Some("new_password"))
    );
    anonymous
        .password_reset_confirm(email, &code, new_password)
        .await
        .unwrap();
    let again = anonymous
        .password_reset_confirm(email, &code, new_password)
        .await;
    assert_eq!(again.unwrap_err().status(), Some(400), "single use");
    assert_eq!(
        old_session.me().await.unwrap_err().status(),
        Some(401),
        "every session ended"
    );
    let old = anonymous.login(email, PASSWORD).await;
    assert_eq!(old.unwrap_err().status(), Some(401));
    let login = anonymous.login(email, new_password).await.unwrap();
    // Deletion waits 24 hours after the reset.
    let api = app.client_as(&login.token);
    let flow = api.deletion_start().await.unwrap();
    refused(
        api.deletion_confirm(&flow.id, &ConfirmNotes::acknowledged(None))
            .await,
        403,
        "deletion_cool_off",
    );
}

// Rules R11, R15 (PRODUCT.md).
async fn recovery_requests_are_taken_without_telling_who_exists(backend: Backend) {
    let app = spawn_app_with(backend, |_| {}).await;
    let email = "lost@example.com";
    app.signup(email).await;
    let token = app.login(email).await;
    let document = Document {
        document_type: DocumentType::Passport,
        document_number: "C01X00T47".to_owned(),
        country: "DE".to_owned(),
        expires_on: "2031-01-01".to_owned(),
    };
    let api = app.client_as(&token);
    api.submit_identity(&document).await.unwrap();
    // Raw: each answer is checked to be the same empty body.
    for (who, id_number) in [
        (email, Some("c01x-00t47")),
        (email, Some("WRONG1234")),
        (email, None),
        ("ghost@example.com", Some("C01X00T47")),
    ] {
        let mut body = json!({"email": who, "message": "I lost my phone with the authenticator."});
        if let Some(n) = id_number {
            body["id_number"] = json!(n);
        }
        let res = app.post_json("/api/v1/recovery", body).await;
        assert_eq!(res.status(), 202);
        assert_eq!(
            res.text().await.unwrap(),
            "",
            "the same empty answer for everyone"
        );
    }
    let open = app.state.store.open_recovery_requests().await.unwrap();
    let checks: Vec<_> = open.iter().map(|r| r.3.as_str()).collect();
    assert_eq!(checks, ["match", "mismatch", "not_given", "mismatch"]);
    assert!(open[3].1.is_none(), "no account behind the unknown email");
    let err = api_error(app.client().recovery_request(email, "", None).await);
    assert_eq!(
        (err.status, err.detail_str("field")),
        (422, Some("message"))
    );
}

// Rules R11, R15 (PRODUCT.md).
async fn reset_and_recovery_pages_work_without_an_account(backend: Backend) {
    let app = spawn_app_with(backend, |_| {}).await;
    let email = "pages@example.com";
    app.signup(email).await;
    let browser = crate::helpers::client(true);
    // Recovery form: the same answer for an unknown email.
    let csrf = app.csrf_token(&browser, "/recovery").await;
    for who in [email, "unknown@example.com"] {
        let res = browser
            .post(app.url("/recovery"))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("email", who),
                ("message", "Lost my phone"),
                ("id_number", ""),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert!(res
            .text()
            .await
            .unwrap()
            .contains("Your request was received"));
    }
    let res = browser
        .post(app.url("/recovery"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("email", email),
            ("message", " "),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    // Password reset pages: request, code, new password, log in.
    let csrf = app.csrf_token(&browser, "/password-reset").await;
    let res = browser
        .post(app.url("/password-reset"))
        .form(&[("csrf_token", csrf.as_str()), ("email", email)])
        .send()
        .await
        .unwrap();
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("action=\"/password-reset/confirm\""));
    let code = app.latest_code(email).await;
    let form = |code: &str| {
        vec![
            ("csrf_token", csrf.clone()),
            ("email", email.to_owned()),
            ("code", code.to_owned()),
            ("new_password", "another fine passphrase".to_owned()),
        ]
    };
    let res = browser
        .post(app.url("/password-reset/confirm"))
        .form(&form("000000"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("/help/wrong-code"));
    let res = browser
        .post(app.url("/password-reset/confirm"))
        .form(&form(&code))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("Your password was changed"));
    let login = app.client().login(email, "another fine passphrase").await;
    login.expect("the new password works");
}
