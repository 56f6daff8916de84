//! R18: a compliance hold never tips off. What the account holder gets (assets, the
//! deletion's assets step, a withdrawal) is byte for byte what a generic hold gives,
//! apart from ids and dates; only the host and lead agents see it, and every change is
//! audited.

use crate::alerts::app;
use crate::both_backends;
use crate::helpers::{comparable, TestApp};
use crate::ledger::{admin_post, ADMIN};
use crate::support::{add_agent, agent_login};
use offboard_store::{AgentRole, Backend};
use serde_json::{json, Value};

both_backends!(
    a_compliance_hold_answers_exactly_like_a_generic_hold,
    only_the_host_and_lead_agents_see_or_lift_a_compliance_hold,
);

const REASON: &str = "AML case 2026-117: unusual inflows under review";

/// One answer, as compared: status, headers (without date and cookies), body.
#[derive(Debug, PartialEq, Eq)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

/// `YYYY-MM-DDTHH:MM:SSZ` → `<time>`.
fn without_times(text: &str) -> String {
    let bytes = text.as_bytes();
    let shape = b"0000-00-00T00:00:00Z";
    let mut out = String::new();
    let mut i = 0;
    while i < bytes.len() {
        let fits = bytes.len() - i >= shape.len()
            && shape.iter().zip(&bytes[i..]).all(|(s, b)| {
                if *s == b'0' {
                    b.is_ascii_digit()
                } else {
                    s == b
                }
            });
        if fits {
            out.push_str("<time>");
            i += shape.len();
        } else {
            out.push(bytes[i] as char);
            i += 1;
        }
    }
    out
}

async fn answer(res: reqwest::Response, ids: &[&str]) -> Answer {
    let status = res.status().as_u16();
    let headers = comparable(res.headers());
    let mut body = res.text().await.unwrap();
    for id in ids {
        body = body.replace(id, "<id>");
    }
    Answer {
        status,
        headers,
        body: without_times(&body),
    }
}

/// Everything the holder of an account under a hold can see of it.
async fn seen_by_holder(
    app: &TestApp,
    email: &str,
    place: impl AsyncFnOnce(&str) -> (String, String),
) -> Vec<Answer> {
    let account = app.signup(email).await;
    let token = app.login(email).await;
    let (hold_id, reference) = place(&account).await;
    let flow: Value = app
        .post_json_as(&token, "/api/v1/deletion", json!({}))
        .await
        .json()
        .await
        .unwrap();
    let flow_id = flow["id"].as_str().unwrap().to_owned();
    let ids = [
        account.as_str(),
        hold_id.as_str(),
        reference.as_str(),
        flow_id.as_str(),
    ];
    let step = |action: &str| format!("/api/v1/deletion/{flow_id}/{action}");
    let mut seen = vec![answer(app.get_as(&token, "/api/v1/me/assets").await, &ids).await];
    seen.push(
        answer(
            app.post_json_as(&token, &step("confirm"), json!({"acknowledged": true}))
                .await,
            &ids,
        )
        .await,
    );
    seen.push(
        answer(
            app.post_json_as(&token, &step("assets"), json!({})).await,
            &ids,
        )
        .await,
    );
    seen.push(
        answer(
            app.get_as(&token, &format!("/api/v1/deletion/{flow_id}"))
                .await,
            &ids,
        )
        .await,
    );
    let withdrawal = json!({"asset": "ETH", "amount": "1", "address": "0x52908400098527886E0F7030069857D2E4169EE7"});
    seen.push(
        answer(
            app.post_json_as(&token, "/api/v1/me/withdrawals", withdrawal)
                .await,
            &ids,
        )
        .await,
    );
    seen
}

