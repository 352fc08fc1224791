//! Throttling of password guesses and of anything else that makes the
//! server compute an Argon2 hash for an anonymous caller (sign-in,
//! registration, password change).
//!
//! A caller first *reserves* an attempt under every key that applies (the
//! account, the client address…); the reservation counts against the limit
//! at once, so parallel requests cannot all pass a check before any of them
//! is recorded. After the slow work the reservation is settled: counted
//! (a failed guess, a registration), released (nothing was tried), or
//! succeeded (releases, and clears the keys whose rule says so). Dropping
//! an unsettled reservation releases it.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// How many uses a key allows within a sliding window.
#[derive(Clone, Copy, Debug)]
pub struct Rule {
    /// Prefix of the key, so the same subject under two rules stays apart.
    pub name: &'static str,
    pub limit: usize,
    pub window: Duration,
    /// Whether a success forgets the key's earlier failures.
    pub reset_on_success: bool,
}

const FIFTEEN_MINUTES: Duration = Duration::from_secs(15 * 60);
const HOUR: Duration = Duration::from_secs(60 * 60);

/// Failed sign-ins per account (whether or not it exists).
pub const LOGIN_ACCOUNT: Rule = Rule {
    name: "login-account",
    limit: 5,
    window: FIFTEEN_MINUTES,
    reset_on_success: true,
};
/// Failed sign-ins per client address, whichever accounts they tried.
pub const LOGIN_CLIENT: Rule = Rule {
    name: "login-client",
    limit: 20,
    window: FIFTEEN_MINUTES,
    reset_on_success: false,
};
/// AI builder requests per account: planning is cheap offline, but a
/// configured model costs money and time.
pub const AI_USER: Rule = Rule {
    name: "ai-user",
    limit: 30,
    window: Duration::from_secs(60),
    reset_on_success: false,
};
/// Registrations per client address (each hashes a password).
pub const REGISTER_CLIENT: Rule = Rule {
    name: "register-client",
    limit: 100,
    window: HOUR,
    reset_on_success: false,
};
/// Registrations per address (a taken address is refused before hashing
/// and not counted, so this only bounds hashing for one new address).
pub const REGISTER_EMAIL: Rule = Rule {
    name: "register-email",
    limit: 5,
    window: HOUR,
    reset_on_success: false,
};
/// Wrong current passwords per account when changing it.
pub const PASSWORD_CHANGE: Rule = Rule {
    name: "password-change",
    limit: 5,
    window: FIFTEEN_MINUTES,
    reset_on_success: true,
};

/// Keys kept at most; beyond, expired ones are swept and then the least
/// recently used dropped, so a flood of addresses cannot grow memory.
const DEFAULT_CAPACITY: usize = 100_000;
/// Wait suggested while a key is full only of attempts still running.
const PENDING_RETRY: Duration = Duration::from_secs(1);

struct Entry {
    window: Duration,
    reset_on_success: bool,
    /// When each counted use happened, oldest first.
    used: VecDeque<Instant>,
    /// Reserved attempts not settled yet.
    pending: usize,
    touched: Instant,
}

impl Entry {
    fn forget_expired(&mut self, now: Instant) {
        while self
            .used
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            self.used.pop_front();
        }
    }

    fn is_idle(&self, now: Instant) -> bool {
        self.pending == 0
            && self
                .used
                .back()
                .is_none_or(|t| now.duration_since(*t) >= self.window)
    }
}

pub struct Throttle {
    entries: Mutex<HashMap<String, Entry>>,
    capacity: usize,
}

impl Default for Throttle {
    fn default() -> Self {
        Throttle::with_capacity(DEFAULT_CAPACITY)
    }
}

/// How a reserved attempt ended.
#[derive(Clone, Copy)]
enum Outcome {
    Counted,
    Released,
    Succeeded,
}

