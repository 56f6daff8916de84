//! No timing oracle on the paths that must not reveal an account (issue 13, item 3; R8,
//! R12). With a slow relay (every SMTP reply waits a quarter second, so one message
//! takes over a second), an answer that sent mail inside the request would be a second
//! slower for a known address than for an unknown one. These tests compare medians of
//! alternating requests; the margin is far below one SMTP round trip and far above the
//! noise of a shared machine.

use crate::both_backends;
use crate::deletion::{post, to_identity_with, user, ID};
use crate::helpers::{spawn_app_with, TestApp};
use crate::smtp::SmtpSink;
use offboard_app::config::CaptchaPolicy;
use offboard_store::Backend;
use serde_json::json;
use std::time::{Duration, Instant};

both_backends!(
    r8_password_reset_answers_known_and_unknown_addresses_alike,
    r8_recovery_requests_answer_known_and_unknown_addresses_alike,
    r12_signup_and_the_final_step_do_not_wait_on_the_relay,
);

/// Each SMTP reply waits this long.
const RELAY_DELAY: Duration = Duration::from_millis(250);
/// What an answer may differ by, or take at most, without waiting on the relay.
const MARGIN: Duration = Duration::from_millis(150);

async fn slow_relay_app(backend: Backend) -> (TestApp, SmtpSink) {
    let sink = SmtpSink::start(RELAY_DELAY).await;
    let delivery = sink.delivery(None);
    let app = spawn_app_with(backend, move |c| {
        c.delivery = delivery;
        c.deletion.captcha = CaptchaPolicy::Never;
    })
    .await;
    (app, sink)
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// Medians of `known` and `unknown` requests, sent alternately.
async fn medians<F, Fut>(rounds: usize, send: F) -> (Duration, Duration)
where
    F: Fn(bool) -> Fut,
    Fut: std::future::Future<Output = u16>,
{
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        for is_known in [true, false] {
            let started = Instant::now();
            let status = send(is_known).await;
            let took = started.elapsed();
            assert_eq!(status, 202, "always 202");
            if is_known {
                known.push(took);
            } else {
                unknown.push(took);
            }
        }
    }
    (median(known), median(unknown))
}

// R8: "202 always" for a reset, and in the same time.
async fn r8_password_reset_answers_known_and_unknown_addresses_alike(backend: Backend) {
    let (app, sink) = slow_relay_app(backend).await;
    app.signup("known.reset@example.com").await;
    let (known, unknown) = medians(5, |is_known| {
        let app = &app;
        async move {
            app.advance(61).await; // past the resend cooldown: every known request sends
            let email = if is_known {
                "known.reset@example.com"
            } else {
                "unknown.reset@example.com"
            };
            app.post_json("/api/v1/password-reset", json!({"email": email}))
                .await
                .status()
                .as_u16()
        }
    })
    .await;
    eprintln!("password reset, slow relay: known {known:?}, unknown {unknown:?} (medians)");
    assert!(
        known.abs_diff(unknown) < MARGIN,
        "known {known:?} vs unknown {unknown:?}: the answer waits on the relay"
    );
    // The codes were sent all the same, after the answers.
    sink.code("known.reset@example.com", 5).await;
}

// R8: recovery requests answer alike too (the request is recorded either way).
async fn r8_recovery_requests_answer_known_and_unknown_addresses_alike(backend: Backend) {
    let (app, _sink) = slow_relay_app(backend).await;
    app.signup("known.recovery@example.com").await;
    let (known, unknown) = medians(3, |is_known| {
        let app = &app;
        async move {
            let email = if is_known {
                "known.recovery@example.com"
            } else {
                "unknown.recovery@example.com"
            };
            let body = json!({"email": email, "message": "I lost my phone", "id_number": "AB123"});
            app.post_json("/api/v1/recovery", body)
                .await
                .status()
                .as_u16()
        }
    })
    .await;
    assert!(
        known.abs_diff(unknown) < MARGIN,
        "known {known:?} vs unknown {unknown:?}"
    );
}

// R12: the welcome message and the deletion notice leave after the answer.
async fn r12_signup_and_the_final_step_do_not_wait_on_the_relay(backend: Backend) {
    let (app, sink) = slow_relay_app(backend).await;
    // One message through this relay takes over a second.
    let one_message = RELAY_DELAY * 4;
    let started = Instant::now();
    let (_, token) = user(&app, "notice.timing@example.com").await;
    let signup_and_login = started.elapsed();
    assert!(
        signup_and_login < one_message,
        "sign-up waited on the welcome email: {signup_and_login:?}"
    );
    let flow = to_identity_with(&app, &token, || sink.code("notice.timing@example.com", 1)).await;
    let started = Instant::now();
    let res = post(&app, &token, &flow, "identity", json!({"id_number": ID})).await;
    let final_step = started.elapsed();
    assert_eq!(res.status(), 200);
    assert!(
        final_step < one_message,
        "the final step waited on the deletion notice: {final_step:?}"
    );
    // The notice arrives all the same.
    for _ in 0..200 {
        if sink
            .mails_to("notice.timing@example.com")
            .iter()
            .any(|m| m.data.contains("deleted"))
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the deletion notice never reached the relay");
}
