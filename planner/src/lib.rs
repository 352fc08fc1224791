//! The offline planner: a description in plain English to a workflow
//! draft, deterministic and fast, over the account's live catalogue. It
//! never invents a kind, a field or a connection: every kind comes from
//! the catalogue, every connection from the account's list, and the
//! draft passes the editor's validator except for the values left to the
//! user (listed). What it cannot place is reported, never dropped.

pub mod accounting;
pub mod catalog;
mod draft;
pub mod llm;
mod mapping;
pub mod modify;
mod schedule;
pub mod score;
pub mod suggest;
mod text;
mod understand;

use model::Severity;
use model::ai::{
    Analysis, Clarification, ConnectionRef, Entity, Generated, Intent, PlannerKind, ProviderGuess,
    TriggerGuess, is_left_for_user,
};

pub use catalog::{Catalog, ProviderInfo};
use understand::{Step, TriggerPlan, Understanding, Vagueness, understand};

/// Longest description planned, in characters.
pub const MAX_PROMPT_CHARS: usize = 4_000;

/// What to plan, and for whom.
pub struct Request<'a> {
    pub prompt: &'a str,
    /// IANA time zone for schedules.
    pub timezone: &'a str,
    /// The account's connections (ids and providers, never secrets).
    pub connections: &'a [ConnectionRef],
}

pub fn analyze(catalog: &Catalog, request: &Request) -> Analysis {
    let understanding = understand(catalog, request.prompt);
    analysis_of(catalog, &understanding, request)
}

fn analysis_of(catalog: &Catalog, u: &Understanding, request: &Request) -> Analysis {
    let trigger = trigger_guess(catalog, &u.trigger, request.timezone);
    let mut intents = Vec::new();
    let mut providers: Vec<ProviderGuess> = Vec::new();
    let mut note_provider = |kind: &str, confidence: f32, alternatives: Vec<String>| {
        let Some(spec) = catalog.kind(kind) else {
            return;
        };
        let Some(provider) = catalog.provider_of_kind(spec) else {
            return;
        };
        if providers.iter().any(|p| p.id == provider.id) {
            return;
        }
        let alternatives = alternatives
            .iter()
            .filter_map(|k| catalog.kind(k).and_then(|s| s.provider.clone()))
            .filter(|p| *p != provider.id)
            .fold(Vec::new(), |mut acc, p| {
                if !acc.contains(&p) {
                    acc.push(p);
                }
                acc
            });
        providers.push(ProviderGuess {
            id: provider.id.clone(),
            name: provider.name.clone(),
            confidence,
            alternatives,
        });
    };
    if let TriggerPlan::Provider {
        kind, confidence, ..
    } = &u.trigger
    {
        note_provider(&catalog.spec(*kind).kind, *confidence, Vec::new());
    }
    for step in &u.steps {
        let (phrase, kind, confidence, alternatives) = match step {
            Step::Action(a) => (
                a.phrase.clone(),
                catalog.spec(a.kind).kind.clone(),
                a.confidence,
                a.alternatives
                    .iter()
                    .map(|&k| catalog.spec(k).kind.clone())
                    .collect(),
            ),
            Step::Condition { phrase, .. } => (phrase.clone(), "condition".into(), 0.9, vec![]),
            Step::Delay { phrase, .. } => (phrase.clone(), "delay".into(), 0.95, vec![]),
            Step::Loop { phrase, .. } => (phrase.clone(), "loop".into(), 0.8, vec![]),
            Step::Otherwise | Step::EndLoop => continue,
        };
        note_provider(&kind, confidence, alternatives.clone());
        intents.push(Intent {
            phrase: restore(u, &phrase),
            kind,
            confidence,
            alternatives,
        });
    }
    Analysis {
        planner: PlannerKind::Offline,
        trigger,
        intents,
        entities: u
            .lifted
            .literals
            .iter()
            .map(|l| Entity {
                kind: l.kind.name().into(),
                value: l.value.clone(),
            })
            .collect(),
        providers,
        unknown: unknown_texts(u),
        clarification: u.vague.as_ref().map(|v| clarification(catalog, v)),
    }
}

