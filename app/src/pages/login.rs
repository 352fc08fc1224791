//! Signing in and creating an account.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};
use serde_json::{Value, json};

use crate::{
    account::encode_component,
    api::{self, ApiError, reload_to, safe_next},
    components::field::{Field, FormMessage},
};

/// Which of the two forms.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    SignIn,
    Register,
}

#[component]
pub fn LoginPage() -> impl IntoView {
    view! { <AccountForm mode=Mode::SignIn /> }
}

#[component]
pub fn RegisterPage() -> impl IntoView {
    view! { <AccountForm mode=Mode::Register /> }
}

#[component]
fn AccountForm(mode: Mode) -> impl IntoView {
    let query = use_query_map();
    let next = Memo::new(move |_| safe_next(query.read().get("next")));
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let pending = RwSignal::new(false);
    let (title, action, endpoint) = match mode {
        Mode::SignIn => ("Sign in", "Sign in", "/auth/login"),
        Mode::Register => ("Create your account", "Create account", "/auth/register"),
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        pending.set(true);
        error.set(None);
        let body = json!({ "email": email.get_untracked(), "password": password.get_untracked() });
        leptos::task::spawn_local(async move {
            match api::call::<Value>("POST", endpoint, Some(&body)).await {
                Ok(_) => reload_to(&next.get_untracked()),
                Err(failure) => {
                    error.set(Some(failure));
                    pending.set(false);
                }
            }
        });
    };
    let field_error =
        move |field: &'static str| Signal::derive(move || error.get().and_then(|e| e.field(field)));
    let general = Signal::derive(move || {
        error
            .get()
            .filter(|e| e.fields.is_empty())
            .map(|e| match e.retry_after_secs {
                Some(secs) => format!("{} Try again in {} min.", e.message, secs.div_ceil(60)),
                None => e.message,
            })
    });
    let other = move || {
        let next = encode_component(&next.get());
        match mode {
            Mode::SignIn => view! { <p class="muted">"New to Switchyard? " <A href=format!("/register?next={next}")>"Create an account"</A></p> }.into_any(),
            Mode::Register => view! { <p class="muted">"Have an account? " <A href=format!("/login?next={next}")>"Sign in"</A></p> }.into_any(),
        }
    };
    view! {
        <Title text=title />
        <section class="auth card" aria-labelledby="auth-title">
            <h1 id="auth-title">{title}</h1>
            <form on:submit=submit novalidate>
                <FormMessage message=general />
                <Field label="Email" name="email" kind="email" value=email error=field_error("email") autocomplete="email" required=true />
                <Field
                    label="Password"
                    name="password"
                    kind="password"
                    value=password
                    error=field_error("password")
                    autocomplete=if mode == Mode::SignIn { "current-password" } else { "new-password" }
                    hint=if mode == Mode::Register { "At least 10 characters." } else { "" }
                    required=true
                />
                <button type="submit" class="btn btn-primary btn-block" disabled=move || pending.get()>
                    {move || if pending.get() { "Please wait…" } else { action }}
                </button>
            </form>
            {other}
        </section>
    }
}
