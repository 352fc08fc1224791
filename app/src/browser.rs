//! Small browser chores behind plain functions: downloading a file,
//! reading a chosen file, asking for confirmation. Called only from event
//! handlers, which never run on the server.

/// Saves `text` as a file named `filename` through the browser's download.
pub fn download(filename: &str, mime: &str, text: &str) {
    use wasm_bindgen::JsCast;
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(text));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let Ok(blob) = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options) else {
        return;
    };
    let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) else {
        return;
    };
    let anchor = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.create_element("a").ok())
        .and_then(|a| a.dyn_into::<web_sys::HtmlAnchorElement>().ok());
    if let Some(anchor) = anchor {
        anchor.set_href(&url);
        anchor.set_download(filename);
        anchor.click();
    }
    let _ = web_sys::Url::revoke_object_url(&url);
}

/// Downloads what `url` answers (a same-origin link, with the session's
/// cookie) as `filename`.
pub fn download_url(url: &str, filename: &str) {
    use wasm_bindgen::JsCast;
    let anchor = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.create_element("a").ok())
        .and_then(|a| a.dyn_into::<web_sys::HtmlAnchorElement>().ok());
    if let Some(anchor) = anchor {
        anchor.set_href(url);
        anchor.set_download(filename);
        anchor.click();
    }
}

/// The text of the first file chosen in a file input.
pub async fn read_chosen_file(input: &web_sys::HtmlInputElement) -> Option<(String, String)> {
    let file = input.files()?.get(0)?;
    let text = wasm_bindgen_futures::JsFuture::from(file.text())
        .await
        .ok()?;
    Some((file.name(), text.as_string()?))
}

/// A file name made of the safe characters of `name`.
pub fn file_name(name: &str, extension: &str) -> String {
    let stem: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let stem = stem.trim_matches('-');
    let stem = if stem.is_empty() { "workflow" } else { stem };
    format!("{stem}.{extension}")
}

/// Scrolls the first element matching `selector` into view.
pub fn reveal(selector: &str) {
    if let Some(element) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.query_selector(selector).ok().flatten())
    {
        element.scroll_into_view();
    }
}

/// Puts `text` on the clipboard.
pub fn copy_text(text: &str) {
    if let Some(window) = web_sys::window() {
        let _ = window.navigator().clipboard().write_text(text);
    }
}

/// Asks before following a link inside the app while `leaving_loses_work`
/// says so (the router would otherwise swap the page without the
/// browser's own unload warning). Returns what stops the guard.
pub fn guard_links(leaving_loses_work: impl Fn() -> bool + 'static) -> impl FnOnce() {
    use wasm_bindgen::{JsCast, closure::Closure};
    let document = web_sys::window().and_then(|w| w.document());
    let listener =
        Closure::<dyn Fn(web_sys::MouseEvent)>::new(move |event: web_sys::MouseEvent| {
            let link = event
                .target()
                .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                .and_then(|el| el.closest("a[href]").ok().flatten());
            if link.is_none() || !leaving_loses_work() {
                return;
            }
            let stay = web_sys::window()
                .and_then(|w| {
                    w.confirm_with_message("You have unsaved changes. Leave without saving?")
                        .ok()
                })
                .is_some_and(|leave| !leave);
            if stay {
                event.prevent_default();
                event.stop_immediate_propagation();
            }
        });
    if let Some(document) = &document {
        // Capture phase: before the router's own click handler.
        let _ = document.add_event_listener_with_callback_and_bool(
            "click",
            listener.as_ref().unchecked_ref(),
            true,
        );
    }
    move || {
        if let Some(document) = document {
            let _ = document.remove_event_listener_with_callback_and_bool(
                "click",
                listener.as_ref().unchecked_ref(),
                true,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn file_names_are_safe() {
        assert_eq!(
            super::file_name("Stripe → Slack!", "json"),
            "stripe---slack.json"
        );
        assert_eq!(super::file_name("../..", "json"), "workflow.json");
    }
}
