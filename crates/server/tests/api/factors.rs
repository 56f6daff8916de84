//! R5 over HTTP: email and SMS codes, the authenticator, phone binding, unbinding.

use crate::both_backends;
use crate::helpers::{error_code, spawn_app, TestApp};
use offboard_store::Backend;
use serde_json::{json, Value};

both_backends!(
    phone_binding_with_an_sms_code,
    codes_expire_after_ten_minutes,
    resend_waits_sixty_seconds,
    at_most_five_sends_an_hour_per_channel,
    a_new_code_retires_the_previous_one,
    resend_does_not_refill_the_failure_budget,
    codes_are_bound_to_their_purpose,
    parallel_wrong_guesses_evaluate_at_most_five,
    authenticator_binding_login_and_replay,
    authenticator_accepts_one_step_of_skew,
    moving_the_dev_clock_keeps_real_authenticator_codes,
    unbinding_needs_every_bound_factor,
    code_requests_are_validated,
    audit_records_sends_and_failures_without_codes,
);

const PHONE: &str = "+447911123456";

async fn user(app: &TestApp, email: &str) -> String {
    app.signup(email).await;
    app.login(email).await
}

async fn code_error(res: reqwest::Response) -> (u16, Value) {
    let (status, body) = error_code(res).await;
    (status, body["error"].clone())
}

// Rules R5 (PRODUCT.md).
async fn phone_binding_with_an_sms_code(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = user(&app, "pat@example.com").await;
    let (status, err) = code_error(
        app.post_json_as(&token, "/api/v1/me/phone", json!({"phone": "07911 123456"}))
            .await,
    )
    .await;
    assert_eq!(
        (status, err["code"].as_str(), err["field"].as_str()),
        (422, Some("validation_error"), Some("phone"))
    );

    let res = app
        .post_json_as(
            &token,
            "/api/v1/me/phone",
            json!({"phone": "+44 7911 123456"}),
        )
        .await;
    assert_eq!(res.status(), 202);
    assert_eq!(res.json::<Value>().await.unwrap()["resend_after"], 60);
    let code = app.latest_code(PHONE).await;

    let (status, err) = code_error(
        app.post_json_as(
            &token,
            "/api/v1/me/phone/confirm",
            json!({"code": wrong(&code)}),
        )
        .await,
    )
    .await;
    assert_eq!((status, err["code"].as_str()), (400, Some("invalid_code")));
    assert_eq!(err["attempts_left"], 4);
    assert_eq!(err["help"], "/help/wrong-code");

    assert_eq!(
        app.post_json_as(&token, "/api/v1/me/phone/confirm", json!({"code": code}))
            .await
            .status(),
        204
    );
    let me: Value = app.get_as(&token, "/api/v1/me").await.json().await.unwrap();
    assert_eq!(me["phone"], PHONE);
    assert_eq!(me["factors"], json!(["email", "sms"]));
    // Single use.
    let (status, err) = code_error(
        app.post_json_as(&token, "/api/v1/me/phone/confirm", json!({"code": code}))
            .await,
    )
    .await;
    assert_eq!((status, err["code"].as_str()), (400, Some("code_used")));
    // Another account cannot bind the same number.
    let other = user(&app, "quin@example.com").await;
    assert_eq!(
        app.post_json_as(&other, "/api/v1/me/phone", json!({"phone": PHONE}))
            .await
            .status(),
        202
    );
    let code = app.latest_code(PHONE).await;
    let (status, err) = code_error(
        app.post_json_as(&other, "/api/v1/me/phone/confirm", json!({"code": code}))
            .await,
    )
    .await;
    assert_eq!((status, err["code"].as_str()), (409, Some("conflict")));
}

fn wrong(code: &str) -> String {
    let first = (code.as_bytes()[0] - b'0' + 1) % 10;
    format!("{first}{}", &code[1..])
}

async fn request_unbind_code(app: &TestApp, token: &str) -> reqwest::Response {
    app.post_json_as(
        token,
        "/api/v1/me/codes",
        json!({"channel": "email", "purpose": "unbind"}),
    )
    .await
}

