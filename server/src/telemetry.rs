//! Structured logs through `tracing`: readable lines by default, JSON when
//! configured, filtered by `SWITCHYARD_LOG`. Logs go to stderr; stdout is
//! kept for the one line that tells where Switchyard is listening.

use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use crate::config::LogFormat;

/// Installs the global subscriber; a second call (as in tests) is a no-op.
pub fn init(format: LogFormat, filter: &str) {
    let filter = EnvFilter::builder().parse_lossy(filter);
    let registry = tracing_subscriber::registry().with(filter);
    let _ = match format {
        LogFormat::Pretty => registry
            .with(fmt::layer().with_target(false).with_writer(std::io::stderr))
            .try_init(),
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    // Every span around a line: a step's line also carries
                    // its run's execution and workflow ids.
                    .with_span_list(true)
                    .with_writer(std::io::stderr),
            )
            .try_init(),
    };
}
