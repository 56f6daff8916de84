//! Passkeys (R16) over the JSON API with a software authenticator, on both backends:
//! registration, sign-in alone and as the second step, a factor of the deletion and of
//! removals, and the refusals (replay, another challenge or origin, a counter that goes
//! back, the limit of 10 under parallel requests).

use crate::helpers::{error_code, spawn_app, spawn_app_with, TestApp, PASSWORD};
use crate::identity::Db;
use crate::passkey_device::Device;
use offboard_store::Backend;
use serde_json::{json, Value};

crate::both_backends!(
    r16_register_list_rename_and_sign_in_with_the_passkey_alone,
    r16_passkey_as_the_second_step_after_the_password,
    r16_deletion_verification_needs_passkey_totp_and_email,
    r16_a_replayed_assertion_is_refused,
    r16_an_assertion_for_another_challenge_or_origin_is_refused,
    r16_a_counter_that_goes_back_is_refused_and_audited,
    r16_at_most_ten_passkeys_even_in_parallel,
    r16_removing_a_passkey_needs_every_factor,
    r16_require_passkey_makes_the_passkey_the_second_step_and_keeps_the_last,
    r16_a_burst_of_sign_in_starts_crowds_out_only_its_own_address,
    r17_r21_a_passkey_change_alerts_and_a_frozen_account_signs_in_with_no_passkey,
    r16_a_withdrawal_needs_the_passkey_with_the_codes,
);

async fn json_of(res: reqwest::Response) -> Value {
    res.json().await.unwrap()
}