/// Tries an unbind code via removing the authenticator (codes of purpose `unbind`).
async fn try_unbind(
    app: &TestApp,
    token: &str,
    email_code: &str,
    totp_code: &str,
) -> reqwest::Response {
    app.delete_json_as(
        token,
        "/api/v1/me/totp",
        json!({"email_code": email_code, "totp_code": totp_code}),
    )
    .await
}

// Rules R5 (PRODUCT.md).
async fn codes_expire_after_ten_minutes(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = user(&app, "ria@example.com").await;
    app.post_json_as(&token, "/api/v1/me/phone", json!({"phone": PHONE}))
        .await;
    let code = app.latest_code(PHONE).await;
    app.advance(9 * 60 + 57).await; // stored times are whole seconds: keep a margin
    let (status, err) = code_error(
        app.post_json_as(
            &token,
            "/api/v1/me/phone/confirm",
            json!({"code": wrong(&code)}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (400, Some("invalid_code")),
        "still alive at 9:57"
    );
    app.advance(3).await;
    let (status, err) = code_error(
        app.post_json_as(&token, "/api/v1/me/phone/confirm", json!({"code": code}))
            .await,
    )
    .await;
    assert_eq!((status, err["code"].as_str()), (400, Some("code_expired")));
}

// Rules R5 (PRODUCT.md).
async fn resend_waits_sixty_seconds(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = user(&app, "sol@example.com").await;
    assert_eq!(request_unbind_code(&app, &token).await.status(), 202);
    app.advance(20).await;
    let res = request_unbind_code(&app, &token).await;
    assert_eq!(res.headers()["retry-after"], "40");
    let (status, err) = code_error(res).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (429, Some("resend_too_soon"))
    );
    assert_eq!(err["retry_after"], 40);
    app.advance(40).await;
    assert_eq!(request_unbind_code(&app, &token).await.status(), 202);
}

// Rules R5 (PRODUCT.md).
async fn at_most_five_sends_an_hour_per_channel(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = user(&app, "tao@example.com").await;
    for purpose in ["unbind", "withdrawal", "unbind", "withdrawal", "unbind"] {
        let res = app
            .post_json_as(
                &token,
                "/api/v1/me/codes",
                json!({"channel": "email", "purpose": purpose}),
            )
            .await;
        assert_eq!(res.status(), 202);
        app.advance(61).await;
    }
    let (status, err) = code_error(request_unbind_code(&app, &token).await).await;
    assert_eq!((status, err["code"].as_str()), (429, Some("rate_limited")));
    let wait = err["retry_after"].as_i64().unwrap();
    // Real time passes between requests too (the dev clock is the system clock plus an
    // offset), so allow some slack below the exact figure.
    assert!((3600 - 5 * 61 - 30..=3600).contains(&wait), "{wait}");
    app.advance(wait).await;
    let token = app.login("tao@example.com").await; // the old session idled out meanwhile
    assert_eq!(request_unbind_code(&app, &token).await.status(), 202);
}

// Rules R5 (PRODUCT.md).
async fn a_new_code_retires_the_previous_one(backend: Backend) {
    let app = spawn_app(backend).await;
    let (token, secret) = app.user_with_totp("uma@example.com").await;
    request_unbind_code(&app, &token).await;
    let old = app.latest_code("uma@example.com").await;
    app.advance(61).await;
    request_unbind_code(&app, &token).await;
    let new = app.latest_code("uma@example.com").await;
    assert_ne!(old, new);
    let (status, err) =
        code_error(try_unbind(&app, &token, &old, &app.next_totp(&secret).await).await).await;
    assert_eq!(
        (status, err["code"].as_str(), err["factor"].as_str()),
        (400, Some("invalid_code"), Some("email"))
    );
    assert_eq!(
        try_unbind(&app, &token, &new, &app.next_totp(&secret).await)
            .await
            .status(),
        204
    );
}

// Rules R5 (PRODUCT.md).
async fn resend_does_not_refill_the_failure_budget(backend: Backend) {
    let app = spawn_app(backend).await;
    let (token, secret) = app.user_with_totp("vic@example.com").await;
    // The authenticator code is right each time (judged, never used up), so only the
    // email codes spend the budget: every code is judged, and each wrong one counts.
    let totp = app.next_totp(&secret).await;
    request_unbind_code(&app, &token).await;
    let first = app.latest_code("vic@example.com").await;
    for left in (0..5).rev() {
        let (_, err) = code_error(try_unbind(&app, &token, &wrong(&first), &totp).await).await;
        assert_eq!(err["attempts_left"], left);
    }
    let (_, err) = code_error(try_unbind(&app, &token, &first, &totp).await).await;
    assert_eq!(
        err["code"], "code_exhausted",
        "dead after five wrong tries, even with the right code"
    );
    app.advance(61).await;
    request_unbind_code(&app, &token).await;
    let second = app.latest_code("vic@example.com").await;
    for _ in 0..5 {
        let (_, err) = code_error(try_unbind(&app, &token, &wrong(&second), &totp).await).await;
        assert_eq!(err["code"], "invalid_code");
    }
    app.advance(61).await;
    request_unbind_code(&app, &token).await;
    let third = app.latest_code("vic@example.com").await;
    let (status, err) =
        code_error(try_unbind(&app, &token, &third, &app.next_totp(&secret).await).await).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (429, Some("rate_limited")),
        "10 wrong codes this hour: {err}"
    );
}

