//! The support console pages in a browser-like client (R11, R15): agent login with one
//! message for every failure, agent and user sessions that never open each other's
//! pages, search without secrets, unlock and document change by form with the reason in
//! the audit log, the recovery queue (approve, reject, the lead rule), logout, CSRF, and
//! no console route that deletes.

use crate::both_backends;
use crate::helpers::{client, extract_csrf, spawn_app_with, urlencode, TestApp, PASSWORD};
use crate::ledger::deposit;
use crate::support::{add_agent, app, Agent, DOC};
use offboard_core::{AccountId, PhoneNumber};
use offboard_server::Mode;
use offboard_store::{AgentRole, Backend};
use serde_json::{json, Value};

both_backends!(
    console_login_fails_alike_r11,
    console_and_user_sessions_never_cross_r11,
    console_search_shows_summary_never_secrets_r11,
    console_unlock_and_document_change_are_audited_r11_r15,
    console_recovery_approve_reject_and_lead_rule_r11,
    console_logout_ends_the_agent_session_r11,
    console_routes_never_delete_r1_r11,
    console_cookie_is_host_prefixed_and_strict_in_production_r11,
);

const AGENT_COOKIE: &str = "offboard_agent_session";

/// Posts the console's login form from `browser`.
async fn console_login_raw(
    app: &TestApp,
    browser: &reqwest::Client,
    email: &str,
    password: &str,
    code: &str,
) -> reqwest::Response {
    let csrf = app.csrf_token(browser, "/support/login").await;
    browser
        .post(app.url("/support/login"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("email", email),
            ("password", password),
            ("totp_code", code),
        ])
        .send()
        .await
        .unwrap()
}

/// The agent session token a successful login set.
fn agent_token(res: &reqwest::Response) -> String {
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with(&format!("{AGENT_COOKIE}=")))
        .expect("the agent session cookie is set");
    cookie
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_owned()
}

/// A browser signed in to the console (the clock moves one step first for a fresh code).
pub(crate) async fn console_browser(app: &TestApp, agent: &Agent) -> (reqwest::Client, String) {
    app.advance(30).await;
    let browser = client(true);
    let code = app.next_totp(&agent.secret).await;
    let res = console_login_raw(app, &browser, &agent.email, &agent.password, &code).await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/support");
    let token = agent_token(&res);
    (browser, token)
}

/// A browser signed in as an account holder.
async fn user_browser(app: &TestApp, email: &str) -> reqwest::Client {
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

async fn get(browser: &reqwest::Client, app: &TestApp, path: &str) -> (u16, String) {
    let res = browser.get(app.url(path)).send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.text().await.unwrap())
}

async fn post_form(
    browser: &reqwest::Client,
    app: &TestApp,
    path: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    // The login page always renders a form, so it yields this browser's token whether
    // or not (and as whom) the browser is signed in.
    let csrf = app.csrf_token(browser, "/login").await;
    let mut form = vec![("csrf_token", csrf.as_str())];
    form.extend_from_slice(fields);
    browser
        .post(app.url(path))
        .form(&form)
        .send()
        .await
        .unwrap()
}

/// The text of the page's error alert, tags stripped.
fn alert_text(html: &str) -> Option<String> {
    let start = html.find("class=\"alert alert-error\"")?;
    let rest = &html[start..];
    let end = rest.find("</div>")?;
    let inner = &rest[rest.find('>')? + 1..end];
    let mut text = String::new();
    let mut in_tag = false;
    for c in inner.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    Some(text.split_whitespace().collect::<Vec<_>>().join(" "))
}

async fn verify_identity(app: &TestApp, token: &str, number: &str) {
    let body = json!({"document_type": "passport", "document_number": number, "country": "DE", "expires_on": "2031-01-01"});
    let res = app.post_json_as(token, "/api/v1/me/identity", body).await;
    assert_eq!(res.status(), 202);
}

