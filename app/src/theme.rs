//! Light and dark colour themes, remembered in a cookie so that the server
//! renders the chosen theme and the page never flashes the other one.

use serde::{Deserialize, Serialize};

/// Name of the cookie holding the theme choice.
pub const THEME_COOKIE: &str = "switchyard_theme";

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Theme {
    #[default]
    Light,
    Dark,
}

impl Theme {
    pub fn as_str(self) -> &'static str {
        match self {
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }

    pub fn toggled(self) -> Theme {
        match self {
            Theme::Light => Theme::Dark,
            Theme::Dark => Theme::Light,
        }
    }

    /// Reads the theme from a `Cookie` header value; unknown values mean light.
    pub fn from_cookie_header(header: &str) -> Theme {
        header
            .split(';')
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == THEME_COOKIE)
            .map_or(Theme::Light, |(_, value)| match value {
                "dark" => Theme::Dark,
                _ => Theme::Light,
            })
    }
}

/// The theme the current request asked for (server), or light (browser).
pub fn theme_from_request() -> Theme {
    #[cfg(feature = "ssr")]
    {
        use leptos::prelude::use_context;
        use_context::<http::request::Parts>()
            .and_then(|parts| {
                parts
                    .headers
                    .get(http::header::COOKIE)
                    .and_then(|value| value.to_str().ok())
                    .map(Theme::from_cookie_header)
            })
            .unwrap_or_default()
    }
    #[cfg(not(feature = "ssr"))]
    Theme::default()
}

/// The theme currently applied to the document (browser only).
pub fn current_document_theme() -> Theme {
    let attribute = leptos::prelude::document()
        .document_element()
        .and_then(|html| html.get_attribute("data-theme"));
    match attribute.as_deref() {
        Some("dark") => Theme::Dark,
        _ => Theme::Light,
    }
}

/// Applies a theme to the document and remembers it for a year.
pub fn apply_theme(theme: Theme) {
    use leptos::wasm_bindgen::JsCast;
    let document = leptos::prelude::document();
    if let Some(html) = document.document_element() {
        let _ = html.set_attribute("data-theme", theme.as_str());
    }
    if let Ok(html_document) = document.dyn_into::<web_sys::HtmlDocument>() {
        let cookie = format!(
            "{THEME_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
            theme.as_str()
        );
        let _ = html_document.set_cookie(&cookie);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_header_selects_theme() {
        assert_eq!(
            Theme::from_cookie_header("a=b; switchyard_theme=dark"),
            Theme::Dark
        );
        assert_eq!(
            Theme::from_cookie_header("switchyard_theme=light"),
            Theme::Light
        );
        assert_eq!(
            Theme::from_cookie_header("switchyard_theme=purple"),
            Theme::Light
        );
        assert_eq!(Theme::from_cookie_header(""), Theme::Light);
        assert_eq!(
            Theme::from_cookie_header("xswitchyard_theme=dark"),
            Theme::Light
        );
    }

    #[test]
    fn toggling_alternates() {
        assert_eq!(Theme::Light.toggled(), Theme::Dark);
        assert_eq!(Theme::Dark.toggled().toggled(), Theme::Dark);
    }
}
