//! R5 over HTTP: email and SMS codes, the authenticator, phone binding, unbinding; driven
//! through the typed client (unknown channel and purpose values stay on raw HTTP).

use crate::both_backends;
use crate::helpers::{api_error, error_code, refused, spawn_app, TestApp, PASSWORD};
use offboard_client::{Channel, Client, ClientError, CodePurpose, Factor, FactorCodes};
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

async fn user(app: &TestApp, email: &str) -> Client {
    app.user(email).await.api
}

async fn code_error(res: reqwest::Response) -> (u16, Value) {
    let (status, body) = error_code(res).await;
    (status, body["error"].clone())
}

// Rules R5 (PRODUCT.md).
async fn phone_binding_with_an_sms_code(backend: Backend) {
    let app = spawn_app(backend).await;
    let api = user(&app, "pat@example.com").await;
    let err = refused(
        api.phone_begin("07911 123456").await,
        422,
        "validation_error",
    );
    assert_eq!(err.detail_str("field"), Some("phone"));

    let sent = api.phone_begin("+44 7911 123456").await.unwrap();
    assert_eq!(sent.resend_after, 60);
    let code = app.latest_code(PHONE).await;

    let err = refused(api.phone_confirm(&wrong(&code)).await, 400, "invalid_code");
    assert_eq!(err.detail_u64("attempts_left"), Some(4));
    assert_eq!(err.help.as_deref(), Some("/help/wrong-code"));

    api.phone_confirm(&code).await.unwrap();
    let me = api.me().await.unwrap();
    assert_eq!(me.phone.as_deref(), Some(PHONE));
    assert_eq!(me.factors, [Factor::Email, Factor::Sms]);
    // Single use.
    refused(api.phone_confirm(&code).await, 400, "code_used");
    // Another account cannot bind the same number.
    let other = user(&app, "quin@example.com").await;
    other.phone_begin(PHONE).await.unwrap();
    let code = app.latest_code(PHONE).await;
    refused(other.phone_confirm(&code).await, 409, "conflict");
}

fn wrong(code: &str) -> String {
    let first = (code.as_bytes()[0] - b'0' + 1) % 10;
    format!("{first}{}", &code[1..])
}

async fn request_unbind_code(api: &Client) -> Result<offboard_client::CodeSent, ClientError> {
    api.send_code(Channel::Email, CodePurpose::Unbind).await
}

/// Tries an unbind code via removing the authenticator (codes of purpose `unbind`).
async fn try_unbind(api: &Client, email_code: &str, totp_code: &str) -> Result<(), ClientError> {
    let codes = FactorCodes {
        email_code: Some(email_code.to_owned()),
        totp_code: Some(totp_code.to_owned()),
        ..FactorCodes::default()
    };
    api.totp_remove(&codes).await
}

// Rules R5 (PRODUCT.md).
async fn codes_expire_after_ten_minutes(backend: Backend) {
    let app = spawn_app(backend).await;
    let api = user(&app, "ria@example.com").await;
    api.phone_begin(PHONE).await.unwrap();
    let code = app.latest_code(PHONE).await;
    app.advance(9 * 60 + 57).await; // stored times are whole seconds: keep a margin
    let err = api_error(api.phone_confirm(&wrong(&code)).await);
    assert_eq!(
        (err.status, err.code.as_str()),
        (400, "invalid_code"),
        "still alive at 9:57"
    );
    app.advance(3).await;
    refused(api.phone_confirm(&code).await, 400, "code_expired");
}

// Rules R5 (PRODUCT.md).
async fn resend_waits_sixty_seconds(backend: Backend) {
    let app = spawn_app(backend).await;
    let api = user(&app, "sol@example.com").await;
    request_unbind_code(&api).await.unwrap();
    app.advance(20).await;
    let err = refused(request_unbind_code(&api).await, 429, "resend_too_soon");
    // 40 s are left; real time also passes between the two requests (the dev clock is the
    // system clock plus an offset) and codes are stored in whole seconds, so a second
    // boundary crossed in between leaves 39. Never more than 40, never below 39 here.
    let left = err.detail_u64("retry_after").unwrap();
    assert!((39..=40).contains(&left), "{left}");
    assert_eq!(
        err.retry_after,
        Some(left),
        "the Retry-After header says the same"
    );
    app.advance(40).await;
    request_unbind_code(&api).await.unwrap();
}