/// Registers a passkey named `name` on `device` for the session `token`.
pub(crate) async fn add_passkey(
    app: &TestApp,
    token: &str,
    device: &mut Device,
    name: &str,
) -> Value {
    let res = app
        .post_json_as(
            token,
            "/api/v1/me/passkeys/registration",
            json!({"name": name}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let begun = json_of(res).await;
    let credential = device.register(&begun["options"]);
    let res = app
        .post_json_as(
            token,
            "/api/v1/me/passkeys",
            json!({"ceremony": begun["ceremony"], "credential": credential}),
        )
        .await;
    assert_eq!(res.status(), 201, "{:?}", res.text().await);
    json_of(res).await
}

/// A challenge of `purpose` for this session, answered by `device`.
pub(crate) async fn passkey_proof(
    app: &TestApp,
    token: &str,
    device: &mut Device,
    purpose: &str,
) -> Value {
    let res = app
        .post_json_as(
            token,
            "/api/v1/me/passkeys/challenge",
            json!({"purpose": purpose}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let begun = json_of(res).await;
    let credential = device.assert(&begun["options"]);
    json!({"ceremony": begun["ceremony"], "credential": credential})
}

async fn user_with_passkey(app: &TestApp, email: &str) -> (String, Device) {
    app.signup(email).await;
    let token = app.login(email).await;
    let mut device = Device::new();
    add_passkey(app, &token, &mut device, "Laptop").await;
    (token, device)
}

async fn sign_in_options(app: &TestApp) -> Value {
    let res = app
        .post_json("/api/v1/login/passkey/options", json!({}))
        .await;
    assert_eq!(res.status(), 200);
    json_of(res).await
}

async fn finish_sign_in(app: &TestApp, ceremony: &Value, credential: &Value) -> reqwest::Response {
    app.post_json(
        "/api/v1/login/passkey",
        json!({"ceremony": ceremony, "credential": credential}),
    )
    .await
}

async fn actions(app: &TestApp, token: &str) -> Vec<String> {
    let me = json_of(app.get_as(token, "/api/v1/me").await).await;
    let id = me["account_id"].as_str().unwrap().parse().unwrap();
    app.state
        .store
        .audit_of_account(id)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.action)
        .collect()
}

async fn r16_register_list_rename_and_sign_in_with_the_passkey_alone(backend: Backend) {
    let app = spawn_app(backend).await;
    let (token, mut device) = user_with_passkey(&app, "pk-alone@example.com").await;
    let list = json_of(app.get_as(&token, "/api/v1/me/passkeys").await).await;
    let keys = list["passkeys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["name"], "Laptop");
    assert!(keys[0]["last_used_at"].is_null());
    assert_eq!(list["require_passkey"], false);
    let me = json_of(app.get_as(&token, "/api/v1/me").await).await;
    assert_eq!(me["factors"], json!(["email", "passkey"]));

    let id = keys[0]["id"].as_str().unwrap();
    let res = app
        .api
        .patch(app.url(&format!("/api/v1/me/passkeys/{id}")))
        .bearer_auth(&token)
        .json(&json!({"name": "Work laptop"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let res = app
        .api
        .patch(app.url(&format!("/api/v1/me/passkeys/{id}")))
        .bearer_auth(&token)
        .json(&json!({"name": "bad\u{7}name"}))
        .send()
        .await
        .unwrap();
    assert!(
        matches!(res.status().as_u16(), 400 | 422),
        "control characters are refused: {}",
        res.status()
    );

    let begun = sign_in_options(&app).await;
    assert_eq!(
        begun["options"]["publicKey"]["userVerification"],
        "required"
    );
    assert_eq!(begun["options"]["mediation"], "conditional");
    let credential = device.assert(&begun["options"]);
    let res = finish_sign_in(&app, &begun["ceremony"], &credential).await;
    assert_eq!(res.status(), 200, "{:?}", res.text().await);
    let signed_in = json_of(res).await;
    let new_token = signed_in["token"].as_str().unwrap();
    let list = json_of(app.get_as(new_token, "/api/v1/me/passkeys").await).await;
    assert_eq!(list["passkeys"][0]["name"], "Work laptop");
    assert!(
        list["passkeys"][0]["last_used_at"].is_string(),
        "the use is recorded"
    );
    let audited = actions(&app, new_token).await;
    assert!(audited.contains(&"passkey_added".to_owned()), "{audited:?}");
    assert!(audited.contains(&"login".to_owned()));
}

async fn r16_passkey_as_the_second_step_after_the_password(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, mut device) = user_with_passkey(&app, "pk-second@example.com").await;
    let res = app
        .post_json(
            "/api/v1/login",
            json!({"email": "pk-second@example.com", "password": PASSWORD}),
        )
        .await;
    let (status, body) = error_code(res).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "passkey_required");
    assert_eq!(body["error"]["totp_allowed"], false);
    let step = &body["error"]["passkey"];
    let allowed = step["options"]["publicKey"]["allowCredentials"]
        .as_array()
        .unwrap();
    assert_eq!(
        allowed.len(),
        1,
        "the challenge names the account's passkey"
    );
    let credential = device.assert(&step["options"]);
    let res = finish_sign_in(&app, &step["ceremony"], &credential).await;
    assert_eq!(res.status(), 200, "{:?}", res.text().await);

    // A wrong password never reaches the passkey step (no challenge, no enumeration).
    let res = app
        .post_json(
            "/api/v1/login",
            json!({"email": "pk-second@example.com", "password": "not the password at all"}),
        )
        .await;
    let (status, body) = error_code(res).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("unauthorized"))
    );
}

async fn r16_deletion_verification_needs_passkey_totp_and_email(backend: Backend) {
    let app = spawn_app(backend).await;
    let email = "pk-delete@example.com";
    let (token, secret) = app.user_with_totp(email).await;
    let mut device = Device::new();
    add_passkey(&app, &token, &mut device, "Phone").await;
    let flow = json_of(
        app.post_json_as(&token, "/api/v1/deletion", json!({}))
            .await,
    )
    .await;
    assert_eq!(flow["factors"], json!(["email", "totp", "passkey"]));
    let id = flow["id"].as_str().unwrap().to_owned();
    let step = |action: &str| format!("/api/v1/deletion/{id}/{action}");
    let body = match flow["captcha"].is_null() {
        true => json!({"acknowledged": true}),
        false => {
            let challenge = serde_json::from_value(flow["captcha"].clone()).unwrap();
            json!({"acknowledged": true, "captcha": offboard_core::captcha::solve(&challenge).unwrap()})
        }
    };
    assert_eq!(
        app.post_json_as(&token, &step("confirm"), body)
            .await
            .status(),
        200
    );
    app.advance(61).await;
    let res = app
        .post_json_as(&token, &step("codes"), json!({"channel": "email"}))
        .await;
    assert_eq!(res.status(), 202);
    let code = app.latest_code(email).await;

    // One authenticator code for the three tries: a refused request uses up no code.
    let totp = app.next_totp(&secret).await;
    // Email and authenticator alone are not every bound factor.
    let without = json!({"email_code": code, "totp_code": totp});
    let (status, body) = error_code(app.post_json_as(&token, &step("verify"), without).await).await;
    assert_eq!(status, 422);
    assert!(body.to_string().contains("passkey"), "{body}");

    // A passkey challenge of another purpose does not approve the deletion.
    let wrong = passkey_proof(&app, &token, &mut device, "withdrawal").await;
    let codes = json!({"email_code": code, "totp_code": totp, "passkey": wrong});
    let (status, body) = error_code(app.post_json_as(&token, &step("verify"), codes).await).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("passkey_ceremony_unknown"))
    );

    let proof = passkey_proof(&app, &token, &mut device, "deletion").await;
    let codes = json!({"email_code": code, "totp_code": totp, "passkey": proof});
    let res = app.post_json_as(&token, &step("verify"), codes).await;
    assert_eq!(res.status(), 200, "{:?}", res.text().await);
    assert_eq!(json_of(res).await["step"], "identity");
    let done = app
        .post_json_as(&token, &step("identity"), json!({"password": PASSWORD}))
        .await;
    assert_eq!(done.status(), 200, "{:?}", done.text().await);

    // The credentials went with the account: the passkey is unknown now.
    let begun = sign_in_options(&app).await;
    let credential = device.assert(&begun["options"]);
    let (status, body) =
        error_code(finish_sign_in(&app, &begun["ceremony"], &credential).await).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("passkey_unknown"))
    );
}