pub fn generate(catalog: &Catalog, request: &Request) -> Generated {
    let understanding = understand(catalog, request.prompt);
    let name = workflow_name(request.prompt);
    let clarification = understanding
        .vague
        .as_ref()
        .map(|v| clarification(catalog, v));
    let mut planned = understanding.steps.clone();
    if clarification.is_some() {
        // Asked instead of guessed: the draft is the trigger alone.
        planned.clear();
    }
    let plan = Understanding {
        steps: planned,
        ..understanding
    };
    let mut draft = draft::build(catalog, &plan, &name, request.timezone, request.connections);
    let mut unknown = unknown_texts(&plan);
    let mut problems: Vec<_> = model::validate(&draft.workflow, &catalog.catalogue)
        .into_iter()
        .filter(|p| p.severity == Severity::Error)
        .collect();
    if problems
        .iter()
        .any(|p| !is_left_for_user(p, &draft.needs_input))
    {
        // A draft the validator refuses is never handed out: the trigger
        // alone, with what went wrong named.
        for problem in problems
            .iter()
            .filter(|p| !is_left_for_user(p, &draft.needs_input))
        {
            unknown.push(format!(
                "could not build {}: {}",
                problem.node_id.as_deref().unwrap_or("the workflow"),
                problem.message
            ));
        }
        let trigger_only = Understanding {
            steps: Vec::new(),
            ..plan
        };
        draft = draft::build(
            catalog,
            &trigger_only,
            &name,
            request.timezone,
            request.connections,
        );
        problems = model::validate(&draft.workflow, &catalog.catalogue)
            .into_iter()
            .filter(|p| p.severity == Severity::Error)
            .collect();
    }
    Generated {
        planner: PlannerKind::Offline,
        workflow: draft.workflow,
        steps: draft.steps,
        providers: draft.providers,
        missing_connections: draft.missing_connections,
        needs_input: draft.needs_input,
        unknown,
        clarification,
        problems,
        fallback_reason: None,
    }
}

fn trigger_guess(catalog: &Catalog, plan: &TriggerPlan, timezone: &str) -> TriggerGuess {
    let guess = |kind: &str, phrase: &str, confidence: f32| TriggerGuess {
        kind: kind.into(),
        events: Vec::new(),
        cron: None,
        timezone: None,
        phrase: phrase.into(),
        confidence,
    };
    match plan {
        TriggerPlan::Manual => guess("manual_trigger", "", 0.5),
        TriggerPlan::Webhook { phrase } => guess("webhook_trigger", phrase, 0.8),
        TriggerPlan::Schedule {
            cron,
            phrase,
            time_given,
        } => TriggerGuess {
            cron: Some(cron.clone()),
            timezone: Some(timezone.into()),
            ..guess(
                "schedule_trigger",
                phrase,
                if *time_given { 0.95 } else { 0.7 },
            )
        },
        TriggerPlan::Provider {
            kind,
            events,
            phrase,
            confidence,
        } => TriggerGuess {
            events: events.clone(),
            ..guess(&catalog.spec(*kind).kind, phrase, *confidence)
        },
    }
}

fn unknown_texts(u: &Understanding) -> Vec<String> {
    u.unknown
        .iter()
        .map(|name| {
            format!("{name}: no integration of that name (import its OpenAPI document to use it)")
        })
        .collect()
}

fn clarification(catalog: &Catalog, vague: &Vagueness) -> Clarification {
    match vague {
        Vagueness::NoMedium(_) | Vagueness::NoAction => Clarification {
            question: if matches!(vague, Vagueness::NoAction) {
                "What should happen? Name the step, e.g. where to send what.".into()
            } else {
                "Where should it go: which app or channel?".into()
            },
            suggestions: vec![
                "post it to #general in Slack".into(),
                "send it by email to me@example.com".into(),
                "text it to +14155550100".into(),
            ],
        },
        Vagueness::ProviderOnly(provider) => {
            let suggestions = catalog
                .actions
                .iter()
                .filter(|a| !a.custom_call)
                .map(|a| catalog.spec(a.kind))
                .filter(|s| {
                    catalog
                        .provider_of_kind(s)
                        .is_some_and(|p| &p.name == provider)
                })
                .take(4)
                .map(|s| {
                    s.label
                        .split_once(": ")
                        .map_or(s.label.clone(), |(_, a)| a.to_lowercase())
                })
                .collect();
            Clarification {
                question: format!("What should happen in {provider}?"),
                suggestions,
            }
        }
        Vagueness::NoTrigger(_) => Clarification {
            question: "What should start it?".into(),
            suggestions: vec![
                "when a Stripe payment succeeds".into(),
                "every day at 9".into(),
                "when my app calls the webhook".into(),
            ],
        },
    }
}

/// A clause with its literal markers put back.
fn restore(u: &Understanding, clause: &str) -> String {
    let out = u.lifted.restore(clause);
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub fn workflow_name(prompt: &str) -> String {
    let first = prompt.split(['\n', '.']).next().unwrap_or(prompt).trim();
    let mut name: String = first.chars().take(80).collect();
    if name.is_empty() {
        name = "New workflow".into();
    }
    let mut chars = name.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => name,
    }
}
