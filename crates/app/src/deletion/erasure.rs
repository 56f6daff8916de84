//! The final step's erasure (R7, R9, R10, R12): what the store writes in one transaction
//! and the answer for each way it ends.

use super::flow::*;
use crate::audit;
use crate::error::AppError;
use crate::ledger;
use crate::notify::deletion_notice;
use crate::sessions::Authenticated;
use crate::state::AppState;
use offboard_core::clock::{human_time, rfc3339};
use offboard_core::crypto::SecretKey;
use offboard_core::deletion::Step;
use offboard_store::{AccountRow, EraseOutcome, Erasure, RetainedRecord, SealedNotice, Tombstone};
use time::OffsetDateTime;

/// The last step: everything the erasure writes, built here and written by the store
/// in one transaction (R7), then the answer for each way it can end.
pub(super) async fn erase(
    state: &AppState,
    user: &Authenticated,
    live: &LiveFlow,
    identity: Option<&offboard_store::IdentityRow>,
) -> Result<Deleted, AppError> {
    let account = &user.account;
    // With the host as asset source, check right before; the embedded ledger is checked
    // again inside the transaction.
    let recheck_ledger = matches!(
        state.config.asset_source,
        crate::config::AssetSourceConfig::Embedded
    );
    if !recheck_ledger {
        let blockers = ledger::blockers(state, account.id).await?;
        if !blockers.is_empty() {
            return Err(assets_remaining(&blockers));
        }
    }
    let erasure = erasure_of(state, account, &live.flow.id, identity, recheck_ledger).await?;
    let passkey_ids = crate::passkeys::common::credential_ids(state, account.id).await?;
    match state.store.erase_account(&erasure).await? {
        EraseOutcome::Erased => {
            crate::metrics::step_transition(Step::Deleted.as_str());
            // Send the notice without waiting on the relay; the runner retries it if
            // that fails. The scrub job (R20) vacuums what the erasure touched.
            crate::jobs::run_detached(state, &erasure.notice_id).await;
            crate::jobs::spawn_now(state, &format!("scrub:{}", account.id));
            tracing::info!(account = %account.id, "account deleted");
            Ok(Deleted {
                deleted_at: erasure.now,
                reregister_after: erasure.allowed_from,
                passkey_ids,
            })
        }
        EraseOutcome::Blocked(blockers) => {
            blocked_at_final_step(state, account.id, live, erasure.now).await;
            Err(assets_remaining(&blockers))
        }
        EraseOutcome::FlowGone => Err(wrong_step(
            state
                .store
                .flow(&live.flow.id)
                .await?
                .map(|f| f.step)
                .unwrap_or(Step::Deleted),
        )),
    }
}

/// Everything one erasure writes: tombstones, sealed records, the notice, the event.
async fn erasure_of(
    state: &AppState,
    account: &AccountRow,
    flow_id: &str,
    identity: Option<&offboard_store::IdentityRow>,
    recheck_ledger: bool,
) -> Result<Erasure, AppError> {
    let now = state.now();
    let keys = &state.config.keys;
    let allowed_from = now + state.config.deletion.reregister_wait;
    let mut retained = Vec::new();
    if let Some(identity) = identity {
        retained.push(retained_identity(state, account, identity));
    }
    retained.push(retained_transactions(state, account).await?);
    let notice = deletion_notice(&human_time(now), &human_time(allowed_from));
    Ok(Erasure {
        account_id: account.id,
        flow_id: flow_id.to_owned(),
        now,
        recheck_ledger,
        dust: ledger::dust(state),
        tombstones: tombstones_of(state, account, identity),
        allowed_from,
        retained,
        purge_after: now + state.config.deletion.retention,
        notice: SealedNotice {
            recipient: crate::jobs::seal_mail(state, &account.email),
            subject: notice.subject,
            text: crate::jobs::seal_mail(state, &notice.text),
            html: crate::jobs::seal_mail(state, &notice.html),
        },
        notice_id: uuid::Uuid::now_v7().to_string(),
        event_payload:
            serde_json::json!({"account_id": account.id.to_string(), "deleted_at": rfc3339(now)})
                .to_string(),
        login_key: keys
            .blind_index
            .keyed_hash("login-throttle", &account.email),
        email: account.email.clone(),
    })
}

