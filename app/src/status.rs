//! Health of a running Switchyard: the JSON of `/health` and
//! `/health/ready`, and the server function behind the status card.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Body of `GET /health`: the process is up.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Liveness {
    pub status: String,
    pub version: String,
}

/// Body of `GET /health/ready`: whether the process can serve work.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Readiness {
    /// `ready` or `unavailable`.
    pub status: String,
    pub database: DependencyCheck,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DependencyCheck {
    /// `up` or `down`.
    pub status: String,
    pub latency_ms: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What the home page shows about this installation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SystemStatus {
    pub version: String,
    /// `SQLite` or `PostgreSQL`.
    pub database: String,
    pub database_up: bool,
    /// The newest applied migration.
    pub schema_version: Option<String>,
    pub uptime_secs: u64,
}

/// Served at a fixed path so that scripts and tests can call it too.
#[server(endpoint = "system_status")]
pub async fn get_system_status() -> Result<SystemStatus, ServerFnError> {
    let context = crate::server_context::ServerContext::from_leptos()?;
    Ok(context.system_status().await)
}

/// "3 d 4 h", "5 min", "12 s": a short human uptime.
pub fn format_uptime(secs: u64) -> String {
    let (days, hours, minutes) = (secs / 86_400, secs / 3_600 % 24, secs / 60 % 60);
    if days > 0 {
        format!("{days} d {hours} h")
    } else if hours > 0 {
        format!("{hours} h {minutes} min")
    } else if minutes > 0 {
        format!("{minutes} min")
    } else {
        format!("{secs} s")
    }
}

#[cfg(test)]
mod tests {
    use super::format_uptime;

    #[test]
    fn uptime_is_short_and_readable() {
        assert_eq!(format_uptime(0), "0 s");
        assert_eq!(format_uptime(59), "59 s");
        assert_eq!(format_uptime(61), "1 min");
        assert_eq!(format_uptime(3_600 * 5 + 60 * 7), "5 h 7 min");
        assert_eq!(format_uptime(86_400 * 3 + 3_600 * 4 + 1), "3 d 4 h");
    }
}
