//! Password reset and recovery requests (API.md), without enumeration.

use crate::both_backends;
use crate::helpers::{error_code, spawn_app_with, PASSWORD};
use offboard_app::config::CaptchaPolicy;
use offboard_store::Backend;
use serde_json::{json, Value};

both_backends!(
    password_reset_by_email_code_then_deletion_waits,
    recovery_requests_are_taken_without_telling_who_exists,
    reset_and_recovery_pages_work_without_an_account,
);

// Rules R11, R15 (PRODUCT.md).
async fn password_reset_by_email_code_then_deletion_waits(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.deletion.captcha = CaptchaPolicy::Never).await;
    let email = "reset@example.com";
    app.signup(email).await;
    let old_session = app.login(email).await;
    assert_eq!(
        app.post_json(
            "/api/v1/password-reset",
            json!({"email": "nobody@example.com"})
        )
        .await
        .status(),
        202
    );
    assert_eq!(
        app.post_json("/api/v1/password-reset", json!({"email": email}))
            .await
            .status(),
        202
    );
    // A second request within the cooldown answers the same (no enumeration through limits).
    assert_eq!(
        app.post_json("/api/v1/password-reset", json!({"email": email}))
            .await
            .status(),
        202
    );
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
    let (status, err) = error_code(
        app.post_json(
            "/api/v1/password-reset/confirm",
            json!({"email": email, "code": code, "new_password": "short"}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, err["error"]["field"].as_str()),
        (422, Some("new_password"))
    );
    assert_eq!(confirm(email, code.clone()).await.status(), 204);
    assert_eq!(confirm(email, code).await.status(), 400, "single use");
    assert_eq!(
        app.get_as(&old_session, "/api/v1/me").await.status(),
        401,
        "every session ended"
    );
    assert_eq!(
        app.post_json(
            "/api/v1/login",
            json!({"email": email, "password": PASSWORD})
        )
        .await
        .status(),
        401
    );
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
    // Deletion waits 24 hours after the reset.
    let flow: Value = app
        .post_json_as(&token, "/api/v1/deletion", json!({}))
        .await
        .json()
        .await
        .unwrap();
    let (status, err) = error_code(
        app.post_json_as(
            &token,
            &format!("/api/v1/deletion/{}/confirm", flow["id"].as_str().unwrap()),
            json!({"acknowledged": true}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (403, Some("deletion_cool_off"))
    );
}

// Rules R11, R15 (PRODUCT.md).
async fn recovery_requests_are_taken_without_telling_who_exists(backend: Backend) {
    let app = spawn_app_with(backend, |_| {}).await;
    let email = "lost@example.com";
    app.signup(email).await;
    let token = app.login(email).await;
    let body = json!({"document_type": "passport", "document_number": "C01X00T47", "country": "DE", "expires_on": "2031-01-01"});
    app.post_json_as(&token, "/api/v1/me/identity", body).await;
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
    let (status, err) = error_code(
        app.post_json("/api/v1/recovery", json!({"email": email, "message": ""}))
            .await,
    )
    .await;
    assert_eq!(
        (status, err["error"]["field"].as_str()),
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
    let res = app
        .post_json(
            "/api/v1/login",
            json!({"email": email, "password": "another fine passphrase"}),
        )
        .await;
    assert_eq!(res.status(), 200);
}
