//! Live events routed to their owner: one task reads the engine's bus (every
//! event of every tenant) and hands each event to the open streams of its
//! owner only, so a stream wakes for its user's events and not for all of
//! them. The hub also counts each user's open streams and refuses more than
//! the limit, since every stream holds a connection and a subscription.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, Weak},
};

use engine::store::StoredEvent;
use tokio::sync::broadcast;
use uuid::Uuid;

/// Streams one account may have open at once (tabs, dashboards, scripts).
pub const STREAMS_PER_USER: usize = 16;
/// Events an owner's slowest stream may fall behind by before it is told
/// to catch up from the log.
const OWNER_CAPACITY: usize = 4_096;

/// What an owner's streams receive.
#[derive(Clone, Debug)]
pub enum Live {
    Event(Arc<StoredEvent>),
    /// A new entry in the owner's inbox.
    Notification(Arc<domain::alerts::Notification>),
    /// The hub fell behind the engine's bus and dropped events, possibly
    /// this owner's: streams re-read the log.
    Lagged,
}

struct Owner {
    sender: broadcast::Sender<Live>,
    streams: usize,
}

pub struct LiveHub {
    owners: Mutex<HashMap<Uuid, Owner>>,
    limit: usize,
}

/// The user already has as many streams open as allowed.
#[derive(Debug)]
pub struct TooManyStreams {
    pub limit: usize,
}

impl LiveHub {
    /// Starts routing `bus` (the engine's subscription); the task ends when
    /// the bus closes or the hub is dropped.
    pub fn start(bus: broadcast::Receiver<Arc<StoredEvent>>, limit: usize) -> Arc<LiveHub> {
        let hub = Arc::new(LiveHub {
            owners: Mutex::new(HashMap::new()),
            limit,
        });
        tokio::spawn(route(bus, Arc::downgrade(&hub)));
        hub
    }

    /// Opens a stream for `owner`: its events from now on, until dropped.
    pub fn subscribe(self: &Arc<Self>, owner: Uuid) -> Result<Subscription, TooManyStreams> {
        let mut owners = self.owners.lock().expect("live hub");
        let entry = owners.entry(owner).or_insert_with(|| Owner {
            sender: broadcast::channel(OWNER_CAPACITY).0,
            streams: 0,
        });
        if entry.streams >= self.limit {
            return Err(TooManyStreams { limit: self.limit });
        }
        entry.streams += 1;
        Ok(Subscription {
            receiver: entry.sender.subscribe(),
            hub: self.clone(),
            owner,
        })
    }

    /// Streams open now, of every account.
    pub fn streams(&self) -> usize {
        let owners = self.owners.lock().expect("live hub");
        owners.values().map(|owner| owner.streams).sum()
    }

    fn publish(&self, event: Arc<StoredEvent>) {
        let owners = self.owners.lock().expect("live hub");
        if let Some(owner) = owners.get(&event.row.owner_id) {
            // No receiver left is not an error: the entry goes with the last one.
            let _ = owner.sender.send(Live::Event(event));
        }
    }

    /// Hands an inbox entry to its owner's open streams.
    pub fn notify(&self, notification: Arc<domain::alerts::Notification>) {
        let owners = self.owners.lock().expect("live hub");
        if let Some(owner) = owners.get(&notification.owner_id) {
            let _ = owner.sender.send(Live::Notification(notification));
        }
    }

    fn lagged(&self) {
        for owner in self.owners.lock().expect("live hub").values() {
            let _ = owner.sender.send(Live::Lagged);
        }
    }
}

/// Follows the inbox (every instance's entries) and hands new entries to
/// their owners' streams here, until `stop`.
pub async fn follow_notifications(
    db: sea_orm::DatabaseConnection,
    hub: Arc<LiveHub>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut cursor = domain::alerts::newest_notification(&db).await.unwrap_or(0);
    loop {
        match domain::alerts::notifications_after(&db, cursor, 500).await {
            Ok(entries) => {
                for entry in entries {
                    cursor = cursor.max(entry.id);
                    hub.notify(Arc::new(entry));
                }
            }
            Err(error) => tracing::warn!(%error, "could not read new notifications"),
        }
        tokio::select! {
            () = tokio::time::sleep(NOTIFICATION_POLL) => {}
            _ = stop.wait_for(|stop| *stop) => return,
        }
    }
}

/// How often the inbox is read for new entries.
const NOTIFICATION_POLL: std::time::Duration = std::time::Duration::from_millis(500);

async fn route(mut bus: broadcast::Receiver<Arc<StoredEvent>>, hub: Weak<LiveHub>) {
    loop {
        let received = bus.recv().await;
        let Some(hub) = hub.upgrade() else { return };
        match received {
            Ok(event) => hub.publish(event),
            Err(broadcast::error::RecvError::Lagged(_)) => hub.lagged(),
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// One open stream's share of its owner's events; dropping it frees the slot.
pub struct Subscription {
    pub receiver: broadcast::Receiver<Live>,
    hub: Arc<LiveHub>,
    owner: Uuid,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut owners = self.hub.owners.lock().expect("live hub");
        if let Some(entry) = owners.get_mut(&self.owner) {
            entry.streams -= 1;
            if entry.streams == 0 {
                owners.remove(&self.owner);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use engine::store::EventRow;

    use super::*;

    fn event(id: i64, owner: Uuid) -> Arc<StoredEvent> {
        Arc::new(StoredEvent {
            id,
            row: EventRow {
                execution_id: Uuid::nil(),
                owner_id: owner,
                seq: id as i32,
                kind: "step.succeeded".into(),
                data: serde_json::Value::Null,
                created_at: 0,
            },
        })
    }

    async fn next(subscription: &mut Subscription) -> Live {
        subscription.receiver.recv().await.expect("open")
    }

    #[tokio::test]
    async fn item14_events_reach_only_their_owners_streams() {
        let (bus, _) = broadcast::channel(16);
        let hub = LiveHub::start(bus.subscribe(), STREAMS_PER_USER);
        let (ada, bob) = (Uuid::now_v7(), Uuid::now_v7());
        let mut ada_stream = hub.subscribe(ada).unwrap();
        let mut bob_stream = hub.subscribe(bob).unwrap();
        for id in 1..=3 {
            bus.send(event(id, ada)).unwrap();
        }
        bus.send(event(4, bob)).unwrap();
        for id in 1..=3 {
            assert!(matches!(next(&mut ada_stream).await, Live::Event(e) if e.id == id));
        }
        // Bob's first delivery is his own event: none of Ada's reached him.
        assert!(matches!(next(&mut bob_stream).await, Live::Event(e) if e.id == 4));
        assert!(bob_stream.receiver.try_recv().is_err());
    }

    #[tokio::test]
    async fn item14_streams_per_owner_are_counted_and_freed() {
        let (bus, _) = broadcast::channel::<Arc<StoredEvent>>(16);
        let hub = LiveHub::start(bus.subscribe(), 2);
        let ada = Uuid::now_v7();
        let first = hub.subscribe(ada).unwrap();
        let _second = hub.subscribe(ada).unwrap();
        assert!(hub.subscribe(ada).is_err());
        assert!(
            hub.subscribe(Uuid::now_v7()).is_ok(),
            "others have their own"
        );
        drop(first);
        let _third = hub.subscribe(ada).expect("a slot was freed");
        drop(_second);
        drop(_third);
        assert!(
            hub.owners.lock().unwrap().get(&ada).is_none(),
            "no empty entries"
        );
    }
}
