//! Alert rules and auto-pause, per workflow or as an account's default:
//! what counts as trouble, and what happens then. Shared with the browser,
//! which edits them with the same checks the server applies.

use serde::{Deserialize, Serialize};

/// The rules of a workflow (or an account's default for its workflows).
/// A rule set to `None` (or `false`) does not fire.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct AlertSettings {
    /// Failed runs over `percent` % of those that ended in the last
    /// `window_minutes`, once at least `min_runs` ended.
    pub error_rate: Option<ErrorRateRule>,
    /// This many runs in a row failed.
    pub consecutive_failures: Option<u32>,
    /// The 95th percentile of the durations of runs that ended in the
    /// window is over `p95_ms`.
    pub slow_runs: Option<SlowRunsRule>,
    /// A provider answered 429 (rate limited).
    pub rate_limited: bool,
    /// A run went to the dead-letter queue.
    pub dead_letter: bool,
    /// A provider refused a connection's credentials (401/403): it needs
    /// reconnecting.
    pub connection_refused: bool,
    /// A schedule fired later than its time (the instance was down).
    pub missed_schedule: bool,
    pub auto_pause: AutoPause,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ErrorRateRule {
    pub percent: f64,
    pub window_minutes: u32,
    pub min_runs: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SlowRunsRule {
    pub p95_ms: u64,
    pub window_minutes: u32,
}

/// Pausing a workflow that keeps failing: its queued runs are held, not
/// lost, and continue when it is resumed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct AutoPause {
    /// Pause after this many runs in a row failed.
    pub after_failures: Option<u32>,
    /// Pause after this many 429 answers within 10 minutes.
    pub after_rate_limits: Option<u32>,
}

/// The window in which 429 answers are counted for auto-pause.
pub const RATE_LIMIT_WINDOW_MINUTES: u32 = 10;

impl Default for AlertSettings {
    /// What an account starts with: n8n-like error alerting, no auto-pause.
    fn default() -> Self {
        AlertSettings {
            error_rate: Some(ErrorRateRule {
                percent: 10.0,
                window_minutes: 5,
                min_runs: 5,
            }),
            consecutive_failures: Some(3),
            slow_runs: None,
            rate_limited: true,
            dead_letter: true,
            connection_refused: true,
            missed_schedule: true,
            auto_pause: AutoPause::default(),
        }
    }
}

/// A setting out of range: the field (dotted path) and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettingProblem {
    pub field: &'static str,
    pub message: String,
}

impl AlertSettings {
    /// Every value out of range, named by field.
    pub fn problems(&self) -> Vec<SettingProblem> {
        let mut problems = Vec::new();
        let mut check = |ok: bool, field: &'static str, message: &str| {
            if !ok {
                problems.push(SettingProblem {
                    field,
                    message: message.to_owned(),
                });
            }
        };
        if let Some(rule) = &self.error_rate {
            check(
                rule.percent > 0.0 && rule.percent <= 100.0,
                "error_rate.percent",
                "must be more than 0 and at most 100",
            );
            check(
                (1..=1440).contains(&rule.window_minutes),
                "error_rate.window_minutes",
                "must be 1 to 1440",
            );
            check(
                (1..=100_000).contains(&rule.min_runs),
                "error_rate.min_runs",
                "must be 1 to 100000",
            );
        }
        if let Some(n) = self.consecutive_failures {
            check(
                (1..=1000).contains(&n),
                "consecutive_failures",
                "must be 1 to 1000",
            );
        }
        if let Some(rule) = &self.slow_runs {
            check(rule.p95_ms >= 1, "slow_runs.p95_ms", "must be at least 1");
            check(
                (1..=1440).contains(&rule.window_minutes),
                "slow_runs.window_minutes",
                "must be 1 to 1440",
            );
        }
        if let Some(n) = self.auto_pause.after_failures {
            check(
                (1..=1000).contains(&n),
                "auto_pause.after_failures",
                "must be 1 to 1000",
            );
        }
        if let Some(n) = self.auto_pause.after_rate_limits {
            check(
                (1..=10_000).contains(&n),
                "auto_pause.after_rate_limits",
                "must be 1 to 10000",
            );
        }
        problems
    }
}

/// The kinds of alert rule, as incidents and notifications name them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AlertRule {
    ErrorRate,
    ConsecutiveFailures,
    SlowRuns,
    RateLimited,
    DeadLetter,
    ConnectionRefused,
    MissedSchedule,
}

crate::status::string_enum!(AlertRule {
    ErrorRate => "error_rate", ConsecutiveFailures => "consecutive_failures",
    SlowRuns => "slow_runs", RateLimited => "rate_limited", DeadLetter => "dead_letter",
    ConnectionRefused => "connection_refused", MissedSchedule => "missed_schedule",
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_partial_settings_fill_in() {
        assert!(AlertSettings::default().problems().is_empty());
        let partial: AlertSettings =
            serde_json::from_str(r#"{"auto_pause": {"after_failures": 5}}"#).unwrap();
        assert_eq!(partial.auto_pause.after_failures, Some(5));
        assert_eq!(partial.consecutive_failures, Some(3));
        let bad: AlertSettings = serde_json::from_str(
            r#"{"error_rate": {"percent": 0, "window_minutes": 0, "min_runs": 1}}"#,
        )
        .unwrap();
        let fields: Vec<_> = bad.problems().iter().map(|p| p.field).collect();
        assert_eq!(fields, ["error_rate.percent", "error_rate.window_minutes"]);
        assert!(serde_json::from_str::<AlertSettings>(r#"{"nope": 1}"#).is_err());
        for rule in ["error_rate", "dead_letter", "missed_schedule"] {
            assert_eq!(AlertRule::parse(rule).unwrap().as_str(), rule);
        }
    }
}
