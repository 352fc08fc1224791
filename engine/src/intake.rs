//! Intake first: accepting a run (a webhook, an event, a manual start) must
//! stay fast however much work is queued, because senders wait for the
//! answer and retry when it is late. Every enqueue's time to commit is
//! recorded; while it exceeds the target, this instance works on fewer
//! runs at once (halving, down to one, and then starting at most one run
//! per window), and it goes back up step by step once accepting is fast
//! again. A burst is absorbed by the durable queue and worked off
//! afterwards, and queued runs still move while it lasts; with no intake,
//! every worker is used.

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

/// How often the limit is reconsidered.
pub(crate) const WINDOW: Duration = Duration::from_millis(100);

/// Enqueue latencies since the limit was last reconsidered.
#[derive(Default)]
pub(crate) struct IntakeGauge {
    count: AtomicU64,
    total_micros: AtomicU64,
}

impl IntakeGauge {
    pub fn record(&self, elapsed: Duration) {
        self.total_micros.fetch_add(
            u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    /// Enqueues recorded and their mean time, since the last call.
    fn take(&self) -> (u64, Duration) {
        let count = self.count.swap(0, Ordering::Relaxed);
        let total = self.total_micros.swap(0, Ordering::Relaxed);
        let mean = if count == 0 { 0 } else { total / count };
        (count, Duration::from_micros(mean))
    }
}

/// How many runs the dispatcher may have in flight right now.
pub(crate) struct ExecutionLimit {
    max: usize,
    current: usize,
    /// Runs that may still start in this window.
    starts_left: usize,
    /// `None` turns the limit off: always `max`.
    target: Option<Duration>,
}

impl ExecutionLimit {
    pub fn new(max: usize, target: Option<Duration>) -> ExecutionLimit {
        let max = max.max(1);
        ExecutionLimit {
            max,
            current: max,
            starts_left: usize::MAX,
            target,
        }
    }

    pub fn current(&self) -> usize {
        self.current
    }

    /// How many runs may start now, with `in_flight` under way.
    pub fn room(&self, in_flight: usize) -> usize {
        self.current.saturating_sub(in_flight).min(self.starts_left)
    }

    pub fn started(&mut self, runs: usize) {
        self.starts_left = self.starts_left.saturating_sub(runs);
    }

    /// Reconsiders the limit from the enqueues of the window that ended.
    pub fn update(&mut self, gauge: &IntakeGauge) -> usize {
        let (count, mean) = gauge.take();
        let slow = self.target.is_some_and(|target| count > 0 && mean > target);
        self.current = match self.target {
            None => self.max,
            Some(_) if count == 0 => self.max,
            Some(_) if slow => (self.current / 2).max(1),
            Some(_) => (self.current + self.max.div_ceil(32)).min(self.max),
        };
        // Still too slow with one run at a time: one start per window.
        self.starts_left = if slow && self.current == 1 {
            1
        } else {
            usize::MAX
        };
        self.current
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(gauge: &IntakeGauge, enqueues: &[u64]) {
        for ms in enqueues {
            gauge.record(Duration::from_millis(*ms));
        }
    }

    #[test]
    fn slow_intake_halves_the_limit_down_to_one() {
        let gauge = IntakeGauge::default();
        let mut limit = ExecutionLimit::new(128, Some(Duration::from_millis(5)));
        let mut seen = Vec::new();
        for _ in 0..9 {
            window(&gauge, &[4, 9, 12]);
            seen.push(limit.update(&gauge));
        }
        assert_eq!(seen, [64, 32, 16, 8, 4, 2, 1, 1, 1]);
        // At the bottom, one run starts per window, whatever is in flight.
        assert_eq!(limit.room(0), 1);
        limit.started(1);
        assert_eq!(limit.room(0), 0);
        window(&gauge, &[1]);
        limit.update(&gauge);
        assert_eq!(limit.room(0), 5);
        assert_eq!(limit.room(3), 2);
    }

    #[test]
    fn fast_intake_raises_it_step_by_step_and_no_intake_frees_it() {
        let gauge = IntakeGauge::default();
        let mut limit = ExecutionLimit::new(128, Some(Duration::from_millis(5)));
        window(&gauge, &[50]);
        limit.update(&gauge);
        window(&gauge, &[50]);
        assert_eq!(limit.update(&gauge), 32);
        window(&gauge, &[1, 2]);
        assert_eq!(limit.update(&gauge), 36);
        window(&gauge, &[1]);
        assert_eq!(limit.update(&gauge), 40);
        // Nothing arrived: nothing to protect.
        assert_eq!(limit.update(&gauge), 128);
    }

    #[test]
    fn without_a_target_every_worker_is_used() {
        let gauge = IntakeGauge::default();
        let mut limit = ExecutionLimit::new(16, None);
        window(&gauge, &[500, 900]);
        assert_eq!(limit.update(&gauge), 16);
    }
}
