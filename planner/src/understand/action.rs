//! Choosing the action kind a clause asks for: every action of the
//! catalogue scored against it; services the catalogue lacks are named.

use super::*;

pub(super) enum Choice {
    Action(ActionStep),
    Vague(Vagueness),
    Nothing,
}

/// Canonical words that say what a step does (verbs and objects).
pub(super) fn choose_action(
    catalog: &Catalog,
    clause: &str,
    lifted: &Lifted,
    context: &[usize],
    trigger_provider: Option<usize>,
) -> Choice {
    let clause_words = canon_words(clause);
    let raw = words(clause);
    let literal_kinds: Vec<LiteralKind> = markers(clause)
        .iter()
        .map(|&i| lifted.literals[i].kind)
        .collect();
    let verb = clause_words.first().cloned().unwrap_or_default();
    let named: Vec<usize> = (0..catalog.providers.len())
        .filter(|&p| names_provider(catalog, p, &raw))
        .collect();
    if is_wish(&raw) {
        // "make our GitHub workflow smoother": a wish, not a step.
        return Choice::Vague(match named.first() {
            Some(&p) => Vagueness::ProviderOnly(catalog.providers[p].name.clone()),
            None => Vagueness::NoAction,
        });
    }
    let plural = raw
        .iter()
        .any(|w| w.len() > 3 && w.ends_with('s') && !w.ends_with("ss"));
    let id_like = raw
        .iter()
        .any(|w| w.contains('_') && w.chars().any(|c| c.is_ascii_digit()));
    let mut scored: Vec<(f32, usize, bool)> = Vec::new();
    for (index, entry) in catalog.actions.iter().enumerate() {
        let spec = catalog.spec(entry.kind);
        let mut score = 0.0;
        let mut strong = false;
        if let Some(p) = entry.provider {
            if named.contains(&p) {
                score += 10.0;
            } else if !named.is_empty() {
                continue;
            }
            if has_synonym(catalog, p, &raw) {
                score += 3.0;
                strong = true;
            }
            if context.contains(&p) {
                // "comment on it": "it" is most likely what started the run.
                score += if Some(p) == trigger_provider {
                    3.0
                } else {
                    2.5
                };
                strong = true;
            }
        }
        let mut overlap = 0;
        let mut unmatched = 0.0;
        for word in &entry.words {
            if clause_words.contains(word) {
                overlap += 1;
                score += 2.0;
                if *word == verb {
                    // The clause's verb says what to do; its objects less.
                    score += 4.0;
                }
            } else if !matches!(word.as_str(), "intent" | "or" | "custom" | "api" | "call") {
                unmatched += 1.0;
            }
        }
        if overlap > 0 {
            score -= unmatched;
        }
        // "reply to the sender": back through the provider that started it.
        if matches!(raw.first(), Some(&("reply" | "respond" | "answer")))
            && entry.provider.is_some()
            && entry.provider == trigger_provider
            && entry.words.iter().any(|w| w == "send" || w == "comment")
        {
            score += 8.0;
            strong = true;
            overlap += 1;
        }
        let affinity = literal_affinity(spec, &literal_kinds);
        if affinity > 0.0 {
            score += affinity;
            strong = true;
        }
        if entry.provider.is_some_and(|p| named.contains(&p)) && (overlap > 0 || strong) {
            strong = true;
        }
        let action = spec.kind.rsplit('.').next().unwrap_or_default();
        if action.starts_with("list") && plural {
            score += 1.0;
        }
        if action.starts_with("retrieve") && id_like {
            score += 1.5;
        }
        if entry.custom_call {
            score -= 6.0;
        }
        if overlap == 0 && affinity == 0.0 && !entry.provider.is_some_and(|p| named.contains(&p)) {
            continue;
        }
        scored.push((score, index, strong));
    }
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let Some(&(score, best, strong)) = scored.first() else {
        if let Some(&p) = named.first() {
            return Choice::Vague(Vagueness::ProviderOnly(catalog.providers[p].name.clone()));
        }
        return if raw.iter().any(|w| IMPERATIVES.contains(w)) {
            Choice::Vague(Vagueness::NoMedium(clause.to_owned()))
        } else {
            Choice::Nothing
        };
    };
    let entry = &catalog.actions[best];
    let named_best = entry.provider.is_some_and(|p| named.contains(&p));
    let first_raw = raw.first().copied().unwrap_or_default();
    let literal_fit = literal_affinity(catalog.spec(entry.kind), &literal_kinds) > 0.0;
    if !literal_fit
        && !IMPERATIVES.contains(&first_raw)
        && !entry.words.contains(&verb)
        && !canon_words(first_raw).is_empty()
        && clause
            .split_whitespace()
            .next()
            .is_some_and(|w| !w.starts_with('§'))
        && !matches!(first_raw, "a" | "an" | "the")
    {
        // "automate my payments": a verb no step does.
        return Choice::Vague(match entry.provider {
            Some(p) if named_best || has_synonym(catalog, p, &raw) => {
                Vagueness::ProviderOnly(catalog.providers[p].name.clone())
            }
            _ => Vagueness::NoAction,
        });
    }
    if !strong {
        return if named_best {
            Choice::Vague(Vagueness::ProviderOnly(
                catalog.providers[entry.provider.unwrap_or_default()]
                    .name
                    .clone(),
            ))
        } else {
            Choice::Vague(Vagueness::NoMedium(clause.to_owned()))
        };
    }
    let alternatives = scored
        .iter()
        .skip(1)
        .filter(|(s, ..)| *s >= score - 3.0)
        .take(3)
        .map(|(_, i, _)| catalog.actions[*i].kind)
        .collect();
    Choice::Action(ActionStep {
        kind: entry.kind,
        phrase: clause.to_owned(),
        literals: markers(clause),
        text: clause.to_owned(),
        confidence: (score / 14.0).clamp(0.2, 1.0),
        alternatives,
    })
}

