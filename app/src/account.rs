//! The signed-in account as pages see it, and the guard that sends
//! visitors to the sign-in page and back.

use leptos::prelude::*;
use leptos_router::{components::Redirect, hooks::use_location};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CurrentAccount {
    pub id: String,
    pub email: String,
}

#[server(endpoint = "current_account")]
pub async fn get_current_account() -> Result<Option<CurrentAccount>, ServerFnError> {
    let context = crate::server_context::ServerContext::from_leptos()?;
    Ok(context.current_account().await?.map(|a| CurrentAccount {
        id: a.id.to_string(),
        email: a.email,
    }))
}

/// The account of this page view, loaded once and shared.
pub type AccountResource = Resource<Result<Option<CurrentAccount>, ServerFnError>>;

pub fn provide_account() {
    provide_context::<AccountResource>(Resource::new(|| (), |_| get_current_account()));
}

pub fn use_account() -> AccountResource {
    expect_context::<AccountResource>()
}

/// Shows `children` to signed-in visitors; sends others to sign in first,
/// with the page they wanted to come back to.
#[component]
pub fn RequireAccount(children: ChildrenFn) -> impl IntoView {
    let account = use_account();
    let location = use_location();
    let children = StoredValue::new(children);
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match account.await {
                    Ok(Some(_)) => children.with_value(|children| children()).into_any(),
                    _ => {
                        let path = location.pathname.get_untracked();
                        let query = location.search.get_untracked();
                        let wanted = if query.is_empty() { path } else { format!("{path}?{query}") };
                        let target = format!("/login?next={}", encode_component(&wanted));
                        view! { <Redirect path=target /> }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}

/// Percent-encodes a value for a query string.
pub fn encode_component(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn query_values_are_encoded() {
        assert_eq!(
            super::encode_component("/workflows/a b?x=1&y"),
            "/workflows/a%20b%3Fx%3D1%26y"
        );
    }
}