// Rules R5 (PRODUCT.md).
async fn at_most_five_sends_an_hour_per_channel(backend: Backend) {
    let app = spawn_app(backend).await;
    let api = user(&app, "tao@example.com").await;
    use CodePurpose::{Unbind, Withdrawal};
    for purpose in [Unbind, Withdrawal, Unbind, Withdrawal, Unbind] {
        api.send_code(Channel::Email, purpose).await.unwrap();
        app.advance(61).await;
    }
    let err = refused(request_unbind_code(&api).await, 429, "rate_limited");
    let wait = err.detail("retry_after").and_then(Value::as_i64).unwrap();
    // Real time passes between requests too (the dev clock is the system clock plus an
    // offset), so allow some slack below the exact figure.
    assert!((3600 - 5 * 61 - 30..=3600).contains(&wait), "{wait}");
    app.advance(wait).await;
    let token = app.login("tao@example.com").await; // the old session idled out meanwhile
    request_unbind_code(&app.client_as(&token)).await.unwrap();
}

// Rules R5 (PRODUCT.md).
async fn a_new_code_retires_the_previous_one(backend: Backend) {
    let app = spawn_app(backend).await;
    let (token, secret) = app.user_with_totp("uma@example.com").await;
    let api = app.client_as(&token);
    request_unbind_code(&api).await.unwrap();
    let old = app.latest_code("uma@example.com").await;
    app.advance(61).await;
    request_unbind_code(&api).await.unwrap();
    let new = app.latest_code("uma@example.com").await;
    assert_ne!(old, new);
    let err = refused(
        try_unbind(&api, &old, &app.next_totp(&secret).await).await,
        400,
        "invalid_code",
    );
    assert_eq!(err.detail_str("factor"), Some("email"));
    try_unbind(&api, &new, &app.next_totp(&secret).await)
        .await
        .unwrap();
}

// Rules R5 (PRODUCT.md).
async fn resend_does_not_refill_the_failure_budget(backend: Backend) {
    let app = spawn_app(backend).await;
    let (token, secret) = app.user_with_totp("vic@example.com").await;
    let api = app.client_as(&token);
    // The authenticator code is right each time (judged, never used up), so only the
    // email codes spend the budget: every code is judged, and each wrong one counts.
    let totp = app.next_totp(&secret).await;
    request_unbind_code(&api).await.unwrap();
    let first = app.latest_code("vic@example.com").await;
    for left in (0..5).rev() {
        let err = api_error(try_unbind(&api, &wrong(&first), &totp).await);
        assert_eq!(err.detail_u64("attempts_left"), Some(left));
    }
    let err = api_error(try_unbind(&api, &first, &totp).await);
    assert_eq!(
        err.code, "code_exhausted",
        "dead after five wrong tries, even with the right code"
    );
    app.advance(61).await;
    request_unbind_code(&api).await.unwrap();
    let second = app.latest_code("vic@example.com").await;
    for _ in 0..5 {
        let err = api_error(try_unbind(&api, &wrong(&second), &totp).await);
        assert_eq!(err.code, "invalid_code");
    }
    app.advance(61).await;
    request_unbind_code(&api).await.unwrap();
    let third = app.latest_code("vic@example.com").await;
    let err = api_error(try_unbind(&api, &third, &app.next_totp(&secret).await).await);
    assert_eq!(
        (err.status, err.code.as_str()),
        (429, "rate_limited"),
        "10 wrong codes this hour: {err}"
    );
}

