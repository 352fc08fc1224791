//! From clauses to a plan: which trigger starts the workflow and which
//! steps follow, each action chosen by scoring the catalogue's kinds
//! against the clause (a named provider, its synonyms, the action's
//! words, the literals it holds and the providers already in play).

use std::sync::LazyLock;

use regex::Regex;

use crate::{
    catalog::{Catalog, STOP, canon_words},
    schedule,
    text::{Lifted, LiteralKind, clauses, lift, markers, words},
};

/// How the workflow starts.
#[derive(Clone, Debug, PartialEq)]
pub enum TriggerPlan {
    Manual,
    Schedule {
        cron: String,
        phrase: String,
        time_given: bool,
    },
    Provider {
        kind: usize,
        events: Vec<String>,
        phrase: String,
        confidence: f32,
    },
    Webhook {
        phrase: String,
    },
}

/// A comparison a condition makes.
#[derive(Clone, Debug, PartialEq)]
pub enum Test {
    /// `>`, `>=`, `<`, `<=` against a number.
    Compare(&'static str, f64),
    Equals(String),
    Contains(String),
    StartsWith(String),
    EndsWith(String),
    /// "if they have a phone number": the value is there.
    Present,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    Action(ActionStep),
    Condition {
        subject: Vec<String>,
        test: Test,
        phrase: String,
    },
    /// What follows runs when the last condition does not hold.
    Otherwise,
    Delay {
        ms: i64,
        phrase: String,
    },
    /// Steps of the same clause run per item; later ones after the loop.
    Loop {
        noun: String,
        items: Vec<usize>,
        phrase: String,
    },
    EndLoop,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ActionStep {
    pub kind: usize,
    pub phrase: String,
    /// Indexes into the literals the clause holds.
    pub literals: Vec<usize>,
    /// The clause's words (for field values such as "titled …").
    pub text: String,
    pub confidence: f32,
    pub alternatives: Vec<usize>,
}

pub struct Understanding {
    pub lifted: Lifted,
    pub trigger: TriggerPlan,
    pub steps: Vec<Step>,
    pub unknown: Vec<String>,
    /// Set when the description is too vague to plan.
    pub vague: Option<Vagueness>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Vagueness {
    /// Nothing to do was recognised.
    NoAction,
    /// A message with no way to deliver it ("send me the report").
    NoMedium(String),
    /// A provider named without what to do with it.
    ProviderOnly(String),
    /// "when something happens": no recognisable trigger.
    NoTrigger(String),
}

/// Imperative verbs that start an action inside a trigger clause
/// ("when a PR is opened post …").
const IMPERATIVES: &[&str] = &[
    "post",
    "send",
    "add",
    "create",
    "email",
    "text",
    "ping",
    "notify",
    "open",
    "comment",
    "tag",
    "charge",
    "forward",
    "call",
    "remind",
    "reply",
    "drop",
    "shoot",
    "subscribe",
    "list",
    "fetch",
    "look",
    "wait",
    "put",
    "message",
    "alert",
    "tell",
    "file",
    "raise",
    "refund",
    "update",
    "sms",
    "dm",
    "log",
    "share",
    "invite",
    "upload",
    "sync",
    "delete",
    "remove",
    "make",
];

const TRIGGER_CUES: &[&str] = &[
    "when ",
    "whenever ",
    "each time ",
    "every time ",
    "on every ",
    "on each ",
    "on new ",
    "once ",
    "as soon as ",
    "upon ",
    "after every ",
    "after each ",
    "for every new ",
    "for each new ",
    "any time ",
    "anytime ",
];

pub fn understand(catalog: &Catalog, prompt: &str) -> Understanding {
    let lifted = lift(prompt);
    let mut text = lifted.text.clone();
    let mut trigger = TriggerPlan::Manual;
    if let Some(found) = schedule::find(&text) {
        let phrase = text[found.span.clone()].trim().to_owned();
        text.replace_range(found.span.clone(), " , ");
        trigger = TriggerPlan::Schedule {
            cron: found.cron,
            phrase,
            time_given: found.time_given,
        };
    }
    let mut parts = Vec::new();
    for clause in clauses(&text.replace("->", ",").replace('→', ",")) {
        split_clause(&clause, &mut parts);
    }
    let mut out = Understanding {
        lifted,
        trigger,
        steps: Vec::new(),
        unknown: Vec::new(),
        vague: None,
    };
    // The trigger clause goes first, wherever it was written.
    if let Some(at) = parts.iter().position(|p| matches!(p, Part::Trigger(_))) {
        let Part::Trigger(clause) = parts.remove(at) else {
            unreachable!()
        };
        read_trigger(catalog, &clause, &mut out);
    } else if matches!(out.trigger, TriggerPlan::Manual)
        && let Some(Part::Plain(first)) = parts.first()
        && !starts_with_imperative(first)
        && let Some(found) = provider_trigger(catalog, first, true)
    {
        // "new linear issue -> post the title in #eng"
        out.trigger = found;
        parts.remove(0);
    }
    let mut context: Vec<usize> = match &out.trigger {
        TriggerPlan::Provider { kind, .. } => catalog
            .provider_of_kind(catalog.spec(*kind))
            .and_then(|p| catalog.providers.iter().position(|q| q.id == p.id))
            .into_iter()
            .collect(),
        _ => Vec::new(),
    };
    let mut in_loop = false;
    for part in parts {
        let Part::Plain(clause) = part else { continue };
        if in_loop {
            out.steps.push(Step::EndLoop);
            in_loop = false;
        }
        let before = out.steps.len();
        read_steps(catalog, &clause, &mut out, &mut context, &mut in_loop);
        // A loop clause without a step: the next clause is its body.
        if !in_loop
            && out.steps[before..]
                .iter()
                .any(|s| matches!(s, Step::Action(_)))
            && out.steps[..before]
                .last()
                .is_some_and(|s| matches!(s, Step::Loop { .. }))
        {
            in_loop = true;
        }
    }
    // "send me a summary, post it to #general": a later clause said where.
    if matches!(out.vague, Some(Vagueness::NoMedium(_)))
        && out.steps.iter().any(|s| matches!(s, Step::Action(_)))
    {
        out.vague = None;
    }
    if out.vague.is_none() && !out.steps.iter().any(|s| matches!(s, Step::Action(_))) {
        if out.unknown.is_empty() {
            out.vague = Some(Vagueness::NoAction);
        }
    }
    out
}

enum Part {
    Trigger(String),
    Plain(String),
}

/// Splits off a trigger written after its action ("text me whenever …").
fn split_clause(clause: &str, parts: &mut Vec<Part>) {
    if TRIGGER_CUES.iter().any(|cue| clause.starts_with(cue)) {
        // "when a PR is opened post the link …": the action after it.
        match imperative_after_event(clause) {
            Some(at) => {
                parts.push(Part::Trigger(clause[..at].trim().to_owned()));
                parts.push(Part::Plain(clause[at..].trim().to_owned()));
            }
            None => parts.push(Part::Trigger(clause.to_owned())),
        }
        return;
    }
    // "text the lead if the amount is over 1000": the condition first.
    if let Some(at) = clause.find(" if ").or_else(|| clause.find(" only if "))
        && has_comparison(clause[at..].trim())
    {
        let mut before = Vec::new();
        split_clause(clause[..at].trim(), &mut before);
        parts.push(Part::Plain(clause[at..].trim().to_owned()));
        parts.extend(before);
        return;
    }
    for cue in [
        " whenever ",
        " when ",
        " each time ",
        " every time ",
        " for every new ",
        " for each new ",
        " as soon as ",
        " once ",
    ] {
        if let Some(at) = clause.find(cue) {
            let trigger = clause[at..].trim();
            // "when the amount is over 100" is a condition, not a trigger.
            if !has_comparison(trigger) {
                parts.push(Part::Trigger(trigger.to_owned()));
                parts.push(Part::Plain(clause[..at].trim().to_owned()));
                return;
            }
        }
    }
    parts.push(Part::Plain(clause.to_owned()));
}

fn starts_with_imperative(clause: &str) -> bool {
    words(clause)
        .first()
        .is_some_and(|w| IMPERATIVES.contains(w))
}

/// Where an imperative verb starts an action after the event, if one does.
fn imperative_after_event(clause: &str) -> Option<usize> {
    const SUBJECTS: &[&str] = &[
        "someone", "somebody", "is", "are", "gets", "get", "a", "an", "the", "who", "i", "we",
        "they", "user", "customer", "new", "anyone", "people", "you",
    ];
    let mut previous = "";
    for (offset, word) in word_offsets(clause).skip(1) {
        if IMPERATIVES.contains(&word) && !SUBJECTS.contains(&previous) {
            return Some(offset);
        }
        previous = word;
    }
    None
}

fn word_offsets(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split_whitespace().map(move |w| {
        let offset = w.as_ptr() as usize - text.as_ptr() as usize;
        (offset, w.trim_matches(|c: char| !c.is_alphanumeric()))
    })
}

fn read_trigger(catalog: &Catalog, clause: &str, out: &mut Understanding) {
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
    let named = (0..catalog.providers.len()).any(|p| names_provider(catalog, p, &[], &words));
    if !named || words.iter().any(|w| *w == "webhook") {
        if words.iter().any(|w| web.contains(w)) {
            out.trigger = TriggerPlan::Webhook {
                phrase: clause.to_owned(),
            };
            return;
        }
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
fn provider_trigger(catalog: &Catalog, clause: &str, strict: bool) -> Option<TriggerPlan> {
    let clause_words = canon_words(clause);
    let raw = words(clause);
    let named: Vec<usize> = (0..catalog.providers.len())
        .filter(|&p| names_provider(catalog, p, &clause_words, &raw))
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
const STATE_WORDS: &[&str] = &["create", "add", "succeeded", "update", "delete", "failed"];

fn event_score(event_words: &[String], clause: &[String]) -> f32 {
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

fn names_provider(catalog: &Catalog, provider: usize, _canon: &[String], raw: &[&str]) -> bool {
    let info = &catalog.providers[provider];
    let name = info.name.to_lowercase();
    let name_words: Vec<&str> = name.split_whitespace().collect();
    raw.iter().any(|w| *w == info.id.as_str())
        || (!name_words.is_empty()
            && raw
                .windows(name_words.len())
                .any(|win| win == name_words.as_slice()))
}

/// Whether the clause uses one of the provider's synonyms, as written.
fn has_synonym(catalog: &Catalog, provider: usize, raw: &[&str]) -> bool {
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

static COMPARISON: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:(?:and|but)\s+)?(?:only\s+)?(?:if|when|where|in case)?\s*(?P<subject>.*?)\s*(?:is|are|was|'s|’s|it's|gets)?\s*(?P<op>over|above|more than|greater than|bigger than|higher than|exceeds|at least|under|below|less than|lower than|smaller than|at most|no more than|equals|equal to|is equal to|=|contains|mentions|includes|has the word|ends with|starts with|begins with)\s+(?P<value>§\d+|[$€£]?\s*[\d.,]+\s*k?|[a-z0-9@._-]+)\s*(?P<rest>.*)$",
    )
    .expect("comparison")
});

static PRESENCE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:(?:and|but)\s+)?(?:only\s+)?if\s+(?:they|it|he|she|the customer|the user)\s+(?:have|has)\s+(?:a|an)\s+(?P<subject>[a-z ]+?)(?:\s+number)?\s+(?P<rest>(?:send|text|email|post|add|create|notify|ping|call)\b.*)?$").expect("presence")
});

fn has_comparison(clause: &str) -> bool {
    COMPARISON.is_match(clause)
        && COMPARISON
            .captures(clause)
            .is_some_and(|c| !c["subject"].trim().is_empty() || clause.contains("it"))
}

static WAIT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:(?:then|and)\s+)?(?:wait(?:\s+for)?|pause(?:\s+for)?|sleep(?:\s+for)?|hold(?:\s+for)?|delay(?:\s+of|\s+for)?|put a delay of|after)\s+(?P<n>\d+|a|an|one|two|three|a couple of)\s*(?P<unit>seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?)\b(?:\s+(?:later|before|then))?\s*(?P<rest>.*)$|^(?P<n2>\d+|a|an|one|two|three)\s*(?P<unit2>seconds?|minutes?|mins?|hours?|hrs?|days?|weeks?)\s+later\s*(?P<rest2>.*)$").expect("wait")
});

