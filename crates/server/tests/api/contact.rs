//! Contact support (issue 15): the signed-in form the help pages link to, the JSON API,
//! the limit of three open requests (holding under a parallel burst), the text rules
//! (refused on the field, never a 5xx: R15), CSRF, and the console's queue that answers
//! by email with the agent in the audit log (R11, R14). The erasure of the requests is
//! in `storage.rs` (R7, R20).

use crate::both_backends;
use crate::console::console_browser;
use crate::deletion_pages::{page, signed_in};
use crate::helpers::{error_code, extract_csrf, TestApp};
use crate::support::{add_agent, agent_login, app};
use offboard_store::{AgentRole, Backend};
use serde_json::{json, Value};

both_backends!(
    r14_a_request_opens_by_page_and_by_api_with_its_audit_line,
    r14_a_fourth_open_request_is_refused_clearly,
    r14_a_parallel_burst_of_eight_opens_exactly_three,
    r15_refused_text_marks_the_field_and_keeps_the_rest,
    r11_the_console_shows_requests_and_answers_by_email,
    r15_help_pages_that_say_contact_support_link_the_form,
);

const API: &str = "/api/v1/support-requests";

async fn account_of(app: &TestApp, token: &str) -> offboard_core::AccountId {
    let me: Value = app.get_as(token, "/api/v1/me").await.json().await.unwrap();
    me["account_id"].as_str().unwrap().parse().unwrap()
}

/// Posts the contact form with the page's CSRF token.
async fn post_form(
    app: &TestApp,
    browser: &reqwest::Client,
    topic: &str,
    message: &str,
) -> reqwest::Response {
    let html = page(app, browser, "/support/contact").await;
    let csrf = extract_csrf(&html).unwrap();
    browser
        .post(app.url("/support/contact"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("topic", topic),
            ("message", message),
        ])
        .send()
        .await
        .unwrap()
}

async fn open_by_api(app: &TestApp, token: &str, message: &str) -> reqwest::Response {
    app.post_json_as(token, API, json!({"topic": "other", "message": message}))
        .await
}

async fn opened_lines(app: &TestApp, account: offboard_core::AccountId) -> Vec<Option<String>> {
    app.state
        .store
        .audit_of_account(account)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "support_request_opened")
        .map(|e| e.detail)
        .collect()
}

// R14: both front ends open a request; each has its audit line, which names the topic
// and never the message.
async fn r14_a_request_opens_by_page_and_by_api_with_its_audit_line(backend: Backend) {
    let app = app(backend).await;
    let email = "contact.page@example.com";
    let browser = signed_in(&app, email).await;
    let html = page(&app, &browser, "/support/contact?topic=document_changed").await;
    assert!(
        html.contains(r#"<option value="document_changed" selected>"#),
        "the topic from the link is chosen: {html}"
    );
    assert!(html.contains("You have not sent any requests yet."));
    let res = post_form(
        &app,
        &browser,
        "document_changed",
        "My passport\r\nwas renewed.",
    )
    .await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        res.headers()["location"],
        "/support/contact?notice=sent#your-requests"
    );
    let html = page(&app, &browser, "/support/contact?notice=sent").await;
    assert!(html.contains("Your requests"));
    assert!(html.contains("Your request is with our support team."));
    assert!(html.contains("My passport\nwas renewed."), "{html}");
    assert!(html.contains("Waiting for support"));

    let token = app.login(email).await;
    let res = open_by_api(&app, &token, "  Something else\twith a tab  ").await;
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["topic"], "other");
    assert_eq!(created["status"], "open");
    assert_eq!(created["message"], "Something else\twith a tab");
    let mine: Vec<Value> = app.get_as(&token, API).await.json().await.unwrap();
    assert_eq!(mine.len(), 2);
    assert_eq!(mine[0]["id"], created["id"], "newest first");
    assert_eq!(mine[1]["topic"], "document_changed");
    let anonymous = app.api.get(app.url(API)).send().await.unwrap();
    assert_eq!(anonymous.status(), 401, "signed in only");

    let lines = opened_lines(&app, account_of(&app, &token).await).await;
    assert_eq!(lines.len(), 2);
    for detail in lines {
        let detail = detail.unwrap();
        assert!(detail.contains("topic="), "{detail}");
        assert!(
            !detail.contains("passport") && !detail.contains("tab"),
            "{detail}"
        );
    }
}

