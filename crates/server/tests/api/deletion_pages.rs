//! The deletion journey as a browser walks it: Security → Delete → each step's form.

use crate::both_backends;
use crate::helpers::{client, extract_csrf, spawn_app_with, TestApp, PASSWORD};
use offboard_app::config::CaptchaPolicy;
use offboard_store::Backend;
use serde_json::json;

both_backends!(
    journey_by_forms_ends_on_the_deleted_page,
    notes_page_explains_the_captcha_without_javascript
);

pub(crate) async fn signed_in(app: &TestApp, email: &str) -> reqwest::Client {
    app.signup(email).await;
    let token = app.login(email).await;
    let body = json!({"document_type": "id_card", "document_number": "L01X00T47", "country": "DE", "expires_on": "2031-08-01"});
    assert_eq!(
        app.post_json_as(&token, "/api/v1/me/identity", body)
            .await
            .status(),
        202
    );
    let browser = client(true);
    let csrf = app.csrf_token(&browser, "/login").await;
    let res = browser
        .post(app.url("/login"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("email", email),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    browser
}

pub(crate) async fn page(app: &TestApp, browser: &reqwest::Client, path: &str) -> String {
    browser
        .get(app.url(path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

// Rules R2, R3, R15 (PRODUCT.md).
async fn journey_by_forms_ends_on_the_deleted_page(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.deletion.captcha = CaptchaPolicy::Never).await;
    let email = "browser@example.com";
    let browser = signed_in(&app, email).await;
    let security = page(&app, &browser, "/security").await;
    assert!(security.contains("href=\"/security/delete\""));
    let overview = page(&app, &browser, "/security/delete").await;
    let csrf = extract_csrf(&overview).unwrap();
    let res = browser
        .post(app.url("/security/delete"))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    let flow_path = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(flow_path.starts_with("/deletion/"));

    let notes = page(&app, &browser, &flow_path).await;
    assert!(
        notes.contains("class=\"steps\"") && notes.contains("/api/v1/me/export"),
        "step indicator and export link"
    );
    // Without the tick the page says what is missing.
    let res = browser
        .post(app.url(&format!("{flow_path}/confirm")))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let res = browser
        .post(app.url(&format!("{flow_path}/confirm")))
        .form(&[("csrf_token", csrf.as_str()), ("acknowledged", "true")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);

    let verify = page(&app, &browser, &flow_path).await;
    assert!(
        verify.contains(&format!("action=\"{flow_path}/verify\"")),
        "nothing blocks: straight to the codes"
    );
    let res = browser
        .post(app.url(&format!("{flow_path}/codes")))
        .form(&[("csrf_token", csrf.as_str()), ("channel", "email")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.text().await.unwrap().contains("data-wait=\""),
        "Get code shows its cooldown"
    );
    let code = app.latest_code(email).await;
    let res = browser
        .post(app.url(&format!("{flow_path}/verify")))
        .form(&[("csrf_token", csrf.as_str()), ("email_code", "000000")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(
        res.text().await.unwrap().contains("/help/wrong-code"),
        "a wrong code links its help page"
    );
    let res = browser
        .post(app.url(&format!("{flow_path}/verify")))
        .form(&[("csrf_token", csrf.as_str()), ("email_code", code.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);

    let identity = page(&app, &browser, &flow_path).await;
    assert!(identity.contains("name=\"id_number\"") && identity.contains("/help/document-changed"));
    let res = browser
        .post(app.url(&format!("{flow_path}/identity")))
        .form(&[("csrf_token", csrf.as_str()), ("id_number", "l01x-00t47")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let cleared = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .any(|c| c.to_str().unwrap().starts_with("offboard_session=;"));
    let done = res.text().await.unwrap();
    assert!(done.contains("Deleted"), "{done}");
    // Issue 15: the journey shows as finished: every step done, none still ahead.
    assert_eq!(done.matches("<li class=\"done\">").count(), 5, "{done}");
    assert!(!done.contains("aria-current=\"step\""));
    assert!(
        done.contains("<time datetime=\""),
        "the deletion date is a machine-readable time"
    );
    assert!(cleared, "the session cookie is removed");
    let res = browser.get(app.url("/security")).send().await.unwrap();
    assert_eq!(res.headers()["location"], "/login", "signed out");
}

// Rules R2, R3, R15 (PRODUCT.md).
async fn notes_page_explains_the_captcha_without_javascript(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.deletion.captcha = CaptchaPolicy::Always).await;
    let browser = signed_in(&app, "nojs@example.com").await;
    let csrf = extract_csrf(&page(&app, &browser, "/security/delete").await).unwrap();
    let res = browser
        .post(app.url("/security/delete"))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    let flow_path = res.headers()["location"].to_str().unwrap().to_owned();
    let notes = page(&app, &browser, &flow_path).await;
    assert!(notes.contains("<noscript>") && notes.contains("/help/captcha"));
    assert!(notes.contains("data-captcha=") && notes.contains("/static/captcha.js"));
    let script = browser
        .get(app.url("/static/captcha.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(script.status(), 200);
    assert!(script.headers()["content-type"]
        .to_str()
        .unwrap()
        .contains("javascript"));
    assert_eq!(
        browser
            .get(app.url("/static/captcha-worker.js"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // Submitting without solving it is refused with the reason.
    let res = browser
        .post(app.url(&format!("{flow_path}/confirm")))
        .form(&[("csrf_token", csrf.as_str()), ("acknowledged", "true")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}
