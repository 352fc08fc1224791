//! Status badges: one colour per meaning, the same for workflows, runs and
//! steps.

use leptos::prelude::*;

/// The badge class for a workflow, run or step status.
pub fn status_class(status: &str) -> &'static str {
    match status {
        "active" | "succeeded" => "badge badge-success",
        "failed" => "badge badge-danger",
        "retrying" | "waiting" | "held" | "paused" | "cancelled" => "badge badge-warning",
        "running" | "queued" => "badge badge-info",
        _ => "badge",
    }
}

#[component]
pub fn StatusBadge(#[prop(into)] status: Signal<String>) -> impl IntoView {
    view! {
        <span class=move || status.with(|s| status_class(s)) data-status=move || status.get()>
            {move || status.get()}
        </span>
    }
}

/// `2026-11-22T10:31:05.123Z` as `2026-11-22 10:31:05` (UTC): the same text on
/// the server and in the browser.
pub fn short_time(rfc3339: &str) -> String {
    let text = rfc3339.replacen('T', " ", 1);
    text.get(..19).map(str::to_owned).unwrap_or(text)
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_are_shortened_to_seconds() {
        assert_eq!(
            super::short_time("2026-11-22T10:31:05.123Z"),
            "2026-11-22 10:31:05"
        );
        assert_eq!(
            super::short_time("2026-11-22T10:31:05+00:00"),
            "2026-11-22 10:31:05"
        );
        assert_eq!(super::short_time("soon"), "soon");
    }
}
