//! OpenAPI `links`: from an answer that creates something to the operations that take
//! its id, so clients and stateful testers can follow them.

use serde_json::{json, Value};

/// The HTTP methods an OpenAPI path item may hold.
pub(super) const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Links from an answer to the operations that take its ids (OpenAPI `links`, which
/// clients and stateful testers follow): (operation, status, link name, target
/// operation, parameter, runtime expression).
const LINKS: &[(&str, &str, &str, &str, &str, &str)] = &[
    (
        "deletion_start",
        "201",
        "get",
        "deletion_get",
        "id",
        "$response.body#/id",
    ),
    (
        "deletion_start",
        "201",
        "confirm",
        "deletion_confirm",
        "id",
        "$response.body#/id",
    ),
    (
        "deletion_start",
        "201",
        "assets",
        "deletion_assets",
        "id",
        "$response.body#/id",
    ),
    (
        "deletion_start",
        "201",
        "codes",
        "deletion_codes",
        "id",
        "$response.body#/id",
    ),
    (
        "deletion_start",
        "201",
        "verify",
        "deletion_verify",
        "id",
        "$response.body#/id",
    ),
    (
        "deletion_start",
        "201",
        "identity",
        "deletion_identity",
        "id",
        "$response.body#/id",
    ),
    (
        "deletion_start",
        "201",
        "page",
        "page_deletion",
        "id",
        "$response.body#/id",
    ),
    (
        "deletion_confirm",
        "200",
        "assets",
        "deletion_assets",
        "id",
        "$response.body#/id",
    ),
    (
        "deletion_confirm",
        "200",
        "codes",
        "deletion_codes",
        "id",
        "$response.body#/id",
    ),
    (
        "deletion_confirm",
        "200",
        "verify",
        "deletion_verify",
        "id",
        "$response.body#/id",
    ),
    (
        "deletion_verify",
        "200",
        "identity",
        "deletion_identity",
        "id",
        "$response.body#/id",
    ),
    (
        "accounts_signup",
        "201",
        "deposit",
        "admin_deposit",
        "account_id",
        "$response.body#/account_id",
    ),
    (
        "accounts_signup",
        "201",
        "hold",
        "admin_hold_add",
        "account_id",
        "$response.body#/account_id",
    ),
    (
        "accounts_signup",
        "201",
        "identity",
        "admin_identity_put",
        "account_id",
        "$response.body#/account_id",
    ),
    (
        "accounts_signup",
        "201",
        "identity_unlock",
        "support_identity_unlock",
        "account_id",
        "$response.body#/account_id",
    ),
    (
        "accounts_signup",
        "201",
        "document_change",
        "support_document_change",
        "account_id",
        "$response.body#/account_id",
    ),
    (
        "accounts_signup",
        "201",
        "console_account",
        "console_account",
        "account_id",
        "$response.body#/account_id",
    ),
    (
        "admin_hold_add",
        "201",
        "release",
        "admin_hold_release",
        "hold_id",
        "$response.body#/hold_id",
    ),
    (
        "assets_withdraw",
        "201",
        "complete",
        "admin_withdrawal_complete",
        "withdrawal_id",
        "$response.body#/withdrawal_id",
    ),
    (
        "assets_withdraw",
        "201",
        "fail",
        "admin_withdrawal_fail",
        "withdrawal_id",
        "$response.body#/withdrawal_id",
    ),
    (
        "admin_webhook_register",
        "201",
        "deliveries",
        "admin_webhook_deliveries",
        "webhook_id",
        "$response.body#/webhook_id",
    ),
    (
        "support_recovery_list",
        "200",
        "approve",
        "support_recovery_approve",
        "id",
        "$response.body#/0/id",
    ),
    (
        "support_recovery_list",
        "200",
        "reject",
        "support_recovery_reject",
        "id",
        "$response.body#/0/id",
    ),
];

pub(super) fn add_links(doc: &mut Value) {
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    let ids: std::collections::BTreeSet<String> = paths
        .values()
        .flat_map(|item| METHODS.iter().filter_map(|m| item.get(*m)))
        .filter_map(|op| op["operationId"].as_str().map(str::to_owned))
        .collect();
    for item in paths.values_mut() {
        for method in METHODS {
            let Some(op) = item.get_mut(method) else {
                continue;
            };
            let id = op["operationId"].as_str().unwrap_or("").to_owned();
            for (from, status, name, to, param, expression) in LINKS {
                // A link to an operation this server does not serve would dangle.
                if *from != id || !ids.contains(*to) {
                    continue;
                }
                if let Some(response) = op.get_mut("responses").and_then(|r| r.get_mut(*status)) {
                    response["links"][*name] = json!({
                        "operationId": to,
                        "parameters": { *param: expression },
                    });
                }
            }
        }
    }
}