fn account_of(id: &str) -> AccountId {
    id.parse().unwrap()
}

// Rules R11, R15 (PRODUCT.md): every failed console login reads the same.
async fn console_login_fails_alike_r11(backend: Backend) {
    let app = app(backend).await;
    let agent = add_agent(&app, "ann@support.test", AgentRole::Agent).await;
    let browser = client(true);
    let (status, html) = get(&browser, &app, "/support/login").await;
    assert_eq!(status, 200);
    assert!(html.contains("action=\"/support/login\""));
    assert!(html.contains("for=\"agent-totp\""), "labelled code field");
    assert!(
        !html.contains("href=\"/signup\""),
        "the console shows no customer sign-up link"
    );

    app.advance(30).await;
    let code = app.next_totp(&agent.secret).await;
    let wrong_code = app.totp_now(&agent.secret, 5);
    let mut messages = Vec::new();
    for (email, password, totp) in [
        (
            agent.email.as_str(),
            "not the password at all",
            code.as_str(),
        ),
        (
            agent.email.as_str(),
            agent.password.as_str(),
            wrong_code.as_str(),
        ),
        (agent.email.as_str(), agent.password.as_str(), ""),
        ("ghost@support.test", agent.password.as_str(), code.as_str()),
    ] {
        let res = console_login_raw(&app, &browser, email, password, totp).await;
        assert_eq!(res.status(), 401);
        assert!(res
            .headers()
            .get_all("set-cookie")
            .iter()
            .all(|c| !c.to_str().unwrap().starts_with(AGENT_COOKIE)));
        messages.push(alert_text(&res.text().await.unwrap()).unwrap());
    }

    // The right code logs in once; the same code again is refused like the rest.
    let res = console_login_raw(&app, &browser, &agent.email, &agent.password, &code).await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/support");
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with(AGENT_COOKIE))
        .unwrap();
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict")
            && cookie.contains("Path=/"),
        "{cookie}"
    );
    let (status, html) = get(&browser, &app, "/support").await;
    assert_eq!(status, 200);
    assert!(html.contains("ann@support.test") && html.contains("<h1>Find an account</h1>"));
    let (status, _) = get(&browser, &app, "/support/login").await;
    assert_eq!(status, 303, "signed in already: on to the console");

    let other = client(true);
    let res = console_login_raw(&app, &other, &agent.email, &agent.password, &code).await;
    assert_eq!(res.status(), 401, "a code's time step is accepted once");
    messages.push(alert_text(&res.text().await.unwrap()).unwrap());

    // A disabled agent gets the same message, and its open session stops working.
    assert!(app
        .state
        .store
        .disable_agent(&agent.email, app.state.clock.now())
        .await
        .unwrap());
    let (status, _) = get(&browser, &app, "/support").await;
    assert_eq!(status, 303);
    app.advance(30).await;
    let code = app.next_totp(&agent.secret).await;
    let res = console_login_raw(&app, &other, &agent.email, &agent.password, &code).await;
    assert_eq!(res.status(), 401);
    messages.push(alert_text(&res.text().await.unwrap()).unwrap());

    assert!(
        messages.windows(2).all(|w| w[0] == w[1]),
        "every failure reads the same: {messages:?}"
    );
    assert!(messages[0].contains("authenticator"), "{}", messages[0]);
}

