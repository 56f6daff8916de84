//! Issue 15: the journey's ways in and out as a browser sees them: the banner back into a
//! deletion under way, the 24-hour pause on the overview, the assets detour.

use crate::both_backends;
use crate::deletion_pages::{page, signed_in};
use crate::helpers::{extract_csrf, spawn_app_with, TestApp};
use offboard_app::config::CaptchaPolicy;
use offboard_store::Backend;

both_backends!(
    a_deletion_under_way_shows_the_way_back_on_every_page,
    the_pause_shows_on_the_overview_and_starts_nothing,
    every_wrong_code_is_marked_and_good_ones_are_kept,
    the_assets_detour_preselects_and_answers_beside_the_buttons,
    an_expired_deletion_says_nothing_was_deleted_and_offers_a_new_start,
);

const BANNER: &str = "Continue account deletion";

async fn start_by_form(app: &TestApp, browser: &reqwest::Client) -> reqwest::Response {
    let overview = page(app, browser, "/security/delete").await;
    let csrf = extract_csrf(&overview).unwrap();
    browser
        .post(app.url("/security/delete"))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap()
}

// R1, R2: the flow belongs to its session; while it is live every other page of that
// session links back into it, and nothing links to it once it expired.
async fn a_deletion_under_way_shows_the_way_back_on_every_page(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.deletion.captcha = CaptchaPolicy::Never).await;
    let email = "banner@example.com";
    let browser = signed_in(&app, email).await;
    assert!(!page(&app, &browser, "/assets").await.contains(BANNER));
    let res = start_by_form(&app, &browser).await;
    assert_eq!(res.status(), 303);
    let flow_path = res.headers()["location"].to_str().unwrap().to_owned();

    for path in ["/", "/assets", "/security", "/identity", "/help"] {
        let html = page(&app, &browser, path).await;
        assert!(html.contains(BANNER), "{path} shows the banner");
        assert!(
            html.contains(&format!("href=\"{flow_path}\"")),
            "{path} links the flow"
        );
        assert!(
            html.contains("<strong>Notes</strong>"),
            "{path} names the step"
        );
    }
    let step = page(&app, &browser, &flow_path).await;
    assert!(
        !step.contains(BANNER),
        "the flow's own page needs no banner"
    );
    let overview = page(&app, &browser, "/security/delete").await;
    assert!(
        overview.contains(&format!("href=\"{flow_path}\"")) && !overview.contains("Start deletion"),
        "the overview continues instead of starting"
    );

    // Another session of the same account has no deletion under way.
    let other = signed_in_again(&app, email).await;
    assert!(!page(&app, &other, "/assets").await.contains(BANNER));

    // Idle past the limit: the banner goes (and reading it did not keep the flow alive).
    let idle = app.state.config.deletion.flow_idle.whole_seconds();
    app.advance(idle / 2).await;
    assert!(page(&app, &browser, "/assets").await.contains(BANNER));
    app.advance(idle / 2 + 1).await;
    assert!(
        !page(&app, &browser, "/assets").await.contains(BANNER),
        "an expired flow is not under way; the banner does not touch the flow"
    );
}

