//! The security page's factor forms in a browser-like client.

use crate::both_backends;
use crate::helpers::{client, spawn_app, TestApp, PASSWORD};
use offboard_store::Backend;

both_backends!(
    bind_and_remove_an_authenticator_by_form,
    bind_a_phone_by_form,
    web_login_asks_for_the_authenticator_code,
    sessions_read_as_devices_with_times,
);

/// A signed-in browser.
async fn browser_for(app: &TestApp, email: &str) -> reqwest::Client {
    app.signup(email).await;
    sign_in(app, client(true), email).await
}

/// Signs `browser` in through the login form.
async fn sign_in(app: &TestApp, browser: reqwest::Client, email: &str) -> reqwest::Client {
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

fn secret_from(html: &str) -> String {
    let start = html
        .find("class=\"code code-key\"")
        .expect("the key is shown");
    let rest = &html[start..];
    let open = rest.find('>').unwrap() + 1;
    let close = rest[open..].find('<').unwrap() + open;
    rest[open..close].split_whitespace().collect()
}

// Rules R5 (PRODUCT.md).
async fn bind_and_remove_an_authenticator_by_form(backend: Backend) {
    let app = spawn_app(backend).await;
    let browser = browser_for(&app, "dee@example.com").await;
    let csrf = app.csrf_token(&browser, "/security").await;
    let res = browser
        .post(app.url("/security/totp/setup"))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["location"], "/security/totp");
    let html = browser
        .get(app.url("/security/totp"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("src=\"/security/totp/qr.svg\""));
    let secret = secret_from(&html);
    assert_eq!(secret.len(), 32, "{secret}");
    let qr = browser
        .get(app.url("/security/totp/qr.svg"))
        .send()
        .await
        .unwrap();
    assert_eq!(qr.headers()["content-type"], "image/svg+xml");
    assert!(qr.text().await.unwrap().starts_with("<?xml"));

    let res = browser
        .post(app.url("/security/totp/confirm"))
        .form(&[("csrf_token", csrf.as_str()), ("code", "000000")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("/help/authenticator-errors"));
    let code = app.next_totp(&secret).await;
    let res = browser
        .post(app.url("/security/totp/confirm"))
        .form(&[("csrf_token", csrf.as_str()), ("code", code.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["location"], "/security?notice=totp_bound");
    let html = browser
        .get(app.url("/security?notice=totp_bound"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        html.matches("Your authenticator is on").count(),
        1,
        "the notice shows once"
    );
    // Issue 15: removing sits behind its link (a closed disclosure), not an open form.
    assert!(html.contains("<details class=\"removal\" id=\"remove-totp\">"));
    assert!(html.contains("action=\"/security/totp/remove#remove-totp\""));

    // Remove: get an email code with the page's button, then send both codes.
    let res = browser
        .post(app.url("/security/codes"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("channel", "email"),
            ("purpose", "unbind"),
            ("open", "totp"),
        ])
        .send()
        .await
        .unwrap();
    let after_code = res.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(
        after_code,
        "/security?notice=code_sent_email&open=totp#remove-totp"
    );
    let html = browser
        .get(app.url(&after_code))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("<details class=\"removal\" id=\"remove-totp\" open>"),
        "the form the code is for stays open"
    );
    assert_eq!(
        html.matches("We emailed you a code").count(),
        1,
        "the code notice shows once, beside the buttons it answers"
    );
    assert!(html.contains("Get code again in"), "the email button waits");
    let email_code = app.latest_code("dee@example.com").await;

    // A wrong authenticator code is marked on its field; the form stays open.
    let res = browser
        .post(app.url("/security/totp/remove"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("email_code", email_code.as_str()),
            ("totp_code", "000000"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let html = res.text().await.unwrap();
    assert!(html.contains("id=\"remove-totp\" open>"));
    assert!(
        html.contains("id=\"totp-remove-totp-code-error\""),
        "{html}"
    );
    assert!(html.contains("aria-describedby=\"totp-remove-totp-code-hint totp-remove-totp-code-error\" aria-invalid=\"true\""));

    app.advance(30).await;
    let totp = app.next_totp(&secret).await;
    let res = browser
        .post(app.url("/security/totp/remove"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("email_code", email_code.as_str()),
            ("totp_code", totp.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers()["location"],
        "/security?notice=totp_removed#main"
    );
    let html = browser
        .get(app.url("/security"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("action=\"/security/totp/setup\""));
}

// Rules R5 (PRODUCT.md).
async fn bind_a_phone_by_form(backend: Backend) {
    let app = spawn_app(backend).await;
    let browser = browser_for(&app, "eli@example.com").await;
    let csrf = app.csrf_token(&browser, "/security").await;
    let res = browser
        .post(app.url("/security/phone"))
        .form(&[("csrf_token", csrf.as_str()), ("phone", "12345")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("country code"));
    let res = browser
        .post(app.url("/security/phone"))
        .form(&[("csrf_token", csrf.as_str()), ("phone", "+44 7911 123456")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["location"], "/security/phone/confirm");
    let html = browser
        .get(app.url("/security/phone/confirm"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("+447911123456"));
    let code = app.latest_code("+447911123456").await;
    let res = browser
        .post(app.url("/security/phone/confirm"))
        .form(&[("csrf_token", csrf.as_str()), ("code", code.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["location"], "/security?notice=phone_bound");
    let html = browser
        .get(app.url("/security"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("•••• 3456"));
    assert!(
        !html.contains("+447911123456"),
        "the page shows the number masked"
    );
}

// Rules R5 (PRODUCT.md).
async fn web_login_asks_for_the_authenticator_code(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, secret) = app.user_with_totp("fay@example.com").await;
    let browser = client(true);
    let csrf = app.csrf_token(&browser, "/login").await;
    let res = browser
        .post(app.url("/login"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("email", "fay@example.com"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let html = res.text().await.unwrap();
    assert!(html.contains("authenticator app"), "{html}");
    app.advance(30).await;
    let code = app.next_totp(&secret).await;
    let res = browser
        .post(app.url("/login"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("email", "fay@example.com"),
            ("password", PASSWORD),
            ("totp_code", code.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
}

// Issue 15: a session is shown as "Chrome on Linux" with machine-readable times, not as
// its raw user-agent string.
async fn sessions_read_as_devices_with_times(backend: Backend) {
    const CHROME_LINUX: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
    let app = spawn_app(backend).await;
    let email = "gus@example.com";
    app.signup(email).await;
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .user_agent(CHROME_LINUX)
        .build()
        .unwrap();
    let browser = sign_in(&app, browser, email).await;
    let html = browser
        .get(app.url("/security"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("<strong>Chrome on Linux</strong>"), "{html}");
    assert!(!html.contains("AppleWebKit"), "no raw user agent");
    assert!(html.contains("<dt>Last active</dt><dd><time datetime=\""));
    assert!(html.contains("This device"));
}
