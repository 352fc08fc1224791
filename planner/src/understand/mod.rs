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
mod action;
mod condition;
mod steps;
mod trigger;

use action::*;
use condition::*;
use steps::*;
use trigger::*;

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
    "get",
    "relay",
    "mirror",
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
    } else if matches!(out.trigger, TriggerPlan::Manual)
        && let Some(Part::Plain(first)) = parts.first()
        && let Some(event) = first.strip_prefix("if ")
        && !has_comparison(event.split(" whose ").next().unwrap_or(event))
        && let Some(found) = provider_trigger(
            catalog,
            event.split(" whose ").next().unwrap_or(event),
            false,
        )
    {
        // "if an invoice payment fails for a customer whose email ends in
        // @x.com, open a ticket": the event starts it, the rest is a test.
        let condition = event
            .split_once(" whose ")
            .map(|(_, test)| format!("if their {test}"));
        out.trigger = found;
        parts.remove(0);
        if let Some(condition) = condition {
            parts.insert(0, Part::Plain(condition));
        }
    }
    if matches!(out.trigger, TriggerPlan::Manual)
        && let Some(clause) = parts.iter().find_map(|p| match p {
            Part::Plain(clause) if receives_webhook(clause) => Some(clause.clone()),
            _ => None,
        })
    {
        // "relay anything that hits my webhook to …": the action names it.
        out.trigger = TriggerPlan::Webhook { phrase: clause };
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
    if out.vague.is_none()
        && !out.steps.iter().any(|s| matches!(s, Step::Action(_)))
        && out.unknown.is_empty()
    {
        out.vague = Some(Vagueness::NoAction);
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

/// A clause about what arrives at the workflow's own webhook.
fn receives_webhook(clause: &str) -> bool {
    const ARRIVES: &[&str] = &[
        "hits", "hit", "reaches", "arrives", "arriving", "lands", "incoming", "comes", "received",
    ];
    let raw = words(clause);
    raw.iter().any(|w| matches!(*w, "webhook" | "endpoint"))
        && raw.iter().any(|w| ARRIVES.contains(w))
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
