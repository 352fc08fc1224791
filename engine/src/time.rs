//! Wall-clock time as epoch milliseconds, the unit of every engine column.

use std::time::{SystemTime, UNIX_EPOCH};

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// `2026-01-31T09:00:00Z` (any RFC 3339 offset) as epoch milliseconds.
pub fn parse_rfc3339_ms(text: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .map(|t| t.timestamp_millis())
}

/// Epoch milliseconds as RFC 3339 in UTC, for people and APIs.
pub fn to_rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let ms = parse_rfc3339_ms("2026-01-31T09:00:00.250+01:00").unwrap();
        assert_eq!(to_rfc3339(ms), "2026-01-31T08:00:00.250Z");
        assert_eq!(parse_rfc3339_ms("yesterday"), None);
    }
}
