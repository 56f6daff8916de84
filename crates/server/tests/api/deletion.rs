//! The deletion journey over HTTP (PRODUCT.md R1-R10, R12-R14), on both databases,
//! driven through the typed client (offboard-client); the final step's byte-for-byte
//! comparison of old and unknown credentials stays on raw HTTP.

use crate::both_backends;
use crate::helpers::{api_error, refused, spawn_app_with, TestApp, PASSWORD};
use crate::identity::Db;
use crate::ledger::ADMIN;
use offboard_app::config::CaptchaPolicy;
use offboard_client::journey::{self, Funds, User};
use offboard_client::{
    captcha, BlockerKind, Channel, Client, CodePurpose, ConfirmNotes, Document, DocumentType,
    Factor, FactorCodes, IdentityMethod, IdentityProof, Step, WithdrawalRequest,
};
use offboard_store::Backend;
use serde_json::json;

both_backends!(
    the_whole_journey_with_every_obstacle,
    final_step_and_deposit_race,
    two_tabs_delete_once,
    every_statement_of_the_final_step_is_all_or_nothing,
    identity_step_locks_after_five_tries_across_flows,
    flows_expire_when_idle_and_only_one_is_live,
    accounts_without_identity_confirm_with_their_password,
    cool_off_after_a_reset_refuses_deletion,
    nothing_personal_is_left_in_any_table,
    purge_removes_tombstones_and_retained_records_when_due,
);

pub(crate) const ID: &str = "X12-345.678";

pub(crate) async fn app(backend: Backend, captcha: CaptchaPolicy) -> TestApp {
    spawn_app_with(backend, move |c| {
        c.admin_token = Some(secrecy::SecretString::from(ADMIN));
        c.deletion.captcha = captcha;
    })
    .await
}

/// A passport with `number` that expired in 2020 (R6: the deletion still accepts it).
fn expired_passport(number: &str) -> Document {
    Document {
        document_type: DocumentType::Passport,
        document_number: number.to_owned(),
        country: "DE".to_owned(),
        expires_on: "2020-01-31".to_owned(),
    }
}

/// A signed-in user who submitted a passport numbered `document` (dev mode approves at
/// once; R19: one document number per live account).
pub(crate) async fn verified(app: &TestApp, email: &str, document: &str) -> User {
    let mut user = app.user(email).await;
    user.api
        .submit_identity(&expired_passport(document))
        .await
        .unwrap();
    user.document_number = Some(document.to_owned());
    user
}

/// A user with an approved identity (dev mode approves at once); returns (id, token).
pub(crate) async fn user(app: &TestApp, email: &str) -> (String, String) {
    user_with_document(app, email, ID).await
}

/// A user verified with `document` (R19: one document number per live account).
pub(crate) async fn user_with_document(
    app: &TestApp,
    email: &str,
    document: &str,
) -> (String, String) {
    let user = verified(app, email, document).await;
    let token = user.api.session().unwrap().to_owned();
    (user.account_id, token)
}

/// The captcha's answer, solved like the browser solves it.
async fn solve(challenge: &offboard_client::Challenge) -> String {
    captcha::solve(challenge).await.unwrap()
}

pub(crate) fn id_number(number: &str) -> IdentityProof {
    IdentityProof::IdNumber(number.to_owned())
}

fn email_codes(code: &str) -> FactorCodes {
    FactorCodes {
        email_code: Some(code.to_owned()),
        ..FactorCodes::default()
    }
}

/// A raw request to a flow's action (for the tests of the wire itself: timing, edge cases).
pub(crate) async fn post(
    app: &TestApp,
    token: &str,
    flow: &str,
    action: &str,
    body: serde_json::Value,
) -> reqwest::Response {
    app.post_json_as(token, &format!("/api/v1/deletion/{flow}/{action}"), body)
        .await
}

