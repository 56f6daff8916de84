//! Contact support (issue 15): the signed-in form the help pages link to, the JSON API,
//! the limit of three open requests (holding under a parallel burst), the text rules
//! (refused on the field, never a 5xx: R15), CSRF, and the console's queue that answers
//! by email with the agent in the audit log (R11, R14). The erasure of the requests is
//! in `storage.rs` (R7, R20). The JSON API through the typed client; the pages, and the
//! API's refusals of control characters and unknown topics, on raw HTTP.

use crate::both_backends;
use crate::console::console_browser;
use crate::deletion_pages::{page, signed_in};
use crate::helpers::{api_error, error_code, extract_csrf, refused, TestApp};
use crate::support::{add_agent, agent_login, app};
use offboard_client::{Client, ClientError, SupportRequest, SupportRequestStatus, SupportTopic};
use offboard_store::{AgentRole, Backend};
use serde_json::json;

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
    let me = app.client_as(token).me().await.unwrap();
    me.account_id.parse().unwrap()
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

async fn open_by_api(api: &Client, message: &str) -> Result<SupportRequest, ClientError> {
    api.open_support_request(SupportTopic::Other, message).await
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
    let api = app.client_as(&token);
    let created = open_by_api(&api, "  Something else\twith a tab  ")
        .await
        .unwrap();
    assert_eq!(created.topic, SupportTopic::Other);
    assert_eq!(created.status, SupportRequestStatus::Open);
    assert_eq!(created.message, "Something else\twith a tab");
    let mine = api.support_requests().await.unwrap();
    assert_eq!(mine.len(), 2);
    assert_eq!(mine[0].id, created.id, "newest first");
    assert_eq!(mine[1].topic, SupportTopic::DocumentChanged);
    let anonymous = app.client().support_requests().await;
    assert_eq!(anonymous.unwrap_err().status(), Some(401), "signed in only");

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
    let api = app.client_as(&token);
    for i in 0..3 {
        open_by_api(&api, &format!("n{i}")).await.unwrap();
    }
    let err = refused(
        open_by_api(&api, "a fourth").await,
        409,
        "too_many_open_requests",
    );
    assert_eq!(err.detail_u64("limit"), Some(3));
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
    let mine = api.support_requests().await.unwrap();
    assert_eq!(mine.len(), 3, "nothing else was stored");
}

// R14 (and the limit's atomicity): eight requests at once open exactly three.
async fn r14_a_parallel_burst_of_eight_opens_exactly_three(backend: Backend) {
    let app = app(backend).await;
    let email = "contact.burst@example.com";
    app.signup(email).await;
    let token = app.login(email).await;
    let api = app.client_as(&token);
    let burst = (0..8).map(|i| {
        let api = &api;
        async move {
            match open_by_api(api, &format!("burst {i}")).await {
                Ok(_) => 201,
                Err(e) => e.status().unwrap_or_else(|| panic!("{e}")),
            }
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
    let mine = app.client_as(&token).support_requests().await.unwrap();
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
    let api = app.client_as(&token);
    let message = "<script>alert(1)</script> locked";
    let opened = api.open_support_request(SupportTopic::IdentityLocked, message);
    let id = opened.await.unwrap().id;
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

    let outbox = app.client().dev_outbox(Some(email)).await.unwrap();
    let mail = outbox
        .iter()
        .find(|m| m.subject == "Support answered your request")
        .unwrap_or_else(|| panic!("the answer was emailed: {outbox:?}"));
    let body = mail.body.as_str();
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
    let mine = api.support_requests().await.unwrap();
    assert_eq!(mine[0].status, SupportRequestStatus::Answered);
    assert_eq!(
        mine[0].answer.as_deref(),
        Some("We unlocked your identity step.")
    );

    // The Support API: the same queue, and an answer only once.
    let as_agent = app.client_as(&agent_login(&app, &agent).await);
    assert!(as_agent
        .support_contact_requests()
        .await
        .unwrap()
        .is_empty());
    let again = as_agent.support_answer_contact_request(&id, "again").await;
    assert_eq!(api_error(again).status, 409);
    let unknown = as_agent.support_answer_contact_request("nope", "x").await;
    assert_eq!(api_error(unknown).status, 404);
    assert_eq!(
        api.support_contact_requests().await.unwrap_err().status(),
        Some(401),
        "a user token is not an agent token"
    );
    open_by_api(&api, "a second question").await.unwrap();
    let queue = as_agent.support_contact_requests().await.unwrap();
    assert_eq!(queue.len(), 1);
    assert_eq!(queue[0].account_id, account.to_string());
    assert_eq!(queue[0].message, "a second question");
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
