//! Rate limits per connection, so that a burst of runs waits its turn
//! instead of drawing 429s. Each connection has a bucket (GCRA: a rate
//! and a burst) seeded from the provider's published limits and
//! overridable on the connection.
//!
//! A step that has to wait reserves its slot and is put back for that
//! time, holding no worker (see [`Slot::Later`]); when it runs again it
//! finds its reservation. governor's limiters answer "not yet" but cannot
//! reserve a future slot, which a durable wait needs, hence this small
//! scheduler. Buckets are per process: with several instances each one
//! allows the full rate (see docs/integrations.md).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use uuid::Uuid;

use super::RateLimit;

/// Waits shorter than this are slept through in place.
pub const INLINE_WAIT: Duration = Duration::from_millis(250);
/// Reservations not claimed within this long after their time are dropped.
const RESERVATION_TTL: Duration = Duration::from_secs(600);
/// Buckets kept at most (idle ones are dropped first).
const MAX_BUCKETS: usize = 10_000;

/// A connection's limit: requests per second, burst, requests in flight.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limit {
    pub per_second: f64,
    pub burst: u32,
    pub concurrent: Option<u32>,
}

impl From<RateLimit> for Limit {
    fn from(limit: RateLimit) -> Limit {
        Limit {
            per_second: limit.per_second,
            burst: limit.burst,
            concurrent: limit.concurrent,
        }
    }
}

impl Limit {
    fn interval(&self) -> Duration {
        Duration::from_secs_f64(1.0 / self.per_second.clamp(0.000_1, 1_000_000.0))
    }
}

struct Bucket {
    limit: Limit,
    /// GCRA's theoretical arrival time of the next request.
    next: Instant,
    in_flight: Option<Arc<Semaphore>>,
    used: Instant,
}

/// When a step may make its call.
#[derive(Debug)]
pub enum Slot {
    /// Now; hold the permit while the request is in flight.
    Now(Option<OwnedSemaphorePermit>),
    /// Not before this long from now; the slot is reserved for the step.
    Later(Duration),
}

#[derive(Default)]
pub struct RateLimits {
    buckets: Mutex<HashMap<Uuid, Bucket>>,
    /// Slots reserved by steps that were put back, by step key.
    reserved: Mutex<HashMap<String, Instant>>,
}

impl RateLimits {
    /// Takes (or reserves) the next request slot of `connection` for the
    /// step `step_key`.
    pub async fn acquire(&self, connection: Uuid, limit: Limit, step_key: &str) -> Slot {
        let now = Instant::now();
        let claimed = self.reserved.lock().expect("reservations").remove(step_key);
        let (go, in_flight) = match claimed {
            Some(at) => (at, self.semaphore(connection, limit, now)),
            None => self.reserve(connection, limit, now),
        };
        if go > now + INLINE_WAIT {
            let mut reserved = self.reserved.lock().expect("reservations");
            reserved.retain(|_, at| *at + RESERVATION_TTL > now);
            reserved.insert(step_key.to_owned(), go);
            return Slot::Later(go - now);
        }
        if go > now {
            tokio::time::sleep_until(go.into()).await;
        }
        let permit = match in_flight {
            Some(semaphore) => semaphore.acquire_owned().await.ok(),
            None => None,
        };
        Slot::Now(permit)
    }

    /// Holds every later request of `connection` back for `wait` (after a
    /// 429 with `Retry-After`).
    pub fn pause(&self, connection: Uuid, wait: Duration) {
        if let Some(bucket) = self.buckets.lock().expect("buckets").get_mut(&connection) {
            bucket.next = bucket.next.max(Instant::now() + wait);
        }
    }

    fn reserve(
        &self,
        connection: Uuid,
        limit: Limit,
        now: Instant,
    ) -> (Instant, Option<Arc<Semaphore>>) {
        let mut buckets = self.buckets.lock().expect("buckets");
        let bucket = bucket(&mut buckets, connection, limit, now);
        let interval = limit.interval();
        let tolerance = interval * limit.burst.saturating_sub(1);
        let next = bucket.next.max(now);
        let go = now.max(next.checked_sub(tolerance).unwrap_or(now));
        bucket.next = next + interval;
        (go, bucket.in_flight.clone())
    }

    fn semaphore(&self, connection: Uuid, limit: Limit, now: Instant) -> Option<Arc<Semaphore>> {
        let mut buckets = self.buckets.lock().expect("buckets");
        bucket(&mut buckets, connection, limit, now)
            .in_flight
            .clone()
    }
}

fn bucket(
    buckets: &mut HashMap<Uuid, Bucket>,
    connection: Uuid,
    limit: Limit,
    now: Instant,
) -> &mut Bucket {
    if buckets.len() >= MAX_BUCKETS && !buckets.contains_key(&connection) {
        buckets.retain(|_, b| b.next > now || now.duration_since(b.used) < Duration::from_secs(60));
    }
    let bucket = buckets.entry(connection).or_insert_with(|| Bucket {
        limit,
        next: now,
        in_flight: limit
            .concurrent
            .map(|n| Arc::new(Semaphore::new(n.max(1) as usize))),
        used: now,
    });
    if bucket.limit != limit {
        // The connection's limit changed: keep its place, take the new rate.
        bucket.limit = limit;
        bucket.in_flight = limit
            .concurrent
            .map(|n| Arc::new(Semaphore::new(n.max(1) as usize)));
    }
    bucket.used = now;
    bucket
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(per_second: f64, burst: u32) -> Limit {
        Limit {
            per_second,
            burst,
            concurrent: None,
        }
    }

    #[test]
    fn a_burst_goes_at_once_and_the_rest_get_slots_one_interval_apart() {
        let limits = RateLimits::default();
        let connection = Uuid::now_v7();
        let now = Instant::now();
        let slots: Vec<Duration> = (0..25)
            .map(|_| limits.reserve(connection, limit(10.0, 5), now).0 - now)
            .collect();
        assert!(slots[..5].iter().all(|s| s.is_zero()), "{slots:?}");
        for (i, slot) in slots.iter().enumerate().skip(5) {
            let expected = Duration::from_millis(100 * (i as u64 - 4));
            assert!(
                slot.abs_diff(expected) < Duration::from_millis(2),
                "{i}: {slot:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_step_put_back_finds_its_slot_reserved() {
        let limits = RateLimits::default();
        let connection = Uuid::now_v7();
        assert!(matches!(
            limits.acquire(connection, limit(1.0, 1), "first").await,
            Slot::Now(_)
        ));
        let Slot::Later(wait) = limits.acquire(connection, limit(1.0, 1), "waiting").await else {
            panic!("the second call in a second at 1/s waits");
        };
        let Slot::Later(again) = limits.acquire(connection, limit(1.0, 1), "waiting").await else {
            panic!("back too early, it still waits");
        };
        assert!(
            again <= wait,
            "{again:?} {wait:?}: the same slot, not a new one"
        );
        // Someone else queues behind it, not beside it.
        let Slot::Later(third) = limits.acquire(connection, limit(1.0, 1), "third").await else {
            panic!("the third call waits too");
        };
        assert!(third > wait + Duration::from_millis(900), "{third:?}");
        // A 429 holds everyone back.
        limits.pause(connection, Duration::from_secs(30));
        let Slot::Later(paused) = limits.acquire(connection, limit(1.0, 1), "fourth").await else {
            panic!("paused");
        };
        assert!(paused > Duration::from_secs(29), "{paused:?}");
    }
}