/// Requests a deletion code by email (waiting out the cooldown) and returns it.
async fn email_code(app: &TestApp, api: &Client, flow: &str, email: &str) -> String {
    app.advance(61).await;
    api.deletion_send_code(flow, Channel::Email).await.unwrap();
    app.latest_code(email).await
}

/// Walks a fresh user to the identity step (no captcha, nothing blocking).
pub(crate) async fn to_identity(app: &TestApp, token: &str, email: &str) -> String {
    to_identity_with(app, token, || app.latest_code(email)).await
}

/// [`to_identity`] with the email code read by `code` once it was requested (say, from
/// an SMTP sink instead of the dev outbox).
pub(crate) async fn to_identity_with<F, Fut>(app: &TestApp, token: &str, code: F) -> String
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = String>,
{
    let api = app.client_as(token);
    let flow = api.deletion_start().await.unwrap();
    let captcha = match &flow.captcha {
        None => None,
        Some(challenge) => Some(solve(challenge).await),
    };
    let confirm = ConfirmNotes::acknowledged(captcha);
    api.deletion_confirm(&flow.id, &confirm).await.unwrap();
    app.advance(61).await;
    api.deletion_send_code(&flow.id, Channel::Email)
        .await
        .unwrap();
    let code = code().await;
    api.deletion_verify(&flow.id, &email_codes(&code))
        .await
        .unwrap();
    flow.id
}

