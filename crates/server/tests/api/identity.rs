//! Identity (KYC) records: user API, admin API, the page, dev auto-approval, and proof
//! that the document number never leaves in plaintext (R6). Behaviour goes through the
//! typed client; answers compared whole (so that no extra field slips out), malformed
//! fields and the collected bodies of the leak test stay on raw HTTP.

use crate::both_backends;
use crate::helpers::{
    api_error, client, error_code, refused, spawn_app, spawn_app_with, TestApp, PASSWORD,
};
use offboard_client::{Client, Document, DocumentType, IdentityStatus as Status, ReviewStatus};
use offboard_core::identity::IdentityStatus;
use offboard_core::AccountId;
use offboard_server::Mode;
use offboard_store::Backend;
use serde_json::{json, Value};
use sqlx::Row;

both_backends!(
    user_submits_by_api_and_dev_mode_approves,
    production_submissions_wait_for_the_host,
    admin_api_needs_its_token,
    admin_api_records_and_changes_numbers,
    each_bad_field_is_named,
    page_submission_with_errors_and_status,
    document_number_is_in_no_response_and_no_table,
);

fn admin_token() -> String {
    "x".repeat(40)
}

async fn spawn_with_admin(backend: Backend, mode: Mode) -> TestApp {
    spawn_app_with(backend, |c| {
        c.admin_token = Some(secrecy::SecretString::from(admin_token()));
        c.mode = mode;
    })
    .await
}

fn document(number: &str) -> Value {
    json!({
        "document_type": "passport",
        "document_number": number,
        "country": "gb",
        "expires_on": "2020-01-31",
    })
}

/// [`document`], typed.
fn typed_document(number: &str) -> Document {
    Document {
        document_type: DocumentType::Passport,
        document_number: number.to_owned(),
        country: "gb".to_owned(),
        expires_on: "2020-01-31".to_owned(),
    }
}

fn admin_document(number: &str, status: &str) -> Value {
    let mut body = document(number);
    body["status"] = json!(status);
    body
}

/// Signs up and logs in; returns (account id, token).
async fn user(app: &TestApp, email: &str) -> (String, String) {
    let id = app.signup(email).await;
    let token = app.login(email).await;
    (id, token)
}

async fn put_identity(
    app: &TestApp,
    token: Option<&str>,
    account: &str,
    body: Value,
) -> reqwest::Response {
    let mut req = app
        .api
        .put(app.url(&format!("/api/v1/admin/accounts/{account}/identity")))
        .json(&body);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    req.send().await.unwrap()
}

