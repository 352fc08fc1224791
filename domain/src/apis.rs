//! The API catalogue as users browse it: every provider Switchyard can
//! call, its actions and trigger events, and a search by name, category,
//! action, event or the words people use ("sms" finds Twilio).

use std::borrow::Cow;

use engine::providers::{self, Provider, imported};
use sea_orm::DatabaseConnection;
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    DomainError,
    imports::{BUILTIN, IMPORTED, imported_description},
};

/// A provider in a list.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ApiSummary {
    pub id: String,
    pub name: String,
    pub category: String,
    pub docs: String,
    /// `builtin` (imported ones come from OpenAPI documents).
    pub source: String,
    /// Node kinds of its actions, the custom call included.
    pub kinds: Vec<String>,
    /// Event types its trigger filters on.
    pub events: Vec<String>,
    /// How its connections authenticate: `bearer`, `basic`, `header`, `query`.
    pub auth: String,
}

/// A search hit: the provider and what matched.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ApiMatch {
    #[serde(flatten)]
    pub api: ApiSummary,
    pub score: u32,
    /// `name`, `synonym: sms`, `action: send_sms`, …
    pub matched: Vec<String>,
}

fn summary(provider: &Provider, source: &str) -> ApiSummary {
    let auth = serde_json::to_value(&provider.connection.auth)
        .ok()
        .and_then(|v| v.get("type").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_default();
    ApiSummary {
        id: provider.id.to_string(),
        name: provider.name.to_string(),
        category: provider.category.to_string(),
        docs: provider.docs.to_string(),
        source: source.into(),
        kinds: provider.kinds(),
        events: provider.events.iter().map(|e| e.to_string()).collect(),
        auth,
    }
}

/// The providers an account can use: built-in ones, then its imports.
async fn catalogue(
    db: &DatabaseConnection,
    owner: Uuid,
) -> Result<Vec<(Cow<'static, Provider>, &'static str)>, DomainError> {
    let mut all: Vec<(Cow<'static, Provider>, &'static str)> = providers::builtin()
        .iter()
        .map(|p| (Cow::Borrowed(p), BUILTIN))
        .collect();
    for api in imported::descriptions(db, owner).await? {
        all.push((Cow::Owned(api.provider()), IMPORTED));
    }
    Ok(all)
}

/// The provider a connection kind or node kind prefix names: built in, or
/// one of the account's imports.
pub async fn provider(
    db: &DatabaseConnection,
    owner: Uuid,
    id: &str,
) -> Result<Option<Cow<'static, Provider>>, DomainError> {
    if let Some(builtin) = providers::find(id) {
        return Ok(Some(Cow::Borrowed(builtin)));
    }
    Ok(imported_description(db, owner, id)
        .await?
        .map(|(_, api)| Cow::Owned(api.provider())))
}

pub async fn list(db: &DatabaseConnection, owner: Uuid) -> Result<Vec<ApiSummary>, DomainError> {
    Ok(catalogue(db, owner)
        .await?
        .iter()
        .map(|(p, source)| summary(p, source))
        .collect())
}

/// Everything about one provider: connection fields, limits, actions with
/// their fields and output, events; for an import also its version and
/// the operations that were left out.
pub async fn get(db: &DatabaseConnection, owner: Uuid, id: &str) -> Result<Value, DomainError> {
    let (provider, extra) = match providers::find(id) {
        Some(builtin) => (Cow::Borrowed(builtin), json!({ "source": BUILTIN })),
        None => {
            let (row, api) = imported_description(db, owner, id)
                .await?
                .ok_or(DomainError::NotFound)?;
            let extra = json!({
                "source": IMPORTED,
                "version": api.version,
                "openapi": api.openapi,
                "revision": row.revision,
                "skipped": api.skipped,
                "imported_at": row.updated_at,
            });
            (Cow::Owned(api.provider()), extra)
        }
    };
    let mut value =
        serde_json::to_value(&*provider).map_err(|e| DomainError::Internal(e.to_string()))?;
    value["kinds"] = json!(provider.kinds());
    if let (Value::Object(value), Value::Object(extra)) = (&mut value, extra) {
        value.extend(extra);
    }
    Ok(value)
}