// Rules R5 (PRODUCT.md).
async fn codes_are_bound_to_their_purpose(backend: Backend) {
    let app = spawn_app(backend).await;
    let (token, secret) = app.user_with_totp("wes@example.com").await;
    let res = app
        .post_json_as(
            &token,
            "/api/v1/me/codes",
            json!({"channel": "email", "purpose": "withdrawal"}),
        )
        .await;
    assert_eq!(res.status(), 202);
    let withdrawal_code = app.latest_code("wes@example.com").await;
    let (status, err) = code_error(
        try_unbind(
            &app,
            &token,
            &withdrawal_code,
            &app.next_totp(&secret).await,
        )
        .await,
    )
    .await;
    assert_eq!((status, err["code"].as_str()), (400, Some("invalid_code")));
    let me: Value = app.get_as(&token, "/api/v1/me").await.json().await.unwrap();
    assert_eq!(
        me["factors"],
        json!(["email", "totp"]),
        "nothing was unbound"
    );
}

// Rules R5 (PRODUCT.md).
async fn parallel_wrong_guesses_evaluate_at_most_five(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = user(&app, "xia@example.com").await;
    app.post_json_as(&token, "/api/v1/me/phone", json!({"phone": PHONE}))
        .await;
    let code = app.latest_code(PHONE).await;
    let guesses = (0..100).map(|_| {
        app.post_json_as(
            &token,
            "/api/v1/me/phone/confirm",
            json!({"code": wrong(&code)}),
        )
    });
    let responses = futures::future::join_all(guesses).await;
    let mut codes = Vec::new();
    for res in responses {
        let (_, err) = code_error(res).await;
        codes.push(err["code"].as_str().unwrap().to_owned());
    }
    let evaluated = codes.iter().filter(|c| *c == "invalid_code").count();
    assert_eq!(
        evaluated, 5,
        "exactly five guesses were evaluated as tries: {codes:?}"
    );
    assert!(
        codes
            .iter()
            .all(|c| c == "invalid_code" || c == "code_exhausted"),
        "{codes:?}"
    );
    let (status, err) = code_error(
        app.post_json_as(&token, "/api/v1/me/phone/confirm", json!({"code": code}))
            .await,
    )
    .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (400, Some("code_exhausted"))
    );
}

