//! Refusing replayed signed deliveries: each signed content starts at most
//! one run per workflow while it is remembered (records in the database,
//! shared by every instance; see `domain::webhook_replays`).

use std::time::Duration;

use sea_orm::DatabaseConnection;
use uuid::Uuid;

use super::signature::{Signed, TOLERANCE_SECS};
use crate::error::ApiError;

/// How long content signed without a timestamp (GitHub, generic HMAC) is
/// remembered: nothing in it says when it goes stale, so a day bounds the
/// table while covering senders' retry schedules.
const UNTIMED_WINDOW: Duration = Duration::from_secs(24 * 60 * 60);
/// How often expired records are deleted.
const PRUNE_EVERY: Duration = Duration::from_secs(10 * 60);

/// `Ok` when the delivery may go on (first seen, or the sender retrying the
/// same delivery id); [`ApiError::Replayed`] otherwise.
pub async fn admit(
    db: &DatabaseConnection,
    workflow_id: Uuid,
    signed: &Signed,
    delivery: Option<&str>,
    now_ms: i64,
) -> Result<(), ApiError> {
    let expires_at = match signed.timestamp {
        // Past this the signature check refuses it as stale anyway.
        Some(at) => (at + TOLERANCE_SECS + 1) * 1000,
        None => now_ms + UNTIMED_WINDOW.as_millis() as i64,
    };
    use domain::webhook_replays::{Seen, remember};
    match remember(
        db,
        workflow_id,
        &signed.digest,
        delivery,
        expires_at,
        now_ms,
    )
    .await?
    {
        Seen::First | Seen::Redelivery => Ok(()),
        Seen::Replay => {
            tracing::warn!(%workflow_id, "replayed webhook delivery refused");
            Err(ApiError::Replayed)
        }
    }
}

/// Undoes [`admit`] when the run could not be queued, so that the sender's
/// retry is not taken for a replay.
pub async fn forget(db: &DatabaseConnection, workflow_id: Uuid, signed: &Signed) {
    if let Err(error) = domain::webhook_replays::forget(db, workflow_id, &signed.digest).await {
        tracing::warn!(%error, %workflow_id, "could not forget a webhook delivery");
    }
}

/// Deletes expired records now and every few minutes.
pub async fn prune_periodically(db: DatabaseConnection) {
    loop {
        let now = chrono::Utc::now().timestamp_millis();
        let per_workflow = domain::webhook_replays::PER_WORKFLOW;
        if let Err(error) = domain::webhook_replays::prune(&db, now, per_workflow).await {
            tracing::warn!(%error, "could not prune webhook replay records");
        }
        tokio::time::sleep(PRUNE_EVERY).await;
    }
}