/// Providers that match `query`, best first.
pub async fn search(
    db: &DatabaseConnection,
    owner: Uuid,
    query: &str,
) -> Result<Vec<ApiMatch>, DomainError> {
    let query = query.trim().to_lowercase();
    if query.is_empty() || query.chars().count() > 200 {
        return Err(DomainError::invalid(
            "q",
            "give 1 to 200 characters to search for",
        ));
    }
    let words: Vec<&str> = query
        .split(|c: char| !c.is_alphanumeric() && c != '_' && c != '.')
        .filter(|w| !w.is_empty())
        .collect();
    let mut hits: Vec<ApiMatch> = catalogue(db, owner)
        .await?
        .iter()
        .filter_map(|(provider, source)| {
            let (score, matched) = score(provider, &query, &words);
            (score > 0).then(|| ApiMatch {
                api: summary(provider, source),
                score,
                matched,
            })
        })
        .collect();
    hits.sort_by(|a, b| {
        b.score
            .cmp(&a.score)
            .then_with(|| a.api.name.cmp(&b.api.name))
    });
    Ok(hits)
}

fn score(provider: &Provider, query: &str, words: &[&str]) -> (u32, Vec<String>) {
    let mut score = 0;
    let mut matched = Vec::new();
    let mut hit = |points: u32, what: String| {
        if !matched.contains(&what) {
            score += points;
            matched.push(what);
        }
    };
    let has_word = |text: &str| {
        let text = text.to_lowercase();
        words
            .iter()
            .any(|w| text == *w || text.split(['_', ' ', '.', '-']).any(|part| part == *w))
    };
    if provider.id == query || provider.name.to_lowercase() == query {
        hit(20, "name".into());
    } else if words
        .iter()
        .any(|w| provider.id.starts_with(w) || provider.name.to_lowercase().starts_with(w))
    {
        hit(10, "name".into());
    }
    for synonym in provider.synonyms {
        if query.contains(synonym) || has_word(synonym) && !synonym.contains(' ') {
            hit(6, format!("synonym: {synonym}"));
        }
    }
    if has_word(&provider.category) || query.contains(&provider.category.to_lowercase()) {
        hit(4, format!("category: {}", provider.category));
    }
    for action in &provider.actions {
        if has_word(&action.name) || has_word(&action.label) {
            hit(3, format!("action: {}", action.name));
        }
    }
    for event in provider.events {
        if query.contains(&event.to_lowercase()) || has_word(event) {
            hit(2, format!("event: {event}"));
        }
    }
    (score, matched)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(query: &str) -> Vec<String> {
        let query = query.to_lowercase();
        let words: Vec<&str> = query
            .split(|c: char| !c.is_alphanumeric() && c != '_' && c != '.')
            .filter(|w| !w.is_empty())
            .collect();
        let mut hits: Vec<(u32, String)> = providers::builtin()
            .iter()
            .map(|p| (score(p, &query, &words).0, p.id.to_string()))
            .filter(|(score, _)| *score > 0)
            .collect();
        hits.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        hits.into_iter().map(|(_, id)| id).collect()
    }

    #[test]
    fn people_find_providers_by_what_they_do() {
        assert_eq!(found("sms")[0], "twilio");
        let email = found("email");
        for id in ["resend", "sendgrid", "mailchimp"] {
            assert!(email.contains(&id.to_owned()), "{email:?}");
        }
        assert!(!email.contains(&"stripe".to_owned()), "{email:?}");
        assert_eq!(found("Stripe")[0], "stripe");
        assert_eq!(found("customer.created")[0], "stripe");
        assert_eq!(found("payments")[0], "stripe");
        let tickets = found("open a ticket");
        assert!(
            tickets.contains(&"linear".to_owned()) && tickets.contains(&"github".to_owned()),
            "{tickets:?}"
        );
        assert!(found("myspace").is_empty());
    }
}