// Rules R18, R4 (PRODUCT.md).
async fn a_compliance_hold_answers_exactly_like_a_generic_hold(backend: Backend) {
    let app = app(backend).await;
    let generic = seen_by_holder(&app, "generic@example.com", async |account: &str| {
        let res = admin_post(
            &app,
            &format!("/api/v1/admin/accounts/{account}/holds"),
            json!({"kind": "hold", "reference": "H-0A1B2C3D", "blocks_withdrawals": true}),
        )
        .await;
        assert_eq!(res.status(), 201);
        let hold: Value = res.json().await.unwrap();
        (
            hold["hold_id"].as_str().unwrap().to_owned(),
            "H-0A1B2C3D".to_owned(),
        )
    })
    .await;
    let compliance = seen_by_holder(&app, "review@example.com", async |account: &str| {
        let res = admin_post(
            &app,
            &format!("/api/v1/admin/accounts/{account}/compliance-holds"),
            json!({"reason": REASON, "blocks_withdrawals": true}),
        )
        .await;
        assert_eq!(res.status(), 201);
        let hold: Value = res.json().await.unwrap();
        let reference = hold["reference"].as_str().unwrap().to_owned();
        assert_eq!(reference.len(), "H-0A1B2C3D".len());
        (hold["hold_id"].as_str().unwrap().to_owned(), reference)
    })
    .await;
    assert_eq!(generic.len(), compliance.len());
    for (g, c) in generic.iter().zip(&compliance) {
        assert_eq!(g, c, "the holder cannot tell the holds apart");
        assert!(
            !c.body.contains("compliance") && !c.body.contains("AML"),
            "{}",
            c.body
        );
    }
    // The answers are the real refusals, not empty ones.
    assert_eq!(compliance[2].status, 409, "{}", compliance[2].body);
    assert!(compliance[2].body.contains("assets_remaining"));
    assert_eq!(compliance[4].status, 409);
    assert!(compliance[4].body.contains("withdrawals_paused"));
}

// Rules R18, R11, R14 (PRODUCT.md).
async fn only_the_host_and_lead_agents_see_or_lift_a_compliance_hold(backend: Backend) {
    let app = app(backend).await;
    let account = app.signup("watched@example.com").await;
    let agent = add_agent(&app, "ann@support.test", AgentRole::Agent).await;
    let lead = add_agent(&app, "lea@support.test", AgentRole::Lead).await;
    let agent_token = agent_login(&app, &agent).await;
    let lead_token = agent_login(&app, &lead).await;
    let holds = format!("/api/v1/support/accounts/{account}/compliance-holds");
    let body = json!({"reason": REASON});

    // To an agent without the lead role nothing is there.
    assert_eq!(
        app.post_json_as(&agent_token, &holds, body.clone())
            .await
            .status(),
        404
    );
    let res = app.post_json_as(&lead_token, &holds, body).await;
    assert_eq!(res.status(), 201);
    let hold: Value = res.json().await.unwrap();
    let hold_id = hold["hold_id"].as_str().unwrap().to_owned();
    assert_eq!(hold["reason"], REASON);
    assert_eq!(app.get_as(&agent_token, &holds).await.status(), 404);
    let lift = format!("/api/v1/support/compliance-holds/{hold_id}");
    let res = app
        .api
        .delete(app.url(&lift))
        .bearer_auth(&agent_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let listed: Value = app.get_as(&lead_token, &holds).await.json().await.unwrap();
    assert_eq!(listed[0]["reason"], REASON);
    let admin_listed: Value = app
        .get_as(
            ADMIN,
            &format!("/api/v1/admin/accounts/{account}/compliance-holds"),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(admin_listed[0]["hold_id"], hold_id.as_str());

    let audit = |token: String| {
        let app = &app;
        let account = account.clone();
        async move {
            app.get_as(
                &token,
                &format!("/api/v1/support/audit?account_id={account}"),
            )
            .await
            .text()
            .await
            .unwrap()
        }
    };
    let search = app
        .get_as(
            &agent_token,
            "/api/v1/support/accounts?email=watched%40example.com",
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !search.contains("compliance") && !search.contains("AML"),
        "{search}"
    );
    assert!(!audit(agent_token.clone()).await.contains("compliance"));
    assert!(audit(lead_token.clone())
        .await
        .contains("compliance_hold_placed"));

    // The generic hold route cannot lift it without the audit line.
    let res = app
        .api
        .delete(app.url(&format!("/api/v1/admin/holds/{hold_id}")))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let res = app
        .api
        .delete(app.url(&lift))
        .bearer_auth(&lead_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert!(audit(lead_token.clone())
        .await
        .contains("compliance_hold_lifted"));
    assert!(!audit(agent_token).await.contains("compliance"));
    let listed: Value = app.get_as(&lead_token, &holds).await.json().await.unwrap();
    assert_eq!(listed, json!([]));
}