fn rfc3339(text: Option<&str>) -> time::OffsetDateTime {
    time::OffsetDateTime::parse(
        text.unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap()
}

async fn the_whole_journey_with_every_obstacle(backend: Backend) {
    let app = app(backend, CaptchaPolicy::Always).await;
    let email = "journey@example.com";
    let mut user = verified(&app, email, ID).await;
    let account = user.account_id.clone();
    let api = user.api.clone();
    user.deposit(&Funds::new("BTC", "0.5")).await.unwrap();
    let hold = user.add_hold("order", "BTC/USDT #1").await.unwrap();

    let flow = api.deletion_start().await.unwrap();
    let id = flow.id.clone();
    assert_eq!(flow.step, Step::Notes);
    assert_eq!(flow.factors, [Factor::Email]);
    assert_eq!(flow.identity_method, IdentityMethod::IdNumber);
    assert_eq!(
        api.deletion_start().await.unwrap().id,
        flow.id,
        "R2: starting again returns the live flow"
    );

    // R2: a skipped step answers with the current one.
    let err = refused(
        api.deletion_identity(&id, &id_number(ID)).await,
        409,
        "wrong_step",
    );
    assert_eq!(err.detail_str("step"), Some("notes"));
    // R3: captcha missing, then wrong.
    let notes = |captcha: Option<&str>| ConfirmNotes::acknowledged(captcha.map(str::to_owned));
    refused(
        api.deletion_confirm(&id, &notes(None)).await,
        400,
        "captcha_required",
    );
    refused(
        api.deletion_confirm(&id, &notes(Some("bm9wZQ=="))).await,
        400,
        "captcha_invalid",
    );
    let challenge = flow.captcha.as_ref().expect("R3: the notes show a captcha");
    let unacknowledged = ConfirmNotes {
        acknowledged: false,
        captcha: Some(solve(challenge).await),
    };
    let err = api_error(api.deletion_confirm(&id, &unacknowledged).await);
    assert_eq!(err.status, 422, "the notes must be acknowledged");
    let solution = solve(challenge).await;
    let at_assets = api
        .deletion_confirm(&id, &notes(Some(&solution)))
        .await
        .unwrap();
    assert_eq!(at_assets.step, Step::Assets, "R4: something blocks");
    let kinds: Vec<_> = at_assets.blocking.iter().map(|b| b.kind).collect();
    assert_eq!(kinds, [BlockerKind::Balance, BlockerKind::Hold]);
    assert_eq!(at_assets.blocking[0].action, "withdraw");

    // Withdraw the balance: it is pending, which still blocks.
    let w = user
        .withdraw(&Funds::new("BTC", "0.5"), journey::BTC_ADDRESS)
        .await
        .unwrap();
    let err = refused(
        api.deletion_check_assets(&id).await,
        409,
        "assets_remaining",
    );
    let kinds: Vec<_> = err
        .detail("blocking")
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kinds, ["pending_withdrawal", "hold"]);
    api.admin_complete_withdrawal(&w).await.unwrap();
    user.release_hold(&hold).await.unwrap();
    let flow_now = api.deletion_check_assets(&id).await.unwrap();
    assert_eq!(flow_now.step, Step::Verification);

    // R5: codes of another purpose are refused; the deletion code passes.
    app.advance(61).await;
    api.send_code(Channel::Email, CodePurpose::Withdrawal)
        .await
        .unwrap();
    let wrong_purpose = app.latest_code(email).await;
    refused(
        api.deletion_verify(&id, &email_codes(&wrong_purpose)).await,
        400,
        "invalid_code",
    );
    let code = email_code(&app, &api, &id, email).await;
    let flow_now = api.deletion_verify(&id, &email_codes(&code)).await.unwrap();
    assert_eq!(flow_now.step, Step::Identity);

    // R6: a wrong ID number counts down.
    let err = refused(
        api.deletion_identity(&id, &id_number("X12345679")).await,
        400,
        "identity_mismatch",
    );
    assert_eq!(err.detail_u64("attempts_left"), Some(4));

    // R4: a deposit lands between the steps: the final step stops, the account is intact.
    user.deposit(&Funds::new("USDT", "5")).await.unwrap();
    refused(
        api.deletion_identity(&id, &id_number(ID)).await,
        409,
        "assets_remaining",
    );
    api.me().await.expect("still there");
    let flow_now = api.deletion(&id).await.unwrap();
    assert_eq!(flow_now.step, Step::Assets, "back to the assets step");
    app.advance(61).await;
    let usdt_address = "0x52908400098527886E0F7030069857D2E4169EE7";
    let w = user
        .withdraw(&Funds::new("USDT", "5"), usdt_address)
        .await
        .unwrap();
    api.admin_complete_withdrawal(&w).await.unwrap();
    api.deletion_check_assets(&id).await.unwrap();
    let code = email_code(&app, &api, &id, email).await;
    api.deletion_verify(&id, &email_codes(&code)).await.unwrap();

    // R6: success with the number typed in another format (expired document is fine).
    let done = api
        .deletion_identity(&id, &id_number(" x12 345 678 "))
        .await
        .unwrap();
    assert_eq!(done.step, Step::Deleted);
    let deleted_at = rfc3339(done.deleted_at.as_deref());
    let after = rfc3339(done.reregister_after.as_deref());
    assert_eq!(after - deleted_at, time::Duration::days(30));

    // R7/R8: the session is gone; old credentials behave exactly like unknown ones (the
    // bytes compared, so raw HTTP).
    assert_eq!(api.me().await.unwrap_err().status(), Some(401));
    let old = app
        .post_json(
            "/api/v1/login",
            json!({"email": email, "password": PASSWORD}),
        )
        .await;
    let unknown = app
        .post_json(
            "/api/v1/login",
            json!({"email": "never@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(old.status(), unknown.status());
    assert_eq!(old.text().await.unwrap(), unknown.text().await.unwrap());
    // R12: the notice with both dates.
    let outbox = app.client().dev_outbox(Some(email)).await.unwrap();
    let notice = outbox
        .iter()
        .find(|m| m.subject.contains("deleted"))
        .expect("deletion notice");
    assert!(notice.body.contains(&deleted_at.year().to_string()));
    // R13: the event, with no personal data.
    let events = deleted_events(&app).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].0, "account.deleted");
    assert!(events[0].1.contains(&account) && !events[0].1.contains(email));
    // R4: a late deposit is refused and kept as unclaimed.
    refused(
        app.client().admin_deposit(&account, "BTC", "1", None).await,
        409,
        "account_deleted",
    );
    // R9: the same email and ID wait 30 days, then work.
    let err = refused(
        app.client().signup(email, PASSWORD).await,
        403,
        "reregistration_blocked",
    );
    assert_eq!(
        err.detail_str("allowed_from"),
        done.reregister_after.as_deref()
    );
    let other = app.user("someone.else@example.com").await;
    let document = Document {
        document_type: DocumentType::Passport,
        document_number: "x12345678".to_owned(),
        country: "DE".to_owned(),
        expires_on: "2030-01-31".to_owned(),
    };
    refused(
        other.api.submit_identity(&document).await,
        403,
        "reregistration_blocked",
    );
    app.advance(30 * 24 * 3600).await;
    app.client().signup(email, PASSWORD).await.unwrap();
    let other_token = app.login("someone.else@example.com").await;
    app.client_as(&other_token)
        .submit_identity(&document)
        .await
        .unwrap();
}

async fn final_step_and_deposit_race(backend: Backend) {
    let app = app(backend, CaptchaPolicy::Never).await;
    for round in 0..6 {
        let email = format!("race{round}@example.com");
        let document = format!("RACE-{round}-1234");
        let (account, token) = user_with_document(&app, &email, &document).await;
        let id = to_identity(&app, &token, &email).await;
        let (api, admin) = (app.client_as(&token), app.client());
        let proof = id_number(&document);
        let final_step = api.deletion_identity(&id, &proof);
        let late = admin.admin_deposit(&account, "BTC", "0.1", None);
        let (a, b) = tokio::join!(final_step, late);
        let deleted = a.is_ok();
        let deposit_status = match &b {
            Ok(_) => 201,
            Err(e) => e.status().unwrap_or_else(|| panic!("{e}")),
        };
        let alive = app
            .state
            .store
            .get_account(account.parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        let holdings = app
            .state
            .store
            .holdings(account.parse().unwrap())
            .await
            .unwrap();
        let unclaimed = app
            .state
            .store
            .deposits_of(account.parse().unwrap())
            .await
            .unwrap()
            .iter()
            .any(|d| d.status == "unclaimed");
        if deleted {
            assert_eq!(
                deposit_status, 409,
                "round {round}: deleted, so the deposit was refused"
            );
            assert!(
                unclaimed && holdings.balances.is_empty(),
                "round {round}: kept as unclaimed, never credited"
            );
            assert_eq!(alive.status, offboard_store::AccountStatus::Deleted);
        } else {
            assert_eq!(
                deposit_status, 201,
                "round {round}: the deposit landed first"
            );
            assert_eq!(
                holdings.balances.len(),
                1,
                "round {round}: the account holds it"
            );
            assert!(!unclaimed);
            assert_eq!(alive.status, offboard_store::AccountStatus::Active);
        }
    }
}

async fn two_tabs_delete_once(backend: Backend) {
    let app = app(backend, CaptchaPolicy::Never).await;
    let email = "tabs@example.com";
    let (_, token) = user(&app, email).await;
    let id = to_identity(&app, &token, email).await;
    let api = app.client_as(&token);
    let proof = id_number(ID);
    let (a, b) = tokio::join!(
        api.deletion_identity(&id, &proof),
        api.deletion_identity(&id, &proof)
    );
    let statuses = [&a, &b].map(|r| r.as_ref().map_or_else(|e| e.status(), |_| Some(200)));
    assert_eq!(
        statuses.iter().filter(|s| **s == Some(200)).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        deleted_events(&app).await.len(),
        1,
        "one deletion, one event"
    );
}

// R7: a failure at any statement of the final step (the erasure's writes go to the
// database in one batch; the fault fails it at each position in turn) leaves the
// account, its flow and its records exactly as they were.
async fn every_statement_of_the_final_step_is_all_or_nothing(backend: Backend) {
    let app = app(backend, CaptchaPolicy::Never).await;
    let email = "fault@example.com";
    let phone = "+447911123456";
    let mut user = verified(&app, email, ID).await;
    let account = user.account_id.clone();
    user.bind_phone(phone).await.unwrap();
    let api = user.api.clone();
    let flow = api.deletion_start().await.unwrap();
    let id = flow.id;
    api.deletion_confirm(&id, &ConfirmNotes::acknowledged(None))
        .await
        .unwrap();
    let code = email_code(&app, &api, &id, email).await;
    api.deletion_send_code(&id, Channel::Sms).await.unwrap();
    let sms = app.latest_code(phone).await;
    let codes = FactorCodes {
        sms_code: Some(sms),
        ..email_codes(&code)
    };
    api.deletion_verify(&id, &codes).await.unwrap();
    let mut n = 1;
    loop {
        app.state.store.inject_erasure_fault(n);
        match api.deletion_identity(&id, &id_number(ID)).await {
            Ok(_) => break,
            Err(e) => assert_eq!(e.status(), Some(500), "fault at statement {n}: {e}"),
        }
        // Untouched: the session works, the flow waits at identity, nothing was written.
        let me = api.me().await.unwrap();
        assert_eq!(
            (me.email.as_str(), me.phone.as_deref()),
            (email, Some(phone)),
            "fault at {n}"
        );
        let flow = api.deletion(&id).await.unwrap();
        assert_eq!(flow.step, Step::Identity, "fault at {n}");
        assert!(deleted_events(&app).await.is_empty(), "fault at {n}");
        assert!(
            app.state
                .store
                .retained_records(account.parse().unwrap())
                .await
                .unwrap()
                .is_empty(),
            "fault at {n}"
        );
        n += 1;
        assert!(n < 100, "the final step never succeeded");
    }
    assert!(n > 10, "the fault walked through every statement ({n})");
    app.state.store.inject_erasure_fault(0);
    assert_eq!(deleted_events(&app).await.len(), 1);
    let retained = app
        .state
        .store
        .retained_records(account.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(
        retained.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
        ["identity", "transactions"]
    );
}

async fn identity_step_locks_after_five_tries_across_flows(backend: Backend) {
    let app = app(backend, CaptchaPolicy::Never).await;
    let email = "lock@example.com";
    let (_, token) = user(&app, email).await;
    let id = to_identity(&app, &token, email).await;
    let api = app.client_as(&token);
    for left in [4, 3] {
        let err = api_error(api.deletion_identity(&id, &id_number("WRONG123")).await);
        assert_eq!(err.detail_u64("attempts_left"), Some(left));
    }
    // A new flow (after expiry) does not reset the count.
    app.advance(16 * 60).await;
    let token = app.login(email).await;
    let id = to_identity(&app, &token, email).await;
    let api = app.client_as(&token);
    for left in [2, 1] {
        let err = api_error(api.deletion_identity(&id, &id_number("WRONG123")).await);
        assert_eq!(err.detail_u64("attempts_left"), Some(left));
    }
    let err = refused(
        api.deletion_identity(&id, &id_number("WRONG123")).await,
        423,
        "identity_locked",
    );
    assert_eq!(err.help.as_deref(), Some("/help/identity-check-failed"));
    let err = api_error(api.deletion_identity(&id, &id_number(ID)).await);
    assert_eq!(err.status, 423, "locked even for the right number");
}

async fn flows_expire_when_idle_and_only_one_is_live(backend: Backend) {
    let app = app(backend, CaptchaPolicy::Never).await;
    let (_, token) = user(&app, "idle@example.com").await;
    let api = app.client_as(&token);
    let flow = api.deletion_start().await.unwrap();
    let id = flow.id.as_str();
    app.advance(14 * 60).await;
    api.deletion(id).await.unwrap();
    app.advance(15 * 60).await;
    let token = app.login("idle@example.com").await; // the session idled out too
    let api = app.client_as(&token);
    let err = api_error(api.deletion(id).await);
    assert_eq!(err.status, 404, "a flow belongs to its session");
    // Another session starts a new flow; the old one is replaced.
    let fresh = api.deletion_start().await.unwrap();
    assert_ne!(fresh.id, flow.id);
    // Someone else's flow id is just "not found".
    let stranger = verified(&app, "stranger@example.com", "STR-0001").await;
    assert_eq!(
        stranger.api.deletion(&fresh.id).await.unwrap_err().status(),
        Some(404)
    );
    // Idle on the same session: expired.
    app.advance(15 * 60 - 1).await;
    let token = app.login("idle@example.com").await;
    let api = app.client_as(&token);
    let second = api.deletion_start().await.unwrap();
    app.advance(10 * 60).await;
    api.me().await.unwrap();
    app.advance(6 * 60).await;
    refused(api.deletion(&second.id).await, 410, "flow_expired");
}

async fn accounts_without_identity_confirm_with_their_password(backend: Backend) {
    let app = app(backend, CaptchaPolicy::Never).await;
    let email = "noid@example.com";
    let api = app.user(email).await.api;
    let flow = api.deletion_start().await.unwrap();
    assert_eq!(flow.identity_method, IdentityMethod::Password);
    let id = flow.id;
    api.deletion_confirm(&id, &ConfirmNotes::acknowledged(None))
        .await
        .unwrap();
    let code = email_code(&app, &api, &id, email).await;
    api.deletion_verify(&id, &email_codes(&code)).await.unwrap();
    let wrong = IdentityProof::Password("not my password".to_owned());
    let err = api_error(api.deletion_identity(&id, &wrong).await);
    assert_eq!(
        (err.status, err.detail_u64("attempts_left")),
        (400, Some(4))
    );
    let right = IdentityProof::Password(PASSWORD.to_owned());
    api.deletion_identity(&id, &right).await.unwrap();
}

async fn cool_off_after_a_reset_refuses_deletion(backend: Backend) {
    let app = app(backend, CaptchaPolicy::Never).await;
    let (account, token) = user(&app, "cool@example.com").await;
    let until = app.state.now() + time::Duration::hours(24);
    app.state
        .store
        .set_cooloff_until(account.parse().unwrap(), until)
        .await
        .unwrap();
    let api = app.client_as(&token);
    let flow = api.deletion_start().await.unwrap();
    assert!(flow.cooloff_until.is_some(), "the notes step says so");
    let err = refused(
        api.deletion_confirm(&flow.id, &ConfirmNotes::acknowledged(None))
            .await,
        403,
        "deletion_cool_off",
    );
    assert!(err.detail_str("allowed_from").is_some());
    app.advance(24 * 3600).await;
    let api = app.client_as(&app.login("cool@example.com").await);
    let flow = api.deletion_start().await.unwrap();
    api.deletion_confirm(&flow.id, &ConfirmNotes::acknowledged(None))
        .await
        .unwrap();
}

async fn nothing_personal_is_left_in_any_table(backend: Backend) {
    let app = app(backend, CaptchaPolicy::Never).await;
    let email = "pii.person@example.com";
    let phone = "+4915123456789";
    let mut user = verified(&app, email, ID).await;
    user.bind_phone(phone).await.unwrap();
    let api = user.api.clone();
    let eth = Funds::new("ETH", "1");
    user.deposit(&eth).await.unwrap();
    api.send_code(Channel::Email, CodePurpose::Withdrawal)
        .await
        .unwrap();
    let code = app.latest_code(email).await;
    let address = "0xAbCdEf0123456789aBcDeF0123456789AbCdEf01";
    let guessed_sms = WithdrawalRequest {
        asset: eth.asset.clone(),
        amount: eth.amount.clone(),
        address: address.to_owned(),
        codes: FactorCodes {
            sms_code: Some("000000".to_owned()),
            ..email_codes(&code)
        },
    };
    // The SMS code was needed too: do it properly (a code per bound factor).
    if api.withdraw(&guessed_sms).await.is_err() {
        app.advance(61).await;
        let w = user.withdraw(&eth, address).await.unwrap();
        api.admin_complete_withdrawal(&w).await.unwrap();
    }
    let flow = api.deletion_start().await.unwrap();
    let id = flow.id;
    api.deletion_confirm(&id, &ConfirmNotes::acknowledged(None))
        .await
        .unwrap();
    let code = email_code(&app, &api, &id, email).await;
    api.deletion_send_code(&id, Channel::Sms).await.unwrap();
    let codes = FactorCodes {
        sms_code: Some(app.latest_code(phone).await),
        ..email_codes(&code)
    };
    api.deletion_verify(&id, &codes).await.unwrap();
    api.deletion_identity(&id, &id_number(ID)).await.unwrap();

    let db = Db::open(&app).await;
    let needles = [
        email.to_owned(),
        "pii.person".to_owned(),
        "4915123456789".to_owned(),
        "X12345678".to_owned(),
        address.to_lowercase(),
    ];
    for (cell, value) in db.every_cell().await {
        // The dev outbox is the mailbox of dev mode (the user's inbox, not our records).
        if cell.starts_with("dev_outbox.") {
            continue;
        }
        let lower = value.to_lowercase();
        for needle in &needles {
            assert!(
                !lower.contains(&needle.to_lowercase()),
                "{cell} still holds {needle:?}: {value}"
            );
        }
    }
    db.close().await;
}

// Rules R9, R10 (PRODUCT.md): tombstones go after the wait, retained records (rows, then
// their keys) after the retention period; re-registration works after the purge.
async fn purge_removes_tombstones_and_retained_records_when_due(backend: Backend) {
    let app = app(backend, CaptchaPolicy::Never).await;
    let email = "purge@example.com";
    let (account, token) = user(&app, email).await;
    let id = to_identity(&app, &token, email).await;
    app.client_as(&token)
        .deletion_identity(&id, &id_number(ID))
        .await
        .unwrap();
    let account: offboard_core::AccountId = account.parse().unwrap();
    let report = app
        .state
        .store
        .purge_expired(app.state.now())
        .await
        .unwrap();
    assert_eq!(
        (report.tombstones, report.retained_records),
        (0, 0),
        "nothing is due yet"
    );
    app.advance(30 * 24 * 3600).await;
    let report = app
        .state
        .store
        .purge_expired(app.state.now())
        .await
        .unwrap();
    assert_eq!(report.tombstones, 2, "the email and the document number");
    assert_eq!(
        app.state
            .store
            .retained_records(account)
            .await
            .unwrap()
            .len(),
        2,
        "kept for the retention period"
    );
    app.client().signup(email, PASSWORD).await.unwrap();
    app.advance(5 * 366 * 24 * 3600).await;
    let report = app
        .state
        .store
        .purge_expired(app.state.now())
        .await
        .unwrap();
    assert_eq!(report.retained_records, 2);
    assert!(app
        .state
        .store
        .retained_records(account)
        .await
        .unwrap()
        .is_empty());
    let db = Db::open(&app).await;
    let keys_left = db
        .every_cell()
        .await
        .into_iter()
        .filter(|(cell, _)| cell.starts_with("retention_keys."))
        .count();
    assert_eq!(
        keys_left, 0,
        "the per-record keys are gone too (crypto-shredding)"
    );
    db.close().await;
}

/// The `account.deleted` events of the outbox (starting a flow writes
/// `account.deletion_started` too).
async fn deleted_events(app: &TestApp) -> Vec<(String, String)> {
    let mut events = app.state.store.events().await.unwrap();
    events.retain(|(kind, _)| kind == "account.deleted");
    events
}
