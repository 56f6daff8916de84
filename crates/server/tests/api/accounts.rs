//! API.md "Accounts": signup, login, logout, me, with every bad input. Behaviour through
//! the typed client; malformed and huge bodies, byte- and header-equal failures and the
//! throttle's `Retry-After` stay on raw HTTP.

use crate::both_backends;
use crate::helpers::{
    comparable, error_code, refused, spawn_app, spawn_app_with, wrong_password_burst_refused,
    PASSWORD,
};
use offboard_client::{Client, Factor, IdentityStatus};
use offboard_store::Backend;
use serde_json::{json, Value};

both_backends!(
    a_right_password_waiting_for_its_code_is_no_throttle_failure,
    signup_login_me_logout,
    email_is_normalised_and_unique,
    password_rules_name_the_rule,
    malformed_bodies_name_the_field,
    huge_bodies_are_refused,
    login_failures_are_indistinguishable,
    throttled_login_answers_like_a_failure_with_retry_after,
    parallel_wrong_passwords_cannot_skip_the_throttle,
    hourly_ceiling_per_account_across_addresses,
    owner_at_another_address_is_not_locked_out,
    sessions_expire_when_idle_and_absolutely,
    every_login_gets_a_new_session_and_logout_revokes_only_it,
    unknown_and_malformed_tokens_are_rejected,
    password_change_revokes_every_session,
);

async fn signup_login_me_logout(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.signup("alice@example.com").await;
    let token = app.login("alice@example.com").await;
    assert_eq!(token.len(), 43, "256-bit token, URL-safe base64");

    let api = app.client_as(&token);
    let me = api.me().await.unwrap();
    assert_eq!(me.account_id, id);
    assert_eq!(me.email, "alice@example.com");
    assert_eq!(me.phone, None);
    assert_eq!(me.factors, [Factor::Email]);
    assert_eq!(me.identity.status, IdentityStatus::None);

    api.logout().await.unwrap();
    refused(api.me().await, 401, "unauthorized");
    // Logging out again with the dead token is refused too.
    assert_eq!(api.logout().await.unwrap_err().status(), Some(401));
}

async fn email_is_normalised_and_unique(backend: Backend) {
    let app = spawn_app(backend).await;
    app.signup("  Bob.Smith@Example.COM ").await;
    let token = app.login("bob.smith@example.com").await;
    let me = app.client_as(&token).me().await.unwrap();
    assert_eq!(me.email, "bob.smith@example.com");
    app.login("BOB.SMITH@EXAMPLE.COM").await;

    let anonymous = app.client();
    refused(
        anonymous.signup("BOB.smith@example.com", PASSWORD).await,
        409,
        "conflict",
    );
    let err = refused(
        anonymous.signup("not-an-email", PASSWORD).await,
        422,
        "validation_error",
    );
    assert_eq!(err.detail_str("field"), Some("email"));
}

async fn password_rules_name_the_rule(backend: Backend) {
    let app = spawn_app(backend).await;
    let anonymous = app.client();
    let cases = [
        ("short pw", "at least 10"),
        (&*"ab".repeat(129), "at most 256"),
        ("zzzzzzzzzzzz", "one character repeated"),
    ];
    for (password, rule) in cases {
        let res = anonymous.signup("c@example.com", password).await;
        let err = refused(res, 422, "validation_error");
        assert_eq!(err.detail_str("field"), Some("password"));
        assert!(
            err.message.contains(rule),
            "{:?} should name the rule {rule:?}",
            err.message
        );
    }
    // Exactly 10 and exactly 256 characters are fine.
    anonymous
        .signup("ten@example.com", "abcdefghij")
        .await
        .unwrap();
    anonymous
        .signup("max@example.com", &"ab".repeat(128))
        .await
        .unwrap();
}