// Rules R5 (PRODUCT.md).
async fn codes_are_bound_to_their_purpose(backend: Backend) {
    let app = spawn_app(backend).await;
    let (token, secret) = app.user_with_totp("wes@example.com").await;
    let api = app.client_as(&token);
    api.send_code(Channel::Email, CodePurpose::Withdrawal)
        .await
        .unwrap();
    let withdrawal_code = app.latest_code("wes@example.com").await;
    refused(
        try_unbind(&api, &withdrawal_code, &app.next_totp(&secret).await).await,
        400,
        "invalid_code",
    );
    let me = api.me().await.unwrap();
    assert_eq!(
        me.factors,
        [Factor::Email, Factor::Totp],
        "nothing was unbound"
    );
}

// Rules R5 (PRODUCT.md).
async fn parallel_wrong_guesses_evaluate_at_most_five(backend: Backend) {
    let app = spawn_app(backend).await;
    let api = user(&app, "xia@example.com").await;
    api.phone_begin(PHONE).await.unwrap();
    let code = app.latest_code(PHONE).await;
    let guess = wrong(&code);
    let guesses = (0..100).map(|_| api.phone_confirm(&guess));
    let responses = futures::future::join_all(guesses).await;
    let codes: Vec<String> = responses.into_iter().map(|r| api_error(r).code).collect();
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
    refused(api.phone_confirm(&code).await, 400, "code_exhausted");
}

// Rules R5 (PRODUCT.md).
async fn authenticator_binding_login_and_replay(backend: Backend) {
    let app = spawn_app(backend).await;
    let email = "yan@example.com";
    let api = user(&app, email).await;
    let setup = api.totp_begin().await.unwrap();
    let secret = setup.secret.clone();
    let uri = &setup.otpauth_uri;
    assert!(uri.starts_with("otpauth://totp/offboard:") && uri.contains(&secret));
    // Not active until confirmed: login still needs no code.
    app.login(email).await;
    let err = refused(api.totp_confirm("000000").await, 400, "invalid_code");
    assert_eq!(err.help.as_deref(), Some("/help/authenticator-errors"));
    let first = app.next_totp(&secret).await;
    api.totp_confirm(&first).await.unwrap();
    let me = api.me().await.unwrap();
    assert_eq!(me.factors, [Factor::Email, Factor::Totp]);
    // A second setup is refused while one is bound.
    assert_eq!(api.totp_begin().await.unwrap_err().status(), Some(409));

    let anonymous = app.client();
    refused(anonymous.login(email, PASSWORD).await, 401, "totp_required");
    let login = |code: String| {
        let anonymous = anonymous.clone();
        async move { anonymous.login_with_totp(email, PASSWORD, &code).await }
    };
    // The step used to confirm is never accepted again (replay).
    refused(login(first.clone()).await, 400, "invalid_code");
    let next = app.next_totp(&secret).await;
    login(next.clone()).await.unwrap();
    let err = api_error(login(next).await);
    assert_eq!(err.status, 400, "the same step twice is a replay");
}

// Rules R5 (PRODUCT.md): one 30-second step of skew either way, judged by the real time.
async fn authenticator_accepts_one_step_of_skew(backend: Backend) {
    let app = spawn_app(backend).await;
    let email = "zed@example.com";
    let api = user(&app, email).await;
    let secret = api.totp_begin().await.unwrap().secret;
    // Steer clear of a step boundary between computing a code and the server judging it.
    let into_step = app.state.authenticator_now().unix_timestamp() % 30;
    if into_step > 27 {
        tokio::time::sleep(std::time::Duration::from_secs((31 - into_step) as u64)).await;
    }
    let err = api_error(api.totp_confirm(&app.totp_now(&secret, -2)).await);
    assert_eq!(err.status, 400, "two steps behind is too old");
    api.totp_confirm(&app.totp_now(&secret, -1))
        .await
        .expect("one step behind is fine");
    let anonymous = app.client();
    let login = |code: String| {
        let anonymous = anonymous.clone();
        async move { anonymous.login_with_totp(email, PASSWORD, &code).await }
    };
    let err = api_error(login(app.totp_now(&secret, 2)).await);
    assert_eq!(err.status, 400, "two steps ahead is too far");
    login(app.totp_now(&secret, 1))
        .await
        .expect("one step ahead is fine");
}