async fn my_identity(app: &TestApp, token: &str) -> Value {
    let res = app.get_as(token, "/api/v1/me/identity").await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

async fn me_identity_status(app: &TestApp, token: &str) -> Status {
    app.client_as(token).me().await.unwrap().identity.status
}

/// The host's verdict on `document` through the admin API (`admin_identity`).
async fn set_identity(
    app: &TestApp,
    account: &str,
    document: &Document,
    status: ReviewStatus,
) -> Result<(), offboard_client::ClientError> {
    let admin = app.client().with_admin_token(&admin_token());
    admin.admin_set_identity(account, document, status).await
}

// Rules R6, R10 (PRODUCT.md).
async fn user_submits_by_api_and_dev_mode_approves(backend: Backend) {
    let app = spawn_app(backend).await;
    let (id, token) = user(&app, "kim@example.com").await;
    assert_eq!(my_identity(&app, &token).await, json!({"status": "none"}));
    assert_eq!(me_identity_status(&app, &token).await, Status::None);

    // Expired (2020) on purpose: R6 says the expiry does not matter.
    let res = app
        .post_json_as(&token, "/api/v1/me/identity", document("ab-12 34.56"))
        .await;
    assert_eq!(res.status(), 202);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"status": "approved"}),
        "dev mode approves at once"
    );
    assert_eq!(
        my_identity(&app, &token).await,
        json!({
            "status": "approved",
            "document_type": "passport",
            "country": "GB",
            "expires_on": "2020-01-31",
            "number_last3": "456",
        })
    );
    assert_eq!(me_identity_status(&app, &token).await, Status::Approved);

    // Stored sealed under the document key (bound to the account) and indexed by the
    // keyed hash of the normalised number.
    let account: AccountId = id.parse().unwrap();
    let row = app.state.store.identity(account).await.unwrap().unwrap();
    assert_eq!(row.numbers.len(), 1);
    let stored = &row.numbers[0];
    assert!(stored.approved_at.is_some());
    let keys = &app.state.config.keys;
    assert!(stored
        .sealed
        .starts_with(&format!("v1.{}.", keys.document.key_id())));
    let opened = keys.document.open(id.as_bytes(), &stored.sealed).unwrap();
    assert_eq!(opened.as_slice(), b"AB123456");
    assert_eq!(
        stored.index,
        keys.blind_index.keyed_hash("document-number", "AB123456")
    );
    assert_eq!(
        app.state
            .store
            .accounts_by_document_index(&stored.index)
            .await
            .unwrap(),
        [account]
    );
    let history = app.state.store.identity_history(account).await.unwrap();
    let actors: Vec<_> = history.iter().map(|h| h.actor.as_str()).collect();
    assert_eq!(actors, ["user", "system"]);
    assert!(
        history[0].change.contains("•••456"),
        "{}",
        history[0].change
    );

    let audit = app.state.store.audit_of_account(account).await.unwrap();
    let submitted = audit
        .iter()
        .find(|a| a.action == "identity_submitted")
        .unwrap();
    assert_eq!(submitted.actor, "user");
    let approved = audit
        .iter()
        .find(|a| a.action == "identity_approved")
        .unwrap();
    assert_eq!(approved.actor, "system");

    // An approved identity is not replaced by the user: a changed document goes to support.
    let api = app.client_as(&token);
    let err = refused(
        api.submit_identity(&typed_document("CD999888")).await,
        409,
        "conflict",
    );
    assert_eq!(err.help.as_deref(), Some("/help/document-changed"));
    let record = api.identity().await.unwrap();
    assert_eq!(record.number_last3.as_deref(), Some("456"));

    // Without a session: 401.
    let signed_out = app.client();
    let res = signed_out
        .submit_identity(&typed_document("AB123456"))
        .await;
    assert_eq!(res.unwrap_err().status(), Some(401));
    assert_eq!(signed_out.identity().await.unwrap_err().status(), Some(401));
}

// Rules R6, R10 (PRODUCT.md).
async fn production_submissions_wait_for_the_host(backend: Backend) {
    let app = spawn_with_admin(backend, Mode::Production).await;
    let (id, token) = user(&app, "lee@example.com").await;
    let res = app
        .post_json_as(&token, "/api/v1/me/identity", document("P1234567"))
        .await;
    assert_eq!(res.status(), 202);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"status": "pending"})
    );
    // Corrected while pending: the pending number is replaced, not added.
    let mut corrected = document("P7654321");
    corrected["document_type"] = json!("id_card");
    let res = app
        .post_json_as(&token, "/api/v1/me/identity", corrected.clone())
        .await;
    assert_eq!(res.status(), 202);
    let mine = app.client_as(&token).identity().await.unwrap();
    assert_eq!(
        (mine.status, mine.number_last3.as_deref()),
        (Status::Pending, Some("321"))
    );
    assert_eq!(mine.document_type, Some(DocumentType::IdCard));
    let account: AccountId = id.parse().unwrap();
    assert_eq!(
        app.state
            .store
            .identity(account)
            .await
            .unwrap()
            .unwrap()
            .numbers
            .len(),
        1
    );

    // The host approves what it verified.
    let verified = Document {
        document_type: DocumentType::IdCard,
        ..typed_document("P7654321")
    };
    set_identity(&app, &id, &verified, ReviewStatus::Approved)
        .await
        .unwrap();
    let mine = app.client_as(&token).identity().await.unwrap();
    assert_eq!(mine.status, Status::Approved);
    assert_eq!(me_identity_status(&app, &token).await, Status::Approved);
    let audit = app.state.store.audit_of_account(account).await.unwrap();
    assert!(audit
        .iter()
        .any(|a| a.action == "identity_submitted" && a.actor == "admin"));
    assert!(
        !audit.iter().any(|a| a.action == "identity_approved"),
        "no automatic approval in production"
    );
}