async fn r16_a_replayed_assertion_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, mut device) = user_with_passkey(&app, "pk-replay@example.com").await;
    let begun = sign_in_options(&app).await;
    let credential = device.assert(&begun["options"]);
    assert_eq!(
        finish_sign_in(&app, &begun["ceremony"], &credential)
            .await
            .status(),
        200
    );
    let (status, body) =
        error_code(finish_sign_in(&app, &begun["ceremony"], &credential).await).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("passkey_ceremony_unknown"))
    );

    // Nor under a fresh ceremony: its challenge is another one.
    let fresh = sign_in_options(&app).await;
    let (status, body) =
        error_code(finish_sign_in(&app, &fresh["ceremony"], &credential).await).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("passkey_invalid"))
    );
}

async fn r16_an_assertion_for_another_challenge_or_origin_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let (token, mut device) = user_with_passkey(&app, "pk-origin@example.com").await;
    let first = sign_in_options(&app).await;
    let second = sign_in_options(&app).await;
    let for_first = device.assert(&first["options"]);
    let (status, body) =
        error_code(finish_sign_in(&app, &second["ceremony"], &for_first).await).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("passkey_invalid"))
    );

    // The same credential, used by a page at another origin (a phishing subdomain, a
    // wrong port): the browser would sign, the server refuses.
    for origin in ["https://evil.localhost", "http://localhost:8081"] {
        let mut phished = Device::at(origin);
        let options = json_of(
            app.post_json_as(
                &token,
                "/api/v1/me/passkeys/registration",
                json!({"name": "Other"}),
            )
            .await,
        )
        .await;
        let credential = phished.register(&options["options"]);
        let res = app
            .post_json_as(
                &token,
                "/api/v1/me/passkeys",
                json!({"ceremony": options["ceremony"], "credential": credential}),
            )
            .await;
        let (status, body) = error_code(res).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some("passkey_invalid")),
            "{origin}"
        );
    }
    // The registered key, answering a page at the wrong origin.
    let begun = sign_in_options(&app).await;
    device.retarget("https://evil.localhost");
    let credential = device.assert(&begun["options"]);
    let (status, body) =
        error_code(finish_sign_in(&app, &begun["ceremony"], &credential).await).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("passkey_invalid"))
    );
}

async fn r16_a_counter_that_goes_back_is_refused_and_audited(backend: Backend) {
    let app = spawn_app(backend).await;
    let (token, mut device) = user_with_passkey(&app, "pk-clone@example.com").await;
    // Two assertions signed in order (counter n+1, then n+2); the later one is used
    // first, as a copy of the authenticator would.
    let early = sign_in_options(&app).await;
    let late = sign_in_options(&app).await;
    let early_credential = device.assert(&early["options"]);
    let late_credential = device.assert(&late["options"]);
    assert_eq!(
        finish_sign_in(&app, &late["ceremony"], &late_credential)
            .await
            .status(),
        200
    );
    let (status, body) =
        error_code(finish_sign_in(&app, &early["ceremony"], &early_credential).await).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("passkey_cloned"))
    );
    let audited = actions(&app, &token).await;
    assert!(
        audited.contains(&"passkey_clone_suspected".to_owned()),
        "{audited:?}"
    );
}

