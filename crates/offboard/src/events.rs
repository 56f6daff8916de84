//! `offboard events`: what operators need about R13 deliveries without the admin API —
//! the endpoints, each one's deliveries, the job queue, and replaying a dead letter.

use anyhow::{bail, Result};
use clap::Subcommand;
use offboard_core::Clock;
use offboard_store::Store;
use serde_json::json;

#[derive(Subcommand)]
pub enum EventsCommand {
    /// The registered webhook endpoints (secrets are never printed).
    Endpoints,
    /// One endpoint's deliveries, newest first.
    Deliveries {
        webhook_id: String,
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
    /// How many jobs are queued, running, done and dead.
    Jobs,
    /// Queue a dead delivery again with fresh attempts.
    Replay { delivery_id: String },
}

pub async fn run(store: &Store, command: EventsCommand) -> Result<()> {
    match command {
        EventsCommand::Endpoints => {
            let endpoints: Vec<_> = store
                .webhook_endpoints()
                .await?
                .into_iter()
                .map(|e| json!({"webhook_id": e.id, "url": e.url, "events": e.events, "source": e.source}))
                .collect();
            println!("{}", serde_json::to_string_pretty(&endpoints)?);
        }
        EventsCommand::Deliveries { webhook_id, limit } => {
            if store.webhook_endpoint(&webhook_id).await?.is_none() {
                bail!(
                    "there is no webhook endpoint {webhook_id:?} (see `offboard events endpoints`)"
                );
            }
            let rows: Vec<_> = store
                .deliveries_of(&webhook_id, limit.clamp(1, 100_000))
                .await?
                .into_iter()
                .map(|d| {
                    json!({"delivery_id": d.id, "event_id": d.event_id, "type": d.event_type, "status": d.status,
                           "attempts": d.attempts, "last_status": d.last_status, "last_error": d.last_error})
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&rows)?);
        }
        EventsCommand::Jobs => {
            let c = store.job_counts().await?;
            println!(
                "{}",
                json!({"queued": c.queued, "running": c.running, "done": c.done, "dead": c.dead})
            );
        }
        EventsCommand::Replay { delivery_id } => {
            let now = offboard_core::SystemClock.now();
            if !store.replay_delivery(&delivery_id, now).await? {
                bail!(
                    "delivery {delivery_id:?} is not dead (only dead deliveries can be replayed)"
                );
            }
            println!("{}", json!({"replayed": delivery_id}));
        }
    }
    Ok(())
}