async fn signed_in_again(app: &TestApp, email: &str) -> reqwest::Client {
    let browser = crate::helpers::client(true);
    let csrf = app.csrf_token(&browser, "/login").await;
    let res = browser
        .post(app.url("/login"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("email", email),
            ("password", crate::helpers::PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    browser
}

// R12: after a reset the overview says until when deletion waits, Start is disabled, and
// a Start sent anyway creates no flow and writes no audit line.
async fn the_pause_shows_on_the_overview_and_starts_nothing(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.deletion.captcha = CaptchaPolicy::Never).await;
    let email = "paused@example.com";
    let browser = signed_in(&app, email).await;
    let account = app
        .state
        .store
        .find_account_by_email(&offboard_core::EmailAddress::parse(email).unwrap())
        .await
        .unwrap()
        .unwrap()
        .id;
    let until = app.state.now() + time::Duration::hours(24);
    app.state
        .store
        .set_cooloff_until(account, until)
        .await
        .unwrap();

    let overview = page(&app, &browser, "/security/delete").await;
    let shown = offboard_core::clock::human_time(until);
    assert!(overview.contains(&shown), "the end of the pause: {shown}");
    assert!(overview.contains(&format!(
        "datetime=\"{}\"",
        offboard_core::clock::rfc3339(until)
    )));
    assert!(overview.contains("disabled"), "Start is disabled");

    let res = start_by_form(&app, &browser).await;
    assert_eq!(res.status(), 403, "refused on the overview itself");
    assert!(res.text().await.unwrap().contains(&shown));
    assert!(app.state.store.live_flow(account).await.unwrap().is_none());
    let audit = app.state.store.audit_of_account(account).await.unwrap();
    assert!(audit.iter().all(|e| e.action != "deletion_started"));

    app.advance(24 * 3600 + 1).await;
    let browser = signed_in_again(&app, email).await;
    let overview = page(&app, &browser, "/security/delete").await;
    assert!(!overview.contains("disabled") && !overview.contains(&shown));
    assert_eq!(start_by_form(&app, &browser).await.status(), 303);
}

/// The browser's flow at the verification step, with an authenticator bound; returns the
/// flow's path and the authenticator secret.
async fn at_verification(
    app: &TestApp,
    browser: &reqwest::Client,
    email: &str,
) -> (String, String) {
    let token = app.login(email).await;
    let setup: serde_json::Value = app
        .post_json_as(&token, "/api/v1/me/totp", serde_json::json!({}))
        .await
        .json()
        .await
        .unwrap();
    let secret = setup["secret"].as_str().unwrap().to_owned();
    let code = app.next_totp(&secret).await;
    let res = app
        .post_json_as(
            &token,
            "/api/v1/me/totp/confirm",
            serde_json::json!({"code": code}),
        )
        .await;
    assert_eq!(res.status(), 204);
    let res = start_by_form(app, browser).await;
    let flow_path = res.headers()["location"].to_str().unwrap().to_owned();
    let csrf = extract_csrf(&page(app, browser, &flow_path).await).unwrap();
    let res = browser
        .post(app.url(&format!("{flow_path}/confirm")))
        .form(&[("csrf_token", csrf.as_str()), ("acknowledged", "true")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    (flow_path, secret)
}

async fn submit_codes(
    app: &TestApp,
    browser: &reqwest::Client,
    flow_path: &str,
    email_code: &str,
    totp_code: &str,
) -> (u16, String) {
    let csrf = extract_csrf(&page(app, browser, flow_path).await).unwrap();
    let res = browser
        .post(app.url(&format!("{flow_path}/verify")))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("email_code", email_code),
            ("totp_code", totp_code),
        ])
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

fn marked(html: &str, id: &str) -> bool {
    let Some(at) = html.find(&format!("id=\"{id}\"")) else {
        return false;
    };
    let tag_end = at + html[at..].find('>').unwrap();
    let tag = &html[html[..at].rfind('<').unwrap()..tag_end];
    tag.contains("aria-invalid=\"true\"") && tag.contains(&format!("{id}-error"))
}

// R5 and issue 15: every wrong code is named on its own field (aria-invalid, its message
// tied to it), and a code that was right is typed back in, since nothing was used up.
async fn every_wrong_code_is_marked_and_good_ones_are_kept(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.deletion.captcha = CaptchaPolicy::Never).await;
    let email = "fields@example.com";
    let browser = signed_in(&app, email).await;
    let (flow_path, secret) = at_verification(&app, &browser, email).await;
    let csrf = extract_csrf(&page(&app, &browser, &flow_path).await).unwrap();
    let res = browser
        .post(app.url(&format!("{flow_path}/codes")))
        .form(&[("csrf_token", csrf.as_str()), ("channel", "email")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let email_code = app.latest_code(email).await;
    let wrong = |code: &str| if code == "000000" { "111111" } else { "000000" }.to_owned();

    // Both wrong: both marked, neither kept.
    let wrong_totp = wrong(&app.totp_now(&secret, 0));
    let (status, html) =
        submit_codes(&app, &browser, &flow_path, &wrong(&email_code), &wrong_totp).await;
    assert_eq!(status, 400);
    assert!(
        marked(&html, "email-code") && marked(&html, "totp-code"),
        "both fields marked"
    );
    assert!(html.contains("More than one code was not accepted"));
    assert!(
        html.contains("tries left for this code"),
        "the email field says what to do"
    );
    assert!(
        html.contains("check that your phone sets its clock"),
        "so does the authenticator's"
    );

    // The email code right, the authenticator code wrong: only that one marked, the email
    // code kept in its field, and it still works afterwards.
    let (status, html) = submit_codes(&app, &browser, &flow_path, &email_code, &wrong_totp).await;
    assert_eq!(status, 400);
    assert!(marked(&html, "totp-code") && !marked(&html, "email-code"));
    assert!(
        html.contains(&format!("value=\"{email_code}\"")),
        "the right email code is typed back in"
    );
    let totp = app.next_totp(&secret).await;
    let (status, _) = submit_codes(&app, &browser, &flow_path, &email_code, &totp).await;
    assert_eq!(status, 303, "the kept email code still confirms");
}

// R4 and issue 15: the assets step's Withdraw opens the form with its asset chosen and a
// Max; a code request answers beside its buttons, keeps the asset, shows its wait, and
// after the code was used the refusal says so instead of "still works".
async fn the_assets_detour_preselects_and_answers_beside_the_buttons(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.deletion.captcha = CaptchaPolicy::Never).await;
    let email = "detour@example.com";
    let browser = signed_in(&app, email).await;
    let account = app
        .state
        .store
        .find_account_by_email(&offboard_core::EmailAddress::parse(email).unwrap())
        .await
        .unwrap()
        .unwrap()
        .id;
    let now = app.state.now();
    app.state
        .store
        .deposit(
            account,
            "BTC",
            "0.25".parse().unwrap(),
            Some("detour-seed"),
            now,
        )
        .await
        .unwrap();
    let res = start_by_form(&app, &browser).await;
    let flow_path = res.headers()["location"].to_str().unwrap().to_owned();
    let csrf = extract_csrf(&page(&app, &browser, &flow_path).await).unwrap();
    let res = browser
        .post(app.url(&format!("{flow_path}/confirm")))
        .form(&[("csrf_token", csrf.as_str()), ("acknowledged", "true")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let step = page(&app, &browser, &flow_path).await;
    assert!(
        step.contains("href=\"/assets?asset=BTC#withdraw\""),
        "Withdraw names the asset"
    );

    let assets = page(&app, &browser, "/assets?asset=BTC").await;
    assert!(assets.contains("<option value=\"BTC\" data-max=\"0.25\" selected>"));
    assert!(
        assets.contains("data-max-for=\"withdraw-amount\""),
        "a Max button"
    );
    assert!(
        assets.contains(BANNER),
        "and the way back into the deletion"
    );

    let res = browser
        .post(app.url("/assets/codes"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("channel", "email"),
            ("asset", "BTC"),
        ])
        .send()
        .await
        .unwrap();
    let to = res.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(to, "/assets?notice=code_sent_email&asset=BTC#withdraw");
    let assets = page(&app, &browser, to.trim_end_matches("#withdraw")).await;
    let form_at = assets.find("id=\"withdraw\"").unwrap();
    let notice_at = assets.find("We emailed you a code").unwrap();
    assert!(
        notice_at > form_at,
        "the notice sits beside the code buttons"
    );
    assert!(
        assets.contains("Get code again in"),
        "the wait shows on the button"
    );
    assert!(
        assets.contains("data-max=\"0.25\" selected"),
        "the asset is kept"
    );

    let code = app.latest_code(email).await;
    let res = browser
        .post(app.url("/assets/withdraw"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("asset", "BTC"),
            ("amount", "0.25"),
            ("address", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"),
            ("email_code", code.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "withdrawn");
    let res = browser
        .post(app.url("/assets/codes"))
        .form(&[("csrf_token", csrf.as_str()), ("channel", "email")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("The last code can no longer be used"),
        "truthful after use"
    );
    assert!(!html.contains("still works"));
}

// R2: a step shows when the idle flow closes and carries the warning page.js reveals; once
// it closed, the page says plainly that the account was not deleted and offers Start again.
async fn an_expired_deletion_says_nothing_was_deleted_and_offers_a_new_start(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.deletion.captcha = CaptchaPolicy::Never).await;
    let browser = signed_in(&app, "expired@example.com").await;
    let res = start_by_form(&app, &browser).await;
    let flow_path = res.headers()["location"].to_str().unwrap().to_owned();
    let idle = app.state.config.deletion.flow_idle.whole_seconds();

    let step = page(&app, &browser, &flow_path).await;
    let seconds_left: i64 = step
        .split("data-idle-seconds=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .and_then(|n| n.parse().ok())
        .expect("the step carries data-idle-seconds");
    assert!(
        (idle - 5..=idle).contains(&seconds_left),
        "the warning counts the whole idle limit from a fresh touch: {seconds_left} of {idle}"
    );
    assert!(step.contains("data-idle-warning hidden"));
    assert!(
        step.contains("<time datetime=\""),
        "the close time is a machine-readable time"
    );

    app.advance(idle + 1).await;
    let res = browser.get(app.url(&flow_path)).send().await.unwrap();
    assert_eq!(res.status(), 410);
    let html = res.text().await.unwrap();
    assert!(html.contains("Your account was not deleted."), "{html}");
    assert!(html.contains("href=\"/security/delete\">Start again</a>"));
    assert!(!html.contains(BANNER));

    // A form posted to the closed flow answers the same page.
    let csrf = extract_csrf(&html).unwrap();
    let res = browser
        .post(app.url(&format!("{flow_path}/confirm")))
        .form(&[("csrf_token", csrf.as_str()), ("acknowledged", "on")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 410);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("Your account was not deleted."));

    // Start again opens a new flow.
    let res = start_by_form(&app, &browser).await;
    assert_eq!(res.status(), 303);
    assert_ne!(res.headers()["location"].to_str().unwrap(), flow_path);
}
