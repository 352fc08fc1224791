//! What the planner plans over: the account's live catalogue (built-in
//! kinds, built-in providers and imported APIs), indexed by the words
//! people use for each provider, action and event. Nothing here names a
//! provider: a newly registered integration is plannable as it is.

use model::{Catalogue, Category, FieldType, KindSpec, OutputField};

use crate::text::{canon, words};

/// A provider as the planner needs it (from the engine's catalogue).
#[derive(Clone, Debug)]
pub struct ProviderInfo {
    pub id: String,
    pub name: String,
    pub category: String,
    /// Words people use for what it does ("sms", "text message").
    pub synonyms: Vec<String>,
}

/// An action kind, with the canonical words of its name and label.
#[derive(Debug)]
pub struct ActionEntry {
    pub kind: usize,
    pub provider: Option<usize>,
    pub words: Vec<String>,
    /// `<provider>.request`: used only when nothing else fits.
    pub custom_call: bool,
}

/// A provider trigger and its events, each with its canonical words.
#[derive(Debug)]
pub struct TriggerEntry {
    pub kind: usize,
    pub provider: usize,
    pub events: Vec<(String, Vec<String>)>,
}

pub struct Catalog {
    pub providers: Vec<ProviderInfo>,
    pub catalogue: Catalogue,
    pub actions: Vec<ActionEntry>,
    pub triggers: Vec<TriggerEntry>,
    /// Per provider: its name, id and synonyms as canonical word lists.
    pub provider_words: Vec<Vec<Vec<String>>>,
}

/// Canonical words of a piece of text.
pub fn canon_words(text: &str) -> Vec<String> {
    words(&text.to_lowercase().replace(['_', '.'], " "))
        .into_iter()
        .map(|w| {
            let c = canon(w);
            // "joins", "stars": the singular's canonical form.
            match w.strip_suffix('s') {
                Some(singular) if c == w && w.len() > 3 && !w.ends_with("ss") => {
                    canon(singular).to_owned()
                }
                _ => c.to_owned(),
            }
        })
        .filter(|w| !STOP.contains(&w.as_str()))
        .collect()
}

/// Words that say nothing about what a step does.
pub const STOP: &[&str] = &[
    "a", "an", "the", "to", "of", "in", "on", "for", "via", "with", "by", "from", "into", "and",
    "or", "it", "its", "them", "they", "their", "him", "her", "me", "us", "we", "our", "my", "i",
    "is", "are", "be", "been", "this", "that", "these", "those", "at", "as", "about", "up", "out",
    "any", "some", "all", "one", "who", "which", "what", "whose", "using", "over", "there", "here",
    "someone", "somebody", "gets", "get's", "got", "has", "have", "had", "was", "were", "will",
    "would", "should", "so", "if", "when", "whenever", "please", "pls",
];

impl Catalog {
    pub fn new(providers: Vec<ProviderInfo>, catalogue: Catalogue) -> Catalog {
        let provider_of = |spec: &KindSpec| {
            spec.provider
                .as_deref()
                .and_then(|id| providers.iter().position(|p| p.id == id))
        };
        let mut actions = Vec::new();
        let mut triggers = Vec::new();
        for (index, spec) in catalogue.kinds.iter().enumerate() {
            let provider = provider_of(spec);
            match (spec.category, provider) {
                (Category::Trigger, Some(provider)) => {
                    let events = event_options(spec)
                        .into_iter()
                        .map(|event| {
                            let words = canon_words(&event);
                            (event, words)
                        })
                        .collect();
                    triggers.push(TriggerEntry {
                        kind: index,
                        provider,
                        events,
                    });
                }
                (Category::Integration, Some(_)) | (Category::Action, None) => {
                    let action = spec
                        .kind
                        .split_once('.')
                        .map_or(spec.kind.as_str(), |(_, a)| a);
                    let mut words = canon_words(action);
                    // The label without its provider's name ("Stripe: Create a customer").
                    let label = spec
                        .label
                        .split_once(": ")
                        .map_or(spec.label.as_str(), |(_, a)| a);
                    words.extend(canon_words(label));
                    words.sort();
                    words.dedup();
                    actions.push(ActionEntry {
                        kind: index,
                        provider,
                        words,
                        custom_call: action == "request",
                    });
                }
                _ => {}
            }
        }
        let provider_words = providers
            .iter()
            .map(|p| {
                let mut names = vec![canon_words(&p.name), canon_words(&p.id)];
                names.extend(p.synonyms.iter().map(|s| canon_words(s)));
                names.retain(|n| !n.is_empty());
                names
            })
            .collect();
        Catalog {
            providers,
            catalogue,
            actions,
            triggers,
            provider_words,
        }
    }

    pub fn spec(&self, index: usize) -> &KindSpec {
        &self.catalogue.kinds[index]
    }

    pub fn kind(&self, name: &str) -> Option<&KindSpec> {
        self.catalogue.get(name)
    }

    pub fn provider_of_kind(&self, spec: &KindSpec) -> Option<&ProviderInfo> {
        let id = spec.provider.as_deref()?;
        self.providers.iter().find(|p| p.id == id)
    }
}

/// The options of a trigger's `events` field.
fn event_options(spec: &KindSpec) -> Vec<String> {
    spec.fields
        .iter()
        .find(|f| f.name == "events")
        .and_then(|f| match &f.ty {
            FieldType::MultiSelect { options } | FieldType::Select { options } => {
                Some(options.clone())
            }
            _ => None,
        })
        .unwrap_or_default()
}

/// Whether an output field is part of the deliveries of `events`.
pub fn applies_to(field: &OutputField, events: &[String]) -> bool {
    field.events.is_empty()
        || events.iter().any(|event| {
            field
                .events
                .iter()
                .any(|pattern| event_matches(pattern, event))
        })
}

/// `customer.*` matches `customer.created`; anything else matches itself.
pub fn event_matches(pattern: &str, event: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => event.starts_with(prefix),
        None => pattern == event,
    }
}