// Rules R11 (PRODUCT.md): agent and user sessions never open each other's pages.
async fn console_and_user_sessions_never_cross_r11(backend: Backend) {
    let app = app(backend).await;
    let email = "user@example.com";
    let account = app.signup(email).await;
    let user_token = app.login(email).await;
    let user = user_browser(&app, email).await;
    let (status, _) = get(&user, &app, "/security").await;
    assert_eq!(status, 200, "the user browser is signed in");
    for path in [
        "/support".to_owned(),
        "/support/recovery".to_owned(),
        "/support/audit".to_owned(),
        format!("/support/accounts/{account}"),
    ] {
        let res = user.get(app.url(&path)).send().await.unwrap();
        assert_eq!(res.status(), 303, "{path}");
        assert_eq!(res.headers()["location"], "/support/login", "{path}");
    }
    let res = post_form(
        &user,
        &app,
        &format!("/support/accounts/{account}/identity-unlock"),
        &[("reason", "trying my luck")],
    )
    .await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/support/login");
    // A user token in the agent cookie is unknown too.
    let res = app
        .api
        .get(app.url("/support"))
        .header("cookie", format!("{AGENT_COOKIE}={user_token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);

    // An agent's cookie is no user session: user pages send it to the user login.
    let agent = add_agent(&app, "ann@support.test", AgentRole::Lead).await;
    let (console, agent_token) = console_browser(&app, &agent).await;
    for path in ["/security", "/assets", "/identity", "/security/delete"] {
        let res = console.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 303, "{path}");
        assert_eq!(res.headers()["location"], "/login", "{path}");
    }
    assert_eq!(
        console
            .get(app.url("/api/v1/me"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let (_, home) = get(&console, &app, "/").await;
    assert!(!home.contains("Signed in as"), "no user menu for an agent");
    // Nor does the agent token work under the user cookie's name or as a user bearer.
    let res = app
        .api
        .get(app.url("/security"))
        .header("cookie", format!("offboard_session={agent_token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(app.get_as(&agent_token, "/api/v1/me").await.status(), 401);
    // The console's cookie is not an API credential either: the Support API wants the
    // bearer token of its own login.
    assert_eq!(
        console
            .get(app.url("/api/v1/support/recovery"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
}

// Rules R11, R14 (PRODUCT.md): the search shows the summary, never a secret or number.
async fn console_search_shows_summary_never_secrets_r11(backend: Backend) {
    let app = app(backend).await;
    let email = "seek@example.com";
    let (user, totp_secret) = app.user_with_totp(email).await;
    verify_identity(&app, &user, DOC).await;
    let me: Value = app.get_as(&user, "/api/v1/me").await.json().await.unwrap();
    let account = me["account_id"]
        .as_str()
        .or(me["id"].as_str())
        .unwrap()
        .to_owned();
    let phone = PhoneNumber::parse("+4915123456789").unwrap();
    app.state
        .store
        .set_phone(account_of(&account), &phone, app.state.clock.now())
        .await
        .unwrap();
    let agent = add_agent(&app, "ann@support.test", AgentRole::Agent).await;
    let (console, _) = console_browser(&app, &agent).await;

    let (status, html) = get(&console, &app, "/support").await;
    assert_eq!(status, 200);
    for label in [
        "search-email",
        "search-phone",
        "search-account-id",
        "search-document",
    ] {
        assert!(
            html.contains(&format!("for=\"{label}\"")),
            "labelled {label}"
        );
    }
    for query in [
        format!("email={}", urlencode(email)),
        format!("phone={}", urlencode(phone.as_str())),
        format!("account_id={account}&email=&phone="),
    ] {
        let (status, html) = get(&console, &app, &format!("/support?{query}")).await;
        assert_eq!(status, 200, "{query}");
        assert!(html.contains("<caption"), "{query}: a captioned table");
        assert!(
            html.contains(&format!("href=\"/support/accounts/{account}\"")),
            "{query}"
        );
        for shown in [
            "Email codes",
            "SMS codes",
            "Authenticator app",
            "Approved",
            "active",
        ] {
            assert!(html.contains(shown), "{query} shows {shown}");
        }
        let lower = html.to_lowercase();
        for secret in [
            DOC.to_lowercase(),
            totp_secret.to_lowercase(),
            "argon2".to_owned(),
            user.to_lowercase(),
        ] {
            assert!(!lower.contains(&secret), "{query} shows {secret:?}");
        }
    }
    let (status, html) = get(&console, &app, "/support?email=nobody%40example.com").await;
    assert_eq!(status, 200);
    assert!(html.contains("No account found"));
    let (status, html) = get(
        &console,
        &app,
        &format!("/support?email={}&account_id={account}", urlencode(email)),
    )
    .await;
    assert_eq!(status, 422, "one field at a time");
    assert!(alert_text(&html).unwrap().contains("only one"));
    let (status, html) = get(&console, &app, "/support?email=not-an-email").await;
    assert_eq!(status, 422);
    assert!(alert_text(&html).unwrap().starts_with("email:"));
    assert!(html.contains("aria-invalid=\"true\""));

    // By document number (another format): "matches account X", the number never shown.
    let res = post_form(
        &console,
        &app,
        "/support",
        &[("document_number", "c01x-00t 47")],
    )
    .await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("Matches account"), "{html}");
    assert!(html.contains(&format!("/support/accounts/{account}")));
    let lower = html.to_lowercase();
    assert!(
        !lower.contains("c01x00t47") && !lower.contains("c01x-00t 47"),
        "the number is not shown"
    );
    let res = post_form(
        &console,
        &app,
        "/support",
        &[("document_number", "ZZ999999")],
    )
    .await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("No match"));
    assert!(!html.contains("ZZ999999"));
    let res = post_form(&console, &app, "/support", &[("document_number", "")]).await;
    assert_eq!(res.status(), 422, "an empty number is refused, not a 500");
    // POST without the CSRF token is refused.
    let res = console
        .post(app.url("/support"))
        .form(&[("document_number", DOC)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
}

// Rules R6, R11, R14, R15 (PRODUCT.md): unlock and document change by form, with the
// reason required and recorded.
async fn console_unlock_and_document_change_are_audited_r11_r15(backend: Backend) {
    let app = app(backend).await;
    let email = "doc@example.com";
    let account = app.signup(email).await;
    let user = app.login(email).await;
    verify_identity(&app, &user, DOC).await;
    let id = account_of(&account);
    for _ in 0..5 {
        app.state
            .store
            .record_identity_failure(id, app.state.clock.now())
            .await
            .unwrap();
    }
    let agent = add_agent(&app, "ann@support.test", AgentRole::Agent).await;
    let (console, _) = console_browser(&app, &agent).await;
    let page = format!("/support/accounts/{account}");
    let (status, html) = get(&console, &app, &page).await;
    assert_eq!(status, 200);
    assert!(html.contains("Locked"), "the lock shows");
    assert!(html.contains("for=\"unlock-reason\"") && html.contains("for=\"document-reason\""));
    assert!(
        html.contains("<option value=\"passport\" selected>"),
        "type on file"
    );
    assert!(html.contains("value=\"DE\""), "country on file");

    // Without a reason: refused with a clear message, still locked.
    let unlock = format!("{page}/identity-unlock");
    let res = post_form(&console, &app, &unlock, &[("reason", "   ")]).await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(alert_text(&html).unwrap().starts_with("reason:"), "{html}");
    assert!(html.contains("aria-invalid=\"true\""));
    assert!(html.contains("Locked"));
    let res = post_form(&console, &app, &unlock, &[]).await;
    assert_eq!(res.status(), 422, "a missing field is the same refusal");
    // Without the CSRF token: refused, nothing changes.
    let res = console
        .post(app.url(&unlock))
        .form(&[("reason", "no token")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = post_form(
        &console,
        &app,
        &unlock,
        &[("reason", "verified by video call")],
    )
    .await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        res.headers()["location"],
        format!("{page}?notice=unlocked").as_str()
    );
    let (_, html) = get(&console, &app, &format!("{page}?notice=unlocked")).await;
    assert!(html.contains("The identity step is unlocked"));
    assert!(html.contains("Not locked"));

    // Record a changed number.
    let change = format!("{page}/document-change");
    let fields = |reason: &'static str, country: &'static str| {
        vec![
            ("document_type", "id_card"),
            ("document_number", "NEW-123456"),
            ("country", country),
            ("reason", reason),
        ]
    };
    let res = post_form(&console, &app, &change, &fields("", "DE")).await;
    assert_eq!(res.status(), 422);
    assert!(alert_text(&res.text().await.unwrap())
        .unwrap()
        .starts_with("reason:"));
    let res = post_form(&console, &app, &change, &fields("card renewed", "XX")).await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(alert_text(&html).unwrap().starts_with("country:"), "{html}");
    assert!(!html.contains("NEW-123456") && !html.contains("NEW123456"));
    let res = post_form(&console, &app, &change, &fields("ID card renewed", "FR")).await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        res.headers()["location"],
        format!("{page}?notice=document_changed").as_str()
    );
    let identity = app.state.store.identity(id).await.unwrap().unwrap();
    assert_eq!(identity.document_type.as_str(), "id_card");
    assert_eq!(identity.country.as_str(), "FR");
    assert_eq!(
        identity.approved_numbers().count(),
        2,
        "the old number stays valid beside the new one"
    );

    // Both actions are in the account's audit log with the agent and the reason.
    let (_, html) = get(&console, &app, &page).await;
    for (action, reason) in [
        ("support_identity_unlocked", "verified by video call"),
        ("support_document_changed", "ID card renewed"),
    ] {
        let row = html
            .split("<tr>")
            .find(|row| row.contains(action))
            .unwrap_or_else(|| panic!("no {action} row"));
        assert!(row.contains(&agent.email) && row.contains(reason), "{row}");
    }
    assert!(!html.contains("NEW-123456") && !html.contains("NEW123456") && !html.contains(DOC));
    // ...and in the agent's own log.
    let (status, html) = get(&console, &app, "/support/audit").await;
    assert_eq!(status, 200);
    assert!(html.contains("support_identity_unlocked") && html.contains("ID card renewed"));
    assert!(html.contains(&format!("/support/accounts/{account}")));
    let (status, html) = get(&console, &app, "/support/audit?agent=nobody%40support.test").await;
    assert_eq!(status, 404);
    assert!(alert_text(&html).unwrap().contains("no agent"));

    // Unknown and malformed ids get a clear 404, never a 500.
    for bad in ["00000000-0000-7000-8000-000000000000", "not-an-id"] {
        let (status, html) = get(&console, &app, &format!("/support/accounts/{bad}")).await;
        assert_eq!(status, 404, "{bad}");
        assert!(html.contains("There is no account with this id"), "{bad}");
        let res = post_form(
            &console,
            &app,
            &format!("/support/accounts/{bad}/identity-unlock"),
            &[("reason", "x")],
        )
        .await;
        assert_eq!(res.status(), 404, "{bad}");
    }
}

// Rules R11, R14 (PRODUCT.md): the recovery queue by form, with the lead rule.
async fn console_recovery_approve_reject_and_lead_rule_r11(backend: Backend) {
    let app = app(backend).await;
    let email = "lost@example.com";
    let (user, _) = app.user_with_totp(email).await;
    verify_identity(&app, &user, DOC).await;
    let me: Value = app.get_as(&user, "/api/v1/me").await.json().await.unwrap();
    let account = me["account_id"]
        .as_str()
        .or(me["id"].as_str())
        .unwrap()
        .to_owned();
    deposit(&app, &account, "BTC", "0.5").await;
    let other = "other@example.com";
    app.signup(other).await;
    for (who, number) in [(email, Some("c01x-00t47")), (other, None)] {
        let mut body = json!({"email": who, "message": "I lost my phone."});
        if let Some(number) = number {
            body["id_number"] = json!(number);
        }
        assert_eq!(app.post_json("/api/v1/recovery", body).await.status(), 202);
    }
    let open: Vec<Value> = {
        let agent = add_agent(&app, "api@support.test", AgentRole::Agent).await;
        app.advance(30).await;
        let code = app.next_totp(&agent.secret).await;
        let res = app
            .post_json(
                "/api/v1/support/login",
                json!({"email": agent.email, "password": agent.password, "totp_code": code}),
            )
            .await;
        let token = res.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_owned();
        app.get_as(&token, "/api/v1/support/recovery")
            .await
            .json()
            .await
            .unwrap()
    };
    let funded = open.iter().find(|r| r["email"] == email).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let unfunded = open.iter().find(|r| r["email"] == other).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let agent = add_agent(&app, "ann@support.test", AgentRole::Agent).await;
    let lead = add_agent(&app, "lea@support.test", AgentRole::Lead).await;
    let (console, _) = console_browser(&app, &agent).await;
    let (status, html) = get(&console, &app, "/support/recovery").await;
    assert_eq!(status, 200);
    assert!(html.contains("The ID number given matches"));
    assert!(html.contains("No ID number was given"));
    assert!(html.contains(&format!("action=\"/support/recovery/{funded}/approve\"")));
    assert!(html.contains(&format!("for=\"reject-reason-{unfunded}\"")));
    assert!(
        !html.to_lowercase().contains("c01x-00t47") && !html.to_lowercase().contains("c01x00t47"),
        "the typed number is not kept"
    );

    // An agent may not approve for an account holding assets: a clear refusal.
    let approve = format!("/support/recovery/{funded}/approve");
    let res = post_form(
        &console,
        &app,
        &approve,
        &[("reason", "passport checked on call")],
    )
    .await;
    assert_eq!(res.status(), 403);
    let html = res.text().await.unwrap();
    assert!(
        alert_text(&html).unwrap().contains("a lead must approve"),
        "{html}"
    );
    assert!(
        html.contains(&format!("action=\"{approve}\"")),
        "still open"
    );
    // A reason is required.
    let (lead_console, _) = console_browser(&app, &lead).await;
    let res = post_form(&lead_console, &app, &approve, &[("reason", "")]).await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(alert_text(&html).unwrap().starts_with("reason:"));
    assert!(html.contains("aria-invalid=\"true\""));
    // The lead approves.
    let res = post_form(
        &lead_console,
        &app,
        &approve,
        &[("reason", "passport checked on call")],
    )
    .await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        res.headers()["location"],
        "/support/recovery?notice=approved"
    );
    let (_, html) = get(&lead_console, &app, "/support/recovery?notice=approved").await;
    assert!(html.contains("Recovery approved"));
    assert!(!html.contains(&format!("action=\"{approve}\"")), "decided");
    assert_eq!(
        app.get_as(&user, "/api/v1/me").await.status(),
        401,
        "sessions revoked"
    );
    let code = app.latest_code(email).await;
    assert_eq!(code.len(), 6, "a password-reset code was emailed");
    let res = post_form(&lead_console, &app, &approve, &[("reason", "again")]).await;
    assert_eq!(res.status(), 409, "decided once");
    assert!(alert_text(&res.text().await.unwrap())
        .unwrap()
        .contains("already decided"));

    // Rejecting emails the reason.
    let reject = format!("/support/recovery/{unfunded}/reject");
    let res = post_form(&console, &app, &reject, &[("reason", " ")]).await;
    assert_eq!(res.status(), 422);
    let res = post_form(
        &console,
        &app,
        &reject,
        &[("reason", "we could not confirm it is you")],
    )
    .await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        res.headers()["location"],
        "/support/recovery?notice=rejected"
    );
    let outbox: Vec<Value> = app
        .api
        .get(app.url(&format!("/api/v1/dev/outbox?to={}", urlencode(other))))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(outbox[0]["body"]
        .as_str()
        .unwrap()
        .contains("we could not confirm it is you"));
    let (_, html) = get(&console, &app, "/support/recovery").await;
    assert!(html.contains("No open requests"));
    let res = post_form(
        &console,
        &app,
        "/support/recovery/no-such-request/reject",
        &[("reason", "x")],
    )
    .await;
    assert_eq!(res.status(), 404);
    assert!(alert_text(&res.text().await.unwrap())
        .unwrap()
        .contains("no recovery request"));

    // The approval is in the account's log under the lead's email.
    let (_, html) = get(&console, &app, &format!("/support/accounts/{account}")).await;
    let row = html
        .split("<tr>")
        .find(|row| row.contains("support_recovery_approved"))
        .expect("the approval is audited");
    assert!(row.contains(&lead.email) && row.contains("passport checked on call"));
}

// Rules R11 (PRODUCT.md): logging out ends the agent session on the server.
async fn console_logout_ends_the_agent_session_r11(backend: Backend) {
    let app = app(backend).await;
    let agent = add_agent(&app, "ann@support.test", AgentRole::Agent).await;
    let (console, token) = console_browser(&app, &agent).await;
    let (_, html) = get(&console, &app, "/support").await;
    assert!(html.contains("action=\"/support/logout\""));
    let res = console
        .post(app.url("/support/logout"))
        .form(&[("csrf_token", "wrong")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "logout needs the CSRF token too");
    let csrf = extract_csrf(&html).unwrap();
    let res = console
        .post(app.url("/support/logout"))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(
        res.headers()["location"],
        "/support/login?notice=logged_out"
    );
    let (status, html) = get(&console, &app, "/support/login?notice=logged_out").await;
    assert_eq!(status, 200);
    assert!(html.contains("You are logged out"));
    assert_eq!(get(&console, &app, "/support").await.0, 303);
    // The old token is dead on the server, not only forgotten by the browser.
    let res = app
        .api
        .get(app.url("/support"))
        .header("cookie", format!("{AGENT_COOKIE}={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/support/login");

    // Agent sessions also end after 30 minutes idle.
    let (console, _) = console_browser(&app, &agent).await;
    assert_eq!(get(&console, &app, "/support").await.0, 200);
    app.advance(31 * 60).await;
    assert_eq!(get(&console, &app, "/support").await.0, 303);
}

// Rules R1, R11 (PRODUCT.md): no console route deletes anything.
async fn console_routes_never_delete_r1_r11(backend: Backend) {
    let app = app(backend).await;
    let doc: Value = app
        .api
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut console_routes = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        // `/support/contact` is the account holder's contact form, not the console.
        if path != "/support" && !path.starts_with("/support/") || path == "/support/contact" {
            continue;
        }
        for method in item.as_object().unwrap().keys() {
            console_routes += 1;
            assert!(method == "get" || method == "post", "{method} {path}");
        }
        assert!(!path.contains("delet") && !path.contains("erase"), "{path}");
        let text = item.to_string().to_lowercase();
        assert!(!text.contains("erase"), "{path} mentions erasure");
    }
    assert_eq!(console_routes, 14);
}

// Rules R11 (PRODUCT.md): outside dev mode the agent cookie is `__Host-`, Secure, Strict.
async fn console_cookie_is_host_prefixed_and_strict_in_production_r11(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.mode = Mode::Production).await;
    let agent = add_agent(&app, "ann@support.test", AgentRole::Agent).await;
    let res = app.api.get(app.url("/support/login")).send().await.unwrap();
    let csrf_cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    let csrf = extract_csrf(&res.text().await.unwrap()).unwrap();
    let code = app.next_totp(&agent.secret).await;
    let res = app
        .api
        .post(app.url("/support/login"))
        .header("cookie", csrf_cookie.split(';').next().unwrap())
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("email", agent.email.as_str()),
            ("password", agent.password.as_str()),
            ("totp_code", code.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let cookie = res.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cookie.starts_with("__Host-offboard_agent_session=")
            && cookie.contains("Secure")
            && cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict")
            && cookie.contains("Path=/"),
        "{cookie}"
    );
}