// Rules R6, R10 (PRODUCT.md).
async fn admin_api_needs_its_token(backend: Backend) {
    // No token configured: the admin API does not exist.
    let app = spawn_app(backend).await;
    let id = app.signup("off@example.com").await;
    let passport = typed_document("AB123456");
    let approved = ReviewStatus::Approved;
    let err = api_error(set_identity(&app, &id, &passport, approved).await);
    assert_eq!(err.status, 404);

    let app = spawn_with_admin(backend, Mode::Dev).await;
    let id = app.signup("on@example.com").await;
    let without = Client::new(&app.address).unwrap();
    for token in [None, Some("wrong"), Some(&"y".repeat(40)[..])] {
        let api = token.map_or(without.clone(), |t| without.with_admin_token(t));
        refused(
            api.admin_set_identity(&id, &passport, approved).await,
            401,
            "unauthorized",
        );
    }
    let account: AccountId = id.parse().unwrap();
    assert!(
        app.state.store.identity(account).await.unwrap().is_none(),
        "nothing written"
    );

    // Raw: the 204 is checked to have an empty body.
    let body = admin_document("AB123456", "approved");
    let res = put_identity(&app, Some(&admin_token()), &id, body).await;
    assert_eq!(res.status(), 204);
    assert!(res.text().await.unwrap().is_empty());

    // Unknown accounts, malformed ids and deleted accounts.
    for unknown in [AccountId::new().to_string(), "not-an-id".to_owned()] {
        let res = set_identity(&app, &unknown, &passport, approved).await;
        let err = api_error(res);
        assert_eq!(
            (err.status, err.code.as_str()),
            (404, "not_found"),
            "{unknown}"
        );
    }
    let gone = app.signup("gone@example.com").await;
    let pool = Db::open(&app).await;
    pool.execute_sql(&format!(
        "UPDATE accounts SET status = 'deleted' WHERE id = '{gone}'"
    ))
    .await;
    refused(
        set_identity(&app, &gone, &passport, approved).await,
        409,
        "account_deleted",
    );
}

// Rules R6, R10 (PRODUCT.md).
async fn admin_api_records_and_changes_numbers(backend: Backend) {
    let app = spawn_with_admin(backend, Mode::Production).await;
    let (id, token) = user(&app, "ray@example.com").await;
    let account: AccountId = id.parse().unwrap();
    let set = |number: &'static str, status: ReviewStatus| {
        let (app, id) = (&app, &id);
        async move { set_identity(app, id, &typed_document(number), status).await }
    };
    let status_now = || async { app.client_as(&token).identity().await.unwrap() };
    set("OLD-111", ReviewStatus::Pending).await.unwrap();
    assert_eq!(status_now().await.status, Status::Pending);
    set("OLD-111", ReviewStatus::Approved).await.unwrap();
    let row = app.state.store.identity(account).await.unwrap().unwrap();
    assert_eq!(row.numbers.len(), 1, "the same number is not stored twice");
    // A changed document: the original stays on file, the new one is shown.
    set("NEW-222", ReviewStatus::Approved).await.unwrap();
    let row = app.state.store.identity(account).await.unwrap().unwrap();
    assert_eq!(row.approved_numbers().count(), 2);
    let keys = &app.state.config.keys;
    let opened: Vec<String> = row
        .numbers
        .iter()
        .map(|n| {
            String::from_utf8(
                keys.document
                    .open(id.as_bytes(), &n.sealed)
                    .unwrap()
                    .to_vec(),
            )
            .unwrap()
        })
        .collect();
    assert_eq!(opened, ["OLD111", "NEW222"]);
    assert_eq!(status_now().await.number_last3.as_deref(), Some("222"));
    // A rejection is recorded, and the user may then submit again.
    set("NEW-222", ReviewStatus::Rejected).await.unwrap();
    assert_eq!(status_now().await.status, Status::Rejected);
    let again = app
        .client_as(&token)
        .submit_identity(&typed_document("NEW-333"))
        .await
        .unwrap();
    assert_eq!(again.status, ReviewStatus::Pending);
    let history = app.state.store.identity_history(account).await.unwrap();
    assert_eq!(history.len(), 5);
    assert!(history.iter().take(4).all(|h| h.actor == "admin"));
    assert_eq!(history[4].actor, "user");
}