async fn r16_at_most_ten_passkeys_even_in_parallel(backend: Backend) {
    let app = spawn_app(backend).await;
    app.signup("pk-limit@example.com").await;
    let token = app.login("pk-limit@example.com").await;
    // 12 registrations begun while the account has none, then finished at once.
    let mut finishes = Vec::new();
    for n in 0..12 {
        let begun = json_of(
            app.post_json_as(
                &token,
                "/api/v1/me/passkeys/registration",
                json!({"name": format!("Key {n}")}),
            )
            .await,
        )
        .await;
        let credential = Device::new().register(&begun["options"]);
        finishes.push(json!({"ceremony": begun["ceremony"], "credential": credential}));
    }
    let results = futures::future::join_all(
        finishes
            .into_iter()
            .map(|body| app.post_json_as(&token, "/api/v1/me/passkeys", body)),
    )
    .await;
    let created = results.iter().filter(|r| r.status() == 201).count();
    let refused = results.iter().filter(|r| r.status() == 409).count();
    assert_eq!((created, refused), (10, 2));
    let list = json_of(app.get_as(&token, "/api/v1/me/passkeys").await).await;
    assert_eq!(list["passkeys"].as_array().unwrap().len(), 10);
    let (status, body) = error_code(
        app.post_json_as(
            &token,
            "/api/v1/me/passkeys/registration",
            json!({"name": "Eleventh"}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("passkey_limit"))
    );
}

async fn unbind_email_code(app: &TestApp, token: &str, email: &str) -> String {
    app.advance(61).await;
    let res = app
        .post_json_as(
            token,
            "/api/v1/me/codes",
            json!({"channel": "email", "purpose": "unbind"}),
        )
        .await;
    assert_eq!(res.status(), 202);
    app.latest_code(email).await
}

async fn r16_removing_a_passkey_needs_every_factor(backend: Backend) {
    let app = spawn_app(backend).await;
    let email = "pk-remove@example.com";
    let (token, mut device) = user_with_passkey(&app, email).await;
    let list = json_of(app.get_as(&token, "/api/v1/me/passkeys").await).await;
    let path = format!(
        "/api/v1/me/passkeys/{}",
        list["passkeys"][0]["id"].as_str().unwrap()
    );
    let code = unbind_email_code(&app, &token, email).await;
    let (status, body) = error_code(
        app.delete_json_as(&token, &path, json!({"email_code": code}))
            .await,
    )
    .await;
    assert_eq!(status, 422, "the passkey itself is a bound factor: {body}");
    let proof = passkey_proof(&app, &token, &mut device, "unbind").await;
    let res = app
        .delete_json_as(&token, &path, json!({"email_code": code, "passkey": proof}))
        .await;
    assert_eq!(res.status(), 204, "{:?}", res.text().await);
    let me = json_of(app.get_as(&token, "/api/v1/me").await).await;
    assert_eq!(me["factors"], json!(["email"]));
    let audited = actions(&app, &token).await;
    assert!(
        audited.contains(&"passkey_removed".to_owned()),
        "{audited:?}"
    );
}

async fn r16_require_passkey_makes_the_passkey_the_second_step_and_keeps_the_last(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let email = "pk-require@example.com";
    let (token, secret) = app.user_with_totp(email).await;
    let mut device = Device::new();
    add_passkey(&app, &token, &mut device, "Phone").await;
    let put = |body: Value| {
        app.api
            .put(app.url("/api/v1/me/passkeys/required"))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    assert_eq!(
        put(json!({"require_passkey": true}))
            .await
            .unwrap()
            .status(),
        204
    );

    // An authenticator code no longer replaces the passkey at sign-in.
    let res = app
        .post_json(
            "/api/v1/login",
            json!({"email": email, "password": PASSWORD, "totp_code": app.next_totp(&secret).await}),
        )
        .await;
    let (status, body) = error_code(res).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("passkey_required"))
    );
    assert_eq!(body["error"]["totp_allowed"], false);

    // The last passkey stays while it is required.
    let list = json_of(app.get_as(&token, "/api/v1/me/passkeys").await).await;
    let path = format!(
        "/api/v1/me/passkeys/{}",
        list["passkeys"][0]["id"].as_str().unwrap()
    );
    let code = unbind_email_code(&app, &token, email).await;
    let proof = passkey_proof(&app, &token, &mut device, "unbind").await;
    let codes =
        json!({"email_code": code, "totp_code": app.next_totp(&secret).await, "passkey": proof});
    let (status, body) = error_code(app.delete_json_as(&token, &path, codes).await).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("passkey_still_required"))
    );
}

/// A sign-in start from `address` (behind the trusted proxy).
async fn sign_in_options_from(app: &TestApp, address: &str) -> Value {
    let res = app
        .api
        .post(app.url("/api/v1/login/passkey/options"))
        .header("x-forwarded-for", address)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "a start is never refused");
    json_of(res).await
}