// Rules R5 (PRODUCT.md).
async fn authenticator_binding_login_and_replay(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = user(&app, "yan@example.com").await;
    let setup: Value = app
        .post_json_as(&token, "/api/v1/me/totp", json!({}))
        .await
        .json()
        .await
        .unwrap();
    let secret = setup["secret"].as_str().unwrap().to_owned();
    let uri = setup["otpauth_uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/offboard:") && uri.contains(&secret));
    // Not active until confirmed: login still needs no code.
    app.login("yan@example.com").await;
    let (status, err) = code_error(
        app.post_json_as(&token, "/api/v1/me/totp/confirm", json!({"code": "000000"}))
            .await,
    )
    .await;
    assert_eq!(
        (status, err["code"].as_str(), err["help"].as_str()),
        (
            400,
            Some("invalid_code"),
            Some("/help/authenticator-errors")
        )
    );
    let first = app.next_totp(&secret).await;
    assert_eq!(
        app.post_json_as(&token, "/api/v1/me/totp/confirm", json!({"code": first}))
            .await
            .status(),
        204
    );
    let me: Value = app.get_as(&token, "/api/v1/me").await.json().await.unwrap();
    assert_eq!(me["factors"], json!(["email", "totp"]));
    // A second setup is refused while one is bound.
    assert_eq!(
        app.post_json_as(&token, "/api/v1/me/totp", json!({}))
            .await
            .status(),
        409
    );

    let login = |code: Option<String>| {
        let mut body = json!({"email": "yan@example.com", "password": crate::helpers::PASSWORD});
        if let Some(code) = code {
            body["totp_code"] = json!(code);
        }
        app.post_json("/api/v1/login", body)
    };
    let (status, err) = code_error(login(None).await).await;
    assert_eq!((status, err["code"].as_str()), (401, Some("totp_required")));
    // The step used to confirm is never accepted again (replay).
    let (status, err) = code_error(login(Some(first.clone())).await).await;
    assert_eq!((status, err["code"].as_str()), (400, Some("invalid_code")));
    let next = app.next_totp(&secret).await;
    assert_eq!(login(Some(next.clone())).await.status(), 200);
    let (status, _) = code_error(login(Some(next)).await).await;
    assert_eq!(status, 400, "the same step twice is a replay");
}

// Rules R5 (PRODUCT.md): one 30-second step of skew either way, judged by the real time.
async fn authenticator_accepts_one_step_of_skew(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = user(&app, "zed@example.com").await;
    let setup: Value = app
        .post_json_as(&token, "/api/v1/me/totp", json!({}))
        .await
        .json()
        .await
        .unwrap();
    let secret = setup["secret"].as_str().unwrap().to_owned();
    // Steer clear of a step boundary between computing a code and the server judging it.
    let into_step = app.state.authenticator_now().unix_timestamp() % 30;
    if into_step > 27 {
        tokio::time::sleep(std::time::Duration::from_secs((31 - into_step) as u64)).await;
    }
    let confirm =
        |code: String| app.post_json_as(&token, "/api/v1/me/totp/confirm", json!({ "code": code }));
    let (status, _) = code_error(confirm(app.totp_now(&secret, -2)).await).await;
    assert_eq!(status, 400, "two steps behind is too old");
    assert_eq!(
        confirm(app.totp_now(&secret, -1)).await.status(),
        204,
        "one step behind is fine"
    );
    let login = |code: String| {
        app.post_json("/api/v1/login", json!({"email": "zed@example.com", "password": crate::helpers::PASSWORD, "totp_code": code}))
    };
    let (status, _) = code_error(login(app.totp_now(&secret, 2)).await).await;
    assert_eq!(status, 400, "two steps ahead is too far");
    assert_eq!(
        login(app.totp_now(&secret, 1)).await.status(),
        200,
        "one step ahead is fine"
    );
}

// Rules R5 (PRODUCT.md), issue 15: the dev clock moves expiries, never the time an
// authenticator app's codes are judged by (the phone does not know the dev clock).
async fn moving_the_dev_clock_keeps_real_authenticator_codes(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, secret) = app.user_with_totp("ora@example.com").await;
    app.advance(1000).await;
    let real_step =
        offboard_core::totp::step_of(offboard_core::Clock::now(&offboard_core::SystemClock));
    let phone_code = offboard_core::totp::code_at_step(&secret, real_step + 1).unwrap();
    let moved_code =
        offboard_core::totp::code_at_step(&secret, offboard_core::totp::step_of(app.state.now()))
            .unwrap();
    let login = |code: String| {
        app.post_json("/api/v1/login", json!({"email": "ora@example.com", "password": crate::helpers::PASSWORD, "totp_code": code}))
    };
    let (status, _) = code_error(login(moved_code).await).await;
    assert_eq!(
        status, 400,
        "a code of the moved clock's time is not the phone's"
    );
    assert_eq!(
        login(phone_code).await.status(),
        200,
        "the phone's code still works"
    );
}