/// How well a kind takes the literals of its clause: a #channel goes to a
/// `channel` field, a URL to a URL field, a phone number to a kind of a
/// provider that talks about phones, an address to an e-mail field.
pub(super) fn literal_affinity(spec: &model::KindSpec, literals: &[LiteralKind]) -> f32 {
    let has = |name: &str| spec.fields.iter().any(|f| f.name == name);
    let mut score = 0.0;
    for literal in literals {
        score += match literal {
            LiteralKind::Channel if has("channel") => 4.0,
            // A URL to call says "HTTP request" as plainly as a name would.
            LiteralKind::Url
                if spec
                    .fields
                    .iter()
                    .any(|f| matches!(f.ty, model::FieldType::Url) && f.name == "url") =>
            {
                10.0
            }
            LiteralKind::Phone if has("to") && !spec.kind.contains("email") => 4.0,
            LiteralKind::Email
                if (has("to") && spec.kind.contains("email"))
                    || has("email_address")
                    || has("email") =>
            {
                2.0
            }
            _ => 0.0,
        };
    }
    score
}

/// Services the clause names that are not in the catalogue: a word after
/// "to/in/on/via/into/using/with" closing the clause, or before "card",
/// "page", "deal", … ("a trello card"). Reported, never replaced by a
/// provider that happens to share a word.
pub fn unknown_services(catalog: &Catalog, clause: &str) -> Vec<String> {
    static SLOT: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"\b(?:to|in|on|via|into|using|through|with|from|in the)\s+(?:our\s+|my\s+|the\s+)?(?P<a>[a-z][a-z0-9]+)\s*(?:$|and\b|account|workspace|board|crm|app|channel|server|too)|\b(?:a|an|new)\s+(?P<b>[a-z][a-z0-9]+)\s+(?:card|page|deal|ticket|message|record|row|lead|contact|opportunity|post|tweet|doc|document|spreadsheet|sheet|event|task|note)s?\b").expect("slot")
    });
    const ORDINARY: &[&str] = &[
        "slack",
        "team",
        "channel",
        "list",
        "newsletter",
        "audience",
        "them",
        "him",
        "her",
        "me",
        "us",
        "it",
        "everyone",
        "sales",
        "support",
        "ops",
        "customer",
        "customers",
        "user",
        "users",
        "phone",
        "email",
        "sms",
        "text",
        "webhook",
        "url",
        "repo",
        "repository",
        "issue",
        "the",
        "a",
        "an",
        "welcome",
        "new",
        "short",
        "quick",
        "thank",
        "thanks",
        "reminder",
        "linear",
        "onboarding",
        "weekly",
        "daily",
        "monthly",
        "summary",
        "report",
        "status",
        "same",
        "their",
        "our",
        "my",
        "your",
        "this",
        "that",
        "each",
        "every",
        "all",
        "lead",
        "manager",
        "finance",
        "billing",
        "engineering",
        "dev",
        "eng",
        "product",
        "marketing",
        "hr",
        "admin",
        "group",
        "chat",
        "mailing",
        "members",
        "member",
        "order",
        "orders",
        "payment",
        "invoice",
        "refund",
        "title",
        "name",
        "link",
        "body",
        "result",
        "results",
        "data",
        "details",
        "info",
        "json",
        "api",
        "server",
        "app",
        "file",
        "line",
        "morning",
        "evening",
        "night",
        "time",
        "later",
        "once",
        "sender",
        "account",
        "bot",
        "comment",
        "note",
        "message",
        "messages",
        "notification",
        "alert",
        "page",
        "card",
        "post",
        "ticket",
        "tickets",
        "bug",
        "bugs",
        "task",
        "tasks",
        "github",
        "stripe",
        "mailchimp",
        "twilio",
        "resend",
        "sendgrid",
        "smtp",
        "event",
        "events",
        "item",
        "items",
        "one",
        "it's",
        "about",
        "for",
        "tag",
        "label",
        "slack's",
    ];
    let mut found = Vec::new();
    for captures in SLOT.captures_iter(clause) {
        let Some(word) = captures.name("a").or_else(|| captures.name("b")) else {
            continue;
        };
        let word = word.as_str();
        let known = catalog.providers.iter().any(|p| {
            p.id == word || p.name.to_lowercase() == word || p.synonyms.iter().any(|s| s == word)
        });
        if known || ORDINARY.contains(&word) || STOP.contains(&word) || word.len() < 3 {
            continue;
        }
        if catalog
            .actions
            .iter()
            .any(|a| a.words.iter().any(|w| w == word))
        {
            continue;
        }
        if !found.iter().any(|f: &String| f == word) {
            found.push(word.to_owned());
        }
    }
    found
}

/// A clause that says how things should be, not what to do ("make our
/// workflow smoother", "improve onboarding").
fn is_wish(raw: &[&str]) -> bool {
    const BETTER: &[&str] = &[
        "better",
        "smoother",
        "easier",
        "faster",
        "simpler",
        "cleaner",
        "nicer",
        "quicker",
        "efficient",
        "seamless",
        "less",
        "more",
    ];
    match raw.first() {
        Some(&("improve" | "streamline" | "optimize" | "optimise" | "simplify")) => true,
        Some(&"make") => raw[1..].iter().any(|w| BETTER.contains(w)),
        _ => false,
    }
}