// Raw HTTP: bodies the typed client cannot send.
async fn malformed_bodies_name_the_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let cases: [(&str, &str); 4] = [
        (r#"{"email": "d@example.com"}"#, "password"),
        (r#"{"password": "correct horse battery"}"#, "email"),
        (
            r#"{"email": 42, "password": "correct horse battery"}"#,
            "email",
        ),
        (
            r#"{"email": "d@example.com", "password": ["x"]}"#,
            "password",
        ),
    ];
    for (body, field) in cases {
        let res = app
            .api
            .post(app.url("/api/v1/signup"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let (status, json) = error_code(res).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(json["error"]["code"], "validation_error");
        assert_eq!(json["error"]["field"], field, "{body} → {json}");
        assert!(json["error"]["message"].as_str().unwrap().contains(field));
    }
    // Not JSON at all, and JSON without the content type.
    let res = app
        .api
        .post(app.url("/api/v1/login"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    let (status, json) = error_code(res).await;
    assert_eq!(
        (status, json["error"]["code"].as_str()),
        (422, Some("validation_error"))
    );
    let res = app
        .api
        .post(app.url("/api/v1/login"))
        .body(r#"{"email":"a@b.co","password":"x"}"#)
        .send()
        .await
        .unwrap();
    let (status, json) = error_code(res).await;
    assert_eq!(
        (status, json["error"]["code"].as_str()),
        (422, Some("validation_error"))
    );
}

async fn huge_bodies_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let big = format!(
        r#"{{"email": "e@example.com", "password": "{}"}}"#,
        "x".repeat(1024 * 1024 + 10)
    );
    let res = app
        .api
        .post(app.url("/api/v1/signup"))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    let (status, json) = error_code(res).await;
    assert_eq!(
        (status, json["error"]["code"].as_str()),
        (413, Some("payload_too_large"))
    );
}

// R8: a login never tells whether an account exists (also throttled ones).
async fn login_failures_are_indistinguishable(backend: Backend) {
    let app = spawn_app(backend).await;
    app.signup("frank@example.com").await;
    let before = app.state.hashing.verifications();
    let wrong = app
        .post_json(
            "/api/v1/login",
            json!({"email": "frank@example.com", "password": "wrong password!"}),
        )
        .await;
    let after_wrong = app.state.hashing.verifications();
    let unknown = app
        .post_json(
            "/api/v1/login",
            json!({"email": "nobody@example.com", "password": "wrong password!"}),
        )
        .await;
    let after_unknown = app.state.hashing.verifications();
    // Both paths run one argon2id verification (the unknown one against a dummy hash),
    // which is what makes their timing the same.
    assert_eq!(after_wrong - before, 1);
    assert_eq!(after_unknown - after_wrong, 1);
    assert_eq!(wrong.status(), unknown.status());
    assert_eq!(wrong.status(), 401);
    assert_eq!(comparable(wrong.headers()), comparable(unknown.headers()));
    let (a, b) = (wrong.text().await.unwrap(), unknown.text().await.unwrap());
    assert_eq!(a, b, "identical bodies");
    assert!(a.contains("\"unauthorized\""));
}

// R8: a login never tells whether an account exists (also throttled ones).
async fn throttled_login_answers_like_a_failure_with_retry_after(backend: Backend) {
    let app = spawn_app(backend).await;
    app.signup("gina@example.com").await;
    let attempt = |email: &'static str, password: &'static str| {
        let app = &app;
        async move {
            app.post_json(
                "/api/v1/login",
                json!({"email": email, "password": password}),
            )
            .await
        }
    };
    for _ in 0..5 {
        let res = attempt("gina@example.com", "wrong password!").await;
        assert_eq!(res.status(), 401);
        assert!(
            res.headers().get("retry-after").is_none(),
            "the first five failures are free"
        );
    }
    // Sixth: throttled, even with the right password, and said the same way.
    let res = attempt("gina@example.com", PASSWORD).await;
    assert_eq!(res.status(), 401);
    let wait: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1..=2).contains(&wait),
        "one second of delay, rounded up: {wait}"
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthorized");
    // Unknown emails are throttled identically (no enumeration through throttling).
    for _ in 0..5 {
        attempt("ghost@example.com", "wrong password!").await;
    }
    let res = attempt("ghost@example.com", "wrong password!").await;
    assert!(
        res.headers().contains_key("retry-after"),
        "unknown emails are throttled alike"
    );
    // After the delay the right password works.
    app.advance(3).await;
    let res = attempt("gina@example.com", PASSWORD).await;
    assert_eq!(res.status(), 200);
}

async fn parallel_wrong_passwords_cannot_skip_the_throttle(backend: Backend) {
    let app = spawn_app(backend).await;
    app.signup("hank@example.com").await;
    let before = app.state.hashing.verifications();
    let requests = (0..30).map(|_| {
        app.post_json(
            "/api/v1/login",
            json!({"email": "hank@example.com", "password": "wrong password!"}),
        )
    });
    let responses = futures::future::join_all(requests).await;
    let throttled = wrong_password_burst_refused(&responses);
    let evaluated = app.state.hashing.verifications() - before;
    assert_eq!(evaluated, 5, "exactly the five free attempts were checked");
    assert_eq!(throttled, 25);
}

async fn hourly_ceiling_per_account_across_addresses(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.trust_forwarded_for = true).await;
    app.signup("ivy@example.com").await;
    let from = |addr: String, password: &'static str| {
        let app = &app;
        async move {
            app.api
                .post(app.url("/api/v1/login"))
                .header("x-forwarded-for", addr)
                .json(&json!({"email": "ivy@example.com", "password": password}))
                .send()
                .await
                .unwrap()
        }
    };
    // 100 failures from 25 addresses, 4 each: every pair stays inside its free budget.
    for i in 0..100 {
        let res = from(format!("10.0.{}.1", i / 4), "wrong password!").await;
        assert!(
            res.headers().get("retry-after").is_none(),
            "attempt {i} should have been evaluated"
        );
    }
    // The 101st, from a fresh address and with the right password, waits for the hour.
    let res = from("10.9.9.9".into(), PASSWORD).await;
    assert_eq!(res.status(), 401);
    let wait: i64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((3500..=3600).contains(&wait), "{wait}");
    app.advance(3601).await;
    assert_eq!(from("10.9.9.9".into(), PASSWORD).await.status(), 200);
}

async fn owner_at_another_address_is_not_locked_out(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.trust_forwarded_for = true).await;
    app.signup("jack@example.com").await;
    let from = |addr: &'static str, password: &'static str| {
        let app = &app;
        async move {
            app.api
                .post(app.url("/api/v1/login"))
                .header("x-forwarded-for", addr)
                .json(&json!({"email": "jack@example.com", "password": password}))
                .send()
                .await
                .unwrap()
        }
    };
    for _ in 0..8 {
        from("203.0.113.7", "wrong password!").await;
    }
    assert!(from("203.0.113.7", PASSWORD)
        .await
        .headers()
        .contains_key("retry-after"));
    assert_eq!(
        from("198.51.100.1", PASSWORD).await.status(),
        200,
        "the owner elsewhere logs in"
    );
}

/// The status `GET /api/v1/me` answers with.
async fn me_status(api: &Client) -> u16 {
    match api.me().await {
        Ok(_) => 200,
        Err(e) => e.status().unwrap_or_else(|| panic!("{e}")),
    }
}

async fn sessions_expire_when_idle_and_absolutely(backend: Backend) {
    let app = spawn_app(backend).await;
    app.signup("kim@example.com").await;
    let idle = app.client_as(&app.login("kim@example.com").await);
    let busy = app.client_as(&app.login("kim@example.com").await);
    // Idle: 29 minutes is fine; 30 minutes without a request ends a session.
    app.advance(29 * 60).await;
    assert_eq!(me_status(&idle).await, 200);
    assert_eq!(me_status(&busy).await, 200);
    app.advance(20 * 60).await;
    assert_eq!(me_status(&busy).await, 200);
    app.advance(10 * 60).await;
    assert_eq!(me_status(&idle).await, 401, "30 minutes idle");
    // Absolute: used every 20 minutes, the busy session still ends at 12 hours.
    let mut elapsed = (29 + 20 + 10) * 60;
    while elapsed + 20 * 60 < 12 * 3600 {
        assert_eq!(me_status(&busy).await, 200, "at {elapsed}s");
        app.advance(20 * 60).await;
        elapsed += 20 * 60;
    }
    assert_eq!(me_status(&busy).await, 200, "at {elapsed}s");
    app.advance(12 * 3600 - elapsed).await;
    assert_eq!(me_status(&busy).await, 401);
}

async fn every_login_gets_a_new_session_and_logout_revokes_only_it(backend: Backend) {
    let app = spawn_app(backend).await;
    app.signup("lee@example.com").await;
    let a = app.login("lee@example.com").await;
    let b = app.login("lee@example.com").await;
    assert_ne!(a, b);
    let (a, b) = (app.client_as(&a), app.client_as(&b));
    a.logout().await.unwrap();
    assert_eq!(me_status(&a).await, 401);
    assert_eq!(me_status(&b).await, 200);
}

// Raw HTTP: malformed Authorization headers.
async fn unknown_and_malformed_tokens_are_rejected(backend: Backend) {
    let app = spawn_app(backend).await;
    for token in ["", "nope", &"x".repeat(43), &"y".repeat(5000)] {
        let res = app
            .api
            .get(app.url("/api/v1/me"))
            .header("authorization", format!("Bearer {token}"))
            .send()
            .await
            .unwrap();
        let (status, body) = error_code(res).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (401, Some("unauthorized")),
            "token {token:?}"
        );
    }
    let res = app.api.get(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(res.status(), 401);
}

async fn password_change_revokes_every_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.signup("max@example.com").await;
    let a = app.client_as(&app.login("max@example.com").await);
    let b = app.client_as(&app.login("max@example.com").await);
    let hash = app
        .state
        .hashing
        .hash("another long password")
        .await
        .unwrap();
    let now = app.state.now();
    assert!(app
        .state
        .store
        .set_password(id.parse().unwrap(), &hash, now)
        .await
        .unwrap());
    assert_eq!(me_status(&a).await, 401);
    assert_eq!(me_status(&b).await, 401);
    let anonymous = app.client();
    let login = anonymous.login("max@example.com", "another long password");
    login.await.unwrap();
}

// R3: a right password answered with "now the authenticator code" is no password
// failure: the owner may be asked for the code more often than the free attempts allow
// and still signs in.
async fn a_right_password_waiting_for_its_code_is_no_throttle_failure(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut user = app.user("tess@example.com").await;
    user.bind_authenticator().await.unwrap();
    for i in 0..7 {
        let res = app
            .post_json(
                "/api/v1/login",
                json!({"email": "tess@example.com", "password": PASSWORD}),
            )
            .await;
        assert!(res.headers().get("retry-after").is_none(), "attempt {i}");
        let (status, body) = error_code(res).await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(
            body["error"]["code"], "totp_required",
            "attempt {i}: {body}"
        );
    }
    user.log_in()
        .await
        .expect("signed in with the code after all");
}