// Rules R6, R10 (PRODUCT.md). Raw HTTP: fields of the wrong JSON type cannot be typed.
async fn each_bad_field_is_named(backend: Backend) {
    let app = spawn_with_admin(backend, Mode::Dev).await;
    let (id, token) = user(&app, "val@example.com").await;
    let cases: &[(&str, Value)] = &[
        ("document_type", json!("visa")),
        ("document_number", json!("AB1")),
        ("document_number", json!("AB12/34")),
        ("document_number", json!("A".repeat(33))),
        ("document_number", json!("")),
        ("document_number", json!(true)),
        ("country", json!("XX")),
        ("country", json!("GBR")),
        ("country", json!(44)),
        ("expires_on", json!("31/01/2030")),
        ("expires_on", json!("2030-02-30")),
    ];
    for (field, value) in cases {
        let mut body = document("ZZ123456");
        body[field] = value.clone();
        let res = app
            .post_json_as(&token, "/api/v1/me/identity", body.clone())
            .await;
        let (status, err) = error_code(res).await;
        assert_eq!(status, 422, "{field}={value}: {err}");
        assert_eq!(err["error"]["code"], "validation_error");
        assert_eq!(err["error"]["field"], *field, "{value}: {err}");
        assert!(
            err["error"]["message"].as_str().unwrap().contains(field),
            "{err}"
        );
        body["status"] = json!("approved");
        let res = put_identity(&app, Some(&admin_token()), &id, body).await;
        let (status, err) = error_code(res).await;
        assert_eq!(
            (status, err["error"]["field"].as_str()),
            (422, Some(*field)),
            "admin {value}"
        );
    }
    for missing in ["document_type", "document_number", "country", "expires_on"] {
        let mut body = document("ZZ123456");
        body.as_object_mut().unwrap().remove(missing);
        let res = app.post_json_as(&token, "/api/v1/me/identity", body).await;
        let (status, err) = error_code(res).await;
        assert_eq!(
            (status, err["error"]["field"].as_str()),
            (422, Some(missing))
        );
    }
    for status in [json!("done"), json!(null)] {
        let mut body = document("ZZ123456");
        body["status"] = status.clone();
        let res = put_identity(&app, Some(&admin_token()), &id, body).await;
        let (code, err) = error_code(res).await;
        assert_eq!(
            (code, err["error"]["field"].as_str()),
            (422, Some("status")),
            "{status}"
        );
    }
    let res = app
        .post_json_as(&token, "/api/v1/me/identity", document("zz 12-34.56"))
        .await;
    assert_eq!(
        res.status(),
        202,
        "nothing was stored by the failures above"
    );
    // A number sent as a JSON integer is taken as its digits.
    let (_, other_token) = user(&app, "digits@example.com").await;
    let mut body = document("x");
    body["document_number"] = json!(987_654_321u64);
    assert_eq!(
        app.post_json_as(&other_token, "/api/v1/me/identity", body)
            .await
            .status(),
        202
    );
    assert_eq!(my_identity(&app, &other_token).await["number_last3"], "321");
}

