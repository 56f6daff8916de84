//! The web pages as a browser uses them: forms, cookies, CSRF, redirects.

use crate::both_backends;
use crate::helpers::{client, spawn_app, PASSWORD};
use offboard_store::Backend;

both_backends!(
    sign_up_by_form_lands_on_security_with_the_delete_entry,
    form_errors_are_shown_on_the_form,
    forms_without_a_valid_csrf_token_are_refused,
    cross_site_requests_are_refused,
    login_and_logout_by_form,
    signed_out_visitors_are_sent_to_login,
);

fn set_cookies(res: &reqwest::Response) -> Vec<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

async fn sign_up_by_form_lands_on_security_with_the_delete_entry(backend: Backend) {
    let app = spawn_app(backend).await;
    let browser = client(true);
    let csrf = app.csrf_token(&browser, "/signup").await;
    let res = browser
        .post(app.url("/signup"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("email", "Nora@Example.com"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/security");
    let session = set_cookies(&res)
        .into_iter()
        .find(|c| c.starts_with("offboard_session="))
        .expect("session cookie");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(session.contains(attribute), "{session} lacks {attribute}");
    }
    assert!(!session.contains("Secure"), "dev mode serves plain http");

    let res = browser.get(app.url("/security")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let html = res.text().await.unwrap();
    assert!(html.contains("nora@example.com"));
    assert!(
        html.contains("href=\"/security\""),
        "avatar menu links Security"
    );
    assert!(
        html.contains("href=\"/security/delete\""),
        "the Delete entry"
    );
    assert!(html.contains("Active sessions"));

    let html = browser
        .get(app.url("/security/delete"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Withdraw every remaining asset"));
}

async fn form_errors_are_shown_on_the_form(backend: Backend) {
    let app = spawn_app(backend).await;
    let browser = client(true);
    let csrf = app.csrf_token(&browser, "/signup").await;
    let res = browser
        .post(app.url("/signup"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("email", "olga@example.com"),
            ("password", "short"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(html.contains("at least 10 characters"));
    assert!(
        html.contains("value=\"olga@example.com\""),
        "the email is kept"
    );
    assert!(html.contains("aria-invalid=\"true\""));
}

async fn forms_without_a_valid_csrf_token_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    app.signup("pia@example.com").await;
    let browser = client(true);
    let csrf = app.csrf_token(&browser, "/login").await;
    let form = |token: &str| {
        vec![
            ("csrf_token", token.to_owned()),
            ("email", "pia@example.com".into()),
            ("password", PASSWORD.into()),
        ]
    };
    let missing = browser
        .post(app.url("/login"))
        .form(&[("email", "pia@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 403);
    let wrong = browser
        .post(app.url("/login"))
        .form(&form(&"A".repeat(43)))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 403);
    // A token is only good together with its own cookie.
    let stranger = client(true);
    let res = stranger
        .post(app.url("/login"))
        .form(&form(&csrf))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let ok = browser
        .post(app.url("/login"))
        .form(&form(&csrf))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 303);
}

async fn cross_site_requests_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    app.signup("quinn@example.com").await;
    let browser = client(true);
    let csrf = app.csrf_token(&browser, "/login").await;
    let form = [
        ("csrf_token", csrf.as_str()),
        ("email", "quinn@example.com"),
        ("password", PASSWORD),
    ];
    let res = browser
        .post(app.url("/login"))
        .header("origin", "https://evil.example")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = browser
        .post(app.url("/login"))
        .header("sec-fetch-site", "cross-site")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    // The JSON API gets the same guard (and a JSON error).
    let res = app
        .api
        .post(app.url("/api/v1/login"))
        .header("sec-fetch-site", "cross-site")
        .json(&serde_json::json!({"email": "quinn@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "forbidden");
    // Same origin passes.
    let origin = app.address.clone();
    let res = browser
        .post(app.url("/login"))
        .header("origin", origin)
        .header("sec-fetch-site", "same-origin")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
}

async fn login_and_logout_by_form(backend: Backend) {
    let app = spawn_app(backend).await;
    app.signup("rita@example.com").await;
    let browser = client(true);
    let csrf = app.csrf_token(&browser, "/login").await;
    let res = browser
        .post(app.url("/login"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("email", "rita@example.com"),
            ("password", "wrong password!"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(set_cookies(&res)
        .iter()
        .all(|c| !c.starts_with("offboard_session=")));
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("The email or password is wrong"));

    let res = browser
        .post(app.url("/login"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("email", "rita@example.com"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(
        browser
            .get(app.url("/security"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    let csrf = app.csrf_token(&browser, "/security").await;
    let res = browser
        .post(app.url("/logout"))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let res = browser.get(app.url("/security")).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/login");
}

async fn signed_out_visitors_are_sent_to_login(backend: Backend) {
    let app = spawn_app(backend).await;
    for path in ["/security", "/security/delete"] {
        let res = client(true).get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 303, "{path}");
        assert_eq!(res.headers()["location"], "/login");
    }
}
