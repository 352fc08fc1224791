//! Login throttling: too many failed sign-ins for one address or from one
//! client are refused for a while, whether or not the account exists.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

/// Failures tolerated per account within the window.
const PER_ACCOUNT: usize = 5;
/// Failures tolerated per client address within the window.
const PER_CLIENT: usize = 20;
const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Entries kept before old ones are swept.
const SWEEP_ABOVE: usize = 10_000;

#[derive(Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<String, Vec<Instant>>>,
}

impl LoginThrottle {
    fn keys(email: &str, client: &str) -> [(String, usize); 2] {
        [
            (
                format!("account:{}", email.trim().to_lowercase()),
                PER_ACCOUNT,
            ),
            (format!("client:{client}"), PER_CLIENT),
        ]
    }

    /// `Err(seconds)` while either key is locked out.
    pub fn check(&self, email: &str, client: &str) -> Result<(), u64> {
        let now = Instant::now();
        let mut failures = self.failures.lock().expect("throttle");
        let mut wait = Duration::ZERO;
        for (key, limit) in Self::keys(email, client) {
            if let Some(times) = failures.get_mut(&key) {
                times.retain(|t| now.duration_since(*t) < WINDOW);
                if times.len() >= limit {
                    wait = wait.max(WINDOW - now.duration_since(times[times.len() - limit]));
                }
            }
        }
        if wait.is_zero() {
            Ok(())
        } else {
            Err(wait.as_secs().max(1))
        }
    }

    pub fn failed(&self, email: &str, client: &str) {
        let now = Instant::now();
        let mut failures = self.failures.lock().expect("throttle");
        if failures.len() > SWEEP_ABOVE {
            failures.retain(|_, times| {
                times
                    .last()
                    .is_some_and(|t| now.duration_since(*t) < WINDOW)
            });
        }
        for (key, _) in Self::keys(email, client) {
            failures.entry(key).or_default().push(now);
        }
    }

    /// A successful sign-in clears the account's failures.
    pub fn succeeded(&self, email: &str, client: &str) {
        let [(account, _), _] = Self::keys(email, client);
        self.failures.lock().expect("throttle").remove(&account);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_an_account_after_repeated_failures() {
        let throttle = LoginThrottle::default();
        for _ in 0..PER_ACCOUNT {
            assert!(throttle.check("a@x.io", "1.1.1.1").is_ok());
            throttle.failed("A@x.io", "1.1.1.1");
        }
        let wait = throttle.check("a@x.io", "2.2.2.2").unwrap_err();
        assert!(wait > 0 && wait <= WINDOW.as_secs());
        assert!(
            throttle.check("b@x.io", "1.1.1.1").is_ok(),
            "other accounts are not locked"
        );
    }

    #[test]
    fn locks_a_client_trying_many_accounts() {
        let throttle = LoginThrottle::default();
        for i in 0..PER_CLIENT {
            throttle.failed(&format!("u{i}@x.io"), "9.9.9.9");
        }
        assert!(throttle.check("new@x.io", "9.9.9.9").is_err());
        assert!(throttle.check("new@x.io", "8.8.8.8").is_ok());
    }
}