/// Anonymous sign-in starts are kept server-side; a flood from one address must neither
/// grow the table without bound nor crowd out anyone else's sign-in: each address keeps
/// its newest 20, older ones lapse.
async fn r16_a_burst_of_sign_in_starts_crowds_out_only_its_own_address(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.trust_forwarded_for = true).await;
    let (_, mut device) = user_with_passkey(&app, "pk-flood@example.com").await;
    let db = Db::open(&app).await;
    assert_eq!(db.count("passkey_ceremonies").await, 0);
    let other = sign_in_options_from(&app, "198.51.100.7").await;
    let first = sign_in_options_from(&app, "203.0.113.9").await;
    app.advance(1).await;
    let burst = (0..40).map(|_| sign_in_options_from(&app, "203.0.113.9"));
    futures::future::join_all(burst).await;
    let last = sign_in_options_from(&app, "203.0.113.9").await;
    assert_eq!(
        db.count("passkey_ceremonies").await,
        21,
        "the flooding address keeps its newest 20, the other address its one"
    );

    let credential = device.assert(&first["options"]);
    let (status, body) =
        error_code(finish_sign_in(&app, &first["ceremony"], &credential).await).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("passkey_ceremony_unknown")),
        "the flooding address's oldest start lapsed"
    );
    let credential = device.assert(&other["options"]);
    let res = finish_sign_in(&app, &other["ceremony"], &credential).await;
    assert_eq!(
        res.status(),
        200,
        "another address still signs in: {:?}",
        res.text().await
    );
    let credential = device.assert(&last["options"]);
    let res = finish_sign_in(&app, &last["ceremony"], &credential).await;
    assert_eq!(
        res.status(),
        200,
        "the newest start of the flooding address works"
    );
}

/// R21: adding and removing a passkey are factor changes, each alerted; R17: once frozen,
/// the passkey signs nobody in (said after the assertion proved its owner, like the
/// password sign-in), and no passkey can be added.
async fn r17_r21_a_passkey_change_alerts_and_a_frozen_account_signs_in_with_no_passkey(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let email = "pk-frozen@example.com";
    let (token, mut device) = user_with_passkey(&app, email).await;
    assert_eq!(
        crate::alerts::alert_subjects(&app, email).await,
        ["offboard security alert: second factor added"],
        "one alert for the added passkey"
    );
    let res = app
        .post_json_as(&token, "/api/v1/me/freeze", json!({}))
        .await;
    assert_eq!(res.status(), 200, "{:?}", res.text().await);

    let begun = sign_in_options(&app).await;
    let credential = device.assert(&begun["options"]);
    let (status, body) =
        error_code(finish_sign_in(&app, &begun["ceremony"], &credential).await).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("account_frozen"))
    );
    let res = app
        .post_json(
            "/api/v1/login",
            json!({"email": email, "password": PASSWORD}),
        )
        .await;
    let (status, body) = error_code(res).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("account_frozen")),
        "the password sign-in says the same, before any passkey step"
    );
}

/// R16: a bound passkey is one of "every bound factor" of a withdrawal: missing, or an
/// assertion for another purpose, is refused without using up the right email code.
async fn r16_a_withdrawal_needs_the_passkey_with_the_codes(backend: Backend) {
    let app = crate::alerts::app(backend).await;
    let email = "pk-withdraw@example.com";
    let id = app.signup(email).await;
    let token = app.login(email).await;
    let mut device = Device::new();
    add_passkey(&app, &token, &mut device, "Phone").await;
    crate::ledger::deposit(&app, &id, "ETH", "2").await;
    let res = app
        .post_json_as(
            &token,
            "/api/v1/me/codes",
            json!({"channel": "email", "purpose": "withdrawal"}),
        )
        .await;
    assert_eq!(res.status(), 202);
    let code = app.latest_code(email).await;
    let withdraw = |body: Value| app.post_json_as(&token, "/api/v1/me/withdrawals", body);
    let address = "0x52908400098527886E0F7030069857D2E4169EE7";
    let base = json!({"asset": "ETH", "amount": "0.5", "address": address, "email_code": code});

    let (status, body) = error_code(withdraw(base.clone()).await).await;
    assert_eq!(
        (
            status,
            body["error"]["code"].as_str(),
            body["error"]["field"].as_str()
        ),
        (422, Some("validation_error"), Some("passkey")),
        "no assertion: {body}"
    );
    let mut other_purpose = base.clone();
    other_purpose["passkey"] = passkey_proof(&app, &token, &mut device, "deletion").await;
    let (status, body) = error_code(withdraw(other_purpose).await).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("passkey_ceremony_unknown")),
        "a deletion's challenge does not confirm a withdrawal: {body}"
    );
    let mut right = base.clone();
    right["passkey"] = passkey_proof(&app, &token, &mut device, "withdrawal").await;
    let res = withdraw(right).await;
    assert_eq!(res.status(), 201, "{:?}", res.text().await);
}
