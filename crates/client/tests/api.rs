//! The client against the real application, in process on 127.0.0.1:0 over a throw-away
//! SQLite file (dev mode: dev outbox, dev clock, admin API on, captcha always asked):
//! the bench's complete journey, a deletion with phone and password, the contract's
//! errors as `ApiError`, and the support actions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed unwrap is a failed test

use offboard_client::journey::{self, CompleteJourney, Funds};
use offboard_client::{
    AccountLookup, AccountStatus, AuditScope, Authenticator, Client, ClientError, Event,
    IdentityMethod, Outcome, Step,
};
use offboard_core::{DevClock, PasswordHasher};
use offboard_server::config::CaptchaPolicy;
use offboard_server::{AppState, Application, ServerConfig};
use offboard_store::testing::TestDatabase;
use offboard_store::{AgentRole, Backend, NewAgent};
use std::sync::{Arc, Mutex};

const ADMIN: &str = "client-test-admin-token";
const PASSWORD: &str = "client test passphrase 7";

struct App {
    address: String,
    state: AppState,
    _db: TestDatabase,
}

async fn spawn_app() -> App {
    let db = TestDatabase::new(Backend::Sqlite).await.unwrap();
    let store = db.store().await.unwrap();
    let mut config = ServerConfig::dev_defaults();
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.password_workers = 2;
    config.jobs.run = false;
    config.trust_forwarded_for = true;
    config.admin_token = Some(secrecy::SecretString::from(ADMIN));
    config.deletion.captcha = CaptchaPolicy::Always;
    let app = Application::build(config, store, Some(Arc::new(DevClock::new())))
        .await
        .unwrap();
    let address = format!("http://{}", app.address());
    let state = app.state().clone();
    tokio::spawn(app.run_until(std::future::pending()));
    App {
        address,
        state,
        _db: db,
    }
}

impl App {
    /// An admin-capable client speaking for `address`, recording request names.
    fn client(&self, address: &str) -> (Client, Arc<Mutex<Vec<Event>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&seen);
        let client = Client::builder(&self.address)
            .admin_token(ADMIN)
            .forwarded_for(address)
            .observer(move |e| sink.lock().unwrap().push(*e))
            .build()
            .unwrap();
        (client, seen)
    }
}

