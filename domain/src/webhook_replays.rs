//! Replay protection for signed webhooks. A signature proves who sent a
//! body, not that it is new: whoever captured a delivery could send it again
//! (with a fresh delivery id) and start the workflow again. So each signed
//! content is remembered per workflow until it expires, in the database so
//! that every instance sharing it agrees, and a repeat is refused.

use entity::webhook_replay::{ActiveModel, Column, Entity};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, FromQueryResult, QueryFilter,
    QueryOrder, QuerySelect, Set, TryInsertResult, sea_query::Expr,
};
use uuid::Uuid;

use crate::DomainError;

/// Signed contents kept per workflow at most; pruning drops those that
/// expire soonest beyond it, so one busy workflow cannot grow the table
/// without bound.
pub const PER_WORKFLOW: u64 = 100_000;

/// What a signed delivery is, compared with those already seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seen {
    /// Not seen (or seen so long ago that its record expired).
    First,
    /// Seen, under the same delivery id: the sender retrying; the run's
    /// idempotency key answers it with the first run.
    Redelivery,
    /// Seen under another delivery id, or without one: refused.
    Replay,
}

/// Records the delivery of `digest` to `workflow_id`, remembered until
/// `expires_at` (epoch ms), and says whether it was seen before.
pub async fn remember(
    db: &DatabaseConnection,
    workflow_id: Uuid,
    digest: &str,
    delivery: Option<&str>,
    expires_at: i64,
    now: i64,
) -> Result<Seen, DomainError> {
    // A record can expire or be pruned between the statements below; a
    // few rounds settle that, and past them the delivery is refused
    // rather than risk a second run.
    for _ in 0..3 {
        let inserted = Entity::insert(ActiveModel {
            workflow_id: Set(workflow_id),
            digest: Set(digest.to_owned()),
            delivery: Set(delivery.map(str::to_owned)),
            expires_at: Set(expires_at),
        })
        .on_conflict_do_nothing_on([Column::WorkflowId, Column::Digest])
        .exec_without_returning(db)
        .await?;
        if matches!(inserted, TryInsertResult::Inserted(n) if n > 0) {
            return Ok(Seen::First);
        }
        let Some(seen) = Entity::find_by_id((workflow_id, digest.to_owned()))
            .one(db)
            .await?
        else {
            continue;
        };
        if seen.expires_at > now {
            let same_delivery = delivery.is_some() && seen.delivery.as_deref() == delivery;
            return Ok(if same_delivery {
                Seen::Redelivery
            } else {
                Seen::Replay
            });
        }
        // Expired but not pruned yet: take it over, unless a parallel
        // request just did.
        let taken = Entity::update_many()
            .col_expr(Column::Delivery, Expr::value(delivery.map(str::to_owned)))
            .col_expr(Column::ExpiresAt, Expr::value(expires_at))
            .filter(Column::WorkflowId.eq(workflow_id))
            .filter(Column::Digest.eq(digest))
            .filter(Column::ExpiresAt.lte(now))
            .exec(db)
            .await?;
        if taken.rows_affected > 0 {
            return Ok(Seen::First);
        }
    }
    Ok(Seen::Replay)
}

/// Forgets a delivery whose run could not be queued, so that the sender's
/// retry of it is not taken for a replay.
pub async fn forget(
    db: &DatabaseConnection,
    workflow_id: Uuid,
    digest: &str,
) -> Result<(), DomainError> {
    Entity::delete_by_id((workflow_id, digest.to_owned()))
        .exec(db)
        .await?;
    Ok(())
}

#[derive(FromQueryResult)]
struct Crowded {
    workflow_id: Uuid,
}

/// Deletes expired records, then trims every workflow to `per_workflow`
/// (normally [`PER_WORKFLOW`]); returns how many went.
pub async fn prune(
    db: &impl ConnectionTrait,
    now: i64,
    per_workflow: u64,
) -> Result<u64, DomainError> {
    let mut deleted = Entity::delete_many()
        .filter(Column::ExpiresAt.lte(now))
        .exec(db)
        .await?
        .rows_affected;
    let too_many = {
        // Scoped: its `eq`/`gt` would clash with `ColumnTrait`'s elsewhere.
        use sea_orm::sea_query::ExprTrait;
        Expr::col(Column::Digest).count().gt(per_workflow as i64)
    };
    let crowded = Entity::find()
        .select_only()
        .column(Column::WorkflowId)
        .group_by(Column::WorkflowId)
        .having(too_many)
        .into_model::<Crowded>()
        .all(db)
        .await?;
    for Crowded { workflow_id } in crowded {
        // The first record past the limit, counting from the latest to
        // expire: it and those expiring before it go.
        let cutoff: Option<i64> = Entity::find()
            .select_only()
            .column(Column::ExpiresAt)
            .filter(Column::WorkflowId.eq(workflow_id))
            .order_by_desc(Column::ExpiresAt)
            .offset(per_workflow)
            .limit(1)
            .into_tuple()
            .one(db)
            .await?;
        if let Some(cutoff) = cutoff {
            deleted += Entity::delete_many()
                .filter(Column::WorkflowId.eq(workflow_id))
                .filter(Column::ExpiresAt.lte(cutoff))
                .exec(db)
                .await?
                .rows_affected;
        }
    }
    Ok(deleted)
}