static LOOP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:and\s+)?(?:for|with)\s+(?:each|every)\s+(?:one\s+)?(?:of\s+(?:them|these|those|the)\s*)?(?P<noun>[a-z]+)?[:,]?\s*(?P<rest>.*)$|^(?P<pre>[a-z]+)\s+(?:each|every)\s+(?P<noun2>[a-z]+)\s*(?P<rest2>.*)$").expect("loop")
});

fn read_steps(
    catalog: &Catalog,
    clause: &str,
    out: &mut Understanding,
    context: &mut Vec<usize>,
    in_loop: &mut bool,
) {
    let mut clause = clause.trim().to_owned();
    for prefix in [
        "otherwise ",
        "else ",
        "if not ",
        "or else ",
        "if not, ",
        "but if not ",
    ] {
        if let Some(rest) = clause.strip_prefix(prefix) {
            out.steps.push(Step::Otherwise);
            clause = rest.trim().to_owned();
            break;
        }
    }
    if clause == "otherwise" || clause == "else" {
        out.steps.push(Step::Otherwise);
        return;
    }
    if let Some(c) = PRESENCE.captures(&clause) {
        let subject = canon_words(&c["subject"]);
        let rest = c.name("rest").map_or("", |m| m.as_str()).to_owned();
        out.steps.push(Step::Condition {
            subject,
            test: Test::Present,
            phrase: clause.clone(),
        });
        clause = rest;
    } else if let Some(c) = COMPARISON.captures(&clause)
        && (clause.starts_with("if ")
            || clause.starts_with("only if")
            || clause.starts_with("and if")
            || clause.starts_with("but only")
            || clause.starts_with("it")
            || clause.starts_with("the ")
            || clause.starts_with("when ")
            || clause.starts_with("where "))
    {
        let value = c["value"].trim().to_owned();
        let test = comparison(&c["op"], &value, &out.lifted);
        if let Some(test) = test {
            let subject: Vec<String> = canon_words(&c["subject"])
                .into_iter()
                .filter(|w| !matches!(w.as_str(), "it" | "it's" | "its" | "is" | "the"))
                .collect();
            let rest = c.name("rest").map_or(clause.len(), |m| m.start());
            out.steps.push(Step::Condition {
                subject,
                test,
                phrase: clause[..rest].trim().to_owned(),
            });
            clause = c["rest"].trim().to_owned();
        }
    }
    if let Some(c) = WAIT.captures(&clause) {
        let (n, unit, rest) = match c.name("n") {
            Some(n) => (n.as_str(), &c["unit"], c.name("rest")),
            None => (&c["n2"], &c["unit2"], c.name("rest2")),
        };
        let count: i64 = match n {
            "a" | "an" | "one" => 1,
            "two" | "a couple of" => 2,
            "three" => 3,
            n => n.parse().unwrap_or(1),
        };
        let unit_ms: i64 = match unit.chars().next() {
            Some('s') => 1_000,
            Some('m') => 60_000,
            Some('h') => 3_600_000,
            Some('d') => 86_400_000,
            _ => 7 * 86_400_000,
        };
        out.steps.push(Step::Delay {
            ms: count * unit_ms,
            phrase: clause.clone(),
        });
        clause = rest.map_or("", |m| m.as_str()).trim().to_owned();
    }
    if let Some(c) = LOOP.captures(&clause) {
        let (mut noun, mut rest) = match c.name("noun2") {
            Some(noun) => (
                noun.as_str().to_owned(),
                format!("{} {}", &c["pre"], &c["rest2"]),
            ),
            None => (
                c.name("noun").map_or("item", |m| m.as_str()).to_owned(),
                c["rest"].to_owned(),
            ),
        };
        if IMPERATIVES.contains(&noun.as_str()) {
            // "for each one add them …": no noun, the verb starts the body.
            rest = format!("{noun} {rest}");
            noun = "item".into();
        }
        let noun = noun.trim_end_matches('s').to_owned();
        let items: Vec<usize> = markers(&clause)
            .into_iter()
            .filter(|&i| out.lifted.literals[i].kind != LiteralKind::Channel)
            .collect();
        let items = if items.len() > 1 { items } else { Vec::new() };
        out.steps.push(Step::Loop {
            noun,
            items: items.clone(),
            phrase: clause.clone(),
        });
        clause = rest;
        for i in items {
            clause = clause
                .replace(&format!("§{i} "), "")
                .replace(&format!("§{i}"), "");
        }
        // The body is the rest of this clause, or else the next one.
        *in_loop = !clause.trim().is_empty();
    }
    let clause = clause.trim();
    if clause.is_empty() {
        return;
    }
    let unknown = unknown_services(catalog, clause);
    if !unknown.is_empty() {
        out.unknown.extend(unknown);
        return;
    }
    if ["with ", "including ", "containing ", "saying ", "showing "]
        .iter()
        .any(|p| clause.starts_with(p))
    {
        // "…, with the customer name": more about the previous step.
        if let Some(Step::Action(previous)) = out.steps.last_mut() {
            previous.text.push(' ');
            previous.text.push_str(clause);
            previous.literals.extend(markers(clause));
            return;
        }
    }
    let trigger_provider = match &out.trigger {
        TriggerPlan::Provider { .. } => context.first().copied(),
        _ => None,
    };
    match choose_action(catalog, clause, &out.lifted, context, trigger_provider) {
        Choice::Action(step) => {
            if let Some(provider) = catalog.spec(step.kind).provider.as_deref()
                && let Some(p) = catalog.providers.iter().position(|p| p.id == provider)
                && !context.contains(&p)
            {
                context.push(p);
            }
            out.steps.push(Step::Action(step));
        }
        Choice::Vague(vague) => {
            if out.vague.is_none() {
                out.vague = Some(vague);
            }
        }
        Choice::Nothing => {
            // "with the customer name": more about the previous step.
            if let Some(Step::Action(previous)) = out.steps.last_mut() {
                previous.text.push(' ');
                previous.text.push_str(clause);
                previous.literals.extend(markers(clause));
            }
        }
    }
}

