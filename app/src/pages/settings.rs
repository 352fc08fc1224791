//! Settings: the account, its password, personal API tokens, and alerts.

use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::{
    account::{RequireAccount, use_account},
    api::{self, ApiError},
    components::field::{Field, FormMessage},
};

/// A token as listed: never the token itself.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TokenSummary {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

#[server(endpoint = "my_tokens")]
pub async fn my_tokens() -> Result<Vec<TokenSummary>, ServerFnError> {
    let context = crate::server_context::ServerContext::from_leptos()?;
    let account = context.require_account().await?;
    let tokens = domain::tokens::list(&context.db, account.id)
        .await
        .map_err(crate::server_context::fail)?;
    Ok(tokens
        .into_iter()
        .map(|t| TokenSummary {
            id: t.id.to_string(),
            name: t.name,
            prefix: t.prefix,
            created_at: t.created_at.format("%Y-%m-%d %H:%M").to_string(),
            last_used_at: t
                .last_used_at
                .map(|at| at.format("%Y-%m-%d %H:%M").to_string()),
        })
        .collect())
}

#[component]
pub fn SettingsPage() -> impl IntoView {
    view! {
        <Title text="Settings" />
        <header class="page-header">
            <h1>"Settings"</h1>
            <p class="muted">"Your account, password, API tokens, and where alerts go."</p>
        </header>
        <RequireAccount>
            <div class="settings-grid">
                <AccountCard />
                <PasswordCard />
                <TokensCard />
                <crate::pages::alert_settings::AlertsCard />
                <crate::pages::retention_card::RetentionCard />
            </div>
        </RequireAccount>
    }
}

#[component]
fn AccountCard() -> impl IntoView {
    let account = use_account();
    let sign_out = move |_| {
        leptos::task::spawn_local(async move {
            let _ = api::call::<Value>("POST", "/auth/logout", None).await;
            api::reload_to("/");
        });
    };
    view! {
        <section class="card" aria-labelledby="account-heading">
            <h2 id="account-heading">"Account"</h2>
            <Suspense>
                {move || Suspend::new(async move {
                    let email = account.await.ok().flatten().map(|a| a.email).unwrap_or_default();
                    view! { <p>"Signed in as " <strong data-testid="account-email">{email}</strong></p> }
                })}
            </Suspense>
            <button type="button" class="btn btn-secondary" on:click=sign_out>"Sign out"</button>
        </section>
    }
}

#[component]
fn PasswordCard() -> impl IntoView {
    let current = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let saved = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        saved.set(false);
        error.set(None);
        let body = json!({ "current_password": current.get_untracked(), "new_password": new.get_untracked() });
        leptos::task::spawn_local(async move {
            match api::call::<Value>("POST", "/me/password", Some(&body)).await {
                Ok(_) => {
                    current.set(String::new());
                    new.set(String::new());
                    saved.set(true);
                }
                Err(failure) => error.set(Some(failure)),
            }
        });
    };
    let field_error =
        move |field: &'static str| Signal::derive(move || error.get().and_then(|e| e.field(field)));
    let general = Signal::derive(move || {
        error
            .get()
            .filter(|e| e.fields.is_empty())
            .map(|e| e.message)
    });
    view! {
        <section class="card" aria-labelledby="password-heading">
            <h2 id="password-heading">"Password"</h2>
            <form on:submit=submit novalidate>
                <FormMessage message=general />
                <Field label="Current password" name="current_password" kind="password" value=current error=field_error("current_password") autocomplete="current-password" />
                <Field label="New password" name="new_password" kind="password" value=new error=field_error("new_password") autocomplete="new-password" hint="At least 10 characters. Your other sessions end." />
                <button type="submit" class="btn btn-primary">"Change password"</button>
                <Show when=move || saved.get()>
                    <p class="alert alert-success" role="status">"Password changed. Other sessions were signed out."</p>
                </Show>
            </form>
        </section>
    }
}

#[derive(Clone, Debug, Deserialize)]
struct CreatedToken {
    token: String,
}

#[component]
fn TokensCard() -> impl IntoView {
    let tokens = Resource::new(|| (), |_| my_tokens());
    let name = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let created = RwSignal::new(None::<String>);
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        let body = json!({ "name": name.get_untracked() });
        leptos::task::spawn_local(async move {
            match api::call::<CreatedToken>("POST", "/tokens", Some(&body)).await {
                Ok(token) => {
                    created.set(Some(token.token));
                    name.set(String::new());
                    tokens.refetch();
                }
                Err(failure) => error.set(Some(failure)),
            }
        });
    };
    let revoke = move |id: String| {
        leptos::task::spawn_local(async move {
            match api::call::<Value>("DELETE", &format!("/tokens/{id}"), None).await {
                Ok(_) => tokens.refetch(),
                Err(failure) => error.set(Some(failure)),
            }
        });
    };
    let copy = move |_| {
        if let Some(token) = created.get_untracked() {
            crate::browser::copy_text(&token);
        }
    };
    let field_error = Signal::derive(move || error.get().and_then(|e| e.field("name")));
    let general = Signal::derive(move || {
        error
            .get()
            .filter(|e| e.fields.is_empty())
            .map(|e| e.message)
    });
    view! {
        <section class="card settings-wide" aria-labelledby="tokens-heading">
            <h2 id="tokens-heading">"API tokens"</h2>
            <p class="muted">"Scripts send a token as " <code>"Authorization: Bearer …"</code> " to use the API as you."</p>
            <Show when=move || created.get().is_some()>
                <div class="alert alert-success" role="status">
                    <p><strong>"Copy your new token now."</strong> " It is shown this once."</p>
                    <div class="token-reveal">
                        <code data-testid="new-token">{move || created.get().unwrap_or_default()}</code>
                        <button type="button" class="btn btn-secondary btn-sm" on:click=copy>"Copy"</button>
                    </div>
                </div>
            </Show>
            <form class="inline-form" on:submit=create novalidate>
                <FormMessage message=general />
                <Field label="Token name" name="token_name" value=name error=field_error hint="What will use it, e.g. “deploy script”." />
                <button type="submit" class="btn btn-primary">"Create token"</button>
            </form>
            <Suspense fallback=|| view! { <p class="muted">"Loading tokens…"</p> }>
                {move || Suspend::new(async move {
                    match tokens.await {
                        Ok(list) if list.is_empty() => view! { <p class="muted" data-testid="no-tokens">"No tokens yet."</p> }.into_any(),
                        Ok(list) => view! {
                            <table class="table" data-testid="tokens">
                                <thead><tr><th>"Name"</th><th>"Token"</th><th>"Created"</th><th>"Last used"</th><th><span class="visually-hidden">"Actions"</span></th></tr></thead>
                                <tbody>
                                    {list.into_iter().map(|token| {
                                        let id = token.id.clone();
                                        let label = format!("Revoke {}", token.name);
                                        view! {
                                            <tr>
                                                <td>{token.name}</td>
                                                <td><code>{token.prefix}"…"</code></td>
                                                <td>{token.created_at}</td>
                                                <td>{token.last_used_at.unwrap_or_else(|| "never".into())}</td>
                                                <td><button type="button" class="btn btn-danger btn-sm" aria-label=label on:click=move |_| revoke(id.clone())>"Revoke"</button></td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any(),
                        Err(_) => view! { <p class="alert alert-danger">"Tokens could not be loaded."</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}
