//! A planner request the page shows and can cancel: the stage it reached,
//! a spinner, and Cancel. Only the newest request's outcome counts, so an
//! answer to a cancelled or replaced request never lands on the page.

use leptos::prelude::*;
use send_wrapper::SendWrapper;
use serde::de::DeserializeOwned;

use crate::api::{self, ApiError};

#[derive(Clone, Copy)]
pub struct Working {
    pub busy: RwSignal<bool>,
    /// What the server says it is doing.
    pub stage: RwSignal<String>,
    abort: RwSignal<Option<SendWrapper<web_sys::AbortController>>>,
    /// Which request is current.
    asked: StoredValue<u32>,
}

impl Working {
    pub fn new() -> Working {
        Working {
            busy: RwSignal::new(false),
            stage: RwSignal::new(String::new()),
            abort: RwSignal::new(None),
            asked: StoredValue::new(0),
        }
    }

    /// POSTs to a streaming endpoint, showing its progress, and answers
    /// its result; `None` when the request was cancelled or replaced
    /// meanwhile (nothing of it should show then).
    pub async fn call<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &serde_json::Value,
        first_stage: &str,
    ) -> Option<Result<T, ApiError>> {
        let controller = web_sys::AbortController::new().ok();
        let signal = controller.as_ref().map(|c| c.signal());
        self.abort.set(controller.map(SendWrapper::new));
        self.asked.update_value(|n| *n += 1);
        let ticket = self.asked.get_value();
        self.busy.set(true);
        self.stage.set(first_stage.to_owned());
        let stage = self.stage;
        let mut answer = None;
        let outcome = api::post_events(path, body, signal.as_ref(), |name, data| match name {
            "progress" => {
                if let Ok(progress) = serde_json::from_str::<model::ai::Progress>(data) {
                    stage.set(progress.message);
                }
            }
            "result" => answer = Some(serde_json::from_str::<T>(data)),
            _ => {}
        })
        .await;
        if self.asked.get_value() != ticket {
            return None;
        }
        self.busy.set(false);
        self.abort.set(None);
        Some(outcome.and_then(|()| match answer {
            Some(Ok(answer)) => Ok(answer),
            Some(Err(e)) => Err(ApiError::unexpected(format!("unexpected answer: {e}"))),
            None => Err(ApiError::unexpected("the answer ended without a result")),
        }))
    }

    /// Stops the current request; its outcome is dropped.
    pub fn cancel(&self) {
        self.asked.update_value(|n| *n += 1);
        if let Some(controller) = self.abort.get_untracked() {
            controller.abort();
        }
        self.busy.set(false);
        self.stage.set(String::new());
    }
}

impl Default for Working {
    fn default() -> Self {
        Working::new()
    }
}

/// The stage, a spinner and Cancel, while a request is under way.
#[component]
pub fn WorkingLine(
    working: Working,
    /// Prefix of the test ids: `<name>-progress`, `<name>-cancel`.
    name: &'static str,
    on_cancel: Callback<()>,
) -> impl IntoView {
    view! {
        <Show when=move || working.busy.get()>
            <span class="describe-progress" role="status" data-testid=format!("{name}-progress")>
                <span class="spinner" aria-hidden="true"></span>
                {move || working.stage.get()}
            </span>
            <button type="button" class="btn btn-ghost btn-sm" data-testid=format!("{name}-cancel")
                on:click=move |_| on_cancel.run(())>"Cancel"</button>
        </Show>
    }
}