impl Throttle {
    pub fn with_capacity(capacity: usize) -> Throttle {
        Throttle {
            entries: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    /// Reserves one attempt under every `(rule, subject)`, or `Err(seconds
    /// to wait)` when any of them is used up (then nothing is reserved).
    pub fn reserve(self: &Arc<Self>, keys: &[(Rule, &str)]) -> Result<Reservation, u64> {
        let now = Instant::now();
        let keys: Vec<(Rule, String)> = keys
            .iter()
            .map(|(rule, subject)| (*rule, format!("{}:{subject}", rule.name)))
            .collect();
        let mut entries = self.entries.lock().expect("throttle");
        let mut wait = Duration::ZERO;
        for (rule, key) in &keys {
            let Some(entry) = entries.get_mut(key) else {
                continue;
            };
            entry.forget_expired(now);
            if entry.used.len() + entry.pending >= rule.limit {
                wait = wait.max(match entry.used.len().checked_sub(rule.limit) {
                    // Full of counted uses: until the one that makes it full expires.
                    Some(excess) => entry.window - now.duration_since(entry.used[excess]),
                    // Attempts still running may or may not count.
                    None => PENDING_RETRY,
                });
            }
        }
        if !wait.is_zero() {
            return Err(wait.as_secs().max(1));
        }
        if entries.len() + keys.len() > self.capacity {
            self.make_room(&mut entries, now, keys.len());
        }
        for (rule, key) in &keys {
            let entry = entries.entry(key.clone()).or_insert_with(|| Entry {
                window: rule.window,
                reset_on_success: rule.reset_on_success,
                used: VecDeque::new(),
                pending: 0,
                touched: now,
            });
            entry.pending += 1;
            entry.touched = now;
        }
        Ok(Reservation {
            throttle: self.clone(),
            keys: keys.into_iter().map(|(_, key)| key).collect(),
            settled: false,
        })
    }

    /// Drops idle keys; if that is not enough, the least recently used
    /// ones without running attempts, down to nine tenths of the capacity
    /// (so that sweeps stay rare).
    fn make_room(&self, entries: &mut HashMap<String, Entry>, now: Instant, adding: usize) {
        entries.retain(|_, entry| !entry.is_idle(now));
        let target = (self.capacity - self.capacity / 10).saturating_sub(adding);
        if entries.len() <= target {
            return;
        }
        let mut evictable: Vec<(Instant, String)> = entries
            .iter()
            .filter(|(_, entry)| entry.pending == 0)
            .map(|(key, entry)| (entry.touched, key.clone()))
            .collect();
        let excess = (entries.len() - target).min(evictable.len());
        if excess == 0 {
            return;
        }
        evictable.select_nth_unstable(excess - 1);
        for (_, key) in &evictable[..excess] {
            entries.remove(key);
        }
    }

    fn settle(&self, keys: &[String], outcome: Outcome) {
        let now = Instant::now();
        let mut entries = self.entries.lock().expect("throttle");
        for key in keys {
            // An entry is never evicted while it has a pending attempt.
            let Some(entry) = entries.get_mut(key) else {
                continue;
            };
            entry.pending = entry.pending.saturating_sub(1);
            entry.touched = now;
            match outcome {
                Outcome::Counted => entry.used.push_back(now),
                Outcome::Succeeded if entry.reset_on_success => entry.used.clear(),
                Outcome::Succeeded | Outcome::Released => {}
            }
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.lock().expect("throttle").len()
    }
}

/// An attempt reserved under some keys; settle it once the work is done.
#[must_use = "settle the reservation (dropping it releases the attempt)"]
pub struct Reservation {
    throttle: Arc<Throttle>,
    keys: Vec<String>,
    settled: bool,
}

impl Reservation {
    /// The attempt counts against every key (a wrong password, a new account).
    pub fn count(mut self) {
        self.finish(Outcome::Counted);
    }

    /// Nothing was tried (bad input, a server error): the attempt is returned.
    pub fn release(mut self) {
        self.finish(Outcome::Released);
    }

    /// The right password: released, and keys that reset on success forget
    /// their earlier failures.
    pub fn succeed(mut self) {
        self.finish(Outcome::Succeeded);
    }

    fn finish(&mut self, outcome: Outcome) {
        if !self.settled {
            self.settled = true;
            self.throttle.settle(&self.keys, outcome);
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        // A cancelled request (client gone) or a panic gives the attempt back.
        self.finish(Outcome::Released);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn login(throttle: &Arc<Throttle>, email: &str, client: &str) -> Result<Reservation, u64> {
        throttle.reserve(&[(LOGIN_ACCOUNT, email), (LOGIN_CLIENT, client)])
    }

    #[test]
    fn reservations_count_before_they_are_settled() {
        let throttle = Arc::new(Throttle::default());
        let held: Vec<Reservation> = (0..LOGIN_ACCOUNT.limit)
            .map(|_| login(&throttle, "a@x.io", "1.1.1.1").expect("within the limit"))
            .collect();
        assert_eq!(
            login(&throttle, "a@x.io", "2.2.2.2").err(),
            Some(PENDING_RETRY.as_secs()),
            "attempts in flight use up the account"
        );
        for reservation in held {
            reservation.count();
        }
        let wait = login(&throttle, "a@x.io", "2.2.2.2").err().unwrap();
        assert!(wait > 1 && wait <= LOGIN_ACCOUNT.window.as_secs());
        assert!(login(&throttle, "b@x.io", "1.1.1.1").is_ok());
    }

    #[test]
    fn released_and_dropped_attempts_do_not_count() {
        let throttle = Arc::new(Throttle::default());
        for _ in 0..3 * LOGIN_ACCOUNT.limit {
            login(&throttle, "a@x.io", "1.1.1.1").unwrap().release();
            drop(login(&throttle, "a@x.io", "1.1.1.1").unwrap());
        }
        assert!(login(&throttle, "a@x.io", "1.1.1.1").is_ok());
    }

    #[test]
    fn success_clears_the_account_but_not_the_client() {
        let throttle = Arc::new(Throttle::default());
        for _ in 0..LOGIN_ACCOUNT.limit - 1 {
            login(&throttle, "a@x.io", "9.9.9.9").unwrap().count();
        }
        login(&throttle, "a@x.io", "9.9.9.9").unwrap().succeed();
        for _ in 0..LOGIN_ACCOUNT.limit - 1 {
            login(&throttle, "a@x.io", "9.9.9.9").unwrap().count();
        }
        assert!(login(&throttle, "a@x.io", "9.9.9.9").is_ok());
        for i in 0..LOGIN_CLIENT.limit {
            if let Ok(reservation) = login(&throttle, &format!("u{i}@x.io"), "9.9.9.9") {
                reservation.count();
            }
        }
        assert!(login(&throttle, "new@x.io", "9.9.9.9").is_err());
        assert!(login(&throttle, "new@x.io", "8.8.8.8").is_ok());
    }

    #[test]
    fn memory_is_bounded_by_the_capacity() {
        let throttle = Arc::new(Throttle::with_capacity(50));
        let running = login(&throttle, "kept@x.io", "1.1.1.1").unwrap();
        for i in 0..1_000 {
            login(
                &throttle,
                &format!("u{i}@x.io"),
                &format!("10.0.{}.{}", i / 256, i % 256),
            )
            .unwrap()
            .count();
            assert!(throttle.len() <= 50, "{} keys", throttle.len());
        }
        // Keys with an attempt in flight are never evicted.
        let entries = throttle.entries.lock().unwrap();
        assert_eq!(entries["login-account:kept@x.io"].pending, 1);
        drop(entries);
        running.count();
    }
}