fn comparison(op: &str, value: &str, lifted: &Lifted) -> Option<Test> {
    let literal = markers(value)
        .first()
        .map(|&i| lifted.literals[i].value.clone());
    let text = literal.clone().unwrap_or_else(|| value.to_owned());
    let number = || {
        let cleaned: String = text
            .chars()
            .filter(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        let n: f64 = cleaned.parse().ok()?;
        Some(if text.trim_end().ends_with('k') {
            n * 1000.0
        } else {
            n
        })
    };
    Some(match op {
        "over" | "above" | "more than" | "greater than" | "bigger than" | "higher than"
        | "exceeds" => Test::Compare(">", number()?),
        "at least" => Test::Compare(">=", number()?),
        "under" | "below" | "less than" | "lower than" | "smaller than" => {
            Test::Compare("<", number()?)
        }
        "at most" | "no more than" => Test::Compare("<=", number()?),
        "contains" | "mentions" | "includes" | "has the word" => Test::Contains(text),
        "ends with" => Test::EndsWith(text),
        "starts with" | "begins with" => Test::StartsWith(text),
        _ => match number() {
            Some(n) if literal.is_none() => Test::Compare("==", n),
            _ => Test::Equals(text),
        },
    })
}

enum Choice {
    Action(ActionStep),
    Vague(Vagueness),
    Nothing,
}

/// Canonical words that say what a step does (verbs and objects).
fn choose_action(
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
        .filter(|&p| names_provider(catalog, p, &clause_words, &raw))
        .collect();
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
    if !IMPERATIVES.contains(&first_raw)
        && !entry.words.iter().any(|w| *w == verb)
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
fn literal_affinity(spec: &model::KindSpec, literals: &[LiteralKind]) -> f32 {
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