// Rules R5 (PRODUCT.md), issue 15: the dev clock moves expiries, never the time an
// authenticator app's codes are judged by (the phone does not know the dev clock).
async fn moving_the_dev_clock_keeps_real_authenticator_codes(backend: Backend) {
    let app = spawn_app(backend).await;
    let email = "ora@example.com";
    let (_, secret) = app.user_with_totp(email).await;
    app.advance(1000).await;
    let real_step =
        offboard_core::totp::step_of(offboard_core::Clock::now(&offboard_core::SystemClock));
    let phone_code = offboard_core::totp::code_at_step(&secret, real_step + 1).unwrap();
    let moved_code =
        offboard_core::totp::code_at_step(&secret, offboard_core::totp::step_of(app.state.now()))
            .unwrap();
    let anonymous = app.client();
    let err = api_error(
        anonymous
            .login_with_totp(email, PASSWORD, &moved_code)
            .await,
    );
    assert_eq!(
        err.status, 400,
        "a code of the moved clock's time is not the phone's"
    );
    anonymous
        .login_with_totp(email, PASSWORD, &phone_code)
        .await
        .expect("the phone's code still works");
}

// Rules R5 (PRODUCT.md).
async fn unbinding_needs_every_bound_factor(backend: Backend) {
    let app = spawn_app(backend).await;
    let (token, secret) = app.user_with_totp("amy@example.com").await;
    let api = app.client_as(&token);
    api.phone_begin(PHONE).await.unwrap();
    let sms = app.latest_code(PHONE).await;
    api.phone_confirm(&sms).await.unwrap();

    app.advance(61).await;
    request_unbind_code(&api).await.unwrap();
    let email = app.latest_code("amy@example.com").await;
    // Missing SMS code: refused, naming the field.
    let err = refused(
        try_unbind(&api, &email, &app.next_totp(&secret).await).await,
        422,
        "validation_error",
    );
    assert_eq!(err.detail_str("field"), Some("sms_code"));
    api.send_code(Channel::Sms, CodePurpose::Unbind)
        .await
        .unwrap();
    let sms = app.latest_code(PHONE).await;
    // A wrong authenticator code fails the lot and consumes nothing.
    let codes = |totp: String| FactorCodes {
        email_code: Some(email.clone()),
        sms_code: Some(sms.clone()),
        totp_code: Some(totp),
    };
    let err = api_error(api.totp_remove(&codes("000000".to_owned())).await);
    assert_eq!((err.status, err.detail_str("factor")), (400, Some("totp")));
    api.totp_remove(&codes(app.next_totp(&secret).await))
        .await
        .unwrap();
    let me = api.me().await.unwrap();
    assert_eq!(me.factors, [Factor::Email, Factor::Sms]);
}

// Rules R5 (PRODUCT.md). Raw HTTP: values outside the vocabularies cannot be typed.
async fn code_requests_are_validated(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app
        .user("ben@example.com")
        .await
        .api
        .session()
        .unwrap()
        .to_owned();
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
    let signed_out = app
        .client()
        .send_code(Channel::Email, CodePurpose::Unbind)
        .await;
    assert_eq!(signed_out.unwrap_err().status(), Some(401));
}

// Rules R5 (PRODUCT.md).
async fn audit_records_sends_and_failures_without_codes(backend: Backend) {
    let app = spawn_app(backend).await;
    let api = user(&app, "cai@example.com").await;
    api.phone_begin(PHONE).await.unwrap();
    let code = app.latest_code(PHONE).await;
    api.phone_confirm(&wrong(&code)).await.unwrap_err();
    let me = api.me().await.unwrap();
    let id = me.account_id.parse().unwrap();
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