/// R9: the keyed hashes of the email, the phone and every document number.
fn tombstones_of(
    state: &AppState,
    account: &AccountRow,
    identity: Option<&offboard_store::IdentityRow>,
) -> Vec<Tombstone> {
    let key = &state.config.keys.blind_index;
    let mut tombstones = vec![Tombstone {
        kind: "email".to_owned(),
        hash: crate::tombstones::hash(key.clone(), "email", &account.email),
    }];
    if let Some(phone) = &account.phone {
        tombstones.push(Tombstone {
            kind: "phone".to_owned(),
            hash: crate::tombstones::hash(key.clone(), "phone", phone),
        });
    }
    for n in identity.iter().flat_map(|i| &i.numbers) {
        tombstones.push(Tombstone {
            kind: "document".to_owned(),
            hash: n.index.clone(),
        });
    }
    tombstones
}

/// R10: the identity verification as the law keeps it, sealed.
fn retained_identity(
    state: &AppState,
    account: &AccountRow,
    identity: &offboard_store::IdentityRow,
) -> RetainedRecord {
    let numbers: Vec<String> = identity
        .numbers
        .iter()
        .filter_map(|n| {
            crate::identity::open_number(state, account.id, &n.sealed)
                .map(|d| d.as_str().to_owned())
        })
        .collect();
    let record = serde_json::json!({
        "document_type": identity.document_type.as_str(),
        "country": identity.country.as_str(),
        "expires_on": identity.expires_on.to_string(),
        "status": identity.status.as_str(),
        "numbers": numbers,
        "verified_at": rfc3339(identity.updated_at),
    });
    seal_retained(
        &state.config.keys.retention,
        &account.id.to_string(),
        "identity",
        &record,
    )
}

/// R10: the deposits and withdrawals as the law keeps them, sealed.
async fn retained_transactions(
    state: &AppState,
    account: &AccountRow,
) -> Result<RetainedRecord, AppError> {
    let deposits = state.store.deposits_of(account.id).await?;
    let withdrawals = state.store.withdrawals_of(account.id).await?;
    let history = serde_json::json!({
        "email": account.email,
        "deposits": deposits.iter().map(|d| serde_json::json!({"id": d.id, "asset": d.asset, "amount": d.amount.to_string(), "status": d.status, "at": rfc3339(d.created_at)})).collect::<Vec<_>>(),
        "withdrawals": withdrawals.iter().map(|w| serde_json::json!({"id": w.id, "asset": w.asset, "amount": w.amount.to_string(), "address": w.address, "status": w.status, "at": rfc3339(w.created_at)})).collect::<Vec<_>>(),
    });
    Ok(seal_retained(
        &state.config.keys.retention,
        &account.id.to_string(),
        "transactions",
        &history,
    ))
}

/// A deposit (or hold) landed between the steps: back to the assets step. If that write
/// fails the flow stays at `identity`, whose next answer runs the same check and blocks
/// again, so the person still gets the 409 that says what to withdraw; the failure is
/// logged, not dropped.
async fn blocked_at_final_step(
    state: &AppState,
    account_id: offboard_core::AccountId,
    live: &LiveFlow,
    now: OffsetDateTime,
) {
    if let Err(err) = state
        .store
        .advance_flow(&live.flow.id, Step::Identity, Step::Assets, now)
        .await
    {
        tracing::warn!(%err, flow = %live.flow.id, "could not move a blocked flow back to assets");
    }
    audit::user(
        state,
        Some(account_id),
        "deletion_blocked_at_final_step",
        None,
    )
    .await;
}

/// R10: the record sealed under its own random key; that key sealed under the retention
/// key. Deleting the key row destroys the record (crypto-shredding).
fn seal_retained(
    retention: &SecretKey,
    aad: &str,
    kind: &str,
    record: &serde_json::Value,
) -> RetainedRecord {
    let data_key = SecretKey::generate();
    RetainedRecord {
        kind: kind.to_owned(),
        sealed: data_key.seal(aad.as_bytes(), record.to_string().as_bytes()),
        wrapped_key: retention.seal(aad.as_bytes(), data_key.to_hex().as_bytes()),
    }
}
