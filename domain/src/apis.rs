//! The API catalogue as users browse it: every provider Switchyard can
//! call, its actions and trigger events, and a search by name, category,
//! action, event or the words people use ("sms" finds Twilio).

use engine::providers::{self, Provider};
use serde::Serialize;
use serde_json::Value;

use crate::DomainError;

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

fn summary(provider: &Provider) -> ApiSummary {
    let auth = serde_json::to_value(provider.connection.auth)
        .ok()
        .and_then(|v| v.get("type").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_default();
    ApiSummary {
        id: provider.id.into(),
        name: provider.name.into(),
        category: provider.category.into(),
        docs: provider.docs.into(),
        source: "builtin".into(),
        kinds: provider.kinds(),
        events: provider.events.iter().map(|e| e.to_string()).collect(),
        auth,
    }
}

pub fn list() -> Vec<ApiSummary> {
    providers::builtin().iter().map(summary).collect()
}

/// Everything about one provider: connection fields, limits, actions with
/// their fields and output, events.
pub fn get(id: &str) -> Result<Value, DomainError> {
    let provider = providers::find(id).ok_or(DomainError::NotFound)?;
    let mut value =
        serde_json::to_value(provider).map_err(|e| DomainError::Internal(e.to_string()))?;
    value["kinds"] = serde_json::json!(provider.kinds());
    value["source"] = serde_json::json!("builtin");
    Ok(value)
}

/// Providers that match `query`, best first.
pub fn search(query: &str) -> Result<Vec<ApiMatch>, DomainError> {
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
    let mut hits: Vec<ApiMatch> = providers::builtin()
        .iter()
        .filter_map(|provider| {
            let (score, matched) = score(provider, &query, &words);
            (score > 0).then(|| ApiMatch {
                api: summary(provider),
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
    if has_word(provider.category) || query.contains(&provider.category.to_lowercase()) {
        hit(4, format!("category: {}", provider.category));
    }
    for action in &provider.actions {
        if has_word(action.name) || has_word(action.label) {
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
        search(query)
            .unwrap()
            .into_iter()
            .map(|m| m.api.id)
            .collect()
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
        assert!(search("  ").is_err());
    }
}