// Rules R5 (PRODUCT.md).
async fn unbinding_needs_every_bound_factor(backend: Backend) {
    let app = spawn_app(backend).await;
    let (token, secret) = app.user_with_totp("amy@example.com").await;
    app.post_json_as(&token, "/api/v1/me/phone", json!({"phone": PHONE}))
        .await;
    let sms = app.latest_code(PHONE).await;
    assert_eq!(
        app.post_json_as(&token, "/api/v1/me/phone/confirm", json!({"code": sms}))
            .await
            .status(),
        204
    );

    app.advance(61).await;
    request_unbind_code(&app, &token).await;
    let email = app.latest_code("amy@example.com").await;
    // Missing SMS code: refused, naming the field.
    let (status, err) =
        code_error(try_unbind(&app, &token, &email, &app.next_totp(&secret).await).await).await;
    assert_eq!(
        (status, err["code"].as_str(), err["field"].as_str()),
        (422, Some("validation_error"), Some("sms_code"))
    );
    app.post_json_as(
        &token,
        "/api/v1/me/codes",
        json!({"channel": "sms", "purpose": "unbind"}),
    )
    .await;
    let sms = app.latest_code(PHONE).await;
    // A wrong authenticator code fails the lot and consumes nothing.
    let body = json!({"email_code": email, "sms_code": sms, "totp_code": "000000"});
    let (status, err) = code_error(app.delete_json_as(&token, "/api/v1/me/totp", body).await).await;
    assert_eq!((status, err["factor"].as_str()), (400, Some("totp")));
    let body =
        json!({"email_code": email, "sms_code": sms, "totp_code": app.next_totp(&secret).await});
    assert_eq!(
        app.delete_json_as(&token, "/api/v1/me/totp", body)
            .await
            .status(),
        204
    );
    let me: Value = app.get_as(&token, "/api/v1/me").await.json().await.unwrap();
    assert_eq!(me["factors"], json!(["email", "sms"]));
}

// Rules R5 (PRODUCT.md).
async fn code_requests_are_validated(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = user(&app, "ben@example.com").await;
    for (body, field) in [
        (json!({"channel": "pigeon", "purpose": "unbind"}), "channel"),
        (
            json!({"channel": "email", "purpose": "deletion"}),
            "purpose",
        ),
        (json!({"channel": "sms", "purpose": "unbind"}), "channel"),
        (json!({"channel": "email"}), "purpose"),
    ] {
        let (status, err) = code_error(
            app.post_json_as(&token, "/api/v1/me/codes", body.clone())
                .await,
        )
        .await;
        assert_eq!(
            (status, err["field"].as_str()),
            (422, Some(field)),
            "{body}"
        );
    }
    assert_eq!(
        app.api
            .post(app.url("/api/v1/me/codes"))
            .json(&json!({"channel": "email", "purpose": "unbind"}))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
}

// Rules R5 (PRODUCT.md).
async fn audit_records_sends_and_failures_without_codes(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = user(&app, "cai@example.com").await;
    app.post_json_as(&token, "/api/v1/me/phone", json!({"phone": PHONE}))
        .await;
    let code = app.latest_code(PHONE).await;
    app.post_json_as(
        &token,
        "/api/v1/me/phone/confirm",
        json!({"code": wrong(&code)}),
    )
    .await;
    let me: Value = app.get_as(&token, "/api/v1/me").await.json().await.unwrap();
    let id = me["account_id"].as_str().unwrap().parse().unwrap();
    let audit = app.state.store.audit_of_account(id).await.unwrap();
    let actions: Vec<_> = audit.iter().map(|r| r.action.as_str()).collect();
    assert!(
        actions.contains(&"code_sent") && actions.contains(&"code_failed"),
        "{actions:?}"
    );
    for record in &audit {
        let detail = record.detail.clone().unwrap_or_default();
        assert!(
            !detail.contains(&code) && !detail.contains(&wrong(&code)),
            "a code leaked into the audit log: {detail}"
        );
    }
}