// R14: three requests may wait; the fourth is refused by the API (409) and by the page
// (the form again with the reason), never a 5xx. CSRF: a form without its token is
// refused and stores nothing.
async fn r14_a_fourth_open_request_is_refused_clearly(backend: Backend) {
    let app = app(backend).await;
    let email = "contact.limit@example.com";
    let browser = signed_in(&app, email).await;
    let token = app.login(email).await;
    let res = browser
        .post(app.url("/support/contact"))
        .form(&[("topic", "other"), ("message", "no token")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "CSRF: the form needs its token");
    for i in 0..3 {
        assert_eq!(
            open_by_api(&app, &token, &format!("n{i}")).await.status(),
            201
        );
    }
    let (status, body) = error_code(open_by_api(&app, &token, "a fourth").await).await;
    assert_eq!(status, 409);
    assert_eq!(body["error"]["code"], "too_many_open_requests");
    assert_eq!(body["error"]["limit"], 3);
    let res = post_form(&app, &browser, "other", "a fourth by the page").await;
    assert_eq!(res.status(), 409);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("You already have 3 requests waiting for support."),
        "{html}"
    );
    assert!(
        html.contains("a fourth by the page"),
        "the typed text is kept"
    );
    assert!(html.contains("the most that can wait at once"));
    let mine: Vec<Value> = app.get_as(&token, API).await.json().await.unwrap();
    assert_eq!(mine.len(), 3, "nothing else was stored");
}

// R14 (and the limit's atomicity): eight requests at once open exactly three.
async fn r14_a_parallel_burst_of_eight_opens_exactly_three(backend: Backend) {
    let app = app(backend).await;
    let email = "contact.burst@example.com";
    app.signup(email).await;
    let token = app.login(email).await;
    let burst = (0..8).map(|i| {
        let (app, token) = (&app, &token);
        async move {
            open_by_api(app, token, &format!("burst {i}"))
                .await
                .status()
                .as_u16()
        }
    });
    let mut statuses = futures::future::join_all(burst).await;
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 201, 201, 409, 409, 409, 409, 409]);
    let account = account_of(&app, &token).await;
    assert_eq!(
        app.state
            .store
            .support_requests_of(account)
            .await
            .unwrap()
            .len(),
        3
    );
    assert_eq!(opened_lines(&app, account).await.len(), 3);
}

fn marked(html: &str, field: &str) -> bool {
    html.contains(&format!(
        r#"aria-describedby="contact-{field}-hint contact-{field}-error" aria-invalid="true""#
    )) && html.contains(&format!(
        r#"<p class="field-error" id="contact-{field}-error">"#
    ))
}