fn names(seen: &Mutex<Vec<Event>>) -> Vec<&'static str> {
    seen.lock().unwrap().iter().map(|e| e.name).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_complete_journey_erases_the_account() {
    let app = spawn_app().await;
    let (api, seen) = app.client("127.1.0.1");
    let plan = CompleteJourney::new("journey@example.com", PASSWORD, "J1N2I3");
    let erased = journey::complete(&api, &plan).await.unwrap();
    assert!(!erased.deleted_at.is_empty() && !erased.reregister_after.is_empty());

    let names = names(&seen);
    for name in [
        "signup",
        "login",
        "admin_deposit",
        "admin_identity",
        "me_codes",
        "dev_outbox",
        "withdrawal",
        "admin_withdrawal_complete",
        "totp_setup",
        "totp_confirm",
        "login_totp",
        "admin_hold",
        "deletion_start",
        journey::CAPTCHA_SOLVE,
        "deletion_confirm",
        "admin_hold_release",
        "deletion_assets",
        "deletion_codes",
        "deletion_verify",
        "deletion_identity",
    ] {
        assert!(names.contains(&name), "{name} not in {names:?}");
    }
    let events = seen.lock().unwrap().clone();
    let solve = events
        .iter()
        .find(|e| e.name == journey::CAPTCHA_SOLVE)
        .unwrap();
    assert_eq!(solve.outcome, Outcome::Local);
    assert!(events
        .iter()
        .filter(|e| e.name != journey::CAPTCHA_SOLVE)
        .all(|e| matches!(e.outcome, Outcome::Status(200..=299))));

    // The email is tombstoned: signing up again is refused with `allowed_from`.
    let err = api.signup(&plan.email, PASSWORD).await.unwrap_err();
    let error = err.api().unwrap();
    assert_eq!(
        (error.status, error.code.as_str()),
        (403, "reregistration_blocked")
    );
    assert!(error.detail_str("allowed_from").is_some(), "{error:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deletion_with_phone_and_password_step_by_step() {
    let app = spawn_app().await;
    let (api, _) = app.client("127.1.0.2");
    let mut user = journey::sign_up(&api, "phone@example.com", PASSWORD)
        .await
        .unwrap();
    user.bind_phone("+4915112345678").await.unwrap();
    user.deposit(&Funds::new("BTC", "0.25")).await.unwrap();
    user.empty_account(&Funds::new("BTC", "0.25"), journey::BTC_ADDRESS)
        .await
        .unwrap();
    let me = user.api.me().await.unwrap();
    assert_eq!(me.phone.as_deref(), Some("+4915112345678"));

    let mut deletion = user.start_deletion().await.unwrap();
    assert_eq!(deletion.flow().step, Step::Notes);
    assert!(deletion.flow().captcha.is_some(), "captcha = always");
    assert_eq!(deletion.confirm_notes().await.unwrap(), Step::Verification);
    deletion.verify_factors().await.unwrap();
    assert_eq!(deletion.flow().identity_method, IdentityMethod::Password);
    let erased = deletion.prove_identity().await.unwrap();
    assert_eq!(erased.account_id, me.account_id);

    // The old session is gone with the account.
    let err = user.api.me().await.unwrap_err();
    assert_eq!(err.status(), Some(401), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contract_errors_arrive_as_api_errors() {
    let app = spawn_app().await;
    let (api, _) = app.client("127.1.0.3");
    let signed = api.signup("errors@example.com", PASSWORD).await.unwrap();

    let err = api
        .signup("errors@example.com", PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("conflict"), "{err}");
    assert!(
        err.to_string().starts_with("signup: HTTP 409 conflict: "),
        "{err}"
    );

    let err = api.signup("not-an-email", PASSWORD).await.unwrap_err();
    let error = err.api().unwrap();
    assert_eq!(
        (error.status, error.code.as_str()),
        (422, "validation_error")
    );
    assert!(!error.message.is_empty());

    let err = api.me().await.unwrap_err();
    assert_eq!(err.code(), Some("unauthorized"));
    let err = api
        .login("errors@example.com", "a wrong passphrase")
        .await
        .unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(401), Some("unauthorized"))
    );

    // A step out of order: `wrong_step` with the flow's `step` among the details.
    let session = api.login("errors@example.com", PASSWORD).await.unwrap();
    let user = api.with_session(&session.token);
    assert_eq!(session.account_id, signed.account_id);
    let flow = user.deletion_start().await.unwrap();
    let err = user
        .deletion_verify(&flow.id, &Default::default())
        .await
        .unwrap_err();
    let error = err.api().unwrap();
    assert_eq!((error.status, error.code.as_str()), (409, "wrong_step"));
    assert_eq!(error.detail_str("step"), Some("notes"));
    let again = user.deletion(&flow.id).await.unwrap();
    assert_eq!(again.id, flow.id);

    // Admin requests without the admin token; an unknown flow; an empty outbox.
    let err = user
        .without_session()
        .with_admin_token("wrong")
        .admin_deposit(&signed.account_id, "BTC", "1", None)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(401), "{err}");
    let err = user.deletion("../../me").await.unwrap_err();
    assert_eq!(err.status(), Some(404), "{err}");
    let err = api.latest_code("nobody@example.com").await.unwrap_err();
    assert!(matches!(err, ClientError::NoCode { .. }), "{err}");
    assert!(!api.dev_advance_clock(60).await.unwrap().now.is_empty());
    user.logout().await.unwrap();
    assert_eq!(user.me().await.unwrap_err().status(), Some(401));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn support_agents_find_accounts_and_read_the_audit() {
    let app = spawn_app().await;
    let (api, _) = app.client("127.1.0.4");
    let user = journey::sign_up(&api, "supported@example.com", PASSWORD)
        .await
        .unwrap();

    let (email, password) = ("ann@support.test", "agent-password-0123456789");
    let secret = offboard_core::totp::generate_secret();
    let id = format!("agent-{email}");
    app.state
        .store
        .create_agent(NewAgent {
            id: &id,
            email,
            password_hash: &PasswordHasher::with_params(256, 1, 1).hash(password),
            totp_secret: &offboard_core::totp::seal_secret(
                &app.state.config.keys.secrets,
                &id,
                &secret,
            ),
            role: AgentRole::Agent,
            now: app.state.clock.now(),
        })
        .await
        .unwrap();
    api.dev_advance_clock(30).await.unwrap();
    let authenticator = Authenticator::new(secret);
    let code = authenticator.code_at_offset(0).unwrap();
    let token = api.support_login(email, password, &code).await.unwrap();
    let agent = api.with_session(&token.token);

    let found = agent
        .support_find_accounts(&AccountLookup::Email(user.email.clone()))
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].account_id, user.account_id);
    assert_eq!(found[0].status, AccountStatus::Active);
    assert!(agent.support_recovery_requests().await.unwrap().is_empty());
    agent
        .support_unlock_identity(&user.account_id, "client test")
        .await
        .unwrap();
    let audit = agent
        .support_audit(&AuditScope::Account(user.account_id.clone()))
        .await
        .unwrap();
    assert!(
        audit.iter().any(|a| a.agent.as_deref() == Some(email)),
        "{audit:?}"
    );
    // A user's session is no agent's.
    let err = user
        .api
        .support_find_accounts(&AccountLookup::AccountId(user.account_id.clone()))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(401), "{err}");
}