/// A signed-in browser.
async fn browser_for(app: &TestApp, email: &str) -> reqwest::Client {
    app.signup(email).await;
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

async fn get_text(app: &TestApp, browser: &reqwest::Client, path: &str) -> (u16, String) {
    let res = browser.get(app.url(path)).send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

// Rules R6, R10 (PRODUCT.md).
async fn page_submission_with_errors_and_status(backend: Backend) {
    let app = spawn_app(backend).await;
    let res = app.api.get(app.url("/identity")).send().await.unwrap();
    assert_eq!(res.status(), 303, "signed out: to the login page");

    let browser = browser_for(&app, "page@example.com").await;
    let (status, html) = get_text(&app, &browser, "/identity").await;
    assert_eq!(status, 200);
    for needle in [
        "<h1>Identity verification</h1>",
        "<select id=\"document-type\" name=\"document_type\"",
        "<option value=\"drivers_licence\">Driver&#x27;s licence</option>",
        "Spaces, dashes",
        "type=\"date\"",
        "An expired document is fine",
        "Dev mode: a document is approved as soon as you submit it.",
        "for=\"country\"",
    ] {
        assert!(html.contains(needle), "{needle} missing from {html}");
    }
    let (_, security) = get_text(&app, &browser, "/security").await;
    assert!(security.contains("Not verified yet"));

    // Errors: every field at fault is named; the number is not echoed back.
    let csrf = app.csrf_token(&browser, "/identity").await;
    let res = browser
        .post(app.url("/identity"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("document_type", "passport"),
            ("document_number", "QX7/7"),
            ("country", "zz"),
            ("expires_on", "2030-02-30"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    for id in ["document-number-error", "country-error", "expires-on-error"] {
        assert!(html.contains(&format!("id=\"{id}\"")), "{id}");
    }
    assert!(!html.contains("document-type-error"));
    assert!(html.contains("aria-invalid=\"true\""));
    assert!(!html.contains("QX7"), "the number is not shown again");
    assert!(html.contains("value=\"zz\""), "other fields are kept");
    assert!(html.contains("<option value=\"passport\" selected>"));

    // Without the CSRF token: refused.
    let res = browser
        .post(app.url("/identity"))
        .form(&[
            ("document_type", "passport"),
            ("document_number", "AB123456"),
            ("country", "GB"),
            ("expires_on", "2030-01-01"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);

    let res = browser
        .post(app.url("/identity"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("document_type", "id_card"),
            ("document_number", "ab-12 34.56"),
            ("country", "de"),
            ("expires_on", "2019-12-31"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/identity?notice=approved");
    let (_, html) = get_text(&app, &browser, "/identity?notice=approved").await;
    for needle in [
        "Document on file",
        "•••456",
        "ID card",
        "DE",
        "2019-12-31",
        "badge badge-accent\">Approved",
        "Your identity is verified",
        "In dev mode documents are approved",
    ] {
        assert!(html.contains(needle), "{needle} missing from {html}");
    }
    assert!(
        !html.contains("action=\"/identity\""),
        "no form once approved"
    );
    assert!(!html.contains("AB123456") && !html.contains("123456"));
    let (_, security) = get_text(&app, &browser, "/security").await;
    assert!(security.contains("Approved (ID card •••456)"), "{security}");

    // Posting again once approved: the page explains, nothing changes.
    let res = browser
        .post(app.url("/identity"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("document_type", "passport"),
            ("document_number", "CD000111"),
            ("country", "GB"),
            ("expires_on", "2030-01-01"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    let html = res.text().await.unwrap();
    assert!(html.contains("contact support") && html.contains("/help/document-changed"));
    assert!(html.contains("•••456"));

    // Rejected or pending (the host's or support's decision): the form is offered again.
    let api = app.client_as(&app.login("page@example.com").await);
    let account: AccountId = api.me().await.unwrap().account_id.parse().unwrap();
    for (status, badge, text) in [
        (
            IdentityStatus::Rejected,
            "badge badge-danger\">Rejected",
            "was not accepted",
        ),
        (
            IdentityStatus::Pending,
            "badge\">Waiting for review",
            "We are checking your document",
        ),
    ] {
        assert!(app
            .state
            .store
            .set_identity_status(account, status, "admin", app.state.now())
            .await
            .unwrap());
        let (_, html) = get_text(&app, &browser, "/identity").await;
        assert!(html.contains(badge) && html.contains(text), "{html}");
        assert!(html.contains("Submit your document again"));
        assert!(
            html.contains("<option value=\"id_card\" selected>"),
            "the document on file is preselected"
        );
        let (_, security) = get_text(&app, &browser, "/security").await;
        assert!(security.contains(&format!("{} (ID card •••456)", status.label())));
    }
}

/// A pool of our own on the test database, to read every table.
pub(crate) enum Db {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Db {
    pub(crate) async fn open(app: &TestApp) -> Db {
        if app.db_url.starts_with("sqlite:") {
            Db::Sqlite(sqlx::SqlitePool::connect(&app.db_url).await.unwrap())
        } else {
            Db::Postgres(sqlx::PgPool::connect(&app.db_url).await.unwrap())
        }
    }

    async fn execute_sql(&self, sql: &str) {
        match self {
            Db::Sqlite(pool) => {
                sqlx::query(sql).execute(pool).await.unwrap();
            }
            Db::Postgres(pool) => {
                sqlx::query(sql).execute(pool).await.unwrap();
            }
        }
    }

    /// How many rows a table holds.
    pub(crate) async fn count(&self, table: &str) -> i64 {
        let sql = format!("SELECT COUNT(*) AS n FROM {table}");
        match self {
            Db::Sqlite(pool) => sqlx::query(&sql).fetch_one(pool).await.unwrap().get("n"),
            Db::Postgres(pool) => sqlx::query(&sql).fetch_one(pool).await.unwrap().get("n"),
        }
    }

    /// Every cell of every table as text: (table.column, value).
    pub(crate) async fn every_cell(&self) -> Vec<(String, String)> {
        let mut cells = Vec::new();
        match self {
            Db::Sqlite(pool) => {
                let tables: Vec<String> =
                    sqlx::query("SELECT name FROM sqlite_master WHERE type = 'table'")
                        .fetch_all(pool)
                        .await
                        .unwrap()
                        .iter()
                        .map(|r| r.get("name"))
                        .collect();
                for table in tables {
                    let columns: Vec<String> =
                        sqlx::query("SELECT name FROM pragma_table_info($1)")
                            .bind(&table)
                            .fetch_all(pool)
                            .await
                            .unwrap()
                            .iter()
                            .map(|r| r.get("name"))
                            .collect();
                    for column in columns {
                        let sql = format!(
                            // Through BLOB: a binary column need not be valid UTF-8.
                            "SELECT CAST(CAST(\"{column}\" AS TEXT) AS BLOB) AS v FROM \"{table}\""
                        );
                        for row in sqlx::query(&sql).fetch_all(pool).await.unwrap() {
                            if let Some(v) = row.get::<Option<Vec<u8>>, _>("v") {
                                let v = String::from_utf8_lossy(&v).into_owned();
                                cells.push((format!("{table}.{column}"), v));
                            }
                        }
                    }
                }
            }
            Db::Postgres(pool) => {
                let tables: Vec<String> = sqlx::query(
                    "SELECT table_name::text AS name FROM information_schema.tables
                     WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
                )
                .fetch_all(pool)
                .await
                .unwrap()
                .iter()
                .map(|r| r.get("name"))
                .collect();
                for table in tables {
                    let columns: Vec<String> = sqlx::query(
                        "SELECT column_name::text AS name FROM information_schema.columns
                         WHERE table_schema = 'public' AND table_name = $1",
                    )
                    .bind(&table)
                    .fetch_all(pool)
                    .await
                    .unwrap()
                    .iter()
                    .map(|r| r.get("name"))
                    .collect();
                    for column in columns {
                        let sql =
                            format!("SELECT CAST(\"{column}\" AS TEXT) AS v FROM \"{table}\"");
                        for row in sqlx::query(&sql).fetch_all(pool).await.unwrap() {
                            if let Some(v) = row.get::<Option<String>, _>("v") {
                                cells.push((format!("{table}.{column}"), v));
                            }
                        }
                    }
                }
            }
        }
        cells
    }

    pub(crate) async fn close(self) {
        match self {
            Db::Sqlite(pool) => pool.close().await,
            Db::Postgres(pool) => pool.close().await,
        }
    }
}

/// The number, or a long enough piece of it to identify it, in any case.
fn leaks(text: &str) -> bool {
    let upper = text.to_uppercase();
    upper.contains("ZQ9876543")
        || upper.contains("ZQ-987")
        || upper.contains("9876543")
        || upper.contains("987 6543")
}

// Rules R6, R10 (PRODUCT.md). Raw HTTP throughout: every answer's bytes are searched.
async fn document_number_is_in_no_response_and_no_table(backend: Backend) {
    let app = spawn_with_admin(backend, Mode::Dev).await;
    let mut bodies: Vec<(String, String)> = Vec::new();
    let (id, token) = user(&app, "leak@example.com").await;

    // Refused first (a bad country), then accepted; both answers are kept.
    let mut bad = document("zq-987 6543");
    bad["country"] = json!("QQ");
    let res = app.post_json_as(&token, "/api/v1/me/identity", bad).await;
    assert_eq!(res.status(), 422);
    bodies.push((
        "POST /api/v1/me/identity (422)".into(),
        res.text().await.unwrap(),
    ));
    let mut wrong_type = document("zq-987 6543");
    wrong_type["document_number"] = json!(["ZQ9876543"]);
    let res = app
        .post_json_as(&token, "/api/v1/me/identity", wrong_type)
        .await;
    assert_eq!(res.status(), 422);
    bodies.push((
        "POST /api/v1/me/identity (array)".into(),
        res.text().await.unwrap(),
    ));
    let res = app
        .post_json_as(&token, "/api/v1/me/identity", document("zq-987 6543"))
        .await;
    assert_eq!(res.status(), 202);
    bodies.push(("POST /api/v1/me/identity".into(), res.text().await.unwrap()));
    let res = app
        .post_json_as(&token, "/api/v1/me/identity", document("ZQ9876543"))
        .await;
    assert_eq!(res.status(), 409);
    bodies.push((
        "POST /api/v1/me/identity (409)".into(),
        res.text().await.unwrap(),
    ));
    // The host reports the same number for another account (refused: R19), and sends a
    // bad one.
    let (other, other_token) = user(&app, "leak2@example.com").await;
    let res = put_identity(
        &app,
        Some(&admin_token()),
        &other,
        admin_document("ZQ.987.6543", "approved"),
    )
    .await;
    assert_eq!(res.status(), 409, "R19: one identity, one live account");
    bodies.push(("PUT admin identity (409)".into(), res.text().await.unwrap()));
    // Reported as pending it is recorded (approval is what R19 refuses).
    let res = put_identity(
        &app,
        Some(&admin_token()),
        &other,
        admin_document("ZQ.987.6543", "pending"),
    )
    .await;
    assert_eq!(res.status(), 204);
    bodies.push(("PUT admin identity".into(), res.text().await.unwrap()));
    let res = put_identity(
        &app,
        Some(&admin_token()),
        &other,
        admin_document("ZQ9876543", "maybe"),
    )
    .await;
    assert_eq!(res.status(), 422);
    bodies.push(("PUT admin identity (422)".into(), res.text().await.unwrap()));
    let res = put_identity(
        &app,
        Some("wrong"),
        &other,
        admin_document("ZQ9876543", "approved"),
    )
    .await;
    bodies.push(("PUT admin identity (401)".into(), res.text().await.unwrap()));

    for (who, t) in [("leak", &token), ("leak2", &other_token)] {
        for path in ["/api/v1/me/identity", "/api/v1/me"] {
            let res = app.get_as(t, path).await;
            assert_eq!(res.status(), 200);
            bodies.push((format!("GET {path} as {who}"), res.text().await.unwrap()));
        }
    }
    let outbox = app
        .api
        .get(app.url("/api/v1/dev/outbox"))
        .send()
        .await
        .unwrap();
    bodies.push((
        "GET /api/v1/dev/outbox".into(),
        outbox.text().await.unwrap(),
    ));
    let openapi = app
        .api
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap();
    bodies.push((
        "GET /api/openapi.json".into(),
        openapi.text().await.unwrap(),
    ));

    // Pages, including a form sent back with an error.
    let browser = browser_for(&app, "leak3@example.com").await;
    let csrf = app.csrf_token(&browser, "/identity").await;
    let res = browser
        .post(app.url("/identity"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("document_type", "passport"),
            ("document_number", "zq-987 6543"),
            ("country", "QQ"),
            ("expires_on", "2030-01-01"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    bodies.push(("POST /identity (422)".into(), res.text().await.unwrap()));
    let res = browser
        .post(app.url("/identity"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("document_type", "passport"),
            ("document_number", "zq-987 6543"),
            ("country", "GB"),
            ("expires_on", "2030-01-01"),
        ])
        .send()
        .await
        .unwrap();
    // Dev mode approves at once, which R19 refuses for a number approved elsewhere: the
    // record stays pending and the page says why.
    assert_ne!(res.status(), 303);
    let html = res.text().await.unwrap();
    assert!(html.contains("another account"), "{html}");
    bodies.push(("POST /identity (R19)".into(), html));
    for path in [
        "/identity",
        "/identity?notice=approved",
        "/security",
        "/dev/outbox",
    ] {
        let (status, html) = get_text(&app, &browser, path).await;
        assert_eq!(status, 200, "{path}");
        bodies.push((format!("GET {path}"), html));
    }
    let (_, html) = get_text(&app, &browser, "/identity").await;
    assert!(
        html.contains("•••543"),
        "the masked form is what the page shows"
    );

    for (what, body) in &bodies {
        assert!(!leaks(body), "{what} reveals the document number: {body}");
    }
    let mine = my_identity(&app, &token).await;
    assert_eq!(mine["number_last3"], "543");

    // Every column of every table, read as text.
    let db = Db::open(&app).await;
    let cells = db.every_cell().await;
    db.close().await;
    let leaked: Vec<_> = cells.iter().filter(|(_, v)| leaks(v)).collect();
    assert!(leaked.is_empty(), "plaintext document number in {leaked:?}");
    // The scan did read the identity tables: the sealed numbers, the indexes and the
    // masked form in the history are all there.
    let in_column = |col: &str| cells.iter().filter(|(c, _)| c == col).count();
    assert_eq!(in_column("identity_numbers.number_sealed"), 3);
    assert_eq!(in_column("identity_numbers.number_index"), 3);
    assert!(cells
        .iter()
        .any(|(c, v)| c == "identity_history.change" && v.contains("•••543")));
    assert!(cells.iter().any(|(c, v)| c == "accounts.id" && *v == id));
    // One blind index for the three accounts with the same number.
    let index = app
        .state
        .config
        .keys
        .blind_index
        .keyed_hash("document-number", "ZQ9876543");
    assert_eq!(
        app.state
            .store
            .accounts_by_document_index(&index)
            .await
            .unwrap()
            .len(),
        3
    );
}