// R15: a message that is empty, too long or holds NUL or another control character, or
// an unknown topic, is refused on its field with the rest kept; never a 5xx.
async fn r15_refused_text_marks_the_field_and_keeps_the_rest(backend: Backend) {
    let app = app(backend).await;
    let email = "contact.text@example.com";
    let browser = signed_in(&app, email).await;
    let long = "x".repeat(2001);
    for (message, shown) in [
        ("nul\u{0}here", "nulhere"),
        ("bell\u{7}ring", "bellring"),
        ("esc\u{1b}[31m", "esc[31m"),
        ("   \r\n  ", ""),
        (long.as_str(), long.as_str()),
    ] {
        let res = post_form(&app, &browser, "identity_locked", message).await;
        assert_eq!(res.status(), 422, "{message:?}");
        let html = res.text().await.unwrap();
        assert!(marked(&html, "message"), "{message:?}: {html}");
        assert!(html.contains(shown), "{message:?}: the typed text is kept");
        assert!(
            html.contains(r#"<option value="identity_locked" selected>"#),
            "the topic is kept"
        );
    }
    let res = post_form(&app, &browser, "billing", "a fine message").await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(html.contains(r#"aria-invalid="true" aria-describedby="contact-topic-error""#));
    assert!(html.contains("Choose what your request is about from the list."));
    assert!(html.contains("a fine message"));

    let token = app.login(email).await;
    for body in [
        json!({"topic": "other", "message": "nul\u{0}here"}),
        json!({"topic": "other", "message": "bell\u{7}"}),
        json!({"topic": "other", "message": " "}),
        json!({"topic": "other", "message": long}),
        json!({"topic": "billing", "message": "fine"}),
        json!({"topic": "other"}),
    ] {
        let (status, err) = error_code(app.post_json_as(&token, API, body.clone()).await).await;
        assert_eq!(status, 422, "{body}: {err}");
        assert_eq!(err["error"]["code"], "validation_error", "{body}");
        assert!(
            err["error"]["field"].is_string(),
            "{body}: the field is named"
        );
    }
    let mine: Vec<Value> = app.get_as(&token, API).await.json().await.unwrap();
    assert!(mine.is_empty(), "nothing refused was stored");
}

// R11, R14: the console lists the open request (escaped), answers it by email, marks it
// answered and writes the audit line with the agent as actor; the Support API sees the
// same queue and refuses a second answer.
async fn r11_the_console_shows_requests_and_answers_by_email(backend: Backend) {
    let app = app(backend).await;
    let email = "contact.answer@example.com";
    app.signup(email).await;
    let token = app.login(email).await;
    let account = account_of(&app, &token).await;
    let res = app
        .post_json_as(
            &token,
            API,
            json!({"topic": "identity_locked", "message": "<script>alert(1)</script> locked"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let agent = add_agent(&app, "contact.agent@support.example.com", AgentRole::Agent).await;
    let (browser, _) = console_browser(&app, &agent).await;
    let html = page(&app, &browser, "/support/contact-requests").await;
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt; locked"),
        "{html}"
    );
    assert!(!html.contains("<script>alert(1)"), "the message is escaped");
    assert!(html.contains("My identity step is locked"));
    assert!(html.contains(&account.to_string()));
    let csrf = extract_csrf(&html).unwrap();
    let answer_path = format!("/support/contact-requests/{id}/answer");

    // A refused answer marks its field and keeps the draft.
    let res = browser
        .post(app.url(&answer_path))
        .form(&[("csrf_token", csrf.as_str()), ("answer", "draft\u{0}text")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(html.contains(&format!(
        r#"<p class="field-error" id="answer-error-{id}">"#
    )));
    assert!(html.contains("drafttext"));

    let res = browser
        .post(app.url(&answer_path))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("answer", "We unlocked your identity step."),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(
        res.headers()["location"],
        "/support/contact-requests?notice=answered"
    );
    let html = page(&app, &browser, "/support/contact-requests?notice=answered").await;
    assert!(html.contains("Answer sent."));
    assert!(html.contains("No open requests."));

    let outbox: Vec<Value> = app
        .api
        .get(app.url(&format!(
            "/api/v1/dev/outbox?to={}",
            crate::helpers::urlencode(email)
        )))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mail = outbox
        .iter()
        .find(|m| m["subject"] == "Support answered your request")
        .unwrap_or_else(|| panic!("the answer was emailed: {outbox:?}"));
    let body = mail["body"].as_str().unwrap();
    assert!(body.contains("We unlocked your identity step."), "{body}");
    assert!(
        !body.contains("<script>"),
        "the person's message is not repeated"
    );

    let answered: Vec<_> = app
        .state
        .store
        .audit_of_account(account)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "support_request_answered")
        .collect();
    assert_eq!(answered.len(), 1);
    assert_eq!(answered[0].actor, format!("agent:agent-{}", agent.email));
    let mine: Vec<Value> = app.get_as(&token, API).await.json().await.unwrap();
    assert_eq!(mine[0]["status"], "answered");
    assert_eq!(mine[0]["answer"], "We unlocked your identity step.");

    // The Support API: the same queue, and an answer only once.
    let agent_token = agent_login(&app, &agent).await;
    let queue: Vec<Value> = app
        .get_as(&agent_token, "/api/v1/support/contact-requests")
        .await
        .json()
        .await
        .unwrap();
    assert!(queue.is_empty());
    let again = format!("/api/v1/support/contact-requests/{id}/answer");
    let (status, _) = error_code(
        app.post_json_as(&agent_token, &again, json!({"answer": "again"}))
            .await,
    )
    .await;
    assert_eq!(status, 409);
    let (status, _) = error_code(
        app.post_json_as(
            &agent_token,
            "/api/v1/support/contact-requests/nope/answer",
            json!({"answer": "x"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(
        app.get_as(&token, "/api/v1/support/contact-requests")
            .await
            .status(),
        401,
        "a user token is not an agent token"
    );
    let res = open_by_api(&app, &token, "a second question").await;
    assert_eq!(res.status(), 201);
    let queue: Vec<Value> = app
        .get_as(&agent_token, "/api/v1/support/contact-requests")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(queue.len(), 1);
    assert_eq!(queue[0]["account_id"], account.to_string());
    assert_eq!(queue[0]["message"], "a second question");
}

// R15: the help pages that send people to support link the form with the topic chosen.
async fn r15_help_pages_that_say_contact_support_link_the_form(backend: Backend) {
    let app = app(backend).await;
    for (slug, topic) in [
        ("document-changed", "document_changed"),
        ("identity-check-failed", "identity_locked"),
        ("assets-remaining", "other"),
    ] {
        let html = app
            .api
            .get(app.url(&format!("/help/{slug}")))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            html.contains(&format!(r#"href="/support/contact?topic={topic}""#)),
            "{slug}"
        );
    }
    let browser = signed_in(&app, "contact.menu@example.com").await;
    let html = page(&app, &browser, "/assets").await;
    assert!(
        html.contains(r#"href="/support/contact""#),
        "the menu links the form"
    );
}
