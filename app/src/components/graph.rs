//! Geometry and labels shared by everything that draws a workflow graph:
//! the editor's canvas and a run's read-only overlay.

use model::layout::NODE_HEIGHT;

/// Where port `index` of `count` sits on a node's right edge.
pub fn port_y(index: usize, count: usize) -> f64 {
    NODE_HEIGHT * (index as f64 + 1.0) / (count as f64 + 1.0)
}

/// A curve from an output port to a node's input.
pub fn curve(from: (f64, f64), to: (f64, f64)) -> String {
    let bend = ((to.0 - from.0).abs() / 2.0).max(40.0);
    format!(
        "M{:.1},{:.1} C{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}",
        from.0,
        from.1,
        from.0 + bend,
        from.1,
        to.0 - bend,
        to.1,
        to.0,
        to.1
    )
}

/// The CSS class suffix of a kind's category (the node's accent colour).
pub fn category_class(category: Option<model::Category>) -> &'static str {
    match category {
        Some(model::Category::Trigger) => "trigger",
        Some(model::Category::Logic) => "logic",
        Some(model::Category::Integration) => "integration",
        _ => "action",
    }
}

/// What a node shows under its title while or after it runs.
pub fn status_caption(status: &str, attempt: i64) -> String {
    if status == "retrying" {
        format!("retrying after attempt {attempt}")
    } else if attempt > 1 {
        format!("{status} · attempt {attempt}")
    } else {
        status.to_owned()
    }
}

/// At most `max` characters, with an ellipsis when cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        format!("{}…", text.chars().take(max - 1).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_titles_are_cut_with_an_ellipsis() {
        assert_eq!(truncate("short", 10), "short");
        assert_eq!(truncate("a much longer title", 8), "a much …");
    }

    #[test]
    fn ports_spread_evenly_down_the_node() {
        assert_eq!(port_y(0, 1), NODE_HEIGHT / 2.0);
        assert!(port_y(0, 2) < port_y(1, 2));
    }

    #[test]
    fn captions_name_the_attempt_once_it_matters() {
        assert_eq!(status_caption("succeeded", 1), "succeeded");
        assert_eq!(status_caption("succeeded", 3), "succeeded · attempt 3");
        assert_eq!(status_caption("retrying", 2), "retrying after attempt 2");
    }
}
