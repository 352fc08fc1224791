//! Live updates in the browser: server-sent events read with the browser's
//! `EventSource`, which reconnects by itself and resumes with
//! `Last-Event-ID`. Nothing here runs during server rendering.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One event of a run, as `/api/v1/stream` and
/// `/api/v1/executions/{id}/events` send it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LiveEvent {
    pub id: i64,
    pub execution_id: String,
    pub seq: i32,
    pub kind: String,
    #[serde(default)]
    pub data: Value,
    pub at: String,
}

impl LiveEvent {
    /// Events after which a run's status shown in a list has changed.
    pub fn changes_run_status(&self) -> bool {
        matches!(
            self.kind.as_str(),
            "execution.queued"
                | "execution.started"
                | "execution.waiting"
                | "execution.succeeded"
                | "execution.failed"
                | "execution.cancelled"
                | "execution.requeued"
        )
    }
}

/// Follows the events at `url` while the calling component lives, calling
/// `on_event` with each.
#[cfg(feature = "hydrate")]
pub fn follow(url: String, on_event: impl Fn(LiveEvent) + 'static) {
    use leptos::prelude::*;
    use send_wrapper::SendWrapper;
    use wasm_bindgen::{JsCast, closure::Closure};

    let Ok(source) = web_sys::EventSource::new(&url) else {
        return;
    };
    let on_message =
        Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |message: web_sys::MessageEvent| {
            if let Some(text) = message.data().as_string()
                && let Ok(event) = serde_json::from_str::<LiveEvent>(&text)
            {
                on_event(event);
            }
        });
    source.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    let held = SendWrapper::new((source, on_message));
    on_cleanup(move || {
        let (source, _handler) = held.take();
        source.close();
    });
}

#[cfg(not(feature = "hydrate"))]
pub fn follow(_url: String, _on_event: impl Fn(LiveEvent) + 'static) {}

/// Follows the server-sent events named `name` at `url` (such as
/// `notification` on `/api/v1/stream`) while the calling component lives,
/// calling `on_data` with each one's JSON.
#[cfg(feature = "hydrate")]
pub fn follow_named(url: String, name: &'static str, on_data: impl Fn(Value) + 'static) {
    use leptos::prelude::*;
    use send_wrapper::SendWrapper;
    use wasm_bindgen::{JsCast, closure::Closure};

    let Ok(source) = web_sys::EventSource::new(&url) else {
        return;
    };
    let on_event =
        Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |message: web_sys::MessageEvent| {
            if let Some(text) = message.data().as_string()
                && let Ok(data) = serde_json::from_str::<Value>(&text)
            {
                on_data(data);
            }
        });
    let _ = source.add_event_listener_with_callback(name, on_event.as_ref().unchecked_ref());
    let held = SendWrapper::new((source, on_event));
    on_cleanup(move || {
        let (source, _handler) = held.take();
        source.close();
    });
}

#[cfg(not(feature = "hydrate"))]
pub fn follow_named(_url: String, _name: &'static str, _on_data: impl Fn(Value) + 'static) {}

/// Calls `action` once, `delay` after the first of a burst of calls to the
/// returned function: many events, one refresh.
pub fn coalesce(
    action: impl Fn() + Clone + 'static,
    delay: std::time::Duration,
) -> impl Fn() + Clone + 'static {
    let pending = std::rc::Rc::new(std::cell::Cell::new(false));
    move || {
        if pending.replace(true) {
            return;
        }
        let pending = pending.clone();
        let action = action.clone();
        leptos::prelude::set_timeout(
            move || {
                pending.set(false);
                action();
            },
            delay,
        );
    }
}
