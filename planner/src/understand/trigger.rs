//! How a workflow starts: a provider event chosen by its words (verbs
//! weigh more), a webhook, or nothing recognisable.

use super::*;

pub(super) fn read_trigger(catalog: &Catalog, clause: &str, out: &mut Understanding) {
    if matches!(out.trigger, TriggerPlan::Schedule { .. }) {
        return;
    }
    let words = words(clause);
    let web = [
        "webhook",
        "form",
        "submission",
        "http",
        "hook",
        "endpoint",
        "api",
        "app",
        "monitoring",
    ];
    let named = (0..catalog.providers.len()).any(|p| names_provider(catalog, p, &words));
    if (!named || words.contains(&"webhook")) && words.iter().any(|w| web.contains(w)) {
        out.trigger = TriggerPlan::Webhook {
            phrase: clause.to_owned(),
        };
        return;
    }
    if let Some(found) = provider_trigger(catalog, clause, false) {
        out.trigger = found;
        return;
    }
    if words.iter().any(|w| web.contains(w) || *w == "post") {
        out.trigger = TriggerPlan::Webhook {
            phrase: clause.to_owned(),
        };
        return;
    }
    let unknown = unknown_services(catalog, clause);
    if !unknown.is_empty() {
        // A service Switchyard has no trigger for can still call a webhook.
        out.unknown.extend(unknown);
        out.trigger = TriggerPlan::Webhook {
            phrase: clause.to_owned(),
        };
        return;
    }
    out.vague = Some(Vagueness::NoTrigger(clause.to_owned()));
}

/// The provider trigger and event a clause describes, if one fits.
pub(super) fn provider_trigger(
    catalog: &Catalog,
    clause: &str,
    strict: bool,
) -> Option<TriggerPlan> {
    let clause_words = canon_words(clause);
    let raw = words(clause);
    let named: Vec<usize> = (0..catalog.providers.len())
        .filter(|&p| names_provider(catalog, p, &raw))
        .collect();
    // "pays", "reacts", "signs": the clause's verbs weigh more.
    let verbs: Vec<String> = raw
        .iter()
        .filter(|w| w.len() > 3 && (w.ends_with('s') || w.ends_with("ed")) && !w.ends_with("ss"))
        .flat_map(|w| canon_words(w))
        .collect();
    let mut best: Option<(f32, usize, &str)> = None;
    for (index, entry) in catalog.triggers.iter().enumerate() {
        let provider_named = named.contains(&entry.provider);
        if !named.is_empty() && !provider_named {
            continue;
        }
        let synonym = has_synonym(catalog, entry.provider, &raw);
        for (event, event_words) in &entry.events {
            let mut score = event_score(event_words, &clause_words);
            if score <= 0.0 {
                continue;
            }
            if !provider_named
                && !synonym
                && !event_words
                    .iter()
                    .any(|w| clause_words.contains(w) && !STATE_WORDS.contains(&w.as_str()))
            {
                // Unnamed, a state alone ("created") says nothing.
                continue;
            }
            if event_words.iter().any(|w| verbs.contains(w)) {
                score += 1.0;
            }
            if provider_named {
                score += 3.0;
            } else if synonym {
                score += 1.0;
            }
            if best.is_none_or(|(s, ..)| score > s) {
                best = Some((score, index, event));
            }
        }
        if provider_named && best.is_none_or(|(_, i, _)| i != index) && !strict {
            // Named, but no event word matched: its first event.
            let first = entry.events.first().map(|(e, _)| e.as_str());
            if let Some(first) = first
                && best.is_none()
            {
                best = Some((1.0, index, first));
            }
        }
    }
    let (score, index, event) = best?;
    if strict && (score < 4.0 || named.is_empty()) {
        return None;
    }
    Some(TriggerPlan::Provider {
        kind: catalog.triggers[index].kind,
        events: vec![event.to_owned()],
        phrase: clause.to_owned(),
        confidence: (score / 8.0).min(1.0),
    })
}

/// Matched event words count twice; missing nouns count against, missing
/// states ("created") hardly: a new thing is created by default. Ties go
/// to the event whose words come earliest in the clause.
pub(super) const STATE_WORDS: &[&str] =
    &["create", "add", "succeeded", "update", "delete", "failed"];

pub(super) fn event_score(event_words: &[String], clause: &[String]) -> f32 {
    const STATES: &[&str] = STATE_WORDS;
    const JARGON: &[&str] = &["intent", "object"];
    let mut score = 0.0;
    let mut matched = 0;
    let mut first = clause.len();
    let mut seen = Vec::new();
    for word in event_words {
        if JARGON.contains(&word.as_str()) || seen.contains(word) {
            continue;
        }
        seen.push(word.clone());
        match clause.iter().position(|w| w == word) {
            Some(at) => {
                score += 2.0;
                matched += 1;
                first = first.min(at);
            }
            None if word == "create" || word == "add" => {}
            None if STATES.contains(&word.as_str()) => score -= 0.5,
            None => score -= 1.0,
        }
    }
    if matched == 0 {
        return 0.0;
    }
    score - first as f32 * 0.01
}

/// Whether the clause names the provider, by id or by its whole name.
pub(super) fn names_provider(catalog: &Catalog, provider: usize, raw: &[&str]) -> bool {
    let info = &catalog.providers[provider];
    let name = info.name.to_lowercase();
    let name_words: Vec<&str> = name.split_whitespace().collect();
    raw.contains(&info.id.as_str())
        || (!name_words.is_empty()
            && raw
                .windows(name_words.len())
                .any(|win| win == name_words.as_slice()))
}

/// Whether the clause uses one of the provider's synonyms, as written.
pub(super) fn has_synonym(catalog: &Catalog, provider: usize, raw: &[&str]) -> bool {
    catalog.providers[provider].synonyms.iter().any(|synonym| {
        let parts: Vec<&str> = synonym.split_whitespace().collect();
        raw.windows(parts.len()).any(|window| {
            window
                .iter()
                .zip(&parts)
                .all(|(w, s)| *w == *s || w.strip_suffix('s') == Some(s))
        })
    })
}
